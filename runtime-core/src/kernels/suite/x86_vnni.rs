//! The x86-64 AVX-512 VNNI kernel under its portable twin's contract, for the twin
//! checks: the adapter packs the weights and folds the bias as the compiler does for
//! it (`kernels::pack::x86_vnni`), gives it its own scratch, and calls it.

use super::harness::{MAX_CH, N};
use crate::kernels::pack::{self, x86_vnni as pv};
use crate::kernels::{x86_vnni, Conv2d};
use crate::quant::QOut;

/// Room for any packed weight tensor of the suite's wide one-group geometries (a byte
/// a weight, `K` rounded to 4, channels to 8).
const PACKED: usize = 2 * N;

/// Scratch words the adapter gives the kernel.
const SCRATCH: usize = 3 * N;

/// `x86_vnni::conv2d_q8` with portable operands and the scratch it asks for.
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
    acc: &mut [i32],
    y: &mut [i8],
) {
    call(p, x_zp, out, mult, shift, x, w, bias, acc, y, pv::conv_q8_scratch(p));
}

/// `x86_vnni::conv2d_q8` given scratch for its receptive fields only, as a band of a
/// streamed layer may be: no padded copy of the input, the border checked per window.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_q8_fields_only(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [i8],
) {
    let fields = pv::PIXELS * p.k_h * pv::row_words(p.k_w * p.in_c);
    call(p, x_zp, out, mult, shift, x, w, bias, acc, y, fields);
}

/// Packs like the compiler and calls the kernel with `words` of scratch.
#[allow(clippy::too_many_arguments)]
fn call(
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
    words: usize,
) {
    let (k, row) = (p.k_h * p.k_w * p.in_c, p.k_w * p.in_c);
    let (mut wp, mut bp) = ([0i8; PACKED], [0i32; MAX_CH + 8]);
    let zp = pv::folded_zero_point(x_zp);
    if !pv::conv_weights(w, p.out_c, p.k_h, row, &mut wp) || !pack::fold_zero_point(w, bias, p.out_c, k, zp, 8, &mut bp)
    {
        return;
    }
    // The fields (12 pixels' `K` bytes) and, for windows crossing the border, the
    // padded input (at most twice the input, at most `N` bytes).
    let mut scratch = [0i32; SCRATCH];
    let Some(scratch) = scratch.get_mut(..words) else {
        // The geometry outgrew this adapter, not the kernel: leave the output as the
        // kernel would, which the twin check reports (it cannot pass unnoticed).
        return;
    };
    x86_vnni::conv2d_q8::<i8, i8, i8>(p, x_zp, out, mult, shift, x, &wp, &bp, scratch, y);
}
