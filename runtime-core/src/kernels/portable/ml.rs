//! Classic machine learning (the ONNX-ML operators): tree ensembles walked without
//! recursion over arrays packed at compile time, the score transforms and label rules
//! of classifiers, and support vector machines. The semantics follow onnxruntime's, the
//! reference scikit-learn models are exported for (its binary-classifier conventions
//! included).

use crate::kernels::{
    tree_node, Aggregate, LabelRule, MlClassify, MlTransform, PostTransform, SvmClassify, SvmKernel, SvmKernelKind,
    TreeEnsemble,
};
use crate::math;

/// The element types a tree ensemble computes in (f32, f64).
pub trait TreeValue: Copy + PartialOrd + Default + 'static {
    /// Zero.
    const ZERO: Self;
    /// `self + b`.
    fn add(self, b: Self) -> Self;
    /// `self / n`.
    fn div_count(self, n: usize) -> Self;
    /// The value as an offset into the membership sets (non-negative and exact by
    /// construction; anything else reads as an empty set).
    fn offset(self) -> usize;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

/// `TreeValue` for a float type (the same arithmetic for f32 and f64).
macro_rules! tree_value {
    ($($t:ident),*) => {$(
        impl TreeValue for $t {
            const ZERO: $t = 0.0;
            #[inline(always)]
            fn add(self, b: $t) -> $t {
                self + b
            }
            #[inline(always)]
            fn div_count(self, n: usize) -> $t {
                self / n as $t
            }
            #[inline(always)]
            fn offset(self) -> usize {
                if self >= 0.0 {
                    self as usize
                } else {
                    usize::MAX
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                $t::is_nan(self)
            }
        }
    )*};
}

tree_value!(f32, f64);

/// The index types of packed trees (u8, u16, u32: the smallest that holds every index).
pub trait TreeIndex: Copy + 'static {
    /// The index.
    fn at(self) -> usize;
}

macro_rules! tree_index {
    ($($t:ty),*) => {$(
        impl TreeIndex for $t {
            #[inline(always)]
            fn at(self) -> usize {
                self as usize
            }
        }
    )*};
}
tree_index!(u8, u16, u32);

#[inline(always)]
fn idx<I: TreeIndex>(v: &[I], i: usize) -> usize {
    v.get(i).map_or(usize::MAX, |v| v.at())
}

/// Whether `v` is in the membership set at `offset` of `sets` (its length, then its
/// values).
fn member<T: TreeValue>(sets: &[T], offset: usize, v: T) -> bool {
    let Some(len) = sets.get(offset) else { return false };
    let start = offset.saturating_add(1);
    let Some(values) = sets.get(start..start.saturating_add(len.offset())) else { return false };
    values.contains(&v)
}

