//! The targets tinyops compiles for: instruction-set features, the Rust target
//! triple, the emulator board that runs it here, and that board's memory map.
//!
//! The compiler asks this crate which kernels a target may use; the drivers ask it
//! how to build and where to run; `tinyops fleet` asks it which devices there are
//! ([`devices`]). Nothing here depends on the rest of tinyops.

#![no_std]

extern crate alloc;

pub mod devices;

use core::fmt;

/// An instruction-set extension a kernel may rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// x86-64 AVX2 with FMA (used on the build machine when present).
    Avx2Fma,
    /// x86-64 AVX-512 (F, BW, VL) with its Vector Neural Network Instructions
    /// (`vpdpbusd`: four 8-bit products summed into each 32-bit lane).
    Avx512Vnni,
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

/// Where a target's firmware puts code and data: the regions its linker script
/// (`memory.x`) declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryMap {
    /// Flash: vector table, code, read-only data (weights), the initial image of `.data`.
    pub flash: Region,
    /// RAM: `.data`, `.bss` (the arena), and the stack at its top.
    pub ram: Region,
    /// Where the core reads its initial stack pointer and reset vector, when that is
    /// not the start of `flash`: the firmware then places a two-word boot vector there
    /// and moves the vector table to flash at reset.
    pub boot: Option<Region>,
    /// Where these numbers come from and why they were chosen.
    pub note: &'static str,
}

/// The QEMU machine that emulates a target here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Emulator {
    /// The `qemu-system-*` program.
    pub program: &'static str,
    /// The `-machine` name.
    pub machine: &'static str,
    /// Extra QEMU options the machine needs (e.g. `-bios none`).
    pub options: &'static [&'static str],
}

/// The instruction-set family of a bare-metal target: it decides the linker and the
/// runtime crates of its firmware.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// The build machine.
    Host,
    /// Arm M-profile (Thumb).
    Arm,
    /// 32-bit RISC-V.
    RiscV32,
}

/// One compilation target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The name users type (`--target cortex-m4`).
    pub name: &'static str,
    /// The Rust target triple; `None` for the build machine itself.
    pub triple: Option<&'static str>,
    /// The instruction-set family.
    pub arch: Arch,
    /// The `-C target-cpu` to pass, if any.
    pub cpu: Option<&'static str>,
    /// `-C target-feature` changes to what `cpu` implies, with the reason (e.g.
    /// `-mve.fp` on cortex-m55: see there).
    pub codegen_features: &'static [&'static str],
    /// Extensions the generated code may use on this target.
    pub features: &'static [Feature],
    /// The memory map firmware for this target links against (`None` on the host).
    pub memory: Option<MemoryMap>,
    /// The board that runs this target in emulation, if there is one. Targets with a
    /// memory map but no emulator are build-only: firmware is built, linked and
    /// measured, but not run.
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

    /// Bytes of a pointer (`usize`) in code built for this target: the build
    /// machine's on the host targets, 4 on every bare-metal target tinyops knows
    /// (Armv6-M/v7-M/v8-M and RV32).
    pub fn pointer_bytes(&self) -> usize {
        match self.arch {
            Arch::Host => core::mem::size_of::<usize>(),
            _ => 4,
        }
    }
}

const fn region(origin: u32, length: u32) -> Region {
    Region { origin, length }
}

const KIB: u32 = 1024;
const MIB: u32 = 1024 * KIB;

