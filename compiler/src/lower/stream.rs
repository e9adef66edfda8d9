//! Row-streamed groups: which chains of a graph the runtime's `kernels::stream`
//! entries can run ([`stream_options`], for the planner), and the one step a group
//! the plan streams lowers to ([`StreamCall`]: the producer's, the consumer's and the
//! Add's ordinary calls, run interleaved row by row).
//!
//! A group is a convolution `P` whose only reader is a convolution `C` (any
//! implementation of either, the band problems they are called on having the whole
//! layer's form), optionally followed by the element-wise Add (its clamp or output
//! stage fused) of `C`'s output and a skip operand: `P`'s output is never stored
//! whole, nor `C`'s when the Add follows (its result is written over the skip row by
//! row, the skip being `P`'s own input for an identity shortcut).

use super::isa::Isa;
use super::{node_calls, select, type_list, Arg, Invocation, Kernel, KernelCall, LowerCx, Lowering};
use super::{Operand, Place, Slot, Step};
use crate::error::Problem;
use crate::ir::{DType, Graph, NodeId, TensorType, ValueId};
use crate::plan::{StreamOption, Streamed};
use tinyops_runtime::kernels::pack::x86_avx2::winograd2d;
use tinyops_runtime::kernels::{stream, BinaryOp, Conv2d};
use tinyops_targets::Target;

/// Where a streamed group's rows go (the runtime entry it calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamMode {
    /// `stream_rows`: the consumer's rows into its output.
    Rows,
    /// `stream_rows_into`: each row added over the skip operand's row.
    Into,
    /// `stream_rows_over_input`: each row added over the producer's input's row.
    OverInput,
}

impl StreamMode {
    /// The runtime entry's name.
    pub fn function(self) -> &'static str {
        match self {
            StreamMode::Rows => "stream_rows",
            StreamMode::Into => "stream_rows_into",
            StreamMode::OverInput => "stream_rows_over_input",
        }
    }
}

/// A step's calls run as one streamed group: `calls[0]` the producer, `calls[1]` the
/// consumer, `calls[2]` (with an Add) the epilogue, whose read `row_read` is the
/// consumer's row and whose other read and write are the skip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCall {
    /// The runtime entry.
    pub mode: StreamMode,
    /// The producer's geometry.
    pub producer: Conv2d,
    /// The consumer's geometry.
    pub consumer: Conv2d,
    /// The sliding window of producer rows (arena).
    pub window: Operand,
    /// One row of the consumer's output (arena; empty without an Add).
    pub row: Operand,
    /// Which read of the epilogue call is the consumer's row.
    pub row_read: usize,
    /// Elements the window slides over one run.
    pub copy_elems: usize,
}

/// The geometry of a convolution kernel.
pub fn conv_geometry(k: &Kernel) -> Option<&Conv2d> {
    match k {
        Kernel::Conv2dQ8 { p, .. }
        | Kernel::DepthwiseConv2dQ8 { p, .. }
        | Kernel::Conv2dF32 { p, .. }
        | Kernel::DepthwiseConv2dF32 { p, .. } => Some(p),
        _ => None,
    }
}

/// The one invocation node `n` lowers to, when it lowers to one whose kernel the
/// target implements.
fn single(g: &Graph, n: NodeId, target: &'static Target) -> Option<Invocation> {
    let nd = g.node(n);
    let args: Vec<Option<Arg>> =
        nd.inputs.iter().map(|v| v.map(|v| Arg { ty: g.ty(v), value: g.const_of(v) })).collect();
    let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
    let mut invs = nd.op.def().lower(&LowerCx { inputs: &args, outputs: &out_types }).ok()?;
    let inv = invs.pop().filter(|_| invs.is_empty())?;
    let consts = super::constants(g, n, &inv.reads);
    let choice = select::select(&inv.kernel, &consts, target).ok()?;
    // The AVX2 kernel's 2-D Winograd path computes two output rows per row of tiles:
    // called once per output row, it would compute every tile twice. The x86 targets
    // are not short of RAM, so such layers run whole (host targets only: no other
    // implementation takes the path).
    let rows_of_two = matches!(&inv.kernel, Kernel::Conv2dF32 { p, .. } if winograd2d(p));
    (choice.imp.isa != Isa::X86Avx2 || !rows_of_two).then_some(inv)
}

