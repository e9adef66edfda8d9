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

/// Issue 9's goal for ResNet-8 int8 on cortex-m4 (0.6 × TFLM's 55,008 B arena): the
/// first residual block runs row-streamed (conv → conv → Add over the block's input),
/// so neither convolution's output exists whole, and the plan streams only what
/// shrinks the arena (this compile only; the verify above runs it).
#[test]
fn resnet8_int8_streams_its_first_block_within_the_arena_goal_on_cortex_m4() {
    let target = tinyops_targets::lookup("cortex-m4").unwrap();
    let model = common::corpus().join("mlperf_ic_resnet8_int8/model.onnx");
    let c = tinyops_compiler::compile(&model, &tinyops_compiler::Options { target, ..Default::default() }).unwrap();
    let plan = &c.plan;
    assert!(plan.arena_bytes <= 33_004, "arena {} B", plan.arena_bytes);
    assert!(!plan.streams.is_empty() && plan.memory.unstreamed_bytes > plan.arena_bytes, "{}", plan.to_text());
    let first = &plan.streams[0].option;
    assert!(first.add.is_some() && first.over_input, "{first:?}");
    // The two convolutions' outputs have no storage; the Add's result is the input's.
    let g = &c.graph;
    for n in [first.producer, first.consumer] {
        let y = g.node(n).outputs[0];
        assert_eq!(plan.loc[&y], tinyops_compiler::plan::Loc::Unused, "{}", g.node(n).name);
    }
    let (a, _) = first.add.unwrap();
    let x = g.node(first.producer).inputs[0].unwrap();
    assert_eq!(plan.loc[&g.node(a).outputs[0]], plan.loc[&x]);
    let code = c.generated.code.replace(char::is_whitespace, "");
    assert!(code.contains("stream::stream_rows_over_input::<i8"));
    assert!(code.contains("|q_,x_,y_|{rt::kernels::arm_dsp::conv2d_q8_form::<i8,i8,i8,"));
}
