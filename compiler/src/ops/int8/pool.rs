//! Quantised pooling: average (QLinearAveragePool, QLinearGlobalAveragePool, fused
//! DQ → AveragePool → Q) with rescaling, and max on 8-bit values.

use super::requant::Multiplier;
use super::{out_stage, qout, QParam};
use crate::ir::{DType, Data, Layout, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::Act;
use crate::ops::pool::{channels_last, global_axis, global_shape, Pool, PoolKind};
use crate::ops::util::{data, req};
use crate::ops::{invalid, Arg, OpDef, OpError, OpResult};

/// `round_shift(round_div(sum · mult, count), shift)`: the average's rescaling.
fn average(sum: i64, count: i64, m: &Multiplier) -> i64 {
    if count <= 0 {
        return 0;
    }
    let t = sum * m.mult as i64;
    let d = if t >= 0 { (t + count / 2) / count } else { -((-t + count / 2) / count) };
    (d + (1i64 << (m.shift - 1))) >> m.shift
}

/// A quantised sliding-window pool. Max requires `x == y`.
#[derive(Debug, Clone, PartialEq)]
pub struct QPool {
    /// Window geometry and kind.
    pub pool: Pool,
    /// Input quantisation.
    pub x: QParam,
    /// Output quantisation.
    pub y: QParam,
}

impl OpDef for QPool {
    fn name(&self) -> &'static str {
        match self.pool.kind {
            PoolKind::Max => "qmax_pool",
            PoolKind::Avg => "qavg_pool",
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = self.pool.attrs();
        a.push(("x", self.x.text()));
        a.push(("y", self.y.text()));
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != self.x.dtype {
            invalid!("input is {}, expected {}", x.dtype, self.x.dtype);
        }
        if self.pool.kind == PoolKind::Max && self.x != self.y {
            invalid!("quantised max pooling keeps its input quantisation");
        }
        Ok(vec![self.y.ty(self.pool.out_shape(&x.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let ys = &out[0].shape;
        let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
        let (zp, lo, hi) = out_stage(&self.y, &Act::NONE);
        let mut v = Vec::with_capacity(crate::ir::numel(ys));
        self.pool.reference(&x.shape, ys, |taps, divisor| {
            v.push(match self.pool.kind {
                PoolKind::Max => taps.iter().map(|&i| x.data.get_i64(i)).max().unwrap_or(lo as i64).max(lo as i64),
                PoolKind::Avg => {
                    let sum: i64 = taps.iter().map(|&i| x.data.get_i64(i) - self.x.zp as i64).sum();
                    (average(sum, divisor as i64, &m) + zp as i64).clamp(lo as i64, hi as i64)
                }
            });
        });
        Ok(vec![Tensor { shape: ys.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        channels_last(self.pool.layout)?;
        let p = self.pool.params(&cx.input(0)?.ty.shape, &cx.output(0)?.shape)?;
        Ok(vec![match self.pool.kind {
            PoolKind::Max => invoke(Kernel::MaxPool2dQ8 { t: self.x.dtype, p }, [Slot::In(0)], [Slot::Out(0)]),
            PoolKind::Avg => {
                let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
                let kernel = Kernel::AvgPool2dQ8 {
                    x: self.x.dtype,
                    y: self.y.dtype,
                    p,
                    x_zp: self.x.zp,
                    out: qout(&self.y, &Act::NONE),
                    mult: m.mult,
                    shift: m.shift,
                };
                invoke(kernel, [Slot::In(0)], [Slot::Scratch(DType::I32), Slot::Out(0)])
            }
        }])
    }
}

/// Quantised global average pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct QGlobalAvgPool {
    /// Input quantisation.
    pub x: QParam,
    /// Output quantisation.
    pub y: QParam,
    /// Where channels sit in the input and output.
    pub layout: Layout,
}

impl OpDef for QGlobalAvgPool {
    fn name(&self) -> &'static str {
        "qglobal_avg_pool"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("x", self.x.text()), ("y", self.y.text())];
        if self.layout != Layout::ChannelsFirst {
            a.push(("layout", self.layout.to_string()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != self.x.dtype || x.rank() < 3 {
            invalid!("input must be {} with spatial axes, is {x}", self.x.dtype);
        }
        Ok(vec![self.y.ty(global_shape(self.layout, &x.shape))])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let a = global_axis(self.layout, &x.shape);
        let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
        let (zp, lo, hi) = out_stage(&self.y, &Act::NONE);
        let mut v = Vec::with_capacity(a.outer * a.inner);
        for o in 0..a.outer {
            for i in 0..a.inner {
                let sum: i64 =
                    (0..a.len).map(|j| x.data.get_i64((o * a.len + j) * a.inner + i) - self.x.zp as i64).sum();
                v.push((average(sum, a.len as i64, &m) + zp as i64).clamp(lo as i64, hi as i64));
            }
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = global_axis(self.layout, &cx.input(0)?.ty.shape);
        let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
        let kernel = Kernel::MeanAxisQ8 {
            x: self.x.dtype,
            y: self.y.dtype,
            p,
            x_zp: self.x.zp,
            out: qout(&self.y, &Act::NONE),
            mult: m.mult,
            shift: m.shift,
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}
