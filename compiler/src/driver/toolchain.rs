//! The tools bare-metal targets need, found (or reported missing) before any work.
//!
//! The rustup toolchains on a build machine usually carry only the host's standard
//! library, so firmware is built with Debian's Rust (`rustc-web`, `cargo-web`) and its
//! library sources (`rust-web-src`), compiling `core` from source (`build-std`). GNU ld
//! from the target's binutils links, QEMU runs the image, and gcc compiles the
//! instruction-count plugin. A missing piece is an error naming the exact
//! `apt-get install` line; there is never a fallback to the host.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use tinyops_targets::{Arch, Target};

/// The oldest rustc that builds `tinyops-runtime` (the workspace's `rust-version`).
const MIN_RUSTC: (u32, u32) = (1, 88);

/// What the caller is about to do with a target; each step needs more tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Build and link firmware.
    Build,
    /// Also run it on the target's QEMU board.
    Run,
    /// Also count its instructions (the QEMU plugin is compiled with gcc).
    Measure,
}

/// The cross toolchain for one target, checked to be complete.
#[derive(Debug, Clone)]
pub struct CrossToolchain {
    /// Debian's rustc (`/usr/bin/rustc`, or `TINYOPS_CROSS_RUSTC`).
    pub rustc: PathBuf,
    /// Debian's rustdoc, beside that rustc.
    pub rustdoc: PathBuf,
    /// Debian's cargo (`/usr/bin/cargo`, or `TINYOPS_CROSS_CARGO`).
    pub cargo: PathBuf,
    /// `rustc -V` of that compiler, recorded beside every figure it produces.
    pub rustc_version: String,
    /// The linker program (GNU ld for the target).
    pub linker: &'static str,
    /// Extra linker arguments the target needs.
    pub link_args: &'static [&'static str],
    /// The QEMU program, when the target has a board and running was asked for.
    pub qemu: Option<PathBuf>,
    /// gcc, when measuring was asked for.
    pub gcc: Option<PathBuf>,
}

/// The GNU linker of an architecture, its extra arguments and the Debian package
/// that provides it.
pub fn linker(arch: Arch) -> Option<(&'static str, &'static [&'static str], &'static str)> {
    match arch {
        Arch::Host => None,
        Arch::Arm => Some(("arm-none-eabi-ld", &[], "binutils-arm-none-eabi")),
        Arch::RiscV32 => Some(("riscv64-unknown-elf-ld", &["-melf32lriscv"], "binutils-riscv64-unknown-elf")),
    }
}

/// The Debian package that provides a QEMU program.
pub fn qemu_package(program: &str) -> &'static str {
    match program {
        "qemu-system-arm" => "qemu-system-arm",
        _ => "qemu-system-misc",
    }
}

/// The first executable called `name` on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// `(major, minor)` of a `rustc 1.96.0 (…)` line.
fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split_whitespace().nth(1)?.split('.');
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn run_text(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).env_remove("RUSTC_BOOTSTRAP").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Checks every tool `need` requires for `target`; lists all missing ones at once.
pub fn check(target: &Target, need: Need) -> Result<CrossToolchain> {
    let (linker, link_args, binutils) =
        linker(target.arch).ok_or_else(|| Error::Internal(format!("{} is not a bare-metal target", target.name)))?;
    let mut missing: Vec<String> = vec![];
    let mut packages: Vec<&str> = vec![];
    let mut lack = |what: String, package: &'static str| {
        missing.push(what);
        if !packages.contains(&package) {
            packages.push(package);
        }
    };

    let rustc = env_path("TINYOPS_CROSS_RUSTC", "/usr/bin/rustc");
    let rustdoc = rustc.with_file_name("rustdoc");
    let cargo = env_path("TINYOPS_CROSS_CARGO", "/usr/bin/cargo");
    let mut rustc_version = String::new();
    if !is_executable(&rustc) {
        lack(format!("Debian's rustc ({} does not exist)", rustc.display()), "rustc-web");
    } else {
        rustc_version = run_text(&rustc, &["-V"]).unwrap_or_default();
        match parse_version(&rustc_version) {
            Some(v) if v >= MIN_RUSTC => {}
            _ => lack(
                format!(
                    "a rustc ≥ {}.{} at {} (it reports `{rustc_version}`)",
                    MIN_RUSTC.0,
                    MIN_RUSTC.1,
                    rustc.display()
                ),
                "rustc-web",
            ),
        }
        let sysroot = run_text(&rustc, &["--print", "sysroot"]).map(PathBuf::from);
        let core = sysroot.as_ref().map(|s| s.join("lib/rustlib/src/rust/library/core/src/lib.rs"));
        if !core.as_ref().is_some_and(|c| c.is_file()) {
            let at = core.map(|c| c.display().to_string()).unwrap_or_else(|| "its sysroot".into());
            lack(format!("the Rust library sources for {} ({at} does not exist)", rustc.display()), "rust-web-src");
        }
        if !is_executable(&rustdoc) {
            lack(format!("rustdoc beside that rustc ({} does not exist)", rustdoc.display()), "rustc-web");
        }
    }
    if !is_executable(&cargo) {
        lack(format!("Debian's cargo ({} does not exist)", cargo.display()), "cargo-web");
    }
    if which(linker).is_none() {
        lack(format!("{linker} (not on PATH)"), binutils);
    }
    let mut qemu = None;
    if need >= Need::Run {
        if let Some(e) = target.emulator {
            qemu = which(e.program);
            if qemu.is_none() {
                lack(format!("{} (not on PATH)", e.program), qemu_package(e.program));
            }
        }
    }
    let mut gcc = None;
    if need >= Need::Measure && target.emulator.is_some() {
        gcc = which("gcc");
        if gcc.is_none() {
            lack("gcc (not on PATH; it compiles the QEMU instruction-count plugin)".into(), "gcc");
        }
    }
    if !missing.is_empty() {
        let action = match (need, target.emulator.is_some()) {
            (Need::Build, _) | (_, false) => "build firmware",
            (Need::Run, true) => "build and run firmware",
            (Need::Measure, true) => "build, run and measure firmware",
        };
        return Err(Error::MissingTools {
            action: action.into(),
            target: target.name.into(),
            missing,
            packages: packages.into_iter().map(String::from).collect(),
        });
    }
    Ok(CrossToolchain { rustc, rustdoc, cargo, rustc_version, linker, link_args, qemu, gcc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(parse_version("rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)"), Some((1, 96)));
        assert_eq!(parse_version("rustc 1.63.0"), Some((1, 63)));
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn every_bare_metal_target_has_a_linker_and_every_board_a_package() {
        for t in tinyops_targets::TARGETS {
            assert_eq!(linker(t.arch).is_some(), !t.is_host(), "{}", t.name);
            if let Some(e) = t.emulator {
                assert!(qemu_package(e.program).starts_with("qemu-system-"));
            }
        }
    }
}
