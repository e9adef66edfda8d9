//! Float depthwise convolution row by row: in each output row, the pixels whose
//! window lies inside the input's width (the interior) are computed `R` at a time (8
//! vectors of accumulators), each tap's weights loaded once for all of them, over the
//! filter rows inside the input (all of them but in the first and last rows); the
//! pixels at the left and right edges one at a time over their taps inside the input.
//! Taps in the padding are never visited (their ranges are computed once per row and
//! per edge pixel), and pointers step from tap to tap. Per output channel the sum runs from the
//! bias over the taps in filter order, one fused multiply-add each, as in
//! `depthwise_conv2d_f32`'s other paths.

use super::conv::clamp8;
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;

/// The operands of one channel block, as pointers at its first channel.
pub(super) struct Block<'a> {
    pub(super) p: &'a Conv2d,
    pub(super) act: Clamp,
    /// Input at channel `c0`.
    pub(super) x: *const f32,
    /// Filters (`kH,kW,C`) at channel `c0`.
    pub(super) w: *const f32,
    /// Bias at channel `c0`, `None` without bias.
    pub(super) bias: Option<*const f32>,
    /// Output at channel `c0`.
    pub(super) y: *mut f32,
}

/// The output columns `ox_lo..ox_hi` whose windows lie wholly inside the input's
/// width: `ox · sW ≥ pad_left` and `ox · sW − pad_left + ext_w < in_w` (both
/// depthwise row kernels, float and int8, walk rows this way).
pub(super) fn interior_columns(p: &Conv2d) -> (usize, usize) {
    let ext_w = p.k_w.saturating_sub(1) * p.dil_w;
    // `max(1)`: a valid geometry has a stride of at least 1, and no division may panic.
    let sw = p.stride_w.max(1);
    let ox_lo = p.pad_left.div_ceil(sw).min(p.out_w);
    let ox_hi = match (p.in_w + p.pad_left).checked_sub(ext_w + 1) {
        Some(last) => (last / sw + 1).min(p.out_w),
        None => 0,
    };
    (ox_lo, ox_hi.max(ox_lo))
}

/// The taps `lo..hi` of a window whose first tap reads input index `i0` (negative in
/// the padding), `k` taps `d` apart, along an axis of `n` inputs: those reading inside
/// (`lo == hi` when none does).
#[inline(always)]
pub(crate) fn inside_taps(i0: isize, k: usize, d: usize, n: usize) -> (usize, usize) {
    // Unsigned arithmetic: a signed division keeps an overflow panic in the code
    // (the no-panic proof found it).
    let d = d.max(1);
    let lo = if i0 < 0 { i0.unsigned_abs().div_ceil(d) } else { 0 };
    // The taps with `i0 + t·d ≤ n − 1`.
    let hi = match (n as isize).checked_sub(1).and_then(|last| last.checked_sub(i0)) {
        Some(room) if room >= 0 => room as usize / d + 1,
        _ => 0,
    };
    let lo = lo.min(k);
    (lo, hi.min(k).max(lo))
}

