//! The Arm DSP kernels under their portable twins' contracts, for the twin checks:
//! each adapter repacks the weights and bias as the compiler does for that kernel
//! (`kernels::pack`), gives it its own scratch, and calls it.

use super::harness::{MAX_CH, N};
use crate::kernels::{arm_dsp, pack, Conv2d, Gemm};
use crate::quant::QOut;

/// Room for any packed weight tensor of the suite's geometries.
const PACKED: usize = 2 * N + 4 * MAX_CH + 64;

/// Room for the packed weights of any of the suite's fully-connected geometries: a
/// long row (up to `N` inputs) feeding 1 to 4 columns packs to 4 columns of it.
const GEMM_PACKED: usize = 4 * N + 64;

/// `arm_dsp::conv2d_q8` with portable operands.
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
    // Word-aligned weights, as the compiler aligns them (the kernels read words); the
    // bias operand carries the folded bias and the output-stage table.
    let (mut words, mut bp) = ([0i32; PACKED / 4], [0i32; 5 * (MAX_CH + 2)]);
    let wp = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(&mut words[..]));
    let paired = pack::arm_dsp_conv2d_paired(p, mult, shift, out);
    if !pack::arm_dsp_conv2d_weights(w, p, paired, wp)
        || !pack::arm_dsp_conv2d_bias(w, bias, p, x_zp, mult, shift, out, &mut bp)
    {
        return;
    }
    let mut scratch = [0i32; 3 * N / 2 + 4 * MAX_CH + 64];
    arm_dsp::conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, wp, &bp, &mut scratch, y);
}

/// `arm_dsp::depthwise_conv2d_q8` with portable operands (weights already `kH,kW,C`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn depthwise_conv2d_q8(
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
    let taps = p.k_h * p.k_w;
    let (mut bp, mut words) = ([0i32; 5 * (MAX_CH + 4)], [0i32; (2 * N + 64) / 4]);
    let wp = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(&mut words[..]));
    if !pack::arm_dsp_depthwise_bias(w, bias, p, x_zp, mult, shift, out, &mut bp)
        || !pack::arm_dsp_depthwise_weights(w, p.in_c, taps, wp)
    {
        return;
    }
    let mut scratch = [0i32; 4 * (MAX_CH + 4) + 64];
    arm_dsp::depthwise_conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, wp, &bp, &mut scratch, y);
}

/// `arm_dsp::gemm_q8` with portable operands, packed as the compiler packs them (not
/// at all for a layer the kernel runs rolled, `pack::arm_dsp_gemm_rolled`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_q8(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[i8],
    w: &[i8],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [i8],
) {
    if pack::arm_dsp_gemm_rolled(p) {
        arm_dsp::gemm_q8::<i8, i8, i8>(p, out, mult, shift, a, w, bias, acc, y);
        return;
    }
    gemm_q8_packed(p, out, mult, shift, a, w, bias, acc, y)
}

/// `arm_dsp::gemm_q8_packed` (the packed path, whatever the layer's size) with
/// portable operands.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_q8_packed(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[i8],
    w: &[i8],
    bias: &[i32],
    _acc: &mut [i32],
    y: &mut [i8],
) {
    let (mut words, mut bp) = ([0i32; GEMM_PACKED / 4], [0i32; MAX_CH + 4]);
    let wp = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(&mut words[..]));
    if !pack::arm_dsp_gemm_weights(w, p.n, p.k, wp) {
        return;
    }
    bp.iter_mut().zip(bias).for_each(|(b, &v)| *b = v);
    let mut scratch = [0i32; N / 2 + 16];
    arm_dsp::gemm_q8_packed::<i8, i8, i8>(p, out, mult, shift, a, wp, &bp, &mut scratch, y);
}
