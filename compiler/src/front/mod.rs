//! The ONNX front end: protobuf → validated [`Graph`] with static types.
//!
//! Reading happens in stages, each of which reports every problem it finds before
//! the next one starts: decode, check that every op is supported, type the inputs
//! (dynamic dimensions must be pinned), decode initializers, then import the nodes in
//! order with inference and constant folding.

pub mod control;
pub mod node;
pub mod tensor;
mod widen;

use crate::error::{Error, NodeRef, Problem, Result};
use crate::ir::{Graph, Tensor, TensorType, ValueId};
use crate::ops::registry::{self, Support};
use crate::ops::{Arg, OpError};
use node::{Lowered, NodeCx};
use onnx_protobuf::{Message, ModelProto, NodeProto, ValueInfoProto};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Options of the front end.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Shapes for graph inputs, by input name (`--input-shape name=1,3,96,96`). Required
    /// for every input whose declared shape is not fully static.
    pub input_shapes: BTreeMap<String, Vec<usize>>,
    /// Graph inputs made compile-time constants, by input name (`--freeze
    /// name=value.pb`): the model is compiled as if the value were an initializer.
    pub frozen: BTreeMap<String, Tensor>,
}

/// A decoded model file: the protobuf plus what the front end needs to resolve paths.
pub struct OnnxModel {
    /// The file it came from.
    pub path: PathBuf,
    /// The decoded protobuf.
    pub proto: ModelProto,
    /// Raw bytes of the file (for the manifest's SHA-256).
    pub bytes: Vec<u8>,
}

/// The largest model file accepted (protobuf itself stops at 2 GiB).
const MAX_MODEL_BYTES: u64 = 2 << 30;

