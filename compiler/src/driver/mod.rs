//! Drivers: what happens after compilation. Building generated crates with cargo,
//! running them on the host, reading reference data and comparing results; the cross
//! toolchain, QEMU and firmware images of bare-metal targets; benchmarks.

pub mod bench;
pub mod cargo;
pub mod compare;
pub mod conformance;
pub mod elf;
pub mod engine;
pub mod firmware;
pub mod fleet;
pub mod harness;
pub mod host_cpu;
pub mod progress;
pub mod qemu;
pub mod report_decode;
pub mod run;
pub mod testdata;
pub mod toolchain;
pub mod verify;

use std::path::PathBuf;

/// The folder tinyops keeps build products in: `TINYOPS_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/tinyops`, else `~/.cache/tinyops`, else the system temp folder.
pub fn cache_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("TINYOPS_CACHE_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(p).join("tinyops");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache/tinyops");
    }
    std::env::temp_dir().join("tinyops")
}
