//! TopK: the `k` largest or smallest elements along an axis, in order, and their
//! indices.

use super::util::{axis, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::TopK as TopKParams;

/// TopK with a constant `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct TopK {
    /// The axis.
    pub axis: usize,
    /// Elements kept.
    pub k: usize,
    /// The largest (else the smallest).
    pub largest: bool,
}

impl TopK {
    fn params(&self, shape: &[usize]) -> TopKParams {
        TopKParams {
            outer: numel(&shape[..self.axis]),
            len: shape[self.axis],
            inner: numel(&shape[self.axis + 1..]),
            k: self.k,
            largest: self.largest,
        }
    }
}

impl OpDef for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string()), ("k", self.k.to_string()), ("largest", self.largest.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if self.axis >= x.rank() || self.k > x.shape[self.axis] {
            invalid!("k = {} along axis {} of {x}", self.k, self.axis);
        }
        if x.dtype == DType::Bool || x.dtype.is_half() || x.dtype.format_only() {
            unsupported!("TopK of {} tensors", x.dtype);
        }
        let mut shape = x.shape.clone();
        shape[self.axis] = self.k;
        Ok(vec![TensorType::new(x.dtype, shape.clone()), TensorType::new(DType::I64, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let p = self.params(&x.shape);
        let mut idx = Vec::with_capacity(out[0].numel());
        let mut pos = Vec::with_capacity(out[0].numel());
        let mut picks = vec![vec![]; p.outer * p.inner];
        for (s, slot) in picks.iter_mut().enumerate() {
            let (o, r) = (s / p.inner, s % p.inner);
            let mut order: Vec<usize> = (0..p.len).collect();
            let v = |i: usize| x.data.get_f64((o * p.len + i) * p.inner + r);
            order.sort_by(|&a, &b| {
                let c = v(a).partial_cmp(&v(b)).unwrap_or(std::cmp::Ordering::Equal);
                (if self.largest { c.reverse() } else { c }).then(a.cmp(&b))
            });
            *slot = order;
        }
        for o in 0..p.outer {
            for j in 0..p.k {
                for r in 0..p.inner {
                    let i = picks[o * p.inner + r][j];
                    idx.push((o * p.len + i) * p.inner + r);
                    pos.push(i as i64);
                }
            }
        }
        Ok(vec![
            Tensor { shape: out[0].shape.clone(), data: x.data.gather(idx.into_iter()) },
            Tensor { shape: out[1].shape.clone(), data: Data::I64(pos) },
        ])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let kernel = Kernel::TopK { t: x.dtype, p: self.params(&x.shape) };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0), Slot::Out(1)])])
    }
}

/// TopK (opset 10+): `k` from the constant second input; `largest`; `sorted` (the
/// output is always sorted, which `sorted = 0` allows).
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let Some(k) = cx.const_ints(1, "k")? else { invalid!("input K is required") };
    let [k] = k[..] else { invalid!("K must hold one value, not {}", k.len()) };
    if k < 0 {
        invalid!("K = {k}");
    }
    Ok(Lowered::op(
        TopK { axis: axis(cx.int("axis", -1)?, x.ty.rank())?, k: k as usize, largest: cx.int("largest", 1)? != 0 },
        1,
    ))
}
