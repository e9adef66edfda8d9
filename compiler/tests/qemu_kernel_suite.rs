//! The runtime's kernel test suite (`tinyops_runtime::kernels::suite`) on every target
//! with an emulator board: built as firmware with the cross compiler and code
//! generation options model firmware uses, run in QEMU with the host test's seed, 50
//! cases per kernel. Every kernel of the firmware's table (the portable kernels and the
//! ISA twins its `cfg` enables on that target) must run every case and none may fail;
//! every portable kernel of the host's table must be among them.
//!
//! Needs the cross tools `.ci/all-tests` installs; fails with the install line without
//! them.

use tinyops_compiler::driver::firmware::suite;
use tinyops_compiler::driver::toolchain::{self, Need};

/// Cases per kernel: 6,000 cases per target, 1–10 s of QEMU each (the
/// host test runs 1,000 per kernel natively).
const CASES: u32 = 100;

fn check(target: &str, machine: &str) {
    let t = tinyops_targets::lookup(target).unwrap();
    let tc = toolchain::check(t, Need::Run).unwrap_or_else(|e| panic!("{e}"));
    let r = suite::run(t, suite::HOST_SEED, CASES, &tc, true).unwrap_or_else(|e| panic!("{target}: {e}"));
    print!("{}", r.to_text());
    assert_eq!(r.machine, machine);
    assert!(r.failures.is_empty(), "{target}: failing cases:\n{}", r.to_text());
    assert_eq!(r.summary.2, 0, "{target}: {}", r.to_text());
    assert_eq!(r.exit_code, Some(0), "the firmware exits 0 when nothing failed");
    assert_eq!((r.seed, r.cases), (suite::HOST_SEED, CASES));
    assert_eq!(r.kernels.len() as u32, r.kernels_in_table, "{target}: every kernel of the table ran");
    assert_eq!(r.summary.0, r.kernels_in_table);
    for k in &r.kernels {
        assert_eq!((k.passed, k.failed), (CASES, 0), "{target}: {}", k.name);
    }
    assert_eq!(r.summary.1, CASES * r.kernels_in_table);
    let ran: Vec<&str> = r.kernels.iter().map(|k| k.name.as_str()).collect();
    let portable: Vec<&str> =
        tinyops_runtime::kernels::suite::kernels().filter(|n| n.starts_with("portable::")).collect();
    assert!(portable.len() >= 50, "{portable:?}");
    for name in &portable {
        assert!(ran.contains(name), "{target}: {name} did not run");
    }
    assert!(r.passed());
    assert!(r.stack_bytes > 1024 && r.flash_bytes > 100_000, "{}", r.to_text());
}

#[test]
fn kernel_suite_passes_on_cortex_m4() {
    check("cortex-m4", "mps2-an386");
}

#[test]
fn kernel_suite_passes_on_cortex_m33() {
    check("cortex-m33", "mps2-an505");
}

#[test]
fn kernel_suite_passes_on_cortex_m55() {
    check("cortex-m55", "mps3-an547");
}

#[test]
fn kernel_suite_passes_on_riscv32imac() {
    check("riscv32imac", "virt");
}

#[test]
fn every_emulated_target_has_a_suite_test() {
    let source = include_str!("qemu_kernel_suite.rs");
    for t in tinyops_targets::TARGETS.iter().filter(|t| t.emulator.is_some()) {
        let test = format!("fn kernel_suite_passes_on_{}()", t.name.replace('-', "_"));
        assert!(source.contains(&test), "no `{test}` for {}", t.name);
    }
}
