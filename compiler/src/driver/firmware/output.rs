//! Reading what firmware printed over semihosting (the protocol of
//! [`super::source::main_rs`]): every output of every data set, and the stack each
//! run used.

use crate::ir::{Data, Graph, Tensor};

/// Outputs and stack use of a firmware run.
#[derive(Debug, Clone)]
pub struct Printed {
    /// Per data set, the outputs in graph order.
    pub outputs: Vec<Vec<Tensor>>,
    /// Per data set, bytes of stack at the deepest point of the run.
    pub stack_bytes: Vec<u64>,
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// What a firmware printed, untyped: per data set, the bytes of each output, and the
/// stack each set used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPrinted {
    /// Per data set, per output, the little-endian bytes in the order printed.
    pub bytes: Vec<Vec<Vec<u8>>>,
    /// Per data set, bytes of stack at the deepest point of the run.
    pub stack_bytes: Vec<u64>,
}

/// Parses the firmware's output for graph `g` and `sets` data sets. Everything must be
/// there: the begin and end lines, every byte of every output, a stack figure per set.
pub fn parse(g: &Graph, sets: usize, stdout: &str) -> Result<Printed, String> {
    let raw = parse_raw(g.outputs().len(), sets, stdout)?;
    let mut outputs = vec![];
    for (s, set_bytes) in raw.bytes.into_iter().enumerate() {
        let mut outs = vec![];
        for (k, b) in set_bytes.into_iter().enumerate() {
            let ty = g.ty(g.outputs()[k]);
            if b.len() != ty.bytes() {
                return Err(format!("set {s} output {k}: {} bytes printed, {} expected", b.len(), ty.bytes()));
            }
            let data = Data::from_le_bytes(ty.dtype, &b).ok_or_else(|| format!("set {s} output {k}: bad bytes"))?;
            outs.push(Tensor { shape: ty.shape.clone(), data });
        }
        outputs.push(outs);
    }
    Ok(Printed { outputs, stack_bytes: raw.stack_bytes })
}

/// Parses the protocol without a graph: `n_out` outputs per set, their sizes
/// unchecked. Firmware that tinyops does not generate around a model but that prints
/// in the same protocol (the peers benchmark's, through
/// [`super::source::support_code`]) is read with this; [`parse`] builds on it.
pub fn parse_raw(n_out: usize, sets: usize, stdout: &str) -> Result<RawPrinted, String> {
    let mut bytes: Vec<Vec<Vec<u8>>> = vec![vec![vec![]; n_out]; sets];
    let mut stack: Vec<Option<u64>> = vec![None; sets];
    let (mut begun, mut ended) = (false, false);
    for line in stdout.lines() {
        let mut fields = line.split_whitespace();
        let kv = |f: Option<&str>, key: &str| f.and_then(|f| f.strip_prefix(key)).map(str::to_string);
        match fields.next() {
            Some("tinyops-firmware") => match fields.next() {
                Some("begin") => {
                    let n: Option<usize> = kv(fields.next(), "sets=").and_then(|n| n.parse().ok());
                    if n != Some(sets) {
                        return Err(format!("the firmware announces `{line}` but {sets} data set(s) were embedded"));
                    }
                    begun = true;
                }
                Some("end") => ended = true,
                _ => return Err(format!("unexpected line `{line}`")),
            },
            Some("out") if begun && !ended => {
                let set: Option<usize> = kv(fields.next(), "set=").and_then(|n| n.parse().ok());
                let k: Option<usize> = kv(fields.next(), "k=").and_then(|n| n.parse().ok());
                let hex = kv(fields.next(), "hex=").and_then(|h| hex_bytes(&h));
                match (set, k, hex) {
                    (Some(s), Some(k), Some(h)) if s < sets && k < n_out => bytes[s][k].extend(h),
                    _ => return Err(format!("malformed output line `{line}`")),
                }
            }
            Some("stack") if begun && !ended => {
                let set: Option<usize> = kv(fields.next(), "set=").and_then(|n| n.parse().ok());
                let b: Option<u64> = kv(fields.next(), "bytes=").and_then(|n| n.parse().ok());
                match (set, b) {
                    (Some(s), Some(b)) if s < sets => stack[s] = Some(b),
                    _ => return Err(format!("malformed stack line `{line}`")),
                }
            }
            _ => {}
        }
    }
    if !begun || !ended {
        return Err("the firmware's output lacks its `tinyops-firmware begin`/`end` lines".into());
    }
    let stack_bytes = stack
        .into_iter()
        .enumerate()
        .map(|(s, b)| b.ok_or_else(|| format!("no stack figure for set {s}")))
        .collect::<Result<_, _>>()?;
    Ok(RawPrinted { bytes, stack_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_decodes() {
        assert_eq!(hex_bytes("00ff7f80"), Some(vec![0, 255, 127, 128]));
        assert_eq!(hex_bytes("0"), None);
        assert_eq!(hex_bytes("zz"), None);
    }

    #[test]
    fn raw_output_parses() {
        let out = "noise\ntinyops-firmware begin sets=1\nout set=0 k=0 hex=0102\nout set=0 k=0 hex=ff\n\
                   out set=0 k=1 hex=80\nstack set=0 bytes=312\ntinyops-firmware end\n";
        let raw = parse_raw(2, 1, out).unwrap();
        assert_eq!(raw, RawPrinted { bytes: vec![vec![vec![1, 2, 255], vec![128]]], stack_bytes: vec![312] });
        assert!(parse_raw(2, 2, out).unwrap_err().contains("sets=1"), "the set count is checked");
        assert!(parse_raw(2, 1, &out.replace("tinyops-firmware end\n", "")).is_err(), "no end line");
        assert!(parse_raw(2, 1, &out.replace("stack set=0 bytes=312\n", "")).unwrap_err().contains("no stack"));
        assert!(parse_raw(1, 1, out).unwrap_err().contains("malformed"), "output 1 of 1");
    }
}
