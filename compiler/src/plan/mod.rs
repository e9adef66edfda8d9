//! Scheduling and memory planning: the order nodes run in, and where every value
//! lives — a caller's input or output buffer, a weight in flash, or an offset in the
//! one arena whose size becomes `Model::ARENA_BYTES`.
//!
//! Reshapes are views: their result shares its source's storage. What remains is a
//! [`problem::Problem`] of sizes and dependencies: [`schedule`] picks the order of
//! least peak memory, [`pack`] places every arena block (lifetime: first write to last
//! read, in schedule positions) with several strategies and keeps the smallest arena.
//! The plan carries the lower bound of its schedule (the most bytes alive at one
//! step) and what a TensorFlow Lite Micro-style planner — the graph's own order,
//! greedy by size — would need, for reports; [`svg`] draws it. A verifier re-checks
//! the result.

pub mod pack;
pub mod problem;
pub mod schedule;
pub mod svg;
#[cfg(test)]
pub mod testgen;

use crate::ir::{Def, Graph, NodeId, ValueId};
use problem::{Buf, Node, Pair, Problem};
use std::collections::{BTreeMap, HashMap};

/// The default alignment of arena offsets (enough for any kernel's wide loads); a
/// target may ask for less (see [`crate::lower::arena_align`]).
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

/// A kernel's permission to write a node's result over one of its inputs, from the
/// lowering ([`crate::lower::in_place_options`]): the result may start `shift` bytes
/// from the input's start (`shift ≤ 0`; with `exact`, only there), or `above` bytes
/// or more after it when set, if the input dies at the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InPlaceOption {
    /// The input read.
    pub input: ValueId,
    /// The result written.
    pub output: ValueId,
    /// Start of the result relative to the input's, in bytes.
    pub shift: isize,
    /// The least start of the result above the input's, in bytes, when the kernel may
    /// also run in the mirrored order (any higher start is permitted too).
    pub above: Option<isize>,
    /// Only exactly that start (element-wise kernels); otherwise any lower start too.
    pub exact: bool,
}

/// A chain the lowering can run as one row-streamed group
/// ([`crate::lower::stream_options`], the runtime's `kernels::stream`): a producer
/// convolution whose only reader is a consumer convolution, optionally followed by the
/// element-wise Add whose other operand (the skip) takes the result. The planner
/// makes it one node of the memory problem, where it pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamOption {
    /// The producer convolution (its output is never stored whole).
    pub producer: NodeId,
    /// The consumer convolution, reading only the producer's output.
    pub consumer: NodeId,
    /// The Add reading the consumer's output and the skip, when the group ends in one
    /// (the consumer's output is then never stored whole either; the Add's result
    /// takes the skip's storage).
    pub add: Option<(NodeId, ValueId)>,
    /// The skip is the producer's input and the runtime's
    /// `stream_over_input_applies` holds: the result is written over it.
    pub over_input: bool,
    /// Bytes of the sliding window of producer rows.
    pub window_bytes: usize,
    /// Bytes of one row of the consumer's output (the epilogue's buffer; 0 without an
    /// Add).
    pub row_bytes: usize,
    /// Elements the window slides over one run (the extra cost: copies).
    pub copy_elems: usize,
}

/// A group the plan runs streamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    /// What runs.
    pub option: StreamOption,
    /// Arena offset of the window.
    pub window_at: usize,
    /// Arena offset of the epilogue's row buffer (meaningful with an Add).
    pub row_at: usize,
    /// Bytes of the group's whole scratch block (window, row, both kernels' scratch).
    pub scratch_bytes: usize,
    /// The members' names, joined with ` + `.
    pub label: String,
}

impl StreamOption {
    /// The nodes of the group, in run order.
    pub fn members(&self) -> Vec<NodeId> {
        let mut m = vec![self.producer, self.consumer];
        m.extend(self.add.map(|(a, _)| a));
        m
    }
}

