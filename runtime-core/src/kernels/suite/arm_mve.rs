//! The Helium kernels under their portable twins' contracts, for the twin checks:
//! each adapter repacks the weights and bias as the compiler does for that kernel
//! (`kernels::pack`), gives it its own scratch, and calls it.

use super::harness::{MAX_CH, N};
use crate::kernels::{arm_mve, pack, Conv2d, Gemm};
use crate::quant::QOut;

/// Room for any packed weight tensor of the suite's geometries: each channel's
/// receptive field padded to 16 inputs, channels to a multiple of 4.
const PACKED: usize = N + 16 * (MAX_CH + 4) + 4 * N;

/// `arm_mve::conv2d_q8` with portable operands.
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
    // Word-aligned weights, as the compiler aligns them; the bias operand carries the
    // folded bias and the vector output-stage table.
    let (mut words, mut bp) = ([0i32; PACKED / 4], [0i32; 5 * (MAX_CH + 4)]);
    let wp = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(&mut words[..]));
    if !pack::arm_mve_conv2d_weights(w, p, wp)
        || !pack::arm_mve::conv2d_bias(w, bias, p, x_zp, mult, shift, out, &mut bp)
    {
        return;
    }
    let mut scratch = [0i32; 4 * (MAX_CH + 4) + N / 4 + 16];
    // Exactly the operand's length: a table's presence is what selects the vector path.
    let bp = bp.get(..pack::arm_mve::conv2d_bias_len(w, bias, p, x_zp, mult, shift, out)).unwrap_or(&[]);
    arm_mve::conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, wp, bp, &mut scratch, y);
}

/// Room for any packed fully-connected weight tensor of the suite's geometries
/// (`n · k ≤ N`): columns padded to a multiple of 4, rows to 16 inputs.
const GEMM_PACKED: usize = 4 * N + 64;

/// `arm_mve::gemm_q8` with portable operands.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_q8(
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
    let (mut words, mut bp) = ([0i32; GEMM_PACKED / 4], [0i32; 5 * (MAX_CH + 4)]);
    let wp = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(&mut words[..]));
    if !pack::arm_mve_gemm_weights(w, p, wp) || !pack::arm_mve::gemm_bias(w, bias, p, mult, shift, out, &mut bp) {
        return;
    }
    // Exactly the operand's length: a table's presence is what selects the vector
    // path. No scratch: the kernel reads the rows of A in place.
    let bp = bp.get(..pack::arm_mve::gemm_bias_len(w, bias, p, mult, shift, out)).unwrap_or(&[]);
    arm_mve::gemm_q8::<i8, i8, i8>(p, out, mult, shift, a, wp, bp, &mut [], y);
}

/// `arm_mve::depthwise_conv2d_q8` with portable operands (weights already `kH,kW,C`).
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
    let (mut bp, mut wp) = ([0i32; 5 * (MAX_CH + 8)], [0i8; N + 8 * 32]);
    if !pack::arm_mve::depthwise_bias(w, bias, p, x_zp, mult, shift, out, &mut bp)
        || !pack::arm_mve_depthwise_weights(w, p.in_c, taps, &mut wp)
    {
        return;
    }
    let mut scratch = [0i32; 4 * (MAX_CH + 8) + 64];
    // Exactly the operand's length: a table's presence is what selects the vector path.
    let bp = bp.get(..pack::arm_mve::depthwise_bias_len(w, bias, p, x_zp, mult, shift, out)).unwrap_or(&[]);
    arm_mve::depthwise_conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, &wp, bp, &mut scratch, y);
}
