//! The quantised fully-connected layer on the DSP extension: i8 activations and
//! weights, four output columns at a time against one row of activations widened to
//! 16-bit pairs once. The weights of two columns share each byte word
//! ([`pack::arm_dsp_gemm_weights`]: the even column as unsigned bytes, the odd one
//! signed), so one `smlad` on the raw word and one on its `uxtb16` give both columns'
//! sums — three instructions per four multiply-adds instead of four. The even
//! column's sum is recovered with the row's activation sum (`Σ x·(w + 128) − 128·Σ x`)
//! and the odd one from the difference (`256·Σ x·w`), exact while a stretch of at most
//! [`pack::ARM_DSP_GEMM_CHUNK`] groups of 4 inputs keeps that below 2^31. A long row
//! ([`pack::arm_dsp_gemm_sliced`]) is widened one slice of
//! [`pack::ARM_DSP_GEMM_SLICE`] inputs at a time, each slice run against every
//! column and added to the columns' running sums, so the scratch holds one slice
//! rather than the whole row. The compiler has already folded the input zero point
//! into the bias, as for the portable kernel; results are bit-identical to it.
//!
//! [`pack::arm_dsp_gemm_weights`]: crate::kernels::pack::arm_dsp_gemm_weights
//! [`pack::ARM_DSP_GEMM_CHUNK`]: crate::kernels::pack::ARM_DSP_GEMM_CHUNK
//! [`pack::arm_dsp_gemm_sliced`]: crate::kernels::pack::arm_dsp_gemm_sliced
//! [`pack::ARM_DSP_GEMM_SLICE`]: crate::kernels::pack::ARM_DSP_GEMM_SLICE

use super::insn::{gemm_pairs, requant4_full, sxtb16, sxtb16_ror8, word};
use super::requant::{self, Channel, Folded};
use crate::kernels::pack::{arm_dsp_gemm_rolled, arm_dsp_gemm_sliced, round_to, ARM_DSP_GEMM_SLICE, ARM_DSP_GEMM_STEP};
use crate::kernels::{Bias, Gemm};
use crate::quant::{QOut, Weight, Q8};

/// Quantised fully-connected layer `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// (one product, B transposed, bias per column), i8, `w` packed by
/// [`pack::arm_dsp_gemm_weights`](crate::kernels::pack::arm_dsp_gemm_weights),
/// `bias` padded to a multiple of four; `acc` scratch of
/// [`arm_dsp_gemm_scratch`](crate::kernels::pack::arm_dsp_gemm_scratch) words. Other
/// element types or layouts leave `y` untouched (the compiler never chooses this
/// kernel for them).
///
/// A layer [`arm_dsp_gemm_rolled`] names (under
/// [`ARM_DSP_GEMM_ROLLED_BELOW`](crate::kernels::pack::ARM_DSP_GEMM_ROLLED_BELOW)
/// MACs) takes its weights and bias as they are and runs the portable kernel's loops,
/// kept rolled ([`gemm_q8_rolled`]); any other runs [`gemm_q8_packed`]. Inlined, so
/// that the choice is made where the layer's constant shape is known and a model
/// links only the paths its layers take.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn gemm_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    if arm_dsp_gemm_rolled(p) {
        gemm_q8_rolled(p, out, mult, shift, a, w, bias, acc, y)
    } else {
        gemm_q8_packed(p, out, mult, shift, a, w, bias, acc, y)
    }
}

/// The portable kernel for a small layer, its shape passed through `black_box` so
/// that its loops stay rolled (with the shape known they would be unrolled, in
/// place or in a function called once).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn gemm_q8_rolled<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    crate::kernels::portable::gemm_q8(core::hint::black_box(p), out, mult, shift, a, w, bias, acc, y)
}

