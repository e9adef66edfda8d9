//! Kernel selection: which implementation of a kernel family runs on a target.
//!
//! Every family has a portable implementation (plain Rust, any target). Per-ISA
//! implementations sit beside it in the runtime (`kernels::{arm_dsp, arm_mve, …}`) with
//! the same signature, and are listed here with the instruction-set features they need
//! and the parameters they accept. Selection is at compile time — a microcontroller
//! does no run-time CPU detection — and prefers the first listed implementation whose
//! conditions the kernel and the target meet; the portable one, listed last, always
//! qualifies, and is a real implementation in its own right, never a stand-in.

use super::kernel::{Family, Kernel};
use crate::ir::{Layout, Tensor};
use std::fmt;
use tinyops_targets::{Feature, Target};

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
}

impl Isa {
    /// The runtime module name.
    pub fn module(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::ArmDsp => "arm_dsp",
            Isa::ArmMve => "arm_mve",
            Isa::X86Avx2 => "x86_avx2",
        }
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.module())
    }
}

/// One implementation of a kernel family.
#[derive(Debug)]
pub struct Implementation {
    /// The family it implements.
    pub family: Family,
    /// Where it lives.
    pub isa: Isa,
    /// Features the target must have.
    pub requires: &'static [Feature],
    /// The activation layout it reads and writes (`None`: layout means nothing to it).
    pub layout: Option<Layout>,
    /// Further conditions on the kernel's element types and parameters.
    pub accepts: fn(&Kernel) -> bool,
    /// How it wants its constant operands: given the kernel and the constant read at
    /// each position (`None` for run-time operands), the repacked tensor for each
    /// position it wants in another order, `None` to keep one as it is. The chosen
    /// kernel owns its weight layout.
    pub pack: Packer,
}

/// See [`Implementation::pack`].
pub type Packer = fn(&Kernel, &[Option<&Tensor>]) -> Vec<Option<Tensor>>;

impl Implementation {
    /// True when this implementation can run `kernel` on `target`.
    pub fn fits(&self, kernel: &Kernel, target: &Target) -> bool {
        self.family == kernel.family()
            && self.layout == kernel.layout()
            && self.requires.iter().all(|&f| target.has(f))
            && (self.accepts)(kernel)
    }
}

fn any(_: &Kernel) -> bool {
    true
}

fn as_is(_: &Kernel, reads: &[Option<&Tensor>]) -> Vec<Option<Tensor>> {
    vec![None; reads.len()]
}

/// Depthwise filters `C,kH,kW,1` (the IR's `O,kH,kW,I/g`) as `kH,kW,C`: the channels
/// of one tap side by side, as the depthwise kernels walk them.
fn depthwise_taps_by_channel(_: &Kernel, reads: &[Option<&Tensor>]) -> Vec<Option<Tensor>> {
    let mut out = vec![None; reads.len()];
    if let Some(Some(w)) = reads.get(1) {
        let (c, taps) = (w.shape[0], w.numel() / w.shape[0].max(1));
        let order = (0..w.numel()).map(|i| (i % c) * taps + i / c);
        out[1] = Some(Tensor { shape: vec![w.shape[1], w.shape[2], c], data: w.data.gather(order) });
    }
    out
}

/// A portable implementation of a family: every family has one.
const fn portable(family: Family) -> Implementation {
    let layout = match family {
        Family::Conv2dF32
        | Family::DepthwiseConv2dF32
        | Family::Conv2dQ8
        | Family::DepthwiseConv2dQ8
        | Family::Conv2dQ8I32
        | Family::MaxPool2dF32
        | Family::AvgPool2dF32
        | Family::MaxPool2dQ8
        | Family::AvgPool2dQ8 => Some(Layout::ChannelsLast),
        _ => None,
    };
    let pack = match family {
        Family::DepthwiseConv2dF32 | Family::DepthwiseConv2dQ8 => depthwise_taps_by_channel,
        _ => as_is,
    };
    Implementation { family, isa: Isa::Portable, requires: &[], layout, accepts: any, pack }
}

macro_rules! portable_all {
    ($($f:ident),* $(,)?) => {
        /// Every implementation, most specific first. The portable implementations of
        /// every family close the list.
        pub static IMPLEMENTATIONS: &[Implementation] = &[$(portable(Family::$f)),*];
    };
}

