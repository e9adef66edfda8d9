//! Classic-ML kernels: tree ensembles against a walk over complete binary trees in
//! heap order (the generator's own description, not the packed arrays), classifier
//! label rules and score transforms against f64 formulas, SVM kernel values and the
//! one-against-one votes and coupled probabilities.

use super::harness::{at, close, exact, fill, head, head_mut, put, rel_abs, Rng, Text, Verdict, Want, SENTINEL, SLACK};
use super::math64;
use crate::kernels::{
    tree_node, Aggregate, LabelRule, MlClassify, MlTransform, PostTransform, SvmClassify, SvmKernel, SvmKernelKind,
    TreeEnsemble,
};
use core::fmt::Write;

/// Trees of the tree check: at most 4, each complete of depth 1–3.
const TREES: usize = 4;
/// Branch nodes and leaves of one tree of depth 3.
const BRANCHES: usize = 7;

/// `tree_ensemble<f32,u8>`: values on a grid of quarters with few terms, so sums,
/// minima and maxima are exact; averages (a division and the base added) within
/// `1e-7 + 1e-6·|want|`. Inputs sit on the grid of the
/// splits, with NaNs, so equality and missing-value routing are exercised.
pub(crate) fn tree_ensemble<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&TreeEnsemble, &[u8], &[u8], &[f32], &[u8], &[u8], &[u8], &[u8], &[f32], &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&TreeEnsemble, &[u8], &[u8], &[f32], &[u8], &[u8], &[u8], &[u8], &[f32], &[f32], &[f32], &[f32], &mut [f32]),
{
    let (rows, features, targets, trees) = (rng.dim(6), rng.dim(4), rng.dim(3), rng.range(1, TREES));
    let aggregate = rng.pick(&[Aggregate::Sum, Aggregate::Average, Aggregate::Min, Aggregate::Max], Aggregate::Sum);
    let mut depth = [0usize; TREES];
    let (mut roots, mut feature, mut split, mut mode, mut child) =
        ([0u8; TREES], [0u8; 32], [0f32; 32], [0u8; 32], [0u8; 64]);
    let (mut leaf_start, mut target, mut weight) = ([0u8; 40], [0u8; 80], [0f32; 80]);
    let mut sets = [0f32; 64];
    let (mut nodes, mut leaves, mut entries, mut set_len) = (0usize, 0usize, 0usize, 0usize);
    // Per tree, per heap position: feature, comparison, split, missing flag, and for
    // member nodes the set (offset, length), kept for the reference.
    let mut heap = [[(0usize, 0u8, 0f32, false, 0usize, 0usize); BRANCHES]; TREES];
    let mut first_leaf = [0usize; TREES];
    for t in 0..trees {
        let d = rng.range(1, 3);
        put(&mut depth, t, d);
        let (inner, base) = ((1 << d) - 1, nodes);
        put(&mut roots, t, base as u8);
        put(&mut first_leaf, t, leaves);
        for h in 0..inner {
            let m = rng.below(7) as u8;
            let (f, s, missing) = (rng.below(features), rng.i32(-2, 2) as f32 * 0.5, rng.chance(1, 2));
            let (mut off, mut len) = (0, 0);
            if m == tree_node::MEMBER {
                len = rng.range(0, 3);
                off = set_len;
                put(&mut sets, off, len as f32);
                for k in 0..len {
                    put(&mut sets, off + 1 + k, rng.i32(-2, 2) as f32 * 0.5);
                }
                set_len += len + 1;
            }
            if let Some(row) = heap.get_mut(t) {
                put(row, h, (f, m, s, missing, off, len));
            }
            let n = base + h;
            put(&mut feature, n, f as u8);
            put(&mut split, n, if m == tree_node::MEMBER { off as f32 } else { s });
            let mut bits = m | if missing { tree_node::MISSING_TRUE } else { 0 };
            for (side, kid) in [(0, 2 * h + 1), (1, 2 * h + 2)] {
                let v = if kid >= inner {
                    bits |= if side == 0 { tree_node::TRUE_LEAF } else { tree_node::FALSE_LEAF };
                    leaves + kid - inner
                } else {
                    base + kid
                };
                put(&mut child, 2 * n + side, v as u8);
            }
            put(&mut mode, n, bits);
        }
        nodes += inner;
        for _ in 0..inner + 1 {
            put(&mut leaf_start, leaves, entries as u8);
            for _ in 0..rng.range(0, 2) {
                put(&mut target, entries, rng.below(targets) as u8);
                put(&mut weight, entries, rng.i32(-8, 8) as f32 * 0.25);
                entries += 1;
            }
            leaves += 1;
        }
    }
    put(&mut leaf_start, leaves, entries as u8);
    let p = TreeEnsemble { rows, features, targets, trees, nodes, leaves, aggregate };
    let mut base = [0f32; 3];
    fill(&mut base, || rng.i32(-4, 4) as f32 * 0.25);
    let mut x = [0f32; 24];
    fill(&mut x, || if rng.chance(1, 8) { f32::NAN } else { rng.i32(-3, 3) as f32 * 0.5 });
    let _ = write!(geo, "{rows}x{features} -> {targets} trees {trees} {aggregate:?}");
    let total = rows * targets;
    let (mut got, mut exp) = ([SENTINEL; 18 + SLACK], [SENTINEL; 18 + SLACK]);
    let arrays = (head(&roots, trees), head(&feature, nodes), head(&split, nodes), head(&mode, nodes));
    let (r, fe, sp, mo) = arrays;
    let (ch, ls, tg, wt) =
        (head(&child, 2 * nodes), head(&leaf_start, leaves + 1), head(&target, entries), head(&weight, entries));
    let (st, bs, xs) = (head(&sets, set_len.max(1)), head(&base, targets), head(&x, rows * features));
    imp(&p, r, fe, sp, mo, ch, ls, tg, wt, st, bs, xs, head_mut(&mut got, total));
    match want {
        Want::Reference => {
            for row in 0..rows {
                let mut acc = [0f64; 3];
                let mut seen = [false; 3];
                for t in 0..trees {
                    let (d, row_heap) = (at(&depth, t), heap.get(t).copied().unwrap_or_default());
                    let inner = (1 << d) - 1;
                    let mut h = 0;
                    while h < inner {
                        let (f, m, s, missing, off, len) = at(&row_heap, h);
                        let v = at(&x, row * features + f);
                        let yes = match m {
                            tree_node::LEQ => v <= s,
                            tree_node::LT => v < s,
                            tree_node::GTE => v >= s,
                            tree_node::GT => v > s,
                            tree_node::EQ => v == s,
                            tree_node::NEQ => v != s,
                            _ => (0..len).any(|k| at(&sets, off + 1 + k) == v),
                        } || (missing && v.is_nan());
                        h = if yes { 2 * h + 1 } else { 2 * h + 2 };
                    }
                    let leaf = at(&first_leaf, t) + h - inner;
                    for e in at(&leaf_start, leaf) as usize..at(&leaf_start, leaf + 1) as usize {
                        let (k, w) = (at(&target, e) as usize, at(&weight, e) as f64);
                        let a = at(&acc, k);
                        let v = match aggregate {
                            Aggregate::Sum | Aggregate::Average => a + w,
                            Aggregate::Min if at(&seen, k) => a.min(w),
                            Aggregate::Max if at(&seen, k) => a.max(w),
                            _ => w,
                        };
                        put(&mut acc, k, v);
                        put(&mut seen, k, true);
                    }
                }
                for k in 0..targets {
                    let a = at(&acc, k);
                    let v = if aggregate == Aggregate::Average { a / trees as f64 } else { a };
                    put(&mut exp, row * targets + k, (v + at(&base, k) as f64) as f32);
                }
            }
        }
        Want::Twin(twin) => twin(&p, r, fe, sp, mo, ch, ls, tg, wt, st, bs, xs, head_mut(&mut exp, total)),
    }
    close("y", &got, &exp, rel_abs(1e-6, 1e-7))
}

