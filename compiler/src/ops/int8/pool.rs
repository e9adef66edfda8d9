//! Quantised pooling: average (QLinearAveragePool, QLinearGlobalAveragePool, fused
//! DQ → AveragePool → Q) with rescaling, and max on 8-bit values.

use super::requant::Multiplier;
use super::{elem, out_stage, qout_tokens, QParam};
use crate::codegen::tokens::i32_lit;
use crate::codegen::{params, EmitCx};
use crate::ir::{Data, Tensor, TensorType};
use crate::ops::activation::Act;
use crate::ops::pool::{Pool, PoolKind};
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, OpDef, OpError, OpResult};
use proc_macro2::TokenStream;
use quote::quote;

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
    fn emit(&self, cx: &EmitCx) -> OpResult<TokenStream> {
        if self.pool.kernel.len() > 2 {
            unsupported!("{}-D pooling", self.pool.kernel.len());
        }
        let (x, y) = (cx.input(0)?, cx.output(0)?);
        let [planes, in_h, in_w, out_h, out_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right] =
            self.pool.geometry(&x.ty.shape, &y.ty.shape);
        let cip = self.pool.count_include_pad;
        let (k, p) = (cx.kernels(), params());
        let geom = quote! {
            &#p::Pool2d {
                planes: #planes, in_h: #in_h, in_w: #in_w, out_h: #out_h, out_w: #out_w, k_h: #k_h, k_w: #k_w,
                stride_h: #stride_h, stride_w: #stride_w, dil_h: #dil_h, dil_w: #dil_w, pad_top: #pad_top,
                pad_left: #pad_left, pad_bottom: #pad_bottom, pad_right: #pad_right, count_include_pad: #cip,
            }
        };
        let (xt, yt) = (elem(self.x.dtype), elem(self.y.dtype));
        let (xx, yy) = (&x.expr, &y.expr);
        Ok(match self.pool.kind {
            PoolKind::Max => quote!(#k::max_pool2d_q8::<#xt>(#geom, #xx, #yy);),
            PoolKind::Avg => {
                let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
                let (zx, mu, s) = (i32_lit(self.x.zp), i32_lit(m.mult), m.shift);
                let out = qout_tokens(&self.y, &Act::NONE);
                quote!(#k::avg_pool2d_q8::<#xt, #yt>(#geom, #zx, &#out, #mu, #s, #xx, #yy);)
            }
        })
    }
}

/// Quantised global average pooling.
#[derive(Debug, Clone, PartialEq)]
pub struct QGlobalAvgPool {
    /// Input quantisation.
    pub x: QParam,
    /// Output quantisation.
    pub y: QParam,
}

impl OpDef for QGlobalAvgPool {
    fn name(&self) -> &'static str {
        "qglobal_avg_pool"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("x", self.x.text()), ("y", self.y.text())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != self.x.dtype || x.rank() < 3 {
            invalid!("input must be {} with spatial axes, is {x}", self.x.dtype);
        }
        let mut s = x.shape[..2].to_vec();
        s.extend(std::iter::repeat_n(1, x.rank() - 2));
        Ok(vec![self.y.ty(s)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let planes = out[0].numel();
        let spatial = x.numel() / planes.max(1);
        let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
        let (zp, lo, hi) = out_stage(&self.y, &Act::NONE);
        let v = (0..planes)
            .map(|c| {
                let sum: i64 = (0..spatial).map(|i| x.data.get_i64(c * spatial + i) - self.x.zp as i64).sum();
                (average(sum, spatial as i64, &m) + zp as i64).clamp(lo as i64, hi as i64)
            })
            .collect();
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn emit(&self, cx: &EmitCx) -> OpResult<TokenStream> {
        let (x, y) = (cx.input(0)?, cx.output(0)?);
        let planes = y.ty.numel();
        let spatial = x.ty.numel() / planes.max(1);
        let m = Multiplier::new(self.x.scale as f64 / self.y.scale as f64).map_err(OpError::Unsupported)?;
        let (zx, mu, s) = (i32_lit(self.x.zp), i32_lit(m.mult), m.shift);
        let (k, xt, yt, out) = (cx.kernels(), elem(self.x.dtype), elem(self.y.dtype), qout_tokens(&self.y, &Act::NONE));
        let (xx, yy) = (&x.expr, &y.expr);
        Ok(quote!(#k::global_avg_pool_q8::<#xt, #yt>(#planes, #spatial, #zx, &#out, #mu, #s, #xx, #yy);))
    }
}
