//! Quantised convolutions on the DSP extension, signed 8-bit activations and
//! weights, channels-last.
//!
//! **Convolution** (one group): two output pixels at a time, their receptive fields
//! copied ("im2col") as raw bytes — window positions in the padding hold the input
//! zero point — then widened to 16-bit pairs with `sxtb16`; two output channels at a
//! time read their weights as one stream ([`pack::interleave`], blocks of 2) and
//! `smlad` does two multiply-adds per instruction. The bias arrives with the zero
//! point folded in ([`pack::fold_zero_point`]), so raw inputs are multiplied as they
//! are: `bias − zp·Σw + Σ x·w = bias + Σ (x − zp)·w`, the padding contributing
//! `(zp − zp)·w = 0` as in the portable kernel. Results are bit-identical to it.
//!
//! **Depthwise convolution**: per output pixel, four channels per step; taps inside
//! the input use raw inputs against the zero-point-folded bias, and a pixel whose
//! window leaves the input adds `zp·w` back for the taps it skipped.

use super::insn::{mac_2x2, smlabb, smlatt, sxtb16, sxtb16_ror8, word};
use super::requant;
use crate::kernels::pack::{arm_dsp_conv2d_scratch, round4, round_to};
use crate::kernels::Conv2d;
use crate::quant::{requantize_fast, QOut, Weight, Q8};

/// Requantises `acc` for channel `oc` and stores it.
#[inline(always)]
fn store(out: &QOut, mult: &[i32], shift: &[i32], oc: usize, acc: i32, y: &mut i8) {
    let c = if mult.len() > oc && shift.len() > oc { oc } else { 0 };
    let (m, s) = (mult.get(c).copied().unwrap_or(0), shift.get(c).copied().unwrap_or(1));
    *y = out.finish(requantize_fast(acc, m, s)) as i8;
}

/// Copies the receptive field of output pixel `(n, oy, ox)` into `row` (`K` bytes in
/// `kH,kW,C` order, padding as `zp`; the tail up to `round4(K)` zero).
#[inline(always)]
fn im2col(p: &Conv2d, x: &[i8], zp: i8, n: usize, oy: usize, ox: usize, row: &mut [i8]) {
    let c = p.in_c;
    let mut at = 0;
    for ky in 0..p.k_h {
        let iy = (oy * p.stride_h + ky * p.dil_h).checked_sub(p.pad_top).filter(|&v| v < p.in_h);
        for kx in 0..p.k_w {
            let ix = (ox * p.stride_w + kx * p.dil_w).checked_sub(p.pad_left).filter(|&v| v < p.in_w);
            let Some(dst) = row.get_mut(at..at + c) else { return };
            at += c;
            match (iy, ix) {
                (Some(iy), Some(ix)) => {
                    let from = ((n * p.in_h + iy) * p.in_w + ix) * c;
                    if let Some(src) = x.get(from..from + c) {
                        dst.copy_from_slice(src);
                    }
                }
                _ => dst.iter_mut().for_each(|v| *v = zp),
            }
        }
    }
    row.iter_mut().skip(at).for_each(|v| *v = 0);
}

/// Widens the raw receptive fields of pixels A and B (`round4(K)` bytes each) into
/// `cols`: per group of 4 inputs, A's `(x0,x2), (x1,x3)`, then B's.
#[inline(always)]
fn widen(raw_a: &[i8], raw_b: &[i8], cols: &mut [i32]) {
    let (ra, rb) = (raw_a.as_chunks::<4>().0, raw_b.as_chunks::<4>().0);
    for ((c, a), b) in cols.as_chunks_mut::<4>().0.iter_mut().zip(ra).zip(rb) {
        let (a, b) = (word(a), word(b));
        *c = [sxtb16(a) as i32, sxtb16_ror8(a) as i32, sxtb16(b) as i32, sxtb16_ror8(b) as i32];
    }
}

