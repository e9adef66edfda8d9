//! Control flow (If, Loop, Scan) where shapes stay static. The front end imports a
//! body where it runs, with its formal inputs bound to the values of that iteration:
//!
//! - **If** with a constant condition imports the taken branch only; with a run-time
//!   condition both branches are imported and each output is a `Where` on the
//!   condition, which needs the two branches' outputs to have one type (both are
//!   computed; the ops are pure, so the result is the taken branch's).
//! - **Loop** is unrolled: its trip count `M` and its condition must be constants at
//!   every iteration (a condition computed from the iteration number folds); scan
//!   outputs are stacked along a new first axis.
//! - **Scan** is unrolled over the (static) sequence axis of its scan inputs; each
//!   iteration reads one slice (a constant-index Gather) and its scan outputs are
//!   stacked along their axes, in either direction. Opset 8's batched form is
//!   unrolled over the batch too.
//!
//! - **FlexAttention** with `score_mod` or `prob_mod` subgraphs imports as its
//!   definition — `(Q·Kᵀ)·scale`, the score modifier, Softmax, the probability
//!   modifier, `·V` — with each modifier's body imported on the score tensor (f32
//!   inputs; query and key/value heads equal).
//!
//! Body nodes import like graph nodes — inference, folding, every importer — under a
//! name path (`loop/body/#3`), so a problem names the node inside the subgraph.

use super::{import_nodes, node_order, Decode, Importer, Reported};
use crate::error::{NodeRef, Problem};
use crate::ir::{Data, Graph, Tensor, ValueId};
use crate::ops::activation::Act;
use crate::ops::binary::{BinKind, Binary};
use crate::ops::gemm::MatMul;
use crate::ops::layout::{Concat, Gather, Reshape, Transpose};
use crate::ops::logic::Where;
use crate::ops::softmax::Softmax;
use crate::ops::{registry, OpError};
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::{GraphProto, NodeProto};
use std::collections::HashMap;

/// The most iterations one Loop or Scan unrolls to (each is a copy of its body).
pub const MAX_UNROLL: usize = 4096;

/// The most body imports of a whole model (nested loops multiply).
pub const MAX_BODY_IMPORTS: usize = 1 << 16;

/// Why a control-flow node failed.
pub(crate) enum Fault {
    /// The node itself is wrong or unsupported.
    Op(OpError),
    /// A node inside a body failed; its problem is recorded.
    Reported,
}

impl From<OpError> for Fault {
    fn from(e: OpError) -> Self {
        Fault::Op(e)
    }
}

impl From<Reported> for Fault {
    fn from(_: Reported) -> Self {
        Fault::Reported
    }
}

fn invalid(detail: String) -> Fault {
    Fault::Op(OpError::Invalid(detail))
}

fn unsupported(detail: String) -> Fault {
    Fault::Op(OpError::Unsupported(detail))
}

/// True for the control-flow ops this module imports.
pub(crate) fn is_control(n: &NodeProto) -> bool {
    let flex_mod = n.domain == "ai.onnx.preview"
        && n.op_type == "FlexAttention"
        && n.attribute.iter().any(|a| a.name == "score_mod" || a.name == "prob_mod");
    flex_mod || (n.domain.is_empty() || n.domain == "ai.onnx") && matches!(n.op_type.as_str(), "If" | "Loop" | "Scan")
}

/// The importer the op table lists for If, Loop and Scan: never called, because the
/// front end imports them itself (their bodies need the importer's scope).
pub fn import_in_front(_: &crate::front::node::NodeCx) -> crate::ops::OpResult<crate::front::node::Lowered> {
    Err(OpError::Invalid("control flow is imported by the front end".into()))
}

/// A graph-valued attribute of a node.
fn body<'n>(n: &'n NodeProto, name: &str) -> Result<&'n GraphProto, Fault> {
    let a = n
        .attribute
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| invalid(format!("the `{name}` subgraph is missing")))?;
    if a.type_.enum_value().ok() != Some(AttributeType::GRAPH) {
        return Err(invalid(format!("attribute `{name}` must be a graph")));
    }
    a.g.as_ref().ok_or_else(|| invalid(format!("attribute `{name}` has no graph")))
}

