//! Quantised average pooling on the DSP extension: i8 activations, four channels per
//! word. `sxtab16` adds bytes 0 and 2 of a word (and, rotated by 8, bytes 1 and 3) to
//! two 16-bit lanes at once, so a window costs one load and two additions per four
//! channels and tap, with the four running sums in two registers. A 16-bit lane holds
//! the exact sum of at most [`RUN`] taps (|x| ≤ 128), so longer windows are summed in
//! runs of that many taps, each flushed to 32-bit sums. The output stage is the
//! portable kernel's own function (`portable::pool::average_q8`), so results are
//! bit-identical to it.
//!
//! The kernel is kept out of line (652 bytes of code in the KWS cortex-m4 firmware);
//! LLVM still specialises it for a model's constant shapes.

use super::insn::{sxtab16, sxtab16_ror8};
use crate::kernels::portable::average_q8;
use crate::kernels::Pool2d;
use crate::quant::{QOut, Q8};

/// Taps per 16-bit run: 256 · 128 = 2^15 fits a lane as a two's-complement sum of
/// values in −128..=127 (the extremes are −32,768 and 32,512).
pub const RUN: usize = 256;

/// The taps of one window along one axis: the first input index, how many lie inside
/// the input, and how many inside the input or its padding (never past it).
#[inline(always)]
fn axis(
    o: usize,
    stride: usize,
    k: usize,
    dil: usize,
    pad: usize,
    len: usize,
    pad_end: usize,
) -> (usize, usize, usize) {
    let (mut first, mut real, mut padded) = (0, 0, 0);
    for t in 0..k {
        let i = (o * stride + t * dil) as isize - pad as isize;
        if i >= (len + pad_end) as isize {
            continue;
        }
        padded += 1;
        if i >= 0 && i < len as isize {
            if real == 0 {
                first = i as usize;
            }
            real += 1;
        }
    }
    (first, real, padded)
}

/// Quantised average pooling (channels-last), i8 in and out, with the portable
/// kernel's contract: `y = zp + round(Σ (x − x_zp) · M / count)` with
/// `M = mult · 2^-shift`, count following `p.count_include_pad`; `acc` scratch of
/// `channels` words. Other element types leave `y` untouched (the compiler never
/// chooses this kernel for them).
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub fn avg_pool2d_q8<X: Q8, Y: Q8>(
    p: &Pool2d,
    x_zp: i32,
    out: &QOut,
    mult: i32,
    shift: u32,
    x: &[X],
    acc: &mut [i32],
    y: &mut [Y],
) {
    avg_pool2d_q8_runs::<RUN, X, Y>(p, x_zp, out, mult, shift, x, acc, y)
}