/// Computes every output channel of pixels A and B (rows `ya`, `yb`), two channels
/// at a time: `mac_2x2` over the widened columns, then the output stage. `PLAIN`: every
/// channel on the fast requantisation path and the full i8 clamp.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn channels<const PLAIN: bool>(
    cols: &[i32],
    words: &[u32],
    groups: usize,
    bias: &[i32],
    table: &[i32],
    out: &QOut,
    ya: &mut [i8],
    yb: &mut [i8],
) {
    let stage = |a: i32, ch: requant::Channel| {
        if PLAIN {
            requant::fast_full(a, ch, out.zp)
        } else {
            requant::general(a, ch, out)
        }
    };
    let block = 2 * groups;
    let (ya2, ya1) = ya.as_chunks_mut::<2>();
    let (yb2, yb1) = yb.as_chunks_mut::<2>();
    let pairs = bias.as_chunks::<2>().0.iter().zip(table.as_chunks::<6>().0);
    let mut at = 0;
    for (((a, b), (bp, t)), _) in ya2.iter_mut().zip(yb2.iter_mut()).zip(pairs).zip(words.chunks(block.max(1))) {
        // SAFETY: the caller checked `words` holds `block` words per channel pair and
        // `cols` 4·groups words (groups ≥ 1); both are word-aligned.
        let [a0, b0, a1, b1] =
            unsafe { mac_2x2(cols.as_ptr().cast(), words.as_ptr().wrapping_add(at), groups, [bp[0], bp[0], bp[1], bp[1]]) };
        at += block;
        let (c0, c1) = (requant::Channel::of(&t[..3]), requant::Channel::of(&t[3..]));
        *a = [stage(a0, c0), stage(a1, c1)];
        *b = [stage(b0, c0), stage(b1, c1)];
    }
    // An odd channel count: the last pair's first channel.
    if let (Some(a), Some(b), Some(&bv), Some(t)) =
        (ya1.first_mut(), yb1.first_mut(), bias.get(2 * ya2.len()), table.get(6 * ya2.len()..6 * ya2.len() + 3))
    {
        if words.len() >= at + block {
            // SAFETY: as above, for the last block.
            let [a0, b0, _, _] = unsafe { mac_2x2(cols.as_ptr().cast(), words.as_ptr().wrapping_add(at), groups, [bv, bv, 0, 0]) };
            let c0 = requant::Channel::of(t);
            *a = stage(a0, c0);
            *b = stage(b0, c0);
        }
    }
}

/// Quantised 2-D convolution, one group, i8 activations and weights: `w` interleaved
/// in channel pairs, `bias` with the zero point folded in (both by the compiler),
/// `acc` scratch of [`arm_dsp_conv2d_scratch`] words. Other element types or grouped
/// convolutions leave `y` untouched (the compiler never chooses this kernel for them).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let k = p.k_h * p.k_w * p.in_c;
    let k4 = round4(k);
    let pairs = p.out_c.div_ceil(2);
    if p.groups != 1
        || !p.is_valid()
        || k == 0
        || x.len() < p.input_len()
        || w.len() < pairs * 2 * k4
        || bias.len() < pairs * 2
        || y.len() < p.output_len()
        || mult.is_empty()
        || shift.is_empty()
        || !(-128..=127).contains(&x_zp)
    {
        return;
    }
    let Some(scratch) = acc.get_mut(..arm_dsp_conv2d_scratch(p)) else { return };
    let (table, rest) = scratch.split_at_mut(requant::WORDS * pairs * 2);
    let (cols, rest) = rest.split_at_mut(k4);
    let (raw, spare) = rest.split_at_mut(k4 / 2);
    let raw = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(raw));
    let Some((raw_a, raw_b)) = raw.get_mut(..2 * k4).map(|r| r.split_at_mut(k4)) else { return };
    let Some(spare) = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(spare)).get_mut(..p.out_c) else {
        return;
    };
    let plain = requant::fill(mult, shift, p.out_c, table) && requant::full_range(out);
    // The weights as words; the compiler aligns every weight to 16 bytes.
    let words = crate::arena::cast::<u32>(crate::arena::as_bytes(w));
    let (Some(words), Some(bias)) = (words.get(..pairs * 2 * k4 / 4), bias.get(..pairs * 2)) else { return };
    let groups = k4 / 4;
    let zp = x_zp as i8;
    let pixels = p.out_h * p.out_w;
    let c = p.out_c;
    for n in 0..p.batch {
        let mut pa = 0;
        while pa < pixels {
            let two = pa + 1 < pixels;
            im2col(p, x, zp, n, pa / p.out_w, pa % p.out_w, raw_a);
            if two {
                im2col(p, x, zp, n, (pa + 1) / p.out_w, (pa + 1) % p.out_w, raw_b);
            }
            widen(raw_a, raw_b, cols);
            let at = (n * pixels + pa) * c;
            let (ya, yb) = if two {
                let Some(rows) = y.get_mut(at..at + 2 * c) else { return };
                rows.split_at_mut(c)
            } else {
                let Some(row) = y.get_mut(at..at + c) else { return };
                (row, &mut *spare)
            };
            if plain {
                channels::<true>(cols, words, groups, bias, table, out, ya, yb);
            } else {
                channels::<false>(cols, words, groups, bias, table, out, ya, yb);
            }
            pa += 2;
        }
    }
}

