//! Quantisation: DequantizeLinear → float op (→ Relu/Clip) → QuantizeLinear chains
//! become one integer op on the 8-bit values. This is how QDQ models (and QOperator
//! ops, which import as such chains) get integer kernels: convolutions, FC layers,
//! add/mul, pooling, softmax, concat, table-driven activations, and data movement.
//! Anything left between a DQ and a Q stays float, where `inspect` shows it and
//! `--require-int8` rejects it ([`require_int8`]).

use super::sole_user;
use crate::error::{NodeRef, Problem};
use crate::ir::{DType, Data, Graph, NodeId, Tensor, ValueId};
use crate::ops::activation::Act;
use crate::ops::binary::BinKind;
use crate::ops::int8::binary::{QBinKind, QBinary};
use crate::ops::int8::conv::{shift_weights, QConv};
use crate::ops::int8::gemm::{fc_consts, QGemm};
use crate::ops::int8::pool::{QGlobalAvgPool, QPool};
use crate::ops::int8::softmax::QSoftmax;
use crate::ops::int8::table::{QTable, TableFn};
use crate::ops::int8::QParam;
use crate::ops::pool::PoolKind;
use crate::ops::{Arith, Op};
use tinyops_runtime::kernels::UnaryFn;

/// An activation entering through a per-tensor DequantizeLinear.
#[derive(Debug, Clone, Copy)]
struct Dq {
    /// The 8-bit value.
    x: ValueId,
    /// Its quantisation.
    p: QParam,
}

/// Constant scale/zero-point inputs of a Q or DQ node.
fn params_of(g: &Graph, n: NodeId) -> Option<(Vec<f32>, Vec<i64>)> {
    let nd = g.node(n);
    let scale = g.const_of(nd.inputs.get(1).copied().flatten()?)?;
    let zp = match nd.inputs.get(2).copied().flatten() {
        Some(z) => g.const_of(z)?.data.to_i64_vec(),
        None => vec![0; scale.numel()],
    };
    Some((scale.data.to_f32_vec(), zp))
}

fn act_dq(g: &Graph, v: ValueId) -> Option<Dq> {
    let n = g.producer(v)?;
    let Op::Dequantize(_) = &g.node(n).op else {
        return None;
    };
    let x = g.node(n).inputs[0]?;
    let dtype = g.ty(x).dtype;
    let (s, z) = params_of(g, n)?;
    (dtype.is_quantised_int() && s.len() == 1).then(|| Dq { x, p: QParam { dtype, scale: s[0], zp: z[0] as i32 } })
}

/// Constant weights behind a DequantizeLinear: data, scales, zero points, axis.
struct Wq {
    w: Tensor,
    scales: Vec<f32>,
    zps: Vec<i64>,
    axis: usize,
}

fn weight_dq(g: &Graph, v: ValueId) -> Option<Wq> {
    let n = g.producer(v)?;
    let Op::Dequantize(dq) = &g.node(n).op else {
        return None;
    };
    let w = g.const_of(g.node(n).inputs[0]?)?.clone();
    if !w.dtype().is_quantised_int() {
        return None;
    }
    let (scales, zps) = params_of(g, n)?;
    Some(Wq { w, scales, zps, axis: dq.axis })
}

/// A bias: i32 behind a DequantizeLinear, or float constant; as real values.
fn bias_real(g: &Graph, v: ValueId) -> Option<Vec<f64>> {
    if let Some(t) = g.const_of(v) {
        return Some(t.data.to_f32_vec().into_iter().map(|x| x as f64).collect());
    }
    let n = g.producer(v)?;
    let Op::Dequantize(_) = &g.node(n).op else {
        return None;
    };
    let b = g.const_of(g.node(n).inputs[0]?)?;
    if b.dtype() != DType::I32 {
        return None;
    }
    let (s, z) = params_of(g, n)?;
    let k = s.len();
    Some(
        (0..b.numel())
            .map(|i| (b.data.get_i64(i) - z[if k == 1 { 0 } else { i }]) as f64 * s[if k == 1 { 0 } else { i }] as f64)
            .collect(),
    )
}

