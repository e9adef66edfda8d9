//! Lowering: a scheduled, memory-planned graph → a backend-neutral [`Program`] of
//! kernel calls.
//!
//! Each node's op says which kernels compute it ([`OpDef::lower`](crate::ops::OpDef::lower)),
//! naming its operands by slot (input 2, output 0, scratch). This module resolves
//! every slot to where the bytes live ([`Place`]: a caller's buffer, an arena offset,
//! a named weight), picks the implementation of each kernel for the target from the
//! registry ([`select`]), and checks every operand at compile time: in bounds, aligned,
//! and never both read and written by one node. A backend only prints the result; it
//! decides nothing. Nothing here knows Rust syntax.

pub mod isa;
pub mod kernel;
pub mod select;
pub mod stream;

pub use isa::{Implementation, Isa, Overlap};
pub use kernel::{Family, Kernel};
pub use stream::{stream_options, StreamCall, StreamMode};

use crate::error::{NodeRef, Problem, IR_DOMAIN};
use crate::ir::{DType, Graph, NodeId, Tensor, TensorType, ValueId};
use crate::ops::{Arg, OpError, OpResult};
use crate::plan::{InPlaceOption, Loc, Plan};
use std::collections::HashMap;
use tinyops_targets::Target;

/// What an op's lowering sees: its operands' types (and data, for constants) and its
/// results' types.
#[derive(Debug)]
pub struct LowerCx<'a> {
    /// Operands by IR input slot (`None` for absent optionals).
    pub inputs: &'a [Option<Arg<'a>>],
    /// Result types by output slot.
    pub outputs: &'a [TensorType],
}

impl<'a> LowerCx<'a> {
    /// Input `i`, required.
    pub fn input(&self, i: usize) -> OpResult<&Arg<'a>> {
        self.inputs.get(i).and_then(|o| o.as_ref()).ok_or_else(|| OpError::Invalid(format!("input {i} is required")))
    }

    /// The type of output `i`.
    pub fn output(&self, i: usize) -> OpResult<&TensorType> {
        self.outputs.get(i).ok_or_else(|| OpError::Invalid(format!("output {i} is required")))
    }

    /// True when optional input `i` is present.
    pub fn has_input(&self, i: usize) -> bool {
        matches!(self.inputs.get(i), Some(Some(_)))
    }

    /// `Slot::In(i)` when input `i` is present, else `Slot::Absent`.
    pub fn opt_in(&self, i: usize) -> Slot {
        if self.has_input(i) {
            Slot::In(i)
        } else {
            Slot::Absent
        }
    }
}

/// An operand of a kernel call as an op names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The node's input `i`.
    In(usize),
    /// The node's output `i` (an empty slice when nothing reads it).
    Out(usize),
    /// The node's scratch space, viewed as elements of this type.
    Scratch(DType),
    /// No operand (an absent optional): an empty slice.
    Absent,
}

/// One kernel invocation as an op describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// What to compute.
    pub kernel: Kernel,
    /// Operands read, in the kernel signature's order.
    pub reads: Vec<Slot>,
    /// Operands written, in the kernel signature's order (after the reads).
    pub writes: Vec<Slot>,
}

/// Shorthand for an [`Invocation`].
pub fn invoke(kernel: Kernel, reads: impl Into<Vec<Slot>>, writes: impl Into<Vec<Slot>>) -> Invocation {
    Invocation { kernel, reads: reads.into(), writes: writes.into() }
}

/// Where an operand's bytes live while the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The caller's input buffer `i`.
    Input(usize),
    /// The caller's output buffer `k`.
    Output(usize),
    /// In the arena, at this byte offset.
    Arena {
        /// Byte offset (aligned for the element type).
        offset: usize,
    },
    /// The weight [`Program::weights`]`[i]`, in flash.
    Weight(usize),
    /// Nothing: an empty slice.
    Empty,
}

