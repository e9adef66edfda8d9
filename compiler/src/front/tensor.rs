//! ONNX `TensorProto` → IR constant: every storage form (raw little-endian bytes,
//! typed fields, external files inside the model's folder) and every size check.

use crate::ir::{numel, DType, Data, Tensor};
use onnx_protobuf::tensor_proto::{DataLocation, DataType};
use onnx_protobuf::TensorProto;
use protobuf::Enum;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path};

pub use crate::ir::MAX_TENSOR_BYTES;

/// The IR element type of an ONNX element type code.
pub fn dtype_of(code: i32) -> Result<DType, String> {
    // The small formats by code (the protobuf crate predates the newest of them).
    match code {
        17 => return Ok(DType::F8E4M3FN),
        18 => return Ok(DType::F8E4M3FNUZ),
        19 => return Ok(DType::F8E5M2),
        20 => return Ok(DType::F8E5M2FNUZ),
        21 => return Ok(DType::U4),
        22 => return Ok(DType::I4),
        23 => return Ok(DType::F4E2M1),
        24 => return Ok(DType::F8E8M0),
        25 => return Ok(DType::U2),
        26 => return Ok(DType::I2),
        _ => {}
    }
    let dt = DataType::from_i32(code);
    Ok(match dt {
        Some(DataType::FLOAT) => DType::F32,
        Some(DataType::INT8) => DType::I8,
        Some(DataType::UINT8) => DType::U8,
        Some(DataType::INT16) => DType::I16,
        Some(DataType::INT32) => DType::I32,
        Some(DataType::INT64) => DType::I64,
        Some(DataType::BOOL) => DType::Bool,
        Some(DataType::DOUBLE) => DType::F64,
        Some(DataType::UINT16) => DType::U16,
        Some(DataType::UINT32) => DType::U32,
        Some(DataType::UINT64) => DType::U64,
        Some(DataType::FLOAT16) => DType::F16,
        Some(DataType::BFLOAT16) => DType::BF16,
        Some(other) => return Err(format!("{other:?}")),
        None => return Err(format!("unknown type code {code}")),
    })
}

/// Checks dims (non-negative, bounded) and returns them as a shape.
pub fn checked_shape(dims: &[i64], dtype: DType) -> Result<Vec<usize>, String> {
    let mut shape = Vec::with_capacity(dims.len());
    let mut bytes: u128 = dtype.size() as u128;
    for &d in dims {
        if d < 0 {
            return Err(format!("negative dimension {d} in {dims:?}"));
        }
        bytes = bytes.saturating_mul(d as u128);
        shape.push(d as usize);
    }
    if bytes > MAX_TENSOR_BYTES as u128 {
        return Err(format!(
            "shape {dims:?} needs {bytes} bytes, more than the {} MiB limit for one tensor",
            MAX_TENSOR_BYTES >> 20
        ));
    }
    Ok(shape)
}

/// Why a tensor cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Its element type is not one tinyops handles (the ONNX type name).
    UnsupportedType(String),
    /// Its data is unusable (wrong length, external file outside the folder, …).
    Invalid(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnsupportedType(t) => write!(f, "element type {t} is not supported"),
            DecodeError::Invalid(s) => f.write_str(s),
        }
    }
}

impl From<String> for DecodeError {
    fn from(s: String) -> Self {
        DecodeError::Invalid(s)
    }
}

impl From<&str> for DecodeError {
    fn from(s: &str) -> Self {
        DecodeError::Invalid(s.to_string())
    }
}