/// [`avg_pool2d_q8`] with 16-bit runs of `R` taps (`1 ≤ R ≤` [`RUN`]; other values
/// leave `y` untouched). The kernel suite also checks `R = 3`, so that its small
/// windows cross runs as the real kernel's largest windows do.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub fn avg_pool2d_q8_runs<const R: usize, X: Q8, Y: Q8>(
    p: &Pool2d,
    x_zp: i32,
    out: &QOut,
    mult: i32,
    shift: u32,
    x: &[X],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(y)) = (X::as_i8(x), Y::as_i8_mut(y)) else { return };
    if R == 0 || R > RUN {
        return;
    }
    let c = p.channels;
    if p.stride_h == 0
        || p.stride_w == 0
        || p.dil_h == 0
        || p.dil_w == 0
        || c == 0
        || x.len() < p.input_len()
        || y.len() < p.output_len()
    {
        return;
    }
    let Some(acc) = acc.get_mut(..c) else { return };
    let (blocks, row) = (c / 4, p.in_w * c);
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            let (iy, rows, rows_padded) = axis(oy, p.stride_h, p.k_h, p.dil_h, p.pad_top, p.in_h, p.pad_bottom);
            for ox in 0..p.out_w {
                let (ix, cols, cols_padded) = axis(ox, p.stride_w, p.k_w, p.dil_w, p.pad_left, p.in_w, p.pad_right);
                let at = ((n * p.out_h + oy) * p.out_w + ox) * c;
                let Some(yrow) = y.get_mut(at..at + c) else { return };
                // The window's first real tap, and the steps to the next tap and row.
                let first = ((n * p.in_h + iy) * p.in_w + ix) * c;
                let (tap, down) = (p.dil_w * c, p.dil_h * row);
                // The byte after the last word any block reads in this window: checked
                // once, so the loads below need no bounds checks of their own.
                let end = (rows.saturating_sub(1).checked_mul(down))
                    .zip(cols.saturating_sub(1).checked_mul(tap))
                    .and_then(|(a, b)| first.checked_add(a)?.checked_add(b)?.checked_add(4 * blocks));
                if rows > 0 && cols > 0 && blocks > 0 && end.is_none_or(|e| e > x.len()) {
                    return;
                }
                // Rows that follow each other in memory (a window as wide as the input,
                // as global pooling has) are one long row: fewer loop entries.
                let (lines, per_line) = if down == cols * tap { (rows.min(1), rows * cols) } else { (rows, cols) };
                for (b, sums) in acc.chunks_exact_mut(4).take(blocks).enumerate() {
                    sums.fill(0);
                    let (mut even, mut odd, mut run) = (0u32, 0u32, 0);
                    for r in 0..lines {
                        let (mut at, mut left) = (first + r * down + 4 * b, per_line);
                        while left > 0 {
                            let count = left.min(R - run);
                            // SAFETY: the taps read are `at + t·tap` for t < count, a word
                            // each; the last lies at most at `end − 4` (checked above).
                            unsafe { sum_taps(x.as_ptr().add(at), count, tap, &mut even, &mut odd) };
                            (at, left, run) = (at + count * tap, left - count, run + count);
                            if run == R {
                                flush(sums, &mut even, &mut odd);
                                run = 0;
                            }
                        }
                    }
                    flush(sums, &mut even, &mut odd);
                }
                // Channels past the last whole word, one at a time.
                for (k, s) in acc.iter_mut().enumerate().skip(4 * blocks) {
                    *s = 0;
                    for r in 0..rows {
                        for t in 0..cols {
                            *s += x.get(first + r * down + t * tap + k).map_or(0, |&v| v as i32);
                        }
                    }
                }
                let (real, padded) = (rows * cols, rows_padded * cols_padded);
                let d = if p.count_include_pad { padded } else { real };
                finish(acc, real as i32 * x_zp, d as i64, mult, shift, out, yrow);
            }
        }
    }
}

/// Adds the words at `x`, `x + step`, … (`count` of them, `count ≥ 1`) to the lanes:
/// bytes 0 and 2 to `even`, bytes 1 and 3 to `odd`. One load and two additions per
/// word.
///
/// # Safety
/// Every word read, `x + t·step .. x + t·step + 4` for `t < count`, must lie in one
/// allocation (unaligned reads are fine: Armv7E-M loads words at any address).
#[inline(always)]
unsafe fn sum_taps(x: *const i8, count: usize, step: usize, even: &mut u32, odd: &mut u32) {
    let (mut e, mut o, mut at) = (*even, *odd, x);
    for _ in 0..count {
        // SAFETY: the caller's contract.
        let v = unsafe { at.cast::<u32>().read_unaligned() };
        e = sxtab16(e, v);
        o = sxtab16_ror8(o, v);
        at = at.wrapping_add(step);
    }
    (*even, *odd) = (e, o);
}

/// Adds the four 16-bit lanes of `even` (channels 0, 2) and `odd` (1, 3) to `sums`
/// and clears them.
#[inline(always)]
fn flush(sums: &mut [i32], even: &mut u32, odd: &mut u32) {
    if let [s0, s1, s2, s3] = sums {
        *s0 += *even as u16 as i16 as i32;
        *s2 += (*even >> 16) as u16 as i16 as i32;
        *s1 += *odd as u16 as i16 as i32;
        *s3 += (*odd >> 16) as u16 as i16 as i32;
    }
    (*even, *odd) = (0, 0);
}

/// The output stage of one pixel: `Σ x − real · zp` per channel, scaled, divided by
/// the count and rounded exactly as the portable kernel does.
#[inline(never)]
fn finish(acc: &[i32], zp_sum: i32, d: i64, mult: i32, shift: u32, out: &QOut, y: &mut [i8]) {
    for (o, &a) in y.iter_mut().zip(acc) {
        *o = average_q8(a - zp_sum, d, mult, shift, out) as i8;
    }
}
