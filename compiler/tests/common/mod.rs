//! Shared helpers of the integration tests: locating the corpus, and writing small
//! ONNX models in code.
#![allow(dead_code)]

use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::type_proto::{self, Tensor as TensorTy};
use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
    ValueInfoProto,
};
use std::path::PathBuf;
use tinyops_compiler::front::tensor::encode;
use tinyops_compiler::ir::Tensor;

/// The model corpus: `TINYOPS_CORPUS`, else `../shared/corpus` beside the checkout.
/// Panics with instructions when it is missing: corpus suites never skip silently.
pub fn corpus() -> PathBuf {
    let p = std::env::var_os("TINYOPS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"));
    assert!(
        p.join("README.md").is_file(),
        "the model corpus is missing at {}; set TINYOPS_CORPUS to its folder",
        p.display()
    );
    p
}

/// Corpus models a suite has no test for: every folder of the corpus with a
/// `model.onnx` whose name is not in `covered` (a suite must cover the whole corpus).
pub fn uncovered(covered: &[&str]) -> Vec<String> {
    let mut missing = vec![];
    for e in std::fs::read_dir(corpus()).unwrap() {
        let e = e.unwrap();
        let id = e.file_name().to_string_lossy().into_owned();
        if e.path().join("model.onnx").is_file() && !covered.contains(&id.as_str()) {
            missing.push(id);
        }
    }
    missing
}

/// One `#[test]` per corpus model, each calling `$run(model_id)`, and `COVERED`, the
/// list of them (for [`uncovered`]): the one list of the corpus the suites share.
#[allow(unused_macros)]
macro_rules! corpus_tests {
    ($run:ident) => {
        common::corpus_tests!(@each $run;
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
        );
    };
    (@each $run:ident; $($name:ident),* $(,)?) => {
        /// Every corpus model this suite covers.
        const COVERED: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                $run(stringify!($name));
            }
        )*
    };
}
#[allow(unused_imports)]
pub(crate) use corpus_tests;

