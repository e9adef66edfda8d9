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
    // Float.
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
    // int8 (tf2onnx QDQ, int8 in and out).
    mlperf_ad_autoencoder_int8,
    mlperf_ic_resnet8_int8,
    mlperf_ic_resnet_large_int8,
    mlperf_kws_dscnn_int8,
    mlperf_sww_int8,
    mlperf_vww_mbv1_int8,
    // onnxruntime-quantised, QDQ format.
    mlperf_ad_autoencoder_fp32_ortq_qdq,
    mlperf_ic_resnet8_fp32_ortq_qdq,
    mlperf_ic_resnet_large_fp32_ortq_qdq,
    mlperf_kws_dscnn_fp32_ortq_qdq,
    mlperf_vww_mbv1_fp32_ortq_qdq,
    torch_kws_conv1d_ortq_qdq,
    torch_lenet5_ortq_qdq,
    torch_mlp_ortq_qdq,
    torch_mobilenetv2_035_96_ortq_qdq,
    // onnxruntime-quantised, QOperator format.
    mlperf_ad_autoencoder_fp32_ortq_qop,
    mlperf_ic_resnet8_fp32_ortq_qop,
    mlperf_ic_resnet_large_fp32_ortq_qop,
    mlperf_kws_dscnn_fp32_ortq_qop,
    mlperf_vww_mbv1_fp32_ortq_qop,
    torch_kws_conv1d_ortq_qop,
    torch_lenet5_ortq_qop,
    torch_mlp_ortq_qop,
    torch_mobilenetv2_035_96_ortq_qop,
}

#[test]
fn every_corpus_model_is_covered() {
    let mut missing = vec![];
    for e in std::fs::read_dir(common::corpus()).unwrap() {
        let e = e.unwrap();
        if !e.path().join("model.onnx").is_file() {
            continue;
        }
        let id = e.file_name().to_string_lossy().into_owned();
        if !COVERED.contains(&id.as_str()) {
            missing.push(id);
        }
    }
    assert!(missing.is_empty(), "corpus models the suite does not verify: {missing:?}");
}
