//! LinearRegressor and LinearClassifier: a GEMM with the coefficients (`targets ×
//! features`, transposed) and intercepts, then the post transform ([`MlTransform`]) or
//! the label rule ([`MlClassify`]).

use super::{class_labels, post_transform, MlClassify, MlTransform};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use crate::ops::activation::Act;
use crate::ops::gemm::Gemm;
use crate::ops::layout::Reshape;
use crate::ops::shape::Cast;
use crate::ops::{invalid, unsupported, OpResult};
use tinyops_runtime::kernels::{LabelRule, PostTransform};

/// ONNX input 0 as a `rows × features` f32 matrix: cast from f64/i64/i32 and a 1-D
/// input read as one row, as onnxruntime's classic-ML kernels do. Pushes the nodes
/// needed and returns the matrix and its width.
pub fn f32_rows(cx: &NodeCx, nodes: &mut Vec<SubNode>) -> OpResult<(Src, usize)> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let mut src = Src::In(0);
    match x.ty.dtype {
        DType::F32 => {}
        DType::F64 | DType::I64 | DType::I32 => {
            nodes.push(SubNode { op: Cast { to: DType::F32, saturate: true }.into(), inputs: vec![Some(src)] });
            src = Src::Node(nodes.len() - 1, 0);
        }
        t => unsupported!("{} of {t} inputs", cx.node.op_type),
    }
    let features = match x.ty.shape[..] {
        [_, f] => f,
        [f] => {
            nodes.push(SubNode { op: Reshape { shape: vec![1, f] }.into(), inputs: vec![Some(src)] });
            src = Src::Node(nodes.len() - 1, 0);
            f
        }
        _ => unsupported!("{} of a rank-{} input (1 or 2 compile)", cx.node.op_type, x.ty.rank()),
    };
    Ok((src, features))
}

/// A GEMM node `x · wᵀ + b` (`w` is `n × k`), pushed; returns its index.
pub fn push_gemm(nodes: &mut Vec<SubNode>, x: Src, w: Tensor, b: Option<Tensor>) -> usize {
    let gemm = Gemm { trans_a: false, trans_b: true, alpha: 1.0, beta: 1.0, act: Act::NONE };
    nodes.push(SubNode { op: gemm.into(), inputs: vec![Some(x), Some(Src::Const(w)), b.map(Src::Const)] });
    nodes.len() - 1
}

/// The coefficients (`rows × features`) and intercepts of a linear model.
fn weights(cx: &NodeCx, features: usize) -> OpResult<(Tensor, Option<Vec<f32>>, usize)> {
    let Some(coef) = cx.floats("coefficients")? else { invalid!("`coefficients` is required") };
    if features == 0 || coef.len() % features != 0 || coef.is_empty() {
        invalid!("{} coefficients for {features} features", coef.len());
    }
    let rows = coef.len() / features;
    let intercepts = cx.floats("intercepts")?;
    if let Some(b) = &intercepts {
        if b.len() != rows {
            invalid!("{} intercepts for {rows} rows of coefficients", b.len());
        }
    }
    Ok((Tensor::f32(vec![rows, features], coef), intercepts, rows))
}

/// LinearRegressor: `x · coefficientsᵀ + intercepts`, then the post transform (the
/// probit alone for one target, as onnxruntime).
pub fn import_regressor(cx: &NodeCx) -> OpResult<Lowered> {
    let mut nodes = vec![];
    let (x, features) = f32_rows(cx, &mut nodes)?;
    let (w, b, rows) = weights(cx, features)?;
    let targets = cx.int("targets", 1)?;
    if targets != rows as i64 {
        invalid!("targets = {targets} but the coefficients hold {rows} rows");
    }
    let b = b.map(|b| Tensor::f32(vec![rows], b));
    let g = push_gemm(&mut nodes, x, w, b);
    let post = post_transform(cx)?;
    if post != PostTransform::None {
        nodes.push(SubNode { op: MlTransform { post }.into(), inputs: vec![Some(Src::Node(g, 0))] });
    }
    Ok(Lowered::Nodes(nodes))
}

/// LinearClassifier: scores `x · coefficientsᵀ + intercepts`; with several score
/// columns the label of the largest and the transformed scores; with one column and
/// two labels `labels[1]` when the score is positive and probabilities `[1 − s, s]`
/// (onnxruntime's rules).
pub fn import_classifier(cx: &NodeCx) -> OpResult<Lowered> {
    let labels = class_labels(cx, "classlabels_ints", "classlabels_strings")?;
    let mut nodes = vec![];
    let (x, features) = f32_rows(cx, &mut nodes)?;
    let (w, b, rows) = weights(cx, features)?;
    let post = post_transform(cx)?;
    let (rule, classes) = if rows == 1 && labels.len() == 2 {
        if post == PostTransform::Probit {
            unsupported!("PROBIT for two classes scored by one value (onnxruntime writes one column)");
        }
        (LabelRule::OneMinus, 2)
    } else if rows == labels.len() && rows > 1 {
        (LabelRule::ArgMax, rows)
    } else {
        unsupported!("{rows} score columns for {} class labels", labels.len());
    };
    let b = Tensor::f32(vec![rows], b.unwrap_or_else(|| vec![0.0; rows]));
    let g = push_gemm(&mut nodes, x, w, Some(b));
    let threshold = 0.0;
    let labels = Tensor { shape: vec![labels.len()], data: Data::I64(labels) };
    nodes.push(SubNode {
        op: MlClassify { classes, post, rule, threshold }.into(),
        inputs: vec![Some(Src::Const(labels)), Some(Src::Node(g, 0))],
    });
    Ok(Lowered::Nodes(nodes))
}
