//! Kernels and the parameter types generated code passes to them.
//!
//! [`portable`] holds the reference implementation of every kernel in plain Rust; it
//! runs everywhere. Per-ISA kernels live beside it in their own modules, gated by
//! `cfg(target_arch/target_feature)`, each with a portable twin that the test suite
//! checks it against. The compiler picks the module for the target at compile time.
//!
//! `suite` (built for the crate's tests, or with the `kernel-suite` feature) checks
//! every kernel on random geometry against a naive reference, and every per-ISA kernel
//! against its portable twin, natively or on the target itself.

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
pub mod arm_dsp;
#[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
pub mod arm_mve;
pub mod inplace;
pub mod pack;
mod params;
pub mod portable;
pub mod stream;
#[cfg(any(test, feature = "kernel-suite"))]
pub mod suite;
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
pub mod x86_avx2;
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma",
    target_feature = "avx512bw",
    target_feature = "avx512vl",
    target_feature = "avx512vnni"
))]
#[clippy::msrv = "1.89"]
pub mod x86_vnni;

pub use params::*;
