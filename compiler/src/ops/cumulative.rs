//! Running sums and products along one axis: CumSum and CumProd.

use super::util::{axis, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Cumulative as CumulativeParams;

/// `y[…, i, …] = x[…, 0, …] ∘ … ∘ x[…, i, …]` along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct Cumulative {
    /// The axis.
    pub axis: usize,
    /// Products (CumProd), else sums (CumSum).
    pub product: bool,
    /// Each element leaves itself out.
    pub exclusive: bool,
    /// From the end of the axis.
    pub reverse: bool,
}

impl Cumulative {
    fn params(&self, shape: &[usize]) -> CumulativeParams {
        CumulativeParams {
            outer: numel(&shape[..self.axis]),
            len: shape[self.axis],
            inner: numel(&shape[self.axis + 1..]),
            product: self.product,
            exclusive: self.exclusive,
            reverse: self.reverse,
        }
    }
}

impl OpDef for Cumulative {
    fn name(&self) -> &'static str {
        if self.product {
            "cumprod"
        } else {
            "cumsum"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("axis", self.axis.to_string()),
            ("exclusive", self.exclusive.to_string()),
            ("reverse", self.reverse.to_string()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if self.axis >= x.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, x.rank());
        }
        if x.dtype == DType::Bool || x.dtype.is_half() || x.dtype.format_only() {
            unsupported!("{} of {} tensors", self.name(), x.dtype);
        }
        Ok(vec![x.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let p = self.params(&x.shape);
        let float = x.dtype().is_float();
        let mut f = vec![0f64; x.numel()];
        let mut i = vec![0i64; x.numel()];
        for o in 0..p.outer {
            for k in 0..p.inner {
                let (mut af, mut ai) = if p.product { (1f64, 1i64) } else { (0f64, 0i64) };
                for s in 0..p.len {
                    let j = if p.reverse { p.len - 1 - s } else { s };
                    let at = (o * p.len + j) * p.inner + k;
                    let (nf, ni) = if p.product {
                        (af * x.data.get_f64(at), ai.wrapping_mul(x.data.get_i64(at)))
                    } else {
                        (af + x.data.get_f64(at), ai.wrapping_add(x.data.get_i64(at)))
                    };
                    (f[at], i[at]) = if p.exclusive { (af, ai) } else { (nf, ni) };
                    (af, ai) = (nf, ni);
                }
            }
        }
        let data = if float { Data::F64(f).cast(out[0].dtype) } else { Data::I64(i).cast(out[0].dtype) };
        Ok(vec![Tensor { shape: x.shape.clone(), data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let kernel = Kernel::Cumulative { t: x.dtype, p: self.params(&x.shape) };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// CumSum and CumProd: the axis from the constant second input; `exclusive`, `reverse`.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let Some(a) = cx.const_ints(1, "axis")? else { invalid!("input 1 (axis) is required") };
    let [a] = a[..] else { invalid!("axis must hold one value, not {}", a.len()) };
    Ok(Lowered::op(
        Cumulative {
            axis: axis(a, x.ty.rank())?,
            product: cx.node.op_type == "CumProd",
            exclusive: cx.int("exclusive", 0)? != 0,
            reverse: cx.int("reverse", 0)? != 0,
        },
        1,
    ))
}
