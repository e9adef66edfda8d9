//! Tree ensembles: TreeEnsembleRegressor and TreeEnsembleClassifier (ai.onnx.ml 1–4)
//! and TreeEnsemble (ai.onnx.ml 5). Either form is read into a [`Forest`] (trees of
//! branches and leaves, checked: every reference inside the model, no cycles), then
//! packed as struct-of-arrays constants with the smallest index type that holds every
//! index (u8, u16 or u32), which the runtime's `tree_ensemble` walks without recursion.

use super::{class_labels, floats_or_tensor, matrix, post_transform, refuse_strings, MlClassify, MlTransform};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::shape::Cast;
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, Op, OpDef, OpResult};
use std::collections::{BTreeMap, HashMap};
use tinyops_runtime::kernels::portable::tree_ensemble;
use tinyops_runtime::kernels::{tree_node, Aggregate, LabelRule, PostTransform, TreeEnsemble as TreeParams};

/// Where a branch leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ref {
    /// A branch node, by index.
    Node(usize),
    /// A leaf, by index.
    Leaf(usize),
}

/// One branch node.
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    /// The feature compared.
    pub feature: usize,
    /// The comparison (`tree_node::LEQ` … `MEMBER`).
    pub mode: u8,
    /// The split value.
    pub split: f64,
    /// The set of a `MEMBER` comparison.
    pub set: Vec<f64>,
    /// Missing values (NaN) go to the true child.
    pub missing_true: bool,
    /// The child when the comparison holds.
    pub yes: Ref,
    /// The child otherwise.
    pub no: Ref,
}

/// Trees of branches and leaves; a leaf holds `(target, weight)` entries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Forest {
    /// The root of each tree, in evaluation order.
    pub roots: Vec<Ref>,
    /// Every branch node.
    pub branches: Vec<Branch>,
    /// Every leaf's entries.
    pub leaves: Vec<Vec<(usize, f64)>>,
}

impl Forest {
    /// The largest feature index used, plus one.
    fn features(&self) -> usize {
        self.branches.iter().map(|b| b.feature + 1).max().unwrap_or(0)
    }

    /// The constant arrays the runtime walks, in the kernel's order (roots, feature,
    /// split, mode, child, leaf_start, target, weight, sets), with `t` as the value
    /// type. A tree that is a single leaf gets a branch whose two children are it.
    fn pack(&self, t: DType) -> OpResult<Vec<Tensor>> {
        let mut branches = self.branches.clone();
        let roots: Vec<usize> = self
            .roots
            .iter()
            .map(|r| match *r {
                Ref::Node(n) => n,
                Ref::Leaf(l) => {
                    branches.push(Branch {
                        feature: 0,
                        mode: tree_node::LEQ,
                        split: 0.0,
                        set: vec![],
                        missing_true: false,
                        yes: Ref::Leaf(l),
                        no: Ref::Leaf(l),
                    });
                    branches.len() - 1
                }
            })
            .collect();
        let entries: usize = self.leaves.iter().map(Vec::len).sum();
        let mut sets = vec![];
        let mut split = vec![];
        for b in &branches {
            if b.mode == tree_node::MEMBER {
                split.push(sets.len() as f64);
                sets.push(b.set.len() as f64);
                sets.extend(&b.set);
            } else {
                split.push(b.split);
            }
        }
        if t == DType::F32 && sets.len() >= 1 << 24 {
            unsupported!("membership sets of {} values", sets.len());
        }
        let largest = [branches.len(), self.leaves.len() + 1, entries + 1, self.features() + 1]
            .into_iter()
            .chain(self.leaves.iter().flatten().map(|e| e.0 + 1))
            .max()
            .unwrap_or(0);
        let i = if largest <= 1 << 8 {
            DType::U8
        } else if largest <= 1 << 16 {
            DType::U16
        } else if largest <= u32::MAX as usize {
            DType::U32
        } else {
            unsupported!("a tree ensemble of {largest} nodes");
        };
        let index = |v: Vec<i64>| {
            let v = if v.is_empty() { vec![0] } else { v };
            Tensor { shape: vec![v.len()], data: Data::I64(v).cast(i) }
        };
        let value = |v: Vec<f64>| {
            let v = if v.is_empty() { vec![0.0] } else { v };
            Tensor { shape: vec![v.len()], data: Data::F64(v).cast(t) }
        };
        let mut mode = vec![];
        let mut child = vec![];
        for b in &branches {
            let mut m = b.mode;
            if b.missing_true {
                m |= tree_node::MISSING_TRUE;
            }
            for (r, leaf_bit) in [(b.yes, tree_node::TRUE_LEAF), (b.no, tree_node::FALSE_LEAF)] {
                child.push(match r {
                    Ref::Node(n) => n as i64,
                    Ref::Leaf(l) => {
                        m |= leaf_bit;
                        l as i64
                    }
                });
            }
            mode.push(m);
        }
        let mut leaf_start = vec![0i64];
        let (mut target, mut weight) = (vec![], vec![]);
        for leaf in &self.leaves {
            for &(k, w) in leaf {
                target.push(k as i64);
                weight.push(w);
            }
            leaf_start.push(target.len() as i64);
        }
        Ok(vec![
            index(roots.iter().map(|&r| r as i64).collect()),
            index(branches.iter().map(|b| b.feature as i64).collect()),
            value(split),
            Tensor { shape: vec![mode.len().max(1)], data: Data::U8(if mode.is_empty() { vec![0] } else { mode }) },
            index(child),
            index(leaf_start),
            index(target),
            value(weight),
            value(sets),
        ])
    }
}

