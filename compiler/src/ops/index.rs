//! Data movement driven by indices known only at run time: Gather with run-time
//! indices, and GatherElements. (Gather with constant indices lives in `layout.rs`.)

use super::util::{axis, data, req, reshaped};
use super::{invalid, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, strides, DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Gather as GatherParams, GatherElements as GatherElementsParams, MAX_RANK};

/// An index along an axis of `len` elements (negative ones count from the end).
fn wrap(i: i64, len: usize) -> OpResult<usize> {
    let j = if i < 0 { i + len as i64 } else { i };
    if j < 0 || j as usize >= len {
        invalid!("index {i} out of range for an axis of {len}");
    }
    Ok(j as usize)
}

fn expect_index(t: &TensorType) -> OpResult<()> {
    if !matches!(t.dtype, DType::I32 | DType::I64) {
        invalid!("indices are {}, expected i32 or i64", t.dtype);
    }
    Ok(())
}

/// Gather along `axis` by indices read at run time (input 1).
#[derive(Debug, Clone, PartialEq)]
pub struct GatherIndexed {
    /// The axis of the data.
    pub axis: usize,
}

impl OpDef for GatherIndexed {
    fn name(&self) -> &'static str {
        "gather_indexed"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, i) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        expect_index(i)?;
        if self.axis >= x.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, x.rank());
        }
        let mut shape = x.shape[..self.axis].to_vec();
        shape.extend(&i.shape);
        shape.extend(&x.shape[self.axis + 1..]);
        Ok(vec![reshaped(x, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, ind) = (data(inputs, 0)?, data(inputs, 1)?);
        let (outer, len, inner) = (numel(&x.shape[..self.axis]), x.shape[self.axis], numel(&x.shape[self.axis + 1..]));
        let mut idx = Vec::with_capacity(out[0].numel());
        for o in 0..outer {
            for j in 0..ind.numel() {
                let i = wrap(ind.data.get_i64(j), len)?;
                idx.extend((0..inner).map(|k| (o * len + i) * inner + k));
            }
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: x.data.gather(idx.into_iter()) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, i) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let s = &x.shape;
        let p =
            GatherParams { outer: numel(&s[..self.axis]), axis_len: s[self.axis], inner: numel(&s[self.axis + 1..]) };
        Ok(vec![invoke(
            Kernel::GatherIndexed { t: x.dtype, i: i.dtype, p },
            [Slot::In(0), Slot::In(1)],
            [Slot::Out(0)],
        )])
    }
}

/// `y[…, j, …] = x[…, indices[…, j, …], …]` along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherElements {
    /// The gathered axis.
    pub axis: usize,
}

impl OpDef for GatherElements {
    fn name(&self) -> &'static str {
        "gather_elements"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, i) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        expect_index(i)?;
        if self.axis >= x.rank() || i.rank() != x.rank() {
            invalid!("data of rank {} and indices of rank {} along axis {}", x.rank(), i.rank(), self.axis);
        }
        if (0..x.rank()).any(|d| d != self.axis && i.shape[d] > x.shape[d]) {
            invalid!("indices {:?} exceed the data {:?} off the axis", i.shape, x.shape);
        }
        Ok(vec![reshaped(x, i.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, ind) = (data(inputs, 0)?, data(inputs, 1)?);
        let (xs, os) = (strides(&x.shape), strides(&ind.shape));
        let mut idx = Vec::with_capacity(ind.numel());
        for k in 0..ind.numel() {
            let mut off = 0;
            for d in 0..ind.shape.len() {
                let i =
                    if d == self.axis { wrap(ind.data.get_i64(k), x.shape[d])? } else { (k / os[d]) % ind.shape[d] };
                off += i * xs[d];
            }
            idx.push(off);
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: x.data.gather(idx.into_iter()) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, i) = (cx.input(0)?.ty, cx.input(1)?.ty);
        if x.rank() > MAX_RANK {
            super::unsupported!("GatherElements of rank {} (at most {MAX_RANK})", x.rank());
        }
        let xs = strides(&x.shape);
        let pad = |v: &[usize]| std::array::from_fn(|d| v.get(d).copied().unwrap_or(0));
        let p = GatherElementsParams {
            rank: x.rank(),
            shape: pad(&i.shape),
            data: pad(&xs),
            axis: self.axis,
            axis_len: x.shape[self.axis],
        };
        let kernel = Kernel::GatherElements { t: x.dtype, i: i.dtype, p };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// GatherElements.
pub fn import_gather_elements(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("data is required") };
    Ok(Lowered::op(GatherElements { axis: axis(cx.int("axis", 0)?, x.ty.rank())? }, 2))
}
