//! The quantised fully-connected layer on Helium: i8 activations and weights, each
//! row of A one pixel of the 1×1 convolution the layer is ([`Gemm::as_pointwise`]),
//! so it runs the convolution's code for consecutive pixels
//! ([`Layer::consecutive`]: four columns per pass of `vmladava.s8`, the vector
//! output stage) over the rows of A in place, with no scratch.

use super::conv::Layer;
use crate::kernels::pack::arm_mve_gemm_weights_len;
use crate::kernels::{Bias, Gemm};
use crate::quant::{QOut, Weight, Q8};

/// Quantised fully-connected layer `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// (one product, B transposed, bias per column, the input zero point already folded
/// into the bias as for the portable kernel), i8: `w` from
/// [`pack::arm_mve_gemm_weights`], `bias` from [`pack::arm_mve::gemm_bias`] (columns
/// padded to a multiple of 4, then the vector output-stage table when the layer
/// takes it). Needs no scratch. Other element types or layouts leave `y` untouched
/// (the compiler never chooses this kernel for them). Never inlined: a model's
/// fully-connected layers share one copy.
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
    let (Some(a), Some(w), Some(y)) = (X::as_i8(a), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let (m, n, k) = (p.m, p.n, p.k);
    if p.batch != 1
        || p.trans_a
        || !p.trans_b
        || p.bias != Bias::PerColumn
        || k == 0
        || a.len() < m * k
        || w.len() < arm_mve_gemm_weights_len(p)
        || y.len() < m * n
    {
        return;
    }
    let Some(layer) = Layer::new(k, n, w, bias, mult, shift, out) else { return };
    // Row `i` of A is pixel `i`'s `k` inputs, row `i` of the result its `n` outputs.
    layer.consecutive(a, y, m);
}
