//! Float 3×3 convolutions (stride and dilation 1, one group) as a 2-D Winograd
//! F(2×2, 3×3): each 2×2 tile of output pixels takes 16 multiply-adds per input and
//! output channel instead of 36, 2.25× fewer.
//!
//! The filters are packed transformed (`U = G g Gᵀ`, 16 values per filter and input
//! channel, [`crate::kernels::pack::x86_avx2::conv_weights_f32_winograd2d`]). Each
//! row of tiles (two output rows) copies its four input rows into a zero-padded
//! buffer, then transforms every tile's 4×4 input patch, 8 channels at a time
//! (`V = Bᵀ d B`, additions only), into a second buffer laid out so that tile `t`'s
//! `C` inputs of transform `j` are one run: `u + (j · tiles + t) · C`. The products
//! are then 16 independent sums over the input channels, `M_j = Σ_c V_j · U_j`, each
//! a call of the micro-kernel ([`super::tile::tile_f32`]) over a block of tiles and
//! output channels, and the tile's outputs `Y = Aᵀ M A` (additions) plus the bias are
//! clamped and stored.
//!
//! With `Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]`, `G = [1 0 0; ½ ½ ½; ½ −½ ½;
//! 0 0 1]`, `Aᵀ = [1 1 1 0; 0 1 −1 −1]`. A last output row or column without its
//! pair reads zeros past the input (the tile's second row or column is computed and
//! dropped). The result is the convolution's up to rounding (the transformed
//! weights are rounded once from `f64`).

use super::band::{fill_rows, zero_sides};
use super::conv::store_f32;
use super::tile::{array, tile_f32};
use crate::kernels::pack::x86_avx2::{
    block_width, winograd2d, winograd_pitch, PIXELS, WINOGRAD2D_INPUTS, WINOGRAD2D_ROWS,
};
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;
use core::mem::MaybeUninit;

/// Computes the convolution when [`winograd2d`] takes `p` (its weights are then
/// packed for this path) and returns true; false (output untouched) otherwise.
///
/// The caller ([`super::conv2d_f32`]) has checked the geometry and slice lengths
/// (the weights' against `conv_weights_f32_len_of`).
#[inline(never)]
pub(super) fn winograd2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) -> bool {
    if !winograd2d(p) || x.len() < p.input_len() {
        return false;
    }
    let c = p.in_c;
    let pitch = winograd_pitch(p);
    let row = pitch * c;
    let tiles = p.out_w.div_ceil(2);
    let (left, inside) = (p.pad_left * c, p.in_w * c);
    let image = p.in_h * inside;
    let mut buf = MaybeUninit::<[f32; WINOGRAD2D_ROWS]>::uninit();
    let bp = buf.as_mut_ptr() as *mut f32;
    let mut u = MaybeUninit::<[f32; WINOGRAD2D_INPUTS]>::uninit();
    let up = u.as_mut_ptr() as *mut f32;
    // SAFETY: `winograd2d` keeps the four padded rows (`4 · pitch · C` floats) within
    // `buf`, and the transformed inputs (`16 · tiles · C`) within `u`; the side
    // columns are zeroed here and the input's columns written for every row of
    // tiles (a copy, or zeros past the input) before `transform` reads them, and
    // `transform` writes every float the products read. Tile `t` reads columns
    // `2t..2t + 4 ≤ pitch`. The entry checks cover the input, the weights, the bias
    // and the output.
    unsafe {
        zero_sides(bp, 4, row, left, inside);
        for n in 0..p.batch {
            let xn = x.as_ptr().add(n * image);
            let mut oy = 0;
            while oy < p.out_h {
                let iy0 = oy as isize - p.pad_top as isize;
                fill_rows(bp, row, left, xn, inside, p.in_h, iy0, 4);
                transform(bp, row, c, tiles, up);
                let rows = (p.out_h - oy).min(2);
                tiles_of_row(p, act, up, w, bias, y, (n * p.out_h + oy) * p.out_w, tiles, rows);
                oy += 2;
            }
        }
    }
    true
}

/// The transformed inputs `V = Bᵀ d B` of a row of `tiles` tiles, from its four
/// padded input rows at `x` (`row` floats apart) into `u`: transform `j = 4a + b`
/// of tile `t`, channel `ch` at `u + (j · tiles + t) · c + ch`.
///
/// # Safety
/// `c` must be a multiple of 8, `x` hold the four rows' `2 · tiles + 2` columns of
/// `c` floats, `u` be writable for `16 · tiles · c` floats.
#[inline(always)]
unsafe fn transform(x: *const f32, row: usize, c: usize, tiles: usize, u: *mut f32) {
    unsafe {
        let plane = tiles * c;
        for t in 0..tiles {
            let src = x.add(2 * t * c);
            let dst = u.add(t * c);
            let mut ch = 0;
            while ch < c {
                // Columns first: for each input row i, t_i = d_i Bᵀ-transformed along x.
                let mut s = [[_mm256_setzero_ps(); 4]; 4];
                for (i, si) in s.iter_mut().enumerate() {
                    let d = src.add(i * row + ch);
                    let d0 = _mm256_loadu_ps(d);
                    let d1 = _mm256_loadu_ps(d.add(c));
                    let d2 = _mm256_loadu_ps(d.add(2 * c));
                    let d3 = _mm256_loadu_ps(d.add(3 * c));
                    *si = [_mm256_sub_ps(d0, d2), _mm256_add_ps(d1, d2), _mm256_sub_ps(d2, d1), _mm256_sub_ps(d1, d3)];
                }
                // Then along y: row a of the result from the four rows' column b.
                for b in 0..4 {
                    let (r0, r1, r2, r3) = (s[0][b], s[1][b], s[2][b], s[3][b]);
                    let v =
                        [_mm256_sub_ps(r0, r2), _mm256_add_ps(r1, r2), _mm256_sub_ps(r2, r1), _mm256_sub_ps(r1, r3)];
                    for (a, va) in v.iter().enumerate() {
                        _mm256_storeu_ps(dst.add((4 * a + b) * plane + ch), *va);
                    }
                }
                ch += 8;
            }
        }
    }
}

