//! Float convolutions over a zero-padded copy of their input: the input rows that a
//! chunk of output rows reads are copied into a stack buffer with the padding
//! written as zeros, so every output pixel's window lies inside the buffer and each
//! filter row is one contiguous run of `kW · C` floats. A block of pixels then runs
//! the micro-kernel once over all its filter rows (one pointer per pixel, the rows a
//! fixed pitch apart), with no test for the padding per pixel, tap or row.
//!
//! The generic path ([`super::conv`]) finds each pixel's window, calls the
//! micro-kernel once per filter row (per tap at the edges) and keeps little in
//! registers between the calls: on short filter rows the set-up outweighed the
//! arithmetic (ResNet-8's 16-channel 3×3 layers ran at 45 GMAC/s against 56 for long
//! rows, KWS's first layer, rows of 4 floats and most pixels at an edge, at 21).
//! The copy costs one store per input element (about `kH / sH` of them per element
//! when a call has one output row, as a streamed group's calls do), against
//! `kH · kW · out_c` multiply-adds per element.
//!
//! The sums run from the bias over the filter in `ky, kx, c` order, one fused
//! multiply-add each, like the generic path's (the padding adds products with
//! zero).

use super::conv::{bias_acc, copy_run, store_f32};
use super::tile::array;
use crate::kernels::pack::x86_avx2::{block_width, BAND, PIXELS};
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;
use core::mem::MaybeUninit;

/// The padded layout of one layer: every buffer row is `pitch` pixels of `C`
/// floats, the input's columns at `pad_left..pad_left + in_w`, zeros elsewhere.
#[derive(Clone, Copy)]
pub(super) struct Layout {
    /// Pixels per buffer row: the windows' span, at least the padded input's width.
    pitch: usize,
    /// Input rows one chunk of `out_rows` output rows reads.
    rows: usize,
    /// Output rows per chunk.
    out_rows: usize,
}

impl Layout {
    /// The layout of `p` with as many output rows per chunk as fit in [`BAND`]
    /// floats (all of them when they fit), `None` when not even one does.
    fn of(p: &Conv2d) -> Option<Layout> {
        let ext_w = p.k_w.checked_sub(1)? * p.dil_w + 1;
        let span_w = p.out_w.checked_sub(1)? * p.stride_w + ext_w;
        Layout::with(p, span_w.max(p.pad_left + p.in_w))
    }

    /// [`Layout::of`] with rows of `pitch` pixels (at least the padded input's width
    /// and the windows' span).
    pub(super) fn with(p: &Conv2d, pitch: usize) -> Option<Layout> {
        let ext_h = p.k_h.checked_sub(1)? * p.dil_h + 1;
        let row = pitch.checked_mul(p.in_c)?;
        if row == 0 {
            return None;
        }
        let fit = BAND / row;
        if fit < ext_h {
            return None;
        }
        let out_rows = ((fit - ext_h) / p.stride_h.max(1) + 1).min(p.out_h);
        Some(Layout { pitch, rows: (out_rows.max(1) - 1) * p.stride_h + ext_h, out_rows })
    }
}

/// Computes the convolution over padded bands when `p` suits them (one group, adjacent
/// taps along the width, not pointwise, at least one output row's input fitting in
/// [`BAND`] floats)
/// and returns true; false (output untouched) otherwise.
///
/// The caller ([`super::conv2d_f32`]) has checked the geometry and slice lengths.
#[inline(never)]
pub(super) fn band_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) -> bool {
    // Pointwise layers read their input in place: the copy only costs (VWW's 6×6
    // 128→128 layers took 11.1 µs over the band, 10.6 on the generic path).
    if p.groups != 1 || p.dil_w != 1 || p.out_h == 0 || p.out_w == 0 || p.out_c == 0 || p.is_pointwise() {
        return false;
    }
    let Some(l) = Layout::of(p) else { return false };
    run(p, x, l, |buf, row, first, out_rows| {
        // SAFETY: `run` gives the chunk's padded rows; the entry checks cover the
        // weights, the bias and the output.
        unsafe { chunk(p, act, buf, row, w, bias, y, first, out_rows * p.out_w) }
    });
    true
}