/// Re-expresses a real bias at the scale of each output channel.
fn requantise_bias(real: &[f64], sx: f32, w_scales: &[f32]) -> Option<Vec<i64>> {
    real.iter()
        .enumerate()
        .map(|(c, &b)| {
            let ws = if w_scales.len() == 1 { w_scales[0] } else { *w_scales.get(c)? };
            let q = (b / (sx as f64 * ws as f64)).round();
            (q.abs() < i32::MAX as f64).then_some(q as i64)
        })
        .collect()
}

/// The tail of a chain: clamps folded into one `Act`, the final QuantizeLinear.
struct OutQ {
    /// Nodes to remove (clamps and the Q).
    nodes: Vec<NodeId>,
    /// Combined clamp.
    act: Act,
    /// Output quantisation.
    p: QParam,
    /// The Q's result, which the new op's result replaces.
    q_out: ValueId,
}

fn out_q(g: &Graph, v: ValueId) -> Option<OutQ> {
    let mut cur = v;
    let mut act = Act::NONE;
    let mut nodes = vec![];
    loop {
        let (n, _) = sole_user(g, cur)?;
        match &g.node(n).op {
            Op::Clip(c) => {
                act = act.then(&c.act)?;
                nodes.push(n);
                cur = g.node(n).outputs[0];
            }
            Op::Quantize(q) => {
                let (s, z) = params_of(g, n)?;
                if s.len() != 1 {
                    return None;
                }
                nodes.push(n);
                let p = QParam { dtype: q.to, scale: s[0], zp: z[0] as i32 };
                return Some(OutQ { nodes, act, p, q_out: g.node(n).outputs[0] });
            }
            _ => return None,
        }
    }
}

/// Replaces `old` (the chain from `first` through `tail`) with `op` on `inputs`.
fn replace(g: &mut Graph, first: NodeId, tail: &OutQ, op: Op, inputs: Vec<Option<ValueId>>) -> Option<ValueId> {
    let name = g.node(first).name.clone();
    let ty = match crate::ir::build::infer(g, &op, &inputs) {
        Ok(mut t) => t.remove(0),
        Err(_) => return None,
    };
    let out_name = g.value(tail.q_out).name.clone();
    let n = g.add_node(name, op, inputs, vec![(out_name, ty)]);
    let out = g.node(n).outputs[0];
    g.replace_uses(tail.q_out, out);
    for &r in tail.nodes.iter().rev() {
        g.remove_node(r);
    }
    g.remove_node(first);
    Some(out)
}

/// A table requantising `v` from `from` to `to` after a clamp, unless it is the identity.
fn requant_after(g: &mut Graph, v: ValueId, from: QParam, to: QParam, act: Act, name: &str) -> ValueId {
    let f = if act.is_none() { TableFn::Identity } else { TableFn::Clamp(act) };
    let t = QTable { f, x: from, y: to };
    if t.is_identity() {
        return v;
    }
    let shape = g.ty(v).shape.clone();
    let n = g.add_node(
        format!("{name}.requantise"),
        Op::QTable(t),
        vec![Some(v)],
        vec![(format!("{name}.requantised"), to.ty(shape))],
    );
    g.node(n).outputs[0]
}

fn conv(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let Op::Conv(c) = &nd.op else { return None };
    let x = act_dq(g, nd.inputs[0]?)?;
    let w = weight_dq(g, nd.inputs[1]?)?;
    if !(w.scales.len() == 1 || w.axis == 0 && w.scales.len() == w.w.shape[0]) {
        return None;
    }
    let tail = out_q(g, nd.outputs[0])?;
    let bias = match nd.inputs.get(2).copied().flatten() {
        Some(b) => Some(requantise_bias(&bias_real(g, b)?, x.p.scale, &w.scales)?),
        None => None,
    };
    let wq = shift_weights(&w.w, &w.zps, 0).ok()?;
    let m = w.w.shape[0];
    let mut geom = c.clone();
    geom.act = Act::NONE;
    let act = c.act.then(&tail.act)?;
    let op = QConv { geom, x: x.p, w_scales: w.scales, y: Some(tail.p), act };
    let wv = g.add_const(format!("{}.weight.q", nd.name), wq);
    let bv = bias.map(|b| {
        g.add_const(format!("{}.bias.q", nd.name), Tensor { shape: vec![m], data: Data::I64(b).cast(DType::I32) })
    });
    replace(g, n, &tail, Op::QConv(op), vec![Some(x.x), Some(wv), bv]).map(|_| ())
}