/// The `tiles` tiles of one row of tiles (`rows` output rows, 1 or 2, from output
/// pixel `first`) from their transformed inputs `u`: every channel block, the tiles
/// in blocks of [`PIXELS`] (4 when two would be left), 4, 2 and 1.
///
/// # Safety
/// As [`winograd2d_f32`]'s, `u` written by [`transform`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tiles_of_row(
    p: &Conv2d,
    act: Clamp,
    u: *const f32,
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    tiles: usize,
    rows: usize,
) {
    unsafe {
        let k = 16 * p.in_c;
        let mut oc0 = 0;
        while oc0 < p.out_c {
            let width = block_width(p.out_c, oc0);
            let wb = w.as_ptr().add(oc0 * k);
            let mut t = 0;
            if width == 16 {
                while t + PIXELS <= tiles {
                    if (tiles - t) % PIXELS == 2 && tiles - t >= 8 {
                        tiles_f32::<4, 2>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                        t += 4;
                    } else {
                        tiles_f32::<PIXELS, 2>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                        t += PIXELS;
                    }
                }
                while t + 4 <= tiles {
                    tiles_f32::<4, 2>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                    t += 4;
                }
                while t + 2 <= tiles {
                    tiles_f32::<2, 2>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                    t += 2;
                }
                if t < tiles {
                    tiles_f32::<1, 2>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                }
            } else {
                while t + 8 <= tiles {
                    tiles_f32::<8, 1>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                    t += 8;
                }
                while t + 4 <= tiles {
                    tiles_f32::<4, 1>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                    t += 4;
                }
                while t < tiles {
                    tiles_f32::<1, 1>(p, act, u, tiles, wb, bias, y, first, rows, t, oc0);
                    t += 1;
                }
            }
            oc0 += width;
        }
    }
}

/// Tiles `t0..t0 + M` × channels `oc0..oc0 + 8V` (the block's weights at `w`,
/// `[16][C][8V]`): the 16 products, then `Aᵀ M A` plus the bias, clamped and stored
/// (the second row and column of a tile only where the output has them). Not
/// inlined: each block size's 16 sets of accumulators get a frame of their own
/// rather than adding up in the caller's (the kernel suite's stack budget).
///
/// # Safety
/// As [`tiles_of_row`]'s, with `t0 + M` at most the row's tiles.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn tiles_f32<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    u: *const f32,
    tiles: usize,
    w: *const f32,
    bias: &[f32],
    y: &mut [f32],
    first: usize,
    rows: usize,
    t0: usize,
    oc0: usize,
) {
    unsafe {
        let c = p.in_c;
        let plane = tiles * c;
        let part = c * 8 * V;
        let mut m = [[[_mm256_setzero_ps(); V]; M]; 16];
        for (j, mj) in m.iter_mut().enumerate() {
            let xs = array(u, |i| u.add(j * plane + (t0 + i) * c));
            tile_f32::<M, V>(mj, &xs, w.add(j * part), c);
        }
        for i in 0..M {
            let mut out = [[[_mm256_setzero_ps(); V]; 2]; 2];
            for v in 0..V {
                let b = _mm256_loadu_ps(bias.as_ptr().add(oc0 + 8 * v));
                let at = |a: usize, bb: usize| m[4 * a + bb][i][v];
                // Along y: rows 0 and 1 of Aᵀ M, per column.
                let mut r = [[_mm256_setzero_ps(); 4]; 2];
                for bb in 0..4 {
                    r[0][bb] = _mm256_add_ps(_mm256_add_ps(at(0, bb), at(1, bb)), at(2, bb));
                    r[1][bb] = _mm256_sub_ps(_mm256_sub_ps(at(1, bb), at(2, bb)), at(3, bb));
                }
                for (o, ra) in out.iter_mut().zip(r.iter()) {
                    o[0][v] = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(ra[0], ra[1]), ra[2]), b);
                    o[1][v] = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(ra[1], ra[2]), ra[3]), b);
                }
            }
            let ox = 2 * (t0 + i);
            for (dy, o) in out.iter().enumerate().take(rows) {
                let at = first + dy * p.out_w + ox;
                store_f32::<1, V>(p, act, y, &[o[0]], at, oc0);
                if ox + 1 < p.out_w {
                    store_f32::<1, V>(p, act, y, &[o[1]], at + 1, oc0);
                }
            }
        }
    }
}