/// Quantised depthwise convolution (`groups = in_c = out_c`), i8, weights `kH,kW,C`,
/// `bias` with the zero point folded in over all taps (`bias − zp·Σ_taps w`); `acc`
/// is scratch for one pixel ([`arm_dsp_depthwise_scratch`](crate::kernels::pack::arm_dsp_depthwise_scratch) words).
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let c = p.in_c;
    let c4 = round_to(c, 4);
    let taps = p.k_h * p.k_w;
    if p.groups != c
        || p.out_c != c
        || !p.is_valid()
        || x.len() < p.input_len()
        || w.len() < taps * c
        || bias.len() < c
        || y.len() < p.output_len()
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    let Some(acc) = acc.get_mut(..c4) else { return };
    let quads = c / 4;
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                acc.iter_mut().zip(bias).for_each(|(a, &b)| *a = b);
                for ky in 0..p.k_h {
                    let iy = (oy * p.stride_h + ky * p.dil_h).checked_sub(p.pad_top).filter(|&v| v < p.in_h);
                    for kx in 0..p.k_w {
                        let ix = (ox * p.stride_w + kx * p.dil_w).checked_sub(p.pad_left).filter(|&v| v < p.in_w);
                        let t = ky * p.k_w + kx;
                        let Some(wrow) = w.get(t * c..(t + 1) * c) else { continue };
                        match (iy, ix) {
                            (Some(iy), Some(ix)) => {
                                let from = ((n * p.in_h + iy) * p.in_w + ix) * c;
                                let Some(xrow) = x.get(from..from + c) else { continue };
                                let (xq, xr) = xrow.as_chunks::<4>();
                                let (wq, wr) = wrow.as_chunks::<4>();
                                for ((a, xv), wv) in acc.as_chunks_mut::<4>().0.iter_mut().zip(xq).zip(wq) {
                                    let (xv, wv) = (word(xv), word(wv));
                                    let (x02, x13, w02, w13) = (sxtb16(xv), sxtb16_ror8(xv), sxtb16(wv), sxtb16_ror8(wv));
                                    a[0] = smlabb(x02, w02, a[0]);
                                    a[2] = smlatt(x02, w02, a[2]);
                                    a[1] = smlabb(x13, w13, a[1]);
                                    a[3] = smlatt(x13, w13, a[3]);
                                }
                                for ((a, &xv), &wv) in acc.iter_mut().skip(quads * 4).zip(xr).zip(wr) {
                                    *a += xv as i32 * wv as i32;
                                }
                            }
                            // A skipped tap: put back what the folded bias took out.
                            _ => acc.iter_mut().zip(wrow).for_each(|(a, &wv)| *a += x_zp * wv as i32),
                        }
                    }
                }
                let at = ((n * p.out_h + oy) * p.out_w + ox) * c;
                let Some(yrow) = y.get_mut(at..at + c) else { return };
                for (oc, (v, &a)) in yrow.iter_mut().zip(acc.iter()).enumerate() {
                    store(out, mult, shift, oc, a, v);
                }
            }
        }
    }
}
