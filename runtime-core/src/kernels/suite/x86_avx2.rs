//! The x86-64 AVX2/FMA kernels under their portable twins' contracts, for the twin
//! checks: each adapter packs the weights and bias as the compiler does for that
//! kernel (`kernels::pack::x86_avx2`), gives it its own scratch, and calls it.

use super::harness::{MAX_CH, N};
use crate::kernels::pack::{self, x86_avx2 as px};
use crate::kernels::{x86_avx2, Clamp, Conv2d};
use crate::quant::QOut;

/// Room for any packed float weight tensor of the suite's wide one-group geometries
/// (they keep `round_to(out_c, 8) · (K + 1) ≤ N`) and of its Winograd ones.
const PACKED_F32: usize = if N > super::conv::PACKED_WINOGRAD { N } else { super::conv::PACKED_WINOGRAD };

/// Room for any packed 8-bit weight tensor (16 bits a weight, `K` rounded to pairs).
const PACKED_Q8: usize = 2 * N;

/// `x86_avx2::conv2d_f32` with portable operands.
pub(crate) fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let mut wp = [0.0f32; PACKED_F32];
    let mut bp = [0.0f32; MAX_CH + 8];
    if !px::conv_weights_f32_of(p, w, &mut wp) {
        return;
    }
    bp.iter_mut().zip(bias).for_each(|(b, &v)| *b = v);
    x86_avx2::conv2d_f32(p, act, x, &wp, &bp, y);
}

/// The 1-D Winograd path of `x86_avx2::conv2d_f32` with portable operands (the
/// weights packed for it): the 2-D path takes every layer of the suite's size that
/// the 1-D one would.
pub(crate) fn conv2d_f32_winograd_1d(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let mut wp = [0.0f32; PACKED_F32];
    let mut bp = [0.0f32; MAX_CH + 8];
    if !px::conv_weights_f32_winograd(w, p.out_c, p.in_c, &mut wp) {
        return;
    }
    bp.iter_mut().zip(bias).for_each(|(b, &v)| *b = v);
    x86_avx2::conv2d_f32_winograd_1d(p, act, x, &wp, &bp, y);
}

/// `x86_avx2::conv2d_q8` with portable operands.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_q8(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    _acc: &mut [i32],
    y: &mut [i8],
) {
    let k = p.k_h * p.k_w * p.in_c;
    let (mut wp, mut bp) = ([0i8; PACKED_Q8], [0i32; MAX_CH + 8]);
    if !px::conv_weights_q8(w, p.out_c, k, &mut wp) || !pack::fold_zero_point(w, bias, p.out_c, k, x_zp, 8, &mut bp) {
        return;
    }
    let mut scratch = [0i32; N];
    x86_avx2::conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, &wp, &bp, &mut scratch, y);
}
