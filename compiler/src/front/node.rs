//! What an op importer sees of one ONNX node: typed attribute access, the opset, and
//! its inputs' types and constant data.

use crate::ir::{Data, Tensor};
use crate::ops::{Arg, Op, OpError, OpResult};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{AttributeProto, NodeProto};
use std::collections::BTreeMap;

/// How an ONNX node becomes IR.
#[derive(Debug)]
pub enum Lowered {
    /// One IR op reading the listed ONNX input slots (absent optionals become `None`).
    Op(Op, Vec<usize>),
    /// The node forwards ONNX input `slot` unchanged (Identity, Dropout at inference).
    Forward(usize),
    /// The node is a constant (Constant).
    Const(Tensor),
    /// A small subgraph; the last node's outputs are the ONNX node's outputs. QOperator
    /// ops import this way as DequantizeLinear → float op → QuantizeLinear, which the
    /// quantisation pass then turns into one integer kernel.
    Nodes(Vec<SubNode>),
    /// A small subgraph with several outputs taken from any of its nodes: ONNX output
    /// `k` is `outputs[k]` (`None` where the node does not produce that output). Every
    /// sub-node has one output, except LSTM and LayerNormalization (three): `Src::Node(i,
    /// o)` names output `o` of sub-node `i`.
    Graph(Vec<SubNode>, Vec<Option<Src>>),
}

/// Where an operand of a [`SubNode`] comes from.
#[derive(Debug, Clone)]
pub enum Src {
    /// ONNX input slot of the node being imported.
    In(usize),
    /// Output `k` of an earlier sub-node.
    Node(usize, usize),
    /// A new constant.
    Const(Tensor),
}

/// One op of a [`Lowered::Nodes`] subgraph.
#[derive(Debug)]
pub struct SubNode {
    /// The op.
    pub op: Op,
    /// Its operands (`None` for absent optionals).
    pub inputs: Vec<Option<Src>>,
}

impl Lowered {
    /// An op reading ONNX inputs `0..n`.
    pub fn op(op: impl Into<Op>, n: usize) -> Self {
        Lowered::Op(op.into(), (0..n).collect())
    }

    /// An op reading the given ONNX input slots.
    pub fn op_with(op: impl Into<Op>, slots: &[usize]) -> Self {
        Lowered::Op(op.into(), slots.to_vec())
    }
}

/// One ONNX node, ready for an importer.
pub struct NodeCx<'a> {
    /// The node.
    pub node: &'a NodeProto,
    /// The opset version of the node's domain.
    pub opset: i64,
    /// Inputs by ONNX slot; `None` for an absent optional input.
    pub inputs: Vec<Option<Arg<'a>>>,
    attrs: BTreeMap<&'a str, &'a AttributeProto>,
    /// Decodes tensor-valued attributes (knows the model folder for external data).
    pub decode_tensor: &'a dyn Fn(&onnx_protobuf::TensorProto) -> Result<Tensor, String>,
}

fn wrong_type(name: &str, want: &str) -> OpError {
    OpError::Invalid(format!("attribute `{name}` must be {want}"))
}

impl<'a> NodeCx<'a> {
    /// Wraps a node.
    pub fn new(
        node: &'a NodeProto,
        opset: i64,
        inputs: Vec<Option<Arg<'a>>>,
        decode_tensor: &'a dyn Fn(&onnx_protobuf::TensorProto) -> Result<Tensor, String>,
    ) -> Self {
        let attrs = node.attribute.iter().map(|a| (a.name.as_str(), a)).collect();
        NodeCx { node, opset, inputs, attrs, decode_tensor }
    }

    fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.attrs.get(name).copied()
    }

    fn kind(a: &AttributeProto) -> Option<AttributeType> {
        a.type_.enum_value().ok()
    }

    /// True when the attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.attr(name).is_some()
    }

    /// An integer attribute, or `default`.
    pub fn int(&self, name: &str, default: i64) -> OpResult<i64> {
        match self.attr(name) {
            None => Ok(default),
            Some(a) if Self::kind(a) == Some(AttributeType::INT) => Ok(a.i),
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    /// A float attribute, or `default`.
    pub fn float(&self, name: &str, default: f32) -> OpResult<f32> {
        match self.attr(name) {
            None => Ok(default),
            Some(a) if Self::kind(a) == Some(AttributeType::FLOAT) => Ok(a.f),
            Some(_) => Err(wrong_type(name, "a float")),
        }
    }

    /// An integer-list attribute, if present.
    pub fn ints(&self, name: &str) -> OpResult<Option<Vec<i64>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(a) if Self::kind(a) == Some(AttributeType::INTS) => Ok(Some(a.ints.clone())),
            Some(_) => Err(wrong_type(name, "a list of integers")),
        }
    }

    /// A float-list attribute, if present.
    pub fn floats(&self, name: &str) -> OpResult<Option<Vec<f32>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(a) if Self::kind(a) == Some(AttributeType::FLOATS) => Ok(Some(a.floats.clone())),
            Some(_) => Err(wrong_type(name, "a list of floats")),
        }
    }

    /// A string attribute, or `default`.
    pub fn string(&self, name: &str, default: &str) -> OpResult<String> {
        match self.attr(name) {
            None => Ok(default.to_string()),
            Some(a) if Self::kind(a) == Some(AttributeType::STRING) => {
                String::from_utf8(a.s.clone()).map_err(|_| wrong_type(name, "UTF-8 text"))
            }
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A string-list attribute, if present.
    pub fn strings(&self, name: &str) -> OpResult<Option<Vec<String>>> {
        match self.attr(name) {
            None => Ok(None),
            Some(a) if Self::kind(a) == Some(AttributeType::STRINGS) => a
                .strings
                .iter()
                .map(|s| String::from_utf8(s.clone()).map_err(|_| wrong_type(name, "UTF-8 text")))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(wrong_type(name, "a list of strings")),
        }
    }

    /// A tensor attribute, if present.
    pub fn tensor(&self, name: &str) -> OpResult<Option<Tensor>> {
        match self.attr(name) {
            None => Ok(None),
            Some(a) if Self::kind(a) == Some(AttributeType::TENSOR) => match a.t.as_ref() {
                Some(t) => (self.decode_tensor)(t).map(Some).map_err(OpError::Invalid),
                None => Err(OpError::Invalid(format!("attribute `{name}` has no tensor"))),
            },
            Some(_) => Err(wrong_type(name, "a tensor")),
        }
    }

    /// The names of all attributes present, for importers that reject unknown ones.
    pub fn attr_names(&self) -> Vec<&'a str> {
        self.attrs.keys().copied().collect()
    }

    /// Number of ONNX inputs (including trailing absent ones).
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// ONNX input `i`, if present.
    pub fn input(&self, i: usize) -> Option<&Arg<'a>> {
        self.inputs.get(i).and_then(|a| a.as_ref())
    }

    /// The constant data of input `i`; an error naming `what` if it is not constant.
    pub fn const_input(&self, i: usize, what: &str) -> OpResult<Option<&'a Tensor>> {
        match self.input(i) {
            None => Ok(None),
            Some(a) => match a.value {
                Some(t) => Ok(Some(t)),
                None => Err(OpError::Unsupported(format!(
                    "{what} (input {i}) must be a constant, but it is computed at run time"
                ))),
            },
        }
    }

    /// A constant integer-list input (axes, shape, pads, ...), if present.
    pub fn const_ints(&self, i: usize, what: &str) -> OpResult<Option<Vec<i64>>> {
        Ok(self.const_input(i, what)?.map(|t| t.data.to_i64_vec()))
    }

    /// A constant scalar float input (Clip bounds, Pad value), if present.
    pub fn const_f32(&self, i: usize, what: &str) -> OpResult<Option<f32>> {
        match self.const_input(i, what)? {
            None => Ok(None),
            Some(t) if t.numel() == 1 => Ok(Some(match &t.data {
                Data::F32(v) => v[0],
                d => d.get_f64(0) as f32,
            })),
            Some(t) => Err(OpError::Invalid(format!("{what} must be a scalar, got shape {:?}", t.shape))),
        }
    }
}
