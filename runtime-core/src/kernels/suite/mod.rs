//! The kernel test suite: every public kernel checked on random geometry and data
//! against a naive reference, and every per-ISA kernel against its portable twin.
//!
//! It is `no_std` and allocation-free like the rest of the runtime, so the same checks
//! run in `cargo test` on the host and inside firmware on a microcontroller or in
//! QEMU: enable the `kernel-suite` feature and call [`run`], e.g.
//!
//! ```text
//! let summary = kernels::suite::run(SEED, 50, &mut |r| if !r.passed() { println!("{r}") });
//! println!("{summary}"); // "60 kernels: 3000 passed, 0 failed"
//! ```
//!
//! The suite's own code cannot panic (no indexing, no unwrapping, no division by a
//! variable, floats in reports formatted with integer arithmetic), so a firmware whose
//! panic handler aborts, or must not exist, can link it.
//!
//! # How a case runs
//!
//! For each kernel and case number, a SplitMix64 generator seeded from `(seed, kernel
//! name, case)` draws a geometry (shapes, strides, pads, dilations, groups,
//! broadcasting, quantisation parameters: multipliers in `[2^30, 2^31)` and shifts in
//! `1..=62` as the compiler emits them, mostly where outputs neither vanish nor
//! saturate) and the data. The kernel writes into output buffers that are prefilled
//! with a sentinel and are a few elements longer than it needs; the expectation starts
//! from the same sentinel, so a write past the output or a skipped element is a
//! mismatch too. A case is reproducible from its seed, kernel and number alone,
//! whatever else runs.
//!
//! # What "equal" means
//!
//! - Integer results (every quantised kernel, data movement, `quantize_f32`,
//!   `quantize_strided_f32`): exact.
//! - Float `+ − × ÷`, max, min, clamps, max pooling, `dequantize_f32`: exact (one f32
//!   rounding, like the f64 reference rounded to f32).
//! - Sums (convolution, GEMM, average pooling, affine maps): within the worst-case
//!   rounding bound of the sum, `(terms + 2) · 2^-23 · Σ|term|` per element.
//! - Everything else within a relative-plus-absolute tolerance stated beside its
//!   check: `dequantize_i32` `2^-22·|want|`; `Pow` `3e-6·|want|`; unary transcendental
//!   functions `5e-7 + 2e-6·|want|`; softmax `5e-6·|want|`, log-softmax
//!   `4e-6 + 1e-6·|want|`; a whole LSTM sequence `1e-6 + 5e-6·|want|`. None is more
//!   than ten times the largest error seen over millions of random cases, and all are
//!   far below what a wrong index or a wrong formula produces. The classic-ML checks
//!   (`ml.rs`), set from 1000 cases per kernel: tree-ensemble averages
//!   `1e-7 + 1e-6·|want|`; score transforms and SVM kernel values `2e-6 + 2e-5·|want|`
//!   (the probit `1e-3`: onnxruntime's erfinv approximation, in f32, cancels near
//!   0.5); coupled SVM probabilities `1e-3` (the iteration's own stopping rule).
//!
//! The references in `reference.rs` follow the ONNX definitions in the most direct
//! way (nested loops over output elements, f64 arithmetic with their own elementary
//! functions, exact integer arithmetic in i64/i128) and call nothing of the kernels,
//! so a bug the two shared could not hide. Integer kernels that define a
//! fixed-point contract of their own (requantisation rounding half up; the averaging
//! pools' rounded division then shift; the softmax table) are checked against that
//! contract, computed exactly.
//!
//! # Memory
//!
//! Each case keeps its tensors in fixed arrays on the stack (1024 elements each, plus
//! a few of slack). The largest case, the float convolution, holds about 21 KiB of
//! buffers (input, weights, output, expectation and per-element tolerance); with the
//! reference's frames the whole suite runs in less than 40 KiB of stack on x86-64 (it
//! overflows 32 KiB). The host test runs it on a thread with a 64 KiB stack, so a
//! change that grows a case past that budget fails there first (128 KiB when the
//! x86-64 AVX2 kernels are built in: their float convolution alone keeps up to 56 KiB
//! of input rows on the stack). Nothing is kept
//! between cases but the 192-byte geometry text.
//!
//! # Adding an ISA kernel
//!
//! Each line of the kernel table below names the check of a kernel family, the
//! kernel's report name and the implementation under test. A per-ISA kernel with the
//! same signature as its portable twin gets one line, gated like its module, that
//! adds `twin = <portable path>`:
//!
//! ```text
//! #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
//! entry!(conv::conv2d_q8, "arm_dsp::conv2d_q8<i8,i8,i8>", arm_dsp::conv2d_q8::<i8, i8, i8>,
//!        twin = portable::conv2d_q8::<i8, i8, i8>),
//! ```
//!
//! Its cases then draw geometry and data exactly as the portable kernel's do, run
//! both kernels on identical inputs and compare the outputs: bit for bit for integer
//! results, with the family's float tolerance otherwise (twice the rounding bound for
//! sums: an ISA kernel may sum in another order or fuse multiply-adds). The portable
//! line stays, so the twin itself keeps being checked against the reference. The
//! host tests show the mechanism on a deliberately wrong kernel checked against its
//! portable twin.

