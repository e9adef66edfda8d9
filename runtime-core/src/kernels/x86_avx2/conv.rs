//! Float convolutions: one group over packed weights (6 pixels × 16 channels per
//! micro-kernel call), and depthwise over `kH,kW,C` filters (32 channels of a pixel
//! per pass, vectors across channels).

use super::tile::tile_f32;
use crate::kernels::pack::round_to;
use crate::kernels::pack::x86_avx2::{block_width, conv_weights_f32_len, PIXELS};
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;

/// Inputs a padded tap reads from [`ZEROS`] at a time.
const CHUNK: usize = 64;

/// What a padded tap multiplies: zeros.
static ZEROS: [f32; CHUNK] = [0.0; CHUNK];

/// Where an output pixel's window starts.
#[derive(Clone, Copy)]
pub(super) struct Pixel {
    /// First input element of the pixel's batch row.
    base: usize,
    /// First input row and column of the window (negative in the padding).
    iy0: isize,
    ix0: isize,
}

impl Pixel {
    /// Output pixel `i` of the flattened `N,H,W` output.
    #[inline(always)]
    pub(super) fn new(p: &Conv2d, i: usize) -> Pixel {
        let ox = i % p.out_w.max(1);
        let oy = (i / p.out_w.max(1)) % p.out_h.max(1);
        let n = i / (p.out_w * p.out_h).max(1);
        Pixel {
            base: n * p.in_h * p.in_w * p.in_c,
            iy0: (oy * p.stride_h) as isize - p.pad_top as isize,
            ix0: (ox * p.stride_w) as isize - p.pad_left as isize,
        }
    }

    /// The input element where the window's row `ky` starts when every tap of that
    /// row is inside the input and the taps are adjacent (`dil_w = 1`): the row's
    /// `kW · C` inputs are then one contiguous run, as are its packed weights.
    #[inline(always)]
    pub(super) fn row(&self, p: &Conv2d, ky: usize) -> Option<usize> {
        let iy = self.iy0 + (ky * p.dil_h) as isize;
        let last = self.ix0 + p.k_w as isize - 1;
        if p.dil_w != 1 || iy < 0 || iy >= p.in_h as isize || self.ix0 < 0 || last >= p.in_w as isize {
            None
        } else {
            Some(self.base + (iy as usize * p.in_w + self.ix0 as usize) * p.in_c)
        }
    }

    /// The input element where tap `(ky, kx)` reads its row of channels, `None` in the
    /// padding.
    #[inline(always)]
    pub(super) fn tap(&self, p: &Conv2d, ky: usize, kx: usize) -> Option<usize> {
        let iy = self.iy0 + (ky * p.dil_h) as isize;
        let ix = self.ix0 + (kx * p.dil_w) as isize;
        if iy < 0 || ix < 0 || iy >= p.in_h as isize || ix >= p.in_w as isize {
            None
        } else {
            Some(self.base + (iy as usize * p.in_w + ix as usize) * p.in_c)
        }
    }
}

/// Clamps like [`Clamp::apply`] (NaN passes: `max`/`min` return their second operand
/// when either is NaN).
#[inline(always)]
pub(super) fn clamp8(v: __m256, lo: __m256, hi: __m256) -> __m256 {
    unsafe { _mm256_min_ps(hi, _mm256_max_ps(lo, v)) }
}

/// Float 2-D convolution with one group: weights packed by
/// [`crate::kernels::pack::x86_avx2::conv_weights_f32`], bias padded to a multiple of
/// 8 channels (the compiler supplies zeros when the model has none).
pub fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let k = p.k_h * p.k_w * p.in_c;
    if !p.is_valid()
        || p.groups != 1
        || x.len() < p.input_len()
        || w.len() < conv_weights_f32_len(p.out_c, k)
        || bias.len() < round_to(p.out_c, 8)
        || y.len() < p.output_len()
    {
        return;
    }
    let pixels = p.batch * p.out_h * p.out_w;
    let mut i = 0;
    while i + PIXELS <= pixels {
        pixels_f32::<PIXELS>(p, act, x, w, bias, y, i);
        i += PIXELS;
    }
    match pixels - i {
        1 => pixels_f32::<1>(p, act, x, w, bias, y, i),
        2 => pixels_f32::<2>(p, act, x, w, bias, y, i),
        3 => pixels_f32::<3>(p, act, x, w, bias, y, i),
        4 => pixels_f32::<4>(p, act, x, w, bias, y, i),
        5 => pixels_f32::<5>(p, act, x, w, bias, y, i),
        _ => {}
    }
}