/// Reads and decodes a model file.
pub fn read(path: &Path) -> Result<OnnxModel> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            detail: "this is a folder; pass the model.onnx file inside it".into(),
        });
    }
    if meta.len() > MAX_MODEL_BYTES {
        return Err(Error::Malformed {
            path: path.to_path_buf(),
            detail: format!("{} bytes is larger than 2 GiB", meta.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let proto = ModelProto::parse_from_bytes(&bytes).map_err(|e| Error::Malformed {
        path: path.to_path_buf(),
        detail: format!("protobuf decoding failed ({e}); the file may be truncated or not an ONNX model"),
    })?;
    if proto.graph.is_none() || proto.graph.node.is_empty() && proto.graph.output.is_empty() {
        return Err(Error::Malformed { path: path.to_path_buf(), detail: "it has no graph".into() });
    }
    Ok(OnnxModel { path: path.to_path_buf(), proto, bytes })
}

/// Reads a model file and imports it.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<(OnnxModel, Graph)> {
    let model = read(path)?;
    let graph = import(&model, opts)?;
    Ok((model, graph))
}

/// The canonical name of the default domain.
fn domain_name(d: &str) -> &str {
    if d.is_empty() {
        "ai.onnx"
    } else {
        d
    }
}

pub(crate) struct Importer<'m> {
    model: &'m OnnxModel,
    opsets: HashMap<String, i64>,
    dir: PathBuf,
    problems: Vec<Problem>,
    /// Subgraph bodies imported so far (unrolled loops count each copy).
    bodies: usize,
}

impl<'m> Importer<'m> {
    fn opset(&self, domain: &str) -> i64 {
        self.opsets.get(domain_name(domain)).copied().unwrap_or(0)
    }

    fn node_ref(&self, n: &NodeProto, index: usize) -> NodeRef {
        NodeRef {
            name: if n.name.is_empty() { format!("#{index}") } else { n.name.clone() },
            op_type: n.op_type.clone(),
            domain: domain_name(&n.domain).to_string(),
            opset: self.opset(&n.domain),
        }
    }

    fn fail(&mut self) -> Error {
        Error::Model { path: self.model.path.clone(), problems: std::mem::take(&mut self.problems) }
    }
}

/// Imports a decoded model into a typed graph.
pub fn import(model: &OnnxModel, opts: &LoadOptions) -> Result<Graph> {
    let g = &model.proto.graph;
    let mut im = Importer {
        model,
        opsets: model.proto.opset_import.iter().map(|o| (domain_name(&o.domain).to_string(), o.version)).collect(),
        dir: model.path.parent().map(Path::to_path_buf).unwrap_or_default(),
        problems: vec![],
        bodies: 0,
    };
    if model.proto.opset_import.is_empty() && model.proto.ir_version >= 3 {
        im.problems.push(Problem::Structure { detail: "the model imports no opset".into() });
    }

    // 1. Every op supported? Report all unsupported ones at once.
    let local_functions: HashSet<(String, String)> =
        model.proto.functions.iter().map(|f| (f.domain.clone(), f.name.clone())).collect();
    for (i, n) in g.node.iter().enumerate() {
        let domain = domain_name(&n.domain);
        if control::is_control(n) {
            let path = im.node_ref(n, i).name;
            control::check_bodies(&mut im, n, &path);
        }
        match registry::lookup(domain, &n.op_type, im.opset(&n.domain)) {
            Support::Yes(_) => {}
            Support::Opset(range) => {
                im.problems.push(Problem::UnsupportedOp { node: im.node_ref(n, i), supported: Some(range) })
            }
            Support::No => {
                let is_function = local_functions.contains(&(n.domain.clone(), n.op_type.clone()));
                let node = im.node_ref(n, i);
                let data_dependent = if domain == "ai.onnx" { registry::data_dependent(&n.op_type) } else { None };
                if let Some(detail) = data_dependent {
                    im.problems.push(Problem::Unsupported { node, detail });
                } else if is_function {
                    im.problems.push(Problem::Unsupported {
                        node,
                        detail: "the model calls a local ONNX function; inline it before compiling (e.g. onnx.inliner.inline_local_functions)".into(),
                    });
                } else {
                    im.problems.push(Problem::UnsupportedOp { node, supported: None });
                }
            }
        }
    }

    // 2. Graph inputs (initializers may also be listed as inputs in older models).
    let init_names: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    let mut graph = Graph::new(if g.name.is_empty() { "model" } else { g.name.as_str() });
    let mut names: HashMap<String, ValueId> = HashMap::new();
    let declared_inputs: Vec<&ValueInfoProto> =
        g.input.iter().filter(|i| !init_names.contains(i.name.as_str())).collect();
    for pin in opts.input_shapes.keys() {
        if !declared_inputs.iter().any(|i| &i.name == pin) {
            let known: Vec<&str> = declared_inputs.iter().map(|i| i.name.as_str()).collect();
            im.problems.push(Problem::BadPin {
                detail: format!("the model has no input `{pin}`; its inputs are: {}", known.join(", ")),
            });
        }
    }
    for name in opts.frozen.keys() {
        if !declared_inputs.iter().any(|i| &i.name == name) {
            let known: Vec<&str> = declared_inputs.iter().map(|i| i.name.as_str()).collect();
            im.problems.push(Problem::BadFreeze {
                detail: format!("the model has no input `{name}`; its inputs are: {}", known.join(", ")),
            });
        } else if opts.input_shapes.contains_key(name) {
            im.problems.push(Problem::BadFreeze {
                detail: format!("input `{name}` is both frozen and pinned; a frozen input takes its value's shape"),
            });
        }
    }
    for vi in &declared_inputs {
        if let Some(t) = opts.frozen.get(&vi.name) {
            match frozen_mismatch(vi, t) {
                None => {
                    let id = graph.add_const(vi.name.clone(), t.clone());
                    names.insert(vi.name.clone(), id);
                }
                Some(detail) => im.problems.push(Problem::BadFreeze { detail }),
            }
            continue;
        }
        match input_type(vi, opts.input_shapes.get(&vi.name)) {
            Ok(ty) => {
                let id = graph.add_input(vi.name.clone(), ty);
                names.insert(vi.name.clone(), id);
            }
            // A string input: named at each node that reads it (LabelEncoder, …).
            Err(Problem::UnsupportedType { dtype, .. })
                if dtype == "STRING" && g.node.iter().any(|n| n.input.contains(&vi.name)) =>
            {
                for (i, n) in g.node.iter().enumerate().filter(|(_, n)| n.input.contains(&vi.name)) {
                    let detail = format!("string tensors (input `{}`); generated code holds numbers only", vi.name);
                    im.problems.push(Problem::Unsupported { node: im.node_ref(n, i), detail });
                }
            }
            Err(p) => im.problems.push(p),
        }
    }

    // 3. Initializers.
    for t in &g.initializer {
        match tensor::decode(t, &im.dir) {
            Ok(data) => {
                let id = graph.add_const(t.name.clone(), data);
                names.insert(t.name.clone(), id);
            }
            Err(tensor::DecodeError::UnsupportedType(dtype)) => {
                im.problems.push(Problem::UnsupportedType { name: t.name.clone(), dtype })
            }
            Err(tensor::DecodeError::Invalid(detail)) => {
                im.problems.push(Problem::BadTensor { name: t.name.clone(), detail })
            }
        }
    }
    if !g.sparse_initializer.is_empty() {
        im.problems.push(Problem::Structure { detail: "sparse initializers are not supported".into() });
    }
    if !im.problems.is_empty() {
        return Err(im.fail());
    }

    // 4. Nodes, in dependency order (control-flow bodies are imported where they run).
    let dir = im.dir.clone();
    let decode_tensor = move |t: &onnx_protobuf::TensorProto| tensor::decode(t, &dir).map_err(|e| e.to_string());
    if import_nodes(&mut im, &mut graph, &mut names, &g.node, "", &decode_tensor).is_err() {
        return Err(im.fail());
    }

    // 5. Declared intermediate types (value_info) must agree with inference.
    for vi in &g.value_info {
        if let Some(&v) = names.get(&vi.name) {
            if let Some(detail) = declared_mismatch(vi, graph.ty(v)) {
                im.problems.push(Problem::Structure {
                    detail: format!(
                        "value `{}` {detail}; the model's value_info is stale, or this is a tinyops \
                         shape-inference bug (please report it)",
                        vi.name
                    ),
                });
            }
        }
    }

    // 6. Outputs.
    let mut outputs = vec![];
    for o in &g.output {
        match names.get(&o.name) {
            Some(&v) => {
                if let Some(detail) = declared_mismatch(o, graph.ty(v)) {
                    im.problems.push(Problem::Structure { detail: format!("output `{}` {detail}", o.name) });
                }
                outputs.push(v);
            }
            None => im
                .problems
                .push(Problem::Structure { detail: format!("graph output `{}` is not defined by any node", o.name) }),
        }
    }
    if outputs.is_empty() {
        im.problems.push(Problem::Structure { detail: "the graph has no outputs".into() });
    }
    if !im.problems.is_empty() {
        return Err(im.fail());
    }
    graph.set_outputs(outputs);
    Ok(graph)
}

/// A node failed to import; its problem is already recorded.
pub(crate) struct Reported;

/// Decodes tensor-valued attributes and subgraph initializers.
pub(crate) type Decode<'a> = &'a dyn Fn(&onnx_protobuf::TensorProto) -> Result<Tensor, String>;

/// Imports `nodes` in dependency order, resolving their inputs in `names` and adding
/// their outputs to it. `path` prefixes the node names of a subgraph (`loop/body/`), so
/// that a problem names the node inside it.
pub(crate) fn import_nodes(
    im: &mut Importer,
    graph: &mut Graph,
    names: &mut HashMap<String, ValueId>,
    nodes: &[NodeProto],
    path: &str,
    decode_tensor: Decode,
) -> Result<(), Reported> {
    let order = match node_order(nodes, names) {
        Ok(o) => o,
        Err(p) => {
            im.problems.push(p);
            return Err(Reported);
        }
    };
    for i in order {
        let n = &nodes[i];
        let mut node_ref = im.node_ref(n, i);
        node_ref.name = format!("{path}{}", node_ref.name);
        import_node(im, graph, names, n, node_ref, decode_tensor)?;
    }
    Ok(())
}

/// Imports one node.
fn import_node(
    im: &mut Importer,
    graph: &mut Graph,
    names: &mut HashMap<String, ValueId>,
    n: &NodeProto,
    node_ref: NodeRef,
    decode_tensor: Decode,
) -> Result<(), Reported> {
    let mut inputs: Vec<Option<ValueId>> = Vec::with_capacity(n.input.len());
    for name in &n.input {
        if name.is_empty() {
            inputs.push(None);
        } else if let Some(&v) = names.get(name) {
            inputs.push(Some(v));
        } else {
            im.problems.push(Problem::UndefinedValue { node: node_ref.clone(), value: name.clone() });
            return Err(Reported);
        }
    }
    if control::is_control(n) {
        let result = control::import(im, graph, names, n, &node_ref, &inputs, decode_tensor);
        return bind_outputs(im, names, n, node_ref, result);
    }
    let lowered = {
        let args: Vec<Option<Arg>> =
            inputs.iter().map(|v| v.map(|v| Arg { ty: graph.ty(v), value: graph.const_of(v) })).collect();
        let domain = domain_name(&n.domain);
        let entry = match registry::lookup(domain, &n.op_type, node_ref.opset) {
            Support::Yes(entry) => entry,
            Support::Opset(range) => {
                im.problems.push(Problem::UnsupportedOp { node: node_ref, supported: Some(range) });
                return Err(Reported);
            }
            Support::No => {
                im.problems.push(match registry::data_dependent(&n.op_type).filter(|_| domain == "ai.onnx") {
                    Some(detail) => Problem::Unsupported { node: node_ref, detail },
                    None => Problem::UnsupportedOp { node: node_ref, supported: None },
                });
                return Err(Reported);
            }
        };
        let cx = NodeCx::new(n, node_ref.opset, args, decode_tensor);
        (entry.import)(&cx)
    };
    let result = lowered.and_then(|l| match l {
        Lowered::Forward(slot) => {
            let v = inputs
                .get(slot)
                .copied()
                .flatten()
                .ok_or_else(|| OpError::Invalid(format!("input {slot} is required")))?;
            Ok(vec![v])
        }
        Lowered::Const(t) => Ok(vec![graph.add_const(n.output.first().cloned().unwrap_or_default(), t)]),
        Lowered::Nodes(subs) => {
            let last = subs.len().saturating_sub(1);
            let mut produced: Vec<Vec<ValueId>> = vec![];
            for (k, sub) in subs.into_iter().enumerate() {
                let mut ins = vec![];
                for src in sub.inputs {
                    ins.push(match src {
                        None => None,
                        Some(node::Src::In(s)) => inputs.get(s).copied().flatten(),
                        Some(node::Src::Node(i, o)) => produced.get(i).and_then(|p| p.get(o)).copied(),
                        Some(node::Src::Const(t)) => {
                            Some(graph.add_const(format!("{}/const{k}_{}", node_ref.name, ins.len()), t))
                        }
                    });
                }
                let n_out = if k == last { op_outputs(&sub.op, n) } else { 1 };
                let names = (0..n_out)
                    .map(|o| {
                        if k == last {
                            output_name(n, o, &node_ref.name)
                        } else {
                            format!("{}/{k}:{o}", node_ref.name)
                        }
                    })
                    .collect();
                produced.push(widen::add_op(graph, &format!("{}/{k}", node_ref.name), sub.op, ins, names)?);
            }
            Ok(produced.pop().unwrap_or_default())
        }
        Lowered::Graph(subs, outs) => {
            let mut produced: Vec<Vec<ValueId>> = vec![];
            let resolve = |graph: &mut Graph, produced: &[Vec<ValueId>], src: node::Src, k: usize, at: usize| match src
            {
                node::Src::In(s) => inputs.get(s).copied().flatten(),
                node::Src::Node(i, o) => produced.get(i).and_then(|p| p.get(o)).copied(),
                node::Src::Const(t) => Some(graph.add_const(format!("{}/const{k}_{at}", node_ref.name), t)),
            };
            for (k, sub) in subs.into_iter().enumerate() {
                let mut ins = vec![];
                for src in sub.inputs {
                    let at = ins.len();
                    ins.push(src.and_then(|s| resolve(graph, &produced, s, k, at)));
                }
                // LSTM and layer normalisation have three outputs, every other op one.
                let n_out = match &sub.op {
                    crate::ops::Op::Lstm(_) => 3,
                    crate::ops::Op::LayerNorm(l) if !l.rms => 3,
                    _ => 1,
                };
                let name = format!("{}/{k}", node_ref.name);
                let names = (0..n_out).map(|o| format!("{name}:{o}")).collect();
                produced.push(widen::add_op(graph, &name, sub.op, ins, names)?);
            }
            let mut values = vec![];
            for (o, src) in outs.into_iter().enumerate() {
                let Some(src) = src else {
                    values.push(None);
                    continue;
                };
                let own = matches!(src, node::Src::Node(..));
                let v = resolve(graph, &produced, src, usize::MAX, o)
                    .ok_or_else(|| OpError::Invalid(format!("output {o} refers to a missing value")))?;
                if own && !values.contains(&Some(v)) {
                    graph.value_mut(v).name = output_name(n, o, &node_ref.name);
                }
                values.push(Some(v));
            }
            // An output the node does not produce must be unnamed in ONNX ("").
            let mut ids = vec![];
            for (o, v) in values.iter().enumerate() {
                match (v, n.output.get(o).is_some_and(|s| !s.is_empty())) {
                    (Some(v), _) => ids.push(*v),
                    (None, false) => ids.push(
                        values
                            .iter()
                            .flatten()
                            .next()
                            .copied()
                            .ok_or_else(|| OpError::Invalid("the node produces no outputs".into()))?,
                    ),
                    (None, true) => return Err(OpError::Invalid(format!("output {o} is not produced"))),
                }
            }
            Ok(ids)
        }
        Lowered::Op(op, slots) => {
            let ir_inputs = slots.iter().map(|&s| inputs.get(s).copied().flatten()).collect();
            let out_names = (0..op_outputs(&op, n)).map(|k| output_name(n, k, &node_ref.name)).collect();
            widen::add_op(graph, &node_ref.name, op, ir_inputs, out_names)
        }
    });
    bind_outputs(im, names, n, node_ref, result.map_err(control::Fault::Op))
}

/// Names a node's outputs, or records its failure.
fn bind_outputs(
    im: &mut Importer,
    names: &mut HashMap<String, ValueId>,
    n: &NodeProto,
    node_ref: NodeRef,
    result: Result<Vec<ValueId>, control::Fault>,
) -> Result<(), Reported> {
    match result {
        Ok(outs) => {
            for (k, v) in outs.into_iter().enumerate() {
                if let Some(name) = n.output.get(k) {
                    if !name.is_empty() {
                        names.insert(name.clone(), v);
                    }
                }
            }
        }
        Err(e) => {
            im.problems.push(match e {
                control::Fault::Op(OpError::Invalid(detail)) => Problem::Invalid { node: node_ref, detail },
                control::Fault::Op(OpError::Unsupported(detail)) => Problem::Unsupported { node: node_ref, detail },
                control::Fault::Reported => return Err(Reported),
            });
            return Err(Reported);
        }
    }
    Ok(())
}

/// How many IR outputs the op for this node should create: the op's own count, which
/// for multi-output ops (LSTM) is fixed; ONNX may list fewer.
fn op_outputs(op: &crate::ops::Op, n: &NodeProto) -> usize {
    match op {
        crate::ops::Op::Lstm(_) => 3,
        crate::ops::Op::LayerNorm(l) if !l.rms => 3,
        _ => n.output.len().max(1),
    }
}

fn output_name(n: &NodeProto, k: usize, node_name: &str) -> String {
    match n.output.get(k) {
        Some(s) if !s.is_empty() => s.clone(),
        _ => format!("{node_name}:{k}"),
    }
}

/// A stable topological order of ONNX nodes (the file order when it is already one).
fn node_order(nodes: &[NodeProto], known: &HashMap<String, ValueId>) -> Result<Vec<usize>, Problem> {
    let mut producer: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in &n.output {
            if !o.is_empty() {
                producer.insert(o.as_str(), i);
            }
        }
    }
    let mut indeg = vec![0usize; nodes.len()];
    let mut succ: Vec<Vec<usize>> = vec![vec![]; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        let mut preds: Vec<usize> = n
            .input
            .iter()
            .filter(|s| !s.is_empty() && !known.contains_key(*s))
            .filter_map(|s| producer.get(s.as_str()).copied())
            .collect();
        preds.sort_unstable();
        preds.dedup();
        indeg[i] = preds.len();
        for p in preds {
            succ[p].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..nodes.len()).filter(|&i| indeg[i] == 0).collect();
    let mut order = vec![];
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &s in &succ[i] {
            indeg[s] -= 1;
            if indeg[s] == 0 {
                ready.insert(s);
            }
        }
    }
    if order.len() != nodes.len() {
        return Err(Problem::Structure { detail: "the graph has a cycle".into() });
    }
    Ok(order)
}

