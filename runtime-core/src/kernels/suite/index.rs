//! Checks of the kernels driven by index tables or run-time indices: `resample_f32`
//! (random per-axis tap tables, extrapolated coordinates included; within the rounding
//! bound of its sum), `scatter_elements` and `gather_nd` (exact). The references walk
//! every output (or update) by its multi-index, decoded with divisions, and share no
//! index arithmetic with the kernels.

use super::harness::{
    at, close, exact, fill, head, head_mut, put, sum_bound, Elem, Rng, Text, Verdict, Want, N, SENTINEL, SLACK,
};
use crate::kernels::portable::OUTSIDE;
use crate::kernels::{GatherElements, IndexNd, Resample, ScatterOp, MAX_RANK};
use core::fmt::Write;

/// The multi-index of element `e` of `shape` (row-major).
fn unravel(e: usize, shape: &[usize], rank: usize) -> [usize; MAX_RANK] {
    let mut idx = [0usize; MAX_RANK];
    let mut rem = e;
    for d in (0..rank).rev() {
        let n = at(shape, d);
        put(&mut idx, d, rem.checked_rem(n).unwrap_or(0));
        rem = rem.checked_div(n).unwrap_or(0);
    }
    idx
}

/// `resample_f32`.
pub(crate) fn resample<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Resample, &[u32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Resample, &[u32], &[f32], &[f32], &mut [f32]),
{
    let rank = rng.range(1, 3);
    let mut p = Resample {
        rank,
        input: [1; MAX_RANK],
        output: [1; MAX_RANK],
        taps: [1; MAX_RANK],
        start: [0; MAX_RANK],
        extrapolation: rng.float(-2.0, 2.0),
    };
    let (mut index, mut weight) = ([0u32; N], [0f32; N]);
    let mut used = 0usize;
    for d in 0..rank {
        let (i, o, t) = (rng.dim(6), rng.dim(8), rng.range(1, 4));
        put(&mut p.input, d, i);
        put(&mut p.output, d, o);
        put(&mut p.taps, d, t);
        put(&mut p.start, d, used);
        for e in 0..o * t {
            let v = if e % t == 0 && rng.chance(1, 16) { OUTSIDE } else { rng.below(i) as u32 };
            put(&mut index, used + e, v);
            put(&mut weight, used + e, rng.float(-1.0, 1.0));
        }
        used += o * t;
    }
    let (ni, no) = (p.input.iter().take(rank).product::<usize>(), p.output.iter().take(rank).product::<usize>());
    let mut x = [0f32; N];
    fill(&mut x, || f32::random(rng));
    let (x, index, weight) = (head(&x, ni), head(&index, used), head(&weight, used));
    let _ = write!(geo, "in{:?} out{:?} taps{:?}", head(&p.input, rank), head(&p.output, rank), head(&p.taps, rank));
    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, index, weight, x, head_mut(&mut got, no));
    match want {
        Want::Reference => {
            for e in 0..no {
                let o = unravel(e, &p.output, rank);
                let outside = (0..rank).any(|d| at(index, p.start[d] + o[d] * p.taps[d]) == OUTSIDE);
                let combos: usize = p.taps.iter().take(rank).product();
                let mut acc = 0f64;
                for c in 0..combos {
                    let k = unravel(c, &p.taps, rank);
                    let (mut w, mut src) = (1f64, 0usize);
                    for d in 0..rank {
                        let entry = p.start[d] + o[d] * p.taps[d] + k[d];
                        w *= at(weight, entry) as f64;
                        src = src * p.input[d] + at(index, entry) as usize;
                    }
                    acc += w * at(x, src) as f64;
                }
                put(&mut exp, e, if outside { p.extrapolation } else { acc as f32 });
            }
        }
        Want::Twin(twin) => twin(&p, index, weight, x, head_mut(&mut exp, no)),
    }
    let combos: usize = p.taps.iter().take(rank).product();
    close("y", &got, &exp, |_, _| sum_bound(combos, combos as f64))
}

