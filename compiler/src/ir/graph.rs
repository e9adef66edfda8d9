//! The graph: values (typed tensors; constants owned here, once) and nodes (ops) in a
//! petgraph DAG whose edges run from producer to consumer.

use super::{Tensor, TensorType};
use crate::ops::Op;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::{BTreeSet, HashMap};

/// Index of a value in its graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ValueId(pub u32);

/// Index of a node in its graph.
pub type NodeId = NodeIndex<u32>;

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Def {
    /// The `n`th graph input.
    Input(usize),
    /// A constant, stored with the value (weights, folded shapes).
    Const(Tensor),
    /// Output `slot` of a node.
    Node(NodeId, usize),
}

/// A typed SSA value.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The ONNX name (or a derived one for values passes create).
    pub name: String,
    /// Static type.
    pub ty: TensorType,
    /// Producer.
    pub def: Def,
}

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The ONNX node name (or a derived one).
    pub name: String,
    /// What it computes.
    pub op: Op,
    /// Operands; `None` for an absent optional input.
    pub inputs: Vec<Option<ValueId>>,
    /// Results, in order.
    pub outputs: Vec<ValueId>,
}

/// Edge weight: the value flowing from producer to consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge(pub ValueId);

/// A model's computation: typed values and the nodes between them.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    /// The model name (from the file name or the ONNX graph name).
    pub name: String,
    dag: StableDiGraph<Node, Edge, u32>,
    values: Vec<Value>,
    inputs: Vec<ValueId>,
    outputs: Vec<ValueId>,
}

impl Graph {
    /// An empty graph.
    pub fn new(name: impl Into<String>) -> Self {
        Graph { name: name.into(), ..Default::default() }
    }

    fn push_value(&mut self, name: String, ty: TensorType, def: Def) -> ValueId {
        let id = ValueId(self.values.len() as u32);
        self.values.push(Value { name, ty, def });
        id
    }

    /// Adds a graph input.
    pub fn add_input(&mut self, name: impl Into<String>, ty: TensorType) -> ValueId {
        let n = self.inputs.len();
        let id = self.push_value(name.into(), ty, Def::Input(n));
        self.inputs.push(id);
        id
    }

    /// Adds a constant with a type (which may carry quantisation).
    pub fn add_const_typed(&mut self, name: impl Into<String>, ty: TensorType, t: Tensor) -> ValueId {
        debug_assert_eq!(ty.shape, t.shape);
        debug_assert_eq!(ty.dtype, t.dtype());
        self.push_value(name.into(), ty, Def::Const(t))
    }

    /// Adds a constant.
    pub fn add_const(&mut self, name: impl Into<String>, t: Tensor) -> ValueId {
        let ty = t.ty();
        self.add_const_typed(name, ty, t)
    }

    /// Adds a node whose outputs have the given names and (already inferred) types.
    pub fn add_node(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<(String, TensorType)>,
    ) -> NodeId {
        let id = self.dag.add_node(Node { name: name.into(), op, inputs: inputs.clone(), outputs: vec![] });
        let outs: Vec<ValueId> = outputs
            .into_iter()
            .enumerate()
            .map(|(slot, (n, ty))| self.push_value(n, ty, Def::Node(id, slot)))
            .collect();
        self.dag[id].outputs = outs;
        for v in inputs.into_iter().flatten() {
            self.connect(v, id);
        }
        id
    }

    fn connect(&mut self, v: ValueId, consumer: NodeId) {
        if let Def::Node(p, _) = self.values[v.0 as usize].def {
            let exists = self.dag.edges_connecting(p, consumer).any(|e| e.weight().0 == v);
            if !exists {
                self.dag.add_edge(p, consumer, Edge(v));
            }
        }
    }

    fn disconnect(&mut self, v: ValueId, consumer: NodeId) {
        if let Def::Node(p, _) = self.values[v.0 as usize].def {
            let still_used = self.dag[consumer].inputs.contains(&Some(v));
            if !still_used {
                let edges: Vec<_> =
                    self.dag.edges_connecting(p, consumer).filter(|e| e.weight().0 == v).map(|e| e.id()).collect();
                for e in edges {
                    self.dag.remove_edge(e);
                }
            }
        }
    }

    /// Sets the graph outputs.
    pub fn set_outputs(&mut self, outputs: Vec<ValueId>) {
        self.outputs = outputs;
    }

    /// Graph inputs, in order.
    pub fn inputs(&self) -> &[ValueId] {
        &self.inputs
    }

    /// Graph outputs, in order.
    pub fn outputs(&self) -> &[ValueId] {
        &self.outputs
    }

    /// A value.
    pub fn value(&self, v: ValueId) -> &Value {
        &self.values[v.0 as usize]
    }

