//! The JIT engine: its cranelift IR for a small model (snapshot), its refusals, and
//! `verify --engine both` on every corpus model — the Rust backend's harness (cached
//! by the corpus suite, which runs the same compilation) against the JIT, integer
//! outputs identical bit for bit, floats within 4 ULP or 1e-6 absolute.
//!
//! Cost: the JIT side compiles each model with cranelift in well under a second; the
//! Rust side reuses the corpus suite's harness builds (a no-op cargo call per model
//! when that suite ran first in the same cache), so the suite adds about a minute.

mod common;

use std::path::PathBuf;
use tinyops_compiler::backend::jit::Engine;
use tinyops_compiler::driver::engine::EngineChoice;
use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::ir::DType;
use tinyops_compiler::lower::{Overlap, Place};
use tinyops_compiler::{compile, Options};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/model.onnx")
}

#[test]
fn demo_cranelift_ir() {
    let c = compile(&demo(), &Options::default()).unwrap();
    let e = Engine::new(&c.program, c.target, false).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("demo.jit.clif", e.ir()));
    // The IR is a function of the program alone.
    let again = Engine::new(&compile(&demo(), &Options::default()).unwrap().program, c.target, false).unwrap();
    assert_eq!(e.ir(), again.ir());
}

#[test]
fn avx2_kernels_are_refused_by_name() {
    let t = tinyops_targets::lookup("x86-64-v3").unwrap();
    let c = compile(&common::corpus().join("torch_lenet5/model.onnx"), &Options { target: t, ..Options::default() })
        .unwrap();
    let avx2 = c.program.steps.iter().flat_map(|s| &s.calls).filter(|k| k.isa.module() == "x86_avx2").count();
    assert!(avx2 > 0, "the x86-64-v3 target selects AVX2 kernels for LeNet-5");
    let err = Engine::new(&c.program, c.target, false).unwrap_err().to_string();
    assert!(err.contains(&format!("cannot run {avx2} kernel call")), "{err}");
    assert!(err.contains("x86_avx2::conv2d_f32"), "{err}");
    assert!(err.contains("node `"), "{err}");
}

#[test]
fn bare_metal_targets_are_refused() {
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let c = compile(&demo(), &Options { target: t, ..Options::default() }).unwrap();
    let err = Engine::new(&c.program, c.target, false).unwrap_err().to_string();
    assert!(err.contains("cortex-m4") && err.contains("bare-metal"), "{err}");
}

#[test]
fn observed_runs_report_every_step() {
    let c = compile(&demo(), &Options::default()).unwrap();
    let g = &c.graph;
    let inputs: Vec<_> = g
        .inputs()
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let data: Vec<f32> = (0..ty.numel()).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
            tinyops_compiler::ir::Tensor { shape: ty.shape.clone(), data: tinyops_compiler::ir::Data::F32(data) }
        })
        .collect();
    let mut plain = Engine::new(&c.program, c.target, false).unwrap();
    let mut seen = Engine::new(&c.program, c.target, true).unwrap();
    let a = plain.run(&inputs).unwrap();
    let (b, steps) = seen.run_observed(&inputs).unwrap();
    assert_eq!(steps.len(), c.program.steps.len());
    assert_eq!(a[0].data.to_le_bytes(), b[0].data.to_le_bytes());
    // The reference evaluator agrees with the JIT on the demo model.
    let want = tinyops_compiler::eval::run(g, &inputs).unwrap();
    for (x, y) in a[0].data.to_le_bytes().chunks(4).zip(want[0].data.to_le_bytes().chunks(4)) {
        let (x, y) = (f32::from_le_bytes(x.try_into().unwrap()), f32::from_le_bytes(y.try_into().unwrap()));
        assert!((x - y).abs() <= 1e-4 + 1e-4 * y.abs(), "{x} vs {y}");
    }
}

/// Host int8 models run convolutions and additions over their dead inputs: the JIT
/// calls them through the runtime's in-place entries over one buffer (the corpus
/// comparison below checks their results against the Rust backend's), and refuses an
/// in-place call whose other operands reach into the overlapped span.
#[test]
fn in_place_calls_go_through_the_in_place_entries() {
    let c = compile(&common::corpus().join("mlperf_ic_resnet8_int8/model.onnx"), &Options::default()).unwrap();
    let calls = || c.program.steps.iter().flat_map(|s| &s.calls);
    let of = |o: Overlap| calls().filter(|k| k.in_place.is_some_and(|ip| ip.overlap == o)).count();
    let (rows, elementwise) = (of(Overlap::ConvRows), of(Overlap::Elementwise));
    assert!(
        rows > 0 && elementwise > 0,
        "ResNet-8 int8 on the host: {rows} convolutions and {elementwise} additions in place"
    );
    let e = Engine::new(&c.program, c.target, false).unwrap();
    assert!(e.ir().contains("inplace::conv_rows(portable::conv2d_q8<i8,i8,i8>)"), "{}", e.ir());
    assert!(e.ir().contains("inplace::elementwise(portable::add_q8<"), "{}", e.ir());

    // The same program with a convolution's accumulator moved into its in-place span.
    let mut bad = c.program.clone();
    let (s, k) = bad
        .steps
        .iter()
        .enumerate()
        .find_map(|(s, st)| {
            st.calls.iter().position(|k| k.in_place.is_some_and(|ip| ip.overlap == Overlap::ConvRows)).map(|k| (s, k))
        })
        .unwrap();
    let call = &mut bad.steps[s].calls[k];
    let ip = call.in_place.unwrap();
    let (lo, _) = ip.span(call).unwrap();
    let acc = call.writes.iter().position(|o| o.dtype == DType::I32).unwrap();
    call.writes[acc].place = Place::Arena { offset: lo };
    let err = Engine::new(&bad, c.target, false).unwrap_err().to_string();
    assert!(err.contains("overlaps the in-place span") && err.contains(&bad.steps[s].node), "{err}");
}

fn both(id: &str) {
    let opts = VerifyOptions { quiet: true, engine: EngineChoice::Both, ..Default::default() };
    let r = verify(&common::corpus().join(id), &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    print!("{}", r.to_text());
    assert!(!r.engine_diffs.is_empty(), "{id}: no engine comparison");
    for d in &r.engine_diffs {
        assert_eq!(d.differing, 0, "{id}: output `{}` differs between engines:\n{}", d.output, r.to_text());
    }
    assert!(r.passed, "{id}:\n{}", r.to_text());
}

common::corpus_tests!(both);

#[test]
fn every_corpus_model_is_compared() {
    let missing = common::uncovered(COVERED);
    assert!(missing.is_empty(), "corpus models the JIT suite does not compare: {missing:?}");
}
