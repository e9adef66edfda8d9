//! Einsum as a composition of IR ops, no kernel of its own. Each operand's repeated
//! labels become diagonals (Transpose, Reshape, a constant Gather), labels no other
//! term needs are summed away (ReduceSum); two operands multiply as one batched MatMul
//! (`[batch, left, contracted] · [batch, contracted, right]`, operands broadcast by
//! Expand), more than two fold left to right; the result is transposed to the output
//! term's order.

use super::activation::Act;
use super::gemm::MatMul;
use super::layout::{Expand, Gather, Reshape, Transpose};
use super::reduce::Reduce;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use tinyops_runtime::kernels::ReduceOp;

/// A label: a letter of the equation, or an axis of an ellipsis (`'0'` + its index
/// counted from the ellipsis's first axis).
type Label = char;

/// One operand under construction: where its value comes from, its labels and extents.
#[derive(Clone)]
struct Term {
    src: Src,
    labels: Vec<Label>,
    shape: Vec<usize>,
}

#[derive(Default)]
struct Sub {
    nodes: Vec<SubNode>,
}

impl Sub {
    fn add(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }

    /// The term with its axes in the order of `labels` (a permutation of its own).
    fn permute(&mut self, t: Term, labels: &[Label]) -> Term {
        if t.labels == labels {
            return t;
        }
        let perm: Vec<usize> = labels.iter().map(|l| t.labels.iter().position(|m| m == l).unwrap_or(0)).collect();
        let shape = perm.iter().map(|&p| t.shape[p]).collect();
        let src = self.add(Transpose { perm }, vec![t.src]);
        Term { src, labels: labels.to_vec(), shape }
    }

    fn reshape(&mut self, src: Src, shape: Vec<usize>) -> Src {
        self.add(Reshape { shape }, vec![src])
    }

    /// The term with one axis per label: repeated labels reduced to their diagonal.
    fn diagonals(&mut self, mut t: Term) -> OpResult<Term> {
        while let Some((i, j)) = repeated(&t.labels) {
            let (l, n) = (t.labels[i], t.shape[i]);
            if t.shape[j] != n {
                invalid!("label `{l}` has extents {n} and {}", t.shape[j]);
            }
            // The two axes last, merged, and every (n+1)-th element kept.
            let mut labels: Vec<Label> = Vec::new();
            let mut keep_shape = Vec::new();
            for (k, &m) in t.labels.iter().enumerate() {
                if k != i && k != j {
                    labels.push(m);
                    keep_shape.push(t.shape[k]);
                }
            }
            let perm: Vec<usize> = (0..t.labels.len()).filter(|&k| k != i && k != j).chain([i, j]).collect();
            let moved = self.add(Transpose { perm }, vec![t.src]);
            let mut flat = keep_shape.clone();
            flat.push(n * n);
            let flat_src = self.reshape(moved, flat);
            let axis = keep_shape.len();
            let src = self.add(
                Gather { axis, indices: (0..n).map(|k| k * (n + 1)).collect(), indices_shape: vec![n] },
                vec![flat_src],
            );
            labels.push(l);
            keep_shape.push(n);
            t = Term { src, labels, shape: keep_shape };
        }
        Ok(t)
    }

    /// The term with the axes of `drop` summed away.
    fn sum_out(&mut self, t: Term, drop: &[Label]) -> Term {
        let axes: Vec<usize> = (0..t.labels.len()).filter(|&k| drop.contains(&t.labels[k])).collect();
        if axes.is_empty() {
            return t;
        }
        let src = self.add(Reduce { op: ReduceOp::Sum, axes: axes.clone(), keepdims: false }, vec![t.src]);
        let keep = |k: &usize| !axes.contains(k);
        let labels = (0..t.labels.len()).filter(keep).map(|k| t.labels[k]).collect();
        let shape = (0..t.shape.len()).filter(keep).map(|k| t.shape[k]).collect();
        Term { src, labels, shape }
    }