/// Gemm or MatMul (optionally followed by `Add(bias)`) between DQs and a Q.
fn fully_connected(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let (trans_b, act0, c_input) = match &nd.op {
        Op::Gemm(gm) if !gm.trans_a && gm.alpha == 1.0 && gm.beta == 1.0 => {
            (gm.trans_b, gm.act, nd.inputs.get(2).copied().flatten())
        }
        Op::MatMul(mm) if nd.inputs.len() == 2 => (false, mm.act, None),
        _ => return None,
    };
    let a = act_dq(g, nd.inputs[0]?)?;
    let b = weight_dq(g, nd.inputs[1]?)?;
    if b.w.shape.len() != 2 {
        return None;
    }
    let n_axis = if trans_b { 0 } else { 1 };
    if !(b.scales.len() == 1 || b.axis == n_axis && b.scales.len() == b.w.shape[n_axis]) {
        return None;
    }
    // MatMul → Add(bias) → Q: the add is part of the chain.
    let mut first_tail = nd.outputs[0];
    let mut bias_v = c_input;
    let mut extra = None;
    if bias_v.is_none() {
        if let Some((u, _)) = sole_user(g, first_tail) {
            if let Op::Binary(bn) = &g.node(u).op {
                if bn.kind == BinKind::Add && bn.act.is_none() {
                    let other = g.node(u).inputs.iter().flatten().copied().find(|&v| v != first_tail)?;
                    if bias_real(g, other).is_some() {
                        bias_v = Some(other);
                        extra = Some(u);
                        first_tail = g.node(u).outputs[0];
                    }
                }
            }
        }
    }
    let tail = out_q(g, first_tail);
    let n_cols = b.w.shape[n_axis];
    let bias = match bias_v {
        Some(v) => {
            let real = bias_real(g, v)?;
            if real.len() != n_cols && real.len() != 1 {
                return None;
            }
            let real: Vec<f64> = (0..n_cols).map(|j| real[if real.len() == 1 { 0 } else { j }]).collect();
            Some(requantise_bias(&real, a.p.scale, &b.scales)?)
        }
        None => None,
    };
    let consts = fc_consts(&b.w, &b.zps, trans_b, bias.as_deref(), a.p.zp).ok()?;
    let wv = g.add_const(format!("{}.weight.q", nd.name), consts.w);
    let bv = g.add_const(format!("{}.bias.q", nd.name), consts.bias);
    let Some(mut tail) = tail else {
        // No QuantizeLinear after: a float result. Accumulate in integers, then
        // dequantise each column with scale a_s · b_s[j].
        if !act0.is_none() {
            return None;
        }
        let op = QGemm { a: a.p, w_scales: b.scales.clone(), y: None, act: Act::NONE };
        let shape = g.ty(first_tail).shape.clone();
        let acc_ty = crate::ir::TensorType::new(DType::I32, shape.clone());
        let qg = g.add_node(
            nd.name.clone(),
            Op::QGemm(op),
            vec![Some(a.x), Some(wv), Some(bv)],
            vec![(format!("{}.acc", nd.name), acc_ty)],
        );
        let acc = g.node(qg).outputs[0];
        let scales: Vec<f32> = (0..n_cols)
            .map(|j| (a.p.scale as f64 * b.scales[if b.scales.len() == 1 { 0 } else { j }] as f64) as f32)
            .collect();
        let sv = g.add_const(format!("{}.acc_scale", nd.name), Tensor::f32(vec![n_cols], scales));
        let dq = crate::ops::quant::Dequantize { axis: shape.len() - 1 };
        let out_ty = g.ty(first_tail).clone();
        let d = g.add_node(
            format!("{}.dequantize", nd.name),
            Op::Dequantize(dq),
            vec![Some(acc), Some(sv), None],
            vec![(g.value(first_tail).name.clone(), out_ty)],
        );
        let out = g.node(d).outputs[0];
        g.replace_uses(first_tail, out);
        if let Some(e) = extra {
            g.remove_node(e);
        }
        g.remove_node(n);
        return Some(());
    };
    let act = act0.then(&tail.act)?;
    let op = QGemm { a: a.p, w_scales: b.scales, y: Some(tail.p), act };
    if let Some(e) = extra {
        tail.nodes.insert(0, e);
    }
    replace(g, n, &tail, Op::QGemm(op), vec![Some(a.x), Some(wv), Some(bv)]).map(|_| ())
}

