//! Portable reference kernels: plain Rust, any target. Every kernel returns at once,
//! touching nothing, when its slices are shorter than its parameters require; inner
//! loops run over exact-length row slices so they need no bounds checks. Kernels avoid
//! `step_by` and zipped `chunks_exact`, whose out-of-line size arithmetic keeps panic
//! paths the optimiser cannot remove; the no_std test proves none remains.

mod conv;
mod copy;
mod elementwise;
mod gemm;
mod int8;
mod logic;
mod lstm;
mod pool;
mod reduce;

pub use conv::*;
pub use copy::*;
pub use elementwise::*;
pub use gemm::*;
pub use int8::*;
pub use logic::*;
pub use lstm::*;
pub use pool::*;
pub use reduce::*;

/// The valid output range `lo..hi` of a sliding window tap: output positions `o` for
/// which `o * stride + tap - pad` lands inside `0..len`.
#[inline(always)]
pub(crate) fn tap_range(tap: usize, pad: usize, stride: usize, len: usize, out: usize) -> (usize, usize) {
    // o * stride >= pad - tap  and  o * stride < len + pad - tap
    let lo = if pad > tap { (pad - tap).div_ceil(stride) } else { 0 };
    let limit = len + pad;
    let hi = if limit > tap { (limit - tap).div_ceil(stride) } else { 0 };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}

/// `f(y[j], x[j · step])` for every `j` while both exist: a strided row without
/// `step_by`, whose step assertion would otherwise be a panic path.
#[inline(always)]
pub(crate) fn strided_zip<X: Copy, Y>(y: &mut [Y], x: &[X], step: usize, mut f: impl FnMut(&mut Y, X)) {
    if step == 1 {
        for (o, &v) in y.iter_mut().zip(x) {
            f(o, v);
        }
        return;
    }
    for (j, o) in y.iter_mut().enumerate() {
        if let Some(&v) = x.get(j.wrapping_mul(step)) {
            f(o, v);
        }
    }
}

/// Geometries the kernel tests share.
#[cfg(test)]
pub(crate) mod test_geometry {
    use crate::kernels::Conv2d;

    /// One channel, 3×3 input, 3×3 kernel, stride 1, padding 1: a 3×3 output.
    pub fn single_3x3_padded() -> Conv2d {
        Conv2d {
            batch: 1,
            in_c: 1,
            in_h: 3,
            in_w: 3,
            out_c: 1,
            out_h: 3,
            out_w: 3,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 1,
            pad_left: 1,
            groups: 1,
        }
    }
}
