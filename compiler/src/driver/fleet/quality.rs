//! Quality of model variants on a data folder, measured with their host builds.
//!
//! The folder holds `test_data_set_*/input_K.pb` (expected outputs are not needed)
//! and optionally `labels.txt`: one class index per data set, in set order.
//! A variant whose input is 8-bit integer while the data is float gets the data
//! quantised with the scale and zero point of the DequantizeLinear that reads that
//! input in the model; an 8-bit output is dequantised with the QuantizeLinear that
//! writes it, so errors are compared in the float domain.
//!
//! - With labels: quality = accuracy, the share of sets whose arg-max of output 0 is
//!   the label.
//! - Without: quality = top-1 agreement with the reference variant (the first, in
//!   `--models` order, whose inputs and outputs are float and whose imported graph has
//!   no QuantizeLinear or DequantizeLinear; else the first variant), and the largest
//!   absolute difference of output 0 from it.

use super::super::testdata::load_sets;
use super::super::verify::{build_harness, run_harness};
use crate::error::{Error, Result};
use crate::ir::{DType, Data, Tensor};
use crate::ops::Op;
use crate::{compile, front, Options};
use std::path::{Path, PathBuf};

/// The quality of one variant.
#[derive(Debug, Clone)]
pub struct VariantQuality {
    /// Accuracy or top-1 agreement, 0 to 1.
    pub quality: f64,
    /// Largest absolute difference of output 0 from the reference (without labels).
    pub max_abs_error: Option<f64>,
}

/// The quality of every variant.
#[derive(Debug, Clone)]
pub struct Quality {
    /// What the numbers mean, with the number of sets.
    pub kind: String,
    /// One per variant, in order.
    pub per_variant: Vec<VariantQuality>,
}

/// Scale and zero point of a per-tensor (de)quantisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// Scale.
    pub scale: f64,
    /// Zero point.
    pub zero_point: i64,
}

/// How a model's inputs and outputs are quantised, read from its imported graph.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Per graph input: the DequantizeLinear parameters that read it, if one does.
    pub inputs: Vec<Option<QParams>>,
    /// Per graph output: the QuantizeLinear parameters that write it, if one does.
    pub outputs: Vec<Option<QParams>>,
    /// True when inputs and outputs are float and no (de)quantisation is in the graph.
    pub is_float: bool,
}

/// Ops that only move data (beside views), by IR name.
const MOVES: &[&str] = &["transpose", "reshape", "squeeze", "unsqueeze", "flatten", "identity"];

fn qparams(g: &crate::ir::Graph, node: &crate::ir::Node) -> Option<QParams> {
    let scale = g.const_of(node.inputs.get(1).copied().flatten()?)?;
    let zero_point = match node.inputs.get(2).copied().flatten() {
        Some(z) => {
            let z = g.const_of(z)?;
            (z.numel() == 1).then(|| z.data.get_f64(0) as i64)?
        }
        None => 0,
    };
    (scale.numel() == 1).then(|| QParams { scale: scale.data.get_f64(0), zero_point })
}

/// Reads the quantisation of a model's inputs and outputs.
pub fn interface(model: &Path) -> Result<Interface> {
    let (_, g) = front::load(model, &front::LoadOptions::default())?;
    let quantised = g.topo_order().iter().any(|&n| matches!(g.node(n).op, Op::Dequantize(_) | Op::Quantize(_)));
    // Data movement between an input and its DequantizeLinear, or a QuantizeLinear and
    // an output, changes no value.
    let moves = |op: &Op| op.def().is_view() || MOVES.contains(&op.def().name());
    let inputs = g
        .inputs()
        .iter()
        .map(|&i| {
            let mut v = i;
            loop {
                let users = g.users(v);
                let [(n, 0)] = users.as_slice() else { return None };
                let nd = g.node(*n);
                match &nd.op {
                    Op::Dequantize(_) => return qparams(&g, nd),
                    op if moves(op) => v = *nd.outputs.first()?,
                    _ => return None,
                }
            }
        })
        .collect();
    let outputs: Vec<Option<QParams>> = g
        .outputs()
        .iter()
        .map(|&o| {
            let mut v = o;
            loop {
                let nd = g.node(g.producer(v)?);
                match &nd.op {
                    Op::Quantize(_) => return qparams(&g, nd),
                    op if moves(op) => v = nd.inputs.first().copied().flatten()?,
                    _ => return None,
                }
            }
        })
        .collect();
    let float = |v: &crate::ir::ValueId| g.ty(*v).dtype == DType::F32;
    let is_float = !quantised && g.inputs().iter().all(float) && g.outputs().iter().all(float);
    Ok(Interface { inputs, outputs, is_float })
}

/// Converts a data-set input for a model input of type `to`.
fn convert(t: &Tensor, to: DType, q: Option<QParams>, what: &str) -> Result<Tensor> {
    if t.dtype() == to {
        return Ok(t.clone());
    }
    let bad = |detail: String| Error::Driver { step: "reading the --data folder".into(), detail };
    let (Some(x), Some(q)) = (t.as_f32(), q) else {
        return Err(bad(format!(
            "{what} is {} but the model takes {to}, and no per-tensor DequantizeLinear reads that input to \
             quantise the data with",
            t.dtype()
        )));
    };
    let quant = |v: f32| {
        let lo = if to == DType::I8 { -128.0 } else { 0.0 };
        let hi = if to == DType::I8 { 127.0 } else { 255.0 };
        ((v as f64 / q.scale).round_ties_even() + q.zero_point as f64).clamp(lo, hi)
    };
    let data = match to {
        DType::I8 => Data::I8(x.iter().map(|&v| quant(v) as i8).collect()),
        DType::U8 => Data::U8(x.iter().map(|&v| quant(v) as u8).collect()),
        _ => return Err(bad(format!("{what} is {} but the model takes {to}", t.dtype()))),
    };
    Ok(Tensor { shape: t.shape.clone(), data })
}