fn binary(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let Op::Binary(b) = &nd.op else { return None };
    let kind = match b.kind {
        BinKind::Add => QBinKind::Add,
        BinKind::Mul => QBinKind::Mul,
        _ => return None,
    };
    let (x, z) = (act_dq(g, nd.inputs[0]?)?, act_dq(g, nd.inputs[1]?)?);
    let tail = out_q(g, nd.outputs[0])?;
    let act = b.act.then(&tail.act)?;
    let op = QBinary { kind, a: x.p, b: z.p, y: tail.p, act };
    replace(g, n, &tail, Op::QBinary(op), vec![Some(x.x), Some(z.x)]).map(|_| ())
}

fn pool(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let x = act_dq(g, nd.inputs[0]?)?;
    let tail = out_q(g, nd.outputs[0])?;
    match &nd.op {
        Op::Pool(p) if p.kind == PoolKind::Avg => {
            let out = replace(g, n, &tail, Op::QPool(QPool { pool: p.clone(), x: x.p, y: tail.p }), vec![Some(x.x)])?;
            if !tail.act.is_none() {
                clamp_after(g, out, tail.p, tail.act);
            }
        }
        Op::Pool(p) => {
            // Max commutes with the affine map: pool in the input quantisation, then
            // requantise (and clamp) if the output's differs.
            let name = nd.name.clone();
            let out = replace(g, n, &tail, Op::QPool(QPool { pool: p.clone(), x: x.p, y: x.p }), vec![Some(x.x)])?;
            let users = g.users(out);
            let was_output = g.is_output(out);
            let r = requant_after(g, out, x.p, tail.p, tail.act, &name);
            if r != out {
                redirect(g, out, r, users, was_output);
            }
        }
        Op::GlobalPool(p) if p.kind == PoolKind::Avg => {
            let out = replace(
                g,
                n,
                &tail,
                Op::QGlobalAvgPool(QGlobalAvgPool { x: x.p, y: tail.p, layout: p.layout }),
                vec![Some(x.x)],
            )?;
            if !tail.act.is_none() {
                clamp_after(g, out, tail.p, tail.act);
            }
        }
        _ => return None,
    }
    Some(())
}

/// Points former readers of `old` (and the graph output) at `new`.
fn redirect(g: &mut Graph, old: ValueId, new: ValueId, users: Vec<(NodeId, usize)>, was_output: bool) {
    for (u, slot) in users {
        g.set_input(u, slot, Some(new));
    }
    if was_output {
        let outs: Vec<ValueId> = g.outputs().iter().map(|&o| if o == old { new } else { o }).collect();
        g.set_outputs(outs);
    }
}

/// Appends a clamp table on `v` (same quantisation) and redirects its readers.
fn clamp_after(g: &mut Graph, v: ValueId, p: QParam, act: Act) {
    let users = g.users(v);
    let was_output = g.is_output(v);
    let name = g.value(v).name.clone();
    let r = requant_after(g, v, p, p, act, &name);
    if r != v {
        redirect(g, v, r, users, was_output);
    }
}

