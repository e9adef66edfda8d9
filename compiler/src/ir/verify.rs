//! The IR verifier: structural invariants every pass must keep. The pipeline runs it
//! after each pass (always in tests and debug builds, on request otherwise).

use super::{build, Def, Graph};
use std::collections::HashSet;

/// Checks the graph; returns every violation found.
pub fn verify(g: &Graph) -> Result<(), Vec<String>> {
    let mut errs = vec![];
    if g.has_cycle() {
        errs.push("the node graph has a cycle".to_string());
        return Err(errs);
    }
    let mut defined: HashSet<_> = g.inputs().iter().copied().collect();
    for &v in g.inputs() {
        if !matches!(g.value(v).def, Def::Input(_)) {
            errs.push(format!("graph input %{} is not defined as an input", v.0));
        }
    }
    for node in g.topo_order() {
        let nd = g.node(node);
        for (slot, v) in nd.inputs.iter().enumerate() {
            let Some(v) = v else { continue };
            let ok = defined.contains(v) || g.const_of(*v).is_some();
            if !ok {
                errs.push(format!("node `{}` input {slot} reads %{} before it is defined", nd.name, v.0));
            }
            if let Def::Node(p, _) = g.value(*v).def {
                if !g.contains(p) {
                    errs.push(format!("node `{}` reads %{} whose producer was removed", nd.name, v.0));
                } else if !g.in_edges(node).iter().any(|&(src, val)| src == p && val == *v) {
                    errs.push(format!("node `{}` reads %{} without an edge from its producer", nd.name, v.0));
                }
            }
        }
        for (slot, &o) in nd.outputs.iter().enumerate() {
            if g.value(o).def != Def::Node(node, slot) {
                errs.push(format!("node `{}` output {slot} (%{}) does not point back to the node", nd.name, o.0));
            }
            defined.insert(o);
        }
        match build::infer(g, &nd.op, &nd.inputs) {
            Ok(types) => {
                for (slot, (t, &o)) in types.iter().zip(&nd.outputs).enumerate() {
                    if t.dtype != g.ty(o).dtype || t.shape != g.ty(o).shape {
                        errs.push(format!("node `{}` output {slot} is typed {} but infers {t}", nd.name, g.ty(o)));
                    }
                }
            }
            Err(e) => errs.push(format!("node `{}` ({}) no longer type-checks: {e}", nd.name, nd.op.name())),
        }
    }
    for &o in g.outputs() {
        if !defined.contains(&o) && g.const_of(o).is_none() {
            errs.push(format!("graph output %{} is not defined", o.0));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}
