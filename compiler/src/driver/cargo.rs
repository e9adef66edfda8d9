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

/// `cargo build --release` of a binary crate; returns the path of the built binary.
/// With `cpu` (a host target such as `x86-64-v3`), everything is compiled with
/// `-C target-cpu=CPU`, in a target folder of its own (so the runtime is not rebuilt
/// whenever the flags alternate).
pub fn build_release_bin(manifest: &Path, bin: &str, cpu: Option<&str>) -> Result<PathBuf> {
    let target = match cpu {
        Some(c) => target_dir().join(format!("cpu-{c}")),
        None => target_dir(),
    };
    let mut cmd = cargo();
    if let Some(c) = cpu {
        cmd.arg("--config").arg(format!("build.rustflags=[\"-C\", \"target-cpu={c}\"]"));
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
