//! Portable reference kernels: plain Rust, any target. Every kernel returns at once,
//! touching nothing, when its slices are shorter than its parameters require; inner
//! loops run over exact-length row slices so they need no bounds checks. Kernels avoid
//! `step_by` and zipped `chunks_exact`, whose out-of-line size arithmetic keeps panic
//! paths the optimiser cannot remove; the no_std test proves none remains.

mod bitwise;
mod conv;
mod copy;
mod cumulative;
mod elementwise;
mod float;
mod format;
mod gemm;
mod int8;
mod logic;
mod lstm;
mod ml;
mod pool;
mod reduce;
mod resample;
mod sample;
mod scatter;
mod topk;

pub use bitwise::*;
pub use conv::*;
pub use copy::*;
pub use cumulative::*;
pub use elementwise::*;
pub use float::*;
pub use format::*;
pub use gemm::*;
pub use int8::*;
pub use logic::*;
pub use lstm::*;
pub use ml::*;
pub use pool::*;
pub use reduce::*;
pub use resample::*;
pub use sample::*;
pub use scatter::*;
pub use topk::*;

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