/// Every image of `x`, chunk by chunk of `l.out_rows` output rows: the chunk's input
/// rows copied into a stack buffer in layout `l` (zeros in the padding), then
/// `compute(buf, row, first, out_rows)` with the buffer (rows `row` floats apart,
/// output row `r` of the chunk reading its window from row `r · sH`, output column
/// `ox` from pixel `ox · sW`), the chunk's first output pixel and its output rows.
///
/// `l` must be `p`'s layout (the buffer's rows are sized by it).
#[inline(always)]
pub(super) fn run(p: &Conv2d, x: &[f32], l: Layout, mut compute: impl FnMut(*const f32, usize, usize, usize)) {
    let c = p.in_c;
    if x.len() < p.input_len() {
        return;
    }
    let mut buf = MaybeUninit::<[f32; BAND]>::uninit();
    let bp = buf.as_mut_ptr() as *mut f32;
    let row = l.pitch * c;
    let (left, inside) = (p.pad_left * c, p.in_w * c);
    let image = p.in_h * inside;
    // SAFETY: `Layout::of` keeps `l.rows · row ≤ BAND`; every float of those rows is
    // written before it is read: the side columns here, the input's columns by each
    // chunk (a copy, or zeros for rows in the padding).
    unsafe {
        zero_sides(bp, l.rows, row, left, inside);
        for n in 0..p.batch {
            let xn = x.as_ptr().add(n * image);
            let mut oy = 0;
            while oy < p.out_h {
                let out_rows = l.out_rows.min(p.out_h - oy);
                let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                let span = out_rows.saturating_sub(1) * p.stride_h + p.k_h.saturating_sub(1) * p.dil_h + 1;
                fill_rows(bp, row, left, xn, inside, p.in_h, iy0, span);
                compute(bp, row, (n * p.out_h + oy) * p.out_w, out_rows);
                oy += out_rows;
            }
        }
    }
}

/// The `pixels` output pixels from `first` on, the first one's window at the buffer's
/// start: every channel block, its pixels in blocks of [`PIXELS`] (or 8 for a block of
/// 8 channels), then 4, 2 and 1.
///
/// # Safety
/// `buf` must hold the chunk's padded rows, `row` floats apart; the entry checks
/// cover the packed weights, the padded bias and the output pixels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn chunk(
    p: &Conv2d,
    act: Clamp,
    buf: *const f32,
    row: usize,
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    pixels: usize,
) {
    unsafe {
        let k = p.k_h * p.k_w * p.in_c;
        let mut oc0 = 0;
        while oc0 < p.out_c {
            let width = block_width(p.out_c, oc0);
            let wb = w.as_ptr().add(oc0 * k);
            let mut i = 0;
            if width == 16 {
                while i + PIXELS <= pixels {
                    // Two blocks of 4 rather than 6 and a tail of 2 (4 pixels keep 8
                    // accumulators busy; 2 leave the FMA units half idle).
                    if (pixels - i) % PIXELS == 2 && pixels - i >= 8 {
                        block::<4, 2>(p, act, buf, row, wb, bias, y, first, i, oc0);
                        i += 4;
                    } else {
                        block::<PIXELS, 2>(p, act, buf, row, wb, bias, y, first, i, oc0);
                        i += PIXELS;
                    }
                }
                while i + 4 <= pixels {
                    block::<4, 2>(p, act, buf, row, wb, bias, y, first, i, oc0);
                    i += 4;
                }
                while i + 2 <= pixels {
                    block::<2, 2>(p, act, buf, row, wb, bias, y, first, i, oc0);
                    i += 2;
                }
                if i < pixels {
                    block::<1, 2>(p, act, buf, row, wb, bias, y, first, i, oc0);
                }
            } else {
                while i + 8 <= pixels {
                    block::<8, 1>(p, act, buf, row, wb, bias, y, first, i, oc0);
                    i += 8;
                }
                while i + 4 <= pixels {
                    block::<4, 1>(p, act, buf, row, wb, bias, y, first, i, oc0);
                    i += 4;
                }
                while i < pixels {
                    block::<1, 1>(p, act, buf, row, wb, bias, y, first, i, oc0);
                    i += 1;
                }
            }
            oc0 += width;
        }
    }
}

