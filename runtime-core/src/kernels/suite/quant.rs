//! Quantisation checks: QuantizeLinear (also through a strided copy, a fused
//! transpose) and DequantizeLinear per tensor and per axis
//! (ties, saturation, NaN and infinities included), dequantisation of i32
//! accumulators, and table lookups.

use super::harness::{
    close, exact, fill, head, head_mut, rel_abs, Int, Rng, Text, Verdict, Want, MAX_CH, N, SENTINEL, SLACK,
};
use super::reference;
use crate::kernels::{Axis, Strided};
use crate::quant::Q8;
use core::fmt::Write;

/// Per tensor (`len` 1) or per axis, with one scale per channel: a power of two a
/// third of the time (so that ties of `x / scale` are exact), otherwise any.
fn axis_and_scales(rng: &mut Rng, geo: &mut Text, scale: &mut [f32; MAX_CH]) -> (Axis, bool) {
    let p = if rng.chance(1, 3) {
        Axis { outer: 1, len: 1, inner: rng.range(0, N) }
    } else {
        Axis { outer: rng.dim(4), len: rng.dim(16), inner: rng.dim(8) }
    };
    let pow2 = rng.chance(1, 3);
    fill(scale, || if pow2 { (1u32 << rng.range(0, 10)) as f32 / 256.0 } else { rng.float(0.004, 4.0) });
    let _ = write!(geo, "outer{} len{} inner{}{}", p.outer, p.len, p.inner, if pow2 { " pow2" } else { "" });
    (p, pow2)
}

fn total(p: &Axis) -> usize {
    p.outer * p.len * p.inner
}