/// Records every op inside the node's subgraphs (recursively) that no importer takes,
/// so that the support check reports them with the others, named by their path.
pub(crate) fn check_bodies(im: &mut Importer, n: &NodeProto, path: &str) {
    for a in &n.attribute {
        let Some(g) = a.g.as_ref() else { continue };
        let inner = format!("{path}/{}/", a.name);
        for (i, m) in g.node.iter().enumerate() {
            let mut node = im.node_ref(m, i);
            node.name = format!("{inner}{}", node.name);
            if is_control(m) {
                check_bodies(im, m, &node.name);
                continue;
            }
            let domain = super::domain_name(&m.domain);
            match registry::lookup(domain, &m.op_type, node.opset) {
                registry::Support::Yes(_) => {}
                registry::Support::Opset(range) => {
                    im.problems.push(Problem::UnsupportedOp { node, supported: Some(range) })
                }
                registry::Support::No => {
                    im.problems.push(match registry::data_dependent(&m.op_type).filter(|_| domain == "ai.onnx") {
                        Some(detail) => Problem::Unsupported { node, detail },
                        None => Problem::UnsupportedOp { node, supported: None },
                    })
                }
            }
        }
    }
}

/// Imports a control-flow node; returns the values of its outputs.
pub(crate) fn import(
    im: &mut Importer,
    graph: &mut Graph,
    names: &HashMap<String, ValueId>,
    n: &NodeProto,
    node: &NodeRef,
    inputs: &[Option<ValueId>],
    decode: Decode,
) -> Result<Vec<ValueId>, Fault> {
    let mut cf = Flow { im, graph, names, n, node, decode, made: 0 };
    let outs = match n.op_type.as_str() {
        "If" => cf.import_if(inputs),
        "Loop" => cf.import_loop(inputs),
        "FlexAttention" => cf.import_flex(inputs),
        _ if node.opset < 9 => cf.import_scan8(inputs),
        _ => cf.import_scan(inputs),
    }?;
    // Values made here take the node's output names (outer values keep theirs).
    let outer: std::collections::HashSet<ValueId> = names.values().copied().collect();
    for (k, &v) in outs.iter().enumerate() {
        match n.output.get(k) {
            Some(name) if !name.is_empty() && !outer.contains(&v) && outs[..k].iter().all(|&u| u != v) => {
                graph.value_mut(v).name = name.clone();
            }
            _ => {}
        }
    }
    Ok(outs)
}

/// One control-flow node being imported.
struct Flow<'a, 'm> {
    im: &'a mut Importer<'m>,
    graph: &'a mut Graph,
    names: &'a HashMap<String, ValueId>,
    n: &'a NodeProto,
    node: &'a NodeRef,
    decode: Decode<'a>,
    made: usize,
}

impl Flow<'_, '_> {
    /// Adds one helper op (slice, stack, select) of this node.
    fn add(&mut self, op: impl Into<crate::ops::Op>, inputs: Vec<ValueId>) -> Result<ValueId, Fault> {
        let name = format!("{}/{}", self.node.name, self.made);
        self.made += 1;
        let ins = inputs.into_iter().map(Some).collect();
        Ok(super::widen::add_op(self.graph, &name, op.into(), ins, vec![format!("{name}:0")])?[0])
    }

    fn constant(&mut self, t: Tensor) -> ValueId {
        let name = format!("{}/{}", self.node.name, self.made);
        self.made += 1;
        self.graph.add_const(name, t)
    }

    /// A scalar constant's value as a boolean (the condition of If and Loop).
    fn const_bool(&self, v: ValueId, what: &str) -> Result<Option<bool>, Fault> {
        if self.graph.ty(v).numel() != 1 {
            return Err(invalid(format!("{what} must hold one element, got shape {:?}", self.graph.ty(v).shape)));
        }
        Ok(self.graph.const_of(v).map(|t| t.data.get_f64(0) != 0.0))
    }