#[cfg(all(target_arch = "arm", target_feature = "dsp"))]
mod arm_dsp;
#[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
mod arm_mve;
mod bitwise;
mod conv;
mod copy;
mod cumulative;
mod elementwise;
mod format;
mod gemm;
mod harness;
mod index;
mod lstm;
mod math64;
mod ml;
mod pool;
mod quant;
mod reduce;
mod reference;
mod stream;
#[cfg(test)]
mod tests;
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
mod x86_avx2;
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "avx2",
    target_feature = "fma",
    target_feature = "avx512bw",
    target_feature = "avx512vl",
    target_feature = "avx512vnni"
))]
mod x86_vnni;

use crate::kernels::portable;
use core::fmt;
use harness::{Rng, Text, Verdict};

/// A value in a mismatch report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// An integer element (or a length).
    Int(i64),
    /// A float element.
    Float(f32),
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Float(v) => write!(f, "{}", harness::Sci(*v)),
        }
    }
}

/// The first element where a kernel's output differs from the expectation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mismatch {
    /// Which output (`"y"`, `"y_h"`, …; `"len(y)"` when lengths differ).
    pub output: &'static str,
    /// Element index within that output.
    pub index: usize,
    /// What the kernel wrote.
    pub got: Num,
    /// What the reference (or the twin) wrote.
    pub want: Num,
}

/// The outcome of one case, handed to the report callback of [`run`].
#[derive(Debug, Clone, Copy)]
pub struct CaseResult<'a> {
    /// The kernel, e.g. `"portable::conv2d_q8<i8,i8,i8>"`.
    pub kernel: &'static str,
    /// The case number (`0..cases`).
    pub case: u32,
    /// The random geometry and parameters, compact (cut at a fixed length).
    pub geometry: &'a str,
    /// `None` when the case passed.
    pub mismatch: Option<Mismatch>,
}

impl CaseResult<'_> {
    /// True when the output matched.
    pub fn passed(&self) -> bool {
        self.mismatch.is_none()
    }
}

impl fmt::Display for CaseResult<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.passed() { "pass" } else { "FAIL" };
        write!(f, "{status} {} #{} [{}]", self.kernel, self.case, self.geometry)?;
        if let Some(m) = &self.mismatch {
            write!(f, ": {}[{}] got {}, want {}", m.output, m.index, m.got, m.want)?;
        }
        Ok(())
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Cases that matched.
    pub passed: u32,
    /// Cases that did not.
    pub failed: u32,
    /// Kernels that ran.
    pub kernels: u32,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} kernels: {} passed, {} failed", self.kernels, self.passed, self.failed)
    }
}

/// One line of the kernel table: a name and the check that draws a case and runs it.
struct Entry {
    name: &'static str,
    check: fn(&mut Rng, &mut Text) -> Verdict,
}