/// `quantize_f32`: exact (ties to even, saturation, NaN to the zero point).
pub(crate) fn quantize_f32<Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    Y: Int + Q8,
    F: Fn(&Axis, &[f32], &[i32], &[f32], &mut [Y]),
    G: Fn(&Axis, &[f32], &[i32], &[f32], &mut [Y]),
{
    let mut scale = [0.0f32; MAX_CH];
    let (p, pow2) = axis_and_scales(rng, geo, &mut scale);
    let mut zp = [0i32; MAX_CH];
    fill(&mut zp, || rng.i32(Y::LO, Y::HI));
    // Values on half-integer multiples of the scale half the time (exact ties when the
    // scale is a power of two), across and beyond the saturation range otherwise.
    let mut x = [0.0f32; N];
    let s0 = scale.first().copied().unwrap_or(1.0);
    fill(&mut x, || match rng.below(64) {
        0 => f32::NAN,
        1 => rng.pick(&[f32::INFINITY, f32::NEG_INFINITY], f32::INFINITY),
        2..=31 if pow2 => (rng.i32(-300, 300) as f32 + 0.5) * s0,
        _ => rng.float(-300.0, 300.0) * s0,
    });
    // With per-axis scales, the ties must use each channel's scale.
    if pow2 {
        for o in 0..p.outer {
            for c in 0..p.len {
                let (Some(&s), Some(row)) = (scale.get(c), x.get_mut((o * p.len + c) * p.inner..)) else { continue };
                row.iter_mut().take(p.inner).for_each(|v| *v = *v / s0 * s);
            }
        }
    }
    let ny = total(&p) + rng.below(SLACK + 1);
    let (scale, zp, x) = (head(&scale, p.len), head(&zp, p.len), head(&x, total(&p)));

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, scale, zp, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::quantize_f32(&p, scale, zp, x, &mut exp),
        Want::Twin(twin) => twin(&p, scale, zp, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `quantize_strided_f32`: exact, as `quantize_f32`, on the random strided copies of
/// `copy_strided` (transposed, reversed, broadcast, sliced sources; padded
/// destinations), per tensor or with one scale per destination channel.
pub(crate) fn quantize_strided_f32<Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    Y: Int + Q8,
    F: Fn(&Strided, &Axis, &[f32], &[i32], &[f32], &mut [Y]),
    G: Fn(&Strided, &Axis, &[f32], &[i32], &[f32], &mut [Y]),
{
    let (p, nx, ny) = super::copy::strided(rng);
    let q = if rng.chance(1, 3) {
        Axis { outer: 1, len: 1, inner: ny }
    } else {
        Axis { outer: 1, len: rng.dim(16), inner: rng.dim(8) }
    };
    // Ties are exact when every channel has the same power-of-two scale.
    let pow2 = rng.chance(1, 3);
    let s0 = (1u32 << rng.range(0, 10)) as f32 / 256.0;
    let mut scale = [0.0f32; MAX_CH];
    fill(&mut scale, || if pow2 { s0 } else { rng.float(0.004, 4.0) });
    let mut zp = [0i32; MAX_CH];
    fill(&mut zp, || rng.i32(Y::LO, Y::HI));
    let mut x = [0.0f32; N];
    fill(&mut x, || match rng.below(64) {
        0 => f32::NAN,
        1 => rng.pick(&[f32::INFINITY, f32::NEG_INFINITY], f32::INFINITY),
        2..=31 if pow2 => (rng.i32(-300, 300) as f32 + 0.5) * s0,
        _ => rng.float(-300.0, 300.0) * s0,
    });
    let r = p.rank;
    let _ = write!(
        geo,
        "shape{:?} src{:?}+{} dst{:?}+{} len{} inner{}{}",
        head(&p.shape, r),
        head(&p.src, r),
        p.src_offset,
        head(&p.dst, r),
        p.dst_offset,
        q.len,
        q.inner,
        if pow2 { " pow2" } else { "" }
    );
    let (scale, zp, x) = (head(&scale, q.len), head(&zp, q.len), head(&x, nx));

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, &q, scale, zp, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::quantize_strided_f32(&p, &q, scale, zp, x, head_mut(&mut exp, ny)),
        Want::Twin(twin) => twin(&p, &q, scale, zp, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `dequantize_f32`: exact (one rounding of an exact product).
pub(crate) fn dequantize_f32<X, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    F: Fn(&Axis, &[f32], &[i32], &[X], &mut [f32]),
    G: Fn(&Axis, &[f32], &[i32], &[X], &mut [f32]),
{
    let mut scale = [0.0f32; MAX_CH];
    let (p, _) = axis_and_scales(rng, geo, &mut scale);
    let mut zp = [0i32; MAX_CH];
    fill(&mut zp, || rng.i32(X::LO, X::HI));
    let mut x = [X::of(0); N];
    fill(&mut x, || X::random(rng));
    let ny = total(&p) + rng.below(SLACK + 1);
    let (scale, zp, x) = (head(&scale, p.len), head(&zp, p.len), head(&x, total(&p)));

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, scale, zp, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::dequantize_f32(&p, scale, zp, x, &mut exp),
        Want::Twin(twin) => twin(&p, scale, zp, x, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(0.0, 0.0))
}

/// `dequantize_i32`: within `2^-22` relative (`x as f32` rounds above 2^24 before the
/// product rounds again).
pub(crate) fn dequantize_i32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &[i32], &mut [f32]),
    G: Fn(&Axis, &[f32], &[i32], &mut [f32]),
{
    let mut scale = [0.0f32; MAX_CH];
    let (p, _) = axis_and_scales(rng, geo, &mut scale);
    let mut x = [0i32; N];
    let range = rng.pick(&[1 << 12, 1 << 24, 1 << 30], 1 << 24);
    fill(&mut x, || rng.i32(-range, range));
    let ny = total(&p) + rng.below(SLACK + 1);
    let (scale, x) = (head(&scale, p.len), head(&x, total(&p)));

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, scale, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::dequantize_i32(&p, scale, x, &mut exp),
        Want::Twin(twin) => twin(&p, scale, x, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(1.0 / 4_194_304.0, 0.0))
}

/// `lookup_q8`: exact.
pub(crate) fn lookup_q8<X, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    Y: Int + Q8 + Default,
    F: Fn(&[Y], &[X], &mut [Y]),
    G: Fn(&[Y], &[X], &mut [Y]),
{
    let mut table = [Y::of(0); 256];
    fill(&mut table, || Y::random(rng));
    let n = rng.range(0, N);
    let mut x = [X::of(0); N];
    fill(&mut x, || X::random(rng));
    let x = head(&x, n);
    let ny = n + rng.below(SLACK + 1);
    let _ = write!(geo, "n{}", n);

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&table, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::lookup_q8(&table, x, &mut exp),
        Want::Twin(twin) => twin(&table, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