    /// Imports `g` with its formal inputs bound to `bind`; returns its outputs.
    fn run(&mut self, attr: &str, g: &GraphProto, bind: &[ValueId], label: &str) -> Result<Vec<ValueId>, Fault> {
        if g.input.len() != bind.len() {
            return Err(invalid(format!(
                "the `{attr}` subgraph has {} inputs, {} expected",
                g.input.len(),
                bind.len()
            )));
        }
        self.im.bodies += 1;
        if self.im.bodies > MAX_BODY_IMPORTS {
            return Err(unsupported(format!(
                "more than {MAX_BODY_IMPORTS} subgraph copies in the model (nested loops are unrolled)"
            )));
        }
        let mut local = self.names.clone();
        for (vi, &v) in g.input.iter().zip(bind) {
            if let Some((elem, _)) = super::declared_dims(vi) {
                if let Ok(dt) = super::tensor::dtype_of(elem) {
                    if elem != 0 && dt != self.graph.ty(v).dtype {
                        return Err(invalid(format!(
                            "`{attr}` input `{}` is declared {dt} but receives {}",
                            vi.name,
                            self.graph.ty(v)
                        )));
                    }
                }
            }
            local.insert(vi.name.clone(), v);
        }
        for t in &g.initializer {
            let data = (self.decode)(t).map_err(|e| invalid(format!("`{attr}` initializer `{}`: {e}", t.name)))?;
            let id = self.graph.add_const(t.name.clone(), data);
            local.insert(t.name.clone(), id);
        }
        node_order(&g.node, &local).map_err(|p| invalid(format!("the `{attr}` subgraph: {p}")))?;
        let path = format!("{}/{label}/", self.node.name);
        import_nodes(self.im, self.graph, &mut local, &g.node, &path, self.decode)?;
        g.output
            .iter()
            .map(|o| {
                local
                    .get(&o.name)
                    .copied()
                    .ok_or_else(|| invalid(format!("`{attr}` output `{}` is not defined by any node", o.name)))
            })
            .collect()
    }

    fn import_if(&mut self, inputs: &[Option<ValueId>]) -> Result<Vec<ValueId>, Fault> {
        let cond = inputs.first().copied().flatten().ok_or_else(|| invalid("the condition is required".into()))?;
        let (then_g, else_g) = (body(self.n, "then_branch")?, body(self.n, "else_branch")?);
        if then_g.output.len() != else_g.output.len() {
            return Err(invalid(format!(
                "the branches have {} and {} outputs",
                then_g.output.len(),
                else_g.output.len()
            )));
        }
        match self.const_bool(cond, "the condition")? {
            Some(true) => self.run("then_branch", then_g, &[], "then"),
            Some(false) => self.run("else_branch", else_g, &[], "else"),
            None => {
                let a = self.run("then_branch", then_g, &[], "then")?;
                let b = self.run("else_branch", else_g, &[], "else")?;
                let c = self.add(Reshape { shape: vec![] }, vec![cond])?;
                let mut outs = vec![];
                for (k, (&x, &y)) in a.iter().zip(&b).enumerate() {
                    if self.graph.ty(x) != self.graph.ty(y) {
                        return Err(unsupported(format!(
                            "If with a run-time condition whose branches give output {k} different types ({} and {}); \
                             a static module needs one",
                            self.graph.ty(x),
                            self.graph.ty(y)
                        )));
                    }
                    outs.push(self.add(Where, vec![c, x, y])?);
                }
                Ok(outs)
            }
        }
    }

    /// Stacks per-iteration values along a new axis `axis`.
    fn stack(&mut self, parts: &[ValueId], axis: usize) -> Result<ValueId, Fault> {
        let mut lifted = vec![];
        for &p in parts {
            let mut shape = self.graph.ty(p).shape.clone();
            if axis > shape.len() {
                return Err(invalid(format!("scan output axis {axis} is out of range for rank {}", shape.len())));
            }
            shape.insert(axis, 1);
            lifted.push(self.add(Reshape { shape }, vec![p])?);
        }
        if lifted.len() == 1 {
            return Ok(lifted[0]);
        }
        self.add(Concat { axis }, lifted)
    }

