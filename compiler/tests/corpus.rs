//! The corpus suite: `tinyops verify` on every model of `../shared/corpus` (or
//! `$TINYOPS_CORPUS`), through the same code path as the CLI: compile, build with the
//! host harness, run, compare with the references.

mod common;

use tinyops_compiler::driver::verify::{verify, VerifyOptions};

fn check(id: &str) {
    let dir = common::corpus().join(id);
    let opts = VerifyOptions { quiet: true, ..Default::default() };
    let r = verify(&dir, &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert!(r.passed, "{id} failed:\n{}", r.to_text());
    // Float models: within 1e-4 absolute (or relative where outputs are large) of the
    // op-by-op onnxruntime reference.
    for c in
        r.sets.iter().flat_map(|s| &s.checks).filter(|c| c.reference == "onnxruntime" && c.step_histogram.is_none())
    {
        assert!(c.outside_tolerance == 0, "{id}: {c:?}");
        assert_eq!(c.argmax.0, c.argmax.1, "{id}: arg-max differs");
    }
}

macro_rules! corpus_tests {
    ($($name:ident),* $(,)?) => {
        /// Every corpus model this suite covers.
        const COVERED: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

corpus_tests! {
    mlperf_ad_autoencoder_fp32,
    mlperf_ic_resnet8_fp32,
    mlperf_ic_resnet_large_fp32,
    mlperf_kws_dscnn_fp32,
    mlperf_kws_dscnn_hybrid,
    mlperf_vww_mbv1_fp32,
    torch_kws_conv1d,
    torch_lenet5,
    torch_lstm_kws,
    torch_mlp,
    torch_mobilenetv2_035_96,
    torch_mobilenetv2_035_96_op17,
}

/// Models the suite does not cover yet, each with the reason. A new corpus model must
/// land in one list or the other, so none goes untested by accident.
const NOT_YET: &[(&str, &str)] = &[
    ("mlperf_ad_autoencoder_fp32_ortq_qdq", "int8 (issue 3)"),
    ("mlperf_ad_autoencoder_fp32_ortq_qop", "int8 (issue 3)"),
    ("mlperf_ad_autoencoder_int8", "int8 (issue 3)"),
    ("mlperf_ic_resnet8_fp32_ortq_qdq", "int8 (issue 3)"),
    ("mlperf_ic_resnet8_fp32_ortq_qop", "int8 (issue 3)"),
    ("mlperf_ic_resnet8_int8", "int8 (issue 3)"),
    ("mlperf_ic_resnet_large_fp32_ortq_qdq", "int8 (issue 3)"),
    ("mlperf_ic_resnet_large_fp32_ortq_qop", "int8 (issue 3)"),
    ("mlperf_ic_resnet_large_int8", "int8 (issue 3)"),
    ("mlperf_kws_dscnn_fp32_ortq_qdq", "int8 (issue 3)"),
    ("mlperf_kws_dscnn_fp32_ortq_qop", "int8 (issue 3)"),
    ("mlperf_kws_dscnn_int8", "int8 (issue 3)"),
    ("mlperf_sww_int8", "int8 (issue 3)"),
    ("mlperf_vww_mbv1_fp32_ortq_qdq", "int8 (issue 3)"),
    ("mlperf_vww_mbv1_fp32_ortq_qop", "int8 (issue 3)"),
    ("mlperf_vww_mbv1_int8", "int8 (issue 3)"),
    ("torch_kws_conv1d_ortq_qdq", "int8 (issue 3)"),
    ("torch_kws_conv1d_ortq_qop", "int8 (issue 3)"),
    ("torch_lenet5_ortq_qdq", "int8 (issue 3)"),
    ("torch_lenet5_ortq_qop", "int8 (issue 3)"),
    ("torch_mlp_ortq_qdq", "int8 (issue 3)"),
    ("torch_mlp_ortq_qop", "int8 (issue 3)"),
    ("torch_mobilenetv2_035_96_ortq_qdq", "int8 (issue 3)"),
    ("torch_mobilenetv2_035_96_ortq_qop", "int8 (issue 3)"),
];

#[test]
fn every_corpus_model_is_covered_or_listed_with_a_reason() {
    let mut missing = vec![];
    for e in std::fs::read_dir(common::corpus()).unwrap() {
        let e = e.unwrap();
        if !e.path().join("model.onnx").is_file() {
            continue;
        }
        let id = e.file_name().to_string_lossy().into_owned();
        if !COVERED.contains(&id.as_str()) && !NOT_YET.iter().any(|(m, _)| *m == id) {
            missing.push(id);
        }
    }
    assert!(missing.is_empty(), "corpus models in no list: {missing:?}");
}
