//! Every quantised pattern the quantisation pass knows, against onnxruntime's own
//! implementation: the fixtures (`tests/fixtures`, written by
//! `make_quantised_ops.py`) hold one QOperator op or QDQ chain each, with random
//! inputs. Each must run with no float compute and match onnxruntime within one step
//! on at least 99% of the elements, with the same arg-max.

use std::path::PathBuf;
use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::ops::Arith;
use tinyops_compiler::passes::quantize::arith_of;
use tinyops_compiler::{compile, Options};

fn case(name: &str, expect_ops: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let r =
        verify(&dir, &VerifyOptions { quiet: true, ..Default::default() }).unwrap_or_else(|e| panic!("{name}: {e}"));
    print!("{}", r.to_text());
    assert!(r.passed, "{name}:\n{}", r.to_text());
    for c in r.sets.iter().flat_map(|s| &s.checks) {
        match c.step_histogram {
            Some(h) => assert!((h[0] + h[1]) as f64 >= 0.99 * c.elements as f64, "{name}: {c:?}"),
            // A float result without one quantisation step: float tolerance.
            None => assert_eq!(c.outside_tolerance, 0, "{name}: {c:?}"),
        }
    }
    let c = compile(&dir.join("model.onnx"), &Options { require_int8: true, ..Options::default() })
        .unwrap_or_else(|e| panic!("{name} keeps float compute: {e}"));
    let ops: Vec<&str> = c.plan.order.iter().map(|&n| c.graph.node(n).op.name()).collect();
    for want in expect_ops {
        assert!(ops.contains(want), "{name}: expected a `{want}` node, schedule is {ops:?}");
    }
    assert!(c.plan.order.iter().all(|&n| arith_of(&c.graph, n) != Arith::Float), "{name}: {ops:?}");
}

#[test]
fn qlinear_sigmoid_is_a_table() {
    case("qlinear_sigmoid_i8", &["qtable"]);
    case("qlinear_sigmoid_u8", &["qtable"]);
}

#[test]
fn qlinear_leaky_relu_is_a_table() {
    case("qlinear_leaky_relu_i8", &["qtable"]);
}

#[test]
fn qlinear_mul_and_add_broadcast() {
    case("qlinear_mul_broadcast", &["qmul"]);
    case("qlinear_add_broadcast", &["qadd"]);
}

#[test]
fn qlinear_concat_requantises_its_inputs() {
    case("qlinear_concat", &["concat", "qtable"]);
}

#[test]
fn qgemm_with_a_float_output_accumulates_in_integers() {
    case("qgemm_float_output", &["qgemm", "dequantize"]);
}

#[test]
fn qlinear_average_pool_with_padding() {
    case("qlinear_average_pool_padded", &["qavg_pool"]);
}

#[test]
fn qlinear_conv_depthwise_uint8_weights_with_zero_point() {
    case("qlinear_conv_depthwise_u8", &["qconv"]);
}

#[test]
fn qdq_tanh_mul_transpose() {
    case("qdq_tanh_mul_transpose", &["qtable", "qmul", "transpose"]);
}

#[test]
fn qdq_max_pool_requantise_and_concat() {
    case("qdq_maxpool_requantise_concat", &["qmax_pool", "qavg_pool", "concat"]);
}