/// Every target tinyops knows, in the order `tinyops` lists them.
///
/// The memory maps of emulated targets are regions QEMU 7.2 really maps on that
/// machine (`qemu-system-… -machine M -S -monitor stdio`, then `info mtree -f`).
pub const TARGETS: &[Target] = &[
    Target {
        name: "host",
        triple: None,
        arch: Arch::Host,
        cpu: None,
        codegen_features: &[],
        features: &[Feature::Fpu],
        memory: None,
        emulator: None,
        description: "the build machine (x86-64 or whatever runs the compiler)",
    },
    Target {
        name: "x86-64-v3",
        triple: None,
        arch: Arch::Host,
        // The build machine, compiled for the x86-64-v3 level (AVX2, FMA, BMI2, …):
        // generated code uses the AVX2/FMA kernels and builds only with these features;
        // the drivers check that the machine has them before building.
        cpu: Some("x86-64-v3"),
        codegen_features: &[],
        features: &[Feature::Avx2Fma, Feature::Fpu],
        memory: None,
        emulator: None,
        description: "the build machine as x86-64-v3 (AVX2 + FMA kernels; needs a CPU with them)",
    },
    Target {
        name: "x86-64-v4-vnni",
        triple: None,
        arch: Arch::Host,
        // The build machine at the x86-64-v4 level (AVX-512 F/BW/CD/DQ/VL) plus AVX-512
        // VNNI, which that level leaves out (Intel Ice Lake and later, AMD Zen 4 and
        // later have both): the 8-bit convolutions use `vpdpbusd`, the rest the AVX2/FMA
        // kernels. Generated code builds only with these features; the drivers check
        // that the machine has them.
        cpu: Some("x86-64-v4"),
        codegen_features: &["+avx512vnni"],
        features: &[Feature::Avx2Fma, Feature::Avx512Vnni, Feature::Fpu],
        memory: None,
        emulator: None,
        description: "the build machine as x86-64-v4 with AVX-512 VNNI (VNNI 8-bit convolutions, AVX2 + FMA elsewhere)",
    },
    Target {
        name: "cortex-m0plus",
        triple: Some("thumbv6m-none-eabi"),
        arch: Arch::Arm,
        cpu: None,
        codegen_features: &[],
        features: &[],
        memory: Some(MemoryMap {
            flash: region(0x0000_0000, 2 * MIB),
            ram: region(0x2000_0000, 256 * KIB),
            boot: None,
            note: "build only: no QEMU machine emulates a Cortex-M0+ here. A generic Armv6-M map \
                   (flash at 0, SRAM at 0x2000_0000) sized so that every MLPerf int8 model of the \
                   corpus links with room to spare: the largest, mlperf_ic_resnet_large_int8, takes \
                   514 KB of flash and 127 KB of static RAM (rustc 1.96)",
        }),
        emulator: None,
        description: "Arm Cortex-M0+ (Armv6-M, no DSP, no FPU); build only, no emulator board",
    },
    Target {
        name: "cortex-m4",
        triple: Some("thumbv7em-none-eabihf"),
        arch: Arch::Arm,
        cpu: Some("cortex-m4"),
        codegen_features: &[],
        features: &[Feature::ArmDsp, Feature::Fpu],
        memory: Some(MemoryMap {
            flash: region(0x0000_0000, 4 * MIB),
            ram: region(0x2000_0000, 4 * MIB),
            boot: None,
            note: "mps2-an386: 4 MiB SSRAM1 at 0 (code) and 4 MiB SSRAM2/3 at 0x2000_0000 (data)",
        }),
        emulator: Some(Emulator { program: "qemu-system-arm", machine: "mps2-an386", options: &[] }),
        description: "Arm Cortex-M4F (Armv7E-M, DSP, FPv4)",
    },
    Target {
        name: "cortex-m33",
        triple: Some("thumbv8m.main-none-eabihf"),
        arch: Arch::Arm,
        cpu: Some("cortex-m33"),
        codegen_features: &[],
        features: &[Feature::ArmDsp, Feature::Fpu],
        memory: Some(MemoryMap {
            flash: region(0x1000_0000, 4 * MIB),
            ram: region(0x3800_0000, 4 * MIB),
            boot: None,
            note: "mps2-an505 boots Secure with its vector table at 0x1000_0000: the Secure aliases \
                   of SSRAM1 (4 MiB, code) and SSRAM2/3 (4 MiB at 0x3800_0000, data)",
        }),
        emulator: Some(Emulator { program: "qemu-system-arm", machine: "mps2-an505", options: &[] }),
        description: "Arm Cortex-M33 (Armv8-M Mainline, DSP, FPv5)",
    },
    Target {
        name: "cortex-m55",
        triple: Some("thumbv8m.main-none-eabihf"),
        arch: Arch::Arm,
        cpu: Some("cortex-m55"),
        // No MVE floating point in generated code, only integer MVE (what the int8
        // kernels use). MVE executes floating point with the Arm "standard FPSCR value"
        // (subnormals flushed to zero, default NaN), and the float loops LLVM (rustc
        // 1.96) vectorises with it mishandle NaN: its vectorised `is_nan` was false for
        // every lane on QEMU's Cortex-M55. The kernel suite found the float kernels
        // giving non-IEEE results on NaN and subnormal inputs that way (clamp,
        // LeakyRelu, HardSigmoid, Max, QuantizeLinear); scalar FPv5 code is exact.
        // rustc does not know the feature's name and warns, but passes it to LLVM.
        codegen_features: &["-mve.fp"],
        features: &[Feature::ArmDsp, Feature::ArmMve, Feature::Fpu],
        memory: Some(MemoryMap {
            flash: region(0x3800_0000, 8 * MIB),
            ram: region(0x3100_0000, 4 * MIB),
            boot: Some(region(0x1000_0000, 512 * KIB)),
            note: "mps3-an547 boots Secure and reads its reset vector from the ITCM (Secure alias \
                   0x1000_0000), but the ITCM and DTCM have 512 KiB each: \
                   mlperf_ic_resnet_large_int8 alone takes 523,960 B of flash (rustc 1.96), 328 B \
                   short of the ITCM, with no room for larger models or kernels. So only a two-word \
                   boot vector sits in the ITCM; code and weights go to the Secure alias of the \
                   8 MiB QSPI flash (0x3800_0000, a ROM in QEMU) and data to the Secure alias of \
                   the 4 MiB SRAM at 0x2100_0000 (0x3100_0000, no MPC in front of it)",
        }),
        emulator: Some(Emulator { program: "qemu-system-arm", machine: "mps3-an547", options: &[] }),
        description: "Arm Cortex-M55 (Armv8.1-M, Helium/MVE)",
    },
    Target {
        name: "riscv32imac",
        triple: Some("riscv32imac-unknown-none-elf"),
        arch: Arch::RiscV32,
        cpu: None,
        codegen_features: &[],
        features: &[],
        memory: Some(MemoryMap {
            flash: region(0x8000_0000, 4 * MIB),
            ram: region(0x8040_0000, 4 * MIB),
            boot: None,
            note: "virt: the first 8 MiB of its 128 MiB DRAM at 0x8000_0000 (where `-bios none` \
                   jumps), split into 4 MiB for code and 4 MiB for data like the Cortex-M4 board",
        }),
        emulator: Some(Emulator { program: "qemu-system-riscv32", machine: "virt", options: &["-bios", "none"] }),
        description: "RISC-V RV32IMAC (no FPU)",
    },
];

