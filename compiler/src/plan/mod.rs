//! Scheduling and memory planning: the order nodes run in, and where every value
//! lives — a caller's input or output buffer, a weight in flash, or an offset in the
//! one arena whose size becomes `Model::ARENA_BYTES`.
//!
//! Reshapes are views: their result shares its source's storage. Arena values get
//! lifetimes (first write to last read, in schedule positions) and are packed greedily,
//! largest first, each at the lowest aligned offset that overlaps nothing alive at the
//! same time. A verifier re-checks the result.

use crate::ir::{Def, Graph, NodeId, ValueId};
use std::collections::{BTreeMap, HashMap};

/// Alignment of every arena offset (enough for any kernel's wide loads).
pub const ALIGN: usize = 16;

/// Where a value lives while the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// The caller's input buffer `n`.
    Input(usize),
    /// The caller's output buffer `n`.
    Output(usize),
    /// A weight (static in flash).
    Const,
    /// `bytes` at `offset` in the arena.
    Arena {
        /// Byte offset.
        offset: usize,
        /// Byte size.
        bytes: usize,
    },
    /// Nothing reads it (an unused optional result); kernels get an empty slice.
    Unused,
}

/// One block the allocator placed, for reports and pictures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Value name, or `scratch of <node>`.
    pub label: String,
    /// Byte offset.
    pub offset: usize,
    /// Byte size.
    pub bytes: usize,
    /// First schedule position it is alive at.
    pub start: usize,
    /// Last schedule position it is alive at.
    pub end: usize,
}

/// The schedule and memory plan of a graph.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Nodes in run order.
    pub order: Vec<NodeId>,
    /// Storage of every value reachable from the schedule or the outputs.
    pub loc: HashMap<ValueId, Loc>,
    /// Scratch space per node that asked for it: (offset, bytes).
    pub scratch: HashMap<NodeId, (usize, usize)>,
    /// View nodes whose result is not aliased (it is a graph output): they copy.
    pub copying_views: Vec<NodeId>,
    /// Graph outputs filled by a copy at the end: (output index, source value).
    pub final_copies: Vec<(usize, ValueId)>,
    /// Arena size in bytes.
    pub arena_bytes: usize,
    /// Every arena block.
    pub blocks: Vec<Block>,
}

impl Plan {
    /// Sum of the sizes of all arena values: what a planner without reuse would need.
    pub fn unshared_bytes(&self) -> usize {
        self.blocks.iter().map(|b| b.bytes).sum()
    }
}

