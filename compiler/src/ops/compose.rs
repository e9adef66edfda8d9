//! ONNX ops that import as small graphs of other IR ops, with no kernel of their own:
//! Hardmax (ArgMax, Equal with the axis' indices, Cast), LpNormalization (ReduceL1/L2,
//! Div, Where) and LpPool (|x|^p, a zero-padded average pool times the window size, ^(1/p)).

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::logic::{Compare, Where};
use super::pool::{import_pool, PoolKind};
use super::reduce::{ArgReduce, Reduce};
use super::shape::Cast;
use super::util::axis;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::UnaryFn;
use tinyops_runtime::kernels::{CompareOp, ReduceOp};

fn node(op: impl Into<Op>, inputs: Vec<Src>) -> SubNode {
    SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() }
}

fn scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

fn binary(kind: BinKind) -> Binary {
    Binary { kind, act: Act::NONE }
}

/// Hardmax (opset 13: along `axis`): 1 at the first largest element, 0 elsewhere.
pub fn import_hardmax(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    if cx.opset < 13 {
        unsupported!("Hardmax before opset 13 (the 2-D coercion)");
    }
    if x.ty.dtype != DType::F32 {
        unsupported!("Hardmax of {} tensors", x.ty.dtype);
    }
    let rank = x.ty.rank();
    let a = axis(cx.int("axis", -1)?, rank)?;
    let len = x.ty.shape[a];
    let mut shape = vec![1; rank];
    shape[a] = len;
    let iota = Tensor { shape, data: Data::I64((0..len as i64).collect()) };
    Ok(Lowered::Nodes(vec![
        node(ArgReduce { max: true, axis: a, keepdims: true, last: false }, vec![Src::In(0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(0, 0), Src::Const(iota)]),
        node(Cast { to: DType::F32, saturate: true }, vec![Src::Node(1, 0)]),
    ]))
}

/// LpNormalization: `x / ‖x‖_p` along `axis`, p = 1 or 2 (0 where the norm is 0, as
/// the ONNX reference has it).
pub fn import_lp_normalization(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let a = axis(cx.int("axis", -1)?, x.ty.rank())?;
    let op = match cx.int("p", 2)? {
        1 => ReduceOp::L1,
        2 => ReduceOp::L2,
        p => invalid!("LpNormalization p = {p} (1 or 2)"),
    };
    Ok(Lowered::Nodes(vec![
        node(Reduce { op, axes: vec![a], keepdims: true }, vec![Src::In(0)]),
        node(binary(BinKind::Div), vec![Src::In(0), Src::Node(0, 0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(0, 0), scalar(0.0)]),
        node(Where, vec![Src::Node(2, 0), scalar(0.0), Src::Node(1, 0)]),
    ]))
}

/// LpPool: `(Σ |x|^p)^(1/p)` over each window, padding counting as zeros.
pub fn import_lp_pool(cx: &NodeCx) -> OpResult<Lowered> {
    let p = cx.int("p", 2)?;
    if p < 1 {
        invalid!("LpPool p = {p}");
    }
    let mut nodes = vec![
        node(Unary { f: UnaryFn::Abs }, vec![Src::In(0)]),
        node(binary(BinKind::Pow), vec![Src::Node(0, 0), scalar(p as f32)]),
    ];
    // The pool (one op, or the 3-D pool's reshapes and two 2-D pools) reads the powers.
    let pooled = match import_pool(cx)? {
        Lowered::Op(op, _) => vec![node(op, vec![Src::In(0)])],
        Lowered::Nodes(subs) => subs,
        _ => invalid!("LpPool did not import as a pool"),
    };
    let mut window = 1;
    for mut sub in pooled {
        if let Op::Pool(pool) = &mut sub.op {
            if pool.kind != PoolKind::Avg {
                invalid!("LpPool imported as a max pool");
            }
            pool.count_include_pad = true;
            window *= pool.kernel.iter().product::<usize>();
        }
        for src in sub.inputs.iter_mut().flatten() {
            let moved = match &*src {
                Src::In(0) => Src::Node(1, 0),
                Src::Node(i, o) => Src::Node(i + 2, *o),
                other => other.clone(),
            };
            *src = moved;
        }
        nodes.push(sub);
    }
    let last = nodes.len() - 1;
    nodes.push(node(binary(BinKind::Mul), vec![Src::Node(last, 0), scalar(window as f32)]));
    nodes.push(node(binary(BinKind::Pow), vec![Src::Node(last + 1, 0), scalar(1.0 / p as f32)]));
    Ok(Lowered::Nodes(nodes))
}

/// `x · sigmoid(alpha · x)`, the nodes of Swish on ONNX input `x`.
fn swish(x: usize, alpha: f32) -> Vec<SubNode> {
    vec![
        node(binary(BinKind::Mul), vec![Src::In(x), scalar(alpha)]),
        node(Unary { f: UnaryFn::Sigmoid }, vec![Src::Node(0, 0)]),
        node(binary(BinKind::Mul), vec![Src::In(x), Src::Node(1, 0)]),
    ]
}

fn expect_f32(cx: &NodeCx, i: usize) -> OpResult<()> {
    let Some(x) = cx.input(i) else { invalid!("input {i} is required") };
    if x.ty.dtype != DType::F32 && !x.ty.dtype.is_half() {
        unsupported!("{} of {} tensors", cx.node.op_type, x.ty.dtype);
    }
    Ok(())
}

/// Swish: `x · sigmoid(alpha · x)`.
pub fn import_swish(cx: &NodeCx) -> OpResult<Lowered> {
    expect_f32(cx, 0)?;
    Ok(Lowered::Nodes(swish(0, cx.float("alpha", 1.0)?)))
}

/// SwiGLU: `Swish(A) · B` (A and B of one shape).
pub fn import_swiglu(cx: &NodeCx) -> OpResult<Lowered> {
    expect_f32(cx, 0)?;
    expect_f32(cx, 1)?;
    let mut nodes = swish(0, cx.float("alpha", 1.0)?);
    nodes.push(node(binary(BinKind::Mul), vec![Src::Node(2, 0), Src::In(1)]));
    Ok(Lowered::Nodes(nodes))
}

/// EyeLike: a constant (shapes are static) with ones on diagonal `k`.
pub fn import_eye_like(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let [rows, cols] = x.ty.shape[..] else { invalid!("EyeLike of rank {} (2 is required)", x.ty.rank()) };
    let dtype = if cx.has("dtype") {
        crate::front::tensor::dtype_of(cx.int("dtype", 1)? as i32)
            .map_err(|t| super::OpError::Unsupported(format!("EyeLike of {t}")))?
    } else {
        x.ty.dtype
    };
    let k = cx.int("k", 0)?;
    let v = (0..rows * cols).map(|i| i64::from((i % cols) as i64 - (i / cols) as i64 == k)).collect();
    Ok(Lowered::Const(Tensor { shape: vec![rows, cols], data: Data::I64(v).cast(dtype) }))
}

/// Clip of integers: `min(max(x, lo), hi)` with the integer kernels.
pub fn import_clip_int(cx: &NodeCx) -> OpResult<Lowered> {
    let mut nodes = vec![];
    let mut last = Src::In(0);
    for (slot, kind) in [(1, BinKind::Max), (2, BinKind::Min)] {
        if let Some(bound) = cx.const_input(slot, "a bound")? {
            nodes.push(node(binary(kind), vec![last, Src::Const(Tensor::scalar(bound.data.clone()))]));
            last = Src::Node(nodes.len() - 1, 0);
        }
    }
    Ok(if nodes.is_empty() { Lowered::Forward(0) } else { Lowered::Nodes(nodes) })
}

/// OneHot: `values[1]` where the (wrapped) index equals the position along the new
/// axis, `values[0]` elsewhere; indices are compared in their own type, as the ONNX
/// reference does, so out-of-range and fractional ones match nothing.
pub fn import_one_hot(cx: &NodeCx) -> OpResult<Lowered> {
    use super::layout::{Gather, Reshape};
    let (Some(idx), Some(values)) = (cx.input(0), cx.input(2)) else { invalid!("indices and values are required") };
    let Some(depth) = cx.const_input(1, "depth")? else { invalid!("depth is required") };
    if depth.numel() != 1 {
        invalid!("depth must hold one value, not {}", depth.numel());
    }
    let depth = depth.data.get_f64(0).ceil();
    if depth < 1.0 || depth > (1u64 << 24) as f64 {
        unsupported!("OneHot depth {depth}");
    }
    let depth = depth as usize;
    if values.ty.numel() != 2 {
        invalid!("values must hold [off, on], not {} elements", values.ty.numel());
    }
    let (t, rank) = (idx.ty.dtype, idx.ty.rank());
    let a = axis(cx.int("axis", -1)?, rank + 1)?;
    let of = |v: f64| Src::Const(Tensor::scalar(Data::F64(vec![v]).cast(t)));
    let mut unsq = idx.ty.shape.clone();
    unsq.insert(a, 1);
    let mut iota_shape = vec![1; rank + 1];
    iota_shape[a] = depth;
    let iota = Tensor { shape: iota_shape, data: Data::F64((0..depth).map(|i| i as f64).collect()).cast(t) };
    let pick = |i: usize| Gather { axis: 0, indices: vec![i], indices_shape: vec![] };
    let flat = Reshape { shape: vec![2] };
    Ok(Lowered::Nodes(vec![
        node(Compare { op: CompareOp::Less }, vec![Src::In(0), of(0.0)]),
        node(binary(BinKind::Add), vec![Src::In(0), of(depth as f64)]),
        node(Where, vec![Src::Node(0, 0), Src::Node(1, 0), Src::In(0)]),
        node(Reshape { shape: unsq }, vec![Src::Node(2, 0)]),
        node(Compare { op: CompareOp::Equal }, vec![Src::Node(3, 0), Src::Const(iota)]),
        node(flat, vec![Src::In(2)]),
        node(pick(0), vec![Src::Node(5, 0)]),
        node(pick(1), vec![Src::Node(5, 0)]),
        node(Where, vec![Src::Node(4, 0), Src::Node(7, 0), Src::Node(6, 0)]),
    ]))
}

/// Det (opset 11) of `[..., n, n]` matrices for n ≤ 4: the Leibniz sum over the n!
/// permutations, each a product of elements picked by constant Gathers of the
/// flattened matrices (Reshape, Gather, Mul, Add, Sub). Larger matrices are refused
/// (the sum grows as n!).
pub fn import_det(cx: &NodeCx) -> OpResult<Lowered> {
    use super::layout::{Gather, Reshape};
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let shape = &x.ty.shape;
    let r = shape.len();
    if r < 2 || shape[r - 1] != shape[r - 2] {
        invalid!("Det takes [..., n, n] matrices, got {shape:?}");
    }
    let n = shape[r - 1];
    if !(1..=4).contains(&n) {
        unsupported!("Det of {n}×{n} matrices (1×1 to 4×4)");
    }
    if !matches!(x.ty.dtype, DType::F32 | DType::F64) && !x.ty.dtype.is_half() {
        invalid!("Det of {} tensors", x.ty.dtype);
    }
    let mut nodes = Vec::new();
    let mut flat_shape = shape[..r - 2].to_vec();
    flat_shape.push(n * n);
    nodes.push(node(Reshape { shape: flat_shape }, vec![Src::In(0)]));
    let flat = Src::Node(0, 0);
    let mut add = |op: Op, inputs: Vec<Src>| {
        nodes.push(SubNode { op, inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(nodes.len() - 1, 0)
    };
    // Element (i, j) of every matrix: shape [...].
    let mut element = Vec::with_capacity(n * n);
    for k in 0..n * n {
        element.push(add(Gather { axis: r - 2, indices: vec![k], indices_shape: vec![] }.into(), vec![flat.clone()]));
    }
    let mut total: Option<Src> = None;
    for (perm, even) in permutations(n) {
        let mut term = element[perm[0]].clone();
        for (i, &j) in perm.iter().enumerate().skip(1) {
            term = add(binary(BinKind::Mul).into(), vec![term, element[i * n + j].clone()]);
        }
        total = Some(match total {
            None if even => term,
            None => add(Unary { f: UnaryFn::Neg }.into(), vec![term]),
            Some(t) => add(binary(if even { BinKind::Add } else { BinKind::Sub }).into(), vec![t, term]),
        });
    }
    let y = total.unwrap_or(flat);
    Ok(Lowered::Graph(nodes, vec![Some(y)]))
}

/// Every permutation of `0..n` with whether it is even, the identity first.
fn permutations(n: usize) -> Vec<(Vec<usize>, bool)> {
    let mut out = Vec::new();
    let mut p: Vec<usize> = (0..n).collect();
    fn go(k: usize, p: &mut Vec<usize>, even: bool, out: &mut Vec<(Vec<usize>, bool)>) {
        if k == p.len() {
            out.push((p.clone(), even));
            return;
        }
        for i in k..p.len() {
            p.swap(k, i);
            go(k + 1, p, if i == k { even } else { !even }, out);
            p.swap(k, i);
        }
    }
    go(0, &mut p, true, &mut out);
    out
}
