//! Float convolutions of image models' first layers (3 input channels, filter rows of
//! 3 taps, stride 1 or 2 along the width): the pixels of an output row whose whole
//! window lies inside the input are computed `M` at a time over all `kH` filter rows
//! in one pass, their inputs addressed from one pointer at offsets known at compile
//! time. The generic path ([`super::conv`]) calls the micro-kernel once per filter row
//! with a pointer per pixel there: on rows of 9 floats (VWW's first layer, 15 % of its
//! float run) the accumulators went through the stack between calls and the call
//! set-up outweighed the 9 multiply-adds per pixel.
//!
//! The sums run from the bias over the filter in `ky, kx, c` order, one fused
//! multiply-add each, like the generic path's.

use super::conv::{bias_acc, pixels_f32, store_f32};
use super::dw_rows::interior_columns;
use crate::kernels::pack::x86_avx2::block_width;
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;

/// Input channels of the layers this path takes.
const C: usize = 3;

/// Taps per filter row of the layers this path takes.
const K_W: usize = 3;

/// Computes the convolution when its geometry is one this path takes (3 input
/// channels, 3 adjacent taps per filter row, stride 1 or 2 along the width) and
/// returns true; false (output untouched) otherwise.
///
/// The caller ([`super::conv2d_f32`]) has checked the geometry and slice lengths.
pub(super) fn stem_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) -> bool {
    if p.in_c != C || p.k_w != K_W || p.dil_w != 1 {
        return false;
    }
    match p.stride_w {
        1 => rows::<{ C }>(p, act, x, w, bias, y),
        2 => rows::<{ 2 * C }>(p, act, x, w, bias, y),
        _ => return false,
    }
    true
}

/// Every output row: interior pixels in blocks, the rest through the generic path.
/// `STEP` is the distance in floats between adjacent output pixels' windows.
#[inline(never)]
fn rows<const STEP: usize>(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let ext_h = p.k_h.saturating_sub(1) * p.dil_h;
    let (ox_lo, ox_hi) = interior_columns(p);
    let wide = p.out_c <= 8;
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
            let inside = iy0 >= 0 && iy0 as usize + ext_h < p.in_h;
            let row = (n * p.out_h + oy) * p.out_w;
            let (lo, hi) = if inside { (ox_lo, ox_hi) } else { (p.out_w, p.out_w) };
            for ox in (0..lo.min(p.out_w)).chain(hi..p.out_w) {
                pixels_f32::<1>(p, act, x, w, bias, y, row + ox);
            }
            if lo >= hi {
                continue;
            }
            // The first input element of pixel `lo`'s window: inside the input (its row
            // `iy0 ≥ 0`, its column `lo · sW − pad_left ≥ 0` by `interior_columns`).
            let first = ((n * p.in_h + iy0 as usize) * p.in_w + lo * p.stride_w - p.pad_left) * C;
            let mut ox = lo;
            if wide {
                while ox + 12 <= hi {
                    // SAFETY: one block of 8 channels (`out_c ≤ 8`), windows inside.
                    unsafe { one_vector::<12, STEP>(p, act, x, w, bias, y, first + (ox - lo) * STEP, row + ox, 0) };
                    ox += 12;
                }
            }
            // 4 pixels × 16 channels: with 6 (the generic tile's), LLVM kept some of the
            // 12 accumulators on the stack across the unrolled taps (ResNet-8's first
            // layer: 23.0 µs; 12.0 µs so).
            while ox + 4 <= hi {
                pixels::<4, STEP>(p, act, x, w, bias, y, first + (ox - lo) * STEP, row + ox);
                ox += 4;
            }
            while ox + 2 <= hi {
                pixels::<2, STEP>(p, act, x, w, bias, y, first + (ox - lo) * STEP, row + ox);
                ox += 2;
            }
            if ox < hi {
                pixels::<1, STEP>(p, act, x, w, bias, y, first + (ox - lo) * STEP, row + ox);
            }
        }
    }
}

/// Interior output pixels `i0..i0 + M` of one row (the first one's window starting at
/// input element `at`), every channel block: 16 channels in two vectors of
/// accumulators, a last block of 8 in one.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn pixels<const M: usize, const STEP: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    at: usize,
    i0: usize,
) {
    let k = p.k_h * K_W * C;
    let mut oc0 = 0;
    while oc0 < p.out_c {
        let width = block_width(p.out_c, oc0);
        // SAFETY: the windows of pixels `i0..i0 + M` lie inside the input (interior
        // rows and columns), so every read of `block` is within `x`; the entry checks
        // cover the packed weights (`oc0 · k + k · width ≤ round_to(out_c, 8) · k`),
        // the padded bias and the output rows.
        unsafe {
            if width == 16 {
                let mut acc = bias_acc::<M, 2>(bias, oc0);
                block::<M, 2, STEP>(p, &mut acc, x.as_ptr().add(at), w.as_ptr().add(oc0 * k));
                store_f32::<M, 2>(p, act, y, &acc, i0, oc0);
            } else {
                one_vector::<M, STEP>(p, act, x, w, bias, y, at, i0, oc0);
            }
        }
        oc0 += width;
    }
}

/// Interior output pixels `i0..i0 + M` × the last block of 8 channels, starting at
/// `oc0` (12 pixels at a time when the layer has at most 8 channels).
///
/// # Safety
/// As [`pixels`]'s block: the windows inside the input, `oc0` the start of a block of
/// 8 channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn one_vector<const M: usize, const STEP: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    at: usize,
    i0: usize,
    oc0: usize,
) {
    let k = p.k_h * K_W * C;
    unsafe {
        let mut acc = bias_acc::<M, 1>(bias, oc0);
        block::<M, 1, STEP>(p, &mut acc, x.as_ptr().add(at), w.as_ptr().add(oc0 * k));
        store_f32::<M, 1>(p, act, y, &acc, i0, oc0);
    }
}

/// `acc[m] += Σ` over the filter rows and their `K_W · C` taps: input row `ky` of
/// pixel `m` at `x + ky · dH · W · C + m · STEP`, weights `w` packed `[kH·K_W·C][8V]`
/// for this block.
///
/// # Safety
/// Every pixel's window must be inside the input that `x` points into, and `w` must
/// hold the block's packed weights.
#[inline(always)]
unsafe fn block<const M: usize, const V: usize, const STEP: usize>(
    p: &Conv2d,
    acc: &mut [[__m256; V]; M],
    x: *const f32,
    w: *const f32,
) {
    unsafe {
        let mut a = *acc;
        let down = p.dil_h * p.in_w * C;
        let width = 8 * V;
        let mut xr = x;
        let mut wp = w;
        for _ in 0..p.k_h {
            for t in 0..K_W * C {
                let mut wv = [_mm256_setzero_ps(); V];
                for (v, r) in wv.iter_mut().enumerate() {
                    *r = _mm256_loadu_ps(wp.add(t * width + 8 * v));
                }
                for m in 0..M {
                    let b = _mm256_broadcast_ss(&*xr.add(m * STEP + t));
                    for v in 0..V {
                        a[m][v] = _mm256_fmadd_ps(b, wv[v], a[m][v]);
                    }
                }
            }
            xr = xr.add(down);
            wp = wp.add(K_W * C * width);
        }
        *acc = a;
    }
}
