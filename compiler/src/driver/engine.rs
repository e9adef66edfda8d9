//! Which backend runs a compiled model on the host — the Rust backend (generated crate
//! built by cargo, run in a harness process) or the JIT (cranelift, in process) — and
//! how the outputs of the two are compared element by element.

use crate::backend::jit::{Engine as Jit, JitOptions};
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

/// Runs data sets through the JIT; the seconds spent building the function, the
/// outputs per set, and the arena of the JIT's own plan when it runs one
/// ([`Compilation::jit_program`]).
pub fn run_jit(c: &Compilation, sets: &[&[Tensor]]) -> Result<(f64, Vec<Vec<Tensor>>, Option<usize>)> {
    let t0 = std::time::Instant::now();
    let (program, own_arena) = c.jit_program()?;
    let mut engine = Jit::new(&program, c.target, false)?;
    let build = t0.elapsed().as_secs_f64();
    let outs = sets.iter().map(|s| engine.run(s)).collect::<std::result::Result<Vec<_>, _>>()?;
    Ok((build, outs, own_arena))
}

/// Where two engines part for one data set (see [`locate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The first step whose written operands differ beyond the tolerance of [`diff`]
    /// (`None`: no step does).
    pub step: Option<usize>,
    /// The first step whose written bytes differ at all (at or before `step`).
    pub first_bits: Option<usize>,
    /// What it means, for a report.
    pub message: String,
}

/// Where a difference between the engines starts, for one data set: the Rust backend's
/// harness (`--trace`, through `Observer::memory`) and the JIT (observed) both report
/// the bytes every step wrote, and the first step whose written operands differ —
/// integers in any bit, floats beyond 4 ULP and 1e-6 — is named, with its node and op.
/// The JIT is also run calling the runtime's kernel for every call (no emitted loops),
/// which tells an emitted loop's difference from one between the two builds of a kernel.
pub fn locate(c: &Compilation, inputs: &[Tensor], quiet: bool) -> Result<String> {
    let opts = JitOptions { observed: true, ..JitOptions::default() };
    Ok(locate_with(c, inputs, quiet, opts)?.message)
}

/// [`locate`] against a JIT built with `jit` (observed is forced on).
pub fn locate_with(c: &Compilation, inputs: &[Tensor], quiet: bool, jit: JitOptions) -> Result<Divergence> {
    if let (_, Some(arena)) = c.jit_program()? {
        // The JIT runs its own plan: no step of it matches one of the Rust backend's.
        let message = format!(
            "the Rust backend streams {} group(s) the JIT does not run, so the JIT runs its own plan (arena {arena} B) and no step-by-step comparison is possible",
            c.plan.streams.len()
        );
        return Ok(Divergence { step: None, first_bits: None, message });
    }
    let exe = super::verify::build_harness(c, quiet)?;
    let rust = super::verify::trace_harness(&exe, c, inputs)?;
    let mut engine = Jit::with_options(&c.program, c.target, JitOptions { observed: true, ..jit })?;
    let (_, ours) = engine.run_observed(inputs)?;
    let writes = |s: usize| c.program.steps[s].calls.iter().flat_map(|k| &k.writes).collect::<Vec<_>>();
    let name = |s: usize| {
        let step = &c.program.steps[s];
        format!("step {s}, node `{}` (op {}, {})", step.node, step.op, step.signature)
    };
    let mut first_bits = None;
    for (s, (r, j)) in rust.iter().zip(&ours).enumerate() {
        if r == j {
            continue;
        }
        first_bits.get_or_insert(s);
        let (mut differing, mut total, mut first) = (0, 0, None);
        for ((op, a), b) in writes(s).into_iter().zip(r).zip(j) {
            let (Some(x), Some(y)) = (Data::from_le_bytes(op.dtype, a), Data::from_le_bytes(op.dtype, b)) else {
                continue;
            };
            let t = |d: Data| Tensor { shape: vec![d.len()], data: d };
            let d = diff(&t(x), &t(y));
            total += op.len;
            differing += d.len();
            if first.is_none() {
                first = d.first().cloned();
            }
        }
        if differing == 0 {
            continue;
        }
        let mut message = format!(
            "{}: {differing} of {total} written element(s) differ between the Rust backend and the JIT",
            name(s)
        );
        if let Some(e) = first {
            message.push_str(&format!(" (first at element {}: Rust {}, JIT {})", e.index, e.rust, e.jit));
        }
        if first_bits != Some(s) {
            let f = first_bits.unwrap_or(s);
            message.push_str(&format!("; earlier steps differ only within tolerance, the first being {}", name(f)));
        }
        // Emitted loop or kernel build? The JIT calling the runtime for every call.
        let mut calls = Jit::with_options(
            &c.program,
            c.target,
            JitOptions { observed: true, loops: false, ..JitOptions::default() },
        )?;
        let (_, reference) = calls.run_observed(inputs)?;
        let same_step = |x: &[Vec<u8>]| reference.get(s).is_some_and(|y| y.as_slice() == x);
        message.push_str(if same_step(j) {
            "; the JIT calling the runtime's kernels writes the same there, so the kernels' host build and the generated crate's build differ"
        } else if same_step(r) {
            "; the JIT calling the runtime's kernels agrees with the Rust backend there, so the JIT's own code (its emitted loops) is the cause"
        } else {
            "; the JIT calling the runtime's kernels agrees with neither"
        });
        return Ok(Divergence { step: Some(s), first_bits, message });
    }
    let message = match first_bits {
        Some(f) => format!("every step agrees within tolerance; the first bit difference is at {}", name(f)),
        None => "every step writes the same bytes in the Rust backend and the JIT".into(),
    };
    Ok(Divergence { step: None, first_bits, message })
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