    /// `a · b` keeping the labels in `keep` (those the output or a later operand needs).
    fn product(&mut self, a: Term, b: Term, keep: &[Label]) -> OpResult<Term> {
        let in_b = |l: &Label| b.labels.contains(l);
        let batch: Vec<Label> = a.labels.iter().copied().filter(|l| in_b(l) && keep.contains(l)).collect();
        let contracted: Vec<Label> = a.labels.iter().copied().filter(|l| in_b(l) && !keep.contains(l)).collect();
        let left: Vec<Label> = a.labels.iter().copied().filter(|l| !in_b(l)).collect();
        let right: Vec<Label> = b.labels.iter().copied().filter(|l| !a.labels.contains(l)).collect();
        let extent = |t: &Term, l: Label| t.labels.iter().position(|&m| m == l).map_or(1, |k| t.shape[k]);
        // Batch extents broadcast (an ellipsis axis of extent 1 against n).
        let mut batch_shape = Vec::new();
        for &l in &batch {
            let (x, y) = (extent(&a, l), extent(&b, l));
            if x != y && x != 1 && y != 1 {
                invalid!("label `{l}` has extents {x} and {y}");
            }
            batch_shape.push(x.max(y));
        }
        for &l in &contracted {
            if extent(&a, l) != extent(&b, l) {
                invalid!("label `{l}` has extents {} and {}", extent(&a, l), extent(&b, l));
            }
        }
        let prod = |t: &Term, ls: &[Label]| ls.iter().map(|&l| extent(t, l)).product::<usize>();
        let (nb, nl, nk, nr) =
            (batch_shape.iter().product::<usize>(), prod(&a, &left), prod(&a, &contracted), prod(&b, &right));
        let order_a: Vec<Label> = batch.iter().chain(&left).chain(&contracted).copied().collect();
        let order_b: Vec<Label> = batch.iter().chain(&contracted).chain(&right).copied().collect();
        let (a_shape_b, b_shape_b) = (a.clone(), b.clone());
        let a = self.permute(a, &order_a);
        let b = self.permute(b, &order_b);
        let expand = |g: &mut Self, t: Term, own: &Term, tail: &[Label]| -> Src {
            let own_batch: Vec<usize> = batch.iter().map(|&l| extent(own, l)).collect();
            if own_batch == batch_shape {
                return t.src;
            }
            let mut shape = batch_shape.clone();
            shape.extend(tail.iter().map(|&l| extent(own, l)));
            g.add(Expand { shape }, vec![t.src])
        };
        let tail_a: Vec<Label> = left.iter().chain(&contracted).copied().collect();
        let tail_b: Vec<Label> = contracted.iter().chain(&right).copied().collect();
        let a_src = expand(self, a, &a_shape_b, &tail_a);
        let b_src = expand(self, b, &b_shape_b, &tail_b);
        let a3 = self.reshape(a_src, vec![nb, nl, nk]);
        let b3 = self.reshape(b_src, vec![nb, nk, nr]);
        let y = self.add(MatMul { act: Act::NONE }, vec![a3, b3]);
        let mut shape = batch_shape;
        shape.extend(left.iter().map(|&l| extent(&a_shape_b, l)));
        shape.extend(right.iter().map(|&l| extent(&b_shape_b, l)));
        let src = self.reshape(y, shape.clone());
        let labels = batch.iter().chain(&left).chain(&right).copied().collect();
        Ok(Term { src, labels, shape })
    }
}

/// The first pair of axes with one label.
fn repeated(labels: &[Label]) -> Option<(usize, usize)> {
    (0..labels.len()).find_map(|i| (i + 1..labels.len()).find(|&j| labels[j] == labels[i]).map(|j| (i, j)))
}

/// The labels of one term of the equation, its ellipsis expanded to `rank` axes in
/// all (the ellipsis's axes labelled from the right, so terms broadcast).
fn parse_term(term: &str, rank: usize, ellipsis_rank: &mut usize) -> OpResult<Vec<Label>> {
    let letters = term.replace("...", "");
    if letters.chars().any(|c| !c.is_ascii_alphabetic()) {
        invalid!("term `{term}` has characters other than letters and one `...`");
    }
    if !term.contains("...") {
        if letters.len() != rank {
            invalid!("term `{term}` has {} labels for an operand of rank {rank}", letters.len());
        }
        return Ok(letters.chars().collect());
    }
    if term.matches("...").count() > 1 || letters.len() > rank {
        invalid!("term `{term}` does not fit an operand of rank {rank}");
    }
    let n = rank - letters.len();
    *ellipsis_rank = (*ellipsis_rank).max(n);
    let (before, after) = term.split_once("...").unwrap_or((term, ""));
    // Ellipsis axes count from the right: the last is '0'.
    let ell = (0..n).map(|k| char::from(b'0' + (n - 1 - k) as u8));
    Ok(before.chars().chain(ell).chain(after.chars()).collect())
}