/// A transform in f64 of one row, as the kernels define it (probit by onnxruntime's
/// erfinv approximation).
#[allow(clippy::approx_constant, reason = "onnxruntime's constant, not π")]
fn transform64(post: PostTransform, row: &mut [f64]) {
    let logistic = |s: f64| math64::sigmoid(s);
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => row.iter_mut().for_each(|v| *v = logistic(*v)),
        PostTransform::Probit => row.iter_mut().for_each(|v| {
            let x = 2.0 * *v - 1.0;
            let l = math64::ln((1.0 - x) * (1.0 + x));
            let a = 2.0 / (3.14159 * 0.147) + 0.5 * l;
            let r = math64::sqrt(-a + math64::sqrt(a * a - l / 0.147));
            *v = core::f64::consts::SQRT_2 * if x < 0.0 { -r } else { r };
        }),
        PostTransform::Softmax | PostTransform::SoftmaxZero => {
            let zero = post == PostTransform::SoftmaxZero;
            let max = row.iter().fold(f64::MIN, |m, &v| if v > m { v } else { m });
            let mut sum = 0.0;
            for v in row.iter_mut() {
                if zero && v.abs() <= 1e-7 {
                    *v *= math64::exp(-max);
                } else {
                    *v = math64::exp(*v - max);
                    sum += *v;
                }
            }
            row.iter_mut().for_each(|v| *v /= sum);
        }
    }
}

