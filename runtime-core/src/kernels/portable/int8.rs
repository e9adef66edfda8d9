//! Integer kernels for 8-bit quantised tensors: i8 or u8 activations, i8 weights
//! (already shifted by their zero point; i16 when the shift leaves the i8 range), i32
//! accumulation and bias, fixed-point requantisation with a fused clamp in the output
//! stage.

use super::copy::map_strided;
use super::elementwise::broadcast_map;
use super::reduce::per_channel;
use crate::kernels::{Axis, Broadcast, Gemm, QAdd, QMul, Strided};
use crate::quant::{quantize, requantize, round_shift, QOut, Weight, Q8};

/// Quantised fully-connected layer: `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// with `w` stored `n × k` and the input zero point already folded into `bias`
/// (`bias[j] −= a_zp · Σ_k w[j, k]` at compile time). Per-column or single multiplier.
#[allow(clippy::too_many_arguments)]
pub fn gemm_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    _acc: &mut [i32],
    y: &mut [Y],
) {
    if bias.len() < p.n || mult.is_empty() || shift.is_empty() {
        return;
    }
    let per_col = mult.len() >= p.n && shift.len() >= p.n;
    fully_connected(p, 0, a, w, bias, y, |j, acc| {
        let c = if per_col { j } else { 0 };
        let (m, s) = (mult.get(c).copied().unwrap_or(0), shift.get(c).copied().unwrap_or(1));
        Y::from_i32(out.finish(requantize(acc, m, s as u32)))
    });
}

/// MatMulInteger / raw accumulators: `y[i, j] = bias[j] + Σ_k (a[i, k] − a_zp) · w[j, k]`.
pub fn gemm_q8_i32<X: Q8, W: Weight>(p: &Gemm, a_zp: i32, a: &[X], w: &[W], bias: &[i32], y: &mut [i32]) {
    fully_connected(p, a_zp, a, w, bias, y, |_, acc| acc);
}

/// The loop both FC kernels share: `y[i, j] = out(j, bias[j] + Σ_k (a[i, k] − a_zp) · w[j, k])`.
#[inline(always)]
fn fully_connected<X: Q8, W: Weight, Y>(
    p: &Gemm,
    a_zp: i32,
    a: &[X],
    w: &[W],
    bias: &[i32],
    y: &mut [Y],
    out: impl Fn(usize, i32) -> Y,
) {
    let (m, n, k) = (p.m, p.n, p.k);
    if a.len() < m * k || w.len() < n * k || y.len() < m * n {
        return;
    }
    for i in 0..m {
        let (Some(arow), Some(yrow)) = (a.get(i * k..(i + 1) * k), y.get_mut(i * n..(i + 1) * n)) else {
            return;
        };
        for (j, o) in yrow.iter_mut().enumerate() {
            let Some(wrow) = w.get(j * k..(j + 1) * k) else {
                return;
            };
            let mut acc = bias.get(j).copied().unwrap_or(0);
            for (&av, &wv) in arow.iter().zip(wrow) {
                acc += (av.to_i32() - a_zp) * wv.into();
            }
            *o = out(j, acc);
        }
    }
}

/// Quantised elementwise add with broadcasting. Operands of the result's own shape
/// as one row (`Broadcast::flat`: how an in-place add is called, chunk by chunk) take
/// [`add_q8_flat`]; on bare-metal targets the choice is inlined, so that it is made
/// where the broadcast is known.
#[cfg_attr(target_os = "none", inline(always))]
pub fn add_q8<A: Q8, B: Q8, Y: Q8>(p: &Broadcast, q: &QAdd, out: &QOut, a: &[A], b: &[B], y: &mut [Y]) {
    if p.rank == 1 && p.a[0] == 1 && p.b[0] == 1 {
        return add_q8_flat(p.shape[0], q, out, a, b, y);
    }
    broadcast_map(p, a, b, y, |x, z| add_one(q, out, x, z));
}

/// [`add_q8`] of `n` elements of operands of the result's shape. On bare-metal
/// targets never inlined, so that a model's adds share one copy (ResNet-8's three
/// residual adds, each inlined with its constants: about 700 bytes of code apiece on
/// a Cortex-M4), for a call per chunk of an in-place add; hosts inline it.
#[cfg_attr(target_os = "none", inline(never))]
fn add_q8_flat<A: Q8, B: Q8, Y: Q8>(n: usize, q: &QAdd, out: &QOut, a: &[A], b: &[B], y: &mut [Y]) {
    let (Some(a), Some(b), Some(y)) = (a.get(..n), b.get(..n), y.get_mut(..n)) else { return };
    for ((v, &x), &z) in y.iter_mut().zip(a).zip(b) {
        *v = add_one(q, out, x, z);
    }
}

/// One element of [`add_q8`].
#[inline(always)]
fn add_one<A: Q8, B: Q8, Y: Q8>(q: &QAdd, out: &QOut, x: A, z: B) -> Y {
    let s = (x.to_i32() - q.a_zp) as i64 * q.a_mult as i64 + (z.to_i32() - q.b_zp) as i64 * q.b_mult as i64;
    let v = round_shift(s, q.shift).clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    Y::from_i32(out.finish(v))
}