fn align(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Builds the plan. `scratch` gives the bytes of working space each node's kernels
/// need during its run (the lowering decides, per target: see
/// [`crate::lower::scratch_needs`]).
pub fn plan(g: &Graph, scratch: &HashMap<NodeId, usize>) -> Result<Plan, String> {
    let order = g.topo_order();
    let pos: HashMap<NodeId, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();

    // Storage roots: an aliased view's result is stored as its source.
    let mut root: HashMap<ValueId, ValueId> = HashMap::new();
    let mut copying_views = vec![];
    for &n in &order {
        let nd = g.node(n);
        for &o in &nd.outputs {
            root.insert(o, o);
        }
        if nd.op.def().is_view() {
            let (Some(x), y) = (nd.inputs[0], nd.outputs[0]) else {
                continue;
            };
            if g.is_output(y) {
                copying_views.push(n);
            } else {
                let r = root.get(&x).copied().unwrap_or(x);
                root.insert(y, r);
            }
        }
    }
    let root_of = |v: ValueId| root.get(&v).copied().unwrap_or(v);

    // Outputs: first occurrence of a computed value is written in place.
    let mut out_slot: HashMap<ValueId, usize> = HashMap::new();
    let mut final_copies = vec![];
    for (k, &o) in g.outputs().iter().enumerate() {
        let computed = matches!(g.value(o).def, Def::Node(..));
        if computed && !out_slot.contains_key(&o) {
            out_slot.insert(o, k);
        } else {
            final_copies.push((k, o));
        }
    }

    // Lifetimes of arena roots.
    let mut life: BTreeMap<ValueId, (usize, usize)> = BTreeMap::new();
    let touch = |v: ValueId, t: usize, life: &mut BTreeMap<ValueId, (usize, usize)>| {
        let e = life.entry(v).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    };
    let is_arena_root = |r: ValueId| matches!(g.value(r).def, Def::Node(..)) && !out_slot.contains_key(&r);
    for &n in &order {
        let t = pos[&n];
        let nd = g.node(n);
        for v in nd.inputs.iter().flatten() {
            let r = root_of(*v);
            if is_arena_root(r) {
                touch(r, t, &mut life);
            }
        }
        for &o in &nd.outputs {
            let r = root_of(o);
            // An aliased view's result is its source's storage, alive from the source's
            // producer on: nothing to record at the view itself.
            if is_arena_root(r) && r == o {
                touch(r, t, &mut life);
            }
        }
    }
    let end = order.len();
    for &(_, v) in &final_copies {
        let r = root_of(v);
        if is_arena_root(r) {
            touch(r, end, &mut life);
        }
    }

    // Which roots are read by anyone (unused optional results get no storage).
    let mut read: std::collections::HashSet<ValueId> = std::collections::HashSet::new();
    for &n in &order {
        for v in g.node(n).inputs.iter().flatten() {
            read.insert(root_of(*v));
        }
    }
    for &(_, v) in &final_copies {
        read.insert(root_of(v));
    }

    // Items to place: arena roots that are read, and scratch.
    struct Item {
        key: Result<ValueId, NodeId>,
        label: String,
        bytes: usize,
        start: usize,
        end: usize,
    }
    let mut items: Vec<Item> = vec![];
    for (&v, &(s, e)) in &life {
        if read.contains(&v) {
            items.push(Item {
                key: Ok(v),
                label: g.value(v).name.clone(),
                bytes: align(g.ty(v).bytes()),
                start: s,
                end: e,
            });
        }
    }
    for &n in &order {
        let nd = g.node(n);
        let bytes = scratch.get(&n).copied().unwrap_or(0);
        if bytes > 0 {
            let t = pos[&n];
            items.push(Item {
                key: Err(n),
                label: format!("scratch of {}", nd.name),
                bytes: align(bytes),
                start: t,
                end: t,
            });
        }
    }
    // Largest first; ties by start, then by key for determinism.
    items.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then(a.start.cmp(&b.start))
            .then_with(|| format!("{:?}", a.key).cmp(&format!("{:?}", b.key)))
    });
    let mut blocks: Vec<Block> = vec![];
    let mut placed: Vec<(Result<ValueId, NodeId>, usize)> = vec![];
    for it in &items {
        let mut busy: Vec<(usize, usize)> = blocks
            .iter()
            .filter(|b| b.start <= it.end && it.start <= b.end)
            .map(|b| (b.offset, b.offset + b.bytes))
            .collect();
        busy.sort_unstable();
        let mut offset = 0;
        for (lo, hi) in busy {
            if offset + it.bytes <= lo {
                break;
            }
            offset = offset.max(align(hi));
        }
        blocks.push(Block { label: it.label.clone(), offset, bytes: it.bytes, start: it.start, end: it.end });
        placed.push((it.key, offset));
    }
    let arena_bytes = blocks.iter().map(|b| b.offset + b.bytes).max().unwrap_or(0);

    let mut loc: HashMap<ValueId, Loc> = HashMap::new();
    let mut scratch = HashMap::new();
    let mut root_loc: HashMap<ValueId, Loc> = HashMap::new();
    for (it, &(key, offset)) in items.iter().zip(&placed) {
        match key {
            Ok(v) => {
                root_loc.insert(v, Loc::Arena { offset, bytes: g.ty(v).bytes() });
            }
            Err(n) => {
                scratch.insert(n, (offset, it.bytes));
            }
        }
    }
    let mut all_values: Vec<ValueId> = g.inputs().to_vec();
    for &n in &order {
        all_values.extend(g.node(n).inputs.iter().flatten());
        all_values.extend(&g.node(n).outputs);
    }
    all_values.extend(g.outputs());
    for v in all_values {
        let r = root_of(v);
        let l = match g.value(r).def {
            Def::Input(i) => Loc::Input(i),
            Def::Const(_) => Loc::Const,
            Def::Node(..) => match out_slot.get(&r) {
                Some(&k) => Loc::Output(k),
                None => root_loc.get(&r).copied().unwrap_or(Loc::Unused),
            },
        };
        loc.insert(v, l);
    }
    // A copying view writes its own output buffer.
    for &n in &copying_views {
        let y = g.node(n).outputs[0];
        if let Some(&k) = out_slot.get(&y) {
            loc.insert(y, Loc::Output(k));
        }
    }
    let p = Plan { order, loc, scratch, copying_views, final_copies, arena_bytes, blocks };
    verify_plan(&p)?;
    Ok(p)
}

/// Checks that blocks alive at the same time never overlap and are aligned.
pub fn verify_plan(p: &Plan) -> Result<(), String> {
    for (i, a) in p.blocks.iter().enumerate() {
        if a.offset % ALIGN != 0 {
            return Err(format!("block `{}` at offset {} is not {ALIGN}-byte aligned", a.label, a.offset));
        }
        if a.offset + a.bytes > p.arena_bytes {
            return Err(format!("block `{}` ends past the arena", a.label));
        }
        for b in &p.blocks[i + 1..] {
            let live = a.start <= b.end && b.start <= a.end;
            let overlap = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
            if live && overlap {
                return Err(format!("blocks `{}` and `{}` are alive together and overlap", a.label, b.label));
            }
        }
    }
    Ok(())
}

impl Plan {
    /// Text form for dumps and snapshots: arena size, then every block by offset.
    pub fn to_text(&self) -> String {
        let mut blocks = self.blocks.clone();
        blocks.sort_by(|a, b| a.offset.cmp(&b.offset).then(a.start.cmp(&b.start)));
        let mut s = format!(
            "arena {} B (without reuse {} B), {} blocks\n",
            self.arena_bytes,
            self.unshared_bytes(),
            blocks.len()
        );
        for b in blocks {
            s.push_str(&format!(
                "  [{:>7} .. {:>7})  steps {:>3}..={:<3}  {}\n",
                b.offset,
                b.offset + b.bytes,
                b.start,
                b.end,
                b.label
            ));
        }
        s
    }
}
