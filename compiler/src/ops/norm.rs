//! Normalisation: inference BatchNormalization, which folds into a preceding
//! convolution or becomes a per-channel affine map (ChannelAffine), and
//! LayerNormalization / RMSNormalization.

use super::util::{expect_dtype, f32s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Axis, LayerNorm as LayerNormParams};

/// `y = (x − mean) / sqrt(var + ε) · scale + bias` per channel (axis 1). Inputs: X,
/// scale, bias, mean, var. A pass rewrites it to [`ChannelAffine`] or folds it away.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// ε.
    pub epsilon: f32,
}

impl BatchNorm {
    /// Per-channel multiplier and offset equivalent to this normalisation.
    pub fn affine(&self, scale: &[f32], bias: &[f32], mean: &[f32], var: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mul: Vec<f32> =
            scale.iter().zip(var).map(|(&s, &v)| (s as f64 / (v as f64 + self.epsilon as f64).sqrt()) as f32).collect();
        let add =
            bias.iter().zip(mean).zip(&mul).map(|((&b, &m), &k)| (b as f64 - m as f64 * k as f64) as f32).collect();
        (mul, add)
    }
}

fn check_channels(inputs: &[Option<Arg>], first: usize, count: usize) -> OpResult<TensorType> {
    expect_dtype(inputs, 0, DType::F32)?;
    let x = req(inputs, 0)?.ty;
    if x.rank() < 2 {
        invalid!("input rank {} (need N, C, …)", x.rank());
    }
    for i in first..first + count {
        let p = req(inputs, i)?.ty;
        if p.shape != [x.shape[1]] {
            invalid!("parameter {i} has shape {:?}, expected [{}]", p.shape, x.shape[1]);
        }
    }
    Ok(x.clone())
}

fn apply_affine(x: &[f32], shape: &[usize], mul: &[f32], add: &[f32]) -> Vec<f32> {
    let c = shape[1];
    let inner = numel(&shape[2..]);
    x.iter().enumerate().map(|(i, &v)| v * mul[(i / inner) % c] + add[(i / inner) % c]).collect()
}

impl OpDef for BatchNorm {
    fn name(&self) -> &'static str {
        "batch_norm"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("epsilon", self.epsilon.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        Ok(vec![check_channels(inputs, 1, 4)?])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (mul, add) = self.affine(f32s(inputs, 1)?, f32s(inputs, 2)?, f32s(inputs, 3)?, f32s(inputs, 4)?);
        Ok(vec![Tensor::f32(out[0].shape.clone(), apply_affine(f32s(inputs, 0)?, &out[0].shape, &mul, &add))])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        unsupported!("batch_norm reached code generation; the normalisation pass should have rewritten it (are its parameters constant?)")
    }
}

/// `y = x · mul[c] + add[c]` with channels on axis 1. Inputs: X, mul, add.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelAffine;

impl OpDef for ChannelAffine {
    fn name(&self) -> &'static str {
        "channel_affine"
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        Ok(vec![check_channels(inputs, 1, 2)?])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        Ok(vec![Tensor::f32(
            out[0].shape.clone(),
            apply_affine(f32s(inputs, 0)?, &out[0].shape, f32s(inputs, 1)?, f32s(inputs, 2)?),
        )])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let s = &cx.output(0)?.shape;
        let p = Axis { outer: s[0], len: s[1], inner: numel(&s[2..]) };
        Ok(vec![invoke(Kernel::ChannelAffineF32 { p }, [Slot::In(1), Slot::In(2), Slot::In(0)], [Slot::Out(0)])])
    }
}

/// BatchNormalization in inference mode.
pub fn import_batch_norm(cx: &NodeCx) -> OpResult<Lowered> {
    let extra = cx.node.output.iter().skip(1).any(|o| !o.is_empty());
    let training = extra || cx.int("training_mode", 0)? != 0;
    if training && (cx.opset < 14 || cx.node.output.len() > 3) {
        unsupported!("training-mode BatchNormalization before opset 14 (saved mean and variance outputs)");
    }
    if cx.opset < 7 && cx.int("spatial", 1)? == 0 {
        unsupported!("BatchNormalization with spatial = 0");
    }
    if training || (1..5).any(|i| cx.input(i).is_some_and(|a| a.value.is_none())) {
        return super::compose_norm::batch_norm_graph(cx, training);
    }
    Ok(Lowered::op(BatchNorm { epsilon: cx.float("epsilon", 1e-5)? }, 5))
}