/// A resolved operand: where, what type, how many elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operand {
    /// Where the bytes are.
    pub place: Place,
    /// Element type.
    pub dtype: DType,
    /// Element count.
    pub len: usize,
}

impl Operand {
    /// Byte size.
    pub fn bytes(&self) -> usize {
        self.len * self.dtype.size()
    }

    fn empty(dtype: DType) -> Operand {
        Operand { place: Place::Empty, dtype, len: 0 }
    }
}

/// One call of a chosen kernel implementation.
#[derive(Debug, Clone)]
pub struct KernelCall {
    /// What to compute, with its parameters.
    pub kernel: Kernel,
    /// The implementation chosen for the target.
    pub isa: Isa,
    /// Operands read, in signature order.
    pub reads: Vec<Operand>,
    /// Operands written, in signature order.
    pub writes: Vec<Operand>,
    /// Set when the result overlaps a dead input: the call must go through the
    /// runtime's in-place entry (`kernels::inplace`), never with the two operands as
    /// separate slices.
    pub in_place: Option<InPlaceCall>,
}

/// A call whose write `write` overlaps its read `read` (indices into
/// [`KernelCall::writes`] and [`KernelCall::reads`]), both in the arena, as
/// [`Overlap`] permits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InPlaceCall {
    /// The read operand overlapped.
    pub read: usize,
    /// The write operand over it.
    pub write: usize,
    /// The access order that makes it safe.
    pub overlap: Overlap,
}

impl InPlaceCall {
    /// The arena bytes `[lo, hi)` the two operands cover together.
    pub fn span(&self, c: &KernelCall) -> Option<(usize, usize)> {
        let (Place::Arena { offset: x }, Place::Arena { offset: y }) =
            (c.reads.get(self.read)?.place, c.writes.get(self.write)?.place)
        else {
            return None;
        };
        let (xb, yb) = (c.reads[self.read].bytes(), c.writes[self.write].bytes());
        Some((x.min(y), (x + xb).max(y + yb)))
    }
}

impl KernelCall {
    /// The compile-time form of the call's kernel, when its implementation has
    /// several paths chosen by constants the compiler knows: the backend calls the
    /// kernel's `<function>_form` entry with it as the last generic argument, so
    /// only that path is linked (see [`isa::form`]).
    pub fn form(&self) -> Option<u8> {
        isa::form(self.isa, &self.kernel)
    }
}

/// The calls that compute one node.
#[derive(Debug, Clone)]
pub struct Step {
    /// The node name (from the ONNX model).
    pub node: String,
    /// The IR op.
    pub op: &'static str,
    /// Operand and result types, e.g. `i8[1,49,10,1] → i8[1,64,25,5]`.
    pub signature: String,
    /// The calls, in order (a streamed group's: producer, consumer, then the Add).
    pub calls: Vec<KernelCall>,
    /// Set when the calls run as one row-streamed group through the runtime's
    /// `kernels::stream` entries, never one after another.
    pub stream: Option<StreamCall>,
}

/// A constant the program reads: stored once, in flash, under its own symbol.
#[derive(Debug, Clone)]
pub struct Weight {
    /// A unique upper-case identifier (`W3_CONV2D_BIAS`).
    pub symbol: String,
    /// The IR value name it comes from.
    pub source: String,
    /// Its type.
    pub ty: TensorType,
    /// Little-endian bytes.
    pub bytes: Vec<u8>,
}

/// A model input or output.
#[derive(Debug, Clone)]
pub struct Port {
    /// The ONNX name.
    pub name: String,
    /// Its type.
    pub ty: TensorType,
}

/// The lowered model: everything a backend needs, nothing it has to decide.
#[derive(Debug, Clone)]
pub struct Program {
    /// Model inputs, in `run` order.
    pub inputs: Vec<Port>,
    /// Model outputs, in `run` order.
    pub outputs: Vec<Port>,
    /// Weights in first-use order.
    pub weights: Vec<Weight>,
    /// Steps in schedule order; the last may copy constants or repeated values into
    /// outputs.
    pub steps: Vec<Step>,
    /// Arena size in bytes.
    pub arena_bytes: usize,
    /// Multiply-accumulates per run.
    pub macs: u64,
    /// IR ops the schedule runs (sorted, unique).
    pub ops: Vec<&'static str>,
}

