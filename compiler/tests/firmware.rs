//! Bare-metal targets through the `tinyops` command line: `verify` builds firmware,
//! runs it in QEMU and reports where it ran; a target without a board is built and
//! reported as not run (exit code 3); missing tools stop `verify` before any work with
//! the install line; `bench` counts instructions identically on two invocations, and
//! times the host.
//!
//! Needs Debian's rustc-web, cargo-web, rust-web-src, qemu-system-arm,
//! qemu-system-misc and the Arm and RISC-V binutils (`.ci/all-tests` installs them);
//! without them these tests fail with the message naming what to install.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const KWS_INT8: &str = "mlperf_kws_dscnn_int8";

fn tinyops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tinyops")).args(args).output().expect("running tinyops")
}

fn model(id: &str) -> String {
    common::corpus().join(id).display().to_string()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\nstdout: {text}\nstderr: {}", String::from_utf8_lossy(&out.stderr)))
}

/// `verify --target T --json` on a model; asserts PASS (exit 0) and where it ran.
fn verify_passes_in_qemu(id: &str, target: &str, machine: &str) -> Value {
    let out = tinyops(&["verify", &model(id), "--target", target, "--json"]);
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{id} on {target}: {r:#}");
    assert_eq!(r["verdict"], "PASS", "{r:#}");
    assert_eq!(r["passed"], true);
    assert_eq!(r["ran_on"], machine, "{id} on {target} must run on qemu {machine}");
    let (flash, ram, stack) = (r["flash_bytes"].as_u64(), r["ram_bytes"].as_u64(), r["stack_bytes"].as_u64());
    let arena = r["arena_bytes"].as_u64().unwrap();
    let weights = r["weight_bytes"].as_u64().unwrap();
    assert!(flash.unwrap() > weights, "flash holds the weights: {r:#}");
    assert!(ram.unwrap() >= arena, "static RAM holds the arena: {r:#}");
    assert!(stack.unwrap() > 0, "the stack was measured: {r:#}");
    assert!(r["rustc"].as_str().unwrap().starts_with("rustc 1."), "{r:#}");
    // The outputs were really compared, against every reference of the model.
    let checks = r["sets"][0]["checks"].as_array().unwrap();
    assert!(checks.iter().any(|c| c["reference"] == "onnxruntime" && c["passed"] == true), "{r:#}");
    r
}

#[test]
fn kws_int8_passes_on_cortex_m4_in_qemu() {
    let r = verify_passes_in_qemu(KWS_INT8, "cortex-m4", "mps2-an386");
    // int8 outputs are exact against onnxruntime, as on the host.
    let ort = r["sets"][0]["checks"].as_array().unwrap().iter().find(|c| c["reference"] == "onnxruntime").unwrap();
    assert_eq!(ort["max_abs"], 0.0, "{ort:#}");

    let out = tinyops(&["verify", &model(KWS_INT8), "--target", "cortex-m4", "-q"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ran on qemu mps2-an386 (cortex-m4)"), "{text}");
    assert!(text.contains("firmware: flash ") && text.contains("B stack (measured)"), "{text}");
    assert!(text.trim_end().ends_with("PASS"), "{text}");
}

#[test]
fn int8_model_passes_on_cortex_m33_in_qemu() {
    verify_passes_in_qemu("mlperf_ad_autoencoder_int8", "cortex-m33", "mps2-an505");
}

#[test]
fn int8_model_passes_on_cortex_m55_in_qemu() {
    // The largest int8 model: about 0.5 MB of flash, which leaves no headroom in the
    // board's 512 KiB ITCM; it runs from the QSPI flash instead.
    let r = verify_passes_in_qemu("mlperf_ic_resnet_large_int8", "cortex-m55", "mps3-an547");
    assert!(r["flash_bytes"].as_u64().unwrap() > 500_000, "{r:#}");
}

#[test]
fn int8_model_passes_on_riscv32imac_in_qemu() {
    verify_passes_in_qemu("mlperf_ic_resnet8_int8", "riscv32imac", "virt");
}

#[test]
fn cortex_m0plus_builds_and_is_reported_not_run() {
    let out = tinyops(&["verify", &model(KWS_INT8), "--target", "cortex-m0plus", "--json"]);
    let r = json(&out);
    assert_eq!(out.status.code(), Some(3), "built but not run exits 3: {r:#}");
    assert_eq!(r["verdict"], "NOT RUN");
    assert_eq!(r["passed"], false);
    assert!(r["ran_on"].is_null(), "{r:#}");
    assert!(r["stack_bytes"].is_null(), "nothing ran, so no stack was measured: {r:#}");
    assert!(r["flash_bytes"].as_u64().unwrap() > r["weight_bytes"].as_u64().unwrap(), "{r:#}");
    assert!(r["ram_bytes"].as_u64().unwrap() >= r["arena_bytes"].as_u64().unwrap(), "{r:#}");
    assert!(r["sets"].as_array().unwrap().is_empty(), "no outputs to compare: {r:#}");

    let out = tinyops(&["verify", &model(KWS_INT8), "--target", "cortex-m0plus", "-q"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3));
    assert!(text.contains("built only, not run") && text.contains("firmware: flash "), "{text}");
    assert!(text.contains("NOT RUN: no emulator board for cortex-m0plus"), "{text}");
    assert!(!text.contains("PASS"), "{text}");

    let out = tinyops(&["bench", &model(KWS_INT8), "--target", "cortex-m0plus", "--json"]);
    let b = json(&out);
    assert_eq!(out.status.code(), Some(3), "{b:#}");
    assert!(b["instructions"].is_null() && b["ran_on"].is_null(), "{b:#}");
    assert_eq!(b["instructions_note"], "not measured: no emulator board for cortex-m0plus");
    assert!(b["flash_bytes"].as_u64().unwrap() > 0 && b["ram_bytes"].as_u64().unwrap() > 0, "{b:#}");
}

/// A folder of links to every program on `PATH` except QEMU's.
fn path_without_qemu() -> PathBuf {
    let dir = common::tempdir("path-without-qemu");
    for d in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = dir.join(&name);
            if !name.to_string_lossy().starts_with("qemu-system-") && !link.exists() {
                let _ = std::os::unix::fs::symlink(e.path(), &link);
            }
        }
    }
    dir
}

#[test]
fn verify_without_qemu_fails_first_with_the_install_line() {
    let path = path_without_qemu();
    let which = |name: &str| Path::new(&path).join(name).exists();
    assert!(!which("qemu-system-arm") && which("cargo"), "the test PATH lacks QEMU only");
    let out = Command::new(env!("CARGO_BIN_EXE_tinyops"))
        .args(["verify", &model(KWS_INT8), "--target", "cortex-m4"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot build and run firmware for cortex-m4: missing qemu-system-arm (not on PATH)"),
        "{err}"
    );
    assert!(err.contains("install with: apt-get install -y --no-install-recommends qemu-system-arm"), "{err}");
    // Checked before any work: nothing was compiled, nothing ran on the host instead.
    assert!(!err.contains("compiling") && !err.contains("building"), "{err}");
    assert!(out.stdout.is_empty(), "no report: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn bench_counts_the_same_instructions_on_two_invocations() {
    let run = || {
        let out = tinyops(&["bench", &model(KWS_INT8), "--target", "cortex-m4", "--json"]);
        let r = json(&out);
        assert_eq!(out.status.code(), Some(0), "{r:#}");
        r
    };
    let (a, b) = (run(), run());
    let n = a["instructions"].as_u64().expect("an instruction count");
    assert!(n > 1_000_000, "KWS executes millions of instructions: {a:#}");
    assert_eq!(a["instructions"], b["instructions"], "{a:#}\n{b:#}");
    assert_eq!(a["ran_on"], "mps2-an386");
    for key in ["flash_bytes", "ram_bytes", "arena_bytes", "stack_bytes"] {
        assert!(a[key].as_u64().unwrap() > 0, "{key}: {a:#}");
        assert_eq!(a[key], b[key], "{key}");
    }
    assert!(a["rustc"].as_str().unwrap().starts_with("rustc 1."), "{a:#}");
    assert!(a["median_ns"].is_null(), "no wall-clock time in an emulator: {a:#}");
}

#[test]
fn bench_times_the_host_and_says_what_it_did_about_onnxruntime() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let out = tinyops(&["bench", demo.to_str().unwrap(), "--runs", "20", "--json"]);
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(r["ran_on"], "host");
    assert_eq!(r["runs"], 20);
    let (p10, median, p90) =
        (r["p10_ns"].as_u64().unwrap(), r["median_ns"].as_u64().unwrap(), r["p90_ns"].as_u64().unwrap());
    assert!(0 < p10 && p10 <= median && median <= p90, "{r:#}");
    assert!(r["instructions"].is_null());
    let ort_installed = Command::new("python3").args(["-c", "import onnxruntime"]).status().is_ok_and(|s| s.success());
    let note = r["onnxruntime_note"].as_str().unwrap();
    if ort_installed {
        assert!(r["onnxruntime_median_ns"].as_u64().unwrap() > 0, "{r:#}");
        assert!(note.starts_with("onnxruntime ") && note.contains("1 thread"), "{note}");
    } else {
        assert!(r["onnxruntime_median_ns"].is_null(), "never a number that was not measured: {r:#}");
        assert!(note.starts_with("not measured: "), "{note}");
    }
}