/// Decodes a tensor. `model_dir` is the folder external data must stay inside.
pub fn decode(t: &TensorProto, model_dir: &Path) -> Result<Tensor, DecodeError> {
    let dtype = dtype_of(t.data_type).map_err(DecodeError::UnsupportedType)?;
    let shape = checked_shape(&t.dims, dtype)?;
    let n = numel(&shape);
    if t.segment.is_some() {
        return Err("segmented tensors are not supported".into());
    }
    let external = t.data_location.enum_value() == Ok(DataLocation::EXTERNAL);
    let data = if let Some(bits) = dtype.packed_bits() {
        let packed_len = (n * bits).div_ceil(8);
        let bytes = if external {
            read_external(t, model_dir, packed_len)?
        } else if !t.raw_data.is_empty() || n == 0 {
            t.raw_data.clone()
        } else {
            t.int32_data.iter().map(|&v| v as u8).collect()
        };
        if bytes.len() != packed_len {
            return Err(DecodeError::Invalid(format!(
                "{dtype} data has {} bytes but shape {:?} needs {packed_len} (packed)",
                bytes.len(),
                t.dims
            )));
        }
        Data::Small(dtype, unpack(dtype, bits, &bytes, n))
    } else if external {
        let bytes = read_external(t, model_dir, n * dtype.size())?;
        Data::from_le_bytes(dtype, &bytes).ok_or("external data has a partial element")?
    } else if !t.raw_data.is_empty() || n == 0 {
        if t.raw_data.len() != n * dtype.size() {
            return Err(DecodeError::Invalid(format!(
                "raw_data has {} bytes but shape {:?} of {} needs {}",
                t.raw_data.len(),
                t.dims,
                dtype,
                n * dtype.size()
            )));
        }
        Data::from_le_bytes(dtype, &t.raw_data).ok_or("raw_data has a partial element")?
    } else {
        typed_fields(t, dtype)?
    };
    if data.len() != n {
        return Err(DecodeError::Invalid(format!("has {} elements but shape {:?} needs {n}", data.len(), t.dims)));
    }
    Ok(Tensor { shape, data })
}

/// Elements `n` of a packed sub-byte type, low bits first, one per byte (signed ones
/// sign-extended).
fn unpack(dtype: DType, bits: usize, bytes: &[u8], n: usize) -> Vec<u8> {
    let per = 8 / bits;
    let mask = (1u8 << bits) - 1;
    (0..n)
        .map(|i| {
            let v = (bytes[i / per] >> ((i % per) * bits)) & mask;
            if matches!(dtype, DType::I4 | DType::I2) && v >> (bits - 1) == 1 {
                v | !mask
            } else {
                v
            }
        })
        .collect()
}

/// The inverse of [`unpack`].
fn pack(bits: usize, elems: &[u8]) -> Vec<u8> {
    let per = 8 / bits;
    let mask = (1u8 << bits) - 1;
    let mut out = vec![0u8; elems.len().div_ceil(per)];
    for (i, &v) in elems.iter().enumerate() {
        out[i / per] |= (v & mask) << ((i % per) * bits);
    }
    out
}

fn typed_fields(t: &TensorProto, dtype: DType) -> Result<Data, String> {
    Ok(match dtype {
        DType::F32 => Data::F32(t.float_data.clone()),
        DType::I64 => Data::I64(t.int64_data.clone()),
        DType::I32 => Data::I32(t.int32_data.clone()),
        // Narrow types are stored widened in int32_data.
        DType::I8 => Data::I8(t.int32_data.iter().map(|&v| v as i8).collect()),
        DType::U8 => Data::U8(t.int32_data.iter().map(|&v| v as u8).collect()),
        DType::I16 => Data::I16(t.int32_data.iter().map(|&v| v as i16).collect()),
        DType::Bool => Data::Bool(t.int32_data.iter().map(|&v| v != 0).collect()),
        DType::F64 => Data::F64(t.double_data.clone()),
        DType::U64 => Data::U64(t.uint64_data.clone()),
        // uint32 is stored widened in uint64_data; uint16 and the halves' bits in int32_data.
        DType::U32 => Data::U32(t.uint64_data.iter().map(|&v| v as u32).collect()),
        DType::U16 => Data::U16(t.int32_data.iter().map(|&v| v as u16).collect()),
        DType::F16 => Data::F16(t.int32_data.iter().map(|&v| v as u16).collect()),
        DType::BF16 => Data::BF16(t.int32_data.iter().map(|&v| v as u16).collect()),
        // The 8-bit floats' bits, one per int32 (packed types are decoded before).
        d => Data::Small(d, t.int32_data.iter().map(|&v| v as u8).collect()),
    })
}