impl Program {
    /// Total weight bytes.
    pub fn weight_bytes(&self) -> usize {
        self.weights.iter().map(|w| w.bytes.len()).sum()
    }

    /// Bytes of the constant tables the calls carry (see [`Kernel::table_bytes`]) on
    /// a target whose pointers are `usize_bytes` wide.
    pub fn table_bytes(&self, usize_bytes: usize) -> usize {
        self.steps.iter().flat_map(|s| &s.calls).map(|c| c.kernel.table_bytes(usize_bytes)).sum()
    }

    /// How many calls of each kernel family run on each ISA, for reports.
    pub fn kernel_counts(&self) -> std::collections::BTreeMap<(String, Isa), usize> {
        let mut m = std::collections::BTreeMap::new();
        for c in self.steps.iter().flat_map(|s| &s.calls) {
            *m.entry((c.kernel.family().function().to_string(), c.isa)).or_insert(0) += 1;
        }
        m
    }
}

/// A readable upper-case symbol for a weight: its index (for uniqueness), then the
/// informative tail of its name. Converters join fused names with `;` and scope them
/// with `/` (`functional_1/conv2d/Conv2D;…;functional_1/conv2d/bias`): the last
/// `;` part without its outermost scope is kept, cut from the front to 40 characters.
fn weight_symbol(index: usize, name: &str) -> String {
    let last = name.rsplit(';').next().unwrap_or(name);
    let parts: Vec<&str> = last.split('/').filter(|p| !p.is_empty()).collect();
    let tail = if parts.len() > 2 { parts[1..].join("_") } else { parts.join("_") };
    let mut s = String::new();
    for ch in tail.chars() {
        if ch.is_ascii_alphanumeric() {
            s.push(ch.to_ascii_uppercase());
        } else if !s.is_empty() && !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_end_matches('_');
    let s = if s.len() > 40 { s[s.len() - 40..].trim_start_matches('_') } else { s };
    if s.is_empty() {
        format!("W{index}")
    } else {
        format!("W{index}_{s}")
    }
}

fn node_ref(g: &Graph, n: NodeId) -> NodeRef {
    let nd = g.node(n);
    NodeRef { name: nd.name.clone(), op_type: nd.op.name().to_string(), domain: IR_DOMAIN.into(), opset: 0 }
}

fn problem(g: &Graph, n: NodeId, e: OpError) -> Problem {
    let node = node_ref(g, n);
    match e {
        OpError::Invalid(detail) => Problem::Invalid { node, detail },
        OpError::Unsupported(detail) => Problem::Unsupported { node, detail },
    }
}

fn type_list(g: &Graph, vals: impl Iterator<Item = Option<ValueId>>) -> String {
    vals.map(|v| v.map_or("-".to_string(), |v| g.ty(v).to_string())).collect::<Vec<_>>().join(", ")
}

struct Lowering<'g> {
    g: &'g Graph,
    plan: &'g Plan,
    weights: Vec<Weight>,
    weight_of: HashMap<ValueId, usize>,
    packed_of: HashMap<(Packed, Family, Isa), usize>,
}