/// `scatter_elements<f32, i32>`: exact (updates applied in order, in f32).
pub(crate) fn scatter_elements<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&GatherElements, ScatterOp, &[f32], &[i32], &[f32], &mut [f32]),
    G: Fn(&GatherElements, ScatterOp, &[f32], &[i32], &[f32], &mut [f32]),
{
    use ScatterOp::*;
    let rank = rng.range(1, 3);
    let axis = rng.below(rank);
    let (mut dshape, mut ishape) = ([1usize; MAX_RANK], [1usize; MAX_RANK]);
    for d in 0..rank {
        let n = rng.dim(6);
        put(&mut dshape, d, n);
        put(&mut ishape, d, if d == axis { rng.dim(6) } else { rng.range(1, n) });
    }
    let mut strides = [0usize; MAX_RANK];
    let mut s = 1;
    for d in (0..rank).rev() {
        put(&mut strides, d, s);
        s *= dshape[d];
    }
    let (nd, ni) = (s, ishape.iter().take(rank).product::<usize>());
    let len = dshape[axis];
    let p = GatherElements { rank, shape: ishape, data: strides, axis, axis_len: len };
    let op = rng.pick(&[None, Add, Mul, Max, Min], None);
    let (mut x, mut u, mut i) = ([0f32; N], [0f32; N], [0i32; N]);
    fill(&mut x, || f32::random(rng));
    fill(&mut u, || f32::random(rng));
    fill(&mut i, || rng.int(-(len as i64) - 1, len as i64) as i32);
    let (x, u, i) = (head(&x, nd), head(&u, ni), head(&i, ni));
    let _ = write!(geo, "data{:?} idx{:?} axis{axis} {op:?}", head(&dshape, rank), head(&ishape, rank));
    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, op, x, i, u, head_mut(&mut got, nd));
    match want {
        Want::Reference => {
            for (e, &v) in x.iter().enumerate() {
                put(&mut exp, e, v);
            }
            for e in 0..ni {
                let idx = unravel(e, &ishape, rank);
                let j = at(i, e) as i64;
                let j = if j < 0 { j + len as i64 } else { j };
                if j < 0 || j >= len as i64 {
                    continue;
                }
                let mut off = 0;
                for d in 0..rank {
                    off = off * dshape[d] + if d == axis { j as usize } else { idx[d] };
                }
                let (old, new) = (at(&exp, off), at(u, e));
                let v = match op {
                    None => new,
                    Add => old + new,
                    Mul => old * new,
                    Max => old.max(new),
                    Min => old.min(new),
                };
                put(&mut exp, off, v);
            }
        }
        Want::Twin(twin) => twin(&p, op, x, i, u, head_mut(&mut exp, nd)),
    }
    exact("y", &got, &exp)
}

/// `gather_nd<f32, i32>`: exact (zeros for tuples out of range).
pub(crate) fn gather_nd<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&IndexNd, &[f32], &[i32], &mut [f32]),
    G: Fn(&IndexNd, &[f32], &[i32], &mut [f32]),
{
    let (batch, k, count) = (rng.dim(3), rng.range(1, 3), rng.dim(6));
    let (mut dims, mut strides) = ([0usize; MAX_RANK], [0usize; MAX_RANK]);
    let slice = rng.dim(4);
    let mut s = slice;
    for c in (0..k).rev() {
        put(&mut dims, c, rng.dim(4));
        put(&mut strides, c, s);
        s *= dims[c];
    }
    let p = IndexNd { batch, batch_stride: s, count, k, dims, strides, slice };
    let (nd, ni, no) = (batch * s, batch * count * k, batch * count * slice);
    let (mut x, mut i) = ([0f32; N], [0i32; N]);
    fill(&mut x, || f32::random(rng));
    for (e, v) in i.iter_mut().enumerate() {
        let n = dims.get(e % k).copied().unwrap_or(1) as i64;
        *v = rng.int(-n - 1, n) as i32;
    }
    let (x, i) = (head(&x, nd), head(&i, ni));
    let _ = write!(geo, "batch{batch} k{k} count{count} dims{:?} slice{slice}", head(&dims, k));
    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, x, i, head_mut(&mut got, no));
    match want {
        Want::Reference => {
            for t in 0..batch * count {
                let mut off = Some(0usize);
                for c in 0..k {
                    let n = dims[c] as i64;
                    let j = at(i, t * k + c) as i64;
                    let j = if j < 0 { j + n } else { j };
                    off = off.filter(|_| j >= 0 && j < n).map(|o| o * dims[c] + j as usize);
                }
                for e in 0..slice {
                    let v = off.map_or(0.0, |o| at(x, (t / count) * s + o * slice + e));
                    put(&mut exp, t * slice + e, v);
                }
            }
        }
        Want::Twin(twin) => twin(&p, x, i, head_mut(&mut exp, no)),
    }
    exact("y", &got, &exp)
}

