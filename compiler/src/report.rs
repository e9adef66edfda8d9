//! What `tinyops inspect` reports: ops, parameters, MACs, the memory plan and where
//! each value lives.

use crate::ir::{Def, Graph, TensorType};
use crate::plan::Loc;
use crate::Compilation;
use serde::Serialize;
use std::collections::BTreeMap;

/// One scheduled node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Position in the schedule.
    pub step: usize,
    /// IR op.
    pub op: String,
    /// Node name.
    pub name: String,
    /// Output type.
    pub output: String,
    /// MACs.
    pub macs: u64,
    /// Where the first output lives.
    pub storage: String,
    /// `int`, `float`, `move` (data movement) or `convert` (float ⇄ integer).
    pub arith: String,
}

/// One row-streamed group of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct StreamRow {
    /// The member nodes, in run order (producer, consumer, Add).
    pub nodes: Vec<String>,
    /// The runtime entry (`stream_rows`, `stream_rows_into`, `stream_rows_over_input`).
    pub entry: String,
    /// Bytes of the sliding window of producer rows.
    pub window_bytes: usize,
    /// Bytes of the epilogue's row buffer.
    pub row_bytes: usize,
    /// Bytes of the group's whole scratch block (window, row, both kernels' scratch).
    pub scratch_bytes: usize,
    /// The extra work: elements the window slides (copies) per run.
    pub copy_elements: usize,
}

/// The inspect report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Model name.
    pub model: String,
    /// Target.
    pub target: String,
    /// Model file SHA-256.
    pub sha256: String,
    /// Graph inputs (name, type).
    pub inputs: Vec<(String, String)>,
    /// Graph outputs (name, type).
    pub outputs: Vec<(String, String)>,
    /// Scheduled nodes per IR op.
    pub op_counts: BTreeMap<String, usize>,
    /// Elements of all weights.
    pub parameters: usize,
    /// Bytes of the weight blob (flash).
    pub weight_bytes: usize,
    /// MACs per run.
    pub macs: u64,
    /// Arena bytes (RAM besides inputs, outputs and stack).
    pub arena_bytes: usize,
    /// Arena bytes without any reuse, for comparison.
    pub unshared_bytes: usize,
    /// The most bytes alive at one step of the chosen schedule: no arena for it can be
    /// smaller.
    pub lower_bound_bytes: usize,
    /// `arena_bytes / lower_bound_bytes`.
    pub bound_ratio: f64,
    /// What a TensorFlow Lite Micro-style planner would need (the graph's own order,
    /// no in-place execution, greedy by size).
    pub greedy_bytes: usize,
    /// `arena_bytes / greedy_bytes`.
    pub greedy_ratio: f64,
    /// How the schedule was chosen.
    pub schedule: String,
    /// The packing strategy that gave the arena, and how many nodes run in place.
    pub packing: String,
    /// Alignment of arena offsets.
    pub align: usize,
    /// The schedule step with the most bytes alive.
    pub peak_step: usize,
    /// The blocks alive at that step, largest first: (name, bytes).
    pub peak_blocks: Vec<(String, usize)>,
    /// Groups run row-streamed (their inner results never stored whole).
    pub streams: Vec<StreamRow>,
    /// The arena the plan needs without streamed groups (equal to `arena_bytes` when
    /// it streams none).
    pub unstreamed_bytes: usize,
    /// The schedule.
    pub nodes: Vec<NodeRow>,
    /// Nodes per arithmetic class (`int`, `float`, `move`, `convert`).
    pub arith_counts: BTreeMap<String, usize>,
    /// Kernel calls per `isa::function` chosen for the target (e.g.
    /// `portable::conv2d_q8`).
    pub kernels: BTreeMap<String, usize>,
}

fn ty_text(t: &TensorType) -> String {
    t.to_string()
}

