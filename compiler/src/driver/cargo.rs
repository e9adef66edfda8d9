//! Running cargo on generated crates.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The cargo to run: `$CARGO` (set when tinyops itself runs under cargo), else `cargo`.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Settings of an outer cargo invocation must not leak into the inner build.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_MANIFEST_DIR",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        c.env_remove(var);
    }
    c
}

/// The shared target folder of generated crates (`TINYOPS_TARGET_DIR` overrides), so
/// the runtime is compiled once for all of them.
pub fn target_dir() -> PathBuf {
    std::env::var_os("TINYOPS_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| super::cache_dir().join("target"))
}

/// The `rustc` flags code for a host target is compiled with: `-C target-cpu` and
/// `-C target-feature` from the catalogue (none for `host`).
pub fn host_rustflags(target: &tinyops_targets::Target) -> Vec<String> {
    let mut flags = vec![];
    if let Some(c) = target.cpu {
        flags.extend(["-C".to_string(), format!("target-cpu={c}")]);
    }
    if !target.codegen_features.is_empty() {
        flags.extend(["-C".to_string(), format!("target-feature={}", target.codegen_features.join(","))]);
    }
    flags
}

/// `cargo build --release` of a binary crate; returns the path of the built binary.
/// With a `cpu` (a host target such as `x86-64-v3`), everything is compiled with
/// `-C target-cpu=CPU` and the target's `-C target-feature` changes, in a target
/// folder of its own (so the runtime is not rebuilt whenever the flags alternate).
pub fn build_release_bin(manifest: &Path, bin: &str, target: &tinyops_targets::Target) -> Result<PathBuf> {
    let flags = host_rustflags(target);
    let target = match target.cpu {
        Some(_) => target_dir().join(format!("cpu-{}", target.name)),
        None => target_dir(),
    };
    let mut cmd = cargo();
    if !flags.is_empty() {
        let quoted: Vec<String> = flags.iter().map(|f| format!("\"{f}\"")).collect();
        cmd.arg("--config").arg(format!("build.rustflags=[{}]", quoted.join(", ")));
    }
    let out = cmd
        .arg("build")
        .arg("--release")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .map_err(|e| Error::Driver { step: "running cargo".into(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Driver {
            step: format!("building {}", manifest.display()),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let exe = target.join("release").join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !exe.exists() {
        return Err(Error::Driver {
            step: "building".into(),
            detail: format!("cargo succeeded but {} is missing", exe.display()),
        });
    }
    Ok(exe)
}