/// Output pixels `i0..i0 + M`, every channel block.
#[inline(always)]
fn pixels_f32<const M: usize>(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], i0: usize) {
    let px: [Pixel; M] = core::array::from_fn(|m| Pixel::new(p, i0 + m));
    let k = p.k_h * p.k_w * p.in_c;
    let mut oc0 = 0;
    while oc0 < p.out_c {
        let width = block_width(p.out_c, oc0);
        if width == 16 {
            block_f32::<M, 2>(p, act, x, w, bias, y, &px, i0, oc0, k);
        } else {
            block_f32::<M, 1>(p, act, x, w, bias, y, &px, i0, oc0, k);
        }
        oc0 += width;
    }
}

/// Pixels `i0..i0 + M` × channels `oc0..oc0 + 8V`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_f32<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    px: &[Pixel; M],
    i0: usize,
    oc0: usize,
    k: usize,
) {
    // SAFETY: the entry checks cover the packed weights (`oc0 · k + k · 8V` is within
    // `round_to(out_c, 8) · k`), the padded bias (`oc0 + 8V ≤ round_to(out_c, 8)`), and
    // the input (`Pixel::tap` gives only rows inside it, `in_c` long); stores stay in
    // the output row of each pixel.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; M];
        for v in 0..V {
            let b = _mm256_loadu_ps(bias.as_ptr().add(oc0 + 8 * v));
            for a in acc.iter_mut() {
                a[v] = b;
            }
        }
        let wb = w.as_ptr().add(oc0 * k);
        let c = p.in_c;
        for ky in 0..p.k_h {
            let rows: [Option<usize>; M] = core::array::from_fn(|m| px[m].row(p, ky));
            if rows.iter().all(Option::is_some) {
                let xs = core::array::from_fn(|m| x.as_ptr().add(rows[m].unwrap_or(0)));
                tile_f32::<M, V>(&mut acc, &xs, wb.add(ky * p.k_w * c * 8 * V), p.k_w * c);
                continue;
            }
            for kx in 0..p.k_w {
                let at: [Option<usize>; M] = core::array::from_fn(|m| px[m].tap(p, ky, kx));
                let wt = wb.add((ky * p.k_w + kx) * c * 8 * V);
                if at.iter().all(Option::is_some) {
                    let xs = core::array::from_fn(|m| x.as_ptr().add(at[m].unwrap_or(0)));
                    tile_f32::<M, V>(&mut acc, &xs, wt, c);
                } else if at.iter().any(Option::is_some) {
                    let mut c0 = 0;
                    while c0 < c {
                        let n = CHUNK.min(c - c0);
                        let xs = core::array::from_fn(|m| match at[m] {
                            Some(o) => x.as_ptr().add(o + c0),
                            None => ZEROS.as_ptr(),
                        });
                        tile_f32::<M, V>(&mut acc, &xs, wt.add(c0 * 8 * V), n);
                        c0 += n;
                    }
                }
            }
        }
        let (lo, hi) = (_mm256_set1_ps(act.min), _mm256_set1_ps(act.max));
        let live = (p.out_c - oc0).min(8 * V);
        for (m, a) in acc.iter().enumerate() {
            let row = y.as_mut_ptr().add((i0 + m) * p.out_c + oc0);
            if live == 8 * V {
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(row.add(8 * v), clamp8(r, lo, hi));
                }
            } else {
                let mut tmp = [0.0f32; 16];
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(8 * v), clamp8(r, lo, hi));
                }
                core::ptr::copy_nonoverlapping(tmp.as_ptr(), row, live);
            }
        }
    }
}