impl Report {
    /// Builds the report of a compilation.
    pub fn new(c: &Compilation) -> Report {
        let g: &Graph = &c.graph;
        let mut op_counts = BTreeMap::new();
        let mut nodes = vec![];
        for (step, &n) in c.plan.order.iter().enumerate() {
            let nd = g.node(n);
            *op_counts.entry(nd.op.name().to_string()).or_insert(0) += 1;
            let ins: Vec<Option<&TensorType>> = nd.inputs.iter().map(|v| v.map(|v| g.ty(v))).collect();
            let outs: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
            let storage = match c.plan.loc.get(&nd.outputs[0]) {
                Some(Loc::Arena { offset, bytes }) => {
                    format!("arena[{offset}..{}]", offset + bytes)
                }
                Some(Loc::Output(k)) => format!("output {k}"),
                Some(Loc::Input(i)) => format!("input {i} (view)"),
                Some(Loc::Const) => "flash".into(),
                Some(Loc::Unused) | None if c.plan.stream_of(n).is_some() => "streamed".into(),
                Some(Loc::Unused) | None => "-".into(),
            };
            nodes.push(NodeRow {
                step,
                op: nd.op.name().to_string(),
                name: nd.name.clone(),
                output: ty_text(&outs[0]),
                macs: nd.op.def().macs(&ins, &outs),
                storage,
                arith: nd.op.arith(&outs).label().to_string(),
            });
        }
        let parameters = g
            .live_consts()
            .iter()
            .map(|&v| match &g.value(v).def {
                Def::Const(t) => t.numel(),
                _ => 0,
            })
            .sum();
        let mut arith_counts = BTreeMap::new();
        for r in &nodes {
            *arith_counts.entry(r.arith.clone()).or_insert(0) += 1;
        }
        let (peak_step, at) = c.plan.peak();
        let peak_blocks = at.iter().map(|b| (b.label.clone(), b.bytes)).collect();
        let io =
            |vals: &[crate::ir::ValueId]| vals.iter().map(|&v| (g.value(v).name.clone(), ty_text(g.ty(v)))).collect();
        let streams = c
            .plan
            .streams
            .iter()
            .map(|s| {
                let o = &s.option;
                let entry = match (o.add, o.over_input) {
                    (None, _) => "stream_rows",
                    (Some(_), false) => "stream_rows_into",
                    (Some(_), true) => "stream_rows_over_input",
                };
                StreamRow {
                    nodes: o.members().iter().map(|&n| g.node(n).name.clone()).collect(),
                    entry: entry.into(),
                    window_bytes: o.window_bytes,
                    row_bytes: o.row_bytes,
                    scratch_bytes: s.scratch_bytes,
                    copy_elements: o.copy_elems,
                }
            })
            .collect();
        Report {
            model: g.name.clone(),
            target: c.target.name.to_string(),
            sha256: c.sha256.clone(),
            inputs: io(g.inputs()),
            outputs: io(g.outputs()),
            op_counts,
            parameters,
            weight_bytes: c.program.weight_bytes(),
            macs: c.program.macs,
            arena_bytes: c.plan.arena_bytes,
            unshared_bytes: c.plan.unshared_bytes(),
            lower_bound_bytes: c.plan.memory.lower_bound_bytes,
            bound_ratio: c.plan.bound_ratio(),
            greedy_bytes: c.plan.memory.greedy_bytes,
            greedy_ratio: c.plan.greedy_ratio(),
            schedule: c.plan.memory.schedule.describe(),
            packing: match c.plan.in_place.len() {
                0 => c.plan.memory.strategy.name().to_string(),
                n => format!(
                    "{}, {n} node{} in place (bound without in-place {} B)",
                    c.plan.memory.strategy.name(),
                    if n == 1 { "" } else { "s" },
                    c.plan.memory.separate_bound_bytes
                ),
            },
            align: c.plan.memory.align,
            peak_step,
            peak_blocks,
            streams,
            unstreamed_bytes: c.plan.memory.unstreamed_bytes,
            nodes,
            arith_counts,
            kernels: c
                .program
                .kernel_counts()
                .into_iter()
                .map(|((f, isa), n)| (format!("{}::{f}", isa.module()), n))
                .collect(),
        }
    }

    /// Human-readable text.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "model   {}  (sha256 {})\ntarget  {}\n",
            self.model,
            &self.sha256[..16.min(self.sha256.len())],
            self.target
        );
        for (n, t) in &self.inputs {
            s.push_str(&format!("input   {n}: {t}\n"));
        }
        for (n, t) in &self.outputs {
            s.push_str(&format!("output  {n}: {t}\n"));
        }
        s.push_str(&format!(
            "params  {} ({} B of weights in flash)\nMACs    {}\narena   {} B (without reuse: {} B)\nbound   {} B lower bound of this schedule (arena ×{:.3}); greedy baseline {} B (arena ×{:.3})\nplan    schedule {}; packing {}; {}-byte aligned\nops     {}\narith   {}\nkernels {}\n",
            self.parameters,
            self.weight_bytes,
            self.macs,
            self.arena_bytes,
            self.unshared_bytes,
            self.lower_bound_bytes,
            self.bound_ratio,
            self.greedy_bytes,
            self.greedy_ratio,
            self.schedule,
            self.packing,
            self.align,
            self.op_counts.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(", "),
            self.arith_counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
            self.kernels.iter().map(|(k, v)| format!("{k}×{v}")).collect::<Vec<_>>().join(", ")
        ));
        if !self.streams.is_empty() {
            s.push_str(&format!(
                "streams {} group(s) row-streamed (arena without streaming {} B):",
                self.streams.len(),
                self.unstreamed_bytes
            ));
            for r in &self.streams {
                let names: Vec<String> = r.nodes.iter().map(|n| n.chars().take(40).collect()).collect();
                s.push_str(&format!(
                    "\n          {} ({}): window {} B, row {} B, scratch {} B in all; {} elements copied per run\n            {}",
                    r.entry,
                    r.nodes.len(),
                    r.window_bytes,
                    r.row_bytes,
                    r.scratch_bytes,
                    r.copy_elements,
                    names.join(" + ")
                ));
            }
            s.push('\n');
        }
        if !self.peak_blocks.is_empty() {
            s.push_str(&format!("peak    at step {}:", self.peak_step));
            for (name, bytes) in &self.peak_blocks {
                let name: String = name.chars().take(60).collect();
                s.push_str(&format!("\n          {bytes:>8} B  {name}"));
            }
            s.push('\n');
        }
        s.push_str(&format!(
            "\n{:>4}  {:<16} {:<24} {:>10}  {:<20} {}\n",
            "step", "op", "output", "MACs", "storage", "node"
        ));
        for r in &self.nodes {
            let name: String = r.name.chars().take(60).collect();
            s.push_str(&format!(
                "{:>4}  {:<16} {:<24} {:>10}  {:<20} {}\n",
                r.step, r.op, r.output, r.macs, r.storage, name
            ));
        }
        s
    }
}