/// `entry!(family check, "report name", implementation)` checks the implementation
/// against the naive reference; `entry!(…, twin = portable path)` checks it against
/// its portable twin on identical inputs instead.
macro_rules! entry {
    ($family:path, $name:expr, $imp:expr) => {
        $crate::kernels::suite::Entry {
            name: $name,
            check: {
                fn check(
                    rng: &mut $crate::kernels::suite::harness::Rng,
                    geo: &mut $crate::kernels::suite::harness::Text,
                ) -> $crate::kernels::suite::harness::Verdict {
                    $family(rng, geo, $imp, $crate::kernels::suite::harness::Want::reference_for(&$imp))
                }
                check
            },
        }
    };
    ($family:path, $name:expr, $imp:expr, twin = $twin:expr) => {
        $crate::kernels::suite::Entry {
            name: $name,
            check: {
                fn check(
                    rng: &mut $crate::kernels::suite::harness::Rng,
                    geo: &mut $crate::kernels::suite::harness::Text,
                ) -> $crate::kernels::suite::harness::Verdict {
                    $family(rng, geo, $imp, $crate::kernels::suite::harness::Want::Twin($twin))
                }
                check
            },
        }
    };
}
#[cfg(test)]
pub(crate) use entry;

/// Every kernel the suite checks. Per-ISA twins go here, gated like their module (see
/// the module docs).
const KERNELS: &[Entry] = &[
    entry!(conv::conv2d_f32, "portable::conv2d_f32", portable::conv2d_f32),
    entry!(conv::conv2d_q8, "portable::conv2d_q8<i8,i8,i8>", portable::conv2d_q8::<i8, i8, i8>),
    entry!(conv::conv2d_q8, "portable::conv2d_q8<u8,i8,u8>", portable::conv2d_q8::<u8, i8, u8>),
    entry!(conv::conv2d_q8, "portable::conv2d_q8<u8,i16,u8>", portable::conv2d_q8::<u8, i16, u8>),
    entry!(conv::conv2d_q8, "portable::conv2d_q8<i8,i16,i8>", portable::conv2d_q8::<i8, i16, i8>),
    entry!(conv::conv2d_q8, "portable::conv2d_q8<u8,i8,i8>", portable::conv2d_q8::<u8, i8, i8>),
    entry!(conv::depthwise_conv2d_f32, "portable::depthwise_conv2d_f32", portable::depthwise_conv2d_f32),
    entry!(
        conv::depthwise_conv2d_q8,
        "portable::depthwise_conv2d_q8<i8,i8,i8>",
        portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    entry!(
        conv::depthwise_conv2d_q8,
        "portable::depthwise_conv2d_q8<u8,i16,u8>",
        portable::depthwise_conv2d_q8::<u8, i16, u8>
    ),
    entry!(
        conv::conv2d_q8_in_place,
        "portable::conv2d_q8<i8,i8,i8> in place",
        portable::conv2d_q8::<i8, i8, i8>,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    entry!(
        conv::conv2d_q8_in_place,
        "portable::conv2d_q8<u8,i8,u8> in place",
        portable::conv2d_q8::<u8, i8, u8>,
        twin = portable::conv2d_q8::<u8, i8, u8>
    ),
    entry!(
        conv::depthwise_conv2d_q8_in_place,
        "portable::depthwise_conv2d_q8<i8,i8,i8> in place",
        portable::depthwise_conv2d_q8::<i8, i8, i8>,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    entry!(
        conv::depthwise_conv2d_q8_in_place,
        "portable::depthwise_conv2d_q8<u8,i16,u8> in place",
        portable::depthwise_conv2d_q8::<u8, i16, u8>,
        twin = portable::depthwise_conv2d_q8::<u8, i16, u8>
    ),
    entry!(
        conv::conv2d_f32_in_place,
        "portable::conv2d_f32 in place",
        portable::conv2d_f32,
        twin = portable::conv2d_f32
    ),
    entry!(
        conv::depthwise_conv2d_f32_in_place,
        "portable::depthwise_conv2d_f32 in place",
        portable::depthwise_conv2d_f32,
        twin = portable::depthwise_conv2d_f32
    ),
    entry!(conv::conv2d_q8_i32, "portable::conv2d_q8_i32<i8,i8>", portable::conv2d_q8_i32::<i8, i8>),
    entry!(conv::conv2d_q8_i32, "portable::conv2d_q8_i32<u8,i8>", portable::conv2d_q8_i32::<u8, i8>),
    entry!(conv::conv2d_q8_i32, "portable::conv2d_q8_i32<u8,i16>", portable::conv2d_q8_i32::<u8, i16>),
    entry!(gemm::gemm_f32, "portable::gemm_f32", portable::gemm_f32),
    entry!(gemm::gemm_q8, "portable::gemm_q8<i8,i8,i8>", portable::gemm_q8::<i8, i8, i8>),
    entry!(gemm::gemm_q8, "portable::gemm_q8<u8,i8,u8>", portable::gemm_q8::<u8, i8, u8>),
    entry!(gemm::gemm_q8, "portable::gemm_q8<u8,i16,u8>", portable::gemm_q8::<u8, i16, u8>),
    entry!(gemm::gemm_q8_i32, "portable::gemm_q8_i32<i8,i8>", portable::gemm_q8_i32::<i8, i8>),
    entry!(gemm::gemm_q8_i32, "portable::gemm_q8_i32<u8,i8>", portable::gemm_q8_i32::<u8, i8>),
    entry!(gemm::gemm_q8_i32, "portable::gemm_q8_i32<u8,i16>", portable::gemm_q8_i32::<u8, i16>),
    entry!(elementwise::binary_f32, "portable::binary_f32", portable::binary_f32),
    entry!(
        elementwise::binary_f32_in_place,
        "portable::binary_f32 in place",
        portable::binary_f32,
        twin = portable::binary_f32
    ),
    entry!(elementwise::clamp_f32, "portable::clamp_f32", portable::clamp_f32),
    entry!(elementwise::unary_f32, "portable::unary_f32", portable::unary_f32),
    entry!(elementwise::add_q8, "portable::add_q8<i8,i8,i8>", portable::add_q8::<i8, i8, i8>),
    entry!(elementwise::add_q8, "portable::add_q8<u8,u8,u8>", portable::add_q8::<u8, u8, u8>),
    entry!(elementwise::add_q8, "portable::add_q8<u8,i8,i8>", portable::add_q8::<u8, i8, i8>),
    entry!(
        elementwise::add_q8_in_place,
        "portable::add_q8<i8,i8,i8> in place",
        portable::add_q8::<i8, i8, i8>,
        twin = portable::add_q8::<i8, i8, i8>
    ),
    entry!(
        elementwise::add_q8_in_place,
        "portable::add_q8<u8,u8,u8> in place",
        portable::add_q8::<u8, u8, u8>,
        twin = portable::add_q8::<u8, u8, u8>
    ),
    entry!(elementwise::mul_q8, "portable::mul_q8<i8,i8,i8>", portable::mul_q8::<i8, i8, i8>),
    entry!(elementwise::mul_q8, "portable::mul_q8<u8,u8,u8>", portable::mul_q8::<u8, u8, u8>),
    entry!(elementwise::mul_q8, "portable::mul_q8<i8,u8,i8>", portable::mul_q8::<i8, u8, i8>),
    entry!(reduce::softmax_f32, "portable::softmax_f32", portable::softmax_f32),
    entry!(reduce::log_softmax_f32, "portable::log_softmax_f32", portable::log_softmax_f32),
    entry!(reduce::channel_affine_f32, "portable::channel_affine_f32", portable::channel_affine_f32),
    entry!(reduce::softmax_q8, "portable::softmax_q8<i8,i8>", portable::softmax_q8::<i8, i8>),
    entry!(reduce::softmax_q8, "portable::softmax_q8<u8,u8>", portable::softmax_q8::<u8, u8>),
    entry!(pool::max_pool2d_f32, "portable::max_pool2d_f32", portable::max_pool2d_f32),
    entry!(pool::avg_pool2d_f32, "portable::avg_pool2d_f32", portable::avg_pool2d_f32),
    entry!(pool::max_pool2d_q8, "portable::max_pool2d_q8<i8>", portable::max_pool2d_q8::<i8>),
    entry!(pool::max_pool2d_q8, "portable::max_pool2d_q8<u8>", portable::max_pool2d_q8::<u8>),
    entry!(pool::avg_pool2d_q8, "portable::avg_pool2d_q8<i8,i8>", portable::avg_pool2d_q8::<i8, i8>),
    entry!(pool::avg_pool2d_q8, "portable::avg_pool2d_q8<u8,u8>", portable::avg_pool2d_q8::<u8, u8>),
    entry!(pool::mean_axis_f32, "portable::mean_axis_f32", portable::mean_axis_f32),
    entry!(pool::max_axis_f32, "portable::max_axis_f32", portable::max_axis_f32),
    entry!(pool::mean_axis_q8, "portable::mean_axis_q8<i8,i8>", portable::mean_axis_q8::<i8, i8>),
    entry!(pool::mean_axis_q8, "portable::mean_axis_q8<u8,i8>", portable::mean_axis_q8::<u8, i8>),
    entry!(lstm::lstm_f32, "portable::lstm_f32", portable::lstm_f32),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        conv::conv2d_q8_one_group,
        "arm_dsp::conv2d_q8<i8,i8,i8>",
        arm_dsp::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        conv::depthwise_conv2d_q8,
        "arm_dsp::depthwise_conv2d_q8<i8,i8,i8>",
        arm_dsp::depthwise_conv2d_q8,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        conv::conv2d_q8_one_group_in_place,
        "arm_dsp::conv2d_q8<i8,i8,i8> in place",
        arm_dsp::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        conv::depthwise_conv2d_q8_in_place,
        "arm_dsp::depthwise_conv2d_q8<i8,i8,i8> in place",
        arm_dsp::depthwise_conv2d_q8,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(gemm::gemm_q8, "arm_dsp::gemm_q8<i8,i8,i8>", arm_dsp::gemm_q8, twin = portable::gemm_q8::<i8, i8, i8>),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        gemm::gemm_q8,
        "arm_dsp::gemm_q8_packed<i8,i8,i8>",
        arm_dsp::gemm_q8_packed,
        twin = portable::gemm_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        pool::avg_pool2d_q8,
        "arm_dsp::avg_pool2d_q8<i8,i8>",
        crate::kernels::arm_dsp::avg_pool2d_q8::<i8, i8>,
        twin = portable::avg_pool2d_q8::<i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    entry!(
        pool::avg_pool2d_q8,
        "arm_dsp::avg_pool2d_q8_runs<3,i8,i8>",
        crate::kernels::arm_dsp::avg_pool2d_q8_runs::<3, i8, i8>,
        twin = portable::avg_pool2d_q8::<i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    entry!(
        conv::conv2d_q8_wide,
        "arm_mve::conv2d_q8<i8,i8,i8>",
        arm_mve::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    entry!(
        conv::depthwise_conv2d_q8_wide,
        "arm_mve::depthwise_conv2d_q8<i8,i8,i8>",
        arm_mve::depthwise_conv2d_q8,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    entry!(gemm::gemm_q8, "arm_mve::gemm_q8<i8,i8,i8>", arm_mve::gemm_q8, twin = portable::gemm_q8::<i8, i8, i8>),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(gemm::gemm_f32_wide, "x86_avx2::gemm_f32", crate::kernels::x86_avx2::gemm_f32, twin = portable::gemm_f32),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(conv::conv2d_f32_wide, "x86_avx2::conv2d_f32", x86_avx2::conv2d_f32, twin = portable::conv2d_f32),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(conv::conv2d_f32_stem, "x86_avx2::conv2d_f32 (stem)", x86_avx2::conv2d_f32, twin = portable::conv2d_f32),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::conv2d_f32_winograd,
        "x86_avx2::conv2d_f32 (1-D Winograd)",
        x86_avx2::conv2d_f32_winograd_1d,
        twin = portable::conv2d_f32
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::conv2d_f32_winograd2d,
        "x86_avx2::conv2d_f32 (2-D Winograd)",
        x86_avx2::conv2d_f32,
        twin = portable::conv2d_f32
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::conv2d_q8_wide,
        "x86_avx2::conv2d_q8<i8,i8,i8>",
        x86_avx2::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "avx512bw",
        target_feature = "avx512vl",
        target_feature = "avx512vnni"
    ))]
    entry!(
        conv::conv2d_q8_wide,
        "x86_vnni::conv2d_q8<i8,i8,i8>",
        x86_vnni::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "avx512bw",
        target_feature = "avx512vl",
        target_feature = "avx512vnni"
    ))]
    entry!(
        conv::conv2d_q8_wide,
        "x86_vnni::conv2d_q8<i8,i8,i8> (scratch for the fields only)",
        x86_vnni::conv2d_q8_fields_only,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::depthwise_conv2d_f32_wide,
        "x86_avx2::depthwise_conv2d_f32",
        crate::kernels::x86_avx2::depthwise_conv2d_f32,
        twin = portable::depthwise_conv2d_f32
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::depthwise_conv2d_q8_wide,
        "x86_avx2::depthwise_conv2d_q8<i8,i8,i8>",
        crate::kernels::x86_avx2::depthwise_conv2d_q8::<i8, i8, i8>,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    entry!(
        conv::conv2d_q8_wide_in_place,
        "arm_mve::conv2d_q8<i8,i8,i8> in place",
        arm_mve::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    entry!(
        conv::depthwise_conv2d_q8_wide_in_place,
        "arm_mve::depthwise_conv2d_q8<i8,i8,i8> in place",
        arm_mve::depthwise_conv2d_q8,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::conv2d_q8_wide_in_place,
        "x86_avx2::conv2d_q8<i8,i8,i8> in place",
        x86_avx2::conv2d_q8,
        twin = portable::conv2d_q8::<i8, i8, i8>
    ),
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    entry!(
        conv::depthwise_conv2d_q8_wide_in_place,
        "x86_avx2::depthwise_conv2d_q8<i8,i8,i8> in place",
        crate::kernels::x86_avx2::depthwise_conv2d_q8::<i8, i8, i8>,
        twin = portable::depthwise_conv2d_q8::<i8, i8, i8>
    ),
    Entry {
        name: "portable::conv2d_q8<i8,i8,i8> streamed into itself",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                portable::conv2d_q8::<i8, i8, i8>,
                conv::Groups::Any,
                portable::conv2d_q8::<i8, i8, i8>,
                conv::Groups::Any,
            )
        },
    },
    Entry {
        name: "portable::conv2d_q8<u8,i8,u8> streamed into itself",
        check: |rng, geo| {
            stream::q8_streamed::<u8, i8, _, _>(
                rng,
                geo,
                portable::conv2d_q8::<u8, i8, u8>,
                conv::Groups::Any,
                portable::conv2d_q8::<u8, i8, u8>,
                conv::Groups::Any,
            )
        },
    },
    Entry {
        name: "portable::conv2d_q8<i8,i8,i8> streamed into depthwise_conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                portable::conv2d_q8::<i8, i8, i8>,
                conv::Groups::One,
                portable::depthwise_conv2d_q8::<i8, i8, i8>,
                conv::Groups::Depthwise,
            )
        },
    },
    Entry {
        name: "portable::depthwise_conv2d_q8<i8,i8,i8> streamed into conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                portable::depthwise_conv2d_q8::<i8, i8, i8>,
                conv::Groups::Depthwise,
                portable::conv2d_q8::<i8, i8, i8>,
                conv::Groups::One,
            )
        },
    },
    Entry {
        name: "portable::conv2d_f32 streamed into itself",
        check: |rng, geo| {
            stream::f32_streamed(
                rng,
                geo,
                portable::conv2d_f32,
                conv::Groups::Any,
                portable::conv2d_f32,
                conv::Groups::Any,
            )
        },
    },
    Entry {
        name: "portable::conv2d_f32 streamed into depthwise_conv2d_f32",
        check: |rng, geo| {
            stream::f32_streamed(
                rng,
                geo,
                portable::conv2d_f32,
                conv::Groups::One,
                portable::depthwise_conv2d_f32,
                conv::Groups::Depthwise,
            )
        },
    },
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    Entry {
        name: "arm_dsp::conv2d_q8<i8,i8,i8> streamed into itself",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                arm_dsp::conv2d_q8,
                conv::Groups::One,
                arm_dsp::conv2d_q8,
                conv::Groups::One,
            )
        },
    },
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    Entry {
        name: "arm_dsp::conv2d_q8<i8,i8,i8> streamed into depthwise_conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                arm_dsp::conv2d_q8,
                conv::Groups::One,
                arm_dsp::depthwise_conv2d_q8,
                conv::Groups::Depthwise,
            )
        },
    },
    #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
    Entry {
        name: "arm_dsp::depthwise_conv2d_q8<i8,i8,i8> streamed into conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                arm_dsp::depthwise_conv2d_q8,
                conv::Groups::Depthwise,
                arm_dsp::conv2d_q8,
                conv::Groups::One,
            )
        },
    },
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    Entry {
        name: "arm_mve::conv2d_q8<i8,i8,i8> streamed into itself",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                arm_mve::conv2d_q8,
                conv::Groups::OneWide,
                arm_mve::conv2d_q8,
                conv::Groups::OneWide,
            )
        },
    },
    #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
    Entry {
        name: "arm_mve::conv2d_q8<i8,i8,i8> streamed into depthwise_conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                arm_mve::conv2d_q8,
                conv::Groups::OneWide,
                arm_mve::depthwise_conv2d_q8,
                conv::Groups::DepthwiseWide,
            )
        },
    },
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    Entry {
        name: "x86_avx2::conv2d_q8<i8,i8,i8> streamed into itself",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                x86_avx2::conv2d_q8,
                conv::Groups::OneWide,
                x86_avx2::conv2d_q8,
                conv::Groups::OneWide,
            )
        },
    },
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    Entry {
        name: "x86_avx2::conv2d_q8<i8,i8,i8> streamed into depthwise_conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                x86_avx2::conv2d_q8,
                conv::Groups::OneWide,
                crate::kernels::x86_avx2::depthwise_conv2d_q8::<i8, i8, i8>,
                conv::Groups::DepthwiseWide,
            )
        },
    },
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "avx2",
        target_feature = "fma",
        target_feature = "avx512bw",
        target_feature = "avx512vl",
        target_feature = "avx512vnni"
    ))]
    Entry {
        name: "x86_vnni::conv2d_q8<i8,i8,i8> streamed into x86_avx2::depthwise_conv2d_q8",
        check: |rng, geo| {
            stream::q8_streamed::<i8, i8, _, _>(
                rng,
                geo,
                x86_vnni::conv2d_q8,
                conv::Groups::OneWide,
                crate::kernels::x86_avx2::depthwise_conv2d_q8::<i8, i8, i8>,
                conv::Groups::DepthwiseWide,
            )
        },
    },
    #[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
    Entry {
        name: "x86_avx2::conv2d_f32 streamed into depthwise_conv2d_f32",
        check: |rng, geo| {
            stream::f32_streamed(
                rng,
                geo,
                x86_avx2::conv2d_f32,
                conv::Groups::OneWide,
                crate::kernels::x86_avx2::depthwise_conv2d_f32,
                conv::Groups::DepthwiseWide,
            )
        },
    },
    entry!(copy::copy, "portable::copy<f32>", portable::copy::<f32>),
    entry!(copy::copy, "portable::copy<i8>", portable::copy::<i8>),
    entry!(copy::fill, "portable::fill<f32>", portable::fill::<f32>),
    entry!(copy::fill, "portable::fill<u8>", portable::fill::<u8>),
    entry!(copy::copy_strided, "portable::copy_strided<f32>", portable::copy_strided::<f32>),
    entry!(copy::copy_strided, "portable::copy_strided<i8>", portable::copy_strided::<i8>),
    entry!(copy::gather, "portable::gather<f32>", portable::gather::<f32>),
    entry!(copy::gather, "portable::gather<u8>", portable::gather::<u8>),
    entry!(quant::quantize_f32, "portable::quantize_f32<i8>", portable::quantize_f32::<i8>),
    entry!(quant::quantize_f32, "portable::quantize_f32<u8>", portable::quantize_f32::<u8>),
    entry!(quant::quantize_strided_f32, "portable::quantize_strided_f32<i8>", portable::quantize_strided_f32::<i8>),
    entry!(quant::quantize_strided_f32, "portable::quantize_strided_f32<u8>", portable::quantize_strided_f32::<u8>),
    entry!(quant::dequantize_f32, "portable::dequantize_f32<i8>", portable::dequantize_f32::<i8>),
    entry!(quant::dequantize_f32, "portable::dequantize_f32<u8>", portable::dequantize_f32::<u8>),
    entry!(quant::dequantize_i32, "portable::dequantize_i32", portable::dequantize_i32),
    entry!(quant::lookup_q8, "portable::lookup_q8<i8,i8>", portable::lookup_q8::<i8, i8>),
    entry!(quant::lookup_q8, "portable::lookup_q8<u8,u8>", portable::lookup_q8::<u8, u8>),
    entry!(quant::lookup_q8, "portable::lookup_q8<i8,u8>", portable::lookup_q8::<i8, u8>),
    entry!(bitwise::bitwise, "portable::bitwise<i8>", portable::bitwise::<i8>),
    entry!(bitwise::bitwise, "portable::bitwise<u32>", portable::bitwise::<u32>),
    entry!(cumulative::cumulative_f32, "portable::cumulative<f32>", portable::cumulative::<f32>),
    entry!(cumulative::cumulative_i32, "portable::cumulative<i32>", portable::cumulative::<i32>),
    entry!(cumulative::bitcast, "portable::bitcast<f32,i32>", portable::bitcast::<f32, i32>),
    entry!(index::resample, "portable::resample_f32", portable::resample_f32),
    entry!(index::scatter_elements, "portable::scatter_elements<f32,i32>", portable::scatter_elements::<f32, i32>),
    entry!(index::scatter_nd, "portable::scatter_nd<f32,i32>", portable::scatter_nd::<f32, i32>),
    entry!(index::top_k, "portable::top_k<f32>", portable::top_k::<f32>),
    entry!(ml::tree_ensemble, "portable::tree_ensemble<f32,u8>", portable::tree_ensemble::<f32, u8>),
    entry!(ml::ml_classify, "portable::ml_classify_f32", portable::ml_classify_f32),
    entry!(ml::ml_transform, "portable::ml_transform_f32", portable::ml_transform_f32),
    entry!(ml::svm_kernel, "portable::svm_kernel_f32", portable::svm_kernel_f32),
    entry!(ml::svm_classify, "portable::svm_classify_f32", portable::svm_classify_f32),
    entry!(index::gather_nd, "portable::gather_nd<f32,i32>", portable::gather_nd::<f32, i32>),
    entry!(format::to_small, "portable::cast_format<f32,u8>", portable::cast_format::<f32, u8>),
    entry!(format::from_small, "portable::cast_format<u8,f32>", portable::cast_format::<u8, f32>),
];

