//! Kernels and the parameter types generated code passes to them.
//!
//! [`portable`] holds the reference implementation of every kernel in plain Rust; it
//! runs everywhere. Per-ISA kernels live beside it in their own modules, gated by
//! `cfg(target_arch/target_feature)`, each with a portable twin that the test suite
//! checks it against. The compiler picks the module for the target at compile time.

mod params;
pub mod portable;

pub use params::*;