impl Lowering<'_> {
    fn place(&mut self, v: ValueId) -> Result<Place, String> {
        Ok(match self.plan.loc.get(&v) {
            Some(Loc::Input(i)) => Place::Input(*i),
            Some(Loc::Output(k)) => Place::Output(*k),
            Some(Loc::Arena { offset, .. }) => Place::Arena { offset: *offset },
            Some(Loc::Const) => {
                if let Some(&i) = self.weight_of.get(&v) {
                    return Ok(Place::Weight(i));
                }
                let t = self.g.const_of(v).ok_or_else(|| format!("`{}` has no constant data", self.g.value(v).name))?;
                let i = self.weights.len();
                self.weights.push(Weight {
                    symbol: weight_symbol(i, &self.g.value(v).name),
                    source: self.g.value(v).name.clone(),
                    ty: self.g.ty(v).clone(),
                    bytes: t.data.to_le_bytes(),
                });
                self.weight_of.insert(v, i);
                Place::Weight(i)
            }
            Some(Loc::Unused) => Place::Empty,
            None => return Err(format!("`{}` has no storage in the memory plan", self.g.value(v).name)),
        })
    }

    /// A constant repacked by the implementation that reads it, stored once per
    /// (constant, kernel family, ISA); or one it supplies for an absent operand.
    fn packed(&mut self, from: Packed, family: Family, isa: Isa, t: Tensor) -> Operand {
        let (dtype, len) = (t.dtype(), t.numel());
        let i = match self.packed_of.get(&(from, family, isa)) {
            Some(&i) => i,
            None => {
                let i = self.weights.len();
                let name = &match from {
                    Packed::Value(v) => self.g.value(v).name.clone(),
                    Packed::Absent(n, slot) => format!("{}.operand{slot}", self.g.node(n).name),
                };
                self.weights.push(Weight {
                    symbol: format!("{}_{}", weight_symbol(i, name), isa.module().to_uppercase()),
                    source: format!("{name}, packed for {isa}::{}", family.function()),
                    ty: t.ty(),
                    bytes: t.data.to_le_bytes(),
                });
                self.packed_of.insert((from, family, isa), i);
                i
            }
        };
        Operand { place: Place::Weight(i), dtype, len }
    }

    fn operand(&mut self, n: NodeId, slot: Slot) -> Result<Operand, String> {
        let nd = self.g.node(n);
        let value = |v: Option<ValueId>| v.ok_or_else(|| format!("the kernel reads {slot:?}, which is absent"));
        let v = match slot {
            Slot::In(i) => value(nd.inputs.get(i).copied().flatten())?,
            Slot::Out(i) => value(nd.outputs.get(i).copied())?,
            Slot::Scratch(dtype) => {
                // An implementation that needs no scratch got none planned: an empty slice.
                return Ok(match self.plan.scratch.get(&n) {
                    Some(&(offset, bytes)) => {
                        Operand { place: Place::Arena { offset }, dtype, len: bytes / dtype.size() }
                    }
                    None => Operand::empty(dtype),
                });
            }
            Slot::Absent => return Ok(Operand::empty(DType::F32)),
        };
        let ty = self.g.ty(v);
        let place = self.place(v)?;
        if place == Place::Empty {
            return Ok(Operand::empty(ty.dtype));
        }
        Ok(Operand { place, dtype: ty.dtype, len: ty.numel() })
    }

    /// Checks that every arena operand is inside the arena and aligned.
    fn check_bounds<'o>(&self, operands: impl Iterator<Item = &'o Operand>) -> Result<(), String> {
        for o in operands {
            if let Place::Arena { offset: lo } = o.place {
                let hi = lo + o.bytes();
                if hi > self.plan.arena_bytes {
                    return Err(format!("an operand at [{lo}, {hi}) leaves the {}-byte arena", self.plan.arena_bytes));
                }
                if lo % o.dtype.size() != 0 {
                    return Err(format!("an {} operand at arena offset {lo} is misaligned", o.dtype));
                }
            }
        }
        Ok(())
    }

    /// Checks that every arena operand of a step is inside the arena, aligned, and
    /// that no byte is both read and written by the step.
    fn check(&self, calls: &[KernelCall]) -> Result<(), String> {
        let arena = |o: &Operand| match o.place {
            Place::Arena { offset } => Some((offset, offset + o.bytes())),
            _ => None,
        };
        // An in-place call: its overlapped pair counts as one written span, checked
        // against the rule of its access order; its other operands as usual.
        for c in calls.iter() {
            if let Some(ip) = c.in_place {
                let (Some(x), Some(y)) = (c.reads.get(ip.read), c.writes.get(ip.write)) else {
                    return Err("an in-place call names a missing operand".into());
                };
                let (Place::Arena { offset: xo }, Place::Arena { offset: yo }) = (x.place, y.place) else {
                    return Err("an in-place call's operands are not both in the arena".into());
                };
                let ok = match (ip.overlap, &c.kernel) {
                    (Overlap::Elementwise, _) => {
                        xo == yo && x.bytes() == y.bytes() && c.reads.iter().all(|o| o.len == y.len)
                    }
                    (
                        Overlap::ConvRows,
                        Kernel::Conv2dQ8 { p, .. }
                        | Kernel::DepthwiseConv2dQ8 { p, .. }
                        | Kernel::Conv2dF32 { p, .. }
                        | Kernel::DepthwiseConv2dF32 { p, .. },
                    ) => {
                        use tinyops_runtime::kernels::inplace::{conv_rows_above, conv_rows_shift};
                        let size = x.dtype.size() as isize;
                        let (s, up) = (conv_rows_shift(p), conv_rows_above(p));
                        let below = s.is_some_and(|s| yo as isize <= xo as isize + s * size);
                        let above = up.is_some_and(|up| yo as isize >= xo as isize + up * size);
                        (below || above) && x.dtype == y.dtype
                    }
                    _ => false,
                };
                if !ok {
                    return Err(format!("an in-place call puts its result at {yo} over its input at {xo}, which its access order does not permit"));
                }
            }
        }
        let span_of = |c: &KernelCall, o: &Operand, is_read: bool, k: usize| -> Option<(usize, usize)> {
            match c.in_place {
                Some(ip) if (is_read && ip.read == k) || (!is_read && ip.write == k) => ip.span(c),
                _ => arena(o),
            }
        };
        self.check_bounds(calls.iter().flat_map(|c| c.reads.iter().chain(&c.writes)))?;
        let writes: Vec<(usize, usize)> = calls
            .iter()
            .flat_map(|c| c.writes.iter().enumerate().filter_map(move |(k, o)| span_of(c, o, false, k)))
            .collect();
        for c in calls {
            let reads = c
                .reads
                .iter()
                .enumerate()
                .filter(|(k, _)| c.in_place.is_none_or(|ip| ip.read != *k))
                .filter_map(|(_, o)| arena(o));
            for (lo, hi) in reads {
                if let Some((wl, wh)) = writes.iter().find(|(wl, wh)| lo < *wh && *wl < hi) {
                    return Err(format!("the step reads [{lo}, {hi}) of the arena while writing [{wl}, {wh})"));
                }
            }
        }
        Ok(())
    }
}