/// Output 0 as floats (dequantised with `q` when integer).
fn as_float(t: &Tensor, q: Option<QParams>) -> Vec<f64> {
    let (scale, zp) = q.map(|q| (q.scale, q.zero_point as f64)).unwrap_or((1.0, 0.0));
    let is_float = matches!(t.dtype(), DType::F32 | DType::F64 | DType::F16 | DType::BF16);
    (0..t.numel()).map(|i| if is_float { t.data.get_f64(i) } else { (t.data.get_f64(i) - zp) * scale }).collect()
}

fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Reads `labels.txt` if the folder has one.
fn labels(dir: &Path, sets: usize) -> Result<Option<Vec<usize>>> {
    let p = dir.join("labels.txt");
    let Ok(text) = std::fs::read_to_string(&p) else { return Ok(None) };
    let labels: Vec<usize> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::Driver {
            step: format!("reading {}", p.display()),
            detail: format!("expected one class index per line: {e}"),
        })?;
    if labels.len() != sets {
        return Err(Error::Driver {
            step: format!("reading {}", p.display()),
            detail: format!("{} labels for {sets} data sets", labels.len()),
        });
    }
    Ok(Some(labels))
}

/// Output 0 of every set, as floats, for each variant, run with its host build.
fn outputs(model: &Path, iface: &Interface, sets: &[Vec<Tensor>]) -> Result<Vec<Vec<f64>>> {
    let c = compile(model, &Options::default())?;
    let g = &c.graph;
    if g.inputs().len() != sets[0].len() {
        return Err(Error::Driver {
            step: format!("feeding the --data sets to {}", model.display()),
            detail: format!("the sets have {} inputs; the model takes {}", sets[0].len(), g.inputs().len()),
        });
    }
    let mut converted = vec![];
    for set in sets {
        let mut ins = vec![];
        for (k, (t, &v)) in set.iter().zip(g.inputs()).enumerate() {
            let what = format!("input {k} of the data for {}", model.display());
            let mut t = convert(t, g.ty(v).dtype, iface.inputs.get(k).copied().flatten(), &what)?;
            if t.numel() != g.ty(v).numel() {
                return Err(Error::Driver {
                    step: "reading the --data folder".into(),
                    detail: format!("{what} has {} elements; the model takes {}", t.numel(), g.ty(v)),
                });
            }
            t.shape = g.ty(v).shape.clone();
            ins.push(t);
        }
        converted.push(ins);
    }
    let exe = build_harness(&c, true)?;
    let refs: Vec<&[Tensor]> = converted.iter().map(|s| s.as_slice()).collect();
    let outs = run_harness(&exe, &c, &refs)?;
    Ok(outs.iter().map(|o| as_float(&o[0], iface.outputs.first().copied().flatten())).collect())
}

/// Measures every variant (name, model file) on the data folder.
pub fn measure(variants: &[(String, PathBuf)], dir: &Path) -> Result<Quality> {
    let sets: Vec<Vec<Tensor>> = load_sets(dir)?.into_iter().map(|s| s.inputs).collect();
    if sets.is_empty() {
        return Err(Error::Driver {
            step: "reading the --data folder".into(),
            detail: format!("no test_data_set_* folders in {}", dir.display()),
        });
    }
    let labels = labels(dir, sets.len())?;
    let ifaces: Vec<Interface> = variants.iter().map(|(_, m)| interface(m)).collect::<Result<_>>()?;
    let outs: Vec<Vec<Vec<f64>>> =
        variants.iter().zip(&ifaces).map(|((_, m), i)| outputs(m, i, &sets)).collect::<Result<_>>()?;
    let n = sets.len();
    if let Some(labels) = labels {
        let per_variant = outs
            .iter()
            .map(|o| VariantQuality {
                quality: o.iter().zip(&labels).filter(|(o, &l)| argmax(o) == l).count() as f64 / n as f64,
                max_abs_error: None,
            })
            .collect();
        return Ok(Quality { kind: format!("accuracy against labels.txt over {n} data sets"), per_variant });
    }
    let reference = ifaces.iter().position(|i| i.is_float).unwrap_or(0);
    let why = if ifaces[reference].is_float { "float, no quantisation" } else { "no float variant: the first given" };
    let per_variant = outs
        .iter()
        .map(|o| {
            let agree = o.iter().zip(&outs[reference]).filter(|(a, b)| argmax(a) == argmax(b)).count();
            let err = o
                .iter()
                .zip(&outs[reference])
                .flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()))
                .fold(0.0, f64::max);
            VariantQuality { quality: agree as f64 / n as f64, max_abs_error: Some(err) }
        })
        .collect();
    Ok(Quality {
        kind: format!(
            "top-1 agreement with {} ({why}) over {n} data sets; max_abs_error is the largest absolute \
             difference of output 0 from it (8-bit outputs dequantised)",
            variants[reference].0
        ),
        per_variant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_data_is_quantised_for_integer_inputs() {
        let t = Tensor { shape: vec![4], data: Data::F32(vec![0.0, 0.5, -1.0, 100.0]) };
        let q = QParams { scale: 0.5, zero_point: -1 };
        let i = convert(&t, DType::I8, Some(q), "x").unwrap();
        assert_eq!(i.data, Data::I8(vec![-1, 0, -3, 127]));
        assert!(convert(&t, DType::I8, None, "x").unwrap_err().to_string().contains("no per-tensor DequantizeLinear"));
        assert_eq!(as_float(&i, Some(q)), [0.0, 0.5, -1.0, 64.0]);
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), 1);
    }
}