/// Quantised elementwise multiply with broadcasting.
pub fn mul_q8<A: Q8, B: Q8, Y: Q8>(p: &Broadcast, q: &QMul, out: &QOut, a: &[A], b: &[B], y: &mut [Y]) {
    broadcast_map(p, a, b, y, |x, z| {
        let prod = (x.to_i32() - q.a_zp) * (z.to_i32() - q.b_zp);
        Y::from_i32(out.finish(requantize(prod, q.mult, q.shift)))
    });
}

/// Quantised softmax along the middle axis of `outer × len × inner`.
/// `exp_table[d] = round(2^20 · e^(−d · sx))` for `d = max − x` in 0..=255, without
/// its trailing zeros if it likes (an entry past its end reads as zero);
/// `inv_scale_q16 = round(2^16 / sy)`. `y = zp + round(E[d] / (Σ E · sy))`.
///
/// Written for flash, not speed: it runs once per inference over a classifier's few
/// outputs. Never inlined, and its loops kept rolled: the shape passes through
/// `black_box` (with it known, the loops would be unrolled, inlined or not: constants
/// reach a function called once) and so does each element's index (a loop with an
/// opaque step is not unrolled at run time either, which Cortex-M targets otherwise
/// do). ResNet-8's ten classes on a Cortex-M4: 1,200 bytes of code before.
#[inline(never)]
pub fn softmax_q8<X: Q8, Y: Q8>(p: &Axis, exp_table: &[u32], inv_scale_q16: u32, out: &QOut, x: &[X], y: &mut [Y]) {
    let (outer, len, inner) = core::hint::black_box((p.outer, p.len, p.inner));
    let n = outer * len * inner;
    if len == 0 || inner == 0 || x.len() < n || y.len() < n || exp_table.is_empty() {
        return;
    }
    let e = |d: i32| exp_table.get(d.clamp(0, 255) as usize).copied().unwrap_or(0) as u64;
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let q = |j: usize| x.get(at(j)).map_or(X::MIN, |v| v.to_i32());
            let mut max = i32::MIN;
            for j in 0..len {
                max = max.max(q(core::hint::black_box(j)));
            }
            let mut sum = 0u64;
            for j in 0..len {
                sum += e(max - q(core::hint::black_box(j)));
            }
            let den = sum.max(1).saturating_mul(1 << 16);
            for j in 0..len {
                let j = core::hint::black_box(j);
                if let Some(out_v) = y.get_mut(at(j)) {
                    let num = e(max - q(j)) * inv_scale_q16 as u64;
                    let v = crate::quant::div_u64(num.saturating_add(den / 2), den).min(i32::MAX as u64) as i32;
                    *out_v = Y::from_i32(out.finish(v));
                }
            }
        }
    }
}

/// `y = table[x − X::MIN]`: any elementwise function of one 8-bit input, precomputed
/// at compile time (sigmoid, tanh, leaky ReLU, requantisation, …).
pub fn lookup_q8<X: Q8, Y: Q8>(table: &[Y], x: &[X], y: &mut [Y]) {
    if table.len() < (X::MAX - X::MIN + 1) as usize {
        return;
    }
    for (o, &v) in y.iter_mut().zip(x) {
        if let Some(&t) = table.get((v.to_i32() - X::MIN) as usize) {
            *o = t;
        }
    }
}

/// QuantizeLinear over `outer × len × inner` with one scale/zero point per index of
/// the middle axis (`len = 1` for per-tensor).
pub fn quantize_f32<Y: Q8>(p: &Axis, scale: &[f32], zp: &[i32], x: &[f32], y: &mut [Y]) {
    if scale.len() < p.len || zp.len() < p.len {
        return;
    }
    per_channel(p, x, y, |c, v| quantize(v, scale.get(c).copied().unwrap_or(1.0), zp.get(c).copied().unwrap_or(0)));
}

/// QuantizeLinear written through a strided copy (see [`Strided`]): `y[d] =
/// quantize(x[s])` for every (destination, source) pair of `p`, with the scale and zero
/// point of the destination's channel, `d` read as `outer × len × inner` by `q` (`len
/// = 1` for per tensor). A transpose fused with the quantisation before it, so the
/// quantised tensor in the source's order never exists.
pub fn quantize_strided_f32<Y: Q8>(p: &Strided, q: &Axis, scale: &[f32], zp: &[i32], x: &[f32], y: &mut [Y]) {
    if scale.len() < q.len || zp.len() < q.len {
        return;
    }
    let (len, inner) = (q.len.max(1), q.inner.max(1));
    map_strided(p, x, y, |d, v| {
        let c = if len > 1 { (d / inner) % len } else { 0 };
        quantize(v, scale.get(c).copied().unwrap_or(1.0), zp.get(c).copied().unwrap_or(0))
    });
}

