//! `--freeze NAME=FILE.pb`: a graph input compiled as a constant. An attribute-like
//! input (Reshape's shape) computed at run time is refused; frozen, the model compiles
//! with one input fewer and runs; a frozen value must name a real input and match its
//! declared type.

mod common;

use common::{Dim, ModelBuilder};
use std::collections::BTreeMap;
use tinyops_compiler::ir::{Data, Tensor};
use tinyops_compiler::{compile, Options};

fn reshape_model(name: &str) -> std::path::PathBuf {
    ModelBuilder::new(13)
        .input("x", &[Dim::N(2), Dim::N(3)])
        .input_typed("shape", 7, &[Dim::N(2)])
        .output("y", &[Dim::N(3), Dim::N(2)])
        .node("Reshape", "r", &["x", "shape"], &["y"], vec![])
        .write(name)
}

fn frozen(name: &str, t: Tensor) -> Options {
    Options { frozen: BTreeMap::from([(name.to_string(), t)]), ..Options::default() }
}

#[test]
fn a_frozen_shape_input_becomes_a_constant() {
    let model = reshape_model("freeze-ok");
    let e = compile(&model, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("must be a constant, but it is computed at run time"), "{e}");
    let c = compile(&model, &frozen("shape", Tensor::i64_vec(vec![3, 2]))).unwrap();
    assert_eq!(c.graph.inputs().len(), 1);
    assert_eq!(c.graph.ty(c.graph.outputs()[0]).shape, vec![3, 2]);
    assert_eq!(c.declared_inputs, vec!["x".to_string(), "shape".to_string()]);
}

#[test]
fn a_frozen_value_must_name_an_input_and_fit_it() {
    let model = reshape_model("freeze-bad");
    let e = compile(&model, &frozen("nope", Tensor::i64_vec(vec![3, 2]))).unwrap_err().to_string();
    assert!(e.contains("--freeze: the model has no input `nope`; its inputs are: x, shape"), "{e}");
    let f = Tensor::new(vec![2], Data::F32(vec![3.0, 2.0])).unwrap();
    let e = compile(&model, &frozen("shape", f)).unwrap_err().to_string();
    assert!(e.contains("--freeze: input `shape` is declared i64 but the frozen value is f32"), "{e}");
    let e = compile(&model, &frozen("shape", Tensor::i64_vec(vec![3, 2, 1]))).unwrap_err().to_string();
    assert!(e.contains("is declared with shape [2] but the frozen value has shape [3]"), "{e}");
}
