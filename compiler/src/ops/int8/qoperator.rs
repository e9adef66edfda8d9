//! QOperator-format importers: QLinearConv, QLinearMatMul and onnxruntime's
//! com.microsoft QGemm, QLinearAdd, QLinearMul, QLinearAveragePool,
//! QLinearGlobalAveragePool, QLinearSoftmax, QLinearLeakyRelu, QLinearSigmoid and
//! QLinearConcat. Each imports as DequantizeLinear → float op → QuantizeLinear (its
//! exact definition); the quantisation pass then turns the chain into one integer
//! kernel, exactly as for QDQ models, so both formats share every kernel.

use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use crate::ops::activation::{Act, Unary};
use crate::ops::binary::{BinKind, Binary};
use crate::ops::gemm::{Gemm, MatMul};
use crate::ops::layout::Concat;
use crate::ops::pool::{GlobalPool, PoolKind};
use crate::ops::quant::{Dequantize, Quantize};
use crate::ops::quant_float;
use crate::ops::softmax::Softmax;
use crate::ops::util::axis;
use crate::ops::{invalid, unsupported, Op, OpResult};
use tinyops_runtime::kernels::UnaryFn;

fn dq(x: Src, scale: Src, zp: Option<Src>, axis: usize) -> SubNode {
    SubNode { op: Dequantize { axis }.into(), inputs: vec![Some(x), Some(scale), zp] }
}

/// The element type a QuantizeLinear with this zero-point input produces.
fn q_type(cx: &NodeCx, zp_slot: usize) -> OpResult<DType> {
    let t = cx.input(zp_slot).map_or(DType::U8, |a| a.ty.dtype);
    if !t.is_quantised_int() {
        invalid!("zero point {zp_slot} must be i8 or u8, is {t}");
    }
    Ok(t)
}

fn q(x: Src, scale_slot: usize, zp_slot: usize, to: DType) -> SubNode {
    SubNode {
        op: Quantize::new(1, to).into(),
        inputs: vec![Some(x), Some(Src::In(scale_slot)), Some(Src::In(zp_slot))],
    }
}

fn present(cx: &NodeCx, slot: usize) -> Option<Src> {
    cx.input(slot).map(|_| Src::In(slot))
}

/// A constant f32 input as a vector.
fn const_f32s(cx: &NodeCx, slot: usize, what: &str) -> OpResult<Vec<f32>> {
    match cx.const_input(slot, what)? {
        Some(t) => Ok(t.data.to_f32_vec()),
        None => invalid!("{what} (input {slot}) is required"),
    }
}

/// Scale for an i32 bias: `input_scale · weight_scale[c]`.
fn bias_scale(cx: &NodeCx, x_scale: usize, w_scale: usize) -> OpResult<Tensor> {
    let xs = const_f32s(cx, x_scale, "the input scale")?;
    let ws = const_f32s(cx, w_scale, "the weight scale")?;
    let v: Vec<f32> = ws.iter().map(|&w| (xs[0] as f64 * w as f64) as f32).collect();
    Ok(Tensor { shape: if v.len() == 1 { vec![] } else { vec![v.len()] }, data: Data::F32(v) })
}

/// QLinearConv(x, xs, xz, w, ws, wz, ys, yz, B?).
pub fn import_qlinear_conv(cx: &NodeCx) -> OpResult<Lowered> {
    let conv = crate::ops::conv::attributes(cx, 3)?;
    let to = q_type(cx, 7)?;
    if !quant_float::qparams_constant(cx, &[1, 2, 4, 5, 6, 7], &[1, 4, 6]) {
        return quant_float::qlinear(cx, conv.into(), to);
    }
    let mut nodes = vec![dq(Src::In(0), Src::In(1), present(cx, 2), 1), dq(Src::In(3), Src::In(4), present(cx, 5), 0)];
    let bias = if cx.input(8).is_some() {
        nodes.push(dq(Src::In(8), Src::Const(bias_scale(cx, 1, 4)?), None, 0));
        Some(Src::Node(2, 0))
    } else {
        None
    };
    let conv_at = nodes.len();
    nodes.push(SubNode { op: conv.into(), inputs: vec![Some(Src::Node(0, 0)), Some(Src::Node(1, 0)), bias] });
    nodes.push(q(Src::Node(conv_at, 0), 6, 7, to));
    Ok(Lowered::Nodes(nodes))
}

/// QLinearMatMul(a, as, az, b, bs, bz, ys, yz).
pub fn import_qlinear_matmul(cx: &NodeCx) -> OpResult<Lowered> {
    let to = q_type(cx, 7)?;
    if !quant_float::qparams_constant(cx, &[1, 2, 4, 5, 6, 7], &[1, 4, 6]) {
        return quant_float::qlinear(cx, MatMul { act: Act::NONE }.into(), to);
    }
    let b_rank = cx.input(3).map_or(2, |b| b.ty.rank());
    let b_axis = b_rank.saturating_sub(1);
    Ok(Lowered::Nodes(vec![
        dq(Src::In(0), Src::In(1), present(cx, 2), 1),
        dq(Src::In(3), Src::In(4), present(cx, 5), b_axis),
        SubNode { op: MatMul { act: Act::NONE }.into(), inputs: vec![Some(Src::Node(0, 0)), Some(Src::Node(1, 0))] },
        q(Src::Node(2, 0), 6, 7, to),
    ]))
}