/// DequantizeLinear over `outer × len × inner` (see [`quantize_f32`]).
pub fn dequantize_f32<X: Q8>(p: &Axis, scale: &[f32], zp: &[i32], x: &[X], y: &mut [f32]) {
    if scale.len() < p.len || zp.len() < p.len {
        return;
    }
    per_channel(p, x, y, |c, v| {
        (v.to_i32() - zp.get(c).copied().unwrap_or(0)) as f32 * scale.get(c).copied().unwrap_or(0.0)
    });
}

/// DequantizeLinear of i32 values (accumulators of ConvInteger/MatMulInteger).
pub fn dequantize_i32(p: &Axis, scale: &[f32], x: &[i32], y: &mut [f32]) {
    if scale.len() < p.len {
        return;
    }
    per_channel(p, x, y, |c, v| v as f32 * scale.get(c).copied().unwrap_or(0.0));
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    fn out_i8() -> QOut {
        QOut { zp: 0, min: -128, max: 127 }
    }

    #[test]
    fn gemm_requantises_per_column_and_clamps() {
        let p = Gemm {
            batch: 1,
            m: 1,
            n: 2,
            k: 3,
            trans_a: false,
            trans_b: true,
            batch_stride_a: 0,
            batch_stride_b: 0,
            alpha: 1.0,
            beta: 1.0,
            bias: crate::kernels::Bias::PerColumn,
        };
        let a = [1i8, 2, 3];
        let w = [1i8, 1, 1, 10, 10, 10];
        let mut y = [0i8; 2];
        // column 0: 6 × 0.5 = 3; column 1: 60 × 4 = 240 → clamp 127.
        conv_free_gemm(&p, &a, &w, &mut y);
        assert_eq!(y, [3, 127]);
        let mut raw = [0i32; 2];
        gemm_q8_i32(&p, 1, &a, &w, &[0, 0], &mut raw);
        assert_eq!(raw, [3, 30]);
    }

    fn conv_free_gemm(p: &Gemm, a: &[i8], w: &[i8], y: &mut [i8]) {
        gemm_q8(p, &out_i8(), &[1 << 30, 1 << 30], &[31, 28], a, w, &[0, 0], &mut [], y);
    }

    #[test]
    fn add_and_mul_requantise_with_one_rounding() {
        let p = Broadcast { rank: 1, shape: [3, 0, 0, 0, 0, 0], a: [1, 0, 0, 0, 0, 0], b: [0, 0, 0, 0, 0, 0] };
        // y = (a − 1)·0.5 + (b − 0)·0.25 with b broadcast = 4 → +1.
        let q = QAdd { a_zp: 1, b_zp: 0, a_mult: 1 << 29, b_mult: 1 << 28, shift: 30 };
        let mut y = [0u8; 3];
        add_q8(&p, &q, &QOut { zp: 10, min: 0, max: 255 }, &[1i8, 2, 4], &[4i8], &mut y);
        assert_eq!(y, [11, 12, 13]); // 10 + {0+1, 0.5+1 → 2 (half up), 1.5+1 → 3}
        let qm = QMul { a_zp: 0, b_zp: 0, mult: 1 << 30, shift: 31 };
        let mut z = [0i8; 3];
        mul_q8(&p, &qm, &out_i8(), &[1i8, -3, 100], &[3i8], &mut z);
        assert_eq!(z, [2, -4, 127]); // 1.5 → 2, −4.5 → −4 (half up), 150 → clamp
    }

    #[test]
    fn softmax_requantises_through_the_exponential_table() {
        let mut table = vec![0u32; 256];
        for (d, t) in table.iter_mut().enumerate() {
            *t = ((1u64 << 20) as f64 * (-(d as f64) * 0.1).exp()).round() as u32;
        }
        let xs = [10i8, 0, 10];
        let mut ys = [0i8; 3];
        softmax_q8(
            &Axis { outer: 1, len: 3, inner: 1 },
            &table,
            256 << 16,
            &QOut { zp: -128, min: -128, max: 127 },
            &xs,
            &mut ys,
        );
        // e^0 / (2 + e^-1) · 256 = 107.8 → 108 − 128 = −20; e^-1/(…)·256 = 39.7 → 40 − 128.
        assert_eq!(ys, [-20, -88, -20]);
    }

    #[test]
    fn lookup_and_conversions() {
        let table: std::vec::Vec<i8> = (0..256).map(|i| (255 - i) as u8 as i8).collect();
        let mut y = [0i8; 2];
        lookup_q8(&table, &[-128i8, 127], &mut y);
        assert_eq!(y, [-1, 0]);
        let mut q = [0i8; 3];
        quantize_f32(&Axis { outer: 1, len: 1, inner: 3 }, &[0.5], &[1], &[0.25, -1.0, 100.0], &mut q);
        assert_eq!(q, [1, -1, 127]);
        let mut f = [0f32; 3];
        dequantize_f32(&Axis { outer: 1, len: 1, inner: 3 }, &[0.5], &[1], &q, &mut f);
        assert_eq!(f, [0.0, -1.0, 63.0]);
    }
}
