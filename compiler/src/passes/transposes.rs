//! Transpose sinking and cancellation: after `channels-last`, every spatial op sits
//! between two transposes. This pass moves transposes down through ops that do not
//! care about axis order (element-wise functions, element-wise binary ops of equally
//! transposed operands, concatenation with its axis renumbered), fuses consecutive
//! transposes, drops the ones that end up as the identity, and turns transposes that
//! only move axes of extent 1 into reshapes (views, no copy). What remains is a real
//! copy, typically at a model input or output in ONNX order. Last, a transpose that
//! alone reads a QuantizeLinear fuses into it (the quantisation writes the transposed
//! order directly), so a float model input in ONNX order, quantised and moved to
//! channels-last, is not also held quantised in its ONNX order.

use crate::ir::{build, Graph, NodeId, ValueId};
use crate::ops::layout::{Concat, Reshape, Transpose};
use crate::ops::quant::Quantize;
use crate::ops::Op;

/// The permutation of the transpose producing `v`, and its input.
fn transposed(g: &Graph, v: ValueId) -> Option<(Vec<usize>, ValueId)> {
    let n = g.producer(v)?;
    let node = g.node(n);
    match &node.op {
        Op::Transpose(t) => Some((t.perm.clone(), node.inputs[0]?)),
        _ => None,
    }
}

fn is_identity(perm: &[usize]) -> bool {
    perm.iter().enumerate().all(|(i, &p)| i == p)
}

/// True when a transpose of `shape` by `perm` keeps every axis longer than 1 in order:
/// then it moves no data and is a reshape.
fn moves_only_unit_axes(shape: &[usize], perm: &[usize]) -> bool {
    let kept: Vec<usize> = perm.iter().copied().filter(|&a| shape[a] != 1).collect();
    kept.windows(2).all(|w| w[0] < w[1])
}

/// Ops that commute with any transpose of all their (same-rank) tensor inputs.
fn axis_blind(op: &Op) -> bool {
    matches!(op, Op::Clip(_) | Op::Unary(_) | Op::QTable(_) | Op::Cast(_) | Op::Binary(_) | Op::QBinary(_))
}

/// A quantisation (QuantizeLinear, DequantizeLinear) of a transposed tensor, moved
/// before the transpose: `Q(axis a)(T(perm)(src)) = T(perm)(Q(axis perm[a])(src))`
/// (output axis `a` is source axis `perm[a]`); per-tensor parameters ignore the axis.
/// The scale and zero point stay as they are.
fn quantize_through(g: &mut Graph, n: NodeId) -> bool {
    let node = g.node(n).clone();
    let Some(Some(x)) = node.inputs.first().copied() else { return false };
    let Some((perm, src)) = transposed(g, x) else { return false };
    if node.outputs.len() != 1 || perm.len() != g.ty(x).rank() {
        return false;
    }
    let renumber = |axis: usize| perm.get(axis).copied().unwrap_or(axis);
    let op = match &node.op {
        Op::Quantize(q) if q.perm.is_empty() => Op::Quantize(Quantize::new(renumber(q.axis), q.to)),
        Op::Dequantize(q) => Op::Dequantize(crate::ops::quant::Dequantize { axis: renumber(q.axis) }),
        _ => return false,
    };
    let mut inputs = node.inputs.clone();
    inputs[0] = Some(src);
    replace_with_transpose(g, n, op, inputs, perm)
}

fn replace_with_transpose(g: &mut Graph, n: NodeId, op: Op, inputs: Vec<Option<ValueId>>, perm: Vec<usize>) -> bool {
    let node = g.node(n).clone();
    let y = node.outputs[0];
    let mid = format!("{}/before_transpose", g.value(y).name);
    let Ok(outs) = build::add_op(g, &node.name, op, inputs, vec![mid]) else { return false };
    let name = format!("{}/transpose", node.name);
    let Ok(t) =
        build::add_op(g, &name, Op::Transpose(Transpose { perm }), vec![Some(outs[0])], vec![g.value(y).name.clone()])
    else {
        return false;
    };
    g.replace_uses(y, t[0]);
    g.remove_node(n);
    true
}

