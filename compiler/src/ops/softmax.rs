//! Softmax and LogSoftmax, with the pre-13 "coerce to 2-D" semantics and the per-axis
//! semantics of opset 13 on.

use super::util::{axis, expect_float, f64s, req};
use super::{invalid, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Axis;

/// Normalised exponentials along an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    /// The (non-negative) axis.
    pub axis: usize,
    /// Pre-opset-13 semantics: normalise over all axes from `axis` on.
    pub coerce_2d: bool,
    /// LogSoftmax.
    pub log: bool,
}

impl Softmax {
    /// `(outer, len, inner)` for a shape.
    pub fn split(&self, shape: &[usize]) -> (usize, usize, usize) {
        let outer = numel(&shape[..self.axis]);
        if self.coerce_2d {
            (outer, numel(&shape[self.axis..]), 1)
        } else {
            (outer, shape[self.axis], numel(&shape[self.axis + 1..]))
        }
    }
}

impl OpDef for Softmax {
    fn name(&self) -> &'static str {
        if self.log {
            "log_softmax"
        } else {
            "softmax"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("axis", self.axis.to_string())];
        if self.coerce_2d {
            a.push(("coerce_2d", "true".into()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_float(inputs, 0)?;
        let t = req(inputs, 0)?.ty;
        if self.axis >= t.rank().max(1) {
            invalid!("axis {} out of range for rank {}", self.axis, t.rank());
        }
        Ok(vec![t.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = f64s(inputs, 0)?;
        let (outer, len, inner) = self.split(&out[0].shape);
        let mut y = vec![0f64; x.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * len + j) * inner + i;
                let max = (0..len).map(|j| x[at(j)]).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = (0..len).map(|j| (x[at(j)] - max).exp()).sum();
                for j in 0..len {
                    let v = x[at(j)] - max;
                    y[at(j)] = if self.log { v - sum.ln() } else { v.exp() / sum };
                }
            }
        }
        let data = match out[0].dtype {
            DType::F32 => Data::F32(y.iter().map(|&v| v as f32).collect()),
            _ => Data::F64(y),
        };
        Ok(vec![Tensor { shape: out[0].shape.clone(), data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (outer, len, inner) = self.split(&cx.output(0)?.shape);
        let p = Axis { outer, len, inner };
        let kernel = match cx.input(0)?.ty.dtype {
            DType::F64 => Kernel::SoftmaxFloat { t: DType::F64, p, log: self.log },
            _ if self.log => Kernel::LogSoftmaxF32 { p },
            _ => Kernel::SoftmaxF32 { p },
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Softmax and LogSoftmax.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let legacy = cx.opset < 13;
    let a = cx.int("axis", if legacy { 1 } else { -1 })?;
    let axis = axis(a, x.ty.rank())?;
    Ok(Lowered::op(Softmax { axis, coerce_2d: legacy, log: cx.node.op_type == "LogSoftmax" }, 1))
}