/// `ml_classify_f32`: labels exact, probabilities within `2e-6 + 2e-5·|want|` (the
/// transforms' f32 elementary functions), the probit within `1e-3` (onnxruntime's
/// erfinv approximation, evaluated in f32 as onnxruntime does, loses digits to
/// cancellation near 0.5; scores stay inside (0.05, 0.95)).
pub(crate) fn ml_classify<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&MlClassify, &[i64], &[f32], &mut [i64], &mut [f32]),
    G: Fn(&MlClassify, &[i64], &[f32], &mut [i64], &mut [f32]),
{
    let rule = rng
        .pick(&[LabelRule::ArgMax, LabelRule::SecondAbove, LabelRule::OneMinus, LabelRule::Negate], LabelRule::ArgMax);
    let posts = [
        PostTransform::None,
        PostTransform::Logistic,
        PostTransform::Softmax,
        PostTransform::SoftmaxZero,
        PostTransform::Probit,
    ];
    let one = matches!(rule, LabelRule::OneMinus | LabelRule::Negate);
    let post = if one { rng.pick(&posts[..2], PostTransform::None) } else { rng.pick(&posts, PostTransform::None) };
    let classes = if rule == LabelRule::ArgMax { rng.range(2, 6) } else { 2 };
    let columns = if one { 1 } else { classes };
    let rows = rng.dim(8);
    let threshold = rng.pick(&[0.0, 0.5], 0.0);
    let p = MlClassify { rows, columns, classes, post, rule, threshold };
    let mut labels = [0i64; 6];
    fill(&mut labels, || rng.int(-5, 50));
    let mut s = [0f32; 48];
    fill(&mut s, || if post == PostTransform::Probit { rng.float(0.05, 0.95) } else { rng.i32(-8, 8) as f32 * 0.25 });
    let _ = write!(geo, "{rows}x{columns} -> {classes} {rule:?} {post:?} t{threshold}");
    let (mut gl, mut el) = ([-7i64; 8 + SLACK], [-7i64; 8 + SLACK]);
    let (mut gp, mut ep) = ([SENTINEL; 48 + SLACK], [SENTINEL; 48 + SLACK]);
    let (ls, ss) = (head(&labels, classes), head(&s, rows * columns));
    imp(&p, ls, ss, head_mut(&mut gl, rows), head_mut(&mut gp, rows * classes));
    match want {
        Want::Reference => {
            for r in 0..rows {
                let mut row = [0f64; 6];
                for j in 0..columns {
                    put(&mut row, j, at(&s, r * columns + j) as f64);
                }
                let v = at(&row, 0);
                let label = match rule {
                    LabelRule::ArgMax => {
                        let mut best = 0;
                        for j in 1..classes {
                            if at(&row, j) > at(&row, best) {
                                best = j;
                            }
                        }
                        best
                    }
                    LabelRule::SecondAbove => usize::from(at(&row, 1) > threshold as f64),
                    _ => usize::from(v > threshold as f64),
                };
                put(&mut el, r, at(&labels, label));
                match rule {
                    LabelRule::OneMinus => row = [1.0 - v, v, 0.0, 0.0, 0.0, 0.0],
                    LabelRule::Negate if post == PostTransform::Logistic => {
                        row = [math64::sigmoid(-v), math64::sigmoid(v), 0.0, 0.0, 0.0, 0.0]
                    }
                    LabelRule::Negate => row = [-v, v, 0.0, 0.0, 0.0, 0.0],
                    _ => transform64(post, head_mut(&mut row, classes)),
                }
                for j in 0..classes {
                    put(&mut ep, r * classes + j, at(&row, j) as f32);
                }
            }
        }
        Want::Twin(twin) => twin(&p, ls, ss, head_mut(&mut el, rows), head_mut(&mut ep, rows * classes)),
    }
    exact("label", &gl, &el)?;
    close("probabilities", &gp, &ep, rel_abs(2e-5, if post == PostTransform::Probit { 1e-3 } else { 2e-6 }))
}

