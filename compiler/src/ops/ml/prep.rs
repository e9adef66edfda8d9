//! The ONNX-ML preprocessors and glue ops, each a composition of ordinary IR ops:
//! Scaler, Normalizer, Imputer, Binarizer, ArrayFeatureExtractor, OneHotEncoder,
//! LabelEncoder on numbers, and ZipMap (the probability tensor itself).

use super::refuse_strings;
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use crate::ops::activation::Act;
use crate::ops::binary::{BinKind, Binary};
use crate::ops::index::GatherIndexed;
use crate::ops::layout::{Gather, Reshape};
use crate::ops::logic::{Classify, Compare, Where};
use crate::ops::reduce::{ArgReduce, Reduce};
use crate::ops::shape::Cast;
use crate::ops::{invalid, unsupported, Op, OpResult};
use tinyops_runtime::kernels::{CompareOp, ReduceOp};

fn node(op: impl Into<Op>, inputs: Vec<Src>) -> SubNode {
    SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() }
}

fn binary(kind: BinKind) -> Binary {
    Binary { kind, act: Act::NONE }
}

fn f32_scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

/// ONNX input 0 as f32 (cast from f64, i64 or i32), pushing the cast if needed.
fn as_f32(cx: &NodeCx, nodes: &mut Vec<SubNode>) -> OpResult<Src> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    match x.ty.dtype {
        DType::F32 => Ok(Src::In(0)),
        DType::F64 | DType::I64 | DType::I32 => {
            nodes.push(node(Cast { to: DType::F32, saturate: true }, vec![Src::In(0)]));
            Ok(Src::Node(nodes.len() - 1, 0))
        }
        t => unsupported!("{} of {t} inputs", cx.node.op_type),
    }
}

/// A per-feature constant (one value, or one per element of the last axis).
fn per_feature(cx: &NodeCx, v: Vec<f32>, what: &str) -> OpResult<Src> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let last = x.ty.shape.last().copied().unwrap_or(1);
    match v.len() {
        1 => Ok(f32_scalar(v[0])),
        n if n == last => Ok(Src::Const(Tensor::f32(vec![n], v))),
        n => invalid!("{n} {what} values for {last} features"),
    }
}

/// Scaler: `(x − offset) · scale`, per feature or for all, in f32.
pub fn import_scaler(cx: &NodeCx) -> OpResult<Lowered> {
    let mut nodes = vec![];
    let x = as_f32(cx, &mut nodes)?;
    let offset = per_feature(cx, cx.floats("offset")?.unwrap_or_else(|| vec![0.0]), "offset")?;
    let scale = per_feature(cx, cx.floats("scale")?.unwrap_or_else(|| vec![1.0]), "scale")?;
    nodes.push(node(binary(BinKind::Sub), vec![x, offset]));
    nodes.push(node(binary(BinKind::Mul), vec![Src::Node(nodes.len() - 1, 0), scale]));
    Ok(Lowered::Nodes(nodes))
}

/// Normalizer: each row divided by its largest value (`MAX`), the sum of its magnitudes
/// (`L1`) or its Euclidean norm (`L2`); a row whose norm is 0 is left as it is.
pub fn import_normalizer(cx: &NodeCx) -> OpResult<Lowered> {
    let mut nodes = vec![];
    let x = as_f32(cx, &mut nodes)?;
    let Some(t) = cx.input(0) else { invalid!("input X is required") };
    if !matches!(t.ty.rank(), 1 | 2) {
        unsupported!("Normalizer of rank {} (1 or 2 compile)", t.ty.rank());
    }
    let op = match cx.string("norm", "MAX")?.as_str() {
        "MAX" => ReduceOp::Max,
        "L1" => ReduceOp::L1,
        "L2" => ReduceOp::L2,
        other => invalid!("norm `{other}`"),
    };
    let axis = t.ty.rank() - 1;
    let base = nodes.len();
    nodes.push(node(Reduce { op, axes: vec![axis], keepdims: true }, vec![x.clone()]));
    nodes.push(node(Compare { op: CompareOp::Equal }, vec![Src::Node(base, 0), f32_scalar(0.0)]));
    nodes.push(node(Where, vec![Src::Node(base + 1, 0), f32_scalar(1.0), Src::Node(base, 0)]));
    nodes.push(node(binary(BinKind::Div), vec![x, Src::Node(base + 2, 0)]));
    Ok(Lowered::Nodes(nodes))
}

