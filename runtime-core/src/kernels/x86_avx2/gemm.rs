//! Float GEMM for fully-connected layers (`A` stored `m × k`, `B` `k × n`, as ONNX's
//! Gemm and MatMul give them): each row of the result in blocks of 64 columns, eight
//! vectors of accumulators over the whole inner dimension, `B`'s rows read once each
//! in order. Other layouts and scalings go to the portable twin.
//!
//! A `-C target-cpu=x86-64-v4` build auto-vectorises the portable kernel with 512-bit
//! vectors, which ran the autoencoder's layers (batch 1, 128–640 wide) twice as slowly
//! on an AMD Zen 4 (14.6 → 28.6 µs); this one keeps to 256-bit vectors on both x86
//! targets.

use super::conv::clamp8;
use crate::kernels::{portable, Bias, Clamp, Gemm};
use core::arch::x86_64::*;

/// Columns of one block: eight vectors of accumulators.
const BLOCK: usize = 64;

/// Float (batched) GEMM with the portable twin's signature and results within
/// rounding (fused multiply-adds); the plain layout (`alpha = beta = 1`, no
/// transposes, no bias or one per column) is vectorised, everything else is the twin.
pub fn gemm_f32(p: &Gemm, act: Clamp, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32]) {
    let plain =
        !p.trans_a && !p.trans_b && p.alpha == 1.0 && p.beta == 1.0 && matches!(p.bias, Bias::None | Bias::PerColumn);
    if !plain {
        return portable::gemm_f32(p, act, a, b, c, y);
    }
    let (m, n, k) = (p.m, p.n, p.k);
    let a_last = p.batch.saturating_sub(1) * p.batch_stride_a + m * k;
    let b_last = p.batch.saturating_sub(1) * p.batch_stride_b + k * n;
    if p.batch == 0 || a.len() < a_last || b.len() < b_last || c.len() < p.bias_len() || y.len() < p.batch * m * n {
        return;
    }
    let bias = match p.bias {
        Bias::PerColumn => Some(c),
        _ => None,
    };
    // SAFETY: the clamp bounds are plain values.
    let (lo, hi) = unsafe { (_mm256_set1_ps(act.min), _mm256_set1_ps(act.max)) };
    for t in 0..p.batch {
        let (Some(a), Some(b)) = (
            a.get(t * p.batch_stride_a..t * p.batch_stride_a + m * k),
            b.get(t * p.batch_stride_b..t * p.batch_stride_b + k * n),
        ) else {
            return;
        };
        for i in 0..m {
            let (Some(x), Some(row)) = (a.get(i * k..(i + 1) * k), y.get_mut((t * m + i) * n..(t * m + i + 1) * n))
            else {
                return;
            };
            let mut j = 0;
            while j + BLOCK <= n {
                // SAFETY: columns `j..j + 64` exist in `row`, in every row of `b` (`k × n`)
                // and in the bias (`n`, checked on entry).
                unsafe { block::<8>(x, b, bias, n, j, row, act, lo, hi) };
                j += BLOCK;
            }
            while j + 8 <= n {
                // SAFETY: as above, for 8 columns.
                unsafe { block::<1>(x, b, bias, n, j, row, act, lo, hi) };
                j += 8;
            }
            for (jj, v) in row.iter_mut().enumerate().skip(j) {
                let mut s = bias.and_then(|c| c.get(jj)).copied().unwrap_or(0.0);
                for (kk, &xv) in x.iter().enumerate() {
                    s += xv * b.get(kk * n + jj).copied().unwrap_or(0.0);
                }
                *v = act.apply(s);
            }
        }
    }
}

/// Columns `j..j + 8V` of one result row: `Σ_k x[k] · b[k][j..]` from the bias, then
/// the clamp.
///
/// # Safety
/// `row`, every row of `b` (`x.len()` rows of `n`) and `bias` (when given) must hold
/// columns `j..j + 8V`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn block<const V: usize>(
    x: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    j: usize,
    row: &mut [f32],
    act: Clamp,
    lo: __m256,
    hi: __m256,
) {
    unsafe {
        let mut acc = [_mm256_setzero_ps(); V];
        if let Some(c) = bias {
            for (v, r) in acc.iter_mut().enumerate() {
                *r = _mm256_loadu_ps(c.as_ptr().add(j + 8 * v));
            }
        }
        let mut bp = b.as_ptr().add(j);
        for &xv in x {
            let xb = _mm256_set1_ps(xv);
            for (v, r) in acc.iter_mut().enumerate() {
                *r = _mm256_fmadd_ps(xb, _mm256_loadu_ps(bp.add(8 * v)), *r);
            }
            bp = bp.add(n);
        }
        let clamp = act != Clamp::NONE;
        for (v, r) in acc.iter().enumerate() {
            let out = if clamp { clamp8(*r, lo, hi) } else { *r };
            _mm256_storeu_ps(row.as_mut_ptr().add(j + 8 * v), out);
        }
    }
}
