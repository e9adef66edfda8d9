//! Writes the linker memory map (`memory.x`) of the Cortex-M4 board, QEMU's
//! mps2-an386, from the tinyops target catalogue, where cortex-m-rt's `link.x` finds it.

use std::path::PathBuf;

fn main() {
    let target = tinyops_targets::lookup("cortex-m4").expect("cortex-m4 is in the target catalogue");
    let memory_x = target.memory_x().expect("cortex-m4 has a memory map");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("memory.x"), memory_x.to_string()).expect("writing memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
