//! ONNX ops that import as small graphs of other IR ops, with no kernel of their own:
//! Hardmax (ArgMax, Equal with the axis' indices, Cast), LpNormalization (ReduceL1/L2,
//! Div, Where) and LpPool (|x|^p, a zero-padded average pool times the window size, ^(1/p)).

use super::activation::{Act, Unary, UnaryKind};
use super::binary::{BinKind, Binary};
use super::logic::{Compare, Where};
use super::pool::{import_pool, PoolKind};
use super::reduce::{ArgReduce, Reduce};
use super::shape::Cast;
use super::util::axis;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::{CompareOp, ReduceOp};

fn node(op: impl Into<Op>, inputs: Vec<Src>) -> SubNode {
    SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() }
}

fn scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

fn binary(kind: BinKind) -> Binary {
    Binary { kind, act: Act::NONE }
}

/// Hardmax (opset 13: along `axis`): 1 at the first largest element, 0 elsewhere.
pub fn import_hardmax(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    if cx.opset < 13 {
        unsupported!("Hardmax before opset 13 (the 2-D coercion)");
    }
    if x.ty.dtype != DType::F32 {
        unsupported!("Hardmax of {} tensors", x.ty.dtype);
    }
    let rank = x.ty.rank();
    let a = axis(cx.int("axis", -1)?, rank)?;
    let len = x.ty.shape[a];
    let mut shape = vec![1; rank];
    shape[a] = len;
    let iota = Tensor { shape, data: Data::I64((0..len as i64).collect()) };
    Ok(Lowered::Nodes(vec![
        node(ArgReduce { max: true, axis: a, keepdims: true, last: false }, vec![Src::In(0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(0, 0), Src::Const(iota)]),
        node(Cast { to: DType::F32, saturate: true }, vec![Src::Node(1, 0)]),
    ]))
}

/// LpNormalization: `x / ‖x‖_p` along `axis`, p = 1 or 2 (0 where the norm is 0, as
/// the ONNX reference has it).
pub fn import_lp_normalization(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let a = axis(cx.int("axis", -1)?, x.ty.rank())?;
    let op = match cx.int("p", 2)? {
        1 => ReduceOp::L1,
        2 => ReduceOp::L2,
        p => invalid!("LpNormalization p = {p} (1 or 2)"),
    };
    Ok(Lowered::Nodes(vec![
        node(Reduce { op, axes: vec![a], keepdims: true }, vec![Src::In(0)]),
        node(binary(BinKind::Div), vec![Src::In(0), Src::Node(0, 0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(0, 0), scalar(0.0)]),
        node(Where, vec![Src::Node(2, 0), scalar(0.0), Src::Node(1, 0)]),
    ]))
}

/// LpPool: `(Σ |x|^p)^(1/p)` over each window, padding counting as zeros.
pub fn import_lp_pool(cx: &NodeCx) -> OpResult<Lowered> {
    let p = cx.int("p", 2)?;
    if p < 1 {
        invalid!("LpPool p = {p}");
    }
    let Lowered::Op(Op::Pool(mut pool), _) = import_pool(cx)? else { invalid!("LpPool did not import as a pool") };
    if pool.kind != PoolKind::Avg {
        invalid!("LpPool imported as a max pool");
    }
    pool.count_include_pad = true;
    let window: usize = pool.kernel.iter().product();
    Ok(Lowered::Nodes(vec![
        node(Unary { f: UnaryKind::Abs }, vec![Src::In(0)]),
        node(binary(BinKind::Pow), vec![Src::Node(0, 0), scalar(p as f32)]),
        node(pool, vec![Src::Node(1, 0)]),
        node(binary(BinKind::Mul), vec![Src::Node(2, 0), scalar(window as f32)]),
        node(binary(BinKind::Pow), vec![Src::Node(3, 0), scalar(1.0 / p as f32)]),
    ]))
}
