//! The ONNX operator table: which (domain, op type) pairs import, from which opset,
//! and by which function. One line per ONNX op.

use super::{
    activation, binary, conv, gemm, layout, lstm, norm, pool, quant, shape, softmax, OpResult,
};
use crate::front::node::{Lowered, NodeCx};

/// How one ONNX op imports.
pub struct Entry {
    /// The operator domain (`ai.onnx` for the default one).
    pub domain: &'static str,
    /// The ONNX op type.
    pub op_type: &'static str,
    /// The first opset version the importer handles.
    pub since: i64,
    /// The importer.
    pub import: fn(&NodeCx) -> OpResult<Lowered>,
}

/// The newest opset version of the default domain the importers know.
pub const MAX_OPSET: i64 = 23;

const fn e(op_type: &'static str, since: i64, import: fn(&NodeCx) -> OpResult<Lowered>) -> Entry {
    Entry {
        domain: "ai.onnx",
        op_type,
        since,
        import,
    }
}

/// Every supported op.
pub static OPS: &[Entry] = &[
    e("Abs", 6, activation::import_unary),
    e("Add", 7, binary::import),
    e("AveragePool", 7, pool::import_pool),
    e("BatchNormalization", 7, norm::import_batch_norm),
    e("Cast", 6, shape::import_cast),
    e("Clip", 6, activation::import_clip),
    e("Concat", 4, layout::import_concat),
    e("Constant", 1, shape::import_constant),
    e("ConstantOfShape", 9, shape::import_constant_of_shape),
    e("Conv", 1, conv::import),
    e("DequantizeLinear", 10, quant::import_dequantize),
    e("Div", 7, binary::import),
    e("Dropout", 7, activation::import_identity),
    e("Exp", 6, activation::import_unary),
    e("Expand", 8, layout::import_expand),
    e("Flatten", 1, layout::import_flatten),
    e("Gather", 1, layout::import_gather),
    e("Gemm", 7, gemm::import_gemm),
    e("GlobalAveragePool", 1, pool::import_global),
    e("GlobalMaxPool", 1, pool::import_global),
    e("HardSigmoid", 6, activation::import_unary),
    e("HardSwish", 14, activation::import_unary),
    e("Identity", 1, activation::import_identity),
    e("LeakyRelu", 6, activation::import_unary),
    e("Log", 6, activation::import_unary),
    e("LogSoftmax", 1, softmax::import),
    e("LSTM", 7, lstm::import),
    e("MatMul", 1, gemm::import_matmul),
    e("Max", 8, binary::import),
    e("MaxPool", 1, pool::import_pool),
    e("Min", 8, binary::import),
    e("Mul", 7, binary::import),
    e("Neg", 6, activation::import_unary),
    e("Pad", 2, layout::import_pad),
    e("Pow", 7, binary::import),
    e("QuantizeLinear", 10, quant::import_quantize),
    e("Range", 11, shape::import_range),
    e("Reciprocal", 6, activation::import_unary),
    e("Relu", 6, activation::import_relu),
    e("Reshape", 5, layout::import_reshape),
    e("Shape", 1, shape::import_shape),
    e("Sigmoid", 6, activation::import_unary),
    e("Slice", 1, layout::import_slice),
    e("Softmax", 1, softmax::import),
    e("Softplus", 1, activation::import_unary),
    e("Sqrt", 6, activation::import_unary),
    e("Squeeze", 1, layout::import_squeeze),
    e("Sub", 7, binary::import),
    e("Tanh", 6, activation::import_unary),
    e("Transpose", 1, layout::import_transpose),
    e("Unsqueeze", 1, layout::import_unsqueeze),
];

/// Whether an op is supported.
pub enum Support {
    /// Yes, by this entry.
    Yes(&'static Entry),
    /// The op is known but not at this opset; the string names the supported range.
    Opset(String),
    /// Not at all.
    No,
}

/// Looks up an op by domain, type and the model's opset for that domain.
pub fn lookup(domain: &str, op_type: &str, opset: i64) -> Support {
    let mut known = None;
    for e in OPS
        .iter()
        .filter(|e| e.domain == domain && e.op_type == op_type)
    {
        let max = if e.domain == "ai.onnx" {
            MAX_OPSET
        } else {
            i64::MAX
        };
        if opset >= e.since && opset <= max {
            return Support::Yes(e);
        }
        known = Some(format!(
            "{}–{}",
            e.since,
            if max == i64::MAX {
                "latest".to_string()
            } else {
                max.to_string()
            }
        ));
    }
    match known {
        Some(r) => Support::Opset(r),
        None => Support::No,
    }
}
