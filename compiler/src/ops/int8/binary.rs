//! Quantised elementwise Add and Mul with broadcasting (QLinearAdd, QLinearMul, fused
//! DQ → Add/Mul → Q): each operand keeps its own scale and zero point; one rounding.

use super::requant::{shared, Multiplier};
use super::{out_stage, qout, QParam};
use crate::ir::{Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::Act;
use crate::ops::binary::coalesce;
use crate::ops::util::{broadcast, broadcast_index, data, req};
use crate::ops::{invalid, Arg, OpDef, OpError, OpResult};
use tinyops_runtime::kernels::{QAdd, QMul};

/// Add or Mul.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QBinKind {
    /// a + b
    Add,
    /// a · b
    Mul,
}

/// Quantised `y = act(a ∘ b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct QBinary {
    /// Add or Mul.
    pub kind: QBinKind,
    /// Quantisation of A.
    pub a: QParam,
    /// Quantisation of B.
    pub b: QParam,
    /// Quantisation of the result.
    pub y: QParam,
    /// Fused real-valued clamp.
    pub act: Act,
}

enum Rq {
    Add(i32, i32, u32),
    Mul(Multiplier),
}

impl QBinary {
    fn rq(&self) -> OpResult<Rq> {
        let sy = self.y.scale as f64;
        Ok(match self.kind {
            QBinKind::Add => {
                let (ma, mb, s) =
                    shared(self.a.scale as f64 / sy, self.b.scale as f64 / sy).map_err(OpError::Unsupported)?;
                Rq::Add(ma, mb, s)
            }
            QBinKind::Mul => {
                Rq::Mul(Multiplier::new(self.a.scale as f64 * self.b.scale as f64 / sy).map_err(OpError::Unsupported)?)
            }
        })
    }
}

impl OpDef for QBinary {
    fn name(&self) -> &'static str {
        match self.kind {
            QBinKind::Add => "qadd",
            QBinKind::Mul => "qmul",
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("a", self.a.text()), ("b", self.b.text()), ("y", self.y.text())];
        if !self.act.is_none() {
            a.push(("act", self.act.text()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if a.dtype != self.a.dtype || b.dtype != self.b.dtype {
            invalid!("operands are {} and {}, expected {} and {}", a.dtype, b.dtype, self.a.dtype, self.b.dtype);
        }
        Ok(vec![self.y.ty(broadcast(&a.shape, &b.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (data(inputs, 0)?, data(inputs, 1)?);
        let shape = out[0].shape.clone();
        let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
        let (zp, lo, hi) = out_stage(&self.y, &self.act);
        let rq = self.rq()?;
        let v: Vec<i64> = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| {
                let (x, z) = (a.data.get_i64(i) - self.a.zp as i64, b.data.get_i64(j) - self.b.zp as i64);
                let r = match rq {
                    Rq::Add(ma, mb, s) => (x * ma as i64 + z * mb as i64 + (1i64 << (s - 1))) >> s,
                    Rq::Mul(m) => m.apply((x * z) as i32) as i64,
                };
                (r + zp as i64).clamp(lo as i64, hi as i64)
            })
            .collect();
        Ok(vec![Tensor { shape, data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.output(0)?);
        let p = coalesce(&a.shape, &b.shape, &y.shape)?.params();
        let (at, bt, yt) = (self.a.dtype, self.b.dtype, self.y.dtype);
        let (a_zp, b_zp, out) = (self.a.zp, self.b.zp, qout(&self.y, &self.act));
        let kernel = match self.rq()? {
            Rq::Add(a_mult, b_mult, shift) => {
                Kernel::AddQ8 { a: at, b: bt, y: yt, p, q: QAdd { a_zp, b_zp, a_mult, b_mult, shift }, out }
            }
            Rq::Mul(m) => {
                Kernel::MulQ8 { a: at, b: bt, y: yt, p, q: QMul { a_zp, b_zp, mult: m.mult, shift: m.shift }, out }
            }
        };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}