/// The working space each node needs on `target`: the largest scratch any of its
/// kernel calls' chosen implementations asks for (calls of one node run one after
/// another and share it). Planning reserves it; lowering hands it to the kernels. A
/// node whose lowering fails needs none here: [`lower`] reports it.
pub fn scratch_needs(g: &Graph, target: &'static Target) -> HashMap<NodeId, usize> {
    let mut needs = HashMap::new();
    for n in g.topo_order() {
        let nd = g.node(n);
        let args: Vec<Option<Arg>> =
            nd.inputs.iter().map(|v| v.map(|v| Arg { ty: g.ty(v), value: g.const_of(v) })).collect();
        let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        let Ok(invocations) = nd.op.def().lower(&LowerCx { inputs: &args, outputs: &out_types }) else { continue };
        let bytes = invocations
            .iter()
            .filter(|i| i.writes.iter().chain(&i.reads).any(|s| matches!(s, Slot::Scratch(_))))
            .filter_map(|i| {
                let consts = constants(g, n, &i.reads);
                select::select(&i.kernel, &consts, target).ok().map(|c| (c.imp.scratch)(&i.kernel))
            })
            .max()
            .unwrap_or(0);
        if bytes > 0 {
            needs.insert(n, bytes);
        }
    }
    needs
}

