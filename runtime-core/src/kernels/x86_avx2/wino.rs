//! Float 3×3 convolutions (stride and dilation 1, one group) as a 1-D Winograd
//! F(2,3) along the width: each pair of output pixels of a row and filter row takes 4
//! multiply-adds per input channel instead of 6, a third fewer in all.
//!
//! For the pixel pair starting at padded input column `2t` of a filter row, inputs
//! `d0..d3` (columns `2t..2t + 4`), the filter row `g0, g1, g2` is packed transformed
//! (`g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2, g2`,
//! [`crate::kernels::pack::x86_avx2::conv_weights_f32_winograd`]) and the inputs are
//! transformed on the fly: `m0 = (d0 − d2)·G0`, `m1 = (d1 + d2)·G1`, `m2 = (d2 −
//! d1)·G2`, `m3 = (d1 − d3)·G3`, each summed over the three filter rows and the
//! input channels; then `y(2t) = m0 + m1 + m2` and `y(2t + 1) = m1 − m2 − m3`. The
//! input rows come from a zero-padded band ([`super::band`]), so no pixel is at an
//! edge; each output row's inputs are transformed once, 8 channels at a time, into a
//! second buffer that the micro-kernel ([`super::tile::tile_f32`]) reads as it reads a
//! filter row: transforming inside the micro-kernel left LLVM subtracting scalars and
//! broadcasting them from registers, which competes with the multiply-adds (no
//! faster than the direct sum).
//!
//! The result is the convolution's up to rounding, which differs from the direct
//! sum's (other intermediate values: the transformed weights are rounded once from
//! `f64`).

use super::band::{run, Layout};
use super::conv::{bias_acc, store_f32};
use super::tile::{array, tile_f32};
use crate::kernels::pack::x86_avx2::{block_width, winograd, winograd_pitch, PIXELS, WINOGRAD_INPUTS};
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;
use core::mem::MaybeUninit;

/// Computes the convolution when [`winograd`] takes `p` (its weights are then packed
/// for this path) and returns true; false (output untouched) otherwise.
///
/// The caller ([`super::conv2d_f32`]) has checked the geometry and slice lengths
/// (the weights' against `conv_weights_f32_len_of`).
#[inline(never)]
pub(super) fn winograd_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) -> bool {
    if !winograd(p) {
        return false;
    }
    let Some(l) = Layout::with(p, winograd_pitch(p)) else { return false };
    let pairs = p.out_w.div_ceil(2);
    let mut u = MaybeUninit::<[f32; WINOGRAD_INPUTS]>::uninit();
    let up = u.as_mut_ptr() as *mut f32;
    run(p, x, l, |buf, row, first, out_rows| {
        for r in 0..out_rows {
            // SAFETY: output row `r` of the chunk reads buffer rows `r..r + 3`, all
            // inside the chunk's band; its pairs read columns `0..2 · pairs + 2 ≤
            // pitch`; `winograd` keeps the transformed inputs, `12 · pairs · C`
            // floats, within `u`, and `transform` writes all of them before the
            // products read them. The entry checks cover the weights, the bias and
            // the output.
            unsafe {
                transform(buf.add(r * row), row, p.in_c, pairs, up);
                pairs_of_row(p, act, up, w, bias, y, first + r * p.out_w, pairs);
            }
        }
    });
    true
}

/// The transformed inputs of one output row's `pairs` pairs, from its three padded
/// input rows at `x` (`row` floats apart) into `u`: input `J` (`d0 − d2`, `d1 + d2`,
/// `d2 − d1`, `d1 − d3`) of pair `t`, filter row `ky`, channel `ch` at `u + (J ·
/// pairs + t) · 3C + ky · C + ch`, so that each pair's `3C` inputs of one transform
/// are a contiguous run, as the micro-kernel reads them.
///
/// # Safety
/// `c` must be a multiple of 8, `x` hold the three rows' `2 · pairs + 2` columns of
/// `c` floats, `u` be writable for `12 · pairs · c` floats.
#[inline(always)]
unsafe fn transform(x: *const f32, row: usize, c: usize, pairs: usize, u: *mut f32) {
    unsafe {
        let run = 3 * c;
        let plane = pairs * run;
        let (mut src, mut dst) = (x, u);
        for _ in 0..pairs {
            let (mut d, mut to) = (src, dst);
            for _ in 0..3 {
                let mut ch = 0;
                while ch < c {
                    let d0 = _mm256_loadu_ps(d.add(ch));
                    let d1 = _mm256_loadu_ps(d.add(c + ch));
                    let d2 = _mm256_loadu_ps(d.add(2 * c + ch));
                    let d3 = _mm256_loadu_ps(d.add(3 * c + ch));
                    _mm256_storeu_ps(to.add(ch), _mm256_sub_ps(d0, d2));
                    _mm256_storeu_ps(to.add(plane + ch), _mm256_add_ps(d1, d2));
                    _mm256_storeu_ps(to.add(2 * plane + ch), _mm256_sub_ps(d2, d1));
                    _mm256_storeu_ps(to.add(3 * plane + ch), _mm256_sub_ps(d1, d3));
                    ch += 8;
                }
                d = d.add(row);
                to = to.add(c);
            }
            src = src.add(2 * c);
            dst = dst.add(run);
        }
    }
}