/// One rewrite at node `n`, if one applies.
fn rewrite(g: &mut Graph, n: NodeId) -> bool {
    let node = g.node(n).clone();
    match &node.op {
        Op::Transpose(t) => {
            let Some(x) = node.inputs[0] else { return false };
            let y = node.outputs[0];
            if is_identity(&t.perm) && !g.is_output(y) {
                g.replace_uses(y, x);
                g.remove_node(n);
                return true;
            }
            if let Some((inner, src)) = transposed(g, x) {
                // y = T(p1)(T(p0)(src)): y axis i is src axis p0[p1[i]].
                let perm: Vec<usize> = t.perm.iter().map(|&i| inner[i]).collect();
                if let Op::Transpose(t) = &mut g.node_mut(n).op {
                    t.perm = perm;
                }
                g.set_input(n, 0, Some(src));
                return true;
            }
            let shape = g.ty(x).shape.clone();
            if moves_only_unit_axes(&shape, &t.perm) {
                let out = g.ty(y).shape.clone();
                g.node_mut(n).op = Op::Reshape(Reshape { shape: out });
                return true;
            }
            false
        }
        Op::Concat(c) => {
            let ins: Option<Vec<(Vec<usize>, ValueId)>> =
                node.inputs.iter().map(|v| v.and_then(|v| transposed(g, v))).collect();
            let Some(ins) = ins else { return false };
            let Some(perm) = ins.first().map(|(p, _)| p.clone()) else { return false };
            if ins.iter().any(|(p, _)| *p != perm) {
                return false;
            }
            let op = Op::Concat(Concat { axis: perm[c.axis] });
            replace_with_transpose(g, n, op, ins.into_iter().map(|(_, v)| Some(v)).collect(), perm)
        }
        Op::Quantize(_) | Op::Dequantize(_) => quantize_through(g, n),
        op if axis_blind(op) && node.outputs.len() == 1 => {
            // Every tensor input transposed the same way, or a single-element constant.
            let rank = g.ty(node.outputs[0]).rank();
            let mut perm: Option<Vec<usize>> = None;
            let mut inputs = vec![];
            for v in &node.inputs {
                let Some(v) = *v else {
                    inputs.push(None);
                    continue;
                };
                if let Some((p, src)) = transposed(g, v) {
                    if perm.as_ref().is_some_and(|q| *q != p) || p.len() != rank {
                        return false;
                    }
                    perm = Some(p);
                    inputs.push(Some(src));
                } else if g.ty(v).numel() == 1 && (g.const_of(v).is_some() || g.ty(v).rank() == 0) {
                    inputs.push(Some(v));
                } else {
                    return false;
                }
            }
            let Some(perm) = perm else { return false };
            replace_with_transpose(g, n, node.op.clone(), inputs, perm)
        }
        _ => false,
    }
}

/// A transpose whose input is a QuantizeLinear that nothing else reads becomes that
/// quantisation with the permutation: one kernel writes the transposed result and the
/// quantised tensor in the input's order never exists (one buffer fewer alive).
fn fuse_into_quantize(g: &mut Graph, n: NodeId) -> bool {
    let node = g.node(n).clone();
    let (Op::Transpose(t), Some(Some(x))) = (&node.op, node.inputs.first()) else { return false };
    let Some(q) = g.producer(*x) else { return false };
    let qnode = g.node(q).clone();
    let Op::Quantize(op) = &qnode.op else { return false };
    if !op.perm.is_empty() || super::sole_user(g, *x) != Some((n, 0)) || qnode.outputs.len() != 1 {
        return false;
    }
    let y = node.outputs[0];
    let fused = Op::Quantize(Quantize { axis: op.axis, to: op.to, perm: t.perm.clone() });
    let Ok(outs) = build::add_op(g, &qnode.name, fused, qnode.inputs.clone(), vec![g.value(y).name.clone()]) else {
        return false;
    };
    g.replace_uses(y, outs[0]);
    g.remove_node(n);
    g.remove_node(q);
    true
}

