//! The kernel implementations the compiler can choose from, one file per ISA: what
//! each needs from the target, which kernels it accepts, how it wants its constant
//! operands packed and how much scratch it needs. The runtime holds the code (in
//! `kernels::<isa>`); this is the compiler's knowledge of it.

mod arm_dsp;
mod arm_mve;
mod portable;
mod x86_avx2;
mod x86_vnni;

use super::kernel::{Family, Kernel};
use crate::ir::{DType, Layout, Tensor};
use std::fmt;
use tinyops_targets::Feature;

/// The instruction set an implementation is written for: the runtime module it
/// lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust (`kernels::portable`).
    Portable,
    /// Arm DSP extension (`kernels::arm_dsp`).
    ArmDsp,
    /// Arm Helium/MVE (`kernels::arm_mve`).
    ArmMve,
    /// x86-64 AVX2 with FMA (`kernels::x86_avx2`).
    X86Avx2,
    /// x86-64 AVX-512 VNNI (`kernels::x86_vnni`).
    X86Vnni,
}

impl Isa {
    /// The runtime module name.
    pub fn module(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::ArmDsp => "arm_dsp",
            Isa::ArmMve => "arm_mve",
            Isa::X86Avx2 => "x86_avx2",
            Isa::X86Vnni => "x86_vnni",
        }
    }
}

impl Isa {
    /// The `cfg` predicate under which the runtime compiles the module, when generated
    /// code must check it (the module exists only with instruction-set features that
    /// a build of the generated code may lack): the backend turns it into a
    /// `compile_error!` naming the flags, instead of an unresolved path.
    pub fn build_requirement(self) -> Option<(&'static str, &'static str)> {
        match self {
            Isa::X86Avx2 => Some((
                r#"all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")"#,
                "-C target-cpu=x86-64-v3 (or -C target-feature=+avx2,+fma)",
            )),
            Isa::X86Vnni => Some((
                r#"all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma", target_feature = "avx512bw", target_feature = "avx512vl", target_feature = "avx512vnni")"#,
                "-C target-cpu=x86-64-v4 -C target-feature=+avx512vnni",
            )),
            // rustc reports no `mve` feature; it reports `neon` on MVE cores.
            Isa::ArmMve => Some((
                r#"all(target_arch = "arm", target_feature = "mclass", target_feature = "neon")"#,
                "-C target-cpu=cortex-m55",
            )),
            _ => None,
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.module())
    }
}

/// How an implementation wants its constant operands. Given the kernel and the
/// constant read at each operand position (`None` for run-time operands), it returns
/// the tensor to pass at each position it wants in another form (`None` keeps the
/// operand as it is; a tensor at a position whose operand is absent supplies one), or
/// `None` overall when these operands rule the implementation out (say, weights that
/// are not constant). The chosen kernel owns its weight layout.
pub type Packer = fn(&Kernel, &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>>;

/// One implementation of a kernel family.
#[derive(Debug)]
pub struct Implementation {
    /// The family it implements.
    pub family: Family,
    /// Where it lives.
    pub isa: Isa,
    /// Features the target must have.
    pub requires: &'static [Feature],
    /// Features that rule it out: on a target with any of them a later implementation
    /// does better (measured; e.g. LLVM's own MVE code for the portable kernel).
    pub unless: &'static [Feature],
    /// The activation layout it reads and writes (`None`: layout means nothing to it).
    pub layout: Option<Layout>,
    /// Further conditions on the kernel's element types and parameters.
    pub accepts: fn(&Kernel) -> bool,
    /// How it wants its constant operands.
    pub pack: Packer,
    /// Bytes of working space (the kernel's `Scratch` operand) it needs for a call.
    pub scratch: fn(&Kernel) -> usize,
    /// Whether its result may overlap one of its dead inputs, and by which access
    /// order (`None`: never, the safe default). Set only for implementations the
    /// kernel suite runs in place (`kernels::suite`, the "in place" lines).
    pub in_place: Option<Overlap>,
}

/// How an implementation runs with its result over a dead input: the runtime entry
/// in `kernels::inplace` that owns the access order and calls the implementation on
/// disjoint pieces of one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// `inplace::conv_rows`: one output row at a time; the result (the last write)
    /// over the activations (read 0), starting `inplace::conv_rows_shift` elements
    /// before them or lower (rows first to last), or `inplace::conv_rows_above`
    /// elements after their start or higher (rows last to first). Input and result of
    /// one element type, one batch.
    ConvRows,
    /// `inplace::elementwise`: in chunks over a stack copy; the result (write 0)
    /// exactly over a read operand of its own length and element type.
    Elementwise,
}

/// Accepts every kernel of the family.
pub fn any(_: &Kernel) -> bool {
    true
}

/// Takes every operand as it is.
pub fn as_is(_: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    Some(vec![None; reads.len()])
}

/// Needs no scratch.
pub fn no_scratch(_: &Kernel) -> usize {
    0
}

/// True when every element type of the kernel is `i8`.
pub fn all_i8(k: &Kernel) -> bool {
    k.type_args().iter().all(|&t| t == DType::I8)
}

/// Every implementation, most specific first: per-ISA ones, then the portable
/// implementation of every family, which always qualifies.
pub fn implementations() -> impl Iterator<Item = &'static Implementation> {
    arm_mve::IMPLEMENTATIONS
        .iter()
        .chain(arm_dsp::IMPLEMENTATIONS)
        .chain(x86_vnni::IMPLEMENTATIONS)
        .chain(x86_avx2::IMPLEMENTATIONS)
        .chain(portable::IMPLEMENTATIONS)
}

/// The form an implementation with compile-time paths takes for `kernel` (see
/// [`crate::lower::KernelCall::form`]): today the Arm DSP convolutions, whose paths
/// depend on the layer's shape and quantisation constants only.
pub fn form(isa: Isa, kernel: &Kernel) -> Option<u8> {
    match isa {
        Isa::ArmDsp => arm_dsp::form(kernel),
        _ => None,
    }
}

/// A 1×1 int8 convolution (2 → 3 channels, input zero point 10) and its parameters:
/// the ISA selectors' packing tests start from it.
#[cfg(test)]
pub(crate) fn pointwise_q8_fixture() -> (tinyops_runtime::kernels::Conv2d, Kernel) {
    use tinyops_runtime::kernels::Conv2d;
    use tinyops_runtime::quant::QOut;
    let p = Conv2d {
        batch: 1,
        in_c: 2,
        in_h: 1,
        in_w: 1,
        out_c: 3,
        out_h: 1,
        out_w: 1,
        k_h: 1,
        k_w: 1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        groups: 1,
    };
    let k = Kernel::Conv2dQ8 {
        x: crate::ir::DType::I8,
        w: crate::ir::DType::I8,
        y: crate::ir::DType::I8,
        p,
        x_zp: 10,
        out: QOut { zp: 0, min: -128, max: 127 },
        mults: vec![1 << 30],
        shifts: vec![40],
    };
    (p, k)
}
