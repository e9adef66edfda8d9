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
mod lstm;
mod pool;
mod reduce;

pub use conv::*;
pub use copy::*;
pub use elementwise::*;
pub use gemm::*;
pub use int8::*;
pub use lstm::*;
pub use pool::*;
pub use reduce::*;

/// The valid output range `lo..hi` of a sliding window tap: output positions `o` for
/// which `o * stride + tap - pad` lands inside `0..len`.
/// A zero stride (which every kernel's entry check excludes) gives an empty range.
#[inline(always)]
pub(crate) fn tap_range(tap: usize, pad: usize, stride: usize, len: usize, out: usize) -> (usize, usize) {
    // Division by a NonZero has no panic path; `div_ceil(stride)` kept one wherever the
    // optimiser lost track of the entry check (the integer convolutions on thumbv7em).
    let Some(stride) = core::num::NonZeroUsize::new(stride) else {
        return (0, 0);
    };
    let div_ceil = |a: usize| a / stride + (a % stride != 0) as usize;
    // o * stride >= pad - tap  and  o * stride < len + pad - tap
    let lo = if pad > tap { div_ceil(pad - tap) } else { 0 };
    let limit = len + pad;
    let hi = if limit > tap { div_ceil(limit - tap) } else { 0 };
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

#[cfg(test)]
mod tests {
    extern crate std;
    use super::tap_range;
    use std::vec::Vec;

    #[test]
    fn tap_ranges_match_their_definition_and_a_zero_stride_is_empty() {
        for (tap, pad, stride, len, out) in [(0usize, 2, 1, 1, 1), (1, 1, 2, 5, 3), (4, 0, 3, 7, 3), (0, 0, 1, 4, 4)] {
            let valid: Vec<usize> =
                (0..out).filter(|&o| (o * stride + tap).checked_sub(pad).is_some_and(|i| i < len)).collect();
            let (lo, hi) = tap_range(tap, pad, stride, len, out);
            assert_eq!((lo..hi).collect::<Vec<_>>(), valid, "tap {tap} pad {pad} stride {stride}");
        }
        assert_eq!(tap_range(1, 2, 0, 5, 3), (0, 0));
    }
}