/// Rewrites until nothing changes, then fuses the transposes of quantisations that
/// remain; returns the number of rewrites.
pub fn run(g: &mut Graph) -> usize {
    let mut total = 0;
    // Each rewrite removes a transpose or moves one strictly down the graph, so this
    // terminates; the bound is a guard against a bug, not a tuning knob.
    for _ in 0..(4 * g.node_count() + 16) {
        let mut changed = false;
        for n in g.topo_order() {
            if g.contains(n) && rewrite(g, n) {
                total += 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for n in g.topo_order() {
        if g.contains(n) && fuse_into_quantize(g, n) {
            total += 1;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_axis_moves_are_reshapes() {
        assert!(moves_only_unit_axes(&[1, 8, 1, 1], &[0, 2, 3, 1]));
        assert!(moves_only_unit_axes(&[1, 1, 49, 10], &[0, 2, 3, 1]));
        assert!(!moves_only_unit_axes(&[1, 8, 5, 5], &[0, 2, 3, 1]));
        assert!(is_identity(&[0, 1, 2]) && !is_identity(&[0, 2, 1]));
    }

    /// An input transposed, quantised per axis and transposed back (as tf2onnx's
    /// QDQ models start): the quantisation moves before the first transpose with its
    /// axis renumbered, the two transposes fuse to the identity and disappear.
    #[test]
    fn a_quantisation_between_transposes_moves_up_and_the_pair_cancels() {
        use crate::ir::{DType, Data, Tensor, TensorType};
        let mut g = Graph::new("qdq");
        let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 4, 5, 3]));
        let t0 = build::add_op(
            &mut g,
            "t0",
            Op::Transpose(Transpose { perm: vec![0, 3, 1, 2] }),
            vec![Some(x)],
            vec!["nchw".into()],
        )
        .unwrap()[0];
        let scale = g.add_const("scale", Tensor::f32(vec![3], vec![0.5, 0.25, 0.125]));
        let zp = g.add_const("zp", Tensor::new(vec![3], Data::I8(vec![-1, 0, 1])).unwrap());
        let q = Op::Quantize(Quantize::new(1, DType::I8));
        let q = build::add_op(&mut g, "q", q, vec![Some(t0), Some(scale), Some(zp)], vec!["q".into()]).unwrap()[0];
        let back = Op::Transpose(Transpose { perm: vec![0, 2, 3, 1] });
        let y = build::add_op(&mut g, "t1", back, vec![Some(q)], vec!["y".into()]).unwrap()[0];
        g.set_outputs(vec![y]);

        assert!(run(&mut g) > 0);
        crate::passes::dce::run(&mut g);
        let ops: Vec<Op> = g.topo_order().into_iter().map(|n| g.node(n).op.clone()).collect();
        // What remains is the quantisation and a view (the identity at the output).
        assert!(!ops.iter().any(|op| matches!(op, Op::Transpose(_))), "transposes left: {ops:?}");
        assert_eq!(ops.len(), 2, "{ops:?}");
        let quantize = g.topo_order().into_iter().find(|&n| matches!(g.node(n).op, Op::Quantize(_))).unwrap();
        let node = g.node(quantize);
        assert_eq!(node.op, Op::Quantize(Quantize::new(3, DType::I8)));
        assert_eq!(node.inputs[0], Some(x));
        assert_eq!(g.ty(g.outputs()[0]).shape, vec![1, 4, 5, 3]);
    }

    /// A float input quantised per channel and moved to channels-last (as a PyTorch
    /// model quantised by onnxruntime starts): the transpose fuses into the
    /// quantisation, whose result is the channels-last tensor, equal to the unfused
    /// pair's element for element.
    #[test]
    fn a_transpose_of_a_quantisation_fuses_into_it() {
        use crate::ir::{DType, Data, Tensor, TensorType};
        use crate::ops::{Arg, OpDef};
        let mut g = Graph::new("q_nhwc");
        let x = g.add_input("x", TensorType::new(DType::F32, vec![1, 3, 2, 4]));
        let scale = g.add_const("scale", Tensor::f32(vec![3], vec![0.5, 0.25, 0.125]));
        let zp = g.add_const("zp", Tensor::new(vec![3], Data::I8(vec![-1, 0, 1])).unwrap());
        let q = Op::Quantize(Quantize::new(1, DType::I8));
        let q = build::add_op(&mut g, "q", q, vec![Some(x), Some(scale), Some(zp)], vec!["q".into()]).unwrap()[0];
        let nhwc = Op::Transpose(Transpose { perm: vec![0, 2, 3, 1] });
        let y = build::add_op(&mut g, "t", nhwc, vec![Some(q)], vec!["y".into()]).unwrap()[0];
        g.set_outputs(vec![y]);

        assert_eq!(run(&mut g), 1);
        crate::passes::dce::run(&mut g);
        let ops: Vec<Op> = g.topo_order().into_iter().map(|n| g.node(n).op.clone()).collect();
        assert_eq!(ops, vec![Op::Quantize(Quantize { axis: 1, to: DType::I8, perm: vec![0, 2, 3, 1] })]);
        assert_eq!(g.ty(g.outputs()[0]).shape, vec![1, 2, 4, 3]);

        // The fused op's reference semantics: the quantisation, then the transpose.
        let xs: Vec<f32> = (0..24).map(|i| i as f32 * 0.3 - 3.0).collect();
        let xt = Tensor::f32(vec![1, 3, 2, 4], xs);
        let (s, z) = (g.const_of(scale).unwrap().clone(), g.const_of(zp).unwrap().clone());
        let (tx, ts, tz) = (TensorType::new(DType::F32, vec![1, 3, 2, 4]), s.ty(), z.ty());
        let inputs = [
            Some(Arg { ty: &tx, value: Some(&xt) }),
            Some(Arg { ty: &ts, value: Some(&s) }),
            Some(Arg { ty: &tz, value: Some(&z) }),
        ];
        let plain = Quantize::new(1, DType::I8);
        let fused = Quantize { axis: 1, to: DType::I8, perm: vec![0, 2, 3, 1] };
        let q_ty = plain.infer(&inputs).unwrap();
        let want = plain.eval(&inputs, &q_ty).unwrap();
        let t = Transpose { perm: vec![0, 2, 3, 1] };
        let want =
            t.eval(&[Some(Arg { ty: &q_ty[0], value: Some(&want[0]) })], &fused.infer(&inputs).unwrap()).unwrap();
        let got = fused.eval(&inputs, &fused.infer(&inputs).unwrap()).unwrap();
        assert_eq!(got, want);
    }
}
