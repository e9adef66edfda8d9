//! The quantised fully-connected layer on Helium: i8 activations and weights, run as
//! the 1×1 convolution it is ([`Gemm::as_pointwise`]: each row of A a pixel, each
//! column of the result an output channel), so it shares [`conv2d_q8`]'s
//! four-columns-per-pass `vmladava.s8` loop and vector output stage, reading the
//! rows of A in place (no scratch).

use super::conv::conv2d_q8;
use crate::kernels::{Bias, Gemm};
use crate::quant::{QOut, Weight, Q8};

/// Quantised fully-connected layer `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// (one product, B transposed, bias per column, the input zero point already folded
/// into the bias as for the portable kernel), i8: `w` from
/// [`pack::arm_mve_gemm_weights`], `bias` from [`pack::arm_mve::gemm_bias`] (columns
/// padded to a multiple of 4, then the vector output-stage table when the layer
/// takes it). Needs no scratch. Other element types or layouts leave `y` untouched
/// (the compiler never chooses this kernel for them). Never inlined: inlined into
/// `run` with its shapes known, each layer would get its own copy of the
/// convolution.
///
/// [`pack::arm_mve_gemm_weights`]: crate::kernels::pack::arm_mve_gemm_weights
/// [`pack::arm_mve::gemm_bias`]: crate::kernels::pack::arm_mve::gemm_bias
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn gemm_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    _acc: &mut [i32],
    y: &mut [Y],
) {
    if p.batch != 1 || p.trans_a || !p.trans_b || p.bias != Bias::PerColumn {
        return;
    }
    // The convolution checks the operands' lengths against the 1×1 convolution's.
    conv2d_q8::<X, W, Y>(&p.as_pointwise(), 0, out, mult, shift, a, w, bias, &mut [], y);
}