fn read_external(t: &TensorProto, model_dir: &Path, expected: usize) -> Result<Vec<u8>, String> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for kv in &t.external_data {
        match kv.key.as_str() {
            "location" => location = Some(kv.value.clone()),
            "offset" => offset = kv.value.parse().map_err(|_| format!("bad external offset `{}`", kv.value))?,
            "length" => {
                length = Some(kv.value.parse::<u64>().map_err(|_| format!("bad external length `{}`", kv.value))?)
            }
            _ => {}
        }
    }
    let location = location.ok_or("external data without a `location`")?;
    let rel = Path::new(&location);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return Err(format!(
            "external data location `{location}` leaves the model's folder; it must be a relative path inside {}",
            model_dir.display()
        ));
    }
    let path = model_dir.join(rel);
    // Symbolic links may still point outside: compare canonical paths.
    let canon_dir = model_dir.canonicalize().map_err(|e| format!("{}: {e}", model_dir.display()))?;
    let canon = path.canonicalize().map_err(|e| format!("external data file {}: {e}", path.display()))?;
    if !canon.starts_with(&canon_dir) {
        return Err(format!(
            "external data location `{location}` resolves to {}, outside the model's folder {}",
            canon.display(),
            canon_dir.display()
        ));
    }
    let len = length.unwrap_or(expected as u64);
    if len != expected as u64 {
        return Err(format!("external data length {len} does not match the {expected} bytes the shape needs"));
    }
    let mut f = std::fs::File::open(&canon).map_err(|e| format!("{}: {e}", canon.display()))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    if offset.checked_add(len).is_none_or(|end| end > size) {
        return Err(format!(
            "external data {}: bytes {offset}..{} are past the end ({size} bytes)",
            canon.display(),
            offset.saturating_add(len)
        ));
    }
    f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; expected];
    f.read_exact(&mut buf).map_err(|e| format!("{}: {e}", canon.display()))?;
    Ok(buf)
}

