use super::logic::Scalar;
use crate::kernels::{Axis, LayerNorm, LossReduction, Nll, Reduce, ReduceOp, MAX_RANK};
use crate::math;

fn fits(p: &Axis, x: &[f32], y: &[f32]) -> bool {
    let n = p.outer * p.len * p.inner;
    p.len > 0 && p.inner > 0 && x.len() >= n && y.len() >= n
}

/// Softmax along the middle axis of `outer × len × inner`.
pub fn softmax_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    softmax_impl(p, x, y, false)
}

/// Log-softmax along the middle axis of `outer × len × inner`.
pub fn log_softmax_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    softmax_impl(p, x, y, true)
}

fn softmax_impl(p: &Axis, x: &[f32], y: &mut [f32], log: bool) {
    if !fits(p, x, y) {
        return;
    }
    let (len, inner) = (p.len, p.inner);
    for o in 0..p.outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let mut max = f32::NEG_INFINITY;
            for j in 0..len {
                let v = x.get(at(j)).copied().unwrap_or(0.0);
                if v > max {
                    max = v;
                }
            }
            let mut sum = 0.0f32;
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    let e = math::exp(v - max);
                    *out = e;
                    sum += e;
                }
            }
            let (ls, inv) = (math::ln(sum), 1.0 / sum);
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    *out = if log { v - max - ls } else { *out * inv };
                }
            }
        }
    }
}

/// Per-channel affine map `y = x · scale[c] + shift[c]` over `outer × len × inner`
/// with channels on the middle axis (inference BatchNormalization).
pub fn channel_affine_f32(p: &Axis, scale: &[f32], shift: &[f32], x: &[f32], y: &mut [f32]) {
    if scale.len() < p.len || shift.len() < p.len {
        return;
    }
    per_channel(p, x, y, |c, v| v * scale.get(c).copied().unwrap_or(0.0) + shift.get(c).copied().unwrap_or(0.0));
}

/// `y = f(channel, x)` over `outer × len × inner` with the channel on the middle axis:
/// the loop of every per-channel elementwise kernel (affine maps, quantisation).
#[inline(always)]
pub(crate) fn per_channel<X: Copy, Y>(p: &Axis, x: &[X], y: &mut [Y], f: impl Fn(usize, X) -> Y) {
    let inner = p.inner;
    for o in 0..p.outer {
        for c in 0..p.len {
            let s = (o * p.len + c) * inner;
            let (Some(xr), Some(yr)) = (x.get(s..s + inner), y.get_mut(s..s + inner)) else {
                return;
            };
            for (out, &v) in yr.iter_mut().zip(xr) {
                *out = f(c, v);
            }
        }
    }
}

/// Elements of the input and output of a reduction, or `None` when `p` is malformed.
pub(crate) fn reduce_lens(p: &Reduce) -> Option<(usize, usize)> {
    if p.rank == 0 || p.rank > MAX_RANK {
        return None;
    }
    let (mut n_in, mut n_out) = (1usize, 1usize);
    for d in 0..p.rank {
        n_in = n_in.checked_mul(p.shape[d])?;
        if !p.reduce[d] {
            n_out = n_out.checked_mul(p.shape[d])?;
        }
    }
    Some((n_in, n_out))
}

/// Calls `f(output index, input offsets of its reduced set)` for every output element:
/// the index arithmetic every reduction shares.
pub(crate) fn for_each_reduced_set(p: &Reduce, mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
    let rank = p.rank.min(MAX_RANK);
    let mut stride = [0usize; MAX_RANK];
    let mut s = 1usize;
    for d in (0..rank).rev() {
        stride[d] = s;
        s = s.wrapping_mul(p.shape[d]);
    }
    let (mut n_out, mut n_red) = (1usize, 1usize);
    for d in 0..rank {
        if p.reduce[d] {
            n_red = n_red.wrapping_mul(p.shape[d]);
        } else {
            n_out = n_out.wrapping_mul(p.shape[d]);
        }
    }
    let mut oi = [0usize; MAX_RANK];
    for o in 0..n_out {
        let base = dot(&oi, &stride, rank, 0);
        let mut ri = [0usize; MAX_RANK];
        let mut it = (0..n_red).map(|_| {
            let off = dot(&ri, &stride, rank, base);
            advance(&mut ri, p, true);
            off
        });
        f(o, &mut it);
        advance(&mut oi, p, false);
    }
}

/// `init + Σ idx[d]·stride[d]` over the first `rank` axes (wrapping).
#[inline(always)]
fn dot(idx: &[usize; MAX_RANK], stride: &[usize; MAX_RANK], rank: usize, init: usize) -> usize {
    idx.iter().zip(stride).take(rank).fold(init, |acc, (&i, &s)| acc.wrapping_add(i.wrapping_mul(s)))
}

