//! Element types of IR tensors.

use std::fmt;

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// 32-bit IEEE float.
    F32,
    /// Signed 8-bit integer (quantised activations and weights).
    I8,
    /// Unsigned 8-bit integer (quantised activations).
    U8,
    /// Signed 16-bit integer (quantised weights whose zero point pushes them out of i8).
    I16,
    /// Signed 32-bit integer (quantised biases and accumulators).
    I32,
    /// Signed 64-bit integer (shapes and indices).
    I64,
    /// Boolean, one byte per element.
    Bool,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }

    /// The name used in IR text and in diagnostics.
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::Bool => "bool",
        }
    }

    /// The Rust scalar type generated code uses for this element type. Booleans are
    /// bytes holding 0 or 1 (kernels read any non-zero byte as true): every byte is a
    /// valid value, so the arena can hold them without `unsafe`.
    pub fn rust_type(self) -> &'static str {
        match self {
            DType::Bool => "u8",
            other => other.name(),
        }
    }

    /// True for the 8-bit types that carry quantised values.
    pub fn is_quantised_int(self) -> bool {
        matches!(self, DType::I8 | DType::U8)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