fn softmax(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let Op::Softmax(s) = &nd.op else { return None };
    if s.log {
        return None;
    }
    let x = act_dq(g, nd.inputs[0]?)?;
    let tail = out_q(g, nd.outputs[0])?;
    let out = replace(g, n, &tail, Op::QSoftmax(QSoftmax { softmax: s.clone(), x: x.p, y: tail.p }), vec![Some(x.x)])?;
    if !tail.act.is_none() {
        clamp_after(g, out, tail.p, tail.act);
    }
    Some(())
}

/// Any elementwise function of one input (including a lone clamp) becomes a table.
fn elementwise(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let x = act_dq(g, nd.inputs[0]?)?;
    let (f, tail) = match &nd.op {
        Op::Unary(u) => (TableFn::Unary(u.f), out_q(g, nd.outputs[0])?),
        Op::Clip(c) => {
            let mut t = out_q(g, nd.outputs[0])?;
            t.act = c.act.then(&t.act)?;
            (TableFn::Clamp(t.act), t)
        }
        _ => return None,
    };
    let f = match f {
        TableFn::Unary(u) if !tail.act.is_none() => {
            // A clamp after the function: fold it into the table too.
            let act = tail.act;
            return table_then_clamp(g, n, &tail, x, u, act);
        }
        f => f,
    };
    replace(g, n, &tail, Op::QTable(QTable { f, x: x.p, y: tail.p }), vec![Some(x.x)]).map(|_| ())
}

fn table_then_clamp(g: &mut Graph, n: NodeId, tail: &OutQ, x: Dq, u: UnaryFn, act: Act) -> Option<()> {
    let out = replace(g, n, tail, Op::QTable(QTable { f: TableFn::Unary(u), x: x.p, y: tail.p }), vec![Some(x.x)])?;
    clamp_after(g, out, tail.p, act);
    Some(())
}

/// Concat of DQ'd inputs: requantise the inputs whose quantisation differs, then
/// concatenate 8-bit values.
fn concat(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let Op::Concat(c) = &nd.op else { return None };
    let ins: Option<Vec<Dq>> = nd.inputs.iter().map(|v| act_dq(g, (*v)?)).collect();
    let ins = ins?;
    let tail = out_q(g, nd.outputs[0])?;
    if ins.iter().any(|d| d.p.dtype != tail.p.dtype) {
        return None;
    }
    let mut vals = vec![];
    for (i, d) in ins.iter().enumerate() {
        vals.push(Some(requant_after(g, d.x, d.p, tail.p, tail.act, &format!("{}.in{i}", nd.name))));
    }
    replace(g, n, &tail, Op::Concat(c.clone()), vals).map(|_| ())
}

/// Data movement between a DQ and a Q runs on the 8-bit values.
fn movement(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let op = match &nd.op {
        Op::Reshape(_) | Op::Transpose(_) | Op::Slice(_) | Op::Gather(_) | Op::Expand(_) => nd.op.clone(),
        Op::Pad(p) => {
            let x = act_dq(g, nd.inputs[0]?)?;
            Op::Pad(crate::ops::layout::Pad { pads: p.pads.clone(), value: x.p.quantize(p.value) as f32 })
        }
        _ => return None,
    };
    let x = act_dq(g, nd.inputs[0]?)?;
    let tail = out_q(g, nd.outputs[0])?;
    if tail.p.dtype != x.p.dtype {
        return None;
    }
    let name = nd.name.clone();
    let out = replace(g, n, &tail, op, vec![Some(x.x)])?;
    let users = g.users(out);
    let was_output = g.is_output(out);
    let r = requant_after(g, out, x.p, tail.p, tail.act, &name);
    if r != out {
        redirect(g, out, r, users, was_output);
    }
    Some(())
}

/// `Q(DQ(x))`: nothing, or a requantisation table.
fn requantisation(g: &mut Graph, n: NodeId) -> Option<()> {
    let nd = g.node(n).clone();
    let Op::Quantize(q) = &nd.op else { return None };
    let x = act_dq(g, nd.inputs[0]?)?;
    let (s, z) = params_of(g, n)?;
    if s.len() != 1 || q.to != x.p.dtype {
        return None;
    }
    let to = QParam { dtype: q.to, scale: s[0], zp: z[0] as i32 };
    let y = nd.outputs[0];
    let r = requant_after(g, x.x, x.p, to, Act::NONE, &nd.name);
    g.replace_uses(y, r);
    g.remove_node(n);
    Some(())
}

