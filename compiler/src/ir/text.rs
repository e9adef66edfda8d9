//! The stable text form of a graph, for dumps after each pass and snapshot tests.
//! Values are numbered in order of appearance (inputs, constants by first use, node
//! results in schedule order), so the text does not depend on internal indices.

use super::{Data, Graph, Tensor, ValueId};
use std::collections::HashMap;
use std::fmt::Write;

/// FNV-1a over the little-endian bytes: a short, stable fingerprint of constant data.
pub fn fingerprint(t: &Tensor) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in t.data.to_le_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn const_text(t: &Tensor) -> String {
    if t.numel() <= 8 {
        let items: Vec<String> = (0..t.numel())
            .map(|i| match &t.data {
                Data::F32(v) => format!("{:?}", v[i]),
                d => d.get_i64(i).to_string(),
            })
            .collect();
        format!("[{}]", items.join(", "))
    } else {
        format!("<{} × {}, fnv {:016x}>", t.numel(), t.dtype(), fingerprint(t))
    }
}

fn short(name: &str) -> String {
    const MAX: usize = 72;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        let head: String = name.chars().take(MAX - 1).collect();
        format!("{head}…")
    }
}

/// Renders the graph.
pub fn to_text(g: &Graph) -> String {
    let mut ids: HashMap<ValueId, usize> = HashMap::new();
    let mut s = String::new();
    let _ = writeln!(s, "graph {:?}", g.name);
    let number = |ids: &mut HashMap<ValueId, usize>, v: ValueId| -> usize {
        let n = ids.len();
        *ids.entry(v).or_insert(n)
    };
    for &v in g.inputs() {
        let n = number(&mut ids, v);
        let val = g.value(v);
        let _ = writeln!(s, "  in    %{n}: {}  # {}", val.ty, short(&val.name));
    }
    let order = g.topo_order();
    for &node in &order {
        for v in g.node_inputs(node) {
            if let Some(t) = g.const_of(v) {
                if !ids.contains_key(&v) {
                    let n = number(&mut ids, v);
                    let val = g.value(v);
                    let _ = writeln!(s, "  const %{n}: {} = {}  # {}", val.ty, const_text(t), short(&val.name));
                }
            }
        }
    }
    for &o in g.outputs() {
        if let Some(t) = g.const_of(o) {
            if !ids.contains_key(&o) {
                let n = number(&mut ids, o);
                let _ = writeln!(s, "  const %{n}: {} = {}", g.ty(o), const_text(t));
            }
        }
    }
    for &node in &order {
        let nd = g.node(node);
        let outs: Vec<String> = nd.outputs.iter().map(|&v| format!("%{}: {}", number(&mut ids, v), g.ty(v))).collect();
        let ins: Vec<String> = nd
            .inputs
            .iter()
            .map(|i| match i {
                Some(v) => ids.get(v).map_or_else(|| "%?".to_string(), |n| format!("%{n}")),
                None => "_".to_string(),
            })
            .collect();
        let attrs = nd.op.def().attrs();
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            let a: Vec<String> = attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(" {{{}}}", a.join(", "))
        };
        let _ =
            writeln!(s, "  {} = {}({}){attrs}  # {}", outs.join(", "), nd.op.name(), ins.join(", "), short(&nd.name));
    }
    let outs: Vec<String> =
        g.outputs().iter().map(|v| format!("%{}", ids.get(v).copied().unwrap_or(usize::MAX))).collect();
    let _ = writeln!(s, "  out   {}", outs.join(", "));
    s
}
