//! The quantised fully-connected layer on the DSP extension: i8 activations and
//! weights, four output columns at a time against one row of activations widened to
//! 16-bit pairs once. The weights of two columns share each byte word
//! ([`pack::arm_dsp_gemm_weights`]: the even column as unsigned bytes, the odd one
//! signed), so one `smlad` on the raw word and one on its `uxtb16` give both columns'
//! sums — three instructions per four multiply-adds instead of four. The even
//! column's sum is recovered with the row's activation sum (`Σ x·(w + 128) − 128·Σ x`)
//! and the odd one from the difference (`256·Σ x·w`), exact while a chunk of at most
//! [`ARM_DSP_GEMM_CHUNK`] groups of 4 inputs keeps that below 2^31. The compiler has
//! already folded the input zero point into the bias, as for the portable kernel;
//! results are bit-identical to it.
//!
//! [`pack::arm_dsp_gemm_weights`]: crate::kernels::pack::arm_dsp_gemm_weights

use super::insn::{gemm_pairs, requant4_full, sxtb16, sxtb16_ror8, word};
use super::requant::{self, Channel, Folded};
use crate::kernels::pack::{round_to, ARM_DSP_GEMM_CHUNK, ARM_DSP_GEMM_STEP};
use crate::kernels::{Bias, Gemm};
use crate::quant::{QOut, Weight, Q8};

/// Quantised fully-connected layer `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// (one product, B transposed, bias per column), i8, `w` packed by
/// [`pack::arm_dsp_gemm_weights`](crate::kernels::pack::arm_dsp_gemm_weights),
/// `bias` padded to a multiple of four; `acc` scratch of
/// [`arm_dsp_gemm_scratch`](crate::kernels::pack::arm_dsp_gemm_scratch) words. Other
/// element types or layouts leave `y` untouched (the compiler never chooses this
/// kernel for them). Never inlined: a model's few fully-connected layers are a small
/// share of its work, and inlined into `run` with its shapes known each would be
/// unrolled into kilobytes of flash.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
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
    let (Some(a), Some(w), Some(y)) = (X::as_i8(a), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let (m, n, k) = (p.m, p.n, p.k);
    let k8 = round_to(k, ARM_DSP_GEMM_STEP);
    let groups = k8 / 4;
    let blocks = n.div_ceil(4);
    let chunks = groups.div_ceil(ARM_DSP_GEMM_CHUNK);
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
    let Some((cols, sums)) = acc.split_at_mut_checked(k8 / 2) else { return };
    let Some(sums) = sums.get_mut(..chunks) else { return };
    // The weights as words; the compiler aligns every weight to 16 bytes.
    let words = crate::arena::cast::<u32>(crate::arena::as_bytes(w));
    let Some(words) = words.get(..blocks * k8) else { return };
    // One requantisation for every column, or one per column.
    let per_column = mult.len() >= n && shift.len() >= n;
    let single =
        (!per_column).then(|| Channel::new(mult.first().copied().unwrap_or(0), shift.first().copied().unwrap_or(1)));
    let folded = single.and_then(|ch| Folded::of(ch, out));
    for i in 0..m {
        let Some(arow) = a.get(i * k..(i + 1) * k) else { return };
        // Widen: per 4 inputs, (x0, x2) and (x1, x3); a short last group is zero-padded.
        let (full, rest) = arow.as_chunks::<4>();
        let mut tail = [0i8; 4];
        tail.iter_mut().zip(rest).for_each(|(t, &v)| *t = v);
        let groups_in = full.iter().chain(core::iter::once(&tail).take(usize::from(!rest.is_empty())));
        cols.iter_mut().for_each(|c| *c = 0);
        for (c, g) in cols.as_chunks_mut::<2>().0.iter_mut().zip(groups_in) {
            let v = word(g);
            *c = [sxtb16(v) as i32, sxtb16_ror8(v) as i32];
        }
        // 128 · Σ x per chunk of groups.
        // (Explicit ranges rather than `chunks`, whose iterator divides by its size.)
        const CHUNK_INPUTS: usize = 4 * ARM_DSP_GEMM_CHUNK;
        for (ci, s) in sums.iter_mut().enumerate() {
            let part = arow.get(ci * CHUNK_INPUTS..k.min((ci + 1) * CHUNK_INPUTS)).unwrap_or(&[]);
            *s = part.iter().map(|&v| v as i32).sum::<i32>() << 7;
        }
        let Some(yrow) = y.get_mut(i * n..(i + 1) * n) else { return };
        let (y4, y1) = yrow.as_chunks_mut::<4>();
        let outs = y4.iter_mut().map(|q| &mut q[..]).chain(core::iter::once(y1));
        for (b, (bb, yq)) in bias.as_chunks::<4>().0.iter().zip(outs).enumerate().take(blocks) {
            let mut s = *bb;
            if let [s128] = *sums {
                // One chunk (k ≤ 504, the common case): one call over every group.
                // SAFETY: `cols` holds `2·groups` words; the block's weights start at
                // word `b·k8 < blocks·k8 ≤ words.len()` and span `k8 = 4·groups`
                // words; `groups ≥ 2` is even, so `groups / 2 ≥ 1` iterations.
                let [e0, r0, e1, r1] = unsafe {
                    gemm_pairs(cols.as_ptr().cast(), words.as_ptr().wrapping_add(b * k8), groups / 2, [0; 4])
                };
                s[0] = s[0].wrapping_add(e0.wrapping_sub(s128));
                s[1] = s[1].wrapping_add(r0.wrapping_sub(e0) >> 8);
                s[2] = s[2].wrapping_add(e1.wrapping_sub(s128));
                s[3] = s[3].wrapping_add(r1.wrapping_sub(e1) >> 8);
            } else {
                let Some(wb) = words.get(b * k8..(b + 1) * k8) else { return };
                let mut g0 = 0;
                for &s128 in sums.iter() {
                    let len = groups.saturating_sub(g0).min(ARM_DSP_GEMM_CHUNK);
                    // Whole iterations of two groups (`k8` is a multiple of 8, and so
                    // is every chunk); checked reads keep the panic path out.
                    let (Some(c), Some(wc)) = (cols.get(2 * g0..2 * (g0 + len)), wb.get(4 * g0..4 * (g0 + len))) else {
                        return;
                    };
                    if len >= 2 {
                        // SAFETY: `c` holds 2·len words and `wc` 4·len, word-aligned;
                        // `len / 2 ≥ 1` iterations read 4 and 8 words each.
                        let [e0, r0, e1, r1] = unsafe { gemm_pairs(c.as_ptr().cast(), wc.as_ptr(), len / 2, [0; 4]) };
                        s[0] = s[0].wrapping_add(e0.wrapping_sub(s128));
                        s[1] = s[1].wrapping_add(r0.wrapping_sub(e0) >> 8);
                        s[2] = s[2].wrapping_add(e1.wrapping_sub(s128));
                        s[3] = s[3].wrapping_add(r1.wrapping_sub(e1) >> 8);
                    }
                    g0 += len;
                }
            }
            if let (Some(f), Ok(y4)) = (folded, <&mut [i8; 4]>::try_from(&mut *yq)) {
                requant4_full(s, f.mult, f.rnd, f.t, y4);
                continue;
            }
            for (jj, (o, &v)) in yq.iter_mut().zip(s.iter()).enumerate() {
                let ch = match single {
                    Some(ch) => ch,
                    None => Channel::new(
                        mult.get(4 * b + jj).copied().unwrap_or(0),
                        shift.get(4 * b + jj).copied().unwrap_or(1),
                    ),
                };
                *o = requant::general(v, ch, out);
            }
        }
    }
}
