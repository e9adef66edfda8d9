//! Kernels for x86-64 with AVX2 and FMA (`x86-64-v3` and later): register-blocked
//! micro-kernels computing 6 output pixels × 16 output channels at once over weights
//! the compiler packed for them ([`super::pack::x86_avx2`]).
//!
//! The module exists only when the crate is compiled with both features enabled
//! (`-C target-cpu=x86-64-v3`, or `-C target-feature=+avx2,+fma`), so every
//! intrinsic here runs on a CPU that has it: code generated for the `x86-64-v3`
//! target names this module, and does not build without the features rather than
//! running something else.
//!
//! Each kernel has the signature of its portable twin and leaves its output untouched
//! when the slices disagree with the geometry. Integer results are bit-identical to
//! the twin's (zero points folded into the bias at compile time, the same
//! requantisation, vectorised in 64 bits); float results differ only by rounding
//! (fused multiply-adds, another summation order). The kernel suite checks both.

mod band;
mod conv;
mod dw_rows;
mod dw_rows_q8;
mod gemm;
mod pointwise;
mod q8;
mod stem;
mod tile;
mod wino;
mod wino2d;

pub use conv::*;
pub use gemm::*;
pub use q8::*;

// Shared with the AVX-512 VNNI kernels (`super::x86_vnni`), which build on these.
#[cfg(all(target_feature = "avx512bw", target_feature = "avx512vl", target_feature = "avx512vnni"))]
pub(crate) use {
    conv::Pixel,
    dw_rows::inside_taps,
    q8::{bias_block, Stage},
    tile::array,
};
