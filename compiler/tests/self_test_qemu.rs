//! A generated module verifies itself on the device: KWS int8 compiled for cortex-m4
//! runs `self_test()` in QEMU and passes, and writes its device report (manifest hash,
//! self-test result, output statistics), which `tinyops fleet report` reads back; the
//! same image with one weight byte flipped fails, naming the output. Also measures the
//! flash the self-test costs (the firmware built both ways) and prints it.
//!
//! Cost: three firmware builds of one small model and two short QEMU runs (a minute
//! or two warm).

mod common;

use tinyops_compiler::driver::firmware::selftest::{self, Kind};
use tinyops_compiler::driver::report_decode;
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
    let fw = selftest::build(&c, Kind::Report, &tc, true).unwrap();
    let p = selftest::run(&c, &fw.elf, &tc).unwrap();
    assert_eq!(p.line, "self-test PASS");
    let manifest = c.generated.manifest.sha256();
    assert_eq!(p.manifest, manifest, "the device prints the manifest hash the compiler wrote");

    // The device report it encoded, read back by `tinyops fleet report`.
    let dir = common::tempdir("self-test-report");
    let file = dir.join("device.pb");
    let bytes = p.report.as_ref().expect("the firmware printed its report");
    println!("device report: {} B", bytes.len());
    std::fs::write(&file, bytes).unwrap();
    let reports = report_decode::read_all(&[&file]).unwrap();
    let r = &reports[0].1;
    assert_eq!(r.manifest_hex(), manifest);
    assert_eq!(r.target, "cortex-m4");
    assert_eq!(r.self_test_text(), "PASS");
    let stats = r.stats.as_ref().unwrap();
    assert_eq!((stats.count, stats.elements, stats.top_class.len()), (1, 12, 12));
    assert_eq!(stats.top_class.iter().sum::<u32>(), 1);
    assert!(stats.min <= stats.mean && stats.mean <= stats.max, "{stats:?}");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_tinyops"))
        .args(["fleet", "report"])
        .arg(&file)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&cli.stdout);
    println!("{table}");
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let row: Vec<&str> = table.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert!(row[1] == &manifest[..16] && row[5] == "PASS" && row[6] == "n=1", "{table}");

    // Flip one byte of the largest weight in the linked image.
    let elf = std::fs::read(&fw.elf).unwrap();
    let w = c.program.weights.iter().max_by_key(|w| w.bytes.len()).unwrap();
    let found: Vec<usize> =
        elf.windows(w.bytes.len()).enumerate().filter(|(_, s)| *s == w.bytes).map(|(i, _)| i).collect();
    assert_eq!(found.len(), 1, "weight `{}` ({} B) should occur once in the image", w.symbol, w.bytes.len());
    let mut flipped = elf.clone();
    flipped[found[0] + w.bytes.len() / 2] ^= 0x40;
    let bad = fw.elf.with_extension("flipped.elf");
    std::fs::write(&bad, &flipped).unwrap();
    let p = selftest::run(&c, &bad, &tc).unwrap();
    let (line, output) = (&p.line, &c.program.outputs[0].name);
    assert!(line.starts_with(&format!("self-test FAIL output=0 name={output} index=")), "{line}");
    println!("flipped a byte of `{}` at file offset {:#x}: {line}", w.symbol, found[0] + w.bytes.len() / 2);
    let failed = report_decode::decode(p.report.as_ref().unwrap()).unwrap();
    assert!(failed.self_test_text().starts_with(&format!("FAIL output 0 `{output}`")), "{}", failed.self_test_text());
    assert_eq!(failed.manifest_hex(), manifest, "the manifest hash is unchanged: only a weight byte differs");

    // The flash the self-test costs, measured: the same firmware without it.
    let off = compile(&model, &Options { self_test: GoldenSource::Off, ..opts.clone() }).unwrap();
    assert!(!off.generated.code.contains("fn self_test"));
    let plain = selftest::build(&off, Kind::Plain, &tc, true).unwrap();
    let with = selftest::build(&c, Kind::SelfTest, &tc, true).unwrap();
    let cost = with.footprint.flash_bytes as i64 - plain.footprint.flash_bytes as i64;
    println!(
        "self-test flash cost on cortex-m4 (KWS int8): {cost} B ({} B with, {} B without; golden vectors {} B)",
        with.footprint.flash_bytes,
        plain.footprint.flash_bytes,
        c.golden.as_ref().map_or(0, |g| g.inputs.iter().chain(&g.outputs).map(|t| t.data.to_le_bytes().len()).sum())
    );
    assert!(cost > 0, "the self-test adds code and data");
    let _ = std::fs::remove_dir_all(&dir);
}
