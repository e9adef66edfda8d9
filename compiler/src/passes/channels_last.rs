//! Channels-last: every spatial op (convolution, pooling, global pooling; float and
//! quantised) runs on `N,H,W,C` activations with `O,kH,kW,I` weights, the order
//! microcontroller kernels read. Each such op becomes Transpose(to channels-last) → op
//! → Transpose(back); weights transpose at compile time. The `transposes` pass then
//! cancels the pairs that meet between spatial ops and sinks the rest, so ONNX order
//! survives only at the model's edges.

use crate::ir::{build, Graph, Layout, NodeId, ValueId};
use crate::ops::layout::Transpose;
use crate::ops::Op;

/// The layout of a spatial op, if the node is one (and a mutable handle to change it).
fn layout_of(op: &mut Op) -> Option<&mut Layout> {
    match op {
        Op::Conv(c) => Some(&mut c.layout),
        Op::QConv(c) => Some(&mut c.geom.layout),
        Op::Pool(p) => Some(&mut p.layout),
        Op::QPool(p) => Some(&mut p.pool.layout),
        Op::GlobalPool(p) => Some(&mut p.layout),
        Op::QGlobalAvgPool(p) => Some(&mut p.layout),
        _ => None,
    }
}

/// True for ops whose second input is a weight in `O,I,k…` order.
fn has_weights(op: &Op) -> bool {
    matches!(op, Op::Conv(_) | Op::QConv(_))
}

/// Adds a transpose of `v`, named after it with a suffix.
fn transpose(g: &mut Graph, suffix: &str, v: ValueId, perm: Vec<usize>) -> Option<ValueId> {
    let name = format!("{}/{suffix}", g.value(v).name);
    build::add_op(g, &name, Op::Transpose(Transpose { perm }), vec![Some(v)], vec![name.clone()]).ok()?.first().copied()
}

/// Converts one node; false (leaving the graph as it was) if a step fails.
fn convert(g: &mut Graph, n: NodeId) -> bool {
    let node = g.node(n).clone();
    let mut op = node.op.clone();
    let Some(Some(x)) = node.inputs.first().copied() else { return false };
    let rank = g.ty(x).rank();
    if rank < 3 || node.outputs.len() != 1 {
        return false;
    }
    let Some(layout) = layout_of(&mut op) else { return false };
    if *layout != Layout::ChannelsFirst {
        return false;
    }
    *layout = Layout::ChannelsLast;
    let to_last = Layout::ChannelsLast.from_channels_first(rank);
    let to_first = Layout::ChannelsLast.to_channels_first(rank);
    let Some(xl) = transpose(g, "nhwc", x, to_last.clone()) else { return false };
    let mut inputs = node.inputs.clone();
    inputs[0] = Some(xl);
    if has_weights(&node.op) {
        let Some(Some(w)) = node.inputs.get(1).copied() else { return false };
        let Some(wl) = transpose(g, "ohwi", w, to_last) else { return false };
        inputs[1] = Some(wl);
    }
    // The channels-last result keeps the ONNX name (it is the same tensor, stored in
    // another order); the transposed copy back, which usually cancels, gets a suffix.
    let y = node.outputs[0];
    let yname = g.value(y).name.clone();
    let Ok(outs) = build::add_op(g, &node.name, op, inputs, vec![yname]) else { return false };
    let Some(back) = transpose(g, "nchw", outs[0], to_first) else { return false };
    g.replace_uses(y, back);
    g.remove_node(n);
    true
}

/// Converts every channels-first spatial op; returns how many.
pub fn run(g: &mut Graph) -> usize {
    let mut converted = 0;
    for n in g.topo_order() {
        if g.contains(n) && convert(g, n) {
            converted += 1;
        }
    }
    converted
}
