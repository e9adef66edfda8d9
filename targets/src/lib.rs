//! The targets tinyops compiles for: instruction-set features, the Rust target
//! triple, the emulator board that runs it here, and that board's memory map.
//!
//! The compiler asks this crate which kernels a target may use; the drivers ask it
//! how to build and where to run. Nothing here depends on the rest of tinyops.

#![no_std]

use core::fmt;

/// An instruction-set extension a kernel may rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// x86-64 AVX2 with FMA (used on the build machine when present).
    Avx2Fma,
    /// Arm DSP extension: `smlad`, `sxtb16` and other packed 16-bit instructions.
    ArmDsp,
    /// Arm M-profile Vector Extension (Helium).
    ArmMve,
    /// A hardware single-precision floating-point unit.
    Fpu,
}

/// A memory region of a board: where it starts and how many bytes it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub origin: u32,
    /// Size in bytes.
    pub length: u32,
}

/// The QEMU machine that emulates a target here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emulator {
    /// The `qemu-system-*` program.
    pub program: &'static str,
    /// The `-machine` name.
    pub machine: &'static str,
    /// Flash (code and read-only data).
    pub flash: Region,
    /// RAM (stack, arena, mutable data).
    pub ram: Region,
}

/// One compilation target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The name users type (`--target cortex-m4`).
    pub name: &'static str,
    /// The Rust target triple; `None` for the build machine itself.
    pub triple: Option<&'static str>,
    /// The `-C target-cpu` to pass, if any.
    pub cpu: Option<&'static str>,
    /// Extensions the generated code may use on this target.
    pub features: &'static [Feature],
    /// The board that runs this target in emulation, if there is one.
    pub emulator: Option<Emulator>,
    /// One line for `tinyops` help and reports.
    pub description: &'static str,
}

impl Target {
    /// True when the target may use the given extension.
    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }

    /// True for the machine the compiler runs on.
    pub fn is_host(&self) -> bool {
        self.triple.is_none()
    }
}

const fn region(origin: u32, length: u32) -> Region {
    Region { origin, length }
}

const MIB: u32 = 1024 * 1024;

/// Every target tinyops knows, in the order `tinyops` lists them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "host",
        triple: None,
        cpu: None,
        features: &[Feature::Fpu],
        emulator: None,
        description: "the build machine (x86-64 or whatever runs the compiler)",
    },
    Target {
        name: "cortex-m0plus",
        triple: Some("thumbv6m-none-eabi"),
        cpu: None,
        features: &[],
        emulator: None,
        description: "Arm Cortex-M0+ (Armv6-M, no DSP, no FPU); build only",
    },
    Target {
        name: "cortex-m4",
        triple: Some("thumbv7em-none-eabihf"),
        cpu: Some("cortex-m4"),
        features: &[Feature::ArmDsp, Feature::Fpu],
        emulator: Some(Emulator {
            program: "qemu-system-arm",
            machine: "mps2-an386",
            flash: region(0x0000_0000, 4 * MIB),
            ram: region(0x2000_0000, 4 * MIB),
        }),
        description: "Arm Cortex-M4F (Armv7E-M, DSP, FPv4)",
    },
    Target {
        name: "cortex-m33",
        triple: Some("thumbv8m.main-none-eabihf"),
        cpu: Some("cortex-m33"),
        features: &[Feature::ArmDsp, Feature::Fpu],
        emulator: Some(Emulator {
            program: "qemu-system-arm",
            machine: "mps2-an505",
            flash: region(0x1000_0000, 4 * MIB),
            ram: region(0x3800_0000, 4 * MIB),
        }),
        description: "Arm Cortex-M33 (Armv8-M Mainline, DSP, FPv5)",
    },
    Target {
        name: "cortex-m55",
        triple: Some("thumbv8m.main-none-eabihf"),
        cpu: Some("cortex-m55"),
        features: &[Feature::ArmDsp, Feature::ArmMve, Feature::Fpu],
        emulator: Some(Emulator {
            program: "qemu-system-arm",
            machine: "mps3-an547",
            flash: region(0x1000_0000, 512 * 1024),
            ram: region(0x3000_0000, 512 * 1024),
        }),
        description: "Arm Cortex-M55 (Armv8.1-M, Helium/MVE)",
    },
    Target {
        name: "riscv32imac",
        triple: Some("riscv32imac-unknown-none-elf"),
        cpu: None,
        features: &[],
        emulator: Some(Emulator {
            program: "qemu-system-riscv32",
            machine: "virt",
            flash: region(0x8000_0000, 2 * MIB),
            ram: region(0x8020_0000, 2 * MIB),
        }),
        description: "RISC-V RV32IMAC (no FPU)",
    },
];

/// The error of [`lookup`]: the name is not a known target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTarget<'a>(pub &'a str);

impl fmt::Display for UnknownTarget<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown target `{}`; known targets are:", self.0)?;
        for (i, t) in TARGETS.iter().enumerate() {
            write!(f, "{} {}", if i == 0 { "" } else { "," }, t.name)?;
        }
        Ok(())
    }
}

/// Finds a target by the name users type.
pub fn lookup(name: &str) -> Result<&'static Target, UnknownTarget<'_>> {
    TARGETS.iter().find(|t| t.name == name).ok_or(UnknownTarget(name))
}

/// The build machine.
pub fn host() -> &'static Target {
    &TARGETS[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_target_by_name() {
        for t in TARGETS {
            assert_eq!(lookup(t.name).unwrap(), t);
        }
        assert!(host().is_host());
    }

    #[test]
    fn unknown_target_lists_the_known_ones() {
        extern crate std;
        use std::string::ToString;
        let msg = lookup("cortex-m7").unwrap_err().to_string();
        assert!(msg.starts_with("unknown target `cortex-m7`"), "{msg}");
        assert!(msg.contains("cortex-m4") && msg.contains("riscv32imac"), "{msg}");
    }

    #[test]
    fn emulated_targets_have_disjoint_flash_and_ram() {
        for t in TARGETS {
            if let Some(e) = t.emulator {
                let flash_end = e.flash.origin as u64 + e.flash.length as u64;
                let ram_end = e.ram.origin as u64 + e.ram.length as u64;
                assert!(flash_end <= e.ram.origin as u64 || ram_end <= e.flash.origin as u64, "{}", t.name);
            }
        }
    }
}
