//! Quantised softmax (QLinearSoftmax, fused DQ → Softmax → Q) in integers: an
//! exponential table over input differences, an integer sum and one rounded division.

use super::{out_stage, qout, QParam};
use crate::ir::{Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::Act;
use crate::ops::softmax::Softmax;
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, OpDef, OpResult};
use tinyops_runtime::kernels::Axis;

/// Quantised softmax along an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct QSoftmax {
    /// Axis semantics.
    pub softmax: Softmax,
    /// Input quantisation.
    pub x: QParam,
    /// Output quantisation.
    pub y: QParam,
}

impl QSoftmax {
    /// `E[d] = round(2^20 · e^(−d · sx))`, d = 0..=255, without its trailing zeros
    /// (the kernel reads an entry past the end as zero; they would only take flash).
    /// `E[0] = 2^20`, so at least one entry remains.
    pub fn exp_table(&self) -> Vec<u32> {
        let mut t: Vec<u32> = (0..256)
            .map(|d| ((1u64 << 20) as f64 * (-(d as f64) * self.x.scale as f64).exp()).round() as u32)
            .collect();
        while t.len() > 1 && t.last() == Some(&0) {
            t.pop();
        }
        t
    }

    /// `round(2^16 / sy)`.
    pub fn inv_scale_q16(&self) -> OpResult<u32> {
        let v = (65536.0 / self.y.scale as f64).round();
        if !(1.0..=u32::MAX as f64).contains(&v) {
            unsupported!("softmax output scale {} is out of the supported range", self.y.scale);
        }
        Ok(v as u32)
    }
}

impl OpDef for QSoftmax {
    fn name(&self) -> &'static str {
        "qsoftmax"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = self.softmax.attrs();
        a.push(("x", self.x.text()));
        a.push(("y", self.y.text()));
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != self.x.dtype || self.softmax.axis >= x.rank().max(1) {
            invalid!("input {x} does not fit quantised softmax over axis {}", self.softmax.axis);
        }
        if self.softmax.log {
            unsupported!("quantised LogSoftmax");
        }
        Ok(vec![self.y.ty(x.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let (outer, len, inner) = self.softmax.split(&x.shape);
        let table = self.exp_table();
        let k = self.inv_scale_q16()? as u64;
        let (zp, lo, hi) = out_stage(&self.y, &Act::NONE);
        let mut v = vec![0i64; x.numel()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |j: usize| (o * len + j) * inner + i;
                let max = (0..len).map(|j| x.data.get_i64(at(j))).max().unwrap_or(0);
                let e = |j: usize| {
                    table.get((max - x.data.get_i64(at(j))).clamp(0, 255) as usize).copied().unwrap_or(0) as u64
                };
                let den = (0..len).map(e).sum::<u64>().max(1) << 16;
                for j in 0..len {
                    let q = ((e(j) * k + den / 2) / den) as i64;
                    v[at(j)] = (q + zp as i64).clamp(lo as i64, hi as i64);
                }
            }
        }
        Ok(vec![Tensor { shape: x.shape.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (outer, len, inner) = self.softmax.split(&cx.input(0)?.ty.shape);
        let kernel = Kernel::SoftmaxQ8 {
            x: self.x.dtype,
            y: self.y.dtype,
            p: Axis { outer, len, inner },
            exp_table: self.exp_table(),
            inv_scale_q16: self.inv_scale_q16()?,
            out: qout(&self.y, &Act::NONE),
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}