/// A convolution node reading a run-time input 0 and writing output 0 of the same
/// element type: its geometry and that type.
fn conv_node(g: &Graph, n: NodeId, target: &'static Target) -> Option<(Conv2d, DType)> {
    let inv = single(g, n, target)?;
    let t = match &inv.kernel {
        Kernel::Conv2dQ8 { x, y, .. } | Kernel::DepthwiseConv2dQ8 { x, y, .. } if x == y => *x,
        Kernel::Conv2dF32 { .. } | Kernel::DepthwiseConv2dF32 { .. } => DType::F32,
        _ => return None,
    };
    let ok = inv.reads.first() == Some(&Slot::In(0)) && inv.writes.last() == Some(&Slot::Out(0));
    ok.then(|| conv_geometry(&inv.kernel).map(|p| (*p, t)))?
}

/// The only reader of `v` (through input slot `slot`), when it has exactly one and
/// `v` is no model output.
fn only_user(g: &Graph, v: ValueId) -> Option<(NodeId, usize)> {
    match g.users(v).as_slice() {
        [(n, slot)] if !g.is_output(v) => Some((*n, *slot)),
        _ => None,
    }
}

/// The element-wise Add `a` reading `cy` as one operand, with no broadcasting and
/// every operand of type `t`: the other operand (the skip).
fn add_skip(g: &Graph, a: NodeId, slot: usize, t: DType, target: &'static Target) -> Option<ValueId> {
    let inv = single(g, a, target)?;
    let dt = match &inv.kernel {
        Kernel::AddQ8 { a, b, y, .. } if a == b && b == y => *a,
        Kernel::BinaryF32 { op: BinaryOp::Add, .. } => DType::F32,
        _ => return None,
    };
    let nd = g.node(a);
    let (Some(Some(x0)), Some(Some(x1)), Some(&y)) = (nd.inputs.first(), nd.inputs.get(1), nd.outputs.first()) else {
        return None;
    };
    let flat = inv.reads == [Slot::In(0), Slot::In(1)] && inv.writes == [Slot::Out(0)];
    let like = |v: ValueId| g.ty(v).dtype == g.ty(y).dtype && g.ty(v).shape == g.ty(y).shape;
    let same = like(*x0) && like(*x1) && nd.inputs.len() == 2;
    let skip = if slot == 0 { *x1 } else { *x0 };
    (dt == t && flat && same && g.const_of(skip).is_none()).then_some(skip)
}

/// The chains of `g` that can run streamed on `target`, in graph order: each
/// convolution whose only reader is a convolution that can consume it a row at a
/// time, with the element-wise Add after the consumer when there is one the group
/// can take (a skip other than the producer's input, or the producer's input when
/// the result can be written over it). The planner decides which pay.
pub fn stream_options(g: &Graph, target: &'static Target) -> Vec<StreamOption> {
    let mut out = vec![];
    for pn in g.topo_order() {
        let Some((p, t)) = conv_node(g, pn, target) else { continue };
        let Some(&py) = g.node(pn).outputs.first() else { continue };
        let Some((cn, 0)) = only_user(g, py) else { continue };
        let Some((c, ct)) = conv_node(g, cn, target) else { continue };
        if ct != t || !stream::stream_applies(&p, &c) {
            continue;
        }
        let size = t.size();
        let px = g.node(pn).inputs.first().copied().flatten();
        let cy = g.node(cn).outputs.first().copied();
        let add = cy.and_then(|cy| only_user(g, cy)).and_then(|(a, slot)| {
            let skip = add_skip(g, a, slot, t, target)?;
            let over_input = Some(skip) == px;
            (!over_input || stream::stream_over_input_applies(&p, &c)).then_some(((a, skip), over_input))
        });
        out.push(StreamOption {
            producer: pn,
            consumer: cn,
            add: add.map(|(a, _)| a),
            over_input: add.is_some_and(|(_, o)| o),
            window_bytes: stream::stream_window_len(&p, &c) * size,
            row_bytes: if add.is_some() { c.out_w * c.out_c * size } else { 0 },
            copy_elems: stream::stream_copy_len(&p, &c),
        });
    }
    out
}