/// The linker memory map (`memory.x`) of a bare-metal target, as cortex-m-rt's and
/// riscv-rt's `link.x` expect it: `MEMORY` with `FLASH` and `RAM` (and `BOOT` with a
/// two-word boot vector when the core reads its reset vector elsewhere), and the
/// `REGION_ALIAS` lines riscv-rt needs. Every firmware tinyops builds, and the example
/// firmware crates' build scripts, write this text: one home for the layout.
#[derive(Debug, Clone, Copy)]
pub struct MemoryX<'a> {
    target: &'a Target,
    map: MemoryMap,
}

impl Target {
    /// The linker memory map of the target; `None` on the host.
    pub fn memory_x(&self) -> Option<MemoryX<'_>> {
        self.memory.map(|map| MemoryX { target: self, map })
    }
}

fn region_line(f: &mut fmt::Formatter<'_>, name: &str, r: Region) -> fmt::Result {
    writeln!(f, "  {name:<5} : ORIGIN = {:#010x}, LENGTH = {:#x}", r.origin, r.length)
}

impl fmt::Display for MemoryX<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.map;
        // The note, wrapped at about 80 columns, as the comment heading the file.
        write!(f, "/* {} memory map, from the tinyops target catalogue:\n *", self.target.name)?;
        let mut line = 0;
        for word in m.note.split_whitespace() {
            if line + word.len() > 80 {
                f.write_str("\n *")?;
                line = 0;
            }
            write!(f, " {word}")?;
            line += word.len() + 1;
        }
        f.write_str("\n */\nMEMORY\n{\n")?;
        if let Some(b) = m.boot {
            region_line(f, "BOOT", b)?;
        }
        region_line(f, "FLASH", m.flash)?;
        region_line(f, "RAM", m.ram)?;
        f.write_str("}\n")?;
        if m.boot.is_some() {
            // The core reads its initial stack pointer and reset vector here; cortex-m-rt's
            // `set-vtor` feature then points VTOR at the real vector table in FLASH.
            f.write_str(
                "SECTIONS\n{\n  .boot_vector ORIGIN(BOOT) :\n  {\n    LONG(_stack_start & 0xFFFFFFF8);\n    \
                 LONG(Reset | 1);\n  } > BOOT\n}\n",
            )?;
        }
        if self.target.arch == Arch::RiscV32 {
            for (alias, region) in [
                ("TEXT", "FLASH"),
                ("RODATA", "FLASH"),
                ("DATA", "RAM"),
                ("BSS", "RAM"),
                ("HEAP", "RAM"),
                ("STACK", "RAM"),
            ] {
                writeln!(f, "REGION_ALIAS(\"REGION_{alias}\", {region});")?;
            }
        }
        Ok(())
    }
}