/// The names of every kernel the suite checks, in the order [`run`] runs them.
pub fn kernels() -> impl Iterator<Item = &'static str> {
    KERNELS.iter().map(|e| e.name)
}

/// Runs `cases` cases of every kernel from `seed`, calls `report` after each case and
/// returns the totals.
pub fn run(seed: u64, cases: u32, report: &mut dyn FnMut(&CaseResult)) -> Summary {
    run_matching(seed, cases, "", report)
}

/// [`run`] for the kernels whose name contains `filter` (all for `""`), e.g. to
/// repeat one failing kernel. Case `k` of a kernel is the same case in both.
pub fn run_matching(seed: u64, cases: u32, filter: &str, report: &mut dyn FnMut(&CaseResult)) -> Summary {
    run_entries(KERNELS, seed, cases, filter, report)
}

fn run_entries(entries: &[Entry], seed: u64, cases: u32, filter: &str, report: &mut dyn FnMut(&CaseResult)) -> Summary {
    let mut summary = Summary::default();
    let mut geo = Text::new();
    for entry in entries.iter().filter(|e| e.name.contains(filter)) {
        summary.kernels += 1;
        for case in 0..cases {
            geo.clear();
            let mut rng = Rng::new(case_seed(seed, entry.name, case));
            let mismatch = (entry.check)(&mut rng, &mut geo).err();
            if mismatch.is_none() {
                summary.passed += 1;
            } else {
                summary.failed += 1;
            }
            report(&CaseResult { kernel: entry.name, case, geometry: geo.as_str(), mismatch });
        }
    }
    summary
}

/// The seed of one case: the run's seed, the kernel's name (FNV-1a) and the case number,
/// mixed. A twin's name differs from its portable kernel's, so the twin line draws
/// its own cases; within one check both kernels see identical inputs.
fn case_seed(seed: u64, name: &str, case: u32) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in name.as_bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
    }
    let mut r = Rng::new(seed ^ h.rotate_left(17) ^ (case as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    r.next_u64()
}