/// The `pairs` pixel pairs of one output row (output pixels `first..`) from their
/// transformed inputs `u`: every channel block, the pairs in blocks of [`PIXELS`] (4
/// when two would be left), 4, 2 and 1.
///
/// # Safety
/// As [`winograd_f32`]'s closure, `u` written by [`transform`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pairs_of_row(
    p: &Conv2d,
    act: Clamp,
    u: *const f32,
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    pairs: usize,
) {
    unsafe {
        let k = 12 * p.in_c;
        let mut oc0 = 0;
        while oc0 < p.out_c {
            let width = block_width(p.out_c, oc0);
            let wb = w.as_ptr().add(oc0 * k);
            let mut t = 0;
            if width == 16 {
                while t + PIXELS <= pairs {
                    if (pairs - t) % PIXELS == 2 && pairs - t >= 8 {
                        pairs_f32::<4, 2>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                        t += 4;
                    } else {
                        pairs_f32::<PIXELS, 2>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                        t += PIXELS;
                    }
                }
                while t + 4 <= pairs {
                    pairs_f32::<4, 2>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                    t += 4;
                }
                while t + 2 <= pairs {
                    pairs_f32::<2, 2>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                    t += 2;
                }
                if t < pairs {
                    pairs_f32::<1, 2>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                }
            } else {
                while t + 8 <= pairs {
                    pairs_f32::<8, 1>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                    t += 8;
                }
                while t + 4 <= pairs {
                    pairs_f32::<4, 1>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                    t += 4;
                }
                while t < pairs {
                    pairs_f32::<1, 1>(p, act, u, pairs, wb, bias, y, first, t, oc0);
                    t += 1;
                }
            }
            oc0 += width;
        }
    }
}

/// Pairs `t0..t0 + M` of the row × channels `oc0..oc0 + 8V` (the block's weights at
/// `w`): the four products `m0..m3`, then the output transform, clamp and store
/// (the second pixel of the last pair only when the row has it).
///
/// # Safety
/// As [`pairs_of_row`]'s, with `t0 + M` at most the row's pairs.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn pairs_f32<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    u: *const f32,
    pairs: usize,
    w: *const f32,
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    t0: usize,
    oc0: usize,
) {
    unsafe {
        let run = 3 * p.in_c;
        let plane = pairs * run;
        let part = run * 8 * V;
        let mut m = [[[_mm256_setzero_ps(); V]; M]; 4];
        // m1 starts from the bias (it is in both outputs with weight 1).
        m[1] = bias_acc::<M, V>(bias, oc0);
        for (j, mj) in m.iter_mut().enumerate() {
            let xs = array(u, |i| u.add(j * plane + (t0 + i) * run));
            tile_f32::<M, V>(mj, &xs, w.add(j * part), run);
        }
        for i in 0..M {
            let mut y0 = [_mm256_setzero_ps(); V];
            let mut y1 = [_mm256_setzero_ps(); V];
            for v in 0..V {
                y0[v] = _mm256_add_ps(_mm256_add_ps(m[0][i][v], m[1][i][v]), m[2][i][v]);
                y1[v] = _mm256_sub_ps(_mm256_sub_ps(m[1][i][v], m[2][i][v]), m[3][i][v]);
            }
            let ox = 2 * (t0 + i);
            store_f32::<1, V>(p, act, y, &[y0], first + ox, oc0);
            if ox + 1 < p.out_w {
                store_f32::<1, V>(p, act, y, &[y1], first + ox + 1, oc0);
            }
        }
    }
}