/// Dims of a value info: `Ok(n)` for fixed ones, `Err(label)` for symbolic/unknown ones.
fn declared_dims(vi: &ValueInfoProto) -> Option<(i32, Vec<Result<i64, String>>)> {
    use onnx_protobuf::tensor_shape_proto::dimension::Value as Dim;
    use onnx_protobuf::type_proto::Value as Ty;
    let Some(Ty::TensorType(tt)) = vi.type_.value.as_ref() else {
        return None;
    };
    let dims = tt
        .shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Dim::DimValue(v)) if *v > 0 => Ok(*v),
            Some(Dim::DimValue(v)) => Err(v.to_string()),
            Some(Dim::DimParam(p)) if !p.is_empty() => Err(p.clone()),
            _ => Err("?".to_string()),
        })
        .collect();
    let dims = if tt.shape.is_none() { vec![] } else { dims };
    Some((tt.elem_type, dims))
}

fn input_type(vi: &ValueInfoProto, pin: Option<&Vec<usize>>) -> Result<TensorType, Problem> {
    let Some((elem, dims)) = declared_dims(vi) else {
        return Err(Problem::UnsupportedType { name: vi.name.clone(), dtype: "a non-tensor type".into() });
    };
    let dtype = tensor::dtype_of(elem).map_err(|dtype| Problem::UnsupportedType { name: vi.name.clone(), dtype })?;
    let shape: Vec<usize> = match pin {
        Some(p) => {
            if !dims.is_empty() && p.len() != dims.len() {
                return Err(Problem::BadPin {
                    detail: format!(
                        "input `{}` has rank {} but the pinned shape {p:?} has rank {}",
                        vi.name,
                        dims.len(),
                        p.len()
                    ),
                });
            }
            for (i, d) in dims.iter().enumerate() {
                if let Ok(fixed) = d {
                    if *fixed as usize != p[i] {
                        return Err(Problem::BadPin {
                            detail: format!(
                                "input `{}` has fixed dimension {i} = {fixed}, but the pin says {}",
                                vi.name, p[i]
                            ),
                        });
                    }
                }
            }
            p.clone()
        }
        None => {
            if dims.iter().any(|d| d.is_err()) {
                let declared: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Ok(v) => v.to_string(),
                        Err(s) => s.clone(),
                    })
                    .collect();
                let guess: Vec<String> =
                    dims.iter().map(|d| d.as_ref().map(|v| v.to_string()).unwrap_or_else(|_| "1".into())).collect();
                return Err(Problem::DynamicInput {
                    input: vi.name.clone(),
                    declared,
                    suggestion: format!("{}={}", vi.name, guess.join(",")),
                });
            }
            dims.iter().map(|d| *d.as_ref().expect("checked fixed") as usize).collect()
        }
    };
    let dims_i64: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
    tensor::checked_shape(&dims_i64, dtype).map_err(|_| Problem::TooLarge {
        name: vi.name.clone(),
        shape: format!("{shape:?}"),
        limit: tensor::MAX_TENSOR_BYTES,
    })?;
    Ok(TensorType::new(dtype, shape))
}