/// `scatter_nd<f32, i32>`: exact (updates applied in order, in f32).
pub(crate) fn scatter_nd<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&IndexNd, ScatterOp, &[f32], &[i32], &[f32], &mut [f32]),
    G: Fn(&IndexNd, ScatterOp, &[f32], &[i32], &[f32], &mut [f32]),
{
    use ScatterOp::*;
    let (k, count) = (rng.range(1, 3), rng.dim(6));
    let (mut dims, mut strides) = ([0usize; MAX_RANK], [0usize; MAX_RANK]);
    let slice = rng.dim(4);
    let mut s = slice;
    for c in (0..k).rev() {
        put(&mut dims, c, rng.dim(4));
        put(&mut strides, c, s);
        s *= dims[c];
    }
    let p = IndexNd { batch: 1, batch_stride: s, count, k, dims, strides, slice };
    let op = rng.pick(&[None, Add, Mul, Max, Min], None);
    let (ni, nu) = (count * k, count * slice);
    let (mut x, mut u, mut i) = ([0f32; N], [0f32; N], [0i32; N]);
    fill(&mut x, || f32::random(rng));
    fill(&mut u, || f32::random(rng));
    for (e, v) in i.iter_mut().enumerate() {
        let n = dims.get(e % k).copied().unwrap_or(1) as i64;
        *v = rng.int(-n - 1, n) as i32;
    }
    let (x, i, u) = (head(&x, s), head(&i, ni), head(&u, nu));
    let _ = write!(geo, "k{k} count{count} dims{:?} slice{slice} {op:?}", head(&dims, k));
    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, op, x, i, u, head_mut(&mut got, s));
    match want {
        Want::Reference => {
            for (e, &v) in x.iter().enumerate() {
                put(&mut exp, e, v);
            }
            for t in 0..count {
                let mut off = Some(0usize);
                for c in 0..k {
                    let n = dims[c] as i64;
                    let j = at(i, t * k + c) as i64;
                    let j = if j < 0 { j + n } else { j };
                    off = off.filter(|_| j >= 0 && j < n).map(|o| o * dims[c] + j as usize);
                }
                let Some(o) = off else { continue };
                for e in 0..slice {
                    let (old, new) = (at(&exp, o * slice + e), at(u, t * slice + e));
                    let v = match op {
                        None => new,
                        Add => old + new,
                        Mul => old * new,
                        Max => old.max(new),
                        Min => old.min(new),
                    };
                    put(&mut exp, o * slice + e, v);
                }
            }
        }
        Want::Twin(twin) => twin(&p, op, x, i, u, head_mut(&mut exp, s)),
    }
    exact("y", &got, &exp)
}

/// `top_k<f32>`: exact. The reference sorts each slice's positions by insertion
/// (value, then position) and keeps the first `k`.
pub(crate) fn top_k<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&crate::kernels::TopK, &[f32], &mut [f32], &mut [i64]),
    G: Fn(&crate::kernels::TopK, &[f32], &mut [f32], &mut [i64]),
{
    let (outer, len, inner) = (rng.dim(4), rng.dim(16), rng.dim(4));
    let p = crate::kernels::TopK { outer, len, inner, k: rng.range(0, len), largest: rng.chance(1, 2) };
    let (n, m) = (outer * len * inner, outer * p.k * inner);
    let mut x = [0f32; N];
    // Few distinct values, so ties are common.
    fill(&mut x, || rng.i32(-3, 3) as f32 * 0.5);
    let x = head(&x, n);
    let _ = write!(geo, "{outer}x{len}x{inner} k{} largest{}", p.k, p.largest as u8);
    let (mut gv, mut ev) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    let (mut gi, mut ei) = ([-7i64; N + SLACK], [-7i64; N + SLACK]);
    imp(&p, x, head_mut(&mut gv, m), head_mut(&mut gi, m));
    match want {
        Want::Reference => {
            for o in 0..outer {
                for r in 0..inner {
                    let v = |i: usize| at(x, (o * len + i) * inner + r);
                    let mut order = [0usize; 16];
                    for (i, slot) in order.iter_mut().enumerate() {
                        *slot = i;
                    }
                    for a in 1..len {
                        let mut b = a;
                        while b > 0 {
                            let (c, d) = (at(&order, b - 1), at(&order, b));
                            let first = if p.largest { v(d) > v(c) } else { v(d) < v(c) };
                            if !first {
                                break;
                            }
                            put(&mut order, b - 1, d);
                            put(&mut order, b, c);
                            b -= 1;
                        }
                    }
                    for j in 0..p.k {
                        let i = at(&order, j);
                        put(&mut ev, (o * p.k + j) * inner + r, v(i));
                        put(&mut ei, (o * p.k + j) * inner + r, i as i64);
                    }
                }
            }
        }
        Want::Twin(twin) => twin(&p, x, head_mut(&mut ev, m), head_mut(&mut ei, m)),
    }
    exact("values", &gv, &ev)?;
    exact("indices", &gi, &ei)
}

impl Elem for i64 {
    fn num(self) -> super::Num {
        super::Num::Int(self)
    }
    fn same(self, other: Self) -> bool {
        self == other
    }
    fn random(rng: &mut Rng) -> Self {
        rng.next_u64() as i64
    }
}
