//! Normalisation: inference BatchNormalization, which folds into a preceding
//! convolution or becomes a per-channel affine map (ChannelAffine).

use super::util::{expect_dtype, f32s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Axis;

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
    if cx.node.output.iter().skip(1).any(|o| !o.is_empty()) || cx.int("training_mode", 0)? != 0 {
        unsupported!("training-mode BatchNormalization (running statistics outputs)");
    }
    if cx.opset < 7 && cx.int("spatial", 1)? == 0 {
        unsupported!("BatchNormalization with spatial = 0");
    }
    Ok(Lowered::op(BatchNorm { epsilon: cx.float("epsilon", 1e-5)? }, 5))
}