    fn import_loop(&mut self, inputs: &[Option<ValueId>]) -> Result<Vec<ValueId>, Fault> {
        let g = body(self.n, "body")?;
        let trip = match inputs.first().copied().flatten() {
            None => None,
            Some(m) => match self.graph.const_of(m) {
                Some(t) if t.numel() == 1 => Some(t.data.get_f64(0).max(0.0) as u64),
                Some(t) => return Err(invalid(format!("M must hold one element, got shape {:?}", t.shape))),
                None => {
                    return Err(unsupported(
                        "Loop with a trip count (M) computed at run time; a static module needs it at compile time"
                            .into(),
                    ))
                }
            },
        };
        let mut cond = match inputs.get(1).copied().flatten() {
            None => true,
            Some(c) => self.const_bool(c, "the condition")?.ok_or_else(|| {
                unsupported("Loop with a condition computed at run time; its trip count is not static".into())
            })?,
        };
        let mut states: Vec<ValueId> = inputs
            .iter()
            .skip(2)
            .map(|v| v.ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|_| invalid("every loop-carried input must be given".into()))?;
        let n_scan = g.output.len().checked_sub(1 + states.len()).ok_or_else(|| {
            invalid(format!(
                "the body has {} outputs, fewer than 1 + {} loop-carried values",
                g.output.len(),
                states.len()
            ))
        })?;
        let mut scans: Vec<Vec<ValueId>> = vec![vec![]; n_scan];
        let mut i = 0u64;
        while cond && trip.is_none_or(|m| i < m) {
            if i as usize >= MAX_UNROLL {
                return Err(unsupported(format!("Loop of more than {MAX_UNROLL} iterations (each is unrolled)")));
            }
            let iter = self.constant(Tensor::scalar(Data::I64(vec![i as i64])));
            let c = self.constant(Tensor::scalar(Data::Bool(vec![true])));
            let mut bind = vec![iter, c];
            bind.extend(&states);
            let outs = self.run("body", g, &bind, &format!("body{i}"))?;
            cond = self.const_bool(outs[0], "the body's condition output")?.ok_or_else(|| {
                unsupported("Loop whose body computes its condition at run time; its trip count is not static".into())
            })?;
            states = outs[1..1 + states.len()].to_vec();
            for (k, s) in scans.iter_mut().enumerate() {
                s.push(outs[1 + states.len() + k]);
            }
            i += 1;
        }
        let mut outs = states;
        for parts in scans {
            if parts.is_empty() {
                return Err(unsupported("Loop of zero iterations with scan outputs (an empty tensor)".into()));
            }
            outs.push(self.stack(&parts, 0)?);
        }
        Ok(outs)
    }

    /// Scan (opset 9+): `inputs` are the initial states, then the scan inputs.
    fn import_scan(&mut self, inputs: &[Option<ValueId>]) -> Result<Vec<ValueId>, Fault> {
        let inputs: Vec<ValueId> = inputs
            .iter()
            .map(|v| v.ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|_| invalid("every Scan input must be given".into()))?;
        self.scan(&inputs, "scan_input_directions", "")
    }