/// Float depthwise convolution (`groups = in_c = out_c`), weights `kH,kW,C` as the
/// portable twin reads them.
pub fn depthwise_conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let c = p.in_c;
    if !p.is_valid()
        || p.groups != c
        || p.out_c != c
        || x.len() < p.input_len()
        || w.len() < p.weight_len()
        || y.len() < p.output_len()
        || !(bias.is_empty() || bias.len() >= c)
    {
        return;
    }
    let pixels = p.batch * p.out_h * p.out_w;
    let mut at = [0usize; 64];
    let mut wt = [0usize; 64];
    for i in 0..pixels {
        let px = Pixel::new(p, i);
        // The window's taps inside the input: input offset and filter row.
        let mut n = 0;
        let mut t = 0;
        for ky in 0..p.k_h {
            for kx in 0..p.k_w {
                if let Some(o) = px.tap(p, ky, kx) {
                    if n < at.len() {
                        at[n] = o;
                        wt[n] = t * c;
                    }
                    n += 1;
                }
                t += 1;
            }
        }
        let row = i * c;
        if n > at.len() {
            // A window of more than 64 taps: channel by channel.
            depthwise_pixel_scalar(p, act, x, w, bias, y, &px, row, 0);
            continue;
        }
        // SAFETY: offsets come from `Pixel::tap` (rows of `c` inside the input) and
        // filter rows `t · c` with `t < taps`; channel blocks end at or before `c`.
        unsafe {
            let mut c0 = 0;
            while c0 + 32 <= c {
                depthwise_block::<4>(act, x, w, bias, y, &at[..n], &wt[..n], row, c0);
                c0 += 32;
            }
            while c0 + 8 <= c {
                depthwise_block::<1>(act, x, w, bias, y, &at[..n], &wt[..n], row, c0);
                c0 += 8;
            }
            if c0 < c {
                depthwise_pixel_scalar(p, act, x, w, bias, y, &px, row, c0);
            }
        }
    }
}

/// Channels `c0..c0 + 8V` of one output pixel.
///
/// # Safety
/// `at`/`wt` hold valid input rows and filter rows, `c0 + 8V` is within the channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn depthwise_block<const V: usize>(
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    at: &[usize],
    wt: &[usize],
    row: usize,
    c0: usize,
) {
    unsafe {
        let mut acc = [_mm256_setzero_ps(); V];
        if !bias.is_empty() {
            for (v, a) in acc.iter_mut().enumerate() {
                *a = _mm256_loadu_ps(bias.as_ptr().add(c0 + 8 * v));
            }
        }
        for (&o, &f) in at.iter().zip(wt) {
            let (xp, wp) = (x.as_ptr().add(o + c0), w.as_ptr().add(f + c0));
            for (v, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(_mm256_loadu_ps(xp.add(8 * v)), _mm256_loadu_ps(wp.add(8 * v)), *a);
            }
        }
        let (lo, hi) = (_mm256_set1_ps(act.min), _mm256_set1_ps(act.max));
        let yp = y.as_mut_ptr().add(row + c0);
        for (v, &a) in acc.iter().enumerate() {
            _mm256_storeu_ps(yp.add(8 * v), clamp8(a, lo, hi));
        }
    }
}

/// Channels `c0..` of one output pixel, one at a time (the portable twin's arithmetic).
#[allow(clippy::too_many_arguments)]
fn depthwise_pixel_scalar(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    px: &Pixel,
    row: usize,
    c0: usize,
) {
    let c = p.in_c;
    for ch in c0..c {
        let mut v = bias.get(ch).copied().unwrap_or(0.0);
        let mut t = 0;
        for ky in 0..p.k_h {
            for kx in 0..p.k_w {
                if let Some(o) = px.tap(p, ky, kx) {
                    v += x.get(o + ch).copied().unwrap_or(0.0) * w.get(t * c + ch).copied().unwrap_or(0.0);
                }
                t += 1;
            }
        }
        if let Some(o) = y.get_mut(row + ch) {
            *o = act.apply(v);
        }
    }
}