/// Advances an odometer over the axes of `p` whose `reduce` flag equals `which`.
#[inline(always)]
fn advance(idx: &mut [usize; MAX_RANK], p: &Reduce, which: bool) {
    let rank = p.rank.min(MAX_RANK);
    for ((i, &n), &r) in idx.iter_mut().zip(&p.shape).zip(&p.reduce).take(rank).rev() {
        if r != which {
            continue;
        }
        *i += 1;
        if *i < n {
            return;
        }
        *i = 0;
    }
}

/// Reduces `x` over the axes `p` marks, writing one value per kept index to `y`.
pub fn reduce_f32(p: &Reduce, op: ReduceOp, x: &[f32], y: &mut [f32]) {
    let Some((n_in, n_out)) = reduce_lens(p) else { return };
    if x.len() < n_in || y.len() < n_out || n_in == 0 {
        return;
    }
    let count = (n_in / n_out.max(1)) as f32;
    for_each_reduced_set(p, |o, offsets| {
        let mut vals = offsets.filter_map(|i| x.get(i).copied());
        let v = match op {
            ReduceOp::Sum => vals.sum(),
            ReduceOp::Mean => vals.sum::<f32>() / count,
            ReduceOp::Max => extreme(&mut vals, f32::NEG_INFINITY, |v, m| v > m),
            ReduceOp::Min => extreme(&mut vals, f32::INFINITY, |v, m| v < m),
            ReduceOp::Prod => vals.product(),
            ReduceOp::L1 => vals.map(f32::abs).sum(),
            ReduceOp::L2 => math::sqrt(vals.map(|v| v * v).sum()),
            ReduceOp::LogSum => math::ln(vals.sum()),
            ReduceOp::SumSquare => vals.map(|v| v * v).sum(),
            ReduceOp::LogSumExp => {
                let all: &mut dyn Iterator<Item = f32> = &mut vals;
                log_sum_exp(all)
            }
        };
        if let Some(out) = y.get_mut(o) {
            *out = v;
        }
    });
}

/// The largest (or smallest) value by `better`; the first NaN wins.
fn extreme(vals: &mut dyn Iterator<Item = f32>, init: f32, better: impl Fn(f32, f32) -> bool) -> f32 {
    let mut m = init;
    for v in vals {
        if v.is_nan() {
            return v;
        }
        if better(v, m) {
            m = v;
        }
    }
    m
}

/// ln Σ eˣ in one pass, rescaling the running sum whenever the maximum grows.
fn log_sum_exp(vals: &mut dyn Iterator<Item = f32>) -> f32 {
    let (mut max, mut sum) = (f32::NEG_INFINITY, 0.0f32);
    for v in vals {
        if v.is_nan() {
            return v;
        }
        if v > max {
            sum = if max == f32::NEG_INFINITY { 0.0 } else { sum * math::exp(max - v) };
            max = v;
        }
        sum += if max == f32::NEG_INFINITY { 0.0 } else { math::exp(v - max) };
    }
    if max.is_infinite() {
        return max;
    }
    max + math::ln(sum)
}

/// Index of the largest (`max`) or smallest element along the middle axis of
/// `outer × len × inner`, the first one unless `last`; NaN counts as the extreme.
pub fn arg_reduce_f32(p: &Axis, max: bool, last: bool, x: &[f32], y: &mut [i64]) {
    let Some(n) = p.outer.checked_mul(p.len).and_then(|v| v.checked_mul(p.inner)) else { return };
    if p.len == 0 || x.len() < n || y.len() < p.outer * p.inner {
        return;
    }
    for o in 0..p.outer {
        for i in 0..p.inner {
            let mut best = 0usize;
            let mut bv = x.get(o * p.len * p.inner + i).copied().unwrap_or(0.0);
            for j in 1..p.len {
                let v = x.get((o * p.len + j) * p.inner + i).copied().unwrap_or(0.0);
                let better = if bv.is_nan() {
                    last && v.is_nan()
                } else if v.is_nan() {
                    true
                } else if max {
                    v > bv || (last && v == bv)
                } else {
                    v < bv || (last && v == bv)
                };
                if better {
                    best = j;
                    bv = v;
                }
            }
            if let Some(out) = y.get_mut(o * p.inner + i) {
                *out = best as i64;
            }
        }
    }
}

