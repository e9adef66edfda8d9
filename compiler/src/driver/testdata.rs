//! Reference data in the ONNX model-zoo layout: `test_data_set_N/input_K.pb` and
//! `output_K.pb` (TensorProto), plus optional extra references as `.npy` files.

use crate::error::{Error, Result};
use crate::front::tensor;
use crate::ir::{DType, Data, Tensor};
use onnx_protobuf::{Message, TensorProto};
use std::path::{Path, PathBuf};

/// One set of inputs with the expected outputs.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// The folder name (`test_data_set_0`).
    pub name: String,
    /// Inputs in graph order.
    pub inputs: Vec<Tensor>,
    /// Expected outputs in graph order.
    pub outputs: Vec<Tensor>,
}

/// Reads a `TensorProto` file.
pub fn read_pb(path: &Path) -> Result<Tensor> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let t = TensorProto::parse_from_bytes(&bytes)
        .map_err(|e| Error::Malformed { path: path.to_path_buf(), detail: format!("not a TensorProto: {e}") })?;
    tensor::decode(&t, path.parent().unwrap_or(Path::new(".")))
        .map_err(|e| Error::Malformed { path: path.to_path_buf(), detail: e.to_string() })
}

fn numbered(dir: &Path, prefix: &str, ext: &str) -> Result<Vec<PathBuf>> {
    let mut found: Vec<(usize, PathBuf)> = vec![];
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(n) = name.strip_prefix(prefix).and_then(|r| r.strip_suffix(ext)).and_then(|n| n.parse().ok()) {
            found.push((n, e.path()));
        }
    }
    found.sort();
    if found.iter().enumerate().any(|(i, (n, _))| *n != i) {
        return Err(Error::Driver {
            step: "reading reference data".into(),
            detail: format!("{}: {prefix}N{ext} files are not numbered 0, 1, 2, …", dir.display()),
        });
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// All `test_data_set_*` folders under `dir`, in name order.
pub fn load_sets(dir: &Path) -> Result<Vec<DataSet>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("test_data_set_")))
        .collect();
    dirs.sort();
    let mut sets = vec![];
    for d in dirs {
        let inputs = numbered(&d, "input_", ".pb")?.iter().map(|p| read_pb(p)).collect::<Result<_>>()?;
        let outputs = numbered(&d, "output_", ".pb")?.iter().map(|p| read_pb(p)).collect::<Result<_>>()?;
        sets.push(DataSet { name: d.file_name().unwrap_or_default().to_string_lossy().into_owned(), inputs, outputs });
    }
    Ok(sets)
}

/// Reads a NumPy `.npy` file (little-endian f4, i1, u1, i4, i8; C order).
pub fn read_npy(path: &Path) -> Result<Tensor> {
    let bad = |detail: &str| Error::Malformed { path: path.to_path_buf(), detail: detail.to_string() };
    let b = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if b.len() < 10 || &b[..6] != b"\x93NUMPY" {
        return Err(bad("not a .npy file"));
    }
    let (hlen, start) = match b[6] {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 if b.len() >= 12 => (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12),
        _ => return Err(bad("unknown .npy version")),
    };
    let header = std::str::from_utf8(b.get(start..start + hlen).ok_or_else(|| bad("truncated header"))?)
        .map_err(|_| bad("header is not text"))?;
    let field = |key: &str| -> Option<&str> {
        let i = header.find(&format!("'{key}'"))?;
        Some(header[i + key.len() + 2..].trim_start_matches([':', ' ']))
    };
    let descr = field("descr").ok_or_else(|| bad("no descr"))?;
    let descr = descr.trim_start_matches('\'').split('\'').next().unwrap_or("");
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(bad("Fortran-order arrays are not supported"));
    }
    let dtype = match descr {
        "<f4" => DType::F32,
        "|i1" | "<i1" => DType::I8,
        "|u1" | "<u1" => DType::U8,
        "<i4" => DType::I32,
        "<i8" => DType::I64,
        "|b1" => DType::Bool,
        other => return Err(bad(&format!("element type {other} is not supported"))),
    };
    let shape_txt = field("shape").ok_or_else(|| bad("no shape"))?;
    let inner = shape_txt.trim_start_matches('(').split(')').next().unwrap_or("");
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad("bad shape")))
        .collect::<Result<_>>()?;
    let data = Data::from_le_bytes(dtype, &b[start + hlen..])
        .ok_or_else(|| bad("data length is not a whole number of elements"))?;
    Tensor::new(shape, data).ok_or_else(|| bad("data length does not match the shape"))
}

/// Writes a tensor as a NumPy `.npy` file (version 1, C order); bfloat16 and the
/// format-only types, which NumPy lacks, are refused.
pub fn write_npy(path: &Path, t: &Tensor) -> Result<()> {
    let descr = super::bench::numpy_dtype(t.dtype()).ok_or_else(|| {
        Error::Options(format!("{}: NumPy has no {} element type; write .pb instead", path.display(), t.dtype()))
    })?;
    let shape = match t.shape.as_slice() {
        [one] => format!("({one},)"),
        dims => format!("({})", dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // The header (with magic, version and length) ends in a newline at a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend((header.len() as u16).to_le_bytes());
    b.extend(header.as_bytes());
    b.extend(t.data.to_le_bytes());
    std::fs::write(path, b).map_err(|e| Error::io(path, e))
}

/// Writes a tensor as an ONNX `TensorProto` file named `name`.
pub fn write_pb(path: &Path, name: &str, t: &Tensor) -> Result<()> {
    let bytes = tensor::encode(name, t)
        .write_to_bytes()
        .map_err(|e| Error::Internal(format!("encoding {}: {e}", path.display())))?;
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_and_pb_round_trip() {
        let dir = std::env::temp_dir().join(format!("tinyops-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let t = Tensor { shape: vec![2, 3], data: Data::F32(vec![1.0, -2.5, 3.0, 0.0, 7.25, -1.0]) };
        write_npy(&dir.join("a.npy"), &t).unwrap();
        write_pb(&dir.join("a.pb"), "a", &t).unwrap();
        let n = read_npy(&dir.join("a.npy")).unwrap();
        let p = read_pb(&dir.join("a.pb")).unwrap();
        assert_eq!((n.shape.clone(), n.data.to_le_bytes()), (t.shape.clone(), t.data.to_le_bytes()));
        assert_eq!((p.shape, p.data.to_le_bytes()), (t.shape, t.data.to_le_bytes()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
