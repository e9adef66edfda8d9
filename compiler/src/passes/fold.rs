//! Constant folding: a node whose inputs are all constants becomes constants, computed
//! by the reference evaluator. (Import already folds as it goes; this catches
//! constants that earlier passes create.)

use crate::ir::{Graph, Tensor};
use crate::ops::Arg;

/// Folds every all-constant node.
pub fn run(g: &mut Graph) -> usize {
    let mut folded = 0;
    for n in g.topo_order() {
        let node = g.node(n).clone();
        let all_const = node.inputs.iter().flatten().all(|&v| g.const_of(v).is_some());
        if !all_const && !node.op.def().folds_from_types() {
            continue;
        }
        let args: Vec<Option<Arg>> =
            node.inputs.iter().map(|v| v.map(|v| Arg { ty: g.ty(v), value: g.const_of(v) })).collect();
        let types: Vec<_> = node.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        let Ok(tensors): Result<Vec<Tensor>, _> = node.op.def().eval(&args, &types) else {
            continue;
        };
        for ((t, ty), &old) in tensors.into_iter().zip(types).zip(&node.outputs) {
            let name = g.value(old).name.clone();
            let c = g.add_const_typed(name, ty, t);
            g.replace_uses(old, c);
        }
        g.remove_node(n);
        folded += 1;
    }
    folded
}
