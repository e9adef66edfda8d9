//! Float pointwise convolutions (1×1, stride 1, no padding) over 8, 16, 32 or 64
//! input channels: each output pixel's receptive field is its own input pixel, `C` floats,
//! so a block of pixels reads one run of the input from one pointer at offsets known
//! at compile time, the `C` multiply-adds unrolled. The generic path
//! ([`super::conv`]) finds each pixel's window and calls the micro-kernel with a
//! pointer per pixel, which on so few multiply-adds per call cost about as much as
//! the arithmetic (VWW fp32's 48×48 8→16 layer: 15.6 → 8.7 µs; its 24×24 32→32 one
//! 15.7 → 12.4 µs, 12×12 64→64 13.7 → 12.5 µs).
//!
//! The sums run from the bias over the input channels in order, one fused
//! multiply-add each, like the generic path's.

use super::conv::{bias_acc, store_f32};
use super::tile::tile_f32_fixed;
use crate::kernels::pack::x86_avx2::{block_width, PIXELS, WIDE};
use crate::kernels::{Clamp, Conv2d};

/// Computes the convolution when it is pointwise over 8, 16, 32 or 64 input channels and
/// returns true; false (output untouched) otherwise.
///
/// The caller ([`super::conv2d_f32`]) has checked the geometry and slice lengths.
pub(super) fn pointwise_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) -> bool {
    if !p.is_pointwise() {
        return false;
    }
    match p.in_c {
        8 => run::<8>(p, act, x, w, bias, y),
        16 => run::<16>(p, act, x, w, bias, y),
        32 => run::<32>(p, act, x, w, bias, y),
        64 => run::<64>(p, act, x, w, bias, y),
        _ => return false,
    }
    true
}

/// Every pixel: output pixel `i` reads input elements `i · K..(i + 1) · K`.
#[inline(never)]
fn run<const K: usize>(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let pixels = p.batch * p.out_h * p.out_w;
    let mut i = 0;
    if p.out_c <= 8 {
        while i + WIDE <= pixels {
            // SAFETY: one block of 8 channels (`out_c ≤ 8`); pixels `i..i + WIDE` exist.
            unsafe { one_vector::<WIDE, K>(p, act, x, w, bias, y, i, 0) };
            i += WIDE;
        }
    }
    while i + PIXELS <= pixels {
        pixels_of::<PIXELS, K>(p, act, x, w, bias, y, i);
        i += PIXELS;
    }
    while i + 2 <= pixels {
        pixels_of::<2, K>(p, act, x, w, bias, y, i);
        i += 2;
    }
    if i < pixels {
        pixels_of::<1, K>(p, act, x, w, bias, y, i);
    }
}

/// Output pixels `i0..i0 + M`, every channel block.
#[inline(always)]
fn pixels_of<const M: usize, const K: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    i0: usize,
) {
    let mut oc0 = 0;
    while oc0 < p.out_c {
        let width = block_width(p.out_c, oc0);
        // SAFETY: pixels `i0..i0 + M` exist, so their inputs (`K` floats each, `K =
        // in_c`) lie within `x`; the entry checks cover the packed weights (`oc0 · K +
        // K · width ≤ round_to(out_c, 8) · K`), the padded bias and the output rows.
        unsafe {
            if width == 16 {
                let mut acc = bias_acc::<M, 2>(bias, oc0);
                tile_f32_fixed::<M, 2, K>(&mut acc, x.as_ptr().add(i0 * K), w.as_ptr().add(oc0 * K));
                store_f32::<M, 2>(p, act, y, &acc, i0, oc0);
            } else {
                one_vector::<M, K>(p, act, x, w, bias, y, i0, oc0);
            }
        }
        oc0 += width;
    }
}

/// Output pixels `i0..i0 + M` × the block of 8 channels starting at `oc0`.
///
/// # Safety
/// Pixels `i0..i0 + M` must exist and `oc0` start a block of 8 channels.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn one_vector<const M: usize, const K: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    i0: usize,
    oc0: usize,
) {
    unsafe {
        let mut acc = bias_acc::<M, 1>(bias, oc0);
        tile_f32_fixed::<M, 1, K>(&mut acc, x.as_ptr().add(i0 * K), w.as_ptr().add(oc0 * K));
        store_f32::<M, 1>(p, act, y, &acc, i0, oc0);
    }
}