/// The inputs each node's kernel may write its result over on `target` (see
/// [`Overlap`]): nodes that lower to one call whose chosen implementation has an
/// in-place rule. The planner uses them where the input dies at the node.
pub fn in_place_options(g: &Graph, target: &'static Target) -> HashMap<NodeId, Vec<InPlaceOption>> {
    let mut options = HashMap::new();
    for n in g.topo_order() {
        let nd = g.node(n);
        if nd.op.def().is_view() {
            continue;
        }
        let args: Vec<Option<Arg>> =
            nd.inputs.iter().map(|v| v.map(|v| Arg { ty: g.ty(v), value: g.const_of(v) })).collect();
        let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        let Ok(invocations) = nd.op.def().lower(&LowerCx { inputs: &args, outputs: &out_types }) else { continue };
        let [inv] = invocations.as_slice() else { continue };
        let consts = constants(g, n, &inv.reads);
        let Ok(choice) = select::select(&inv.kernel, &consts, target) else { continue };
        let Some(overlap) = choice.imp.in_place else { continue };
        let found = in_place_slots(inv, overlap);
        let mut list = vec![];
        for (read, write, shift_elems, above_elems, exact) in found {
            let (Some(Slot::In(i)), Some(Slot::Out(j))) = (inv.reads.get(read), inv.writes.get(write)) else {
                continue;
            };
            let (Some(&Some(input)), Some(&output)) = (nd.inputs.get(*i), nd.outputs.get(*j)) else { continue };
            let (xt, yt) = (g.ty(input), g.ty(output));
            if g.const_of(input).is_some() || xt.dtype != yt.dtype {
                continue;
            }
            // An exact overlap cuts every operand in the same chunks: no broadcasting.
            let same_len = |s: &Slot| match *s {
                Slot::In(k) => nd.inputs.get(k).copied().flatten().is_none_or(|v| g.ty(v).numel() == yt.numel()),
                _ => true,
            };
            if exact && (xt.numel() != yt.numel() || !inv.reads.iter().all(same_len)) {
                continue;
            }
            let shift = shift_elems * xt.dtype.size() as isize;
            let above = above_elems.map(|a| a * xt.dtype.size() as isize);
            list.push(InPlaceOption { input, output, shift, above, exact });
        }
        if !list.is_empty() {
            options.insert(n, list);
        }
    }
    options
}

/// The (read, write, shift in elements, least start above in elements, exact)
/// operand pairs an invocation may overlap under `overlap`.
#[allow(clippy::type_complexity, reason = "a private list of plain tuples")]
fn in_place_slots(inv: &Invocation, overlap: Overlap) -> Vec<(usize, usize, isize, Option<isize>, bool)> {
    match (overlap, &inv.kernel) {
        (
            Overlap::ConvRows,
            Kernel::Conv2dQ8 { p, .. }
            | Kernel::DepthwiseConv2dQ8 { p, .. }
            | Kernel::Conv2dF32 { p, .. }
            | Kernel::DepthwiseConv2dF32 { p, .. },
        ) => {
            use tinyops_runtime::kernels::inplace::{conv_rows_above, conv_rows_shift};
            match conv_rows_shift(p) {
                Some(s) if !inv.writes.is_empty() => vec![(0, inv.writes.len() - 1, s, conv_rows_above(p), false)],
                _ => vec![],
            }
        }
        (Overlap::Elementwise, Kernel::AddQ8 { .. } | Kernel::BinaryF32 { .. }) => {
            vec![(0, 0, 0, None, true), (1, 0, 0, None, true)]
        }
        _ => vec![],
    }
}

/// The alignment of arena offsets on a target: 16 bytes on the host (x86 vector
/// loads), 8 on 32-bit microcontrollers (the widest element, and Arm's doubleword
/// loads). Every element type's own alignment divides both.
pub fn arena_align(target: &Target) -> usize {
    if target.is_host() {
        crate::plan::ALIGN
    } else {
        8
    }
}

