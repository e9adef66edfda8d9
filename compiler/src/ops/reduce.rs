//! Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1,
//! ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare over any set of axes, and
//! ArgMax/ArgMin along one axis.

use super::util::{axis, data, list, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, strides, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Axis, Reduce as ReduceParams, ReduceOp, MAX_RANK};

/// A reduction over `axes` (sorted, unique).
#[derive(Debug, Clone, PartialEq)]
pub struct Reduce {
    /// What to compute.
    pub op: ReduceOp,
    /// Reduced axes.
    pub axes: Vec<usize>,
    /// Keep reduced axes as extent 1.
    pub keepdims: bool,
}

fn op_name(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => "reduce_sum",
        ReduceOp::Mean => "reduce_mean",
        ReduceOp::Max => "reduce_max",
        ReduceOp::Min => "reduce_min",
        ReduceOp::Prod => "reduce_prod",
        ReduceOp::L1 => "reduce_l1",
        ReduceOp::L2 => "reduce_l2",
        ReduceOp::LogSum => "reduce_log_sum",
        ReduceOp::LogSumExp => "reduce_log_sum_exp",
        ReduceOp::SumSquare => "reduce_sum_square",
    }
}

/// The reference value of a reduction of `v` (in f64).
fn reference(op: ReduceOp, v: &[f64]) -> f64 {
    let sum = |f: &dyn Fn(f64) -> f64| v.iter().map(|&x| f(x)).sum::<f64>();
    match op {
        ReduceOp::Sum => sum(&|x| x),
        ReduceOp::Mean => sum(&|x| x) / v.len() as f64,
        ReduceOp::Max => {
            v.iter().copied().fold(f64::NEG_INFINITY, |m, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.max(x) })
        }
        ReduceOp::Min => {
            v.iter().copied().fold(f64::INFINITY, |m, x| if x.is_nan() || m.is_nan() { f64::NAN } else { m.min(x) })
        }
        ReduceOp::Prod => v.iter().product(),
        ReduceOp::L1 => sum(&f64::abs),
        ReduceOp::L2 => sum(&|x| x * x).sqrt(),
        ReduceOp::LogSum => sum(&|x| x).ln(),
        ReduceOp::LogSumExp => sum(&f64::exp).ln(),
        ReduceOp::SumSquare => sum(&|x| x * x),
    }
}

impl Reduce {
    fn out_shape(&self, shape: &[usize]) -> Vec<usize> {
        let mut out = vec![];
        for (d, &n) in shape.iter().enumerate() {
            if !self.axes.contains(&d) {
                out.push(n);
            } else if self.keepdims {
                out.push(1);
            }
        }
        out
    }

    /// The kernel's parameters: neighbouring axes that are both reduced or both kept
    /// merge; unit axes drop.
    fn params(&self, shape: &[usize]) -> OpResult<ReduceParams> {
        let mut dims: Vec<(usize, bool)> = vec![];
        for (d, &n) in shape.iter().enumerate() {
            let r = self.axes.contains(&d);
            if n == 1 {
                continue;
            }
            match dims.last_mut() {
                Some((m, lr)) if *lr == r => *m *= n,
                _ => dims.push((n, r)),
            }
        }
        if dims.is_empty() {
            dims.push((1, true));
        }
        if dims.len() > MAX_RANK {
            unsupported!("a reduction needing {} axes after merging (at most {MAX_RANK})", dims.len());
        }
        let mut p = ReduceParams { rank: dims.len(), shape: [0; MAX_RANK], reduce: [false; MAX_RANK] };
        for (i, (n, r)) in dims.into_iter().enumerate() {
            p.shape[i] = n;
            p.reduce[i] = r;
        }
        Ok(p)
    }
}