/// Imputer: elements equal to the replaced value (NaN matches NaN) become the imputed
/// value of their feature.
pub fn import_imputer(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let t = x.ty.dtype;
    let (imputed, replaced) = match t {
        DType::F32 => {
            let v = cx.floats("imputed_value_floats")?.unwrap_or_default();
            (per_feature(cx, v, "imputed")?, cx.float("replaced_value_float", 0.0)? as f64)
        }
        DType::I64 => {
            let v = cx.ints("imputed_value_int64s")?.unwrap_or_default();
            let last = x.ty.shape.last().copied().unwrap_or(1);
            let src = match v.len() {
                1 => Src::Const(Tensor::scalar(Data::I64(v))),
                n if n == last => Src::Const(Tensor { shape: vec![n], data: Data::I64(v) }),
                n => invalid!("{n} imputed values for {last} features"),
            };
            (src, cx.int("replaced_value_int64", 0)? as f64)
        }
        t => unsupported!("Imputer of {t} inputs (f32 and i64 compile)"),
    };
    let test = if replaced.is_nan() {
        node(Classify { nan: true, pos: false, neg: false }, vec![Src::In(0)])
    } else {
        let r = Src::Const(Tensor::scalar(Data::F64(vec![replaced]).cast(t)));
        node(Compare { op: CompareOp::Equal }, vec![Src::In(0), r])
    };
    Ok(Lowered::Nodes(vec![test, node(Where, vec![Src::Node(0, 0), imputed, Src::In(0)])]))
}

/// Binarizer: 1 where `x > threshold`, else 0, in the input's type.
pub fn import_binarizer(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let t = x.ty.dtype;
    if !matches!(t, DType::F32 | DType::F64 | DType::I64 | DType::I32) {
        unsupported!("Binarizer of {t} inputs");
    }
    let thr = Src::Const(Tensor::scalar(Data::F64(vec![cx.float("threshold", 0.0)? as f64]).cast(t)));
    Ok(Lowered::Nodes(vec![
        node(Compare { op: CompareOp::Greater }, vec![Src::In(0), thr]),
        node(Cast { to: t, saturate: true }, vec![Src::Node(0, 0)]),
    ]))
}

/// ArrayFeatureExtractor: the elements of the last axis of X at the given indices
/// (`X.shape[..-1] + [indices]`; a 1-D X gives one row).
pub fn import_array_feature_extractor(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(ind)) = (cx.input(0), cx.input(1)) else { invalid!("X and Y are required") };
    if x.ty.rank() == 0 {
        invalid!("X must have a rank of at least 1");
    }
    if !matches!(ind.ty.dtype, DType::I64 | DType::I32) {
        invalid!("indices of {}", ind.ty.dtype);
    }
    let axis = x.ty.rank() - 1;
    let k = ind.ty.numel();
    let mut out_shape = x.ty.shape[..axis].to_vec();
    if out_shape.is_empty() {
        out_shape.push(1);
    }
    out_shape.push(k);
    let len = x.ty.shape[axis] as i64;
    let mut nodes = match ind.value {
        Some(t) => {
            let indices = t
                .data
                .to_i64_vec()
                .into_iter()
                .map(|i| {
                    let j = if i < 0 { i + len } else { i };
                    if j < 0 || j >= len {
                        invalid!("index {i} out of range for {len} features");
                    }
                    Ok(j as usize)
                })
                .collect::<OpResult<Vec<_>>>()?;
            vec![node(Gather { axis, indices, indices_shape: vec![k] }, vec![Src::In(0)])]
        }
        None => vec![
            node(Reshape { shape: vec![k] }, vec![Src::In(1)]),
            node(GatherIndexed { axis }, vec![Src::In(0), Src::Node(0, 0)]),
        ],
    };
    let last = nodes.len() - 1;
    nodes.push(node(Reshape { shape: out_shape }, vec![Src::Node(last, 0)]));
    Ok(Lowered::Nodes(nodes))
}

/// OneHotEncoder on numbers: `X.shape + [categories]` of f32, 1 where the value
/// (truncated to an integer, as onnxruntime reads it) equals the category. A value in
/// no category gives a row of zeros (onnxruntime fails at run time when `zeros = 0`;
/// generated code cannot fail).
pub fn import_one_hot_encoder(cx: &NodeCx) -> OpResult<Lowered> {
    refuse_strings(cx, &["cats_strings"])?;
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let Some(cats) = cx.ints("cats_int64s")? else { invalid!("`cats_int64s` is required") };
    if cats.is_empty() {
        invalid!("`cats_int64s` is empty");
    }
    let mut nodes = vec![];
    let mut src = Src::In(0);
    match x.ty.dtype {
        DType::I64 => {}
        DType::F32 | DType::F64 | DType::I32 => {
            nodes.push(node(Cast { to: DType::I64, saturate: true }, vec![src]));
            src = Src::Node(0, 0);
        }
        t => unsupported!("OneHotEncoder of {t} inputs"),
    }
    let mut shape = x.ty.shape.clone();
    shape.push(1);
    let n = nodes.len();
    let c = cats.len();
    nodes.push(node(Reshape { shape }, vec![src]));
    let cats = Src::Const(Tensor { shape: vec![c], data: Data::I64(cats) });
    nodes.push(node(Compare { op: CompareOp::Equal }, vec![Src::Node(n, 0), cats]));
    nodes.push(node(Cast { to: DType::F32, saturate: true }, vec![Src::Node(n + 1, 0)]));
    Ok(Lowered::Nodes(nodes))
}