/// LayerNormalization and RMSNormalization over the axes from `axis` on. Inputs: X,
/// scale, bias (LayerNorm only, optional). Outputs: Y, and for LayerNorm the mean
/// and inverse standard deviation (shape of X with the normalised axes set to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerNorm {
    /// First normalised axis.
    pub axis: usize,
    /// ε.
    pub epsilon: f32,
    /// RMSNormalization.
    pub rms: bool,
}

impl LayerNorm {
    fn params(&self, shape: &[usize]) -> LayerNormParams {
        LayerNormParams {
            outer: numel(&shape[..self.axis]),
            inner: numel(&shape[self.axis..]),
            epsilon: self.epsilon,
            rms: self.rms,
        }
    }
}

impl OpDef for LayerNorm {
    fn name(&self) -> &'static str {
        if self.rms {
            "rms_norm"
        } else {
            "layer_norm"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string()), ("epsilon", self.epsilon.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        let x = req(inputs, 0)?.ty;
        if self.axis >= x.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, x.rank());
        }
        let inner = numel(&x.shape[self.axis..]);
        for i in 1..3 {
            if let Some(Some(p)) = inputs.get(i) {
                expect_dtype(inputs, i, DType::F32)?;
                if p.ty.numel() != inner && p.ty.numel() != 1 {
                    unsupported!("parameter {i} of shape {:?} (one value or {inner}, the normalised size)", p.ty.shape);
                }
            }
        }
        let mut stats = x.shape.clone();
        stats[self.axis..].iter_mut().for_each(|d| *d = 1);
        let stat = TensorType::new(DType::F32, stats);
        Ok(if self.rms { vec![x.clone()] } else { vec![x.clone(), stat.clone(), stat] })
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = f32s(inputs, 0)?;
        let p = self.params(&out[0].shape);
        let param = |i: usize| -> OpResult<Option<&[f32]>> {
            match inputs.get(i) {
                Some(Some(_)) => f32s(inputs, i).map(Some),
                _ => Ok(None),
            }
        };
        let (scale, bias) = (param(1)?, param(2)?);
        let at = |v: Option<&[f32]>, j: usize, d: f64| v.map_or(d, |v| v[if v.len() == 1 { 0 } else { j }] as f64);
        let (mut y, mut means, mut invs) = (vec![0f32; x.len()], vec![], vec![]);
        for r in 0..p.outer {
            let row = &x[r * p.inner..(r + 1) * p.inner];
            let m = if self.rms { 0.0 } else { row.iter().map(|&v| v as f64).sum::<f64>() / p.inner as f64 };
            let var = row.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / p.inner as f64;
            let inv = 1.0 / (var + self.epsilon as f64).sqrt();
            for j in 0..p.inner {
                y[r * p.inner + j] = ((row[j] as f64 - m) * inv * at(scale, j, 1.0) + at(bias, j, 0.0)) as f32;
            }
            means.push(m as f32);
            invs.push(inv as f32);
        }
        let mut outs = vec![Tensor::f32(out[0].shape.clone(), y)];
        if !self.rms {
            outs.push(Tensor::f32(out[1].shape.clone(), means));
            outs.push(Tensor::f32(out[2].shape.clone(), invs));
        }
        Ok(outs)
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let p = self.params(&x.shape);
        let (mean, inv) = if self.rms { (Slot::Absent, Slot::Absent) } else { (Slot::Out(1), Slot::Out(2)) };
        let reads = [Slot::In(0), cx.opt_in(1), cx.opt_in(2)];
        Ok(vec![invoke(Kernel::LayerNormF32 { p }, reads, [Slot::Out(0), mean, inv])])
    }
}

/// LayerNormalization (opset 17) and RMSNormalization (opset 23).
pub fn import_layer_norm(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let rms = cx.node.op_type == "RMSNormalization";
    if cx.int("stash_type", 1)? != 1 {
        unsupported!("stash_type {} (statistics in f32 only)", cx.int("stash_type", 1)?);
    }
    let axis = super::util::axis(cx.int("axis", -1)?, x.ty.rank())?;
    let op = LayerNorm { axis, epsilon: cx.float("epsilon", 1e-5)?, rms };
    Ok(if rms { Lowered::op_with(op, &[0, 1]) } else { Lowered::op(op, 3.min(cx.n_inputs())) })
}
