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
        let (shape, data, axis) = merged_axes(&i.shape, &strides(&x.shape), self.axis);
        if shape.len() > MAX_RANK {
            super::unsupported!(
                "GatherElements of rank {} ({} after merging axes; at most {MAX_RANK})",
                x.rank(),
                shape.len()
            );
        }
        let pad = |v: &[usize]| std::array::from_fn(|d| v.get(d).copied().unwrap_or(0));
        let p = GatherElementsParams {
            rank: shape.len(),
            shape: pad(&shape),
            data: pad(&data),
            axis,
            axis_len: x.shape[self.axis],
        };
        let kernel = Kernel::GatherElements { t: x.dtype, i: i.dtype, p };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// The index shape and data strides of a GatherElements with fewer axes and the same
/// result: index axes of extent 1 off the gathered axis are dropped (they always read
/// position 0), and two neighbouring axes off the gathered axis merge into one when
/// the outer one's data stride is the inner one's extent times its stride (a row-major
/// walk of the pair is then one run of data). Returns the new gathered axis too.
fn merged_axes(index: &[usize], data: &[usize], axis: usize) -> (Vec<usize>, Vec<usize>, usize) {
    let (mut shape, mut stride, mut at): (Vec<usize>, Vec<usize>, Option<usize>) = (Vec::new(), Vec::new(), None);
    for d in 0..index.len() {
        if d == axis {
            at = Some(shape.len());
        } else if index[d] == 1 {
            continue;
        } else if let Some(last) = shape.len().checked_sub(1).filter(|&l| Some(l) != at) {
            if stride[last] == index[d] * data[d] {
                shape[last] *= index[d];
                stride[last] = data[d];
                continue;
            }
        }
        shape.push(index[d]);
        stride.push(data[d]);
    }
    (shape, stride, at.unwrap_or(0))
}

/// GatherElements.
pub fn import_gather_elements(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("data is required") };
    Ok(Lowered::op(GatherElements { axis: axis(cx.int("axis", 0)?, x.ty.rank())? }, 2))
}

#[cfg(test)]
mod tests {
    use super::merged_axes;

    #[test]
    fn gather_elements_axes_merge_where_the_index_spans_the_data() {
        // The NLL-loss shape: data [3,5,6,6,5,3,4], index [3,1,6,6,5,3,4] along axis 1.
        let data = [5 * 2160, 2160, 360, 60, 12, 4, 1];
        assert_eq!(merged_axes(&[3, 1, 6, 6, 5, 3, 4], &data, 1), (vec![3, 1, 2160], vec![10800, 2160, 1], 1));
        // A partial inner index axis stops the merge; extent-1 axes off the axis drop out.
        assert_eq!(merged_axes(&[2, 3, 1], &[12, 3, 1], 0), (vec![2, 3], vec![12, 3], 0));
        assert_eq!(merged_axes(&[1, 2, 2], &[12, 4, 1], 2), (vec![2, 2], vec![4, 1], 1));
        assert_eq!(merged_axes(&[4, 2, 3], &[6, 3, 1], 2), (vec![8, 3], vec![3, 1], 1));
        assert_eq!(merged_axes(&[4, 2, 3], &[6, 3, 1], 0), (vec![4, 6], vec![6, 1], 0));
    }
}