/// `ml_transform_f32`: within `2e-6 + 2e-5·|want|` (the probit within `1e-3`, as for
/// [`ml_classify`]); one column takes the probit only.
pub(crate) fn ml_transform<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&MlTransform, &[f32], &mut [f32]),
    G: Fn(&MlTransform, &[f32], &mut [f32]),
{
    let posts = [
        PostTransform::None,
        PostTransform::Logistic,
        PostTransform::Softmax,
        PostTransform::SoftmaxZero,
        PostTransform::Probit,
    ];
    let (rows, columns, post) = (rng.dim(8), rng.dim(6), rng.pick(&posts, PostTransform::None));
    let p = MlTransform { rows, columns, post };
    let mut x = [0f32; 48];
    fill(&mut x, || if post == PostTransform::Probit { rng.float(0.05, 0.95) } else { rng.i32(-8, 8) as f32 * 0.25 });
    let _ = write!(geo, "{rows}x{columns} {post:?}");
    let n = rows * columns;
    let (mut got, mut exp) = ([SENTINEL; 48 + SLACK], [SENTINEL; 48 + SLACK]);
    imp(&p, head(&x, n), head_mut(&mut got, n));
    match want {
        Want::Reference => {
            let post = if columns == 1 && post != PostTransform::Probit { PostTransform::None } else { post };
            for r in 0..rows {
                let mut row = [0f64; 6];
                for j in 0..columns {
                    put(&mut row, j, at(&x, r * columns + j) as f64);
                }
                transform64(post, head_mut(&mut row, columns));
                for j in 0..columns {
                    put(&mut exp, r * columns + j, at(&row, j) as f32);
                }
            }
        }
        Want::Twin(twin) => twin(&p, head(&x, n), head_mut(&mut exp, n)),
    }
    close("y", &got, &exp, rel_abs(2e-5, if post == PostTransform::Probit { 1e-3 } else { 2e-6 }))
}

