//! Normalisations that import as small graphs of reductions and element-wise IR ops,
//! with no kernel of their own: InstanceNormalization, GroupNormalization (opset 21:
//! per-channel scale and bias), MeanVarianceNormalization, LRN (a channel window sum as
//! an average pool), and BatchNormalization with run-time statistics or in training
//! mode (batch statistics and the running-statistics outputs).

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::layout::Reshape;
use super::pool::{Pool, PoolKind};
use super::reduce::Reduce;
use super::util::axis;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Layout, Tensor};
use tinyops_runtime::kernels::ReduceOp;
use tinyops_runtime::kernels::UnaryFn;

/// A sub-graph under construction: each pushed op gets the next index.
#[derive(Default)]
struct Builder {
    nodes: Vec<SubNode>,
}

impl Builder {
    fn push(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn bin(&mut self, kind: BinKind, a: Src, b: Src) -> Src {
        self.push(Binary { kind, act: Act::NONE }, vec![a, b])
    }
    fn mean(&mut self, x: Src, axes: Vec<usize>) -> Src {
        self.push(Reduce { op: ReduceOp::Mean, axes, keepdims: true }, vec![x])
    }
    fn reshape(&mut self, x: Src, shape: Vec<usize>) -> Src {
        self.push(Reshape { shape }, vec![x])
    }
    fn sqrt(&mut self, x: Src) -> Src {
        self.push(Unary { f: UnaryFn::Sqrt }, vec![x])
    }
    /// `(x - mean) / sqrt(var + eps)` over `axes` (population variance); also returns
    /// the mean and variance.
    fn standardise(&mut self, x: Src, axes: Vec<usize>, eps: f32) -> (Src, Src, Src) {
        let mean = self.mean(x.clone(), axes.clone());
        let d = self.bin(BinKind::Sub, x, mean.clone());
        let sq = self.bin(BinKind::Mul, d.clone(), d.clone());
        let var = self.mean(sq, axes);
        let ve = self.bin(BinKind::Add, var.clone(), scalar(eps));
        let sd = self.sqrt(ve);
        (self.bin(BinKind::Div, d, sd), mean, var)
    }
}

fn scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

fn f32_shape(cx: &NodeCx, i: usize) -> OpResult<Vec<usize>> {
    let Some(x) = cx.input(i) else { invalid!("input {i} is required") };
    if x.ty.dtype != DType::F32 {
        unsupported!("{} of {} tensors", cx.node.op_type, x.ty.dtype);
    }
    Ok(x.ty.shape.clone())
}

/// `[c, 1, 1, …]`: a per-channel vector shaped to broadcast against `N,C,spatial…`.
fn per_channel(c: usize, rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank - 1];
    s[0] = c;
    s
}

/// `y · scale[c] + bias[c]` with the scale and bias (inputs `s`, `s + 1`, length C)
/// broadcast over `N,C,spatial…`.
fn affine(b: &mut Builder, y: Src, c: usize, rank: usize, s: usize) -> Src {
    let scale = b.reshape(Src::In(s), per_channel(c, rank));
    let bias = b.reshape(Src::In(s + 1), per_channel(c, rank));
    let y = b.bin(BinKind::Mul, y, scale);
    b.bin(BinKind::Add, y, bias)
}

/// InstanceNormalization: each (sample, channel) standardised over its spatial axes.
pub fn import_instance_norm(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = f32_shape(cx, 0)?;
    if xs.len() < 3 {
        invalid!("input {xs:?} must be N,C,spatial…");
    }
    let mut b = Builder::default();
    let (y, _, _) = b.standardise(Src::In(0), (2..xs.len()).collect(), cx.float("epsilon", 1e-5)?);
    affine(&mut b, y, xs[1], xs.len(), 1);
    Ok(Lowered::Nodes(b.nodes))
}

/// GroupNormalization (opset 21): channels in `num_groups` groups, each group of a
/// sample standardised, then per-channel scale and bias.
pub fn import_group_norm(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = f32_shape(cx, 0)?;
    if xs.len() < 3 {
        invalid!("input {xs:?} must be N,C,spatial…");
    }
    if cx.opset < 21 {
        unsupported!("GroupNormalization before opset 21 (per-group scale and bias)");
    }
    let g = cx.int("num_groups", 0)?;
    let c = xs[1];
    if g < 1 || c as i64 % g != 0 {
        invalid!("num_groups {g} does not divide {c} channels");
    }
    let rest: usize = xs[1..].iter().product();
    let mut b = Builder::default();
    let x = b.reshape(Src::In(0), vec![xs[0], g as usize, rest / g as usize]);
    let (y, _, _) = b.standardise(x, vec![2], cx.float("epsilon", 1e-5)?);
    let y = b.reshape(y, xs.clone());
    affine(&mut b, y, c, xs.len(), 1);
    Ok(Lowered::Nodes(b.nodes))
}