/// `y` (`rows × targets`) = the ensemble's scores for each row of `x`, plus `base`.
///
/// Branch node `n` compares feature `feature[n]` with `split[n]` by the comparison in
/// `mode[n]` ([`tree_node`]) and goes to child `child[2n]` when true, `child[2n+1]`
/// when false; the mode's flags say whether a child is a leaf. Leaf `l` holds the
/// entries `leaf_start[l] .. leaf_start[l+1]` of `target`/`weight`. Each tree starts at
/// node `roots[t]`. Walks stop after `nodes` steps, so no input can make them loop.
/// Without any entry for a target, `min`/`max` leave it at its base value.
#[allow(clippy::too_many_arguments)]
pub fn tree_ensemble<T: TreeValue, I: TreeIndex>(
    p: &TreeEnsemble,
    roots: &[I],
    feature: &[I],
    split: &[T],
    mode: &[u8],
    child: &[I],
    leaf_start: &[I],
    target: &[I],
    weight: &[T],
    sets: &[T],
    base: &[T],
    x: &[T],
    y: &mut [T],
) {
    let (n, f, k) = (p.rows, p.features, p.targets);
    if roots.len() < p.trees
        || feature.len() < p.nodes
        || split.len() < p.nodes
        || mode.len() < p.nodes
        || child.len() < p.nodes.saturating_mul(2)
        || leaf_start.len() < p.leaves.saturating_add(1)
        || base.len() < k
        || x.len() < n.saturating_mul(f)
        || y.len() < n.saturating_mul(k)
        || k == 0
    {
        return;
    }
    let extreme = matches!(p.aggregate, Aggregate::Min | Aggregate::Max);
    for (r, row) in y.chunks_mut(k).take(n).enumerate() {
        let xs = x.get(r * f..r * f + f).unwrap_or(&[]);
        // Min/Max: NaN marks a target no leaf has scored yet.
        let start = if extreme { nan::<T>() } else { T::ZERO };
        row.iter_mut().for_each(|v| *v = start);
        for t in 0..p.trees {
            let mut node = idx(roots, t);
            let mut leaf = usize::MAX;
            for _ in 0..=p.nodes {
                let (Some(&m), Some(&s)) = (mode.get(node), split.get(node)) else { break };
                let v = xs.get(idx(feature, node)).copied().unwrap_or(T::ZERO);
                let yes = match m & tree_node::COMPARISON {
                    tree_node::LEQ => v <= s,
                    tree_node::LT => v < s,
                    tree_node::GTE => v >= s,
                    tree_node::GT => v > s,
                    tree_node::EQ => v == s,
                    tree_node::NEQ => v != s,
                    _ => member(sets, s.offset(), v),
                } || (m & tree_node::MISSING_TRUE != 0 && v.is_nan());
                let (next, is_leaf) = if yes {
                    (idx(child, 2 * node), m & tree_node::TRUE_LEAF != 0)
                } else {
                    (idx(child, 2 * node + 1), m & tree_node::FALSE_LEAF != 0)
                };
                if is_leaf {
                    leaf = next;
                    break;
                }
                node = next;
            }
            let (from, to) = (idx(leaf_start, leaf), idx(leaf_start, leaf.saturating_add(1)));
            let (Some(ts), Some(ws)) = (target.get(from..to), weight.get(from..to)) else { continue };
            for (&ti, &w) in ts.iter().zip(ws) {
                if let Some(acc) = row.get_mut(ti.at()) {
                    *acc = match p.aggregate {
                        Aggregate::Sum | Aggregate::Average => acc.add(w),
                        Aggregate::Min => {
                            if acc.is_nan() || w < *acc {
                                w
                            } else {
                                *acc
                            }
                        }
                        Aggregate::Max => {
                            if acc.is_nan() || w > *acc {
                                w
                            } else {
                                *acc
                            }
                        }
                    };
                }
            }
        }
        for (acc, &b) in row.iter_mut().zip(base) {
            let v = match p.aggregate {
                Aggregate::Average => acc.div_count(p.trees.max(1)),
                _ if acc.is_nan() => T::ZERO,
                _ => *acc,
            };
            *acc = v.add(b);
        }
    }
}

#[inline(always)]
fn nan<T: TreeValue>() -> T {
    // 0/0 in T without a NaN constant in the trait.
    T::ZERO.div_count(0)
}

#[inline(always)]
fn copy(from: &[f32], to: &mut [f32]) {
    for (t, &f) in to.iter_mut().zip(from) {
        *t = f;
    }
}

/// onnxruntime's logistic function.
#[inline]
pub fn logistic(s: f32) -> f32 {
    let v = 1.0 / (1.0 + math::exp(-s.abs()));
    if s < 0.0 {
        1.0 - v
    } else {
        v
    }
}

/// onnxruntime's probit: `√2 · erfinv(2s − 1)` with erfinv by Winitzki's
/// approximation (a = 0.147), as it computes it (π rounded to 3.14159 included).
#[allow(clippy::approx_constant, reason = "onnxruntime's constant, not π")]
pub fn probit(s: f32) -> f32 {
    let x = 2.0 * s - 1.0;
    let sgn = if x < 0.0 { -1.0 } else { 1.0 };
    let w = (1.0 - x) * (1.0 + x);
    let l = math::ln(w);
    let v = 2.0 / (3.14159 * 0.147) + 0.5 * l;
    let v2 = 1.0 / 0.147 * l;
    let v3 = -v + math::sqrt(v * v - v2);
    core::f32::consts::SQRT_2 * sgn * math::sqrt(v3)
}

/// Applies a post transform to one row of scores in place.
pub fn post_transform(post: PostTransform, row: &mut [f32]) {
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => row.iter_mut().for_each(|v| *v = logistic(*v)),
        PostTransform::Probit => row.iter_mut().for_each(|v| *v = probit(*v)),
        PostTransform::Softmax => {
            let max = row.iter().fold(-f32::MAX, |m, &v| if v > m { v } else { m });
            let mut sum = 0.0;
            for v in row.iter_mut() {
                *v = math::exp(*v - max);
                sum += *v;
            }
            row.iter_mut().for_each(|v| *v /= sum);
        }
        PostTransform::SoftmaxZero => {
            let max = row.iter().fold(-f32::MAX, |m, &v| if v > m { v } else { m });
            let exp_neg_max = math::exp(-max);
            let mut sum = 0.0;
            for v in row.iter_mut() {
                if *v > 0.000_000_1 || *v < -0.000_000_1 {
                    *v = math::exp(*v - max);
                    sum += *v;
                } else {
                    *v *= exp_neg_max;
                }
            }
            row.iter_mut().for_each(|v| *v /= sum);
        }
    }
}

