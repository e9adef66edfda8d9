//! Snapshot tests: the IR text after import and after the pass pipeline, the memory
//! plan, and the generated code, for small models. Review changes with
//! `cargo insta review`; in CI (`INSTA_UPDATE=no`) a changed snapshot fails.

mod common;

use std::path::{Path, PathBuf};
use tinyops_compiler::{compile, Options};

fn snapshot_model(name: &str, path: &Path) {
    let opts = Options { dump_ir: true, ..Options::default() };
    let c = compile(path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
    let optimised = c.pass_log.steps.last().and_then(|s| s.2.clone()).expect("IR after the last pass");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}.import.ir"), c.imported_ir.clone().unwrap());
        insta::assert_snapshot!(format!("{name}.optimised.ir"), optimised);
        insta::assert_snapshot!(format!("{name}.plan"), c.plan.to_text());
        insta::assert_snapshot!(format!("{name}.generated.rs"), c.generated.code);
    });
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/model.onnx")
}

#[test]
fn demo_model() {
    snapshot_model("demo", &demo());
}

#[test]
fn torch_mlp() {
    snapshot_model("torch_mlp", &common::corpus().join("torch_mlp/model.onnx"));
}

#[test]
fn torch_lenet5() {
    snapshot_model("torch_lenet5", &common::corpus().join("torch_lenet5/model.onnx"));
}

#[test]
fn mlperf_kws_dscnn_fp32() {
    snapshot_model("mlperf_kws_dscnn_fp32", &common::corpus().join("mlperf_kws_dscnn_fp32/model.onnx"));
}

#[test]
fn torch_lstm_kws() {
    snapshot_model("torch_lstm_kws", &common::corpus().join("torch_lstm_kws/model.onnx"));
}

#[test]
fn generated_code_is_byte_identical_across_runs() {
    let p = common::corpus().join("torch_mobilenetv2_035_96/model.onnx");
    let a = compile(&p, &Options::default()).unwrap();
    let b = compile(&p, &Options::default()).unwrap();
    assert_eq!(a.generated.code, b.generated.code);
    assert_eq!(a.generated.weight_files, b.generated.weight_files);
}

#[test]
fn mlperf_kws_dscnn_int8() {
    snapshot_model("mlperf_kws_dscnn_int8", &common::corpus().join("mlperf_kws_dscnn_int8/model.onnx"));
}

#[test]
fn torch_mlp_ortq_qop() {
    snapshot_model("torch_mlp_ortq_qop", &common::corpus().join("torch_mlp_ortq_qop/model.onnx"));
}
