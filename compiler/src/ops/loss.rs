//! Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (log-softmax over the
//! classes, then the same loss; optionally also its log-probabilities).

use super::util::{data, expect_dtype, f32s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{LossReduction, Nll};

/// `loss = −w[t]·x[n, t, …]` per element with target `t`, combined by `reduction`.
/// Inputs: scores `[N, C, d…]`, integer targets `[N, d…]`, class weights `[C]`
/// (optional). Outputs: the loss, and with `log_prob` the log-softmax of the scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// How the losses combine.
    pub reduction: LossReduction,
    /// A target value that contributes nothing.
    pub ignore_index: Option<i64>,
    /// Log-softmax over the classes first (SoftmaxCrossEntropyLoss).
    pub softmax: bool,
    /// Also output the log-probabilities.
    pub log_prob: bool,
}

impl Loss {
    fn params(&self, x: &[usize]) -> Nll {
        Nll {
            n: x[0],
            classes: x[1],
            inner: numel(&x[2..]),
            reduction: self.reduction,
            ignore_index: self.ignore_index,
            softmax: self.softmax,
        }
    }
}

impl OpDef for Loss {
    fn name(&self) -> &'static str {
        if self.softmax {
            "softmax_cross_entropy_loss"
        } else {
            "nll_loss"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("reduction", format!("{:?}", self.reduction).to_lowercase())];
        if let Some(i) = self.ignore_index {
            a.push(("ignore_index", i.to_string()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        let (x, t) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if x.rank() < 2 || t.rank() + 1 != x.rank() || t.shape[0] != x.shape[0] || t.shape[1..] != x.shape[2..] {
            invalid!("scores {:?} and targets {:?} do not match ([N, C, d…] and [N, d…])", x.shape, t.shape);
        }
        if !matches!(t.dtype, DType::I32 | DType::I64) {
            invalid!("targets are {}, expected i32 or i64", t.dtype);
        }
        if let Some(Some(w)) = inputs.get(2) {
            expect_dtype(inputs, 2, DType::F32)?;
            if w.ty.shape != [x.shape[1]] {
                invalid!("weights {:?} (one per class: [{}])", w.ty.shape, x.shape[1]);
            }
        }
        let loss = if self.reduction == LossReduction::None { t.shape.clone() } else { vec![] };
        let mut out = vec![TensorType::new(DType::F32, loss)];
        if self.log_prob {
            out.push(TensorType::new(DType::F32, x.shape.clone()));
        }
        Ok(out)
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = f32s(inputs, 0)?;
        let xt = data(inputs, 0)?;
        let t = data(inputs, 1)?;
        let w = match inputs.get(2) {
            Some(Some(_)) => Some(f32s(inputs, 2)?),
            _ => None,
        };
        let p = self.params(&xt.shape);
        let at = |b: usize, c: usize, i: usize| (b * p.classes + c) * p.inner + i;
        let mut lp = vec![0f32; x.len()];
        let (mut losses, mut sum, mut wsum) = (vec![], 0.0f64, 0.0f64);
        for b in 0..p.n {
            for i in 0..p.inner {
                let lse = if self.softmax {
                    let m = (0..p.classes).map(|c| x[at(b, c, i)] as f64).fold(f64::NEG_INFINITY, f64::max);
                    m + (0..p.classes).map(|c| (x[at(b, c, i)] as f64 - m).exp()).sum::<f64>().ln()
                } else {
                    0.0
                };
                for c in 0..p.classes {
                    lp[at(b, c, i)] = (x[at(b, c, i)] as f64 - lse) as f32;
                }
                let tv = t.data.get_i64(b * p.inner + i);
                let (l, wv) = if Some(tv) == self.ignore_index || tv < 0 || tv as usize >= p.classes {
                    (0.0, 0.0)
                } else {
                    let wv = w.map_or(1.0, |w| w[tv as usize] as f64);
                    (-(x[at(b, tv as usize, i)] as f64 - lse) * wv, wv)
                };
                losses.push(l as f32);
                sum += l;
                wsum += wv;
            }
        }
        let loss = match self.reduction {
            LossReduction::None => losses,
            LossReduction::Sum => vec![sum as f32],
            LossReduction::Mean => vec![(sum / wsum) as f32],
        };
        let mut outs = vec![Tensor::f32(out[0].shape.clone(), loss)];
        if self.log_prob {
            outs.push(Tensor::f32(out[1].shape.clone(), lp));
        }
        Ok(outs)
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, t) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let kernel = Kernel::Nll { i: t.dtype, p: self.params(&x.shape) };
        let log_prob = if self.log_prob { Slot::Out(1) } else { Slot::Absent };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), cx.opt_in(2)], [Slot::Out(0), log_prob])])
    }
}

/// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let reduction = match cx.string("reduction", "mean")?.as_str() {
        "none" => LossReduction::None,
        "sum" => LossReduction::Sum,
        "mean" => LossReduction::Mean,
        other => invalid!("reduction `{other}` (none, sum or mean)"),
    };
    let softmax = cx.node.op_type == "SoftmaxCrossEntropyLoss";
    let log_prob = softmax && cx.node.output.get(1).is_some_and(|o| !o.is_empty());
    if cx.node.output.len() > 1 && !log_prob {
        unsupported!("{} with {} outputs", cx.node.op_type, cx.node.output.len());
    }
    let ignore_index = if cx.has("ignore_index") { Some(cx.int("ignore_index", 0)?) } else { None };
    Ok(Lowered::op(Loss { reduction, ignore_index, softmax, log_prob }, cx.n_inputs().min(3)))
}