/// C source of the QEMU TCG plugin (plugin API version 1, QEMU 7.2) that counts the
/// instructions executed between two marker addresses. The drivers compile it with
/// `gcc -shared -fPIC -O2` and load it with `-plugin FILE,start=ADDR,end=ADDR`.
pub const INSN_COUNT_PLUGIN_C: &str = include_str!("../qemu/insn_count.c");

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
    fn memory_regions_are_disjoint() {
        let end = |r: Region| r.origin as u64 + r.length as u64;
        let disjoint = |a: Region, b: Region| end(a) <= b.origin as u64 || end(b) <= a.origin as u64;
        for t in TARGETS {
            if let Some(m) = t.memory {
                assert!(disjoint(m.flash, m.ram), "{}", t.name);
                if let Some(b) = m.boot {
                    assert!(disjoint(b, m.flash) && disjoint(b, m.ram), "{}", t.name);
                }
            }
        }
    }

    #[test]
    fn memory_x_declares_the_catalogue_regions() {
        extern crate std;
        use std::string::ToString;
        assert!(host().memory_x().is_none());
        let m4 = lookup("cortex-m4").unwrap().memory_x().unwrap().to_string();
        assert!(m4.contains("  FLASH : ORIGIN = 0x00000000, LENGTH = 0x400000\n"), "{m4}");
        assert!(m4.contains("  RAM   : ORIGIN = 0x20000000, LENGTH = 0x400000\n"), "{m4}");
        assert!(m4.starts_with("/* cortex-m4 memory map") && !m4.contains("BOOT") && !m4.contains("REGION_ALIAS"));
        assert!(m4.lines().all(|l| l.len() <= 90), "the note is wrapped: {m4}");
        let m55 = lookup("cortex-m55").unwrap().memory_x().unwrap().to_string();
        assert!(m55.contains("  BOOT  : ORIGIN = 0x10000000") && m55.contains("LONG(Reset | 1);"), "{m55}");
        let rv = lookup("riscv32imac").unwrap().memory_x().unwrap().to_string();
        assert!(rv.contains("REGION_ALIAS(\"REGION_STACK\", RAM);"), "{rv}");
    }

    #[test]
    fn bare_metal_targets_have_a_memory_map_and_emulated_ones_a_board() {
        for t in TARGETS {
            assert_eq!(t.is_host(), t.memory.is_none(), "{}", t.name);
            assert_eq!(t.is_host(), t.arch == Arch::Host, "{}", t.name);
            if t.emulator.is_some() {
                assert!(t.memory.is_some(), "{}", t.name);
            }
        }
        assert!(lookup("cortex-m0plus").unwrap().emulator.is_none(), "cortex-m0plus is build-only");
    }
}