    /// A value, mutably (passes rewrite types and constants).
    pub fn value_mut(&mut self, v: ValueId) -> &mut Value {
        &mut self.values[v.0 as usize]
    }

    /// The type of a value.
    pub fn ty(&self, v: ValueId) -> &TensorType {
        &self.value(v).ty
    }

    /// The data of a constant value.
    pub fn const_of(&self, v: ValueId) -> Option<&Tensor> {
        match &self.value(v).def {
            Def::Const(t) => Some(t),
            _ => None,
        }
    }

    /// The node producing a value, if any.
    pub fn producer(&self, v: ValueId) -> Option<NodeId> {
        match self.value(v).def {
            Def::Node(n, _) => Some(n),
            _ => None,
        }
    }

    /// A node.
    pub fn node(&self, n: NodeId) -> &Node {
        &self.dag[n]
    }

    /// A node, mutably. Change inputs only through [`Graph::set_input`].
    pub fn node_mut(&mut self, n: NodeId) -> &mut Node {
        &mut self.dag[n]
    }

    /// True while the node is part of the graph.
    pub fn contains(&self, n: NodeId) -> bool {
        self.dag.contains_node(n)
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.dag.node_count()
    }

    /// Replaces input `slot` of a node.
    pub fn set_input(&mut self, n: NodeId, slot: usize, v: Option<ValueId>) {
        let old = std::mem::replace(&mut self.dag[n].inputs[slot], v);
        if let Some(o) = old {
            self.disconnect(o, n);
        }
        if let Some(v) = v {
            self.connect(v, n);
        }
    }

    /// Every (node, slot) that reads a value, in schedule order.
    pub fn users(&self, v: ValueId) -> Vec<(NodeId, usize)> {
        let mut out = vec![];
        for n in self.topo_order() {
            for (slot, i) in self.dag[n].inputs.iter().enumerate() {
                if *i == Some(v) {
                    out.push((n, slot));
                }
            }
        }
        out
    }

    /// True when the value is one of the graph outputs.
    pub fn is_output(&self, v: ValueId) -> bool {
        self.outputs.contains(&v)
    }

    /// Redirects every reader of `old` (nodes and graph outputs) to `new`.
    pub fn replace_uses(&mut self, old: ValueId, new: ValueId) {
        for (n, slot) in self.users(old) {
            self.set_input(n, slot, Some(new));
        }
        for o in self.outputs.iter_mut() {
            if *o == old {
                *o = new;
            }
        }
    }

    /// Removes a node. Its output values stay allocated but unreachable.
    pub fn remove_node(&mut self, n: NodeId) -> Option<Node> {
        self.dag.remove_node(n)
    }

    /// Node ids in a deterministic topological order: among ready nodes the one added
    /// first runs first, which keeps the ONNX order wherever dependencies allow.
    pub fn topo_order(&self) -> Vec<NodeId> {
        let mut indeg: HashMap<NodeId, usize> = HashMap::new();
        for n in self.dag.node_indices() {
            let preds: BTreeSet<NodeId> = self.dag.neighbors_directed(n, Direction::Incoming).collect();
            indeg.insert(n, preds.len());
        }
        let mut ready: BTreeSet<NodeId> = indeg.iter().filter(|(_, &d)| d == 0).map(|(&n, _)| n).collect();
        let mut order = Vec::with_capacity(indeg.len());
        while let Some(n) = ready.pop_first() {
            order.push(n);
            let succ: BTreeSet<NodeId> = self.dag.neighbors_directed(n, Direction::Outgoing).collect();
            for s in succ {
                let d = indeg.get_mut(&s).expect("successor is a node");
                *d -= 1;
                if *d == 0 {
                    ready.insert(s);
                }
            }
        }
        order
    }

    /// True if the node edges contain a cycle (the verifier reports it).
    pub fn has_cycle(&self) -> bool {
        self.topo_order().len() != self.dag.node_count()
    }

    /// The edges into a node, as (producer, value).
    pub fn in_edges(&self, n: NodeId) -> Vec<(NodeId, ValueId)> {
        self.dag.edges_directed(n, Direction::Incoming).map(|e| (e.source(), e.weight().0)).collect()
    }

    /// Values a node reads, without absent optionals.
    pub fn node_inputs(&self, n: NodeId) -> Vec<ValueId> {
        self.dag[n].inputs.iter().flatten().copied().collect()
    }

    /// Constants reachable from the graph (read by a node or returned as an output).
    pub fn live_consts(&self) -> Vec<ValueId> {
        let mut set = BTreeSet::new();
        for n in self.topo_order() {
            for v in self.node_inputs(n) {
                if self.const_of(v).is_some() {
                    set.insert(v);
                }
            }
        }
        for &o in &self.outputs {
            if self.const_of(o).is_some() {
                set.insert(o);
            }
        }
        set.into_iter().collect()
    }
}