/// `svm_kernel_f32`: within `1e-6 + 1e-5·|want|` of the f64 kernel functions.
pub(crate) fn svm_kernel<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&SvmKernel, &[f32], &[f32], &mut [f32]),
    G: Fn(&SvmKernel, &[f32], &[f32], &mut [f32]),
{
    let kinds = [SvmKernelKind::Linear, SvmKernelKind::Poly, SvmKernelKind::Rbf, SvmKernelKind::Sigmoid];
    let (rows, vectors, features) = (rng.dim(6), rng.dim(8), rng.dim(5));
    let kind = rng.pick(&kinds, SvmKernelKind::Linear);
    let p = SvmKernel {
        rows,
        vectors,
        features,
        kind,
        gamma: rng.float(0.05, 0.5),
        coef0: rng.float(-1.0, 1.0),
        degree: rng.range(1, 3) as f32,
    };
    let (mut x, mut sv) = ([0f32; 30], [0f32; 40]);
    fill(&mut x, || rng.float(-1.0, 1.0));
    fill(&mut sv, || rng.float(-1.0, 1.0));
    let _ = write!(geo, "{rows}x{features} vs {vectors} {kind:?}");
    let n = rows * vectors;
    let (mut got, mut exp) = ([SENTINEL; 48 + SLACK], [SENTINEL; 48 + SLACK]);
    imp(&p, head(&sv, vectors * features), head(&x, rows * features), head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for r in 0..rows {
                for v in 0..vectors {
                    let (mut dot, mut dist) = (0f64, 0f64);
                    for f in 0..features {
                        let (a, b) = (at(&x, r * features + f) as f64, at(&sv, v * features + f) as f64);
                        dot += a * b;
                        dist += (a - b) * (a - b);
                    }
                    let (g, c) = (p.gamma as f64, p.coef0 as f64);
                    let k = match kind {
                        SvmKernelKind::Linear => dot,
                        SvmKernelKind::Poly => math64::pow(g * dot + c, p.degree as f64),
                        SvmKernelKind::Rbf => math64::exp(-g * dist),
                        SvmKernelKind::Sigmoid => math64::tanh(g * dot + c),
                    };
                    put(&mut exp, r * vectors + v, k as f32);
                }
            }
        }
        Want::Twin(twin) => twin(&p, head(&sv, vectors * features), head(&x, rows * features), head_mut(&mut exp, n)),
    }
    close("k", &got, &exp, rel_abs(1e-5, 1e-6))
}