/// `y = post(x)` for `rows × columns` scores: the transform of every score for one
/// column, only the probit for a single one (as onnxruntime's regressors do).
pub fn ml_transform_f32(p: &MlTransform, x: &[f32], y: &mut [f32]) {
    let total = p.rows.saturating_mul(p.columns);
    let (Some(x), Some(y)) = (x.get(..total), y.get_mut(..total)) else { return };
    if p.columns == 0 {
        return;
    }
    copy(x, y);
    let post = match p.post {
        PostTransform::Probit => PostTransform::Probit,
        _ if p.columns == 1 => PostTransform::None,
        post => post,
    };
    for row in y.chunks_mut(p.columns) {
        post_transform(post, row);
    }
}

/// Labels (`rows`) and probabilities (`rows × classes`) from `rows × columns` scores,
/// by [`LabelRule`].
pub fn ml_classify_f32(p: &MlClassify, labels: &[i64], scores: &[f32], label: &mut [i64], probs: &mut [f32]) {
    let (c, w) = (p.classes, p.columns);
    let one = matches!(p.rule, LabelRule::OneMinus | LabelRule::Negate);
    let shape_ok = match p.rule {
        LabelRule::ArgMax => w == c && c > 0,
        LabelRule::SecondAbove => w == 2 && c == 2,
        LabelRule::OneMinus | LabelRule::Negate => w == 1 && c == 2,
    };
    if !shape_ok
        || labels.len() < c
        || scores.len() < p.rows.saturating_mul(w)
        || label.len() < p.rows
        || probs.len() < p.rows.saturating_mul(c)
        || (one && p.post == PostTransform::Probit)
        || w == 0
        || c == 0
    {
        return;
    }
    // Rows by index: zipped `chunks` keep a panic path the optimiser cannot remove.
    for r in 0..p.rows {
        let (Some(s), Some(l), Some(out)) =
            (scores.get(r * w..r * w + w), label.get_mut(r), probs.get_mut(r * c..r * c + c))
        else {
            return;
        };
        let pick = |yes: bool| labels.get(usize::from(yes)).copied().unwrap_or(0);
        match p.rule {
            LabelRule::ArgMax => {
                let mut best = 0;
                for (j, &v) in s.iter().enumerate() {
                    if v > s.get(best).copied().unwrap_or(v) {
                        best = j;
                    }
                }
                *l = labels.get(best).copied().unwrap_or(0);
                copy(s, out);
                post_transform(p.post, out);
            }
            LabelRule::SecondAbove => {
                *l = pick(s.get(1).is_some_and(|&v| v > p.threshold));
                copy(s, out);
                post_transform(p.post, out);
            }
            LabelRule::OneMinus | LabelRule::Negate => {
                let v = s.first().copied().unwrap_or(0.0);
                *l = pick(v > p.threshold);
                let pair = match (p.rule, p.post) {
                    (LabelRule::OneMinus, _) => [1.0 - v, v],
                    (_, PostTransform::Logistic) => [logistic(-v), logistic(v)],
                    _ => [-v, v],
                };
                copy(&pair, out);
            }
        }
    }
}

/// `k` (`rows × vectors`) = the kernel function of each row of `x` with each support
/// vector of `sv` (`vectors × features`).
pub fn svm_kernel_f32(p: &SvmKernel, sv: &[f32], x: &[f32], k: &mut [f32]) {
    let f = p.features;
    if f == 0
        || sv.len() < p.vectors.saturating_mul(f)
        || x.len() < p.rows.saturating_mul(f)
        || k.len() < p.rows.saturating_mul(p.vectors)
        || p.vectors == 0
    {
        return;
    }
    let nv = p.vectors;
    for r in 0..p.rows {
        let (Some(xr), Some(kr)) = (x.get(r * f..r * f + f), k.get_mut(r * nv..r * nv + nv)) else { return };
        for (j, out) in kr.iter_mut().enumerate() {
            let Some(sv_row) = sv.get(j * f..j * f + f) else { return };
            *out = match p.kind {
                SvmKernelKind::Rbf => {
                    let d: f32 = xr.iter().zip(sv_row).map(|(a, b)| (a - b) * (a - b)).sum();
                    math::exp(-p.gamma * d)
                }
                kind => {
                    let dot: f32 = xr.iter().zip(sv_row).map(|(a, b)| a * b).sum();
                    match kind {
                        SvmKernelKind::Poly => math::pow(p.gamma * dot + p.coef0, p.degree),
                        SvmKernelKind::Sigmoid => math::tanh(p.gamma * dot + p.coef0),
                        _ => dot,
                    }
                }
            };
        }
    }
}

