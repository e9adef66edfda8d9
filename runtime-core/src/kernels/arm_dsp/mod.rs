//! Kernels for the Arm DSP extension (Cortex-M4, M7, M33, M55…): packed 16-bit
//! multiply-accumulates (`smlad`: two per instruction) on signed 8-bit data widened
//! with `sxtb16`, through `asm!` (the Rust DSP intrinsics are unstable).
//!
//! Each kernel has the signature of its portable twin, reads its weights in the
//! order [`super::pack`] gives them (the compiler packs them at compile time for the
//! implementation it chose), and returns bit-identical integer results; the kernel
//! suite checks that, natively impossible, in QEMU on every DSP target. The compiler
//! chooses these kernels only for element types and shapes they handle (i8
//! activations, weights and outputs; one-group or depthwise convolutions; the
//! fully-connected layer's layout); for anything else they leave their output
//! untouched. Average pooling sums four channels per instruction pair with
//! `sxtab16`.

mod conv;
mod gemm;
mod insn;
mod pool;
mod requant;

pub use conv::*;
pub use gemm::*;
pub use pool::*;