impl Block<'_> {
    /// Channels `c0..c0 + 8V` of every output pixel, interior pixels `R` at a time;
    /// `S` the distance in floats between adjacent pixels' windows (`sW · C`) when the
    /// caller knows it at compile time, 0 otherwise.
    ///
    /// # Safety
    /// The geometry must be valid and depthwise (`groups = in_c = out_c`), the
    /// pointers at channel `c0` of slices holding the whole input, filters, bias (if
    /// any) and output, with `c0 + 8V ≤ in_c`, and `S` 0 or `sW · C`.
    #[inline(always)]
    pub(super) unsafe fn rows<const V: usize, const R: usize, const S: usize>(&self) {
        let p = self.p;
        let c = p.in_c;
        let (ox_lo, ox_hi) = interior_columns(p);
        unsafe {
            let mut b0 = [_mm256_setzero_ps(); V];
            if let Some(b) = self.bias {
                for (v, r) in b0.iter_mut().enumerate() {
                    *r = _mm256_loadu_ps(b.add(8 * v));
                }
            }
            for n in 0..p.batch {
                for oy in 0..p.out_h {
                    let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                    // The filter rows inside the input: every pixel of the row takes
                    // them, the interior pixels in blocks of `R`.
                    let (ky_lo, ky_hi) = inside_taps(iy0, p.k_h, p.dil_h, p.in_h);
                    let rows = ky_hi - ky_lo;
                    let row = (n * p.out_h + oy) * p.out_w;
                    let wr = self.w.add(ky_lo * p.k_w * c);
                    // Input row of the first inside filter row (not read when none is).
                    let iy = if rows > 0 { (iy0 + (ky_lo * p.dil_h) as isize) as usize } else { 0 };
                    let xr = self.x.add((n * p.in_h + iy) * p.in_w * c);
                    for ox in (0..ox_lo).chain(ox_hi..p.out_w) {
                        let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
                        let (kx_lo, kx_hi) = inside_taps(ix0, p.k_w, p.dil_w, p.in_w);
                        if rows == 0 || kx_lo == kx_hi {
                            self.window::<1, V, S>(&b0, self.x, self.w, 0, 0, row + ox);
                            continue;
                        }
                        let ix = (ix0 + (kx_lo * p.dil_w) as isize) as usize;
                        self.window::<1, V, S>(&b0, xr.add(ix * c), wr.add(kx_lo * c), rows, kx_hi - kx_lo, row + ox);
                    }
                    let mut ox = ox_lo;
                    while ox + R <= ox_hi {
                        let ix = ox * p.stride_w - p.pad_left;
                        self.window::<R, V, S>(&b0, xr.add(ix * c), wr, rows, p.k_w, row + ox);
                        ox += R;
                    }
                    while ox < ox_hi {
                        let ix = ox * p.stride_w - p.pad_left;
                        self.window::<1, V, S>(&b0, xr.add(ix * c), wr, rows, p.k_w, row + ox);
                        ox += 1;
                    }
                }
            }
        }
    }

    /// Output pixels `at..at + M` of one row over `rows` filter rows of `taps` taps
    /// each, all inside the input: the first pixel's first tap reads `x`, its weights
    /// are at `w`; the taps of a row are `dW · C` inputs and `C` weights apart, the
    /// rows `dH · W · C` inputs and `kW · C` weights, the pixels `sW · C` inputs.
    #[inline(always)]
    unsafe fn window<const M: usize, const V: usize, const S: usize>(
        &self,
        b0: &[__m256; V],
        x: *const f32,
        w: *const f32,
        rows: usize,
        taps: usize,
        at: usize,
    ) {
        let p = self.p;
        let c = p.in_c;
        // `S`, when not 0, is the step known at compile time: the pixels' offsets fold
        // into the loads' addresses instead of living in registers (or the stack).
        let step = if S > 0 { S } else { p.stride_w * c };
        let (x_tap, x_row) = (p.dil_w * c, p.dil_h * p.in_w * c);
        let w_row = p.k_w * c;
        unsafe {
            let mut acc = [*b0; M];
            let (mut xr, mut wr) = (x, w);
            for _ in 0..rows {
                let (mut xt, mut wt) = (xr, wr);
                for _ in 0..taps {
                    let mut wv = [_mm256_setzero_ps(); V];
                    for (v, r) in wv.iter_mut().enumerate() {
                        *r = _mm256_loadu_ps(wt.add(8 * v));
                    }
                    for (m, a) in acc.iter_mut().enumerate() {
                        for v in 0..V {
                            a[v] = _mm256_fmadd_ps(_mm256_loadu_ps(xt.add(m * step + 8 * v)), wv[v], a[v]);
                        }
                    }
                    xt = xt.add(x_tap);
                    wt = wt.add(c);
                }
                xr = xr.add(x_row);
                wr = wr.add(w_row);
            }
            self.store::<M, V>(&acc, at);
        }
    }

    /// Clamps and stores output pixels `at..at + M`.
    #[inline(always)]
    unsafe fn store<const M: usize, const V: usize>(&self, acc: &[[__m256; V]; M], at: usize) {
        let c = self.p.in_c;
        unsafe {
            let (lo, hi) = (_mm256_set1_ps(self.act.min), _mm256_set1_ps(self.act.max));
            for (m, a) in acc.iter().enumerate() {
                let to = self.y.add((at + m) * c);
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(to.add(8 * v), clamp8(r, lo, hi));
                }
            }
        }
    }
}

/// The most taps per filter row [`short_rows`] takes (its per-tap masks).
const SHORT_TAPS: usize = 8;

/// [`short_rows`] for rows of 2 to 6 pixels with filter rows of at most
/// [`SHORT_TAPS`] taps: the channels done (0 for any other layer). Out of line: its
/// five instantiations stay out of `depthwise_conv2d_f32`'s body.
///
/// # Safety
/// As [`short_rows`]'s but for `out_w`, which this checks.
#[inline(never)]
pub(super) unsafe fn short_f32(
    p: &Conv2d,
    act: Clamp,
    x: *const f32,
    w: *const f32,
    bias: Option<*const f32>,
    y: *mut f32,
) -> usize {
    if p.k_w > SHORT_TAPS {
        return 0;
    }
    unsafe {
        match p.out_w {
            2 => short_rows::<2>(p, act, x, w, bias, y),
            3 => short_rows::<3>(p, act, x, w, bias, y),
            4 => short_rows::<4>(p, act, x, w, bias, y),
            5 => short_rows::<5>(p, act, x, w, bias, y),
            6 => short_rows::<6>(p, act, x, w, bias, y),
            _ => 0,
        }
    }
}

