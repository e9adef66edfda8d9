//! The generated code is `no_std`, allocation-free and panic-free: two corpus models
//! are linked into a `#![no_std]` staticlib with `panic = "abort"` and no allocator,
//! whose panic handler calls a symbol that exists nowhere. The staticlib is then
//! linked into a C program: if any panic path were reachable from `run`, the link
//! would fail on that symbol. The program runs and checks the outputs. A control
//! build with a deliberate panic path must fail to link, proving the check bites.

mod common;

use std::path::Path;
use std::process::Command;
use tinyops_compiler::{compile, Options};

const PROOF_LIB: &str = r#"#![no_std]
use core::panic::PanicInfo;

extern "C" {
    /// Defined nowhere: referencing it makes the final link fail.
    fn tinyops_panic_is_reachable() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never runs; the link fails first if this is reachable.
    unsafe { tinyops_panic_is_reachable() }
}

#[no_mangle]
pub extern "C" fn kws_run(input: &[f32; 490], output: &mut [f32; 12]) {
    let mut arena = kws::Arena::new();
    kws::Model::new(&mut arena).run(input, output);
}

#[no_mangle]
pub extern "C" fn lenet_run(input: &[f32; 784], output: &mut [f32; 10]) {
    let mut arena = lenet::Arena::new();
    lenet::Model::new(&mut arena).run(input, output);
}

CONTROL
"#;

const CONTROL: &str = r#"
#[no_mangle]
pub extern "C" fn control(input: &[f32; 490], i: usize) -> f32 {
    input[i]
}
"#;

const MAIN_C: &str = r#"#include <stdio.h>
void kws_run(const float*, float*);
void lenet_run(const float*, float*);
#ifdef CONTROL
float control(const float*, unsigned long);
#endif
int main(void) {
    static float in[784], out[12];
    for (int i = 0; i < 784; i++) in[i] = (float)(i % 7) * 0.1f;
    kws_run(in, out);
    float s = 0;
    for (int i = 0; i < 12; i++) s += out[i];
    if (s < 0.999f || s > 1.001f) { printf("kws softmax sums to %f\n", s); return 1; }
    lenet_run(in, out);
#ifdef CONTROL
    printf("%f\n", control(in, (unsigned long)out[0]));
#endif
    printf("ok\n");
    return 0;
}
"#;

fn build_proof(dir: &Path, control: bool) -> std::process::Output {
    let lib = PROOF_LIB.replace("CONTROL", if control { CONTROL } else { "" });
    std::fs::create_dir_all(dir.join("proof/src")).unwrap();
    std::fs::write(dir.join("proof/src/lib.rs"), lib).unwrap();
    std::fs::write(
        dir.join("proof/Cargo.toml"),
        r#"[package]
name = "nostd-proof"
version = "0.1.0"
edition = "2021"
[lib]
crate-type = ["staticlib"]
[dependencies]
kws = { package = "mlperf-kws-dscnn-fp32", path = "../kws" }
lenet = { package = "torch-lenet5", path = "../lenet" }
[profile.release]
panic = "abort"
lto = true
codegen-units = 1
[workspace]
"#,
    )
    .unwrap();
    let out = tinyops_compiler::driver::cargo::cargo()
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("proof/Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .output()
        .unwrap();
    assert!(out.status.success(), "the no_std staticlib does not build:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.join("main.c"), MAIN_C).unwrap();
    Command::new("cc")
        .arg("-O2")
        .args(control.then_some("-DCONTROL"))
        .arg(dir.join("main.c"))
        .arg(dir.join("target/release/libnostd_proof.a"))
        .arg("-Wl,--gc-sections")
        .arg("-o")
        .arg(dir.join("proof_bin"))
        .output()
        .unwrap()
}

#[test]
fn generated_code_links_into_a_no_std_panic_free_staticlib_and_runs() {
    let dir = common::tempdir("no-std-proof");
    let corpus = common::corpus();
    for (id, name) in [("mlperf_kws_dscnn_fp32", "kws"), ("torch_lenet5", "lenet")] {
        let c = compile(&corpus.join(id).join("model.onnx"), &Options::default()).unwrap();
        c.write_crate(&dir.join(name), None).unwrap();
        let lib = std::fs::read_to_string(dir.join(name).join("src/lib.rs")).unwrap();
        assert!(lib.contains("#![no_std]") && lib.contains("#![forbid(unsafe_code)]"));
        assert!(
            !lib.contains("static mut") && !lib.contains("alloc::"),
            "{id}: mutable statics or alloc in generated code"
        );
    }

    let link = build_proof(&dir, false);
    assert!(
        link.status.success(),
        "linking failed; a panic path is reachable from `run` if the error names tinyops_panic_is_reachable:\n{}",
        String::from_utf8_lossy(&link.stderr)
    );
    let run = Command::new(dir.join("proof_bin")).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stdout));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "ok");

    // Control: one indexing panic path must make the same link fail.
    let control = build_proof(&dir, true);
    let stderr = String::from_utf8_lossy(&control.stderr);
    assert!(
        !control.status.success() && stderr.contains("tinyops_panic_is_reachable"),
        "the control build linked; the check is toothless:\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