/// [`gemm_q8`]'s packed path for any layer, whatever its size (the kernel suite
/// checks it apart, on layers of every size): `w` packed by
/// [`pack::arm_dsp_gemm_weights`](crate::kernels::pack::arm_dsp_gemm_weights), `bias`
/// padded to a multiple of four, `acc` scratch of
/// [`arm_dsp_gemm_scratch`](crate::kernels::pack::arm_dsp_gemm_scratch) words of a
/// layer not rolled. Never inlined: a model's few fully-connected layers are a small
/// share of its work, and inlined into `run` with its shapes known each would be
/// unrolled into kilobytes of flash.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn gemm_q8_packed<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(a), Some(w), Some(y)) = (X::as_i8(a), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let (m, n, k) = (p.m, p.n, p.k);
    let k8 = round_to(k, ARM_DSP_GEMM_STEP);
    let blocks = n.div_ceil(4);
    if p.batch != 1
        || p.trans_a
        || !p.trans_b
        || p.bias != Bias::PerColumn
        || k == 0
        || a.len() < m * k
        || w.len() < blocks * 4 * k8
        || bias.len() < blocks * 4
        || y.len() < m * n
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    // Inputs widened at a time: the whole row, or one slice of it with every
    // column's running sum kept in scratch after the widened slice.
    let sliced = arm_dsp_gemm_sliced(p);
    let span = if sliced { ARM_DSP_GEMM_SLICE } else { k8 };
    let Some((cols, rest)) = acc.split_at_mut_checked(span / 2) else { return };
    let Some(tot) = rest.get_mut(..if sliced { 4 * blocks } else { 0 }) else { return };
    // The weights as words; the compiler aligns every weight to 16 bytes.
    let words = crate::arena::cast::<u32>(crate::arena::as_bytes(w));
    let Some(words) = words.get(..blocks * k8) else { return };
    // One requantisation for every column, or one per column.
    let per_column = mult.len() >= n && shift.len() >= n;
    let single =
        (!per_column).then(|| Channel::new(mult.first().copied().unwrap_or(0), shift.first().copied().unwrap_or(1)));
    let stage = Stage { single, folded: single.and_then(|ch| Folded::of(ch, out)), mult, shift, out };
    for i in 0..m {
        let Some(arow) = a.get(i * k..(i + 1) * k) else { return };
        let Some(yrow) = y.get_mut(i * n..(i + 1) * n) else { return };
        let (y4, y1) = yrow.as_chunks_mut::<4>();
        let outs = y4.iter_mut().map(|q| &mut q[..]).chain(core::iter::once(y1));
        if !sliced {
            let s128 = widen(arow, cols);
            for (b, (bb, yq)) in bias.as_chunks::<4>().0.iter().zip(outs).enumerate().take(blocks) {
                // SAFETY: `cols` holds `k8 / 2` words; the block's weights start at
                // word `b·k8 < blocks·k8 ≤ words.len()` and span `k8` words; `k8 ≥ 8`
                // is a multiple of 8, so `k8 / 8 ≥ 1` iterations reading 4 and 8 words.
                let pairs =
                    unsafe { gemm_pairs(cols.as_ptr().cast(), words.as_ptr().wrapping_add(b * k8), k8 / 8, [0; 4]) };
                stage.store(b, settle(*bb, pairs, s128), yq);
            }
            continue;
        }
        tot.iter_mut().zip(bias).for_each(|(t, &v)| *t = v);
        // Slice by slice: `x0` and `len` are multiples of 8 (as `k8` and the slice are).
        let mut x0 = 0;
        while x0 < k8 {
            let len = (k8 - x0).min(span);
            let s128 = widen(arow.get(x0..k.min(x0 + len)).unwrap_or(&[]), cols);
            let Some(c) = cols.get(..len / 2) else { return };
            for (b, t) in tot.as_chunks_mut::<4>().0.iter_mut().enumerate() {
                // Per group of 4 inputs, 4 words of a block's weights.
                let Some(wc) = words.get(b * k8 + x0..b * k8 + x0 + len) else { return };
                // SAFETY: `c` holds `len / 2` words and `wc` `len`, word-aligned;
                // `len / 8 ≥ 1` iterations read 4 and 8 words each.
                let pairs = unsafe { gemm_pairs(c.as_ptr().cast(), wc.as_ptr(), len / 8, [0; 4]) };
                *t = settle(*t, pairs, s128);
            }
            x0 += len;
        }
        for (b, (t, yq)) in tot.as_chunks::<4>().0.iter().zip(outs).enumerate() {
            stage.store(b, *t, yq);
        }
    }
}

/// Widens `x` into `cols` — per 4 inputs, the pairs `(x0, x2)` and `(x1, x3)`, a short
/// last group zero-padded, the words past the input zero — and returns `128 · Σ x`.
#[inline(always)]
fn widen(x: &[i8], cols: &mut [i32]) -> i32 {
    let (full, rest) = x.as_chunks::<4>();
    let mut tail = [0i8; 4];
    tail.iter_mut().zip(rest).for_each(|(t, &v)| *t = v);
    let groups_in = full.iter().chain(core::iter::once(&tail).take(usize::from(!rest.is_empty())));
    let mut used = 0;
    for (c, g) in cols.as_chunks_mut::<2>().0.iter_mut().zip(groups_in) {
        let v = word(g);
        *c = [sxtb16(v) as i32, sxtb16_ror8(v) as i32];
        used += 2;
    }
    cols.iter_mut().skip(used).for_each(|c| *c = 0);
    x.iter().map(|&v| v as i32).sum::<i32>() << 7
}

/// Adds one exact stretch of [`gemm_pairs`]' paired sums `[e0, r0, e1, r1]` to four
/// columns' sums `s`: the even columns' `e − 128·Σ x`, the odd ones' `(r − e) / 256`.
#[inline(always)]
fn settle(s: [i32; 4], [e0, r0, e1, r1]: [i32; 4], s128: i32) -> [i32; 4] {
    [
        s[0].wrapping_add(e0.wrapping_sub(s128)),
        s[1].wrapping_add(r0.wrapping_sub(e0) >> 8),
        s[2].wrapping_add(e1.wrapping_sub(s128)),
        s[3].wrapping_add(r1.wrapping_sub(e1) >> 8),
    ]
}

/// The output stage: one requantisation for every column (folded into the short
/// form when it allows) or one per column.
struct Stage<'a> {
    single: Option<Channel>,
    folded: Option<Folded>,
    mult: &'a [i32],
    shift: &'a [i32],
    out: &'a QOut,
}

impl Stage<'_> {
    /// Requantises block `b`'s four sums `s` into `yq` (4 outputs, fewer in a short last block).
    #[inline(always)]
    fn store(&self, b: usize, s: [i32; 4], yq: &mut [i8]) {
        if let (Some(f), Ok(y4)) = (self.folded, <&mut [i8; 4]>::try_from(&mut *yq)) {
            requant4_full(s, f.mult, f.rnd, f.t, y4);
            return;
        }
        for (jj, (o, &v)) in yq.iter_mut().zip(s.iter()).enumerate() {
            let ch = match self.single {
                Some(ch) => ch,
                None => Channel::new(
                    self.mult.get(4 * b + jj).copied().unwrap_or(0),
                    self.shift.get(4 * b + jj).copied().unwrap_or(1),
                ),
            };
            *o = requant::general(v, ch, self.out);
        }
    }
}
