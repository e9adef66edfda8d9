//! `tinyops fleet` through its command line, on a cheap subset so CI stays within its
//! budget: two variants of the corpus MLP (fp32 and ORT-quantised QDQ, about 80 and
//! 34 KB of flash) on three devices of three kinds (nrf52840: cortex-m4 in QEMU;
//! rp2040: cortex-m0plus, built only; linux-host), with quality on the MLP's
//! reference set. Cost: four small firmware builds, two QEMU runs and two host builds:
//! 4.2 s measured in a full `cargo test --workspace` with those images already in the
//! cache; 198 s measured for the same run with `core` not yet built for cortex-m4 and
//! cortex-m0plus (which the QEMU suites build anyway).
//!
//! Checks the JSON shape of the issue (one entry per device: `device`, `chosen`,
//! `variants` with `fits`, `flash_bytes`, `ram_bytes`, `ms`, `quality`), that the
//! emulator figures equal `tinyops bench`'s for the same model and target, and that
//! the SVG is written. Needs the cross tools `.ci/all-tests` installs.

mod common;

use serde_json::Value;
use std::process::Command;
use tinyops_compiler::driver::bench::{bench, BenchOptions};
use tinyops_compiler::Options;

fn tinyops() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tinyops"))
}

#[test]
fn fleet_json_has_one_entry_per_device_and_its_emulator_figures_are_bench_s() {
    let corpus = common::corpus();
    let dir = common::tempdir("fleet-json");
    let devices = dir.join("devices.toml");
    std::fs::write(
        &devices,
        "builtin = false\n[[device]]\nname = \"nrf52840\"\n[[device]]\nname = \"rp2040\"\n\
         [[device]]\nname = \"linux-host\"\n",
    )
    .unwrap();
    let svg = dir.join("fleet.svg");
    let (fp32, qdq) = (corpus.join("torch_mlp"), corpus.join("torch_mlp_ortq_qdq"));
    let out = tinyops()
        .args(["fleet", "--json", "--host-runs", "5", "--models"])
        .args([&fp32, &qdq])
        .arg("--devices")
        .arg(&devices)
        .arg("--data")
        .arg(&fp32)
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    println!("{stdout}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let entries = json.as_array().expect("one JSON array");
    let names: Vec<&str> = entries.iter().map(|e| e["device"].as_str().unwrap()).collect();
    assert_eq!(names, ["nrf52840", "rp2040", "linux-host"]);
    for e in entries {
        let variants = e["variants"].as_array().unwrap();
        let vnames: Vec<&str> = variants.iter().map(|v| v["variant"].as_str().unwrap()).collect();
        assert_eq!(vnames, ["torch_mlp", "torch_mlp_ortq_qdq"]);
        for v in variants {
            for key in ["fits", "flash_bytes", "ram_bytes", "ms", "quality"] {
                assert!(v.get(key).is_some(), "{key} missing in {v}");
            }
            assert!(v["fits"].is_boolean());
            // Quality: top-1 agreement with the fp32 variant over its one reference set.
            assert_eq!(v["quality"].as_f64(), Some(1.0), "{v}");
        }
        // Both fit every one of these devices; without a latency budget the best
        // quality wins (a tie here), then the lower cost, then the smaller flash.
        assert!(variants.iter().all(|v| v["fits"] == Value::Bool(true)), "{e}");
        assert!(e["chosen"].is_string(), "{e}");
    }
    let (nrf, rp, host) = (&entries[0]["variants"], &entries[1]["variants"], &entries[2]["variants"]);
    // rp2040 (cortex-m0plus) is built and measured from its image, never run: no ms.
    for v in rp.as_array().unwrap() {
        assert!(v["ms"].is_null() && v["ms_kind"] == "not run", "{v}");
        assert!(v["flash_bytes"].as_u64().unwrap() > 0 && v["stack_bytes"].is_null(), "{v}");
    }
    // The host has no image and no budgets, and its latency is measured.
    for v in host.as_array().unwrap() {
        assert!(v["flash_bytes"].is_null() && v["ms_kind"] == "measured" && v["ms"].as_f64().unwrap() > 0.0, "{v}");
    }
    assert!(std::fs::read_to_string(&svg).unwrap().contains("nrf52840 (cortex-m4)"));

    // The emulator figures are `tinyops bench`'s for the same model and target.
    let m4 = tinyops_targets::lookup("cortex-m4").unwrap();
    for (k, model) in [&fp32, &qdq].into_iter().enumerate() {
        let opts = BenchOptions {
            compile: Options { target: m4, ..Options::default() },
            quiet: true,
            ..BenchOptions::default()
        };
        let b = bench(model, &opts).unwrap();
        let v = &nrf[k];
        let insns = b.instructions.unwrap();
        println!("{}: bench {insns} instructions, fleet {}", v["variant"], v["instructions"]);
        assert_eq!(v["instructions"].as_u64(), Some(insns), "{v}");
        assert_eq!(v["flash_bytes"].as_u64(), b.flash_bytes, "{v}");
        assert_eq!(v["ram_bytes"].as_u64(), Some(b.ram_bytes.unwrap() + b.stack_bytes.unwrap()), "{v}");
        assert_eq!(v["ms"].as_f64(), Some(insns as f64 * 1e3 / 64e6), "{v}");
        assert_eq!(v["ms_kind"], "estimate");
    }
}

#[test]
fn a_bad_devices_file_is_reported_whole_before_any_work() {
    let dir = common::tempdir("fleet-bad-devices");
    let devices = dir.join("devices.toml");
    std::fs::write(
        &devices,
        "[[device]]\nname = \"x\"\ntarget = \"cortex-m7\"\nclock_mhz = 0\nflash_kib = 8\nram_kib = 4\nreserved_ram_kib = 4\n",
    )
    .unwrap();
    let out = tinyops().args(["fleet", "--models", "no-such-model.onnx", "--devices"]).arg(&devices).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("3 problems in the devices file"), "{stderr}");
    assert!(stderr.contains("`clock_mhz` is zero"), "{stderr}");
    assert!(stderr.contains("unknown target `cortex-m7`"), "{stderr}");
    assert!(stderr.contains("leaves nothing of `ram_kib`"), "{stderr}");
    // `--models` is required.
    let out = tinyops().args(["fleet"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--models"));
}
