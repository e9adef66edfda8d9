//! Which backend runs a compiled model on the host — the Rust backend (generated crate
//! built by cargo, run in a harness process) or the JIT (cranelift, in process) — and
//! how the outputs of the two are compared element by element.

use crate::backend::jit::Engine as Jit;
use crate::error::Result;
use crate::ir::{Data, Tensor};
use crate::Compilation;
use serde::Serialize;

/// The engine that runs a model on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    /// The generated Rust, built with cargo and run in a harness process.
    #[default]
    Rust,
    /// The cranelift JIT, in process.
    Jit,
    /// Both, their outputs compared element by element (`verify` only).
    Both,
}

/// Runs data sets through the JIT; the seconds spent building the function, and the
/// outputs per set.
pub fn run_jit(c: &Compilation, sets: &[&[Tensor]]) -> Result<(f64, Vec<Vec<Tensor>>)> {
    let t0 = std::time::Instant::now();
    let mut engine = Jit::new(&c.program, c.target, false)?;
    let build = t0.elapsed().as_secs_f64();
    let outs = sets.iter().map(|s| engine.run(s)).collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((build, outs))
}

/// Where a difference between the engines starts, for one data set: the JIT is run
/// step by step twice — with its emitted loops, and calling the runtime's kernel for
/// every call (the code the Rust backend calls) — and the first step whose written
/// operands differ is named. When none differs, the loops are not the cause: the
/// difference comes from how the host build of the kernels and the generated crate's
/// build of them were compiled. (The generated Rust reports step boundaries to an
/// observer but not its arena, so its own intermediates cannot be read.)
pub fn locate(c: &Compilation, inputs: &[Tensor]) -> Result<String> {
    use crate::backend::jit::JitOptions;
    let mut loops = Jit::with_options(&c.program, c.target, JitOptions { observed: true, loops: true })?;
    let mut calls = Jit::with_options(&c.program, c.target, JitOptions { observed: true, loops: false })?;
    let (_, a) = loops.run_observed(inputs)?;
    let (_, b) = calls.run_observed(inputs)?;
    for (s, (x, y)) in a.iter().zip(&b).enumerate() {
        if x != y {
            let step = &c.program.steps[s];
            return Ok(format!(
                "step {s}, node `{}` (op {}, {}): the JIT's emitted loops write other bytes than the runtime's kernels",
                step.node, step.op, step.signature
            ));
        }
    }
    Ok("no step of the JIT differs from the runtime's kernels; the difference comes from the two builds of the kernels"
        .into())
}

/// Largest difference between engines a float element may show: 4 units in the last
/// place, or 1e-6 absolute.
pub const MAX_ULPS: u64 = 4;
/// See [`MAX_ULPS`].
pub const MAX_ABS: f64 = 1e-6;

/// Units in the last place between two f32 values (0 for two NaNs, `u64::MAX` when
/// only one is NaN).
pub fn ulps_f32(a: f32, b: f32) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (true, false) | (false, true) => u64::MAX,
        _ => {
            let key = |x: f32| {
                let i = x.to_bits() as i32;
                if i < 0 {
                    i64::from(i32::MIN) - i64::from(i)
                } else {
                    i64::from(i)
                }
            };
            key(a).abs_diff(key(b))
        }
    }
}

/// Units in the last place between two f64 values.
pub fn ulps_f64(a: f64, b: f64) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (true, false) | (false, true) => u64::MAX,
        _ => {
            let key = |x: f64| {
                let i = x.to_bits() as i64;
                if i < 0 {
                    i128::from(i64::MIN) - i128::from(i)
                } else {
                    i128::from(i)
                }
            };
            u64::try_from(key(a).abs_diff(key(b))).unwrap_or(u64::MAX)
        }
    }
}

/// One element where the engines disagree.
#[derive(Debug, Clone, Serialize)]
pub struct ElementDiff {
    /// Flat index.
    pub index: usize,
    /// The Rust backend's value.
    pub rust: f64,
    /// The JIT's value.
    pub jit: f64,
    /// Units in the last place between them (floats).
    pub ulps: Option<u64>,
}

/// Every element of one output where the engines disagree: integers (and half floats,
/// compared as bits) on any difference, f32/f64 beyond [`MAX_ULPS`] and [`MAX_ABS`].
pub fn diff(rust: &Tensor, jit: &Tensor) -> Vec<ElementDiff> {
    let mut out = vec![];
    if rust.data.len() != jit.data.len() || rust.dtype() != jit.dtype() {
        out.push(ElementDiff { index: 0, rust: rust.data.len() as f64, jit: jit.data.len() as f64, ulps: None });
        return out;
    }
    match (&rust.data, &jit.data) {
        (Data::F32(a), Data::F32(b)) => {
            for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
                let u = ulps_f32(x, y);
                if u > MAX_ULPS && !(f64::from(x) - f64::from(y)).abs().le(&MAX_ABS) {
                    out.push(ElementDiff { index: i, rust: x.into(), jit: y.into(), ulps: Some(u) });
                }
            }
        }
        (Data::F64(a), Data::F64(b)) => {
            for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
                let u = ulps_f64(x, y);
                if u > MAX_ULPS && !(x - y).abs().le(&MAX_ABS) {
                    out.push(ElementDiff { index: i, rust: x, jit: y, ulps: Some(u) });
                }
            }
        }
        _ => {
            let (a, b) = (rust.data.to_le_bytes(), jit.data.to_le_bytes());
            let size = rust.dtype().size().max(1);
            for i in 0..rust.data.len() {
                if a[i * size..(i + 1) * size] != b[i * size..(i + 1) * size] {
                    out.push(ElementDiff {
                        index: i,
                        rust: rust.data.get_f64(i),
                        jit: jit.data.get_f64(i),
                        ulps: None,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulps_count_representable_steps_across_zero() {
        assert_eq!(ulps_f32(1.0, 1.0), 0);
        assert_eq!(ulps_f32(1.0, f32::from_bits(1.0f32.to_bits() + 3)), 3);
        assert_eq!(ulps_f32(0.0, -0.0), 0);
        assert_eq!(ulps_f32(f32::from_bits(1), -f32::from_bits(1)), 2);
        assert_eq!(ulps_f32(f32::NAN, f32::NAN), 0);
        assert_eq!(ulps_f32(f32::NAN, 1.0), u64::MAX);
        assert_eq!(ulps_f64(2.0, f64::from_bits(2.0f64.to_bits() + 5)), 5);
    }

    #[test]
    fn diff_applies_the_float_and_integer_rules() {
        let t = |d: Data| Tensor { shape: vec![d.len()], data: d };
        let a = t(Data::F32(vec![1.0, 1.0, 1e-9, 100.0]));
        let b = t(Data::F32(vec![1.0, f32::from_bits(1.0f32.to_bits() + 4), 5e-7, 100.001]));
        let d = diff(&a, &b);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].index, 3);
        let d = diff(&t(Data::I8(vec![1, 2, 3])), &t(Data::I8(vec![1, 2, 4])));
        assert_eq!(d.iter().map(|e| e.index).collect::<Vec<_>>(), vec![2]);
    }
}