/// The step of a streamed group: its members' calls, checked against the runtime's
/// conditions, and where the window and row live.
pub(super) fn lower_group(
    lw: &mut Lowering,
    s: &Streamed,
    target: &'static Target,
    problems: &mut Vec<Problem>,
) -> Result<Step, String> {
    let g = lw.g;
    let o = &s.option;
    let members = o.members();
    let mut calls: Vec<KernelCall> = vec![];
    let before = problems.len();
    for &n in &members {
        let c = node_calls(lw, n, target, problems);
        if c.len() != 1 && problems.len() == before {
            return Err(format!("`{}` does not lower to one call", g.node(n).name));
        }
        calls.extend(c);
    }
    let signature = |n: NodeId| {
        let nd = g.node(n);
        format!("{} → {}", type_list(g, nd.inputs.iter().copied()), type_list(g, nd.outputs.iter().map(|&o| Some(o))))
    };
    let step = |calls: Vec<KernelCall>, stream: Option<StreamCall>| Step {
        node: s.label.clone(),
        op: "stream",
        signature: members.iter().map(|&n| signature(n)).collect::<Vec<_>>().join(" ⇒ "),
        calls,
        stream,
    };
    if problems.len() > before {
        return Ok(step(calls, None));
    }
    let (Some(&p), Some(&c)) = (conv_geometry(&calls[0].kernel), conv_geometry(&calls[1].kernel)) else {
        return Err("a member of a streamed group is not a convolution".into());
    };
    let t = calls[0].reads[0].dtype;
    let len = |bytes: usize| bytes / t.size();
    let window = Operand { place: Place::Arena { offset: s.window_at }, dtype: t, len: len(o.window_bytes) };
    let row = if o.add.is_some() {
        Operand { place: Place::Arena { offset: s.row_at }, dtype: t, len: len(o.row_bytes) }
    } else {
        Operand::empty(t)
    };
    let (mode, row_read) = match o.add {
        None => (StreamMode::Rows, 0),
        Some((a, _)) => {
            let cy = g.node(o.consumer).outputs.first().copied();
            let k = g.node(a).inputs.iter().position(|v| *v == cy).ok_or("the Add does not read the consumer")?;
            (if o.over_input { StreamMode::OverInput } else { StreamMode::Into }, k)
        }
    };
    // What the runtime entries check when they run, proved here.
    let fits = stream::stream_applies(&p, &c)
        && window.len >= stream::stream_window_len(&p, &c)
        && (mode != StreamMode::OverInput || stream::stream_over_input_applies(&p, &c))
        && (o.add.is_none() || row.len >= c.out_w * c.out_c);
    if !fits {
        return Err("the streamed group's geometry or buffers do not fit its runtime entry".into());
    }
    if let Some(add) = calls.get(2) {
        let (skip, y) = (&add.reads[1 - row_read], &add.writes[0]);
        let over = skip.place == y.place && matches!(y.place, Place::Arena { .. });
        let on_input = calls[0].reads[0].place == y.place;
        if !over || on_input != (mode == StreamMode::OverInput) || add.reads[row_read].place != Place::Empty {
            return Err("the streamed group's result is not planned over its skip".into());
        }
    }
    lw.check_bounds(calls.iter().flat_map(|c| c.reads.iter().chain(&c.writes)).chain([&window, &row]))?;
    let call = StreamCall { mode, producer: p, consumer: c, window, row, row_read, copy_elems: o.copy_elems };
    Ok(step(calls, Some(call)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::build::add_op;
    use crate::ir::{Layout, Tensor};
    use crate::ops::activation::Act;
    use crate::ops::binary::{BinKind, Binary};
    use crate::ops::conv::Conv;
    use crate::ops::Op;
    use crate::plan::testgen::Rng;
    use crate::plan::{plan, Loc};

    /// A channels-last float convolution `k×k`, stride `s`, padded by `k / 2`, to
    /// `cout` channels, with a ReLU.
    fn conv(g: &mut Graph, name: &str, x: ValueId, k: usize, s: usize, cout: usize) -> ValueId {
        let cin = *g.ty(x).shape.last().unwrap();
        let w = g.add_const(format!("{name}.w"), Tensor::f32(vec![cout, k, k, cin], vec![0.5; cout * k * k * cin]));
        let b = g.add_const(format!("{name}.b"), Tensor::f32(vec![cout], vec![0.0; cout]));
        let op = Op::Conv(Conv {
            kernel: vec![k, k],
            strides: vec![s, s],
            dilations: vec![1, 1],
            pads: vec![k / 2; 4],
            group: 1,
            act: Act::RELU,
            layout: Layout::ChannelsLast,
        });
        add_op(g, name, op, vec![Some(x), Some(w), Some(b)], vec![format!("{name}.y")]).unwrap()[0]
    }

    fn add(g: &mut Graph, name: &str, a: ValueId, b: ValueId) -> ValueId {
        let op = Op::Binary(Binary { kind: BinKind::Add, act: Act::RELU });
        add_op(g, name, op, vec![Some(a), Some(b)], vec![format!("{name}.y")]).unwrap()[0]
    }

    /// A stem, one residual block (identity shortcut, or a strided block with a 1×1
    /// projection), a head: `h×w×c` activations.
    fn residual(h: usize, w: usize, c: usize, projection: bool) -> Graph {
        let mut g = Graph::new("residual");
        let x = g.add_input("x", TensorType::new(DType::F32, vec![1, h, w, 3]));
        let stem = conv(&mut g, "stem", x, 3, 1, c);
        let (s, cout) = if projection { (2, 2 * c) } else { (1, c) };
        let skip = if projection { conv(&mut g, "proj", stem, 1, 2, cout) } else { stem };
        let c1 = conv(&mut g, "conv1", stem, 3, s, cout);
        let c2 = conv(&mut g, "conv2", c1, 3, 1, cout);
        let y = add(&mut g, "add", c2, skip);
        let head = conv(&mut g, "head", y, 1, 1, 2);
        g.set_outputs(vec![head]);
        g
    }

    /// Random residual blocks on the host: the planner streams the block only where
    /// the arena shrinks, its inner results get no storage, the Add's result takes the
    /// skip's (over the block's input for an identity shortcut), the plan verifies
    /// (no two blocks alive at one step overlap) and the group lowers to one step.
    #[test]
    fn residual_blocks_stream_where_it_pays_and_verify() {
        let target = tinyops_targets::host();
        let mut rng = Rng::new(9);
        let mut streamed = 0;
        for round in 0..24 {
            let (h, w, c) = (4 + rng.below(12), 4 + rng.below(12), 1 + rng.below(8));
            let projection = round % 3 == 2;
            let g = residual(h, w, c, projection);
            let options = stream_options(&g, target);
            let o = options.iter().find(|o| g.node(o.producer).name == "conv1").expect("conv1 → conv2 streams");
            assert!(o.add.is_some() && o.over_input != projection, "{o:?}");
            let (scratch, in_place) =
                (super::super::scratch_needs(&g, target), super::super::in_place_options(&g, target));
            let p = plan(&g, &scratch, &in_place, &options, 16).unwrap();
            let base = plan(&g, &scratch, &in_place, &[], 16).unwrap();
            assert!(base.streams.is_empty());
            if p.streams.is_empty() {
                assert_eq!(p.arena_bytes, base.arena_bytes);
                continue;
            }
            streamed += 1;
            assert!(p.arena_bytes < base.arena_bytes && p.memory.unstreamed_bytes == base.arena_bytes);
            crate::plan::verify_plan(&p).unwrap();
            let s = &p.streams[0].option;
            for n in [s.producer, s.consumer] {
                assert_eq!(p.loc[&g.node(n).outputs[0]], Loc::Unused);
            }
            let (a, skip) = s.add.unwrap();
            assert_eq!(p.loc[&g.node(a).outputs[0]], p.loc[&skip]);
            let prog = super::super::lower(&g, &p, target).unwrap();
            let step = prog.steps.iter().find(|st| st.stream.is_some()).unwrap();
            let call = step.stream.as_ref().unwrap();
            let mode = if projection { StreamMode::Into } else { StreamMode::OverInput };
            assert_eq!((call.mode, step.calls.len(), call.row_read), (mode, 3, 0));
            // The window and row lie in the group's scratch block, clear of the skip.
            let Place::Arena { offset: win } = call.window.place else { panic!("window outside the arena") };
            let Loc::Arena { offset: sk, bytes } = p.loc[&skip] else { panic!("skip outside the arena") };
            assert!(win + call.window.bytes() <= sk || sk + bytes <= win);
        }
        assert!(streamed >= 6, "only {streamed} of 24 residual blocks streamed");
    }
}
