//! Running sum and product checks (`cumulative`) and bit reinterpretation
//! (`bitcast`). Integer results exact; float sums within the rounding bound of a sum
//! of that many terms; float products within `2^-20` relative. The reference adds or
//! multiplies each output's terms afresh in f64 (or wrapping i64).

use super::harness::{
    close, exact, fill, head, head_mut, put, sum_bound, Elem, Rng, Text, Verdict, Want, N, SENTINEL, SLACK,
};
use crate::kernels::Cumulative;
use core::fmt::Write;

fn geometry(rng: &mut Rng) -> Cumulative {
    let (outer, len, inner) = (rng.dim(4), rng.dim(16), rng.dim(4));
    Cumulative { outer, len, inner, product: rng.chance(1, 2), exclusive: rng.chance(1, 2), reverse: rng.chance(1, 2) }
}

fn describe(geo: &mut Text, p: &Cumulative) {
    let _ = write!(
        geo,
        "{}x{}x{} prod{} excl{} rev{}",
        p.outer, p.len, p.inner, p.product as u8, p.exclusive as u8, p.reverse as u8
    );
}

/// The positions along the axis that output position `i` combines.
fn terms(p: &Cumulative, i: usize) -> (usize, usize) {
    let (lo, hi) = if p.reverse { (i, p.len) } else { (0, i + 1) };
    match (p.exclusive, p.reverse) {
        (false, _) => (lo, hi),
        (true, false) => (lo, hi - 1),
        (true, true) => (lo + 1, hi),
    }
}

/// `cumulative<f32>`.
pub(crate) fn cumulative_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Cumulative, &[f32], &mut [f32]),
    G: Fn(&Cumulative, &[f32], &mut [f32]),
{
    let p = geometry(rng);
    let n = p.outer * p.len * p.inner;
    let mut x = [0f32; N];
    fill(&mut x, || if p.product { rng.float(0.5, 1.5) } else { rng.float(-2.0, 2.0) });
    let x = head(&x, n);
    describe(geo, &p);
    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, x, head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for o in 0..p.outer {
                for k in 0..p.inner {
                    for i in 0..p.len {
                        let (lo, hi) = terms(&p, i);
                        let mut acc = if p.product { 1f64 } else { 0f64 };
                        for j in lo..hi {
                            let v = x.get((o * p.len + j) * p.inner + k).copied().unwrap_or(0.0) as f64;
                            acc = if p.product { acc * v } else { acc + v };
                        }
                        put(&mut exp, (o * p.len + i) * p.inner + k, acc as f32);
                    }
                }
            }
        }
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, n)),
    }
    let bound = sum_bound(p.len, 2.0 * p.len as f64);
    close("y", &got, &exp, |_, w| if p.product { w.abs() * 2e-6 * p.len as f32 } else { bound })
}

/// `cumulative<i32>`: exact (wrapping).
pub(crate) fn cumulative_i32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Cumulative, &[i32], &mut [i32]),
    G: Fn(&Cumulative, &[i32], &mut [i32]),
{
    let p = geometry(rng);
    let n = p.outer * p.len * p.inner;
    let mut x = [0i32; N];
    fill(&mut x, || if rng.chance(1, 8) { i32::random(rng) } else { rng.i32(-5, 5) });
    let x = head(&x, n);
    describe(geo, &p);
    let sentinel = i32::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x, head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for o in 0..p.outer {
                for k in 0..p.inner {
                    for i in 0..p.len {
                        let (lo, hi) = terms(&p, i);
                        let mut acc = if p.product { 1i64 } else { 0i64 };
                        for j in lo..hi {
                            let v = x.get((o * p.len + j) * p.inner + k).copied().unwrap_or(0) as i64;
                            acc = if p.product { acc.wrapping_mul(v) } else { acc.wrapping_add(v) };
                        }
                        put(&mut exp, (o * p.len + i) * p.inner + k, acc as i32);
                    }
                }
            }
        }
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, n)),
    }
    exact("y", &got, &exp)
}

/// `bitcast<f32, i32>`: exact.
pub(crate) fn bitcast<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&[f32], &mut [i32]),
    G: Fn(&[f32], &mut [i32]),
{
    let n = rng.range(0, N);
    let mut x = [0f32; N];
    fill(&mut x, || f32::random(rng) * 1e3);
    let x = head(&x, n);
    let _ = write!(geo, "n{n}");
    let sentinel = i32::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(x, head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for (i, &v) in x.iter().enumerate() {
                put(&mut exp, i, i32::from_le_bytes(v.to_le_bytes()));
            }
        }
        Want::Twin(twin) => twin(x, head_mut(&mut exp, n)),
    }
    exact("y", &got, &exp)
}
