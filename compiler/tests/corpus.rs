//! The corpus suite: `tinyops verify` on every model of `../shared/corpus` (or
//! `$TINYOPS_CORPUS`), through the same code path as the CLI: compile, build with the
//! host harness, run, compare with the references.

mod common;

use tinyops_compiler::driver::verify::{verify, VerifyOptions};

fn check(id: &str) {
    let dir = common::corpus().join(id);
    let opts = VerifyOptions { quiet: true, ..Default::default() };
    let r = verify(&dir, &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    print!("{}", r.to_text());
    assert!(r.passed, "{id} failed:\n{}", r.to_text());
    for set in &r.sets {
        let names: std::collections::BTreeSet<&str> = set.checks.iter().map(|c| c.name.as_str()).collect();
        for name in names {
            let checks: Vec<_> = set.checks.iter().filter(|c| c.name == name).collect();
            if checks[0].step_histogram.is_none() {
                // Float: within 1e-4 (absolute, or relative where large) of op-by-op onnxruntime.
                let primary = checks.iter().find(|c| c.reference == "onnxruntime").expect("primary reference");
                assert_eq!(primary.outside_tolerance, 0, "{id}: {primary:?}");
                assert_eq!(primary.argmax.0, primary.argmax.1, "{id}: arg-max differs");
            } else {
                // Quantised: same arg-max and ≥ 99% of elements within one step of some reference.
                let ok = checks.iter().any(|c| {
                    let h = c.step_histogram.expect("histogram");
                    c.argmax.0 == c.argmax.1 && (h[0] + h[1]) as f64 >= 0.99 * c.elements as f64
                });
                assert!(ok, "{id}: output `{name}` is not within one step of any reference: {checks:?}");
            }
        }
    }
}

common::corpus_tests!(check);

#[test]
fn every_corpus_model_is_covered() {
    let missing = common::uncovered(COVERED);
    assert!(missing.is_empty(), "corpus models the suite does not verify: {missing:?}");
}