/// Float depthwise convolution whose output rows have `M` pixels (`out_w = M`), the
/// whole row at once: channels in blocks of 16 (`M · 2` accumulators), then 8, each
/// tap's weights loaded once for every pixel of the row it reaches. Which pixels a tap
/// column reaches inside the input is the same for every row (a bit mask per column,
/// computed once); which filter rows are inside is computed once per output row for
/// all channel blocks. On KWS's 5-pixel rows [`Block::rows`] took 3 of the 5 pixels
/// one at a time (edges), each a chain of dependent multiply-adds, and computed its
/// ranges with divisions per row and block. Returns the channels done (a multiple of
/// 8); the caller computes the rest.
///
/// # Safety
/// The geometry must be valid and depthwise with `out_w = M` and `k_w ≤`
/// [`SHORT_TAPS`]; `x`, `w`, `bias` (if any) and `y` the whole input, filters
/// (`kH,kW,C`), bias and output.
#[inline(always)]
unsafe fn short_rows<const M: usize>(
    p: &Conv2d,
    act: Clamp,
    x: *const f32,
    w: *const f32,
    bias: Option<*const f32>,
    y: *mut f32,
) -> usize {
    let c = p.in_c;
    let mut masks = [0u32; SHORT_TAPS];
    for (kx, mask) in masks.iter_mut().enumerate().take(p.k_w) {
        let off = (kx * p.dil_w) as isize - p.pad_left as isize;
        for m in 0..M {
            let ix = (m * p.stride_w) as isize + off;
            if ix >= 0 && (ix as usize) < p.in_w {
                *mask |= 1 << m;
            }
        }
    }
    let blocks = c / 8;
    unsafe {
        for n in 0..p.batch {
            for oy in 0..p.out_h {
                let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                let (ky_lo, ky_hi) = if p.dil_h == 1 {
                    let lo = if iy0 < 0 { iy0.unsigned_abs().min(p.k_h) } else { 0 };
                    let room = (p.in_h as isize - iy0).max(0) as usize;
                    (lo, room.min(p.k_h).max(lo))
                } else {
                    inside_taps(iy0, p.k_h, p.dil_h, p.in_h)
                };
                // The input row of filter row `ky_lo` (not read when none is inside).
                let iy = if ky_hi > ky_lo { (iy0 + (ky_lo * p.dil_h) as isize) as usize } else { 0 };
                let xr = x.add((n * p.in_h + iy) * p.in_w * c);
                let wr = w.add(ky_lo * p.k_w * c);
                let yr = y.add((n * p.out_h + oy) * M * c);
                let rows = ky_hi - ky_lo;
                let mut c0 = 0;
                while c0 + 16 <= c {
                    short_block::<M, 2>(
                        p,
                        act,
                        xr.add(c0),
                        wr.add(c0),
                        bias.map(|b| b.add(c0)),
                        yr.add(c0),
                        rows,
                        &masks,
                    );
                    c0 += 16;
                }
                if c0 + 8 <= c {
                    short_block::<M, 1>(
                        p,
                        act,
                        xr.add(c0),
                        wr.add(c0),
                        bias.map(|b| b.add(c0)),
                        yr.add(c0),
                        rows,
                        &masks,
                    );
                }
            }
        }
    }
    blocks * 8
}

/// One output row × channels `c0..c0 + 8V` of [`short_rows`]: `rows` filter rows from
/// input row `x` and filter row `w` (both at channel `c0`), output row `y`.
///
/// # Safety
/// As [`short_rows`]'s, the rows inside the input.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn short_block<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    x: *const f32,
    w: *const f32,
    bias: Option<*const f32>,
    y: *mut f32,
    rows: usize,
    masks: &[u32; SHORT_TAPS],
) {
    let c = p.in_c;
    let step = p.stride_w * c;
    unsafe {
        let mut b0 = [_mm256_setzero_ps(); V];
        if let Some(b) = bias {
            for (v, r) in b0.iter_mut().enumerate() {
                *r = _mm256_loadu_ps(b.add(8 * v));
            }
        }
        let mut acc = [b0; M];
        let (mut xr, mut wr) = (x, w);
        for _ in 0..rows {
            for (kx, &mask) in masks.iter().enumerate().take(p.k_w) {
                let mut wv = [_mm256_setzero_ps(); V];
                for (v, r) in wv.iter_mut().enumerate() {
                    *r = _mm256_loadu_ps(wr.add(kx * c + 8 * v));
                }
                // Pixel `m` reads column `m · sW + kx · dW − pad_left`: from `x0`.
                let x0 = xr.wrapping_add(kx * p.dil_w * c).wrapping_sub(p.pad_left * c);
                for (m, a) in acc.iter_mut().enumerate() {
                    if mask & (1 << m) != 0 {
                        let xp = x0.wrapping_add(m * step);
                        for v in 0..V {
                            a[v] = _mm256_fmadd_ps(_mm256_loadu_ps(xp.add(8 * v)), wv[v], a[v]);
                        }
                    }
                }
            }
            xr = xr.add(p.dil_h * p.in_w * c);
            wr = wr.add(p.k_w * c);
        }
        let (lo, hi) = (_mm256_set1_ps(act.min), _mm256_set1_ps(act.max));
        for (m, a) in acc.iter().enumerate() {
            for (v, &r) in a.iter().enumerate() {
                _mm256_storeu_ps(y.add(m * c + 8 * v), clamp8(r, lo, hi));
            }
        }
    }
}