/// Fails when following children from the roots can come back to a node: `kids(n)`
/// are the nodes below node `n` (iterative depth-first search with colours).
fn find_cycle(count: usize, roots: &[usize], kids: impl Fn(usize) -> Vec<usize>) -> OpResult<()> {
    let mut colour = vec![0u8; count]; // 0 new, 1 on the path, 2 finished
    for &r in roots {
        let mut stack = vec![(r, false)];
        while let Some((n, leaving)) = stack.pop() {
            if leaving {
                colour[n] = 2;
                continue;
            }
            if colour[n] != 0 {
                continue;
            }
            colour[n] = 1;
            stack.push((n, true));
            for k in kids(n) {
                match colour[k] {
                    1 => invalid!("the trees have a cycle through node {k}"),
                    0 => stack.push((k, false)),
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Resolves node references into a [`Forest`] without recursion: `children[i]` is
/// `Some((yes, no))` for a branch (its children as node positions, all valid) or
/// `None` for a leaf; `roots` are node positions.
fn resolve(
    roots: &[usize],
    children: &[Option<(usize, usize)>],
    mut branch: impl FnMut(usize, Ref, Ref) -> OpResult<Branch>,
    mut leaf: impl FnMut(usize) -> Vec<(usize, f64)>,
) -> OpResult<Forest> {
    find_cycle(children.len(), roots, |n| children[n].map_or(vec![], |(y, f)| vec![y, f]))?;
    let mut forest = Forest::default();
    let mut done: HashMap<usize, Ref> = HashMap::new();
    for &root in roots {
        let mut stack = vec![root];
        while let Some(&n) = stack.last() {
            if done.contains_key(&n) {
                stack.pop();
                continue;
            }
            match children[n] {
                None => {
                    forest.leaves.push(leaf(n));
                    done.insert(n, Ref::Leaf(forest.leaves.len() - 1));
                    stack.pop();
                }
                Some((y, f)) => match (done.get(&y), done.get(&f)) {
                    (Some(&yr), Some(&fr)) => {
                        forest.branches.push(branch(n, yr, fr)?);
                        done.insert(n, Ref::Node(forest.branches.len() - 1));
                        stack.pop();
                    }
                    _ => stack.extend([y, f].into_iter().filter(|k| !done.contains_key(k))),
                },
            }
        }
        forest.roots.push(done[&root]);
    }
    Ok(forest)
}

fn mode_of(name: &str) -> OpResult<Option<u8>> {
    Ok(Some(match name {
        "BRANCH_LEQ" => tree_node::LEQ,
        "BRANCH_LT" => tree_node::LT,
        "BRANCH_GTE" => tree_node::GTE,
        "BRANCH_GT" => tree_node::GT,
        "BRANCH_EQ" => tree_node::EQ,
        "BRANCH_NEQ" => tree_node::NEQ,
        "LEAF" => return Ok(None),
        other => invalid!("node mode `{other}`"),
    }))
}

/// The forest of TreeEnsembleRegressor/Classifier (ai.onnx.ml 1–4); `prefix` names the
/// leaf attributes (`target` or `class`). Leaf entries keep the attribute order; trees
/// run in the order of their ids.
fn forest_v1(cx: &NodeCx, prefix: &str) -> OpResult<Forest> {
    let ints = |n: &str| -> OpResult<Vec<i64>> { Ok(cx.ints(n)?.unwrap_or_default()) };
    let tree_ids = ints("nodes_treeids")?;
    let node_ids = ints("nodes_nodeids")?;
    let features = ints("nodes_featureids")?;
    let yes = ints("nodes_truenodeids")?;
    let no = ints("nodes_falsenodeids")?;
    let missing = ints("nodes_missing_value_tracks_true")?;
    let modes = cx.strings("nodes_modes")?.unwrap_or_default();
    let values = floats_or_tensor(cx, "nodes_values")?.unwrap_or_default();
    let n = tree_ids.len();
    if [node_ids.len(), features.len(), modes.len()].iter().any(|&l| l != n)
        || [yes.len(), no.len(), values.len()].iter().any(|&l| l != n)
        || !(missing.is_empty() || missing.len() == n)
    {
        invalid!("the nodes_* attributes have different lengths");
    }
    let position: HashMap<(i64, i64), usize> =
        tree_ids.iter().zip(&node_ids).enumerate().map(|(i, (&t, &id))| ((t, id), i)).collect();
    if position.len() != n {
        invalid!("two nodes share a (tree, node) id");
    }
    let mut children = vec![None; n];
    let mut referenced = vec![false; n];
    let mode_bytes = modes.iter().map(|m| mode_of(m)).collect::<OpResult<Vec<_>>>()?;
    for i in 0..n {
        if mode_bytes[i].is_some() {
            let find = |id: i64| {
                position.get(&(tree_ids[i], id)).copied().ok_or_else(|| {
                    crate::ops::OpError::Invalid(format!(
                        "node {} of tree {} has no child {id}",
                        node_ids[i], tree_ids[i]
                    ))
                })
            };
            let (y, f) = (find(yes[i])?, find(no[i])?);
            referenced[y] = true;
            referenced[f] = true;
            children[i] = Some((y, f));
        }
    }
    let mut roots: Vec<usize> = (0..n).filter(|&i| !referenced[i]).collect();
    roots.sort_by_key(|&i| (tree_ids[i], node_ids[i]));
    let w_tree = ints(&format!("{prefix}_treeids"))?;
    let w_node = ints(&format!("{prefix}_nodeids"))?;
    let w_id = ints(&format!("{prefix}_ids"))?;
    let w = floats_or_tensor(cx, &format!("{prefix}_weights"))?.unwrap_or_default();
    if [w_node.len(), w_id.len(), w.len()].iter().any(|&l| l != w_tree.len()) {
        invalid!("the {prefix}_* attributes have different lengths");
    }
    let mut entries: BTreeMap<usize, Vec<(usize, f64)>> = BTreeMap::new();
    for k in 0..w_tree.len() {
        let Some(&at) = position.get(&(w_tree[k], w_node[k])) else {
            invalid!("a weight refers to node {} of tree {}, which does not exist", w_node[k], w_tree[k]);
        };
        if w_id[k] < 0 {
            invalid!("{prefix}_ids holds {}", w_id[k]);
        }
        entries.entry(at).or_default().push((w_id[k] as usize, w[k]));
    }
    resolve(
        &roots,
        &children,
        |i, y, f| {
            Ok(Branch {
                feature: usize::try_from(features[i]).map_err(|_| crate::ops::OpError::Invalid("feature id".into()))?,
                mode: mode_bytes[i].unwrap_or(0),
                split: values[i],
                set: vec![],
                missing_true: missing.get(i).is_some_and(|&m| m != 0),
                yes: y,
                no: f,
            })
        },
        |i| entries.get(&i).cloned().unwrap_or_default(),
    )
}

/// The forest of TreeEnsemble (ai.onnx.ml 5): node arrays indexed directly, leaves in
/// their own arrays, membership sets separated by NaN.
fn forest_v5(cx: &NodeCx) -> OpResult<Forest> {
    let ints = |n: &str| -> OpResult<Vec<i64>> { Ok(cx.ints(n)?.unwrap_or_default()) };
    let tensor = |n: &str| -> OpResult<Vec<f64>> {
        Ok(cx.tensor(n)?.map(|t| (0..t.numel()).map(|i| t.data.get_f64(i)).collect()).unwrap_or_default())
    };
    let features = ints("nodes_featureids")?;
    let yes = ints("nodes_truenodeids")?;
    let no = ints("nodes_falsenodeids")?;
    let yes_leaf = ints("nodes_trueleafs")?;
    let no_leaf = ints("nodes_falseleafs")?;
    let missing = ints("nodes_missing_value_tracks_true")?;
    let modes = tensor("nodes_modes")?;
    let splits = tensor("nodes_splits")?;
    let roots = ints("tree_roots")?;
    let targets = ints("leaf_targetids")?;
    let weights = tensor("leaf_weights")?;
    let members = tensor("membership_values")?;
    let n = features.len();
    if [yes.len(), no.len(), yes_leaf.len(), no_leaf.len(), modes.len(), splits.len()].iter().any(|&l| l != n)
        || !(missing.is_empty() || missing.len() == n)
        || targets.len() != weights.len()
    {
        invalid!("the nodes_* or leaf_* attributes have different lengths");
    }
    let mut sets = members.split(|v| v.is_nan()).map(<[f64]>::to_vec);
    let mut forest = Forest::default();
    for (k, (&t, &w)) in targets.iter().zip(&weights).enumerate() {
        if t < 0 {
            invalid!("leaf {k} has target {t}");
        }
        forest.leaves.push(vec![(t as usize, w)]);
    }
    let leaf = |i: i64| -> OpResult<Ref> {
        if i < 0 || i as usize >= targets.len() {
            invalid!("a node refers to leaf {i}, which does not exist");
        }
        Ok(Ref::Leaf(i as usize))
    };
    // Branches keep their positions; children refer to them directly.
    for i in 0..n {
        let mode = modes[i] as u8;
        if mode > tree_node::MEMBER {
            invalid!("node mode {mode}");
        }
        let set = if mode == tree_node::MEMBER { sets.next().unwrap_or_default() } else { vec![] };
        let child = |id: i64, is_leaf: i64| -> OpResult<Ref> {
            if is_leaf != 0 {
                leaf(id)
            } else if id < 0 || id as usize >= n {
                invalid!("node {i} refers to node {id}, which does not exist");
            } else {
                Ok(Ref::Node(id as usize))
            }
        };
        forest.branches.push(Branch {
            feature: usize::try_from(features[i]).map_err(|_| crate::ops::OpError::Invalid("feature id".into()))?,
            mode,
            split: splits[i],
            set,
            missing_true: missing.get(i).is_some_and(|&m| m != 0),
            yes: child(yes[i], yes_leaf[i])?,
            no: child(no[i], no_leaf[i])?,
        });
    }
    for &r in &roots {
        if r < 0 || r as usize >= n {
            invalid!("tree root {r} does not exist");
        }
        forest.roots.push(Ref::Node(r as usize));
    }
    check_acyclic(&forest)?;
    Ok(forest)
}

/// Fails when the branches of a forest form a cycle.
fn check_acyclic(f: &Forest) -> OpResult<()> {
    let roots: Vec<usize> = f.roots.iter().filter_map(|r| if let Ref::Node(n) = *r { Some(n) } else { None }).collect();
    find_cycle(f.branches.len(), &roots, |n| {
        [f.branches[n].yes, f.branches[n].no]
            .into_iter()
            .filter_map(|c| if let Ref::Node(k) = c { Some(k) } else { None })
            .collect()
    })
}

fn aggregate_of(cx: &NodeCx) -> OpResult<Aggregate> {
    if cx.has("aggregate_function") && cx.int("aggregate_function", 1).is_ok() {
        return Ok(match cx.int("aggregate_function", 1)? {
            0 => Aggregate::Average,
            1 => Aggregate::Sum,
            2 => Aggregate::Min,
            3 => Aggregate::Max,
            v => invalid!("aggregate_function {v}"),
        });
    }
    Ok(match cx.string("aggregate_function", "SUM")?.as_str() {
        "SUM" => Aggregate::Sum,
        "AVERAGE" => Aggregate::Average,
        "MIN" => Aggregate::Min,
        "MAX" => Aggregate::Max,
        other => invalid!("aggregate_function `{other}`"),
    })
}

/// A packed tree ensemble: input 0 the `rows × features` values (f32 or f64), inputs
/// 1–9 the packed arrays ([`Forest::pack`]), input 10 the base values (one per target);
/// output the `rows × targets` scores.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeEnsemble {
    /// Scores per row.
    pub targets: usize,
    /// Trees.
    pub trees: usize,
    /// Branch nodes.
    pub nodes: usize,
    /// Leaves.
    pub leaves: usize,
    /// How the trees' values combine.
    pub aggregate: Aggregate,
}

impl TreeEnsemble {
    fn params(&self, x: &TensorType) -> OpResult<TreeParams> {
        let (rows, features) = matrix(x)?;
        Ok(TreeParams {
            rows,
            features,
            targets: self.targets,
            trees: self.trees,
            nodes: self.nodes,
            leaves: self.leaves,
            aggregate: self.aggregate,
        })
    }
}

impl OpDef for TreeEnsemble {
    fn name(&self) -> &'static str {
        "tree_ensemble"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("targets", self.targets.to_string()),
            ("trees", self.trees.to_string()),
            ("nodes", self.nodes.to_string()),
            ("leaves", self.leaves.to_string()),
            ("aggregate", format!("{:?}", self.aggregate).to_lowercase()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if !matches!(x.dtype, DType::F32 | DType::F64) {
            unsupported!("tree ensembles over {} values", x.dtype);
        }
        for i in 1..=10 {
            let a = req(inputs, i)?;
            if a.value.is_none() {
                invalid!("the packed tree array {i} must be a constant");
            }
        }
        let p = self.params(x)?;
        Ok(vec![TensorType::new(x.dtype, vec![p.rows, p.targets])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let p = self.params(&x.ty())?;
        let ix = |i: usize| -> OpResult<Vec<u32>> {
            Ok(data(inputs, i)?.data.to_i64_vec().iter().map(|&v| v as u32).collect())
        };
        let (roots, feature, mode, child, leaf_start, target) = (ix(1)?, ix(2)?, ix(4)?, ix(5)?, ix(6)?, ix(7)?);
        let mode: Vec<u8> = mode.iter().map(|&m| m as u8).collect();
        let f64s = |i: usize| -> OpResult<Vec<f64>> {
            let t = data(inputs, i)?;
            Ok((0..t.numel()).map(|k| t.data.get_f64(k)).collect())
        };
        let (split, weight, sets, base, xs) = (f64s(3)?, f64s(8)?, f64s(9)?, f64s(10)?, f64s(0)?);
        let mut y = vec![0f64; p.rows * p.targets];
        if x.dtype() == DType::F32 {
            let c = |v: &[f64]| -> Vec<f32> { v.iter().map(|&a| a as f32).collect() };
            let mut y32 = vec![0f32; y.len()];
            tree_ensemble(
                &p,
                &roots,
                &feature,
                &c(&split),
                &mode,
                &child,
                &leaf_start,
                &target,
                &c(&weight),
                &c(&sets),
                &c(&base),
                &c(&xs),
                &mut y32,
            );
            return Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F32(y32) }]);
        }
        tree_ensemble(
            &p,
            &roots,
            &feature,
            &split,
            &mode,
            &child,
            &leaf_start,
            &target,
            &weight,
            &sets,
            &base,
            &xs,
            &mut y,
        );
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F64(y) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let i = cx.input(1)?.ty.dtype;
        let kernel = Kernel::TreeEnsemble { t: x.dtype, i, p: self.params(x)? };
        let reads: Vec<Slot> = (1..=10).chain([0]).map(Slot::In).collect();
        Ok(vec![invoke(kernel, reads, [Slot::Out(0)])])
    }
}

/// The ensemble node over ONNX input 0 (cast to `t` first when it is not), with the
/// given base values.
fn ensemble(
    cx: &NodeCx,
    forest: &Forest,
    targets: usize,
    aggregate: Aggregate,
    base: Vec<f64>,
    t: DType,
) -> OpResult<Vec<SubNode>> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let (_, features) = matrix(x.ty)?;
    if forest.features() > features {
        invalid!("a node reads feature {} of {features}", forest.features() - 1);
    }
    if let Some(&(k, _)) = forest.leaves.iter().flatten().find(|e| e.0 >= targets) {
        invalid!("a leaf adds to target {k} of {targets}");
    }
    let mut nodes = vec![];
    let mut input = Src::In(0);
    if x.ty.dtype != t {
        if !matches!(x.ty.dtype, DType::F64 | DType::I64 | DType::I32) {
            unsupported!("tree ensembles over {} inputs", x.ty.dtype);
        }
        nodes.push(SubNode { op: Op::from(Cast { to: t, saturate: true }), inputs: vec![Some(Src::In(0))] });
        input = Src::Node(0, 0);
    }
    let mut inputs = vec![Some(input)];
    inputs.extend(forest.pack(t)?.into_iter().map(|a| Some(Src::Const(a))));
    inputs.push(Some(Src::Const(Tensor { shape: vec![targets], data: Data::F64(base).cast(t) })));
    let trees = forest.roots.len();
    let singles = forest.roots.iter().filter(|r| matches!(r, Ref::Leaf(_))).count();
    let op =
        TreeEnsemble { targets, trees, nodes: forest.branches.len() + singles, leaves: forest.leaves.len(), aggregate };
    nodes.push(SubNode { op: op.into(), inputs });
    Ok(nodes)
}

/// The base values onnxruntime adds for `targets` scores: all of them when there is
/// one per target (or one for one target), else none.
fn base_values(cx: &NodeCx, targets: usize) -> OpResult<Vec<f64>> {
    let b = floats_or_tensor(cx, "base_values")?.unwrap_or_default();
    Ok(if b.len() == targets { b } else { vec![0.0; targets] })
}

fn push_transform(nodes: &mut Vec<SubNode>, post: PostTransform) {
    if post != PostTransform::None {
        let last = nodes.len() - 1;
        nodes.push(SubNode { op: MlTransform { post }.into(), inputs: vec![Some(Src::Node(last, 0))] });
    }
}

/// `n_targets`: positive, and at most 2^20.
fn targets_of(cx: &NodeCx, default: i64) -> OpResult<usize> {
    match cx.int("n_targets", default)? {
        t if t < 1 => invalid!("n_targets must be positive, not {t}"),
        t if t > 1 << 20 => unsupported!("{t} targets"),
        t => Ok(t as usize),
    }
}

/// TreeEnsembleRegressor (ai.onnx.ml 1–4): scores in f32.
pub fn import_regressor(cx: &NodeCx) -> OpResult<Lowered> {
    let targets = targets_of(cx, 1)?;
    let forest = forest_v1(cx, "target")?;
    let mut nodes = ensemble(cx, &forest, targets, aggregate_of(cx)?, base_values(cx, targets)?, DType::F32)?;
    push_transform(&mut nodes, post_transform(cx)?);
    Ok(Lowered::Nodes(nodes))
}

/// TreeEnsemble (ai.onnx.ml 5): scores in the input's type (f32 or f64).
pub fn import_ensemble(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    if !matches!(x.ty.dtype, DType::F32 | DType::F64) {
        unsupported!("TreeEnsemble over {} inputs (f32 and f64 compile)", x.ty.dtype);
    }
    let targets = targets_of(cx, 0)?;
    let post = post_transform(cx)?;
    if post != PostTransform::None && x.ty.dtype != DType::F32 {
        unsupported!("post transforms of {} scores", x.ty.dtype);
    }
    let forest = forest_v5(cx)?;
    let mut nodes = ensemble(cx, &forest, targets, aggregate_of(cx)?, vec![0.0; targets], x.ty.dtype)?;
    push_transform(&mut nodes, post);
    Ok(Lowered::Nodes(nodes))
}

/// TreeEnsembleClassifier (ai.onnx.ml 1–4): labels and probabilities by onnxruntime's
/// rules. More than two classes: the scores (plus `base_values`) transformed, the label
/// of the largest. Two classes with weights for class 0 only: one score `s` (plus
/// one base value), label 1 when `s > 0.5` with all weights non-negative (probabilities
/// `[1 − s, s]`), else when `s > 0` (probabilities `[σ(−s), σ(s)]` with a logistic
/// transform, else `[−s, s]`). Two classes with weights for class 1: both scores
/// transformed, and onnxruntime's label: 1 when the second score is positive, else 0
/// (the numbers, not `classlabels`).
pub fn import_classifier(cx: &NodeCx) -> OpResult<Lowered> {
    refuse_strings(cx, &["classlabels_strings"])?;
    let labels = class_labels(cx, "classlabels_int64s", "classlabels_strings")?;
    let classes = labels.len();
    let post = post_transform(cx)?;
    let mut forest = forest_v1(cx, "class")?;
    let base = floats_or_tensor(cx, "base_values")?.unwrap_or_default();
    let weights = || forest.leaves.iter().flatten();
    let (targets, rule, threshold, base, labels) = if classes > 2 {
        if !(base.is_empty() || base.len() == classes) {
            unsupported!("{} base values for {classes} classes", base.len());
        }
        let base = if base.is_empty() { vec![0.0; classes] } else { base };
        (classes, LabelRule::ArgMax, 0.0, base, labels)
    } else if classes == 2 && weights().all(|e| e.0 == 0) {
        if base.len() > 1 {
            unsupported!("two classes with weights for class 0 only and {} base values", base.len());
        }
        if post == PostTransform::Probit {
            unsupported!("PROBIT for two classes scored by one value (onnxruntime writes one column)");
        }
        let rule = if weights().all(|e| e.1 >= 0.0) { LabelRule::OneMinus } else { LabelRule::Negate };
        let threshold = if rule == LabelRule::OneMinus { 0.5 } else { 0.0 };
        (1, rule, threshold, vec![base.first().copied().unwrap_or(0.0)], labels)
    } else if classes == 2 && weights().any(|e| e.0 == 0) {
        if base.len() == 2 {
            unsupported!("two classes with weights for both and two base values");
        }
        let b0 = base.first().copied().unwrap_or(0.0);
        (2, LabelRule::SecondAbove, 0.0, vec![b0, 0.0], vec![0, 1])
    } else {
        unsupported!("a classifier with {classes} classes and weights for class 1 only");
    };
    if targets == 1 {
        forest.leaves.iter_mut().flatten().for_each(|e| e.0 = 0);
    }
    let mut nodes = ensemble(cx, &forest, targets, Aggregate::Sum, base, DType::F32)?;
    let last = nodes.len() - 1;
    let labels = Tensor { shape: vec![labels.len()], data: Data::I64(labels) };
    nodes.push(SubNode {
        op: MlClassify { classes, post, rule, threshold }.into(),
        inputs: vec![Some(Src::Const(labels)), Some(Src::Node(last, 0))],
    });
    Ok(Lowered::Nodes(nodes))
}
