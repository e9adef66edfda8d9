//! Tensor types (element type, static shape, optional quantisation) and constant data.

use super::DType;
use std::fmt;

/// The largest tensor (in bytes) the compiler accepts: far beyond any microcontroller,
/// small enough that a hostile shape cannot make the compiler allocate the machine away.
pub const MAX_TENSOR_BYTES: usize = 1 << 30;

/// A static shape: one extent per axis. A scalar has no axes.
pub type Shape = Vec<usize>;

/// Number of elements of a shape (1 for a scalar). Saturates instead of overflowing;
/// the front end rejects shapes whose element count does not fit long before that.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
}

/// Row-major strides of a shape, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Affine quantisation: `real = scale * (q - zero_point)`, per tensor or per axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Quant {
    /// One scale per tensor, or one per slice along `axis`.
    pub scale: Vec<f32>,
    /// Zero points, as many as scales.
    pub zero_point: Vec<i32>,
    /// The axis the parameters vary along; `None` for per-tensor quantisation.
    pub axis: Option<usize>,
}

impl Quant {
    /// Per-tensor parameters.
    pub fn per_tensor(scale: f32, zero_point: i32) -> Self {
        Quant { scale: vec![scale], zero_point: vec![zero_point], axis: None }
    }

    /// True when one scale and zero point cover the whole tensor.
    pub fn is_per_tensor(&self) -> bool {
        self.axis.is_none()
    }
}

/// The static type of an IR value.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorType {
    /// Element type.
    pub dtype: DType,
    /// Static shape.
    pub shape: Shape,
    /// Quantisation parameters of an integer tensor that stands for real numbers.
    pub quant: Option<Quant>,
}

impl TensorType {
    /// A type without quantisation.
    pub fn new(dtype: DType, shape: Shape) -> Self {
        TensorType { dtype, shape, quant: None }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    /// Size in bytes.
    pub fn bytes(&self) -> usize {
        self.numel().saturating_mul(self.dtype.size())
    }

    /// Rank (number of axes).
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")?;
        if let Some(q) = &self.quant {
            if q.is_per_tensor() {
                write!(f, " q(scale={:e}, zp={})", q.scale[0], q.zero_point[0])?;
            } else {
                write!(f, " q(axis={}, channels={})", q.axis.unwrap_or(0), q.scale.len())?;
            }
        }
        Ok(())
    }
}

/// The elements of a constant tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// 32-bit floats.
    F32(Vec<f32>),
    /// Signed bytes.
    I8(Vec<i8>),
    /// Unsigned bytes.
    U8(Vec<u8>),
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 64-bit integers.
    I64(Vec<i64>),
    /// Booleans.
    Bool(Vec<bool>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// Unsigned 16-bit integers.
    U16(Vec<u16>),
    /// Unsigned 32-bit integers.
    U32(Vec<u32>),
    /// Unsigned 64-bit integers.
    U64(Vec<u64>),
    /// IEEE half-precision floats, as bits.
    F16(Vec<u16>),
    /// bfloat16 floats, as bits.
    BF16(Vec<u16>),
    /// A type only Cast computes with ([`DType::format_only`]), one element per byte:
    /// small floats as their bits, small integers as their (two's complement) value.
    Small(DType, Vec<u8>),
}

/// Applies one expression to the vector inside any [`Data`] variant.
macro_rules! with_data {
    ($data:expr, $v:ident => $e:expr) => {
        match $data {
            Data::F32($v) => $e,
            Data::I8($v) => $e,
            Data::U8($v) => $e,
            Data::I16($v) => $e,
            Data::I32($v) => $e,
            Data::I64($v) => $e,
            Data::Bool($v) => $e,
            Data::F64($v) => $e,
            Data::U16($v) => $e,
            Data::U32($v) => $e,
            Data::U64($v) => $e,
            Data::F16($v) => $e,
            Data::BF16($v) => $e,
            Data::Small(_, $v) => $e,
        }
    };
}