/// A dimension: fixed or symbolic.
pub enum Dim {
    /// Fixed.
    N(i64),
    /// Symbolic.
    Sym(&'static str),
}

/// Builds a model in memory.
pub struct ModelBuilder {
    graph: GraphProto,
    opset: i64,
    extra_opsets: Vec<(String, i64)>,
}

/// A tensor `ValueInfoProto` (ONNX element type code, dimensions).
pub fn value_info(name: &str, elem: i32, dims: &[Dim]) -> ValueInfoProto {
    let mut shape = TensorShapeProto::new();
    for d in dims {
        let mut dim = Dimension::new();
        dim.value = Some(match d {
            Dim::N(n) => dimension::Value::DimValue(*n),
            Dim::Sym(s) => dimension::Value::DimParam(s.to_string()),
        });
        shape.dim.push(dim);
    }
    let mut tt = TensorTy::new();
    tt.elem_type = elem;
    tt.shape = Some(shape).into();
    let mut ty = TypeProto::new();
    ty.value = Some(type_proto::Value::TensorType(tt));
    let mut vi = ValueInfoProto::new();
    vi.name = name.to_string();
    vi.type_ = Some(ty).into();
    vi
}

/// An attribute value.
pub enum A {
    I(i64),
    F(f32),
    Is(Vec<i64>),
    S(&'static str),
    Ss(Vec<&'static str>),
    Fs(Vec<f32>),
    /// A subgraph (If's branches, Loop's and Scan's bodies).
    G(Box<GraphProto>),
}

impl ModelBuilder {
    /// A model importing the default domain at `opset`.
    pub fn new(opset: i64) -> Self {
        ModelBuilder { graph: GraphProto::new(), opset, extra_opsets: vec![] }
    }

    /// Adds a float input.
    pub fn input(mut self, name: &str, dims: &[Dim]) -> Self {
        self.graph.input.push(value_info(name, 1, dims));
        self
    }

    /// Adds an input of another element type (ONNX element type code).
    pub fn input_typed(mut self, name: &str, elem: i32, dims: &[Dim]) -> Self {
        self.graph.input.push(value_info(name, elem, dims));
        self
    }

    /// Adds a float output declaration.
    pub fn output(mut self, name: &str, dims: &[Dim]) -> Self {
        self.graph.output.push(value_info(name, 1, dims));
        self
    }

    /// Adds an initializer.
    pub fn init(mut self, name: &str, t: &Tensor) -> Self {
        self.graph.initializer.push(encode(name, t));
        self
    }

    /// Adds a raw initializer proto.
    pub fn init_proto(mut self, t: onnx_protobuf::TensorProto) -> Self {
        self.graph.initializer.push(t);
        self
    }

    /// Adds a node.
    pub fn node(mut self, op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<(&str, A)>) -> Self {
        let mut n = NodeProto::new();
        n.op_type = op.to_string();
        n.name = name.to_string();
        n.input = inputs.iter().map(|s| s.to_string()).collect();
        n.output = outputs.iter().map(|s| s.to_string()).collect();
        for (k, v) in attrs {
            let mut a = AttributeProto::new();
            a.name = k.to_string();
            match v {
                A::I(i) => {
                    a.type_ = AttributeType::INT.into();
                    a.i = i;
                }
                A::F(f) => {
                    a.type_ = AttributeType::FLOAT.into();
                    a.f = f;
                }
                A::Is(v) => {
                    a.type_ = AttributeType::INTS.into();
                    a.ints = v;
                }
                A::S(s) => {
                    a.type_ = AttributeType::STRING.into();
                    a.s = s.as_bytes().to_vec();
                }
                A::Ss(v) => {
                    a.type_ = AttributeType::STRINGS.into();
                    a.strings = v.iter().map(|s| s.as_bytes().to_vec()).collect();
                }
                A::Fs(v) => {
                    a.type_ = AttributeType::FLOATS.into();
                    a.floats = v;
                }
                A::G(g) => {
                    a.type_ = AttributeType::GRAPH.into();
                    a.g = Some(*g).into();
                }
            }
            n.attribute.push(a);
        }
        self.graph.node.push(n);
        self
    }

    /// Puts the last node added in another domain.
    pub fn domain(mut self, domain: &str) -> Self {
        if let Some(n) = self.graph.node.last_mut() {
            n.domain = domain.to_string();
        }
        self
    }

    /// Imports another domain.
    pub fn opset_import(mut self, domain: &str, v: i64) -> Self {
        self.extra_opsets.push((domain.to_string(), v));
        self
    }

    /// Adds an output declaration of another element type (ONNX element type code).
    pub fn output_typed(mut self, name: &str, elem: i32, dims: &[Dim]) -> Self {
        self.graph.output.push(value_info(name, elem, dims));
        self
    }

    /// The graph alone, as the body of a control-flow node (the opset is the model's).
    pub fn into_graph(self, name: &str) -> Box<GraphProto> {
        let mut g = self.graph;
        g.name = name.to_string();
        Box::new(g)
    }

    /// The encoded model.
    pub fn bytes(self) -> Vec<u8> {
        let mut m = ModelProto::new();
        m.ir_version = 8;
        let mut o = OperatorSetIdProto::new();
        o.version = self.opset;
        m.opset_import.push(o);
        for (d, v) in self.extra_opsets {
            let mut o = OperatorSetIdProto::new();
            o.domain = d;
            o.version = v;
            m.opset_import.push(o);
        }
        m.graph = Some(self.graph).into();
        m.write_to_bytes().expect("encode")
    }

    /// Writes the model into a fresh temporary folder; returns the file path.
    pub fn write(self, name: &str) -> PathBuf {
        let dir = tempdir(name);
        let p = dir.join("model.onnx");
        std::fs::write(&p, self.bytes()).expect("write model");
        p
    }
}

/// A fresh, empty folder for one test.
pub fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tinyops-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The ONNX backend tests: `TINYOPS_ONNX_TESTS`, else `../shared/onnx-backend-tests`.
pub fn onnx_tests() -> PathBuf {
    let p = std::env::var_os("TINYOPS_ONNX_TESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/onnx-backend-tests"));
    assert!(p.join("node").is_dir(), "the ONNX backend tests are missing at {}; set TINYOPS_ONNX_TESTS", p.display());
    p
}

/// Copies an ONNX backend test case, turning every graph input except those in
/// `runtime` into an initializer holding its test-data value: an ahead-of-time
/// compiler takes weights and quantisation parameters as constants.
pub fn freeze_inputs(case: &std::path::Path, runtime: &[usize], name: &str) -> PathBuf {
    use onnx_protobuf::Message;
    let mut m = ModelProto::parse_from_bytes(&std::fs::read(case.join("model.onnx")).unwrap()).unwrap();
    let dir = tempdir(name);
    let data = dir.join("test_data_set_0");
    std::fs::create_dir_all(&data).unwrap();
    let g = m.graph.as_mut().unwrap();
    let inputs = std::mem::take(&mut g.input);
    let mut kept = 0;
    for (i, vi) in inputs.into_iter().enumerate() {
        let src = case.join(format!("test_data_set_0/input_{i}.pb"));
        if runtime.contains(&i) {
            std::fs::copy(&src, data.join(format!("input_{kept}.pb"))).unwrap();
            kept += 1;
            g.input.push(vi);
        } else {
            let mut t = onnx_protobuf::TensorProto::parse_from_bytes(&std::fs::read(&src).unwrap()).unwrap();
            t.name = vi.name.clone();
            g.initializer.push(t);
        }
    }
    for e in std::fs::read_dir(case.join("test_data_set_0")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_string_lossy().starts_with("output_") {
            std::fs::copy(&p, data.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.join("model.onnx"), m.write_to_bytes().unwrap()).unwrap();
    dir
}