/// MeanVarianceNormalization: `(x - E[x]) / (sqrt(E[x²] - E[x]²) + 1e-9)` over `axes`
/// (the ONNX function body).
pub fn import_mvn(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = f32_shape(cx, 0)?;
    let axes: Vec<usize> = match cx.ints("axes")? {
        Some(a) => a.iter().map(|&a| axis(a, xs.len())).collect::<OpResult<_>>()?,
        None => vec![0, 2, 3].into_iter().filter(|&a| a < xs.len()).collect(),
    };
    let mut b = Builder::default();
    let mean = b.mean(Src::In(0), axes.clone());
    let sq = b.bin(BinKind::Mul, Src::In(0), Src::In(0));
    let msq = b.mean(sq, axes);
    let m2 = b.bin(BinKind::Mul, mean.clone(), mean.clone());
    let var = b.bin(BinKind::Sub, msq, m2);
    let sd = b.sqrt(var);
    let sde = b.bin(BinKind::Add, sd, scalar(1e-9));
    let d = b.bin(BinKind::Sub, Src::In(0), mean);
    b.bin(BinKind::Div, d, sde);
    Ok(Lowered::Nodes(b.nodes))
}

/// LRN: `x / (bias + alpha/size · Σ x²)^beta`, the sum over a window of `size`
/// channels (an average pool counting pads, times `size`).
pub fn import_lrn(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = f32_shape(cx, 0)?;
    if xs.len() < 3 {
        invalid!("input {xs:?} must be N,C,spatial…");
    }
    let size = cx.int("size", 0)?;
    if size < 1 {
        invalid!("size {size} must be positive");
    }
    let size = size as usize;
    let (alpha, beta, bias) = (cx.float("alpha", 1e-4)?, cx.float("beta", 0.75)?, cx.float("bias", 1.0)?);
    let (lo, hi) = ((size - 1) / 2, (size - 1).div_ceil(2));
    let rest: usize = xs[2..].iter().product();
    let mut b = Builder::default();
    let sq = b.bin(BinKind::Mul, Src::In(0), Src::In(0));
    let sq = b.reshape(sq, vec![xs[0], 1, xs[1], rest]);
    let pool = Pool {
        kind: PoolKind::Avg,
        kernel: vec![size, 1],
        strides: vec![1, 1],
        dilations: vec![1, 1],
        pads: vec![lo, 0, hi, 0],
        ceil_mode: false,
        count_include_pad: true,
        layout: Layout::ChannelsFirst,
    };
    let avg = b.push(pool, vec![sq]);
    let avg = b.reshape(avg, xs.clone());
    // alpha/size · Σ x² = alpha · mean over the padded window.
    let t = b.bin(BinKind::Mul, avg, scalar(alpha));
    let t = b.bin(BinKind::Add, t, scalar(bias));
    let t = b.bin(BinKind::Pow, t, scalar(beta));
    b.bin(BinKind::Div, Src::In(0), t);
    Ok(Lowered::Nodes(b.nodes))
}

/// BatchNormalization whose statistics arrive at run time (inference), or in
/// training mode: the batch's own mean and variance normalise, and the outputs 1 and
/// 2 are the running statistics `input · momentum + batch · (1 - momentum)`.
pub fn batch_norm_graph(cx: &NodeCx, training: bool) -> OpResult<Lowered> {
    let xs = f32_shape(cx, 0)?;
    for i in 1..5 {
        f32_shape(cx, i)?;
    }
    if xs.len() < 2 {
        invalid!("input {xs:?} must be N,C,…");
    }
    let (c, rank) = (xs[1], xs.len().max(3));
    let eps = cx.float("epsilon", 1e-5)?;
    let mut b = Builder::default();
    let x = if xs.len() == 2 { b.reshape(Src::In(0), vec![xs[0], c, 1]) } else { Src::In(0) };
    let y = if training {
        let axes: Vec<usize> = (0..rank).filter(|&a| a != 1).collect();
        let (y, mean, var) = b.standardise(x, axes, eps);
        let y = affine(&mut b, y, c, rank, 1);
        let y = if xs.len() == 2 { b.reshape(y, xs.clone()) } else { y };
        let m = cx.float("momentum", 0.9)?;
        let running = |b: &mut Builder, old: usize, batch: Src| {
            let batch = b.reshape(batch, vec![c]);
            let kept = b.bin(BinKind::Mul, Src::In(old), scalar(m));
            let new = b.bin(BinKind::Mul, batch, scalar(1.0 - m));
            b.bin(BinKind::Add, kept, new)
        };
        let rm = running(&mut b, 3, mean);
        let rv = running(&mut b, 4, var);
        return Ok(Lowered::Graph(b.nodes, vec![Some(y), Some(rm), Some(rv)]));
    } else {
        let mean = b.reshape(Src::In(3), per_channel(c, rank));
        let var = b.reshape(Src::In(4), per_channel(c, rank));
        let d = b.bin(BinKind::Sub, x, mean);
        let ve = b.bin(BinKind::Add, var, scalar(eps));
        let sd = b.sqrt(ve);
        let y = b.bin(BinKind::Div, d, sd);
        affine(&mut b, y, c, rank, 1)
    };
    if xs.len() == 2 {
        b.reshape(y, xs.clone());
    }
    Ok(Lowered::Nodes(b.nodes))
}
