//! The reference evaluator: a straightforward interpreter of the IR, running every
//! node's `eval` in schedule order. Constant folding uses the same per-op code; tests
//! use the whole-graph form as a second opinion on generated code.

use crate::error::{Error, Result};
use crate::ir::{Def, Graph, Tensor, ValueId};
use crate::ops::Arg;
use std::collections::HashMap;

/// Runs the graph on inputs (in graph-input order); returns the outputs.
pub fn run(g: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
    if inputs.len() != g.inputs().len() {
        return Err(Error::Options(format!("{} inputs given, the graph takes {}", inputs.len(), g.inputs().len())));
    }
    let mut vals: HashMap<ValueId, Tensor> = HashMap::new();
    for (&v, t) in g.inputs().iter().zip(inputs) {
        let ty = g.ty(v);
        if t.dtype() != ty.dtype || t.numel() != ty.numel() {
            return Err(Error::Options(format!("input `{}` must be {ty}", g.value(v).name)));
        }
        vals.insert(v, Tensor { shape: ty.shape.clone(), data: t.data.clone() });
    }
    let get = |vals: &HashMap<ValueId, Tensor>, v: ValueId| -> Option<Tensor> {
        match &g.value(v).def {
            Def::Const(t) => Some(t.clone()),
            _ => vals.get(&v).cloned(),
        }
    };
    for n in g.topo_order() {
        let nd = g.node(n);
        let data: Vec<Option<Tensor>> = nd.inputs.iter().map(|v| v.and_then(|v| get(&vals, v))).collect();
        let args: Vec<Option<Arg>> =
            nd.inputs.iter().zip(&data).map(|(v, t)| v.map(|v| Arg { ty: g.ty(v), value: t.as_ref() })).collect();
        let types: Vec<_> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        let outs =
            nd.op.def().eval(&args, &types).map_err(|e| Error::Internal(format!("evaluating `{}`: {e}", nd.name)))?;
        for (&o, t) in nd.outputs.iter().zip(outs) {
            vals.insert(o, t);
        }
    }
    g.outputs()
        .iter()
        .map(|&o| {
            get(&vals, o).ok_or_else(|| Error::Internal(format!("output `{}` was not computed", g.value(o).name)))
        })
        .collect()
}
