//! Portable reference kernels: plain Rust, any target. Every kernel returns at once,
//! touching nothing, when its slices are shorter than its parameters require; inner
//! loops run over exact-length row slices so they need no bounds checks.

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
#[inline(always)]
pub(crate) fn tap_range(tap: usize, pad: usize, stride: usize, len: usize, out: usize) -> (usize, usize) {
    // o * stride >= pad - tap  and  o * stride < len + pad - tap
    let lo = if pad > tap { (pad - tap).div_ceil(stride) } else { 0 };
    let limit = len + pad;
    let hi = if limit > tap { (limit - tap).div_ceil(stride) } else { 0 };
    (lo.min(out), hi.min(out).max(lo.min(out)))
}