/// com.microsoft QGemm(A, as, az, B, bs, bz, C?, ys?, yz?): a float result without ys.
pub fn import_qgemm(cx: &NodeCx) -> OpResult<Lowered> {
    let trans_a = cx.int("transA", 0)? != 0;
    let trans_b = cx.int("transB", 0)? != 0;
    let gemm = Gemm { trans_a, trans_b, alpha: cx.float("alpha", 1.0)?, beta: 1.0, act: Act::NONE };
    let mut nodes = vec![
        dq(Src::In(0), Src::In(1), present(cx, 2), 1),
        dq(Src::In(3), Src::In(4), present(cx, 5), if trans_b { 0 } else { 1 }),
    ];
    let c = if cx.input(6).is_some() {
        nodes.push(dq(Src::In(6), Src::Const(bias_scale(cx, 1, 4)?), None, 0));
        Some(Src::Node(2, 0))
    } else {
        None
    };
    let at = nodes.len();
    nodes.push(SubNode { op: gemm.into(), inputs: vec![Some(Src::Node(0, 0)), Some(Src::Node(1, 0)), c] });
    if cx.input(7).is_some() {
        let to = q_type(cx, 8)?;
        nodes.push(q(Src::Node(at, 0), 7, 8, to));
    }
    Ok(Lowered::Nodes(nodes))
}

/// com.microsoft QLinearAdd / QLinearMul(A, as, az, B, bs, bz, cs, cz).
pub fn import_qlinear_binary(cx: &NodeCx) -> OpResult<Lowered> {
    let kind = if cx.node.op_type == "QLinearMul" { BinKind::Mul } else { BinKind::Add };
    let to = q_type(cx, 7)?;
    Ok(Lowered::Nodes(vec![
        dq(Src::In(0), Src::In(1), present(cx, 2), 1),
        dq(Src::In(3), Src::In(4), present(cx, 5), 1),
        SubNode {
            op: Binary { kind, act: Act::NONE }.into(),
            inputs: vec![Some(Src::Node(0, 0)), Some(Src::Node(1, 0))],
        },
        q(Src::Node(2, 0), 6, 7, to),
    ]))
}

/// A unary QLinear op (X, xs, xz, ys, yz) around one float op.
fn around(cx: &NodeCx, op: Op) -> OpResult<Lowered> {
    if cx.int("channels_last", 0)? != 0 {
        unsupported!("channels_last = 1");
    }
    let to = q_type(cx, 4)?;
    Ok(Lowered::Nodes(vec![
        dq(Src::In(0), Src::In(1), present(cx, 2), 1),
        SubNode { op, inputs: vec![Some(Src::Node(0, 0))] },
        q(Src::Node(1, 0), 3, 4, to),
    ]))
}

/// com.microsoft QLinearAveragePool.
pub fn import_qlinear_average_pool(cx: &NodeCx) -> OpResult<Lowered> {
    let Lowered::Op(op @ Op::Pool(_), _) = crate::ops::pool::import_pool(cx)? else { invalid!("pool attributes") };
    around(cx, op)
}

/// com.microsoft QLinearGlobalAveragePool.
pub fn import_qlinear_global_average_pool(cx: &NodeCx) -> OpResult<Lowered> {
    around(cx, GlobalPool { kind: PoolKind::Avg, layout: crate::ir::Layout::ChannelsFirst }.into())
}

/// com.microsoft QLinearSoftmax (its `opset` attribute selects the axis semantics).
pub fn import_qlinear_softmax(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let legacy = cx.int("opset", 13)? < 13;
    let a = axis(cx.int("axis", if legacy { 1 } else { -1 })?, x.ty.rank())?;
    around(cx, Softmax { axis: a, coerce_2d: legacy, log: false }.into())
}

/// com.microsoft QLinearLeakyRelu and QLinearSigmoid.
pub fn import_qlinear_activation(cx: &NodeCx) -> OpResult<Lowered> {
    let f = match cx.node.op_type.as_str() {
        "QLinearLeakyRelu" => UnaryFn::LeakyRelu(cx.float("alpha", 0.01)?),
        _ => UnaryFn::Sigmoid,
    };
    around(cx, Unary { f }.into())
}

/// com.microsoft QLinearConcat(ys, yz, x0, s0, z0, x1, s1, z1, …).
pub fn import_qlinear_concat(cx: &NodeCx) -> OpResult<Lowered> {
    let n_in = cx.n_inputs().saturating_sub(2);
    if n_in == 0 || !n_in.is_multiple_of(3) {
        invalid!("QLinearConcat takes Y_scale, Y_zero_point, then (X, scale, zero point) triples");
    }
    let Some(first) = cx.input(2) else { invalid!("the first input is required") };
    let a = axis(cx.int("axis", i64::MIN)?, first.ty.rank())
        .map_err(|_| crate::ops::OpError::Invalid("axis is required".into()))?;
    let to = q_type(cx, 1)?;
    let k = n_in / 3;
    let mut nodes: Vec<SubNode> =
        (0..k).map(|i| dq(Src::In(2 + 3 * i), Src::In(3 + 3 * i), present(cx, 4 + 3 * i), 1)).collect();
    nodes.push(SubNode { op: Concat { axis: a }.into(), inputs: (0..k).map(|i| Some(Src::Node(i, 0))).collect() });
    nodes.push(q(Src::Node(k, 0), 0, 1, to));
    Ok(Lowered::Nodes(nodes))
}
