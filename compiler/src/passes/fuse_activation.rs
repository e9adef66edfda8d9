//! Activation fusion: a Clip (ReLU, ReLU6, any clamp) that alone reads the result of
//! a Conv, Gemm, MatMul or elementwise binary op moves into that op's output stage.

use super::sole_user;
use crate::ir::Graph;
use crate::ops::Op;

/// Fuses every eligible clamp.
pub fn run(g: &mut Graph) -> usize {
    let mut fused = 0;
    for n in g.topo_order() {
        if !g.contains(n) {
            continue;
        }
        let node = g.node(n).clone();
        let Op::Clip(clip) = &node.op else { continue };
        let Some(x) = node.inputs[0] else { continue };
        let Some(p) = g.producer(x) else { continue };
        if sole_user(g, x).is_none() {
            continue;
        }
        let act = match &mut g.node_mut(p).op {
            Op::Conv(o) => &mut o.act,
            Op::Gemm(o) => &mut o.act,
            Op::MatMul(o) => &mut o.act,
            Op::Binary(o) => &mut o.act,
            _ => continue,
        };
        let Some(combined) = act.then(&clip.act) else {
            continue;
        };
        *act = combined;
        g.replace_uses(node.outputs[0], x);
        g.remove_node(n);
        fused += 1;
    }
    fused
}