/// A node whose result the plan placed over its dead input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InPlace {
    /// The input it overlaps (the value the node reads).
    pub input: ValueId,
    /// The result.
    pub output: ValueId,
    /// Indices of the two blocks in [`Plan::blocks`].
    pub blocks: (usize, usize),
}

/// How good the memory plan is, measured against bounds and a baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memory {
    /// The most bytes alive at one step of the chosen schedule, a result written over
    /// its dead input counting the bytes they share once (the most a permitted pair
    /// of that step saves): no packing of it can use less.
    pub lower_bound_bytes: usize,
    /// The same without in-place execution (every block alive at a step counted in
    /// full).
    pub separate_bound_bytes: usize,
    /// The same for the graph's own (topological) order.
    pub given_order_peak: usize,
    /// What TensorFlow Lite Micro's greedy-by-size planner would need: the graph's own
    /// order, no in-place execution, largest block first at the lowest offset that
    /// fits (reshapes still share their source's bytes).
    pub greedy_bytes: usize,
    /// The arena the same graph needs planned without streamed groups (the arena
    /// itself when the plan streams none).
    pub unstreamed_bytes: usize,
    /// How the schedule was found.
    pub schedule: schedule::Method,
    /// The packing strategy that won.
    pub strategy: pack::Strategy,
    /// Offset alignment used.
    pub align: usize,
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
    /// Nodes whose result overlaps their dead input.
    pub in_place: HashMap<NodeId, InPlace>,
    /// Groups run row-streamed (their members are consecutive in `order`).
    pub streams: Vec<Streamed>,
    /// Bounds and baseline.
    pub memory: Memory,
}

impl Plan {
    /// The streamed group `n` belongs to, if any.
    pub fn stream_of(&self, n: NodeId) -> Option<&Streamed> {
        self.streams.iter().find(|s| s.option.members().contains(&n))
    }

    /// Sum of the sizes of all arena values: what a planner without reuse would need.
    pub fn unshared_bytes(&self) -> usize {
        self.blocks.iter().map(|b| b.bytes).sum()
    }

    /// Arena bytes over the lower bound of the schedule (1.0 is optimal packing).
    pub fn bound_ratio(&self) -> f64 {
        ratio(self.arena_bytes, self.memory.lower_bound_bytes)
    }

    /// Arena bytes over the greedy baseline's.
    pub fn greedy_ratio(&self) -> f64 {
        ratio(self.arena_bytes, self.memory.greedy_bytes)
    }