/// ZipMap: its input, the probability tensor (`rows × classes`, columns in the order
/// of the class labels), in place of onnxruntime's sequence of maps.
pub fn import_zip_map(cx: &NodeCx) -> OpResult<Lowered> {
    if cx.input(0).is_none() {
        invalid!("input X is required");
    }
    Ok(Lowered::Forward(0))
}

/// The keys, values and default of a numeric LabelEncoder (ai.onnx.ml 2–4).
fn label_map(cx: &NodeCx) -> OpResult<(Tensor, Tensor, Tensor)> {
    refuse_strings(cx, &["keys_strings", "values_strings", "default_string", "classes_strings"])?;
    // A tensor attribute that does not decode holds strings (the only type numbers
    // cannot hold here).
    let tensor = |name: &str| {
        cx.tensor(name).map_err(|e| crate::ops::OpError::Unsupported(format!("string tensors (`{name}`: {e})")))
    };
    let keys = if let Some(t) = tensor("keys_tensor")? {
        t
    } else if let Some(v) = cx.ints("keys_int64s")? {
        Tensor { shape: vec![v.len()], data: Data::I64(v) }
    } else if let Some(v) = cx.floats("keys_floats")? {
        Tensor::f32(vec![v.len()], v)
    } else {
        invalid!("LabelEncoder needs keys");
    };
    let values = if let Some(t) = tensor("values_tensor")? {
        t
    } else if let Some(v) = cx.ints("values_int64s")? {
        Tensor { shape: vec![v.len()], data: Data::I64(v) }
    } else if let Some(v) = cx.floats("values_floats")? {
        Tensor::f32(vec![v.len()], v)
    } else {
        invalid!("LabelEncoder needs values");
    };
    let default = if let Some(t) = tensor("default_tensor")? {
        t
    } else if values.dtype() == DType::I64 {
        Tensor::scalar(Data::I64(vec![cx.int("default_int64", -1)?]))
    } else {
        Tensor::scalar(Data::F32(vec![cx.float("default_float", -0.0)?]))
    };
    if keys.numel() != values.numel() || keys.numel() == 0 {
        invalid!("{} keys for {} values", keys.numel(), values.numel());
    }
    if default.numel() != 1 || default.dtype() != values.dtype() {
        invalid!("the default must be one value of the values' type");
    }
    Ok((keys, values, Tensor::scalar(default.data)))
}

/// LabelEncoder on numbers: each element replaced by the value of the first equal key,
/// else by the default. String keys or values are refused (string tensors).
pub fn import_label_encoder(cx: &NodeCx) -> OpResult<Lowered> {
    if cx.opset < 2 {
        unsupported!("string tensors: LabelEncoder before ai.onnx.ml 2 maps strings to integers");
    }
    let (keys, values, default) = label_map(cx)?;
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    if x.ty.dtype != keys.dtype() {
        invalid!("input of {} for keys of {}", x.ty.dtype, keys.dtype());
    }
    let k = keys.numel();
    let rank = x.ty.rank();
    let mut shape = x.ty.shape.clone();
    shape.push(1);
    Ok(Lowered::Nodes(vec![
        node(Reshape { shape }, vec![Src::In(0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(0, 0), Src::Const(Tensor { shape: vec![k], ..keys })]),
        node(Cast { to: DType::F32, saturate: true }, vec![Src::Node(1, 0)]),
        node(ArgReduce { max: true, axis: rank, keepdims: false, last: false }, vec![Src::Node(2, 0)]),
        node(GatherIndexed { axis: 0 }, vec![Src::Const(Tensor { shape: vec![k], ..values }), Src::Node(3, 0)]),
        node(Reduce { op: ReduceOp::Max, axes: vec![rank], keepdims: false }, vec![Src::Node(2, 0)]),
        node(Compare { op: CompareOp::Greater }, vec![Src::Node(5, 0), f32_scalar(0.0)]),
        node(Where, vec![Src::Node(6, 0), Src::Node(4, 0), Src::Const(default)]),
    ]))
}
