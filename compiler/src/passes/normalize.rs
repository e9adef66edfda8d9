//! BatchNormalization with constant statistics: folded into the weights and bias of
//! the convolution before it when that convolution feeds only it, otherwise rewritten
//! as a per-channel affine map.

use super::sole_user;
use crate::ir::{Graph, Tensor};
use crate::ops::norm::ChannelAffine;
use crate::ops::Op;

/// Rewrites every BatchNorm whose parameters are constant.
pub fn run(g: &mut Graph) -> usize {
    let mut n_rewrites = 0;
    for n in g.topo_order() {
        if !g.contains(n) {
            continue;
        }
        let node = g.node(n).clone();
        let Op::BatchNorm(bn) = &node.op else {
            continue;
        };
        let params: Option<Vec<Vec<f32>>> = (1..5)
            .map(|i| node.inputs[i].and_then(|v| g.const_of(v)).and_then(|t| t.as_f32().map(<[f32]>::to_vec)))
            .collect();
        let Some(p) = params else { continue };
        let (mul, add) = bn.affine(&p[0], &p[1], &p[2], &p[3]);
        let Some(x) = node.inputs[0] else { continue };
        let y = node.outputs[0];
        if fold_into_conv(g, x, &mul, &add) {
            g.replace_uses(y, x);
            g.remove_node(n);
        } else {
            let c = mul.len();
            let m = g.add_const(format!("{}.mul", node.name), Tensor::f32(vec![c], mul));
            let a = g.add_const(format!("{}.add", node.name), Tensor::f32(vec![c], add));
            let ty = g.ty(y).clone();
            let new = g.add_node(
                node.name.clone(),
                Op::ChannelAffine(ChannelAffine),
                vec![Some(x), Some(m), Some(a)],
                vec![(g.value(y).name.clone(), ty)],
            );
            let out = g.node(new).outputs[0];
            g.replace_uses(y, out);
            g.remove_node(n);
        }
        n_rewrites += 1;
    }
    n_rewrites
}

/// Scales the weights and bias of the Conv producing `x` (if it is one with constant
/// weights and `x` has no other reader). Returns whether it did.
fn fold_into_conv(g: &mut Graph, x: crate::ir::ValueId, mul: &[f32], add: &[f32]) -> bool {
    let Some(conv) = g.producer(x) else {
        return false;
    };
    if sole_user(g, x).is_none() {
        return false;
    }
    let node = g.node(conv).clone();
    let Op::Conv(c) = &node.op else { return false };
    if !c.act.is_none() {
        return false;
    }
    let Some(w) = node.inputs[1].and_then(|v| g.const_of(v)).and_then(|t| t.as_f32()).map(<[f32]>::to_vec) else {
        return false;
    };
    let wshape = g.ty(node.inputs[1].expect("checked")).shape.clone();
    let m = wshape[0];
    if m != mul.len() {
        return false;
    }
    let per = w.len() / m;
    let bias: Vec<f32> = match node.inputs.get(2).copied().flatten() {
        Some(b) => match g.const_of(b).and_then(|t| t.as_f32()) {
            Some(b) => b.to_vec(),
            None => return false,
        },
        None => vec![0.0; m],
    };
    let w2: Vec<f32> = w.iter().enumerate().map(|(i, &v)| v * mul[i / per]).collect();
    let b2: Vec<f32> = (0..m).map(|o| bias[o] * mul[o] + add[o]).collect();
    let wv = g.add_const(format!("{}.weight.bn", node.name), Tensor::f32(wshape, w2));
    let bv = g.add_const(format!("{}.bias.bn", node.name), Tensor::f32(vec![m], b2));
    g.set_input(conv, 1, Some(wv));
    if node.inputs.len() < 3 {
        g.node_mut(conv).inputs.push(None);
    }
    g.set_input(conv, 2, Some(bv));
    true
}
