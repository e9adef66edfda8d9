//! Kernels for Arm Helium, the M-profile Vector Extension (Cortex-M55): 128-bit
//! vectors of 16 signed bytes, `vmladava.s8` summing 16 products into a scalar
//! accumulator per instruction, tail-predicated low-overhead loops (`dlstp`/`letp`),
//! all through `asm!`. The module is compiled when the build targets an MVE core:
//! rustc 1.96 has no `target_feature` name for MVE and reports `neon` for
//! `-C target-cpu=cortex-m55` (no M-profile core has Neon), which is the gate.
//!
//! Each kernel has the signature of its portable twin, reads its weights in the
//! order [`super::pack`] gives them (the compiler packs them at compile time for the
//! implementation it chose), and returns bit-identical integer results; the kernel
//! suite checks that in QEMU on cortex-m55. The compiler chooses these kernels only
//! for element types and shapes they handle (i8 activations, weights and outputs;
//! one-group convolutions; the fully-connected layer's layout); for anything else
//! they leave their output untouched.

mod conv;
mod gemm;
mod insn;

pub use conv::*;
pub use gemm::*;
