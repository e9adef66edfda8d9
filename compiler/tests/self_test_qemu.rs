//! A generated module verifies itself on the device: KWS int8 compiled for cortex-m4
//! runs `self_test()` in QEMU and passes, reporting its manifest hash; the same image
//! with one weight byte flipped fails, naming the output. Also measures the flash the
//! self-test costs (the firmware built both ways) and prints it.
//!
//! Cost: two firmware builds of one small model and three short QEMU runs (about a
//! minute warm).

mod common;

use tinyops_compiler::driver::firmware::selftest;
use tinyops_compiler::driver::toolchain;
use tinyops_compiler::golden::GoldenSource;
use tinyops_compiler::{compile, Options};

#[test]
fn self_test_passes_in_qemu_and_a_flipped_weight_byte_fails_it() {
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let tc = toolchain::check(t, toolchain::Need::Run).unwrap_or_else(|e| panic!("{e}"));
    let model = common::corpus().join("mlperf_kws_dscnn_int8/model.onnx");
    let opts = Options { target: t, ..Options::default() };
    let c = compile(&model, &opts).unwrap();
    let fw = selftest::build(&c, true, &tc, true).unwrap();
    let (line, manifest) = selftest::run(&c, &fw.elf, &tc).unwrap();
    assert_eq!(line, "self-test PASS");
    assert_eq!(manifest, c.generated.manifest.sha256(), "the device reports the manifest hash the compiler wrote");

    // Flip one byte of the largest weight in the linked image.
    let elf = std::fs::read(&fw.elf).unwrap();
    let w = c.program.weights.iter().max_by_key(|w| w.bytes.len()).unwrap();
    let found: Vec<usize> = elf.windows(w.bytes.len()).enumerate().filter(|(_, s)| *s == w.bytes).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "weight `{}` ({} B) should occur once in the image", w.symbol, w.bytes.len());
    let mut flipped = elf.clone();
    flipped[found[0] + w.bytes.len() / 2] ^= 0x40;
    let bad = fw.elf.with_extension("flipped.elf");
    std::fs::write(&bad, &flipped).unwrap();
    let (line, _) = selftest::run(&c, &bad, &tc).unwrap();
    let output = &c.program.outputs[0].name;
    assert!(line.starts_with(&format!("self-test FAIL output=0 name={output} index=")), "{line}");
    println!("flipped a byte of `{}` at file offset {:#x}: {line}", w.symbol, found[0] + w.bytes.len() / 2);

    // The flash the self-test costs, measured: the same firmware without it.
    let off = compile(&model, &Options { self_test: GoldenSource::Off, ..opts.clone() }).unwrap();
    assert!(!off.generated.code.contains("fn self_test"));
    let plain = selftest::build(&off, false, &tc, true).unwrap();
    let cost = fw.footprint.flash_bytes as i64 - plain.footprint.flash_bytes as i64;
    println!(
        "self-test flash cost on cortex-m4 (KWS int8): {cost} B ({} B with, {} B without; golden vectors {} B)",
        fw.footprint.flash_bytes,
        plain.footprint.flash_bytes,
        c.golden.as_ref().map_or(0, |g| g.inputs.iter().chain(&g.outputs).map(|t| t.data.to_le_bytes().len()).sum())
    );
    assert!(cost > 0, "the self-test adds code and data");
}