impl OpDef for Reduce {
    fn name(&self) -> &'static str {
        op_name(self.op)
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axes", list(&self.axes)), ("keepdims", self.keepdims.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let t = req(inputs, 0)?.ty;
        if t.dtype == DType::Bool {
            unsupported!("{} of bool tensors", self.name());
        }
        if self.axes.iter().any(|&a| a >= t.rank()) {
            invalid!("axes {:?} out of range for rank {}", self.axes, t.rank());
        }
        Ok(vec![TensorType::new(t.dtype, self.out_shape(&t.shape))])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let st = strides(&x.shape);
        let kept: Vec<usize> = (0..x.shape.len()).filter(|d| !self.axes.contains(d)).collect();
        let mut groups: Vec<Vec<f64>> = vec![vec![]; numel(&kept.iter().map(|&d| x.shape[d]).collect::<Vec<_>>())];
        for i in 0..x.numel() {
            let mut o = 0;
            for &d in &kept {
                o = o * x.shape[d] + (i / st[d]) % x.shape[d];
            }
            groups[o].push(x.data.get_f64(i));
        }
        let v: Vec<f64> = groups.iter().map(|g| reference(self.op, g)).collect();
        let data = match out[0].dtype {
            DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
            d if d.is_float() => Data::F64(v).cast(d),
            d => Data::I64(v.iter().map(|&x| x as i64).collect()).cast(d),
        };
        Ok(vec![Tensor { shape: out[0].shape.clone(), data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        if x.numel() == 0 {
            // Every output element reduces an empty set: the reduction's identity.
            let y = cx.output(0)?;
            if y.numel() == 0 {
                return Ok(vec![]);
            }
            let value = reference(self.op, &[]);
            return Ok(vec![invoke(Kernel::Fill { t: y.dtype, value }, [], [Slot::Out(0)])]);
        }
        let p = self.params(&x.shape)?;
        let kernel = match x.dtype {
            DType::F32 => Kernel::ReduceF32 { p, op: self.op },
            DType::F64 => Kernel::ReduceFloat { t: DType::F64, p, op: self.op },
            t => unsupported!("{} of {t} tensors computed at run time", self.name()),
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Every Reduce* op: axes from the attribute (before opset 18; 13 for ReduceSum) or
/// the constant second input, `keepdims`, `noop_with_empty_axes`.
pub fn import_reduce(cx: &NodeCx) -> OpResult<Lowered> {
    let op = match cx.node.op_type.as_str() {
        "ReduceSum" => ReduceOp::Sum,
        "ReduceMean" => ReduceOp::Mean,
        "ReduceMax" => ReduceOp::Max,
        "ReduceMin" => ReduceOp::Min,
        "ReduceProd" => ReduceOp::Prod,
        "ReduceL1" => ReduceOp::L1,
        "ReduceL2" => ReduceOp::L2,
        "ReduceLogSum" => ReduceOp::LogSum,
        "ReduceLogSumExp" => ReduceOp::LogSumExp,
        "ReduceSumSquare" => ReduceOp::SumSquare,
        other => unsupported!("{other} is not a reduction"),
    };
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let rank = x.ty.rank();
    let axes_input = cx.opset >= if op == ReduceOp::Sum { 13 } else { 18 };
    let axes = if axes_input { cx.const_ints(1, "axes")? } else { cx.ints("axes")? };
    let keepdims = cx.int("keepdims", 1)? != 0;
    let noop = cx.int("noop_with_empty_axes", 0)? != 0;
    let axes: Vec<usize> = match axes {
        Some(a) if !a.is_empty() => {
            let mut v = a.iter().map(|&a| axis(a, rank)).collect::<OpResult<Vec<_>>>()?;
            v.sort_unstable();
            if v.windows(2).any(|w| w[0] == w[1]) {
                invalid!("axes {a:?} repeat an axis");
            }
            v
        }
        _ if noop => return Ok(Lowered::Forward(0)),
        _ => (0..rank).collect(),
    };
    if x.ty.dtype == DType::Bool && matches!(op, ReduceOp::Max | ReduceOp::Min) && x.value.is_none() {
        // Max is "any", Min is "all": reduced as 0.0/1.0.
        use crate::front::node::{Src, SubNode};
        let cast = |to, src| SubNode { op: super::shape::Cast { to, saturate: true }.into(), inputs: vec![Some(src)] };
        return Ok(Lowered::Nodes(vec![
            cast(DType::F32, Src::In(0)),
            SubNode { op: Reduce { op, axes, keepdims }.into(), inputs: vec![Some(Src::Node(0, 0))] },
            cast(DType::Bool, Src::Node(1, 0)),
        ]));
    }
    Ok(Lowered::op(Reduce { op, axes, keepdims }, 1))
}

/// ArgMax or ArgMin along one axis: i64 indices.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgReduce {
    /// ArgMax (else ArgMin).
    pub max: bool,
    /// The axis.
    pub axis: usize,
    /// Keep it as extent 1.
    pub keepdims: bool,
    /// The last index among equal extremes (else the first).
    pub last: bool,
}

impl ArgReduce {
    fn split(&self, shape: &[usize]) -> Axis {
        Axis { outer: numel(&shape[..self.axis]), len: shape[self.axis], inner: numel(&shape[self.axis + 1..]) }
    }
}

impl OpDef for ArgReduce {
    fn name(&self) -> &'static str {
        if self.max {
            "arg_max"
        } else {
            "arg_min"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("axis", self.axis.to_string()),
            ("keepdims", self.keepdims.to_string()),
            ("select_last_index", self.last.to_string()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let t = req(inputs, 0)?.ty;
        if self.axis >= t.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, t.rank());
        }
        if t.shape[self.axis] == 0 {
            invalid!("{} over an empty axis", self.name());
        }
        let mut shape = t.shape.clone();
        if self.keepdims {
            shape[self.axis] = 1;
        } else {
            shape.remove(self.axis);
        }
        Ok(vec![TensorType::new(DType::I64, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let p = self.split(&x.shape);
        let mut y = vec![];
        for o in 0..p.outer {
            for i in 0..p.inner {
                let at = |j: usize| x.data.get_f64((o * p.len + j) * p.inner + i);
                let mut best = 0;
                for j in 1..p.len {
                    let (v, b) = (at(j), at(best));
                    let better = if b.is_nan() {
                        self.last && v.is_nan()
                    } else if v.is_nan() {
                        true
                    } else {
                        (if self.max { v > b } else { v < b }) || (self.last && v == b)
                    };
                    if better {
                        best = j;
                    }
                }
                y.push(best as i64);
            }
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::I64(y) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        if x.dtype != DType::F32 {
            unsupported!("{} of {} tensors computed at run time", self.name(), x.dtype);
        }
        let kernel = Kernel::ArgReduceF32 { p: self.split(&x.shape), max: self.max, last: self.last };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// ArgMax and ArgMin.
pub fn import_arg(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let axis = axis(cx.int("axis", 0)?, x.ty.rank())?;
    Ok(Lowered::op(
        ArgReduce {
            max: cx.node.op_type == "ArgMax",
            axis,
            keepdims: cx.int("keepdims", 1)? != 0,
            last: cx.int("select_last_index", 0)? != 0,
        },
        1,
    ))
}