/// Pairwise coupling of the probabilities `r[i·k + j]` that class `i` beats `j` into
/// class probabilities `p` (Wu, Lin and Weng's second method, as libsvm and
/// onnxruntime iterate it). `q` holds `k·k + k` floats.
fn couple(k: usize, r: impl Fn(usize, usize) -> f32, q: &mut [f32], p: &mut [f32]) {
    let Some((q, qp)) = q.get_mut(..k * k + k).and_then(|s| s.split_at_mut_checked(k * k)) else { return };
    if p.len() < k || k == 0 {
        return;
    }
    let at = |s: &[f32], i: usize| s.get(i).copied().unwrap_or(0.0);
    fn set(s: &mut [f32], i: usize, v: f32) {
        if let Some(x) = s.get_mut(i) {
            *x = v;
        }
    }
    q.iter_mut().for_each(|v| *v = 0.0);
    for i in 0..k {
        set(p, i, 1.0 / k as f32);
        for j in 0..i {
            set(q, i * k + i, at(q, i * k + i) + r(j, i) * r(j, i));
            set(q, i * k + j, at(q, j * k + i));
        }
        for j in i + 1..k {
            set(q, i * k + i, at(q, i * k + i) + r(j, i) * r(j, i));
            set(q, i * k + j, -r(j, i) * r(i, j));
        }
    }
    let eps = 0.005 / k as f32;
    for _ in 0..100 {
        let mut pqp = 0.0;
        for i in 0..k {
            let mut acc = 0.0;
            for j in 0..k {
                acc += at(q, i * k + j) * at(p, j);
            }
            set(qp, i, acc);
            pqp += at(p, i) * acc;
        }
        let max_error = qp.iter().fold(0.0f32, |m, &v| {
            let e = (v - pqp).abs();
            if e > m {
                e
            } else {
                m
            }
        });
        if max_error < eps {
            break;
        }
        for i in 0..k {
            let (qii, qpi) = (at(q, i * k + i), at(qp, i));
            let diff = (-qpi + pqp) / qii;
            set(p, i, at(p, i) + diff);
            pqp = (pqp + diff * (diff * qii + 2.0 * qpi)) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                set(qp, j, (at(qp, j) + diff * at(q, i * k + j)) / (1.0 + diff));
                set(p, j, at(p, j) / (1.0 + diff));
            }
        }
    }
}