/// `svm_classify_f32`: labels (most votes, first among equals) exact; decision-value
/// scores exact; coupled probabilities within 1e-3 of the same iteration in f64 (its
/// stopping rule, `0.005/classes`, bounds how far either is from the optimum).
pub(crate) fn svm_classify<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&SvmClassify, &[i64], &[f32], &[f32], &[f32], &mut [i64], &mut [f32], &mut [f32]),
    G: Fn(&SvmClassify, &[i64], &[f32], &[f32], &[f32], &mut [i64], &mut [f32], &mut [f32]),
{
    let (rows, classes, probabilities) = (rng.dim(6), rng.range(2, 5), rng.chance(1, 2));
    let post = if probabilities || classes > 2 {
        rng.pick(&[PostTransform::None, PostTransform::Logistic], PostTransform::None)
    } else {
        PostTransform::None
    };
    let p = SvmClassify { rows, classes, probabilities, post };
    let pairs = classes * (classes - 1) / 2;
    let cols = p.columns();
    let mut labels = [0i64; 5];
    fill(&mut labels, || rng.int(0, 9));
    let (mut a, mut b, mut d) = ([0f32; 10], [0f32; 10], [0f32; 60]);
    fill(&mut a, || rng.float(-3.0, -0.5));
    fill(&mut b, || rng.float(-0.5, 0.5));
    fill(&mut d, || rng.float(-2.0, 2.0));
    let _ = write!(geo, "{rows} rows {classes} classes p{} {post:?}", probabilities as u8);
    let (mut gl, mut el) = ([-7i64; 6 + SLACK], [-7i64; 6 + SLACK]);
    let (mut gs, mut es) = ([SENTINEL; 60 + SLACK], [SENTINEL; 60 + SLACK]);
    let (mut scratch, mut scratch2) = ([0f32; 30], [0f32; 30]);
    let (ls, pa, pb, ds) = (head(&labels, classes), head(&a, pairs), head(&b, pairs), head(&d, rows * pairs));
    imp(&p, ls, pa, pb, ds, head_mut(&mut gl, rows), head_mut(&mut gs, rows * cols), &mut scratch);
    match want {
        Want::Reference => {
            for r in 0..rows {
                let pair = |i: usize, j: usize| {
                    let mut k = 0;
                    for a in 0..classes {
                        for b in a + 1..classes {
                            if (a, b) == (i, j) {
                                return k;
                            }
                            k += 1;
                        }
                    }
                    k
                };
                let dv = |i: usize, j: usize| at(&d, r * pairs + pair(i, j)) as f64;
                let mut votes = [0usize; 5];
                for i in 0..classes {
                    for j in i + 1..classes {
                        let w = if dv(i, j) > 0.0 { i } else { j };
                        let n = at(&votes, w) + 1;
                        put(&mut votes, w, n);
                    }
                }
                let mut best = 0;
                for c in 1..classes {
                    if at(&votes, c) > at(&votes, best) {
                        best = c;
                    }
                }
                put(&mut el, r, at(&labels, best));
                let mut out = [0f64; 10];
                if probabilities {
                    // r(i, j): the Platt probability that i beats j.
                    let rr = |i: usize, j: usize| {
                        let (lo, hi) = if i < j { (i, j) } else { (j, i) };
                        let k = pair(lo, hi);
                        let s = dv(lo, hi) * at(&a, k) as f64 + at(&b, k) as f64;
                        let v = (1.0 - math64::sigmoid(s)).clamp(1e-7, 1.0 - 1e-7);
                        if i < j {
                            v
                        } else {
                            1.0 - v
                        }
                    };
                    let k = classes;
                    let mut q = [0f64; 25];
                    for i in 0..k {
                        for j in 0..k {
                            let v = if i == j {
                                (0..k).filter(|&m| m != i).map(|m| rr(m, i) * rr(m, i)).sum()
                            } else {
                                -rr(j, i) * rr(i, j)
                            };
                            put(&mut q, i * k + j, v);
                        }
                    }
                    let mut pr = [1.0 / k as f64; 5];
                    let mut qp = [0f64; 5];
                    for _ in 0..100 {
                        let mut pqp = 0.0;
                        for i in 0..k {
                            let v: f64 = (0..k).map(|j| at(&q, i * k + j) * at(&pr, j)).sum();
                            put(&mut qp, i, v);
                            pqp += at(&pr, i) * v;
                        }
                        if (0..k).all(|i| (at(&qp, i) - pqp).abs() < 0.005 / k as f64) {
                            break;
                        }
                        for i in 0..k {
                            let diff = (-at(&qp, i) + pqp) / at(&q, i * k + i);
                            let v = at(&pr, i) + diff;
                            put(&mut pr, i, v);
                            pqp = (pqp + diff * (diff * at(&q, i * k + i) + 2.0 * at(&qp, i)))
                                / (1.0 + diff)
                                / (1.0 + diff);
                            for j in 0..k {
                                let v = (at(&qp, j) + diff * at(&q, i * k + j)) / (1.0 + diff);
                                put(&mut qp, j, v);
                                let v = at(&pr, j) / (1.0 + diff);
                                put(&mut pr, j, v);
                            }
                        }
                    }
                    for i in 0..k {
                        put(&mut out, i, at(&pr, i));
                    }
                    transform64(post, head_mut(&mut out, k));
                } else if classes == 2 {
                    out = [-dv(0, 1), dv(0, 1), 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
                } else {
                    for k in 0..pairs {
                        put(&mut out, k, at(&d, r * pairs + k) as f64);
                    }
                    transform64(post, head_mut(&mut out, pairs));
                }
                for j in 0..cols {
                    put(&mut es, r * cols + j, at(&out, j) as f32);
                }
            }
        }
        Want::Twin(twin) => {
            twin(&p, ls, pa, pb, ds, head_mut(&mut el, rows), head_mut(&mut es, rows * cols), &mut scratch2)
        }
    }
    exact("label", &gl, &el)?;
    let tol = if probabilities { rel_abs(0.0, 1e-3) } else { rel_abs(2e-5, 2e-6) };
    close("scores", &gs, &es, tol)
}