/// What a repacked weight was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Packed {
    /// A constant of the graph.
    Value(ValueId),
    /// Nothing: the operand at this read position of this node was absent, and the
    /// implementation supplies one (a bias holding only a folded zero point).
    Absent(NodeId, usize),
}

/// The constant data of each read operand of an invocation (`None` for run-time and
/// absent operands).
fn constants<'g>(g: &'g Graph, n: NodeId, reads: &[Slot]) -> Vec<Option<&'g Tensor>> {
    reads
        .iter()
        .map(|s| match *s {
            Slot::In(i) => g.node(n).inputs.get(i).copied().flatten().and_then(|v| g.const_of(v)),
            _ => None,
        })
        .collect()
}

/// The kernel calls of node `n` (its problems pushed to `problems`).
fn node_calls(lw: &mut Lowering, n: NodeId, target: &'static Target, problems: &mut Vec<Problem>) -> Vec<KernelCall> {
    let (g, plan) = (lw.g, lw.plan);
    let nd = g.node(n);
    let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
    let args: Vec<Option<Arg>> =
        nd.inputs.iter().map(|v| v.map(|v| Arg { ty: g.ty(v), value: g.const_of(v) })).collect();
    let cx = LowerCx { inputs: &args, outputs: &out_types };
    let invocations = match nd.op.def().lower(&cx) {
        Ok(i) => i,
        Err(e) => {
            problems.push(problem(g, n, e));
            return vec![];
        }
    };
    let mut calls = vec![];
    let internal = |detail: String| Problem::Invalid { node: node_ref(g, n), detail: format!("internal: {detail}") };
    for inv in invocations {
        let consts = constants(g, n, &inv.reads);
        let choice = match select::select(&inv.kernel, &consts, target) {
            Ok(c) => c,
            Err(e) => {
                problems.push(Problem::Unsupported { node: node_ref(g, n), detail: e.to_string() });
                continue;
            }
        };
        let imp = choice.imp;
        // The implementation may want its constant operands in its own order.
        let mut packed = choice.packed.into_iter();
        let mut reads = vec![];
        for (k, s) in inv.reads.iter().enumerate() {
            let from = match *s {
                Slot::In(i) => nd.inputs.get(i).copied().flatten().map(Packed::Value),
                Slot::Absent => Some(Packed::Absent(n, k)),
                _ => None,
            };
            match (packed.next().flatten(), from) {
                (Some(t), Some(from)) => reads.push(Ok(lw.packed(from, inv.kernel.family(), imp.isa, t))),
                _ => reads.push(lw.operand(n, *s)),
            }
        }
        let writes: Result<Vec<Operand>, String> = inv.writes.iter().map(|&s| lw.operand(n, s)).collect();
        // The plan put the result over its dead input: find the operand pair.
        let in_place = plan.in_place.get(&n).and_then(|ip| {
            let overlap = imp.in_place?;
            in_place_slots(&inv, overlap).into_iter().find_map(|(read, write, _, _, _)| {
                let (Some(Slot::In(i)), Some(Slot::Out(j))) = (inv.reads.get(read), inv.writes.get(write)) else {
                    return None;
                };
                let same =
                    nd.inputs.get(*i).copied().flatten() == Some(ip.input) && nd.outputs.get(*j) == Some(&ip.output);
                same.then_some(InPlaceCall { read, write, overlap })
            })
        });
        if plan.in_place.contains_key(&n) && in_place.is_none() {
            problems.push(internal("the plan overlaps a result with its input, but no kernel call can".into()));
        }
        match (reads.into_iter().collect::<Result<Vec<_>, _>>(), writes) {
            (Ok(reads), Ok(writes)) => {
                calls.push(KernelCall { kernel: inv.kernel, isa: imp.isa, reads, writes, in_place })
            }
            (Err(e), _) | (_, Err(e)) => problems.push(internal(e)),
        }
    }
    calls
}