/// Layer normalisation of each row of `outer × inner`: `y = (x − mean) / √(var + ε) ·
/// scale + bias` (RMS: `y = x / √(mean(x²) + ε) · scale`). `scale` and `bias` hold
/// `inner` elements or one; `bias` may be empty. `mean` and `inv_std` receive the
/// per-row statistics when they are not empty.
#[allow(clippy::too_many_arguments)]
pub fn layer_norm_f32(
    p: &LayerNorm,
    x: &[f32],
    scale: &[f32],
    bias: &[f32],
    y: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
) {
    let Some(n) = p.outer.checked_mul(p.inner) else { return };
    let fits = |v: &[f32], empty_ok: bool| v.len() >= p.inner || v.len() == 1 || (empty_ok && v.is_empty());
    if p.inner == 0
        || x.len() < n
        || y.len() < n
        || !fits(scale, false)
        || !fits(bias, true)
        || !(mean.is_empty() || mean.len() >= p.outer)
        || !(inv_std.is_empty() || inv_std.len() >= p.outer)
    {
        return;
    }
    let at = |v: &[f32], j: usize| if v.len() == 1 { v.first().copied() } else { v.get(j).copied() };
    for r in 0..p.outer {
        let span = r * p.inner..(r + 1) * p.inner;
        let (Some(xr), Some(yr)) = (x.get(span.clone()), y.get_mut(span)) else { return };
        let m = if p.rms { 0.0 } else { xr.iter().sum::<f32>() / p.inner as f32 };
        let var = xr.iter().map(|&v| (v - m) * (v - m)).sum::<f32>() / p.inner as f32;
        let inv = 1.0 / math::sqrt(var + p.epsilon);
        for (j, (o, &v)) in yr.iter_mut().zip(xr).enumerate() {
            *o = (v - m) * inv * at(scale, j).unwrap_or(1.0) + at(bias, j).unwrap_or(0.0);
        }
        if let Some(o) = mean.get_mut(r) {
            *o = m;
        }
        if let Some(o) = inv_std.get_mut(r) {
            *o = inv;
        }
    }
}