/// Labels and scores of a one-against-one SVM classifier from `rows × pairs` decision
/// values (pairs `(0,1), (0,2), …, (1,2), …`; positive votes for the first class): the
/// label of the class with the most votes (the first among equals) and, with
/// probabilities, the pairwise-coupled Platt probabilities (`prob_a`, `prob_b` per
/// pair; `scratch` holds `classes² + classes` floats), else the decision values
/// (`[−d, d]` for two classes).
#[allow(clippy::too_many_arguments)]
pub fn svm_classify_f32(
    p: &SvmClassify,
    labels: &[i64],
    prob_a: &[f32],
    prob_b: &[f32],
    decisions: &[f32],
    label: &mut [i64],
    scores: &mut [f32],
    scratch: &mut [f32],
) {
    let c = p.classes;
    let pairs = c * c.saturating_sub(1) / 2;
    let cols = p.columns();
    if c < 2
        || labels.len() < c
        || decisions.len() < p.rows.saturating_mul(pairs)
        || label.len() < p.rows
        || scores.len() < p.rows.saturating_mul(cols)
        || (p.probabilities && (prob_a.len() < pairs || prob_b.len() < pairs || scratch.len() < c * c + c))
        || (!p.probabilities && c == 2 && p.post != PostTransform::None)
        || pairs == 0
        || cols == 0
    {
        return;
    }
    for r in 0..p.rows {
        let (Some(d), Some(l), Some(out)) =
            (decisions.get(r * pairs..r * pairs + pairs), label.get_mut(r), scores.get_mut(r * cols..r * cols + cols))
        else {
            return;
        };
        let pair = |i: usize, j: usize| i * (2 * c - i - 1) / 2 + (j - i - 1);
        let (mut best, mut best_votes) = (0, 0);
        for class in 0..c {
            let mut votes = 0;
            for other in 0..c {
                if other < class {
                    votes += usize::from(d.get(pair(other, class)).is_some_and(|&v| v <= 0.0));
                } else if other > class {
                    votes += usize::from(d.get(pair(class, other)).is_some_and(|&v| v > 0.0));
                }
            }
            if votes > best_votes {
                (best, best_votes) = (class, votes);
            }
        }
        *l = labels.get(best).copied().unwrap_or(0);
        if p.probabilities {
            let r = |i: usize, j: usize| -> f32 {
                let (a, b, flip) = if i < j { (i, j, false) } else { (j, i, true) };
                let k = pair(a, b);
                let s = d.get(k).copied().unwrap_or(0.0);
                let v = s * prob_a.get(k).copied().unwrap_or(0.0) + prob_b.get(k).copied().unwrap_or(0.0);
                let v = (1.0 - logistic(v)).clamp(1.0e-7, 1.0 - 1.0e-7);
                if flip {
                    1.0 - v
                } else {
                    v
                }
            };
            couple(c, r, scratch, out);
            post_transform(p.post, out);
        } else if c == 2 {
            let v = d.first().copied().unwrap_or(0.0);
            copy(&[-v, v], out);
        } else {
            copy(d, out);
            post_transform(p.post, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stump_and_a_member_split_sum_their_leaves() {
        // Tree 0: x0 <= 1 ? leaf 0 (t0 += 1) : leaf 1 (t0 += 2, t1 += 5).
        // Tree 1: x1 in {3, 4} ? leaf 2 (t1 += 10) : leaf 3 (no entries).
        let p =
            TreeEnsemble { rows: 2, features: 2, targets: 2, trees: 2, nodes: 2, leaves: 4, aggregate: Aggregate::Sum };
        let leafy = tree_node::TRUE_LEAF | tree_node::FALSE_LEAF;
        let mode = [tree_node::LEQ | leafy, tree_node::MEMBER | leafy];
        let (roots, feature, child) = ([0u8, 1], [0u8, 1], [0u8, 1, 2, 3]);
        let (split, sets) = ([1.0f32, 0.0], [2.0f32, 3.0, 4.0]);
        let (leaf_start, target, weight) = ([0u8, 1, 3, 4, 4], [0u8, 0, 1, 1], [1.0f32, 2.0, 5.0, 10.0]);
        let mut y = [0.0f32; 4];
        let x = [0.5, 4.0, 7.0, 2.0];
        let base = [0.0, 0.5];
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
            &x,
            &mut y,
        );
        assert_eq!(y, [1.0, 10.5, 2.0, 5.5]);
        let max = TreeEnsemble { aggregate: Aggregate::Max, ..p };
        tree_ensemble(
            &max,
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
            &x,
            &mut y,
        );
        assert_eq!(y, [1.0, 10.5, 2.0, 5.5]);
    }

    #[test]
    fn binary_rules_follow_onnxruntime() {
        let p = MlClassify {
            rows: 2,
            columns: 1,
            classes: 2,
            post: PostTransform::None,
            rule: LabelRule::OneMinus,
            threshold: 0.5,
        };
        let (mut l, mut pr) = ([0i64; 2], [0.0f32; 4]);
        ml_classify_f32(&p, &[3, 7], &[0.75, 0.25], &mut l, &mut pr);
        assert_eq!((l, pr), ([7, 3], [0.25, 0.75, 0.75, 0.25]));
        let p = MlClassify { rule: LabelRule::Negate, threshold: 0.0, ..p };
        ml_classify_f32(&p, &[3, 7], &[-1.0, 2.0], &mut l, &mut pr);
        assert_eq!((l, pr), ([3, 7], [1.0, -1.0, -2.0, 2.0]));
    }

    #[test]
    fn coupling_two_classes_gives_the_pair_probability() {
        let (mut q, mut p) = ([0.0f32; 6], [0.0f32; 2]);
        couple(2, |i, j| if i < j { 0.8 } else { 0.2 }, &mut q, &mut p);
        assert!((p[0] - 0.8).abs() < 1e-3 && (p[1] - 0.2).abs() < 1e-3, "{p:?}");
    }
}