    /// Scan of opset 8: a batch axis first on every input and output, and an optional
    /// `sequence_lens` (not supported unless absent); each batch row is scanned alone.
    fn import_scan8(&mut self, inputs: &[Option<ValueId>]) -> Result<Vec<ValueId>, Fault> {
        if inputs.first().copied().flatten().is_some() {
            return Err(unsupported("Scan (opset 8) with sequence_lens (per-row lengths are data)".into()));
        }
        let inputs: Vec<ValueId> = inputs[1.min(inputs.len())..]
            .iter()
            .map(|v| v.ok_or(()))
            .collect::<Result<_, _>>()
            .map_err(|_| invalid("every Scan input must be given".into()))?;
        let batch = match inputs.first() {
            Some(&v) if self.graph.ty(v).rank() > 0 => self.graph.ty(v).shape[0],
            _ => return Err(invalid("Scan (opset 8) needs inputs with a batch axis".into())),
        };
        let mut rows: Vec<Vec<ValueId>> = vec![];
        for b in 0..batch {
            let mut sliced = vec![];
            for &v in &inputs {
                if self.graph.ty(v).rank() == 0 || self.graph.ty(v).shape[0] != batch {
                    return Err(invalid(format!("every input needs the batch axis of {batch}")));
                }
                sliced.push(self.add(Gather { axis: 0, indices: vec![b], indices_shape: vec![] }, vec![v])?);
            }
            rows.push(self.scan(&sliced, "directions", &format!("b{b}"))?);
        }
        let n_out = rows.first().map_or(0, Vec::len);
        (0..n_out).map(|k| self.stack(&rows.iter().map(|r| r[k]).collect::<Vec<_>>(), 0)).collect()
    }

    fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, Fault> {
        match self.n.attribute.iter().find(|a| a.name == name) {
            None => Ok(None),
            Some(a) if a.type_.enum_value().ok() == Some(AttributeType::INTS) => Ok(Some(a.ints.clone())),
            Some(_) => Err(invalid(format!("attribute `{name}` must be a list of integers"))),
        }
    }

    /// The unrolled scan over `inputs` (states, then scan inputs).
    fn scan(&mut self, inputs: &[ValueId], directions: &str, label: &str) -> Result<Vec<ValueId>, Fault> {
        let g = body(self.n, "body")?;
        let m = match self.n.attribute.iter().find(|a| a.name == "num_scan_inputs") {
            Some(a) if a.i > 0 && a.i as usize <= inputs.len() => a.i as usize,
            _ => return Err(invalid("num_scan_inputs must be between 1 and the number of inputs".into())),
        };
        let n_state = inputs.len() - m;
        let n_scan_out = g.output.len().checked_sub(n_state).ok_or_else(|| {
            invalid(format!("the body has {} outputs, fewer than its {n_state} states", g.output.len()))
        })?;
        let list = |v: Option<Vec<i64>>, len: usize, what: &str| -> Result<Vec<i64>, Fault> {
            let v = v.unwrap_or_else(|| vec![0; len]);
            if v.len() != len {
                return Err(invalid(format!("{what} has {} entries, {len} expected", v.len())));
            }
            Ok(v)
        };
        let in_dirs = list(self.ints(directions)?, m, directions)?;
        let out_dirs = list(self.ints("scan_output_directions")?, n_scan_out, "scan_output_directions")?;
        let in_axes = list(self.ints("scan_input_axes")?, m, "scan_input_axes")?;
        let out_axes = list(self.ints("scan_output_axes")?, n_scan_out, "scan_output_axes")?;
        let mut axes = vec![];
        let mut len = None;
        for (j, &v) in inputs[n_state..].iter().enumerate() {
            let ty = self.graph.ty(v);
            let r = ty.rank() as i64;
            let a = in_axes[j];
            if a < -r || a >= r {
                return Err(invalid(format!("scan input {j}: axis {a} is out of range for rank {r}")));
            }
            let a = if a < 0 { a + r } else { a } as usize;
            if len.is_some_and(|l| l != ty.shape[a]) {
                return Err(invalid("the scan inputs have different sequence lengths".into()));
            }
            len = Some(ty.shape[a]);
            axes.push(a);
        }
        let len = len.unwrap_or(0);
        if len == 0 {
            return Err(unsupported("Scan over an empty sequence (empty outputs)".into()));
        }
        if len > MAX_UNROLL {
            return Err(unsupported(format!("Scan of more than {MAX_UNROLL} steps (each is unrolled)")));
        }
        let mut states = inputs[..n_state].to_vec();
        let mut parts: Vec<Vec<ValueId>> = vec![vec![]; n_scan_out];
        for t in 0..len {
            let mut bind = states.clone();
            for (j, &v) in inputs[n_state..].iter().enumerate() {
                let at = if in_dirs[j] == 1 { len - 1 - t } else { t };
                bind.push(self.add(Gather { axis: axes[j], indices: vec![at], indices_shape: vec![] }, vec![v])?);
            }
            let outs = self.run("body", g, &bind, &format!("body{label}{t}"))?;
            states = outs[..n_state].to_vec();
            for (k, p) in parts.iter_mut().enumerate() {
                p.push(outs[n_state + k]);
            }
        }
        let mut outs = states;
        for (k, mut p) in parts.into_iter().enumerate() {
            if out_dirs[k] == 1 {
                p.reverse();
            }
            let r = self.graph.ty(p[0]).rank() as i64 + 1;
            let a = out_axes[k];
            if a < -r || a >= r {
                return Err(invalid(format!("scan output {k}: axis {a} is out of range for rank {r}")));
            }
            outs.push(self.stack(&p, if a < 0 { a + r } else { a } as usize)?);
        }
        Ok(outs)
    }