/// Negative log-likelihood loss (see [`Nll`]): `loss = −w[t]·x[n, t, i]` per element
/// with target `t`, combined by `p.reduction`. `weight` holds one value per class or
/// is empty (all 1). With `p.softmax`, `x` is first replaced by its log-softmax over
/// the classes, which is also written to `log_prob` when that is not empty. Targets
/// out of range contribute nothing.
pub fn nll_loss<I: Scalar>(p: &Nll, x: &[f32], target: &[I], weight: &[f32], y: &mut [f32], log_prob: &mut [f32]) {
    let Some(total) = p.n.checked_mul(p.classes).and_then(|v| v.checked_mul(p.inner)) else { return };
    let outs = if p.reduction == LossReduction::None { p.n * p.inner } else { 1 };
    if p.classes == 0
        || x.len() < total
        || target.len() < p.n * p.inner
        || !(weight.is_empty() || weight.len() >= p.classes)
        || y.len() < outs
        || !(log_prob.is_empty() || log_prob.len() >= total)
    {
        return;
    }
    let (mut sum, mut wsum) = (0.0f32, 0.0f32);
    for b in 0..p.n {
        for i in 0..p.inner {
            let at = |c: usize| (b * p.classes + c) * p.inner + i;
            let lse = if p.softmax {
                let max = (0..p.classes).filter_map(|c| x.get(at(c)).copied()).fold(f32::NEG_INFINITY, f32::max);
                let s: f32 = (0..p.classes).filter_map(|c| x.get(at(c))).map(|&v| math::exp(v - max)).sum();
                let lse = max + math::ln(s);
                for c in 0..p.classes {
                    if let (Some(o), Some(&v)) = (log_prob.get_mut(at(c)), x.get(at(c))) {
                        *o = v - lse;
                    }
                }
                lse
            } else {
                0.0
            };
            let t = target.get(b * p.inner + i).map_or(-1, |t| t.to_i64());
            let (loss, w) = if Some(t) == p.ignore_index || t < 0 || t as usize >= p.classes {
                (0.0, 0.0)
            } else {
                let w = weight.get(t as usize).copied().unwrap_or(1.0);
                (-(x.get(at(t as usize)).copied().unwrap_or(0.0) - lse) * w, w)
            };
            if p.reduction == LossReduction::None {
                if let Some(o) = y.get_mut(b * p.inner + i) {
                    *o = loss;
                }
            }
            sum += loss;
            wsum += w;
        }
    }
    if let (LossReduction::Sum | LossReduction::Mean, Some(o)) = (p.reduction, y.first_mut()) {
        *o = if p.reduction == LossReduction::Sum { sum } else { sum / wsum };
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    #[test]
    fn softmax_along_inner_strided_axis() {
        // shape [1, 3, 2], softmax over axis 1.
        let x = [1.0f32, 0.0, 2.0, 0.0, 3.0, 0.0];
        let mut y = [0.0f32; 6];
        softmax_f32(&Axis { outer: 1, len: 3, inner: 2 }, &x, &mut y);
        let d: f32 = 1f32.exp() + 2f32.exp() + 3f32.exp();
        assert!((y[4] - 3f32.exp() / d).abs() < 1e-6);
        assert!((y[1] - 1.0 / 3.0).abs() < 1e-6);
        log_softmax_f32(&Axis { outer: 1, len: 3, inner: 2 }, &x, &mut y);
        assert!((y[0] - (1.0 - d.ln())).abs() < 1e-6);
    }

    #[test]
    fn channel_affine() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let mut y = [0.0f32; 4];
        channel_affine_f32(&Axis { outer: 1, len: 2, inner: 2 }, &[2.0, 3.0], &[1.0, -1.0], &x, &mut y);
        assert_eq!(y, [3.0, 5.0, 8.0, 11.0]);
    }

    /// Naive reduction of a [2, 3, 4] tensor over the axes in `mask`, in f64.
    fn naive(x: &[f32], mask: [bool; 3], op: ReduceOp) -> std::vec::Vec<f32> {
        let dims = [2usize, 3, 4];
        let mut out = Vec::new();
        let n = |d: usize| if mask[d] { 1 } else { dims[d] };
        for a in 0..n(0) {
            for b in 0..n(1) {
                for c in 0..n(2) {
                    let mut v: Vec<f64> = Vec::new();
                    for i in 0..2 {
                        for j in 0..3 {
                            for k in 0..4 {
                                let hit = (mask[0] || i == a) && (mask[1] || j == b) && (mask[2] || k == c);
                                if hit {
                                    v.push(x[(i * 3 + j) * 4 + k] as f64);
                                }
                            }
                        }
                    }
                    let s: f64 = v.iter().sum();
                    out.push(match op {
                        ReduceOp::Sum => s,
                        ReduceOp::Mean => s / v.len() as f64,
                        ReduceOp::Max => v.iter().cloned().fold(f64::MIN, f64::max),
                        ReduceOp::Min => v.iter().cloned().fold(f64::MAX, f64::min),
                        ReduceOp::Prod => v.iter().product(),
                        ReduceOp::L1 => v.iter().map(|x| x.abs()).sum(),
                        ReduceOp::L2 => v.iter().map(|x| x * x).sum::<f64>().sqrt(),
                        ReduceOp::LogSum => s.ln(),
                        ReduceOp::LogSumExp => v.iter().map(|x| x.exp()).sum::<f64>().ln(),
                        ReduceOp::SumSquare => v.iter().map(|x| x * x).sum(),
                    } as f32);
                }
            }
        }
        out
    }

    #[test]
    fn reductions_over_any_axes_match_a_naive_definition() {
        let x: [f32; 24] = core::array::from_fn(|i| ((i * 7) % 11) as f32 * 0.25 + 0.1);
        let ops = [
            ReduceOp::Sum,
            ReduceOp::Mean,
            ReduceOp::Max,
            ReduceOp::Min,
            ReduceOp::Prod,
            ReduceOp::L1,
            ReduceOp::L2,
            ReduceOp::LogSum,
            ReduceOp::LogSumExp,
            ReduceOp::SumSquare,
        ];
        for m in 1..8u8 {
            let mask = [m & 4 != 0, m & 2 != 0, m & 1 != 0];
            let p =
                Reduce { rank: 3, shape: [2, 3, 4, 0, 0, 0], reduce: [mask[0], mask[1], mask[2], false, false, false] };
            for op in ops {
                let want = naive(&x, mask, op);
                let mut y = [0.0f32; 24];
                reduce_f32(&p, op, &x, &mut y);
                for (i, w) in want.iter().enumerate() {
                    assert!((y[i] - w).abs() <= 1e-4 * w.abs().max(1.0), "{op:?} {mask:?} [{i}]: {} vs {w}", y[i]);
                }
            }
        }
        let mut y = [7.0f32; 2];
        reduce_f32(&Reduce { rank: 1, shape: [30, 0, 0, 0, 0, 0], reduce: [true; 6] }, ReduceOp::Sum, &x, &mut y);
        assert_eq!(y, [7.0; 2], "a too short input is a no-op");
    }

    #[test]
    fn arg_reductions_pick_first_or_last_extreme() {
        // [2, 3] along axis 1.
        let x = [1.0f32, 5.0, 5.0, 0.0, -1.0, 0.0];
        let p = Axis { outer: 2, len: 3, inner: 1 };
        let mut y = [0i64; 2];
        arg_reduce_f32(&p, true, false, &x, &mut y);
        assert_eq!(y, [1, 0]);
        arg_reduce_f32(&p, true, true, &x, &mut y);
        assert_eq!(y, [2, 2]);
        arg_reduce_f32(&p, false, false, &x, &mut y);
        assert_eq!(y, [0, 1]);
    }

    #[test]
    fn layer_norm_matches_its_definition() {
        let x: Vec<f32> = (0..12).map(|i| ((i * 5) % 7) as f32 - 2.5).collect();
        let scale = [0.5f32, 1.0, 2.0, -1.0];
        let bias = [0.0f32, 1.0, -1.0, 0.5];
        for rms in [false, true] {
            let p = LayerNorm { outer: 3, inner: 4, epsilon: 1e-5, rms };
            let (mut y, mut m, mut v) = ([0.0f32; 12], [0.0f32; 3], [0.0f32; 3]);
            layer_norm_f32(&p, &x, &scale, &bias, &mut y, &mut m, &mut v);
            for r in 0..3 {
                let row: Vec<f64> = x[r * 4..r * 4 + 4].iter().map(|&v| v as f64).collect();
                let mean = if rms { 0.0 } else { row.iter().sum::<f64>() / 4.0 };
                let var = row.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
                let inv = 1.0 / (var + 1e-5).sqrt();
                for j in 0..4 {
                    let want = (row[j] - mean) * inv * scale[j] as f64 + bias[j] as f64;
                    assert!((y[r * 4 + j] as f64 - want).abs() < 1e-5, "rms {rms} [{r},{j}]");
                }
                assert!((m[r] as f64 - mean).abs() < 1e-6 && (v[r] as f64 - inv).abs() < 1e-4 * inv);
            }
        }
        let mut y = [7.0f32; 12];
        layer_norm_f32(
            &LayerNorm { outer: 3, inner: 4, epsilon: 1e-5, rms: false },
            &x,
            &scale[..3],
            &[],
            &mut y,
            &mut [],
            &mut [],
        );
        assert_eq!(y, [7.0; 12], "a short scale is a no-op");
    }

    #[test]
    fn nll_loss_matches_its_definition() {
        // n = 2, classes = 3, inner = 2.
        let x: Vec<f32> = (0..12).map(|i| ((i * 7) % 5) as f32 * 0.5 - 1.0).collect();
        let target = [0i64, 2, 1, -100];
        let w = [1.0f32, 2.0, 0.5];
        let at = |b: usize, c: usize, i: usize| (b * 3 + c) * 2 + i;
        for softmax in [false, true] {
            let lp = |b: usize, c: usize, i: usize| -> f64 {
                if !softmax {
                    return x[at(b, c, i)] as f64;
                }
                let s: f64 = (0..3).map(|k| (x[at(b, k, i)] as f64).exp()).sum();
                x[at(b, c, i)] as f64 - s.ln()
            };
            let mut want = [0.0f64; 4];
            let (mut sum, mut wsum) = (0.0, 0.0);
            for b in 0..2 {
                for i in 0..2 {
                    let t = target[b * 2 + i];
                    if t != -100 {
                        want[b * 2 + i] = -lp(b, t as usize, i) * w[t as usize] as f64;
                        sum += want[b * 2 + i];
                        wsum += w[t as usize] as f64;
                    }
                }
            }
            let p = |reduction| Nll { n: 2, classes: 3, inner: 2, reduction, ignore_index: Some(-100), softmax };
            let (mut y, mut lpo) = ([0.0f32; 4], [0.0f32; 12]);
            nll_loss(&p(LossReduction::None), &x, &target, &w, &mut y, &mut lpo);
            for k in 0..4 {
                assert!((y[k] as f64 - want[k]).abs() < 1e-5, "softmax {softmax} [{k}]: {} vs {}", y[k], want[k]);
            }
            if softmax {
                assert!((lpo[at(1, 2, 1)] as f64 - lp(1, 2, 1)).abs() < 1e-5);
            }
            nll_loss(&p(LossReduction::Mean), &x, &target, &w, &mut y, &mut []);
            assert!((y[0] as f64 - sum / wsum).abs() < 1e-5);
            nll_loss(&p(LossReduction::Sum), &x, &target, &[], &mut y, &mut []);
            assert!(y[0].is_finite());
        }
    }
}
