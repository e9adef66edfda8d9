//! The optimiser ops of `ai.onnx.preview.training` (Adagrad, Adam, Momentum with its
//! Nesterov mode): deterministic element-wise updates, each a small graph of IR ops
//! over every optimised tensor. The learning rate `R` and step count `T` are run-time
//! scalars; what depends on `T` (bias correction, the first step's coefficient) is
//! computed from it at run time.

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::logic::{Compare, Where};
use super::shape::Cast;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::CompareOp;
use tinyops_runtime::kernels::UnaryFn;

#[derive(Default)]
struct Sub {
    nodes: Vec<SubNode>,
}

impl Sub {
    fn add(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn bin(&mut self, kind: BinKind, a: Src, b: Src) -> Src {
        self.add(Binary { kind, act: Act::NONE }, vec![a, b])
    }
    fn sqrt(&mut self, x: Src) -> Src {
        self.add(Unary { f: UnaryFn::Sqrt }, vec![x])
    }
}

fn c(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

/// Checks `R` (f32 scalar), `T` (i64 scalar) and `groups` groups of `n` f32 tensors
/// with the shapes of the first group; returns `n`.
fn check(cx: &NodeCx, groups: usize) -> OpResult<usize> {
    let total = cx.n_inputs();
    if total < 2 + groups || !(total - 2).is_multiple_of(groups) {
        invalid!("{} inputs: R, T and {groups} groups of tensors", total);
    }
    let n = (total - 2) / groups;
    match (cx.input(0), cx.input(1)) {
        (Some(r), Some(t)) if r.ty.dtype == DType::F32 && r.ty.numel() == 1 && t.ty.numel() == 1 => {
            if t.ty.dtype != DType::I64 {
                invalid!("T must be i64, is {}", t.ty.dtype);
            }
        }
        _ => unsupported!("R must be an f32 scalar and T an i64 scalar"),
    }
    for i in 0..n {
        for k in 0..groups {
            let Some(a) = cx.input(2 + k * n + i) else { invalid!("input {} is required", 2 + k * n + i) };
            let Some(x) = cx.input(2 + i) else { invalid!("input {} is required", 2 + i) };
            if a.ty.dtype != DType::F32 || a.ty.shape != x.ty.shape {
                unsupported!("optimised tensors must be f32 of one shape per group");
            }
        }
    }
    Ok(n)
}

/// `norm_coefficient · X + G`.
fn regularised(g: &mut Sub, x: Src, grad: Src, norm: f32) -> Src {
    if norm == 0.0 {
        return grad;
    }
    let nx = g.bin(BinKind::Mul, x, c(norm));
    g.bin(BinKind::Add, nx, grad)
}

/// Adagrad: `r' = R / (1 + T·decay)`, `g' = norm·X + G`, `H' = H + g'²`,
/// `X' = X − r'·g' / (√H' + ε)`.
pub fn import_adagrad(cx: &NodeCx) -> OpResult<Lowered> {
    let n = check(cx, 3)?;
    let (decay, eps, norm) =
        (cx.float("decay_factor", 0.0)?, cx.float("epsilon", 0.0)?, cx.float("norm_coefficient", 0.0)?);
    let mut g = Sub::default();
    let t = g.add(Cast { to: DType::F32, saturate: true }, vec![Src::In(1)]);
    let td = g.bin(BinKind::Mul, t, c(decay));
    let den = g.bin(BinKind::Add, td, c(1.0));
    let r = g.bin(BinKind::Div, Src::In(0), den);
    let (mut xs, mut hs) = (vec![], vec![]);
    for i in 0..n {
        let (x, grad, h) = (Src::In(2 + i), Src::In(2 + n + i), Src::In(2 + 2 * n + i));
        let gr = regularised(&mut g, x.clone(), grad, norm);
        let sq = g.bin(BinKind::Mul, gr.clone(), gr.clone());
        let h2 = g.bin(BinKind::Add, h, sq);
        let root = g.sqrt(h2.clone());
        let root = g.bin(BinKind::Add, root, c(eps));
        let step = g.bin(BinKind::Mul, r.clone(), gr);
        let step = g.bin(BinKind::Div, step, root);
        xs.push(Some(g.bin(BinKind::Sub, x, step)));
        hs.push(Some(h2));
    }
    xs.extend(hs);
    Ok(Lowered::Graph(g.nodes, xs))
}

/// Adam: moments `V' = α·V + (1−α)·g'`, `H' = β·H + (1−β)·g'²`; for `T > 0` the rate
/// `R·√(1−β^T)/(1−α^T)`, else `R`; `X' = (1 − norm_post)·(X − rate·V'/(√H' + ε))`.
pub fn import_adam(cx: &NodeCx) -> OpResult<Lowered> {
    let n = check(cx, 4)?;
    let (alpha, beta) = (cx.float("alpha", 0.9)?, cx.float("beta", 0.999)?);
    let (eps, norm, post) =
        (cx.float("epsilon", 0.0)?, cx.float("norm_coefficient", 0.0)?, cx.float("norm_coefficient_post", 0.0)?);
    let mut g = Sub::default();
    let t = g.add(Cast { to: DType::F32, saturate: true }, vec![Src::In(1)]);
    let bt = g.bin(BinKind::Pow, c(beta), t.clone());
    let at = g.bin(BinKind::Pow, c(alpha), t);
    let num = g.bin(BinKind::Sub, c(1.0), bt);
    let num = g.sqrt(num);
    let den = g.bin(BinKind::Sub, c(1.0), at);
    let corr = g.bin(BinKind::Div, num, den);
    let corrected = g.bin(BinKind::Mul, Src::In(0), corr);
    let positive =
        g.add(Compare { op: CompareOp::Greater }, vec![Src::In(1), Src::Const(Tensor::scalar(Data::I64(vec![0])))]);
    let r = g.add(Where, vec![positive, corrected, Src::In(0)]);
    let (mut xs, mut vs, mut hs) = (vec![], vec![], vec![]);
    for i in 0..n {
        let (x, grad, v, h) = (Src::In(2 + i), Src::In(2 + n + i), Src::In(2 + 2 * n + i), Src::In(2 + 3 * n + i));
        let gr = regularised(&mut g, x.clone(), grad, norm);
        let av = g.bin(BinKind::Mul, v, c(alpha));
        let ag = g.bin(BinKind::Mul, gr.clone(), c(1.0 - alpha));
        let v2 = g.bin(BinKind::Add, av, ag);
        let sq = g.bin(BinKind::Mul, gr.clone(), gr);
        let bh = g.bin(BinKind::Mul, h, c(beta));
        let bs = g.bin(BinKind::Mul, sq, c(1.0 - beta));
        let h2 = g.bin(BinKind::Add, bh, bs);
        let root = g.sqrt(h2.clone());
        let root = g.bin(BinKind::Add, root, c(eps));
        let ratio = g.bin(BinKind::Div, v2.clone(), root);
        let step = g.bin(BinKind::Mul, r.clone(), ratio);
        let x2 = g.bin(BinKind::Sub, x, step);
        let x2 = if post == 0.0 { x2 } else { g.bin(BinKind::Mul, x2, c(1.0 - post)) };
        xs.push(Some(x2));
        vs.push(Some(v2));
        hs.push(Some(h2));
    }
    xs.extend(vs);
    xs.extend(hs);
    Ok(Lowered::Graph(g.nodes, xs))
}

/// Momentum: `V' = α·V + β'·g'` with `β' = β` for `T > 0` and 1 at the first step;
/// standard `X' = X − R·V'`, Nesterov `X' = X − R·(g' + α·V')`.
pub fn import_momentum(cx: &NodeCx) -> OpResult<Lowered> {
    let n = check(cx, 3)?;
    let (alpha, beta, norm) = (cx.float("alpha", 0.0)?, cx.float("beta", 0.0)?, cx.float("norm_coefficient", 0.0)?);
    let nesterov = match cx.string("mode", "standard")?.as_str() {
        "standard" => false,
        "nesterov" => true,
        m => invalid!("mode `{m}` (standard or nesterov)"),
    };
    let mut g = Sub::default();
    let positive =
        g.add(Compare { op: CompareOp::Greater }, vec![Src::In(1), Src::Const(Tensor::scalar(Data::I64(vec![0])))]);
    let b = g.add(Where, vec![positive, c(beta), c(1.0)]);
    let (mut xs, mut vs) = (vec![], vec![]);
    for i in 0..n {
        let (x, grad, v) = (Src::In(2 + i), Src::In(2 + n + i), Src::In(2 + 2 * n + i));
        let gr = regularised(&mut g, x.clone(), grad, norm);
        let av = g.bin(BinKind::Mul, v, c(alpha));
        let bg = g.bin(BinKind::Mul, gr.clone(), b.clone());
        let v2 = g.bin(BinKind::Add, av, bg);
        let dir = if nesterov {
            let av2 = g.bin(BinKind::Mul, v2.clone(), c(alpha));
            g.bin(BinKind::Add, gr, av2)
        } else {
            v2.clone()
        };
        let step = g.bin(BinKind::Mul, Src::In(0), dir);
        xs.push(Some(g.bin(BinKind::Sub, x, step)));
        vs.push(Some(v2));
    }
    xs.extend(vs);
    Ok(Lowered::Graph(g.nodes, xs))
}