/// Einsum (opset 12) for any number of operands of one numeric type the ops involved
/// compute in (MatMul: f32 and f64).
pub fn import_einsum(cx: &NodeCx) -> OpResult<Lowered> {
    let equation: String = cx.string("equation", "")?.chars().filter(|c| !c.is_whitespace()).collect();
    let (lhs, rhs) = match equation.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (equation.clone(), None),
    };
    let terms: Vec<&str> = lhs.split(',').collect();
    if terms.len() != cx.n_inputs() {
        invalid!("equation `{equation}` has {} terms for {} inputs", terms.len(), cx.n_inputs());
    }
    let mut ellipsis_rank = 0;
    let mut operands = Vec::new();
    for (i, term) in terms.iter().enumerate() {
        let Some(x) = cx.input(i) else { invalid!("input {i} is required") };
        if x.ty.rank() > 10 {
            unsupported!("Einsum operands of rank above 10");
        }
        let labels = parse_term(term, x.ty.rank(), &mut ellipsis_rank)?;
        operands.push(Term { src: Src::In(i), labels, shape: x.ty.shape.clone() });
    }
    // The output term: explicit, or the ellipsis then the labels seen once, sorted.
    let ell: Vec<Label> = (0..ellipsis_rank).rev().map(|k| char::from(b'0' + k as u8)).collect();
    let output: Vec<Label> = match &rhs {
        Some(r) => {
            let letters = r.replace("...", "");
            if letters.chars().any(|c| !c.is_ascii_alphabetic()) {
                invalid!("output term `{r}` has characters other than letters and one `...`");
            }
            let (before, after) = r.split_once("...").unwrap_or((r.as_str(), ""));
            let ell_here: Vec<Label> = if r.contains("...") { ell.clone() } else { vec![] };
            before.chars().chain(ell_here).chain(after.chars()).collect()
        }
        None => {
            let mut once: Vec<Label> = lhs
                .chars()
                .filter(|c| c.is_ascii_alphabetic())
                .filter(|&c| lhs.chars().filter(|&d| d == c).count() == 1)
                .collect();
            once.sort_unstable();
            ell.iter().copied().chain(once).collect()
        }
    };
    if repeated(&output).is_some() {
        invalid!("output term of `{equation}` repeats a label");
    }
    for &l in &output {
        if !operands.iter().any(|t| t.labels.contains(&l)) {
            invalid!("output label `{l}` of `{equation}` is in no input term");
        }
    }

    let mut g = Sub::default();
    let n = operands.len();
    // Labels each operand still has to offer to the output or to later operands.
    let needed_after = |k: usize, ops: &[Term]| -> Vec<Label> {
        let mut v = output.clone();
        for t in &ops[k + 1..] {
            v.extend(&t.labels);
        }
        v
    };
    let mut terms_now = Vec::with_capacity(n);
    for t in operands.iter().cloned() {
        terms_now.push(g.diagonals(t)?);
    }
    let mut acc = terms_now[0].clone();
    let need = needed_after(0, &terms_now);
    let own_only: Vec<Label> = acc.labels.iter().copied().filter(|l| !need.contains(l)).collect();
    acc = g.sum_out(acc, &own_only);
    for k in 1..n {
        let need = needed_after(k, &terms_now);
        let b = terms_now[k].clone();
        // Labels only this operand has and nobody needs: summed first.
        let b_only: Vec<Label> =
            b.labels.iter().copied().filter(|l| !need.contains(l) && !acc.labels.contains(l)).collect();
        let b = g.sum_out(b, &b_only);
        acc = g.product(acc, b, &need)?;
    }
    let result = g.permute(acc, &output);
    if g.nodes.is_empty() {
        return Ok(Lowered::Forward(0));
    }
    let shape = result.shape.clone();
    let src = if output.is_empty() && !shape.is_empty() { g.reshape(result.src, vec![]) } else { result.src };
    Ok(Lowered::Graph(g.nodes, vec![Some(src)]))
}
