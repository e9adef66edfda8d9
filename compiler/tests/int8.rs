//! Quantised models become integer kernels: `--require-int8` holds on every int8,
//! QDQ and QOperator corpus model (no float compute remains), fails with every
//! float node named on a model that is not quantised, weights stay int8 in flash,
//! and the official ONNX node tests of the quantised ops pass.

mod common;

use std::collections::HashSet;
use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::ops::Arith;
use tinyops_compiler::passes::quantize::arith_of;
use tinyops_compiler::{compile, Options};

const QUANTISED: &[&str] = &[
    "mlperf_ad_autoencoder_int8",
    "mlperf_ic_resnet8_int8",
    "mlperf_ic_resnet_large_int8",
    "mlperf_kws_dscnn_int8",
    "mlperf_sww_int8",
    "mlperf_vww_mbv1_int8",
    "mlperf_ad_autoencoder_fp32_ortq_qdq",
    "mlperf_ad_autoencoder_fp32_ortq_qop",
    "mlperf_ic_resnet8_fp32_ortq_qdq",
    "mlperf_ic_resnet8_fp32_ortq_qop",
    "mlperf_ic_resnet_large_fp32_ortq_qdq",
    "mlperf_ic_resnet_large_fp32_ortq_qop",
    "mlperf_kws_dscnn_fp32_ortq_qdq",
    "mlperf_kws_dscnn_fp32_ortq_qop",
    "mlperf_vww_mbv1_fp32_ortq_qdq",
    "mlperf_vww_mbv1_fp32_ortq_qop",
    "torch_kws_conv1d_ortq_qdq",
    "torch_kws_conv1d_ortq_qop",
    "torch_lenet5_ortq_qdq",
    "torch_lenet5_ortq_qop",
    "torch_mlp_ortq_qdq",
    "torch_mlp_ortq_qop",
    "torch_mobilenetv2_035_96_ortq_qdq",
    "torch_mobilenetv2_035_96_ortq_qop",
];

#[test]
fn require_int8_holds_on_every_quantised_corpus_model() {
    let corpus = common::corpus();
    let opts = Options { require_int8: true, ..Options::default() };
    for id in QUANTISED {
        let c = compile(&corpus.join(id).join("model.onnx"), &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
        let int_nodes = c.plan.order.iter().filter(|&&n| arith_of(&c.graph, n) == Arith::Integer).count();
        assert!(int_nodes >= 3, "{id}: only {int_nodes} integer nodes");
        let float_nodes = c.plan.order.iter().filter(|&&n| arith_of(&c.graph, n) == Arith::Float).count();
        assert_eq!(float_nodes, 0, "{id}");
    }
}

#[test]
fn require_int8_names_every_float_node() {
    let p = common::corpus().join("mlperf_kws_dscnn_hybrid/model.onnx");
    let e = compile(&p, &Options { require_int8: true, ..Options::default() }).unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.problems().len(), 12, "{msg}");
    assert!(
        msg.contains("node `functional_1/average_pooling2d/AvgPool` (IR op avg_pool): unsupported: computes in float"),
        "{msg}"
    );
    assert!(msg.contains("node `Identity` (IR op softmax)"), "{msg}");
}

/// Bytes of the int8/uint8 weights and int32 biases a model stores (the data inputs
/// of its DequantizeLinear and QLinear nodes that are initializers).
fn quantised_parameter_bytes(path: &std::path::Path) -> usize {
    use onnx_protobuf::Message;
    let m = onnx_protobuf::ModelProto::parse_from_bytes(&std::fs::read(path).unwrap()).unwrap();
    let g = m.graph.as_ref().unwrap();
    let data_inputs: HashSet<&str> = g
        .node
        .iter()
        .filter(|n| n.op_type == "DequantizeLinear")
        .filter_map(|n| n.input.first().map(String::as_str))
        .collect();
    g.initializer
        .iter()
        .filter(|t| data_inputs.contains(t.name.as_str()))
        .map(|t| {
            let n: i64 = t.dims.iter().product();
            n as usize * if t.data_type == 6 { 4 } else { 1 }
        })
        .sum()
}

#[test]
fn int8_weights_stay_int8_in_flash() {
    let corpus = common::corpus();
    let kws = corpus.join("mlperf_kws_dscnn_int8/model.onnx");
    let params = quantised_parameter_bytes(&kws);
    let c = compile(&kws, &Options::default()).unwrap();
    let flash = c.program.weight_bytes();
    let ratio = flash as f64 / params as f64;
    println!("mlperf_kws_dscnn_int8: {flash} B of weights in flash for {params} B of int8 weights and int32 biases ({ratio:.3})");
    assert!((0.9..=1.1).contains(&ratio), "{flash} B vs {params} B");
    let f32 = compile(&corpus.join("mlperf_kws_dscnn_fp32/model.onnx"), &Options::default()).unwrap();
    let quarter = flash as f64 / f32.program.weight_bytes() as f64;
    assert!(quarter < 0.3, "int8 flash is {quarter:.2} of the float model's");
}

/// Runs a node test; `no_float` cases must compile with no float compute at all.
fn node_test(case: &str, runtime: &[usize], no_float: bool) {
    let dir = common::freeze_inputs(&common::onnx_tests().join("node").join(case), runtime, case);
    let r =
        verify(&dir, &VerifyOptions { quiet: true, ..Default::default() }).unwrap_or_else(|e| panic!("{case}: {e}"));
    assert!(r.passed, "{case}:\n{}", r.to_text());
    let c = compile(&dir.join("model.onnx"), &Options::default()).unwrap();
    let float = c.plan.order.iter().any(|&n| arith_of(&c.graph, n) == Arith::Float);
    assert_eq!(float, !no_float, "{case}: float compute {}", if float { "remains" } else { "is gone" });
}

#[test]
fn onnx_node_tests_of_quantised_ops() {
    node_test("test_qlinearconv", &[0], true);
    node_test("test_qlinearmatmul_2D_int8_float32", &[0], true);
    node_test("test_qlinearmatmul_2D_uint8_float32", &[0], true);
    // A batched (3-D) constant B has no integer kernel yet: it runs, in float, visibly.
    node_test("test_qlinearmatmul_3D_int8_float32", &[0], false);
    node_test("test_qlinearmatmul_3D_uint8_float32", &[0], false);
    node_test("test_convinteger_with_padding", &[0], true);
    node_test("test_convinteger_without_padding", &[0], true);
    node_test("test_matmulinteger", &[0], true);
    node_test("test_quantizelinear", &[0], true);
    node_test("test_quantizelinear_axis", &[0], true);
    node_test("test_dequantizelinear", &[0], true);
    node_test("test_dequantizelinear_axis", &[0], true);
}
