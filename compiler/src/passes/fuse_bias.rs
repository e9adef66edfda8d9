//! Bias fusion: `Add(x, const)` after a MatMul, Gemm or Conv whose result it alone
//! reads becomes that op's bias, so the add happens in the kernel's output stage.

use super::sole_user;
use crate::ir::{numel, Graph, NodeId, Tensor, ValueId};
use crate::ops::binary::BinKind;
use crate::ops::Op;

/// The constant operand of an `Add` and the other operand.
fn add_of_const(g: &Graph, n: NodeId) -> Option<(ValueId, Vec<f32>, Vec<usize>)> {
    let node = g.node(n);
    let Op::Binary(b) = &node.op else { return None };
    if b.kind != BinKind::Add || !b.act.is_none() {
        return None;
    }
    let (a, c) = (node.inputs[0]?, node.inputs[1]?);
    let (x, k) = if g.const_of(c).is_some() { (a, c) } else { (c, a) };
    let t = g.const_of(k)?;
    Some((x, t.as_f32()?.to_vec(), t.shape.clone()))
}

/// Fuses every eligible bias add.
pub fn run(g: &mut Graph) -> usize {
    let mut fused = 0;
    for n in g.topo_order() {
        if !g.contains(n) {
            continue;
        }
        let Some((x, c, cshape)) = add_of_const(g, n) else {
            continue;
        };
        let Some(p) = g.producer(x) else { continue };
        if sole_user(g, x).is_none() {
            continue;
        }
        let y = g.node(n).outputs[0];
        // The add must not change the result's shape.
        if g.ty(y).shape != g.ty(x).shape {
            continue;
        }
        let out_shape = g.ty(x).shape.clone();
        let pnode = g.node(p).clone();
        let ok = match &pnode.op {
            Op::MatMul(m) if m.act.is_none() && pnode.inputs.len() == 2 => {
                let n_cols = *out_shape.last().unwrap_or(&0);
                let per_column = numel(&cshape) == n_cols && cshape.iter().rev().skip(1).all(|&d| d == 1);
                if per_column {
                    let b = g.add_const(format!("{}.bias", pnode.name), Tensor::f32(vec![n_cols], c));
                    g.node_mut(p).inputs.push(None);
                    g.set_input(p, 2, Some(b));
                }
                per_column
            }
            Op::Gemm(m) if m.act.is_none() && pnode.inputs.get(2).copied().flatten().is_none() => {
                let n_cols = out_shape[1];
                let per_column = numel(&cshape) == n_cols && cshape.iter().rev().skip(1).all(|&d| d == 1);
                if per_column {
                    let b = g.add_const(format!("{}.bias", pnode.name), Tensor::f32(vec![n_cols], c));
                    if pnode.inputs.len() < 3 {
                        g.node_mut(p).inputs.push(None);
                    }
                    g.set_input(p, 2, Some(b));
                    if let Op::Gemm(gm) = &mut g.node_mut(p).op {
                        gm.beta = 1.0;
                    }
                }
                per_column
            }
            Op::Conv(cv) if cv.act.is_none() => {
                let m = out_shape[1];
                // [M,1,…] or [1,M,1,…] (per output channel), rank at most the output's.
                let per_channel = numel(&cshape) == m
                    && cshape.len() <= out_shape.len()
                    && cshape.len() >= out_shape.len() - 1
                    && cshape.iter().rev().take(out_shape.len() - 2).all(|&d| d == 1);
                let old_bias = pnode.inputs.get(2).copied().flatten();
                let base = match old_bias {
                    Some(b) => g.const_of(b).and_then(|t| t.as_f32()).map(<[f32]>::to_vec),
                    None => Some(vec![0.0; m]),
                };
                match base {
                    Some(base) if per_channel => {
                        let sum: Vec<f32> = base.iter().zip(&c).map(|(a, b)| a + b).collect();
                        let b = g.add_const(format!("{}.bias", pnode.name), Tensor::f32(vec![m], sum));
                        if pnode.inputs.len() < 3 {
                            g.node_mut(p).inputs.push(None);
                        }
                        g.set_input(p, 2, Some(b));
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if ok {
            g.replace_uses(y, x);
            g.remove_node(n);
            fused += 1;
        }
    }
    fused
}
