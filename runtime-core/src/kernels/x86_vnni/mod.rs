//! Kernels for x86-64 with AVX-512 VNNI (the `x86-64-v4-vnni` target): the 8-bit
//! convolution with one group, on `vpdpbusd`, which multiplies four unsigned bytes by
//! four signed bytes and adds the four products to a 32-bit lane in one instruction
//! (the AVX2 kernel's `vpmaddwd` + `vpaddd` do two products per lane in two). The
//! vectors stay 256 bits wide (AVX-512 VL): the gain is in products per instruction
//! and in the 32 vector registers, not in wider vectors.
//!
//! The module exists only when the crate is compiled with AVX2, FMA and AVX-512
//! BW/VL/VNNI (`-C target-cpu=x86-64-v4 -C target-feature=+avx512vnni`); code
//! generated for `x86-64-v4-vnni` names it and does not build without them. It builds
//! on the AVX2 kernels' pixel walk and output stage ([`super::x86_avx2`]); the other
//! kernels of that target are the AVX2 ones.
//!
//! Each kernel has the signature of its portable twin, leaves its output untouched
//! when the slices disagree with the geometry, and gives bit-identical results (the
//! kernel suite checks it).
//!
//! Rust 1.89 stabilised the AVX-512 intrinsics and target features, so this module
//! needs it, although the crate's minimum is 1.88: an older compiler cannot enable
//! the features that compile the module in (its declaration tells clippy so).

mod conv;

pub use conv::*;
