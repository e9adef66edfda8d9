//! Checks of the kernels that work along one axis (`outer × len × inner`): float
//! softmax and log-softmax, the per-channel affine map, and the quantised softmax.

use super::harness::{
    close, exact, fill, head, head_mut, qout, rel_abs, Int, Rng, Sci, Text, Verdict, Want, MAX_CH, N, SENTINEL, SLACK,
};
use super::{math64, reference};
use crate::kernels::Axis;
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// A random axis view; `len` stays within the channel buffers.
fn axis(rng: &mut Rng, geo: &mut Text) -> Axis {
    let p = Axis { outer: rng.dim(4), len: rng.dim(16.min(MAX_CH)), inner: rng.dim(4) };
    let _ = write!(geo, "outer{} len{} inner{}", p.outer, p.len, p.inner);
    p
}

fn total(p: &Axis) -> usize {
    p.outer * p.len * p.inner
}

/// Shared body of the two float softmax checks.
fn softmax<F, G>(rng: &mut Rng, geo: &mut Text, log: bool, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &mut [f32]),
{
    let p = axis(rng, geo);
    let spread = rng.pick(&[1.0, 10.0, 40.0], 10.0);
    let mut x = [0.0f32; N];
    fill(&mut x, || rng.float(-spread, spread));
    let ny = total(&p) + rng.below(SLACK + 1);
    let _ = write!(geo, " spread{}", Sci(spread));
    let x = head(&x, total(&p));

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::softmax_f32(&p, log, x, &mut exp),
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, ny)),
    }
    let (rel, abs) = if log { (1e-6, 4e-6) } else { (5e-6, 1e-12) };
    close("y", &got, &exp, rel_abs(rel, abs))
}

/// `softmax_f32`: within `5e-6` relative (the rounding of `x − max` alone can cost 1e-6).
pub(crate) fn softmax_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &mut [f32]),
{
    softmax(rng, geo, false, imp, want)
}

/// `log_softmax_f32`: within `4e-6 + 1e-6·|want|`.
pub(crate) fn log_softmax_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &mut [f32]),
{
    softmax(rng, geo, true, imp, want)
}

/// `channel_affine_f32`: within the rounding bound of `x·scale + shift`.
pub(crate) fn channel_affine_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &[f32], &[f32], &mut [f32]),
{
    let p = axis(rng, geo);
    let (mut scale, mut shift, mut x) = ([0.0f32; MAX_CH], [0.0f32; MAX_CH], [0.0f32; N]);
    fill(&mut scale, || rng.float(-2.0, 2.0));
    fill(&mut shift, || rng.float(-2.0, 2.0));
    fill(&mut x, || rng.float(-4.0, 4.0));
    let ny = total(&p) + rng.below(SLACK + 1);
    let (scale, shift, x) = (head(&scale, p.len), head(&shift, p.len), head(&x, total(&p)));

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, scale, shift, x, head_mut(&mut got, ny));
    reference::channel_affine_f32(&p, scale, shift, x, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, scale, shift, x, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// `softmax_q8`: exact, with the exponential table built as the compiler builds it
/// (`E[d] = round(2^20 · e^(−d·sx))`, here from the suite's own `exp`).
pub(crate) fn softmax_q8<X, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    Y: Int + Q8,
    F: Fn(&Axis, &[u32], u32, &QOut, &[X], &mut [Y]),
    G: Fn(&Axis, &[u32], u32, &QOut, &[X], &mut [Y]),
{
    let p = axis(rng, geo);
    let sx = rng.float(0.01, 0.5) as f64;
    let mut table = [0u32; 256];
    for (d, e) in table.iter_mut().enumerate() {
        *e = math64::floor(1_048_576.0 * math64::exp(-(d as f64) * sx) + 0.5) as u32;
    }
    let sy = rng.float(1.0 / 512.0, 1.0 / 128.0) as f64;
    let inv_scale_q16 = math64::floor(65536.0 / sy + 0.5) as u32;
    let out = qout::<Y>(rng);
    let mut x = [X::of(0); N];
    fill(&mut x, || X::random(rng));
    let ny = total(&p) + rng.below(SLACK + 1);
    let _ = write!(geo, " sx{} inv{} out{},{},{}", Sci(sx as f32), inv_scale_q16, out.zp, out.min, out.max);
    let x = head(&x, total(&p));

    let sentinel = Y::random(rng);
    // The implementations get the table as the compiler emits it, without its trailing
    // zeros (a missing entry reads as zero); the reference the whole table.
    let used = table.iter().rposition(|&e| e != 0).map_or(1, |i| i + 1);
    let short = head(&table, used);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, short, inv_scale_q16, &out, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::softmax_q8(&p, &table, inv_scale_q16, &out, x, &mut exp),
        Want::Twin(twin) => twin(&p, short, inv_scale_q16, &out, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