/// Pixels `i0..i0 + M` of the chunk (output pixels `first + i0..`) × channels
/// `oc0..oc0 + 8V`, the block's packed weights at `w`.
///
/// # Safety
/// As [`chunk`]'s, with `i0 + M` at most the chunk's pixels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn block<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    buf: *const f32,
    row: usize,
    w: *const f32,
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    i0: usize,
    oc0: usize,
) {
    unsafe {
        // Pixel `i` of the chunk: output row `i / out_w`, column `i % out_w`.
        let w_out = p.out_w.max(1);
        let (mut r, mut ox) = (i0 / w_out, i0 % w_out);
        let xs: [*const f32; M] = array(buf, |_| {
            let at = buf.add(r * p.stride_h * row + ox * p.stride_w * p.in_c);
            ox += 1;
            if ox == w_out {
                ox = 0;
                r += 1;
            }
            at
        });
        let mut acc = bias_acc::<M, V>(bias, oc0);
        rows_f32::<M, V>(&mut acc, xs, p.dil_h * row, p.k_h, w, p.k_w * p.in_c);
        store_f32::<M, V>(p, act, y, &acc, first + i0, oc0);
    }
}

/// `acc[m][v] += Σ` over `rows` filter rows of `run` floats each: row `r` of pixel
/// `m` at `xs[m] + r · pitch`, weights packed `[rows · run][8V]` from `w`.
///
/// # Safety
/// Every row read must be inside the buffer and `w` hold `rows · run · 8V` floats.
#[inline(always)]
unsafe fn rows_f32<const M: usize, const V: usize>(
    acc: &mut [[__m256; V]; M],
    mut xs: [*const f32; M],
    pitch: usize,
    rows: usize,
    w: *const f32,
    run: usize,
) {
    unsafe {
        let mut a = *acc;
        let mut wp = w;
        for _ in 0..rows {
            for k in 0..run {
                let mut wv = [_mm256_setzero_ps(); V];
                for (v, r) in wv.iter_mut().enumerate() {
                    *r = _mm256_loadu_ps(wp.add(8 * v));
                }
                for m in 0..M {
                    let b = _mm256_broadcast_ss(&*xs[m].add(k));
                    for v in 0..V {
                        a[m][v] = _mm256_fmadd_ps(b, wv[v], a[m][v]);
                    }
                }
                wp = wp.add(8 * V);
            }
            for x in xs.iter_mut() {
                *x = x.add(pitch);
            }
        }
        *acc = a;
    }
}

/// Zeroes the side columns of buffer rows `0..rows` (`row` floats apart): the
/// `left` floats before the input's `inside` columns and those after them.
///
/// # Safety
/// `bp` must be writable for `rows · row` floats, and `left + inside ≤ row`.
#[inline(always)]
pub(super) unsafe fn zero_sides(bp: *mut f32, rows: usize, row: usize, left: usize, inside: usize) {
    unsafe {
        for r in 0..rows {
            let at = bp.add(r * row);
            zero(at, left);
            zero(at.add(left + inside), row.saturating_sub(left + inside));
        }
    }
}

/// Writes the input columns (`inside` floats from `left`) of buffer rows
/// `0..count`: buffer row `r` holds input row `iy0 + r` of the image at `xn`, zeros
/// for rows outside `0..in_h`.
///
/// # Safety
/// `bp` must be writable for `count` rows of `row ≥ left + inside` floats, and `xn`
/// readable for `in_h` rows of `inside`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) unsafe fn fill_rows(
    bp: *mut f32,
    row: usize,
    left: usize,
    xn: *const f32,
    inside: usize,
    in_h: usize,
    iy0: isize,
    count: usize,
) {
    unsafe {
        for r in 0..count {
            let iy = iy0 + r as isize;
            let to = bp.add(r * row + left);
            if iy >= 0 && (iy as usize) < in_h {
                copy_run(xn.add(iy as usize * inside), to, inside);
            } else {
                zero(to, inside);
            }
        }
    }
}

/// Writes `n` zeros from `to`.
///
/// # Safety
/// `to` must be writable for `n` floats.
#[inline(always)]
unsafe fn zero(to: *mut f32, n: usize) {
    unsafe {
        let mut i = 0;
        while i + 8 <= n {
            _mm256_storeu_ps(to.add(i), _mm256_setzero_ps());
            i += 8;
        }
        while i < n {
            *to.add(i) = 0.0;
            i += 1;
        }
    }
}
