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
    /// 8-bit float E4M3FN, stored as its bits (one per byte).
    F8E4M3FN,
    /// 8-bit float E4M3FNUZ, stored as its bits.
    F8E4M3FNUZ,
    /// 8-bit float E5M2, stored as its bits.
    F8E5M2,
    /// 8-bit float E5M2FNUZ, stored as its bits.
    F8E5M2FNUZ,
    /// 4-bit float E2M1, stored as its bits, one element per byte (ONNX packs two).
    F4E2M1,
    /// 8-bit power of two E8M0 (exponent only, bias 127, NaN 0xFF), stored as its bits.
    F8E8M0,
    /// Signed 4-bit integer, one element per byte (an `i8` holding −8..=7).
    I4,
    /// Unsigned 4-bit integer, one element per byte.
    U4,
    /// Signed 2-bit integer, one element per byte (an `i8` holding −2..=1).
    I2,
    /// Unsigned 2-bit integer, one element per byte.
    U2,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::I16 | DType::U16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
            _ => 1,
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
            DType::F8E4M3FN => "f8e4m3fn",
            DType::F8E4M3FNUZ => "f8e4m3fnuz",
            DType::F8E5M2 => "f8e5m2",
            DType::F8E5M2FNUZ => "f8e5m2fnuz",
            DType::F4E2M1 => "f4e2m1",
            DType::F8E8M0 => "f8e8m0",
            DType::I4 => "i4",
            DType::U4 => "u4",
            DType::I2 => "i2",
            DType::U2 => "u2",
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
            DType::I4 | DType::I2 => "i8",
            d if d.format_only() => "u8",
            other => other.name(),
        }
    }

    /// True for the floating-point types.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16) || self.is_small_float()
    }

    /// True for the 8- and 4-bit floats.
    pub fn is_small_float(self) -> bool {
        matches!(
            self,
            DType::F8E4M3FN | DType::F8E4M3FNUZ | DType::F8E5M2 | DType::F8E5M2FNUZ | DType::F4E2M1 | DType::F8E8M0
        )
    }

    /// True for the types only Cast computes with (the 8- and 4-bit floats, the 4- and
    /// 2-bit integers): held one element per byte, converted by the runtime's
    /// `cast_format`.
    pub fn format_only(self) -> bool {
        self.is_small_float() || matches!(self, DType::I4 | DType::U4 | DType::I2 | DType::U2)
    }

    /// Bits per element where ONNX packs several elements into a byte.
    pub fn packed_bits(self) -> Option<usize> {
        match self {
            DType::F4E2M1 | DType::I4 | DType::U4 => Some(4),
            DType::I2 | DType::U2 => Some(2),
            _ => None,
        }
    }

    /// The runtime's number format for the types `cast_format` converts.
    pub fn format(self) -> Option<tinyops_runtime::kernels::Format> {
        use tinyops_runtime::kernels::Format;
        Some(match self {
            DType::F32 => Format::F32,
            DType::F16 => Format::F16,
            DType::BF16 => Format::BF16,
            DType::F8E4M3FN => Format::F8E4M3FN,
            DType::F8E4M3FNUZ => Format::F8E4M3FNUZ,
            DType::F8E5M2 => Format::F8E5M2,
            DType::F8E5M2FNUZ => Format::F8E5M2FNUZ,
            DType::F4E2M1 => Format::F4E2M1,
            DType::F8E8M0 => Format::F8E8M0,
            DType::I4 => Format::I4,
            DType::U4 => Format::U4,
            DType::I2 => Format::I2,
            DType::U2 => Format::U2,
            _ => return None,
        })
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