    /// FlexAttention with modifier subgraphs (see the module documentation).
    fn import_flex(&mut self, inputs: &[Option<ValueId>]) -> Result<Vec<ValueId>, Fault> {
        let (Some(&Some(q)), Some(&Some(k)), Some(&Some(v)), 3) =
            (inputs.first(), inputs.get(1), inputs.get(2), inputs.len())
        else {
            return Err(invalid("FlexAttention takes Q, K and V".into()));
        };
        let (qt, kt, vt) = (self.graph.ty(q).clone(), self.graph.ty(k).clone(), self.graph.ty(v).clone());
        if qt.rank() != 4 || kt.rank() != 4 || vt.rank() != 4 {
            return Err(invalid("FlexAttention takes 4-D Q, K and V".into()));
        }
        if qt.dtype != crate::ir::DType::F32 || kt.dtype != qt.dtype || vt.dtype != qt.dtype {
            return Err(unsupported(format!("FlexAttention with modifier subgraphs on {} (f32)", qt.dtype)));
        }
        if qt.shape[1] != kt.shape[1] || kt.shape[1] != vt.shape[1] {
            return Err(unsupported(
                "FlexAttention with modifier subgraphs and grouped key/value heads (equal head counts)".into(),
            ));
        }
        if self.n.attribute.iter().any(|a| a.name == "softmax_precision" && a.i != 1) {
            return Err(unsupported("FlexAttention with a softmax_precision other than f32".into()));
        }
        let scale = match self.n.attribute.iter().find(|a| a.name == "scale") {
            Some(a) => a.f,
            None => 1.0 / (qt.shape[3] as f32).sqrt(),
        };
        let kt_t = self.add(Transpose { perm: vec![0, 1, 3, 2] }, vec![k])?;
        let qk = self.add(MatMul { act: Act::NONE }, vec![q, kt_t])?;
        let s = self.constant(Tensor::scalar(Data::F32(vec![scale])));
        let mut scores = self.add(Binary { kind: BinKind::Mul, act: Act::NONE }, vec![qk, s])?;
        let modify = |cf: &mut Self, attr: &str, x: ValueId| -> Result<ValueId, Fault> {
            if !cf.n.attribute.iter().any(|a| a.name == attr) {
                return Ok(x);
            }
            let g = body(cf.n, attr)?;
            let out = cf.run(attr, g, &[x], attr)?;
            match out[..] {
                [y] if cf.graph.ty(y) == cf.graph.ty(x) => Ok(y),
                _ => Err(invalid(format!("the `{attr}` subgraph must give one output of its input's type"))),
            }
        };
        scores = modify(self, "score_mod", scores)?;
        let mut probs = self.add(Softmax { axis: 3, coerce_2d: false, log: false }, vec![scores])?;
        probs = modify(self, "prob_mod", probs)?;
        Ok(vec![self.add(MatMul { act: Act::NONE }, vec![probs, v])?])
    }
}