impl Data {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::I8(_) => DType::I8,
            Data::I16(_) => DType::I16,
            Data::U8(_) => DType::U8,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
            Data::F64(_) => DType::F64,
            Data::U16(_) => DType::U16,
            Data::U32(_) => DType::U32,
            Data::U64(_) => DType::U64,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::Small(d, _) => *d,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        with_data!(self, v => v.len())
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as f64 (exact for every type but 64-bit integers beyond 2^53).
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            Data::F64(v) => v[i],
            Data::U16(v) => v[i] as f64,
            Data::U32(v) => v[i] as f64,
            Data::U64(v) => v[i] as f64,
            Data::F16(v) => tinyops_runtime::math::f16_to_f32(v[i]) as f64,
            Data::BF16(v) => tinyops_runtime::math::bf16_to_f32(v[i]) as f64,
            Data::F32(v) => v[i] as f64,
            Data::I8(v) => v[i] as f64,
            Data::U8(v) => v[i] as f64,
            Data::I16(v) => v[i] as f64,
            Data::I32(v) => v[i] as f64,
            Data::I64(v) => v[i] as f64,
            Data::Bool(v) => v[i] as u8 as f64,
            Data::Small(d, v) => match d.format() {
                Some(f) => tinyops_runtime::kernels::portable::small_to_f32(f, v[i]) as f64,
                None => v[i] as f64,
            },
        }
    }

    /// Element `i` as i64 (floats truncate toward zero; u64 wraps).
    pub fn get_i64(&self, i: usize) -> i64 {
        match self {
            Data::F64(_) | Data::F16(_) | Data::BF16(_) | Data::Small(..) => self.get_f64(i) as i64,
            Data::U16(v) => v[i] as i64,
            Data::U32(v) => v[i] as i64,
            Data::U64(v) => v[i] as i64,
            Data::F32(v) => v[i] as i64,
            Data::I8(v) => v[i] as i64,
            Data::U8(v) => v[i] as i64,
            Data::I16(v) => v[i] as i64,
            Data::I32(v) => v[i] as i64,
            Data::I64(v) => v[i],
            Data::Bool(v) => v[i] as i64,
        }
    }

    /// All elements converted to f32.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match self {
            Data::F32(v) => v.clone(),
            _ => (0..self.len()).map(|i| self.get_f64(i) as f32).collect(),
        }
    }

    /// All elements converted to i64.
    pub fn to_i64_vec(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.get_i64(i)).collect()
    }

    /// Little-endian bytes, as weights are stored in flash.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Data::U8(v) | Data::Small(_, v) => v.clone(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::Bool(v) => v.iter().map(|&x| x as u8).collect(),
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U16(v) | Data::F16(v) | Data::BF16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Decodes little-endian bytes of the given type; `None` if the length does not fit.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Option<Data> {
        if !bytes.len().is_multiple_of(dtype.size()) {
            return None;
        }
        fn chunks<const N: usize, T>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
            b.chunks_exact(N).map(|c| f(c.try_into().expect("exact chunk"))).collect()
        }
        Some(match dtype {
            DType::F32 => Data::F32(chunks(bytes, f32::from_le_bytes)),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::I16 => Data::I16(chunks(bytes, i16::from_le_bytes)),
            DType::I32 => Data::I32(chunks(bytes, i32::from_le_bytes)),
            DType::I64 => Data::I64(chunks(bytes, i64::from_le_bytes)),
            DType::Bool => Data::Bool(bytes.iter().map(|&b| b != 0).collect()),
            DType::F64 => Data::F64(chunks(bytes, f64::from_le_bytes)),
            DType::U16 => Data::U16(chunks(bytes, u16::from_le_bytes)),
            DType::U32 => Data::U32(chunks(bytes, u32::from_le_bytes)),
            DType::U64 => Data::U64(chunks(bytes, u64::from_le_bytes)),
            DType::F16 => Data::F16(chunks(bytes, u16::from_le_bytes)),
            DType::BF16 => Data::BF16(chunks(bytes, u16::from_le_bytes)),
            d => Data::Small(d, bytes.to_vec()),
        })
    }

    /// Picks elements by index into a new vector of the same type.
    pub fn gather(&self, indices: impl Iterator<Item = usize>) -> Data {
        let idx: Vec<usize> = indices.collect();
        match self {
            Data::F32(v) => Data::F32(idx.iter().map(|&i| v[i]).collect()),
            Data::I8(v) => Data::I8(idx.iter().map(|&i| v[i]).collect()),
            Data::U8(v) => Data::U8(idx.iter().map(|&i| v[i]).collect()),
            Data::I16(v) => Data::I16(idx.iter().map(|&i| v[i]).collect()),
            Data::I32(v) => Data::I32(idx.iter().map(|&i| v[i]).collect()),
            Data::I64(v) => Data::I64(idx.iter().map(|&i| v[i]).collect()),
            Data::Bool(v) => Data::Bool(idx.iter().map(|&i| v[i]).collect()),
            Data::F64(v) => Data::F64(idx.iter().map(|&i| v[i]).collect()),
            Data::U16(v) => Data::U16(idx.iter().map(|&i| v[i]).collect()),
            Data::U32(v) => Data::U32(idx.iter().map(|&i| v[i]).collect()),
            Data::U64(v) => Data::U64(idx.iter().map(|&i| v[i]).collect()),
            Data::F16(v) => Data::F16(idx.iter().map(|&i| v[i]).collect()),
            Data::BF16(v) => Data::BF16(idx.iter().map(|&i| v[i]).collect()),
            Data::Small(d, v) => Data::Small(*d, idx.iter().map(|&i| v[i]).collect()),
        }
    }

    /// Converts every element to another type (floats to integers truncate toward
    /// zero and saturate, as Rust's `as` does).
    pub fn cast(&self, dtype: DType) -> Data {
        self.cast_saturating(dtype, true)
    }

    /// [`Data::cast`], with ONNX Cast's `saturate` for the 8-bit float targets (the
    /// small formats convert through f32, as the runtime's `cast_format` does).
    pub fn cast_saturating(&self, dtype: DType, saturate: bool) -> Data {
        if self.dtype() == dtype {
            return self.clone();
        }
        let n = self.len();
        // Floats convert through f64 (truncating, saturating), integers through i64
        // (wrapping), as Rust's `as` and numpy's `astype` do.
        macro_rules! int {
            ($t:ty) => {
                (0..n)
                    .map(|i| if self.dtype().is_float() { self.get_f64(i) as $t } else { self.get_i64(i) as $t })
                    .collect()
            };
        }
        if let (true, Some(f)) = (dtype.format_only(), dtype.format()) {
            let small = tinyops_runtime::kernels::portable::f32_to_small;
            return Data::Small(dtype, (0..n).map(|i| small(f, self.get_f64(i) as f32, saturate)).collect());
        }
        match dtype {
            DType::F32 => Data::F32(self.to_f32_vec()),
            DType::I8 => Data::I8(int!(i8)),
            DType::U8 => Data::U8(int!(u8)),
            DType::I16 => Data::I16(int!(i16)),
            DType::I32 => Data::I32(int!(i32)),
            DType::I64 => Data::I64(int!(i64)),
            DType::Bool => Data::Bool((0..n).map(|i| self.get_f64(i) != 0.0).collect()),
            DType::F64 => Data::F64((0..n).map(|i| self.get_f64(i)).collect()),
            DType::U16 => Data::U16(int!(u16)),
            DType::U32 => Data::U32(int!(u32)),
            DType::U64 => Data::U64(
                (0..n)
                    .map(|i| match self {
                        Data::U64(v) => v[i],
                        d if d.dtype().is_float() => d.get_f64(i) as u64,
                        d => d.get_i64(i) as u64,
                    })
                    .collect(),
            ),
            // Half precision rounds through f32, as the runtime's conversions do.
            DType::F16 => {
                Data::F16((0..n).map(|i| tinyops_runtime::math::f32_to_f16(self.get_f64(i) as f32)).collect())
            }
            DType::BF16 => {
                Data::BF16((0..n).map(|i| tinyops_runtime::math::f32_to_bf16(self.get_f64(i) as f32)).collect())
            }
            d => Data::Small(d, vec![0; n]),
        }
    }
}

/// A constant tensor: shape plus row-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Static shape.
    pub shape: Shape,
    /// Elements; `data.len() == numel(&shape)`.
    pub data: Data,
}

impl Tensor {
    /// Builds a tensor; `None` when the data length does not match the shape.
    pub fn new(shape: Shape, data: Data) -> Option<Self> {
        (numel(&shape) == data.len()).then_some(Tensor { shape, data })
    }

    /// A float tensor. Panics if the length does not match: for compiler-internal
    /// construction where the shape was computed from the data.
    pub fn f32(shape: Shape, v: Vec<f32>) -> Self {
        Self::new(shape, Data::F32(v)).expect("f32 tensor: length matches shape")
    }

    /// A 1-D i64 tensor.
    pub fn i64_vec(v: Vec<i64>) -> Self {
        Tensor { shape: vec![v.len()], data: Data::I64(v) }
    }

    /// A scalar.
    pub fn scalar(data: Data) -> Self {
        Tensor { shape: vec![], data }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The unquantised type of this tensor.
    pub fn ty(&self) -> TensorType {
        TensorType::new(self.dtype(), self.shape.clone())
    }

    /// The float elements, if this is an f32 tensor.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            Data::F32(v) => Some(v),
            _ => None,
        }
    }
}