/// Lowers a planned graph for a target. Every node's problems are collected, so a
/// model with several unsupported uses reports them all at once.
pub fn lower(g: &Graph, plan: &Plan, target: &'static Target) -> Result<Program, Vec<Problem>> {
    let mut lw = Lowering { g, plan, weights: vec![], weight_of: HashMap::new(), packed_of: HashMap::new() };
    let mut steps = vec![];
    let mut problems = vec![];
    let mut macs = 0u64;
    for &n in &plan.order {
        let nd = g.node(n);
        let in_types: Vec<Option<&TensorType>> = nd.inputs.iter().map(|v| v.map(|v| g.ty(v))).collect();
        let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        macs += nd.op.def().macs(&in_types, &out_types);
        if let Some(s) = plan.stream_of(n) {
            // A streamed group is one step, lowered at its producer.
            if s.option.producer == n {
                match stream::lower_group(&mut lw, s, target, &mut problems) {
                    Ok(step) => steps.push(step),
                    Err(e) => {
                        problems.push(Problem::Invalid { node: node_ref(g, n), detail: format!("internal: {e}") })
                    }
                }
            }
            continue;
        }
        if nd.op.def().is_view() && !plan.copying_views.contains(&n) {
            continue; // shares its source's storage: nothing runs
        }
        let calls = node_calls(&mut lw, n, target, &mut problems);
        if let Err(e) = lw.check(&calls) {
            problems.push(Problem::Invalid { node: node_ref(g, n), detail: format!("internal: {e}") });
        }
        steps.push(Step {
            node: nd.name.clone(),
            op: nd.op.name(),
            signature: format!(
                "{} → {}",
                type_list(g, nd.inputs.iter().copied()),
                type_list(g, nd.outputs.iter().map(|&o| Some(o)))
            ),
            calls,
            stream: None,
        });
    }
    if !plan.final_copies.is_empty() {
        let mut calls = vec![];
        for &(k, v) in &plan.final_copies {
            let ty = g.ty(v);
            let place = lw.place(v).map_err(|e| vec![Problem::Structure { detail: format!("internal: {e}") }])?;
            calls.push(KernelCall {
                kernel: Kernel::Copy { t: ty.dtype },
                isa: Isa::Portable,
                reads: vec![Operand { place, dtype: ty.dtype, len: ty.numel() }],
                writes: vec![Operand { place: Place::Output(k), dtype: ty.dtype, len: ty.numel() }],
                in_place: None,
            });
        }
        steps.push(Step {
            node: "outputs".into(),
            op: "copy",
            signature: "constant or repeated model outputs".into(),
            calls,
            stream: None,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let port = |v: &ValueId| Port { name: g.value(*v).name.clone(), ty: g.ty(*v).clone() };
    let mut ops: Vec<&'static str> = plan.order.iter().map(|&n| g.node(n).op.name()).collect();
    ops.sort_unstable();
    ops.dedup();
    Ok(Program {
        inputs: g.inputs().iter().map(port).collect(),
        outputs: g.outputs().iter().map(port).collect(),
        weights: lw.weights,
        steps,
        arena_bytes: plan.arena_bytes,
        macs,
        ops,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_symbols_are_readable_and_unique_by_index() {
        assert_eq!(weight_symbol(3, "conv1.weight"), "W3_CONV1_WEIGHT");
        assert_eq!(weight_symbol(0, "::"), "W0");
        let tf = "functional_1/activation/Relu;functional_1/conv2d/BiasAdd;functional_1/conv2d/Conv2D1_prequant.bias.q";
        assert_eq!(weight_symbol(1, tf), "W1_CONV2D_CONV2D1_PREQUANT_BIAS_Q");
        let long = weight_symbol(7, "a/very/long/scoped/name/that/goes/on/and/on/for/ever/weight");
        assert!(long.ends_with("_WEIGHT") && long.len() <= 43 && !long.contains("__"), "{long}");
    }
}