portable_all!(
    Conv2dF32,
    DepthwiseConv2dF32,
    GemmF32,
    BinaryF32,
    BinaryInt,
    UnaryInt,
    ClampF32,
    UnaryF32,
    SoftmaxF32,
    LogSoftmaxF32,
    ChannelAffineF32,
    MaxPool2dF32,
    AvgPool2dF32,
    MeanAxisF32,
    MaxAxisF32,
    LstmF32,
    ReduceF32,
    ArgReduceF32,
    Compare,
    Logic,
    Not,
    ClassifyF32,
    Select,
    Cast,
    CastToBool,
    CastFromBool,
    CastFromHalf,
    CastToHalf,
    LayerNormF32,
    Trilu,
    Nll,
    GatherIndexed,
    GatherElements,
    Copy,
    Fill,
    CopyStrided,
    Gather,
    Quantize,
    Dequantize,
    DequantizeI32,
    Conv2dQ8,
    DepthwiseConv2dQ8,
    Conv2dQ8I32,
    GemmQ8,
    GemmQ8I32,
    AddQ8,
    MulQ8,
    MaxPool2dQ8,
    AvgPool2dQ8,
    MeanAxisQ8,
    SoftmaxQ8,
    LookupQ8,
);

/// Why no implementation fits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoImplementation {
    /// The kernel family.
    pub family: Family,
    /// The target name.
    pub target: &'static str,
}

impl fmt::Display for NoImplementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no implementation of kernel `{}` fits target `{}` with these parameters",
            self.family.function(),
            self.target
        )
    }
}

/// The first implementation in `from` that fits.
pub fn select_from<'r>(
    from: &'r [Implementation],
    kernel: &Kernel,
    target: &'static Target,
) -> Result<&'r Implementation, NoImplementation> {
    from.iter()
        .find(|i| i.fits(kernel, target))
        .ok_or(NoImplementation { family: kernel.family(), target: target.name })
}

/// The implementation of `kernel` for `target`, from [`IMPLEMENTATIONS`].
pub fn select(kernel: &Kernel, target: &'static Target) -> Result<&'static Implementation, NoImplementation> {
    select_from(IMPLEMENTATIONS, kernel, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::DType;
    use tinyops_runtime::kernels::Clamp;

    #[test]
    fn every_family_has_a_portable_implementation_last() {
        for &f in Family::ALL {
            let imps: Vec<&Implementation> = IMPLEMENTATIONS.iter().filter(|i| i.family == f).collect();
            let last = imps.last().unwrap_or_else(|| panic!("{f:?} has no implementation"));
            assert_eq!(last.isa, Isa::Portable, "{f:?}");
            assert!(last.requires.is_empty());
        }
    }

    fn only_i8(k: &Kernel) -> bool {
        k.type_args().iter().all(|&t| t == DType::I8)
    }

    #[test]
    fn selection_follows_features_and_parameters() {
        let table = [
            Implementation {
                family: Family::Copy,
                isa: Isa::ArmMve,
                requires: &[Feature::ArmMve],
                layout: None,
                accepts: any,
                pack: as_is,
            },
            Implementation {
                family: Family::Copy,
                isa: Isa::ArmDsp,
                requires: &[Feature::ArmDsp],
                layout: None,
                accepts: only_i8,
                pack: as_is,
            },
            portable(Family::Copy),
        ];
        let t = |n| tinyops_targets::lookup(n).unwrap();
        let i8copy = Kernel::Copy { t: DType::I8 };
        let f32copy = Kernel::Copy { t: DType::F32 };
        assert_eq!(select_from(&table, &i8copy, t("cortex-m55")).unwrap().isa, Isa::ArmMve);
        assert_eq!(select_from(&table, &i8copy, t("cortex-m4")).unwrap().isa, Isa::ArmDsp);
        assert_eq!(select_from(&table, &f32copy, t("cortex-m4")).unwrap().isa, Isa::Portable);
        assert_eq!(select_from(&table, &i8copy, t("riscv32imac")).unwrap().isa, Isa::Portable);
        let e = select_from(&table, &Kernel::ClampF32 { act: Clamp::NONE }, t("host")).unwrap_err();
        assert_eq!(e.to_string(), "no implementation of kernel `clamp_f32` fits target `host` with these parameters");
    }
}