/// Why a frozen value cannot stand for a declared input: another element type, or a
/// shape that contradicts a fixed dimension.
fn frozen_mismatch(vi: &ValueInfoProto, t: &Tensor) -> Option<String> {
    let (elem, dims) = declared_dims(vi)?;
    if let Ok(dt) = tensor::dtype_of(elem) {
        if dt != t.dtype() {
            return Some(format!("input `{}` is declared {dt} but the frozen value is {}", vi.name, t.dtype()));
        }
    }
    let contradicts = |i: usize, d: &Result<i64, String>| matches!(d, Ok(v) if *v as usize != t.shape[i]);
    if !dims.is_empty() && (dims.len() != t.shape.len() || dims.iter().enumerate().any(|(i, d)| contradicts(i, d))) {
        let shown: Vec<String> = dims.iter().map(|d| d.clone().map_or_else(|s| s, |v| v.to_string())).collect();
        return Some(format!(
            "input `{}` is declared with shape [{}] but the frozen value has shape {:?}",
            vi.name,
            shown.join(", "),
            t.shape
        ));
    }
    None
}

/// The names of the model's graph inputs that are not initializers, in order: the
/// inputs a caller (or a `test_data_set_*/input_K.pb`) provides before any freezing.
pub fn declared_inputs(model: &ModelProto) -> Vec<String> {
    let g = &model.graph;
    let init: HashSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    g.input.iter().filter(|i| !init.contains(i.name.as_str())).map(|i| i.name.clone()).collect()
}

/// How a declared type disagrees with the inferred one, if it does (symbolic and
/// unknown dimensions match anything).
fn declared_mismatch(vi: &ValueInfoProto, inferred: &TensorType) -> Option<String> {
    let (elem, dims) = declared_dims(vi)?;
    if elem != 0 {
        if let Ok(dt) = tensor::dtype_of(elem) {
            if dt != inferred.dtype {
                return Some(format!("is declared {dt} but computes {}", inferred.dtype));
            }
        }
    }
    let fixed = |d: &Result<i64, String>, i: usize| matches!(d, Ok(v) if *v as usize != inferred.shape[i]);
    if !dims.is_empty() && (dims.len() != inferred.rank() || dims.iter().enumerate().any(|(i, d)| fixed(d, i))) {
        let shown: Vec<String> = dims.iter().map(|d| d.clone().map_or_else(|s| s, |v| v.to_string())).collect();
        return Some(format!("is declared with shape [{}] but computes {inferred}", shown.join(", ")));
    }
    None
}