/// Runs every rewrite to a fixed point; returns how many chains became integer ops.
pub fn run(g: &mut Graph) -> usize {
    let mut rewrites = 0;
    loop {
        let mut changed = false;
        for n in g.topo_order() {
            if !g.contains(n) {
                continue;
            }
            let done = match g.node(n).op {
                Op::Conv(_) => conv(g, n),
                Op::Gemm(_) | Op::MatMul(_) => fully_connected(g, n),
                Op::Binary(_) => binary(g, n),
                Op::Pool(_) | Op::GlobalPool(_) => pool(g, n),
                Op::Softmax(_) => softmax(g, n),
                Op::Unary(_) | Op::Clip(_) => elementwise(g, n),
                Op::Concat(_) => concat(g, n),
                Op::Reshape(_) | Op::Transpose(_) | Op::Slice(_) | Op::Gather(_) | Op::Expand(_) | Op::Pad(_) => {
                    movement(g, n)
                }
                Op::Quantize(_) => requantisation(g, n),
                _ => None,
            };
            if done.is_some() {
                rewrites += 1;
                changed = true;
            }
        }
        if !changed {
            return rewrites;
        }
    }
}

/// The arithmetic class of every scheduled node.
pub fn arith_of(g: &Graph, n: NodeId) -> Arith {
    let nd = g.node(n);
    let outs: Vec<crate::ir::TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
    nd.op.arith(&outs)
}

/// `--require-int8`: no float compute, and float ⇄ integer conversions only where the
/// model's float inputs enter and its float outputs leave. Returns every offender.
pub fn require_int8(g: &Graph) -> Result<(), Vec<Problem>> {
    let mut problems = vec![];
    let node_ref = |n: NodeId| {
        let nd = g.node(n);
        NodeRef {
            name: nd.name.clone(),
            op_type: nd.op.name().to_string(),
            domain: crate::error::IR_DOMAIN.into(),
            opset: 0,
        }
    };
    // Values reachable from graph inputs through data movement only.
    let mut from_input: std::collections::HashSet<ValueId> = g.inputs().iter().copied().collect();
    for n in g.topo_order() {
        if arith_of(g, n) == Arith::Movement && g.node(n).inputs.iter().flatten().all(|v| from_input.contains(v)) {
            from_input.extend(g.node(n).outputs.iter().copied());
        }
    }
    // Values that reach only graph outputs through data movement.
    let mut to_output: std::collections::HashSet<ValueId> = g.outputs().iter().copied().collect();
    for n in g.topo_order().into_iter().rev() {
        let nd = g.node(n);
        if arith_of(g, n) == Arith::Movement
            && nd.outputs.iter().all(|o| to_output.contains(o) || g.users(*o).is_empty() && !g.is_output(*o))
        {
            to_output.extend(nd.inputs.iter().flatten().copied());
        }
    }
    for n in g.topo_order() {
        let nd = g.node(n);
        match arith_of(g, n) {
            Arith::Float => problems.push(Problem::Unsupported {
                node: node_ref(n),
                detail: "computes in float, but --require-int8 is set; quantise this op (or its neighbours) so it becomes an integer kernel".into(),
            }),
            Arith::Convert => {
                let ok = match nd.op {
                    Op::Quantize(_) => nd.inputs[0].is_some_and(|v| from_input.contains(&v)),
                    Op::Dequantize(_) => nd.outputs.iter().all(|&o| to_output.contains(&o) && g.users(o).iter().all(|&(u, _)| arith_of(g, u) == Arith::Movement)),
                    _ => false,
                };
                if !ok {
                    problems.push(Problem::Unsupported {
                        node: node_ref(n),
                        detail: "converts between float and integer inside the model (a float round trip), but --require-int8 is set".into(),
                    });
                }
            }
            Arith::Integer | Arith::Movement => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
