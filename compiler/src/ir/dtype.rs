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
    /// 64-bit IEEE float.
    F64,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// IEEE half precision, stored as its 16 bits.
    F16,
    /// bfloat16, stored as its 16 bits.
    BF16,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
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
            DType::F64 => "f64",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }

    /// The Rust scalar type generated code uses for this element type (half-precision
    /// floats are their 16 bits, converted by the runtime's `math`). Booleans are
    /// bytes holding 0 or 1 (kernels read any non-zero byte as true): every byte is a
    /// valid value, so the arena can hold them without `unsafe`.
    pub fn rust_type(self) -> &'static str {
        match self {
            DType::Bool => "u8",
            DType::F16 | DType::BF16 => "u16",
            other => other.name(),
        }
    }

    /// True for the floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    /// True for the half-precision types (stored as bits).
    pub fn is_half(self) -> bool {
        matches!(self, DType::F16 | DType::BF16)
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