/// Encodes a tensor as an ONNX `TensorProto` with raw data (used by tests and tools
/// that write models and reference data).
pub fn encode(name: &str, t: &Tensor) -> TensorProto {
    let mut p = TensorProto::new();
    p.name = name.to_string();
    p.dims = t.shape.iter().map(|&d| d as i64).collect();
    p.data_type = match t.dtype() {
        DType::F8E4M3FN => 17,
        DType::F8E4M3FNUZ => 18,
        DType::F8E5M2 => 19,
        DType::F8E5M2FNUZ => 20,
        DType::U4 => 21,
        DType::I4 => 22,
        DType::F4E2M1 => 23,
        DType::F8E8M0 => 24,
        DType::U2 => 25,
        DType::I2 => 26,
        DType::F32 => DataType::FLOAT as i32,
        DType::I8 => DataType::INT8 as i32,
        DType::U8 => DataType::UINT8 as i32,
        DType::I16 => DataType::INT16 as i32,
        DType::I32 => DataType::INT32 as i32,
        DType::I64 => DataType::INT64 as i32,
        DType::Bool => DataType::BOOL as i32,
        DType::F64 => DataType::DOUBLE as i32,
        DType::U16 => DataType::UINT16 as i32,
        DType::U32 => DataType::UINT32 as i32,
        DType::U64 => DataType::UINT64 as i32,
        DType::F16 => DataType::FLOAT16 as i32,
        DType::BF16 => DataType::BFLOAT16 as i32,
    };
    p.raw_data = match t.dtype().packed_bits() {
        Some(bits) => pack(bits, &t.data.to_le_bytes()),
        None => t.data.to_le_bytes(),
    };
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(dtype: DataType, dims: &[i64]) -> TensorProto {
        let mut t = TensorProto::new();
        t.data_type = dtype as i32;
        t.dims = dims.to_vec();
        t
    }

    #[test]
    fn typed_fields_of_every_supported_type() {
        let dir = Path::new(".");
        let mut t = proto(DataType::FLOAT, &[2]);
        t.float_data = vec![1.5, -2.0];
        assert_eq!(decode(&t, dir).unwrap().data, Data::F32(vec![1.5, -2.0]));
        let mut t = proto(DataType::INT64, &[3]);
        t.int64_data = vec![1, -1, 1 << 40];
        assert_eq!(decode(&t, dir).unwrap().data, Data::I64(vec![1, -1, 1 << 40]));
        let mut t = proto(DataType::INT32, &[1]);
        t.int32_data = vec![-7];
        assert_eq!(decode(&t, dir).unwrap().data, Data::I32(vec![-7]));
        // Narrow types are stored widened in int32_data.
        let mut t = proto(DataType::INT8, &[2]);
        t.int32_data = vec![-128, 127];
        assert_eq!(decode(&t, dir).unwrap().data, Data::I8(vec![-128, 127]));
        let mut t = proto(DataType::UINT8, &[2]);
        t.int32_data = vec![0, 255];
        assert_eq!(decode(&t, dir).unwrap().data, Data::U8(vec![0, 255]));
        let mut t = proto(DataType::BOOL, &[2]);
        t.int32_data = vec![0, 1];
        assert_eq!(decode(&t, dir).unwrap().data, Data::Bool(vec![false, true]));
        let mut t = proto(DataType::INT16, &[1]);
        t.int32_data = vec![-300];
        assert_eq!(decode(&t, dir).unwrap().data, Data::I16(vec![-300]));
        // A scalar.
        let mut t = proto(DataType::FLOAT, &[]);
        t.float_data = vec![3.0];
        assert_eq!(decode(&t, dir).unwrap().shape, Vec::<usize>::new());
    }

    #[test]
    fn raw_data_is_little_endian_and_length_checked() {
        let dir = Path::new(".");
        let mut t = proto(DataType::FLOAT, &[2]);
        t.raw_data = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode(&t, dir).unwrap().data, Data::F32(vec![1.0, 2.0]));
        t.raw_data.pop();
        assert!(matches!(decode(&t, dir), Err(DecodeError::Invalid(m)) if m.contains("raw_data has 7 bytes")));
        let mut t = proto(DataType::INT64, &[3]);
        t.int64_data = vec![1, 2];
        assert!(matches!(decode(&t, dir), Err(DecodeError::Invalid(m)) if m.contains("has 2 elements")));
        let t = proto(DataType::COMPLEX64, &[1]);
        assert_eq!(decode(&t, dir), Err(DecodeError::UnsupportedType("COMPLEX64".into())));
        let mut t = proto(DataType::DOUBLE, &[2]);
        t.double_data = vec![0.5, -2.0];
        assert_eq!(decode(&t, dir).unwrap().data, Data::F64(vec![0.5, -2.0]));
        let mut t = proto(DataType::FLOAT16, &[1]);
        t.int32_data = vec![0x3c00];
        assert_eq!(decode(&t, dir).unwrap().data.get_f64(0), 1.0);
        let mut t = proto(DataType::UINT32, &[1]);
        t.uint64_data = vec![4_000_000_000];
        assert_eq!(decode(&t, dir).unwrap().data, Data::U32(vec![4_000_000_000]));
        let t = proto(DataType::FLOAT, &[-1]);
        assert!(matches!(decode(&t, dir), Err(DecodeError::Invalid(m)) if m.contains("negative dimension")));
    }

    #[test]
    fn encode_round_trips() {
        for data in [Data::F32(vec![1.0, -0.5]), Data::I8(vec![-3, 4]), Data::I64(vec![9, -9]), Data::U8(vec![1, 200])]
        {
            let t = Tensor::new(vec![2], data).unwrap();
            assert_eq!(decode(&encode("t", &t), Path::new(".")).unwrap(), t);
        }
    }
}
