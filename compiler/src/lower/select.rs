//! Kernel selection: which implementation of a kernel family runs on a target.
//!
//! Every family has a portable implementation (plain Rust, any target). Per-ISA
//! implementations sit beside it in the runtime (`kernels::{arm_dsp, …}`) with the
//! same signature, and are listed in [`super::isa`] with the instruction-set features
//! they need, the parameters they accept and how they want their constant operands.
//! Selection is at compile time — a microcontroller does no run-time CPU detection —
//! and takes the first listed implementation whose conditions the kernel, its
//! operands and the target meet; the portable one, listed last, always qualifies, and
//! is a real implementation in its own right, never a stand-in.

use super::isa::{implementations, Implementation};
use super::kernel::{Family, Kernel};
use crate::ir::Tensor;
use std::fmt;
use tinyops_targets::Target;

impl Implementation {
    /// True when this implementation can run `kernel` on `target` (operands aside).
    pub fn fits(&self, kernel: &Kernel, target: &Target) -> bool {
        self.family == kernel.family()
            && self.layout == kernel.layout()
            && self.requires.iter().all(|&f| target.has(f))
            && !self.unless.iter().any(|&f| target.has(f))
            && (self.accepts)(kernel)
    }
}

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

/// A chosen implementation and the operands it wants repacked.
#[derive(Debug)]
pub struct Choice<'r> {
    /// The implementation.
    pub imp: &'r Implementation,
    /// Per read position, the tensor to pass instead (see [`super::isa::Packer`]).
    pub packed: Vec<Option<Tensor>>,
}

/// The first implementation among `from` that fits the kernel, its constant operands
/// (`consts`, per read position) and the target.
pub fn select_from<'r>(
    from: impl IntoIterator<Item = &'r Implementation>,
    kernel: &Kernel,
    consts: &[Option<&Tensor>],
    target: &'static Target,
) -> Result<Choice<'r>, NoImplementation> {
    for imp in from {
        if imp.fits(kernel, target) {
            if let Some(packed) = (imp.pack)(kernel, consts) {
                return Ok(Choice { imp, packed });
            }
        }
    }
    Err(NoImplementation { family: kernel.family(), target: target.name })
}

/// The implementation of `kernel` for `target` among every known one.
pub fn select(
    kernel: &Kernel,
    consts: &[Option<&Tensor>],
    target: &'static Target,
) -> Result<Choice<'static>, NoImplementation> {
    select_from(implementations(), kernel, consts, target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::DType;
    use crate::lower::isa::{as_is, no_scratch, Isa};
    use tinyops_runtime::kernels::Clamp;
    use tinyops_targets::Feature;

    fn only_i8(k: &Kernel) -> bool {
        k.type_args().iter().all(|&t| t == DType::I8)
    }

    fn needs_constant(_: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
        reads.first().copied().flatten().map(|_| vec![None])
    }

    fn copy(isa: Isa, requires: &'static [Feature], accepts: fn(&Kernel) -> bool) -> Implementation {
        Implementation {
            family: Family::Copy,
            isa,
            requires,
            unless: &[],
            layout: None,
            accepts,
            pack: as_is,
            scratch: no_scratch,
            in_place: None,
        }
    }

    #[test]
    fn every_family_has_a_portable_implementation_last() {
        let all: Vec<&Implementation> = implementations().collect();
        for &f in Family::ALL {
            let imps: Vec<&&Implementation> = all.iter().filter(|i| i.family == f).collect();
            let last = imps.last().unwrap_or_else(|| panic!("{f:?} has no implementation"));
            assert_eq!(last.isa, Isa::Portable, "{f:?}");
            assert!(last.requires.is_empty());
        }
    }

    #[test]
    fn selection_follows_features_parameters_and_operands() {
        let table = [
            copy(Isa::ArmMve, &[Feature::ArmMve], only_i8),
            Implementation { pack: needs_constant, ..copy(Isa::X86Avx2, &[], only_i8) },
            copy(Isa::ArmDsp, &[Feature::ArmDsp], only_i8),
            copy(Isa::Portable, &[], crate::lower::isa::any),
        ];
        let t = |n| tinyops_targets::lookup(n).unwrap();
        let i8copy = Kernel::Copy { t: DType::I8 };
        let f32copy = Kernel::Copy { t: DType::F32 };
        let c = crate::ir::Tensor::f32(vec![1], vec![1.0]);
        let isa = |k: &Kernel, consts: &[Option<&Tensor>], tgt| select_from(&table, k, consts, t(tgt)).unwrap().imp.isa;
        assert_eq!(isa(&i8copy, &[None], "cortex-m55"), Isa::ArmMve);
        assert_eq!(isa(&i8copy, &[None], "cortex-m4"), Isa::ArmDsp);
        assert_eq!(isa(&i8copy, &[Some(&c)], "cortex-m4"), Isa::X86Avx2, "a constant operand admits it");
        assert_eq!(isa(&f32copy, &[None], "cortex-m4"), Isa::Portable);
        assert_eq!(isa(&i8copy, &[None], "riscv32imac"), Isa::Portable);
        let e = select_from(&table, &Kernel::ClampF32 { act: Clamp::NONE }, &[None], t("host")).unwrap_err();
        assert_eq!(e.to_string(), "no implementation of kernel `clamp_f32` fits target `host` with these parameters");
    }
}