    /// The step with the most bytes alive (the earliest of equals) and the blocks alive
    /// there, largest first: what decides the lower bound.
    pub fn peak(&self) -> (usize, Vec<&Block>) {
        let steps = self.blocks.iter().map(|b| b.end + 1).max().unwrap_or(0);
        let mut live = vec![0usize; steps];
        for b in &self.blocks {
            for l in &mut live[b.start..=b.end] {
                *l += b.bytes;
            }
        }
        let step = live.iter().enumerate().max_by_key(|&(t, &v)| (v, std::cmp::Reverse(t))).map_or(0, |(t, _)| t);
        let mut at: Vec<&Block> = self.blocks.iter().filter(|b| b.start <= step && step <= b.end).collect();
        at.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.label.cmp(&b.label)));
        (step, at)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn align_to(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

/// Storage decisions that do not depend on the order: views, outputs.
struct Storage {
    /// Storage root of each computed value (itself unless it is an aliased view).
    root: HashMap<ValueId, ValueId>,
    copying_views: Vec<NodeId>,
    out_slot: HashMap<ValueId, usize>,
    final_copies: Vec<(usize, ValueId)>,
}

impl Storage {
    fn new(g: &Graph, order: &[NodeId]) -> Storage {
        // Storage roots: an aliased view's result is stored as its source.
        let mut root: HashMap<ValueId, ValueId> = HashMap::new();
        let mut copying_views = vec![];
        for &n in order {
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
        Storage { root, copying_views, out_slot, final_copies }
    }

    fn root_of(&self, v: ValueId) -> ValueId {
        self.root.get(&v).copied().unwrap_or(v)
    }

    fn is_arena_root(&self, g: &Graph, r: ValueId) -> bool {
        matches!(g.value(r).def, Def::Node(..)) && !self.out_slot.contains_key(&r)
    }

    /// True when a streamed group may run with these storage decisions: the values
    /// it never stores are arena roots read by the next member only (no view, no
    /// model output), and with an Add, its result and the skip are arena values the
    /// group may take over (the skip read by the group's members only, and the
    /// producer's input only when the result is written over it).
    fn admits(&self, g: &Graph, o: &StreamOption) -> bool {
        let members = o.members();
        let readers = |r: ValueId| -> Vec<NodeId> {
            let mut out = vec![];
            for n in g.topo_order() {
                if g.node(n).inputs.iter().flatten().any(|v| self.root_of(*v) == r) {
                    out.push(n);
                }
            }
            out
        };
        let own = |v: ValueId| self.root_of(v) == v && self.is_arena_root(g, v) && !g.is_output(v);
        let only_read_by =
            |v: ValueId, n: NodeId| own(v) && readers(v) == [n] && g.users(v).iter().all(|&(u, _)| u == n);
        let (pn, cn) = (g.node(o.producer), g.node(o.consumer));
        let (Some(&py), Some(Some(px))) = (pn.outputs.first(), pn.inputs.first()) else { return false };
        if !only_read_by(py, o.consumer) {
            return false;
        }
        let Some(&cy) = cn.outputs.first() else { return false };
        match o.add {
            None => true,
            Some((a, skip)) => {
                let Some(&ay) = g.node(a).outputs.first() else { return false };
                let sr = self.root_of(skip);
                let to_end = self.final_copies.iter().any(|&(_, v)| self.root_of(v) == sr);
                only_read_by(cy, a)
                    && own(ay)
                    && matches!(g.value(sr).def, Def::Node(..))
                    && self.is_arena_root(g, sr)
                    && !to_end
                    && readers(sr).iter().all(|n| members.contains(n))
                    && (self.root_of(*px) == sr) == o.over_input
            }
        }
    }

    /// The storage with the groups' results in their skips' storage.
    fn with_groups(&self, g: &Graph, groups: &[StreamOption]) -> Storage {
        let mut st = Storage {
            root: self.root.clone(),
            copying_views: self.copying_views.clone(),
            out_slot: self.out_slot.clone(),
            final_copies: self.final_copies.clone(),
        };
        for o in groups {
            let Some((a, skip)) = o.add else { continue };
            let Some(&ay) = g.node(a).outputs.first() else { continue };
            let sr = st.root_of(skip);
            for r in st.root.values_mut() {
                if *r == ay {
                    *r = sr;
                }
            }
        }
        st
    }

    /// The memory problem: one node per graph node (in `order`) or streamed group (at
    /// its last member's place, its members' inputs and results; the values inside it
    /// are not buffers), one buffer per arena root (in order of first definition),
    /// read by every node reading it or a view of it. Returns the buffer roots and
    /// the graph nodes of each problem node too.
    #[allow(clippy::type_complexity, reason = "three parallel results of one walk")]
    fn problem(
        &self,
        g: &Graph,
        order: &[NodeId],
        groups: &[StreamOption],
        scratch: &HashMap<NodeId, usize>,
        in_place: &HashMap<NodeId, Vec<InPlaceOption>>,
        align: usize,
    ) -> (Problem, Vec<ValueId>, Vec<Vec<NodeId>>) {
        let group_of: HashMap<NodeId, usize> =
            groups.iter().enumerate().flat_map(|(k, o)| o.members().into_iter().map(move |n| (n, k))).collect();
        // Values a group never stores: the producer's output, and the consumer's
        // when an Add follows.
        let mut inside: Vec<ValueId> = vec![];
        for o in groups {
            inside.extend(g.node(o.producer).outputs.first());
            if o.add.is_some() {
                inside.extend(g.node(o.consumer).outputs.first());
            }
        }
        let mut units: Vec<Vec<NodeId>> = vec![];
        for (t, &n) in order.iter().enumerate() {
            match group_of.get(&n) {
                Some(&k) => {
                    let members = groups[k].members();
                    let last = order.iter().rposition(|m| members.contains(m));
                    if last == Some(t) {
                        units.push(members);
                    }
                }
                None => units.push(vec![n]),
            }
        }
        let idx: HashMap<NodeId, usize> =
            units.iter().enumerate().flat_map(|(i, u)| u.iter().map(move |&n| (n, i))).collect();
        let mut nodes = vec![];
        let mut buf_of: BTreeMap<ValueId, usize> = BTreeMap::new();
        let mut bufs: Vec<Buf> = vec![];
        let mut roots = vec![];
        for (i, unit) in units.iter().enumerate() {
            let mut preds = vec![];
            for &n in unit {
                for v in g.node(n).inputs.iter().flatten() {
                    if let Def::Node(p, _) = g.value(*v).def {
                        if let Some(&j) = idx.get(&p) {
                            if j != i && !preds.contains(&j) {
                                preds.push(j);
                            }
                        }
                    }
                    let r = self.root_of(*v);
                    if let Some(&b) = buf_of.get(&r) {
                        if !bufs[b].consumers.contains(&i) {
                            bufs[b].consumers.push(i);
                        }
                    }
                }
            }
            let s = match unit.as_slice() {
                [n] => align_to(scratch.get(n).copied().unwrap_or(0), align),
                _ => {
                    let o = &groups[group_of[&unit[0]]];
                    group_scratch(o, scratch, align).iter().sum()
                }
            };
            let label = unit.iter().map(|&n| g.node(n).name.as_str()).collect::<Vec<_>>().join(" + ");
            nodes.push(Node { preds, scratch: s, label });
            for &n in unit {
                for &o in &g.node(n).outputs {
                    // An aliased view's result is its source's storage: nothing new here.
                    if self.root_of(o) == o && self.is_arena_root(g, o) && !inside.contains(&o) {
                        buf_of.insert(o, bufs.len());
                        roots.push(o);
                        bufs.push(Buf {
                            bytes: align_to(g.ty(o).bytes(), align),
                            producer: i,
                            consumers: vec![],
                            to_end: false,
                            label: g.value(o).name.clone(),
                        });
                    }
                }
            }
        }
        for &(_, v) in &self.final_copies {
            if let Some(&b) = buf_of.get(&self.root_of(v)) {
                bufs[b].to_end = true;
            }
        }
        // Permitted overlaps: between arena roots, the input read through one operand
        // of the node only, the shift rounded down to the alignment. A group has none.
        let mut pairs = vec![];
        for (i, unit) in units.iter().enumerate() {
            let [n] = unit.as_slice() else { continue };
            for o in in_place.get(n).into_iter().flatten() {
                let r = self.root_of(o.input);
                let reads_once = g.node(*n).inputs.iter().flatten().filter(|v| self.root_of(**v) == r).count() == 1;
                let (Some(&input), Some(&output)) = (buf_of.get(&r), buf_of.get(&o.output)) else { continue };
                if reads_once && self.root_of(o.output) == o.output {
                    let a = align as isize;
                    let shift = o.shift.div_euclid(a) * a;
                    let above = o.above.map(|u| (u + a - 1).div_euclid(a) * a);
                    pairs.push(Pair { node: i, input, output, shift, above, exact: o.exact });
                }
            }
        }
        (Problem { nodes, bufs, pairs }, roots, units)
    }
}

/// The parts of a group's scratch block, each aligned: window, row, the producer's
/// kernel scratch, the consumer's (the two kernels run interleaved, so they do not
/// share one).
fn group_scratch(o: &StreamOption, scratch: &HashMap<NodeId, usize>, align: usize) -> [usize; 4] {
    let s = |n: NodeId| align_to(scratch.get(&n).copied().unwrap_or(0), align);
    [align_to(o.window_bytes, align), align_to(o.row_bytes, align), s(o.producer), s(o.consumer)]
}

/// Builds the plan. `scratch` gives the bytes of working space each node's kernels
/// need during its run and `align` the alignment of arena offsets (the lowering
/// decides both, per target: see [`crate::lower::scratch_needs`] and
/// [`crate::lower::arena_align`]).
///
/// `in_place` lists, per node, the inputs its kernel may write its result over: the
/// plan does so where the input dies at that node and the arena gets smaller for it.
///
/// `streams` lists the chains the lowering can run row-streamed
/// ([`crate::lower::stream_options`]): the plan streams a set of disjoint ones only
/// when that makes the arena smaller than planning without any, found by adding
/// groups one at a time while each shrinks the arena and by streaming all then
/// dropping every group the arena does not need (streaming costs copies and code),
/// the smaller arena kept.
pub fn plan(
    g: &Graph,
    scratch: &HashMap<NodeId, usize>,
    in_place: &HashMap<NodeId, Vec<InPlaceOption>>,
    streams: &[StreamOption],
    align: usize,
) -> Result<Plan, String> {
    let given = g.topo_order();
    let st = Storage::new(g, &given);
    let base = plan_with(g, &st, &given, scratch, in_place, &[], align)?;
    let admitted: Vec<&StreamOption> = streams.iter().filter(|o| st.admits(g, o)).collect();
    let disjoint = |set: &[StreamOption], o: &StreamOption| {
        let taken = set.iter().flat_map(StreamOption::members).collect::<Vec<_>>();
        o.members().iter().all(|n| !taken.contains(n))
    };
    // The candidates the storage admits, the first of overlapping ones, in graph order.
    let mut chosen: Vec<StreamOption> = vec![];
    for o in &admitted {
        if disjoint(&chosen, o) {
            chosen.push((*o).clone());
        }
    }
    if chosen.is_empty() {
        return Ok(base);
    }
    // Two searches, the smaller arena kept (the fewer groups among equals): adding
    // admitted groups one at a time while each shrinks the arena (any group disjoint
    // from those added), and streaming the disjoint ones all, then dropping each one
    // the arena does not need.
    let mut added: Vec<StreamOption> = vec![];
    let mut grown = base.clone();
    for &o in &admitted {
        if !disjoint(&added, o) {
            continue;
        }
        let mut more = added.clone();
        more.push(o.clone());
        let p = plan_with(g, &st, &given, scratch, in_place, &more, align)?;
        if p.arena_bytes < grown.arena_bytes {
            (added, grown) = (more, p);
        }
    }
    let mut all = plan_with(g, &st, &given, scratch, in_place, &chosen, align)?;
    let mut k = 0;
    while k < chosen.len() {
        let mut fewer = chosen.clone();
        fewer.remove(k);
        let p = plan_with(g, &st, &given, scratch, in_place, &fewer, align)?;
        if p.arena_bytes <= all.arena_bytes {
            (chosen, all) = (fewer, p);
        } else {
            k += 1;
        }
    }
    let mut best =
        if (all.arena_bytes, all.streams.len()) < (grown.arena_bytes, grown.streams.len()) { all } else { grown };
    if best.arena_bytes >= base.arena_bytes {
        return Ok(base);
    }
    // The baseline a TFLM-style planner needs is the graph's, not the grouped one's.
    best.memory.greedy_bytes = base.memory.greedy_bytes;
    best.memory.unstreamed_bytes = base.arena_bytes;
    Ok(best)
}

/// [`plan`] with these groups streamed.
fn plan_with(
    g: &Graph,
    st0: &Storage,
    given: &[NodeId],
    scratch: &HashMap<NodeId, usize>,
    in_place: &HashMap<NodeId, Vec<InPlaceOption>>,
    groups: &[StreamOption],
    align: usize,
) -> Result<Plan, String> {
    let st = st0.with_groups(g, groups);
    let (problem, roots, units) = st.problem(g, given, groups, scratch, in_place, align);
    let identity: Vec<usize> = (0..units.len()).collect();

    // The baseline: the graph's order, greedy by size.
    let (base_blocks, _) = problem.intervals(&identity);
    let greedy_bytes = pack::pack_with(&base_blocks, align, pack::Strategy::Size).arena_bytes;

    let sched = schedule::schedule(&problem, &identity);
    let (intervals, keys) = problem.intervals(&sched.order);
    let pairs = problem.block_pairs(&sched.order);
    let packing = pack::pack_pairs(&intervals, &pairs, align);
    pack::verify_pairs(&intervals, &pairs, &packing.offsets, packing.arena_bytes, align)?;
    // The pairs the packing overlapped: those nodes run in place.
    let mut in_place_at = HashMap::new();
    for (live, bp) in problem.live_pairs(&sched.order).iter().zip(&pairs) {
        let (a, b) = (&intervals[bp.input], &intervals[bp.output]);
        let (oa, ob) = (packing.offsets[bp.input], packing.offsets[bp.output]);
        if oa < ob + b.bytes && ob < oa + a.bytes {
            let node = units[live.node][0];
            let input = in_place
                .get(&node)
                .into_iter()
                .flatten()
                .find(|o| st.root_of(o.input) == roots[live.input] && o.output == roots[live.output]);
            if let Some(o) = input {
                in_place_at.insert(node, InPlace { input: o.input, output: o.output, blocks: (bp.input, bp.output) });
            }
        }
    }

    let order: Vec<NodeId> = sched.order.iter().flat_map(|&i| units[i].iter().copied()).collect();
    let mut streams = vec![];
    let mut blocks = vec![];
    let mut root_loc: HashMap<ValueId, Loc> = HashMap::new();
    let mut scratch_at = HashMap::new();
    for ((iv, key), &offset) in intervals.iter().zip(&keys).zip(&packing.offsets) {
        let label = match *key {
            Ok(b) => {
                let v = roots[b];
                root_loc.insert(v, Loc::Arena { offset, bytes: g.ty(v).bytes() });
                problem.bufs[b].label.clone()
            }
            Err(n) => {
                match units[n].as_slice() {
                    [one] => {
                        scratch_at.insert(*one, (offset, iv.bytes));
                    }
                    members => {
                        let Some(o) = groups.iter().find(|o| o.members() == members) else {
                            return Err(format!("internal: no group of `{}`", problem.nodes[n].label));
                        };
                        let [w, r, ps, cs] = group_scratch(o, scratch, align);
                        if ps > 0 {
                            scratch_at.insert(o.producer, (offset + w + r, ps));
                        }
                        if cs > 0 {
                            scratch_at.insert(o.consumer, (offset + w + r + ps, cs));
                        }
                        streams.push(Streamed {
                            option: o.clone(),
                            window_at: offset,
                            row_at: offset + w,
                            scratch_bytes: iv.bytes,
                            label: problem.nodes[n].label.clone(),
                        });
                    }
                }
                format!("scratch of {}", problem.nodes[n].label)
            }
        };
        blocks.push(Block { label, offset, bytes: iv.bytes, start: iv.start, end: iv.end });
    }

    let mut loc: HashMap<ValueId, Loc> = HashMap::new();
    let mut all_values: Vec<ValueId> = g.inputs().to_vec();
    for &n in &order {
        all_values.extend(g.node(n).inputs.iter().flatten());
        all_values.extend(&g.node(n).outputs);
    }
    all_values.extend(g.outputs());
    for v in all_values {
        let r = st.root_of(v);
        let l = match g.value(r).def {
            Def::Input(i) => Loc::Input(i),
            Def::Const(_) => Loc::Const,
            Def::Node(..) => match st.out_slot.get(&r) {
                Some(&k) => Loc::Output(k),
                None => root_loc.get(&r).copied().unwrap_or(Loc::Unused),
            },
        };
        loc.insert(v, l);
    }
    // A copying view writes its own output buffer.
    for &n in &st.copying_views {
        let y = g.node(n).outputs[0];
        if let Some(&k) = st.out_slot.get(&y) {
            loc.insert(y, Loc::Output(k));
        }
    }
    let memory = Memory {
        lower_bound_bytes: problem.peak_in_place(&sched.order),
        separate_bound_bytes: sched.peak,
        given_order_peak: problem.peak(&identity),
        greedy_bytes,
        unstreamed_bytes: packing.arena_bytes,
        schedule: sched.method,
        strategy: packing.strategy,
        align,
    };
    let p = Plan {
        order,
        loc,
        scratch: scratch_at,
        copying_views: st.copying_views,
        final_copies: st.final_copies,
        arena_bytes: packing.arena_bytes,
        blocks,
        in_place: in_place_at,
        streams,
        memory,
    };
    verify_plan(&p)?;
    Ok(p)
}

/// Checks that blocks alive at the same time never overlap and are aligned, except a
/// node's result over its dead input (both blocks meeting only at that node's step).
pub fn verify_plan(p: &Plan) -> Result<(), String> {
    let paired = |i: usize, j: usize| p.in_place.values().any(|ip| ip.blocks == (i, j) || ip.blocks == (j, i));
    for (i, a) in p.blocks.iter().enumerate() {
        let align = p.memory.align;
        if a.offset % align != 0 {
            return Err(format!("block `{}` at offset {} is not {align}-byte aligned", a.label, a.offset));
        }
        if a.offset + a.bytes > p.arena_bytes {
            return Err(format!("block `{}` ends past the arena", a.label));
        }
        for (j, b) in p.blocks.iter().enumerate().skip(i + 1) {
            if paired(i, j) {
                let (x, y) = if a.end <= b.start { (a, b) } else { (b, a) };
                if x.end != y.start {
                    return Err(format!(
                        "blocks `{}` and `{}` overlap in place but live beyond one step",
                        a.label, b.label
                    ));
                }
                continue;
            }
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
        let m = &self.memory;
        let mut s = format!(
            "arena {} B (without reuse {} B), {} blocks\nlower bound {} B (×{:.3}), greedy baseline {} B (×{:.3}); schedule {}, packing {}, {}-byte aligned\n",
            self.arena_bytes,
            self.unshared_bytes(),
            blocks.len(),
            m.lower_bound_bytes,
            self.bound_ratio(),
            m.greedy_bytes,
            self.greedy_ratio(),
            m.schedule.describe(),
            m.strategy.name(),
            m.align,
        );
        for g in &self.streams {
            let o = &g.option;
            s.push_str(&format!(
                "streamed {} (window {} B, row {} B, {} elements copied per run)\n",
                g.label, o.window_bytes, o.row_bytes, o.copy_elems
            ));
        }
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

#[cfg(test)]
mod tests {
    use super::testgen::{random_problem, random_problem_with_pairs, Rng};
    use super::*;

    /// In-place packing on random graphs with permitted overlaps: blocks alive at the
    /// same step overlap only as a pair of that step permits (the input's last step is
    /// the output's first: the input is dead after the node), never below the
    /// in-place bound, never above the packing without pairs.
    #[test]
    fn in_place_pairs_overlap_only_where_permitted_on_random_graphs() {
        let mut rng = Rng::new(11);
        let mut saved = 0;
        for round in 0..300 {
            let p = random_problem_with_pairs(&mut rng, 2 + round % 40);
            let given: Vec<usize> = (0..p.nodes.len()).collect();
            let s = schedule::schedule(&p, &given);
            let (blocks, _) = p.intervals(&s.order);
            let pairs = p.block_pairs(&s.order);
            let bound = p.peak_in_place(&s.order);
            assert!(bound <= s.peak);
            for align in [8, 16] {
                let k = pack::pack_pairs(&blocks, &pairs, align);
                pack::verify_pairs(&blocks, &pairs, &k.offsets, k.arena_bytes, align).unwrap();
                assert!(k.arena_bytes >= bound, "round {round}: {} below the bound {bound}", k.arena_bytes);
                assert!(k.arena_bytes <= pack::pack(&blocks, align).arena_bytes);
                for (i, a) in blocks.iter().enumerate() {
                    for (j, b) in blocks.iter().enumerate().skip(i + 1) {
                        let (oa, ob) = (k.offsets[i], k.offsets[j]);
                        if a.meets(b) && oa < ob + b.bytes && ob < oa + a.bytes {
                            let q = pairs
                                .iter()
                                .find(|q| (q.input, q.output) == (i, j) || (q.input, q.output) == (j, i))
                                .expect("overlap without a pair");
                            let (x, y) = (&blocks[q.input], &blocks[q.output]);
                            assert_eq!(x.end, y.start, "the input dies where the output is born");
                            assert!(q.permits(k.offsets[q.input], k.offsets[q.output]));
                        }
                    }
                }
                if k.arena_bytes < pack::pack(&blocks, align).arena_bytes {
                    saved += 1;
                }
            }
        }
        assert!(saved > 50, "in-place packing rarely helps: {saved}");
    }

    /// A chain whose every node may write over its dead input needs the largest
    /// block and the shifts, not two blocks.
    #[test]
    fn a_chain_runs_in_place() {
        let node = |i: usize| problem::Node {
            preds: if i == 0 { vec![] } else { vec![i - 1] },
            scratch: 0,
            label: format!("n{i}"),
        };
        let buf = |i: usize| problem::Buf {
            bytes: 1024,
            producer: i,
            consumers: vec![i + 1],
            to_end: false,
            label: format!("v{i}"),
        };
        let mut p = Problem { nodes: (0..4).map(node).collect(), bufs: (0..3).map(buf).collect(), pairs: vec![] };
        let order = [0, 1, 2, 3];
        let (blocks, _) = p.intervals(&order);
        assert_eq!(pack::pack(&blocks, 16).arena_bytes, 2048);
        p.pairs = vec![
            Pair { node: 1, input: 0, output: 1, shift: 0, above: None, exact: true },
            Pair { node: 2, input: 1, output: 2, shift: -64, above: None, exact: false },
        ];
        assert_eq!(p.peak_in_place(&order), 1024 + 64);
        let k = pack::pack_pairs(&blocks, &p.block_pairs(&order), 16);
        assert_eq!(k.arena_bytes, 1024 + 64);
        // A pair whose input is read again later does not apply.
        p.bufs[0].consumers.push(3);
        p.nodes[3].preds.push(0);
        assert_eq!(p.live_pairs(&order).len(), 1);
    }

    /// Schedule, then pack, on random graphs: every order is valid and no worse than
    /// the given one, blocks alive at the same step never overlap, and the arena is
    /// at least the lower bound.
    #[test]
    fn scheduled_and_packed_random_graphs_verify() {
        let mut rng = Rng::new(5);
        for round in 0..200 {
            let p = random_problem(&mut rng, 1 + round % 60);
            let given: Vec<usize> = (0..p.nodes.len()).collect();
            let s = schedule::schedule(&p, &given);
            assert!(p.is_schedule(&s.order));
            assert!(s.peak <= p.peak(&given));
            assert!(p.schedule_free_bound() <= s.peak);
            let (blocks, _) = p.intervals(&s.order);
            for align in [8, 16] {
                let k = pack::pack(&blocks, align);
                pack::verify(&blocks, &k.offsets, k.arena_bytes, align).unwrap();
                assert!(k.arena_bytes >= s.peak);
            }
        }
    }
}
