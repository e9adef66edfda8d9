//! Data movement: Reshape (and Flatten, Squeeze, Unsqueeze, which import as it),
//! Transpose, Concat, Pad, Slice, Gather (constant indices), Expand, Split and Trilu. Reshape is a
//! view the planner aliases; the rest lower to strided copies.

use super::util::{axis, broadcast, data, list, req, reshaped};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, strides, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Gather as GatherParams, Strided, Trilu as TriluParams, MAX_RANK};

/// A strided copy of any rank, before it is merged into the runtime's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct StridedCopy {
    /// Extents.
    pub shape: Vec<usize>,
    /// Source strides (elements).
    pub src: Vec<isize>,
    /// Source offset (elements).
    pub src_offset: usize,
    /// Destination strides.
    pub dst: Vec<usize>,
    /// Destination offset.
    pub dst_offset: usize,
}

impl StridedCopy {
    /// Merges axes both sides traverse contiguously and drops unit axes.
    pub fn coalesced(&self) -> StridedCopy {
        let mut c = StridedCopy {
            shape: vec![],
            src: vec![],
            src_offset: self.src_offset,
            dst: vec![],
            dst_offset: self.dst_offset,
        };
        for d in 0..self.shape.len() {
            if self.shape[d] == 1 {
                continue;
            }
            if let (Some(&n), Some(&ps), Some(&pd)) = (c.shape.last(), c.src.last(), c.dst.last()) {
                if ps == self.src[d] * self.shape[d] as isize && pd == self.dst[d] * self.shape[d] {
                    let i = c.shape.len() - 1;
                    c.shape[i] = n * self.shape[d];
                    c.src[i] = self.src[d];
                    c.dst[i] = self.dst[d];
                    continue;
                }
            }
            c.shape.push(self.shape[d]);
            c.src.push(self.src[d]);
            c.dst.push(self.dst[d]);
        }
        if c.shape.is_empty() {
            c.shape.push(1);
            c.src.push(1);
            c.dst.push(1);
        }
        c
    }

    /// Every (destination, source) element pair of the copy: the reference semantics
    /// of every copy-based op.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let n = numel(&self.shape);
        let mut out = Vec::with_capacity(n);
        let mut idx = vec![0usize; self.shape.len()];
        for _ in 0..n {
            let mut s = self.src_offset as isize;
            let mut d = self.dst_offset;
            for (k, &i) in idx.iter().enumerate() {
                s += i as isize * self.src[k];
                d += i * self.dst[k];
            }
            out.push((d, s as usize));
            for k in (0..idx.len()).rev() {
                idx[k] += 1;
                if idx[k] < self.shape[k] {
                    break;
                }
                idx[k] = 0;
            }
        }
        out
    }

    /// The runtime's parameters (after merging axes; at most [`MAX_RANK`] remain).
    pub fn params(&self) -> OpResult<Strided> {
        let c = self.coalesced();
        if c.shape.len() > MAX_RANK {
            unsupported!("a copy that needs {} axes after merging (at most {MAX_RANK})", c.shape.len());
        }
        let pad = |v: &[usize]| -> [usize; MAX_RANK] { std::array::from_fn(|i| v.get(i).copied().unwrap_or(0)) };
        Ok(Strided {
            rank: c.shape.len(),
            shape: pad(&c.shape),
            src: std::array::from_fn(|i| c.src.get(i).copied().unwrap_or(0)),
            src_offset: c.src_offset,
            dst: pad(&c.dst),
            dst_offset: c.dst_offset,
        })
    }

    /// The kernel invocation copying input slot `x` into output 0.
    pub fn invocation(&self, t: DType, x: usize) -> OpResult<Invocation> {
        Ok(invoke(Kernel::CopyStrided { t, p: self.params()? }, [Slot::In(x)], [Slot::Out(0)]))
    }
}

/// Evaluates a list of strided copies (plus an optional fill) into a new tensor.
fn run_copies(x: &[&Tensor], copies: &[(usize, StridedCopy)], out: &TensorType, fill: Option<f32>) -> Tensor {
    let n = out.numel();
    // Map every destination element to (source tensor, source element).
    let mut map: Vec<Option<(usize, usize)>> = vec![None; n];
    for (t, c) in copies {
        for (d, s) in c.pairs() {
            map[d] = Some((*t, s));
        }
    }
    let dtype = out.dtype;
    let pick = |d: usize| map[d];
    let data = match dtype {
        crate::ir::DType::F32 => Data::F32(
            (0..n).map(|d| pick(d).map_or(fill.unwrap_or(0.0), |(t, s)| x[t].data.get_f64(s) as f32)).collect(),
        ),
        d if d.is_float() => Data::F64(
            (0..n).map(|i| pick(i).map_or(fill.unwrap_or(0.0) as f64, |(t, s)| x[t].data.get_f64(s))).collect(),
        )
        .cast(d),
        _ => {
            let idx: Vec<Option<(usize, usize)>> = (0..n).map(pick).collect();
            let fill_i = fill.unwrap_or(0.0) as i64;
            let v: Vec<i64> = idx.iter().map(|o| o.map_or(fill_i, |(t, s)| x[t].data.get_i64(s))).collect();
            Data::I64(v).cast(dtype)
        }
    };
    Tensor { shape: out.shape.clone(), data }
}

fn dense(shape: &[usize]) -> Vec<usize> {
    strides(shape)
}

fn signed(v: &[usize]) -> Vec<isize> {
    v.iter().map(|&s| s as isize).collect()
}

// ---------------------------------------------------------------------------- Reshape

/// A new shape for the same elements (Reshape, Flatten, Squeeze, Unsqueeze).
#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    /// The output shape.
    pub shape: Vec<usize>,
}

impl OpDef for Reshape {
    fn name(&self) -> &'static str {
        "reshape"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("shape", list(&self.shape))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.numel() != numel(&self.shape) {
            invalid!("cannot reshape {:?} ({} elements) to {:?}", x.shape, x.numel(), self.shape);
        }
        Ok(vec![reshaped(x, self.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![Tensor { shape: self.shape.clone(), data: x.data.clone() }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        // Runs only when the result is a model output and cannot share storage.
        Ok(vec![invoke(Kernel::Copy { t: cx.output(0)?.dtype }, [Slot::In(0)], [Slot::Out(0)])])
    }
    fn is_view(&self) -> bool {
        true
    }
}

fn reshape_target(input: &[usize], spec: &[i64], allow_zero: bool) -> OpResult<Vec<usize>> {
    let mut out = Vec::with_capacity(spec.len());
    let mut infer_at = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                out.push(1);
            }
            -1 => invalid!("shape {spec:?} has more than one -1"),
            0 if !allow_zero => match input.get(i) {
                Some(&v) => out.push(v),
                None => invalid!("shape {spec:?} copies axis {i}, which the input {input:?} lacks"),
            },
            d if d >= 0 => out.push(d as usize),
            d => invalid!("shape {spec:?} has invalid entry {d}"),
        }
    }
    if let Some(i) = infer_at {
        let known = numel(&out);
        if known == 0 || !numel(input).is_multiple_of(known) {
            invalid!("cannot infer the -1 in {spec:?} for input {input:?}");
        }
        out[i] = numel(input) / known;
    }
    Ok(out)
}

/// Reshape (opset ≥ 5: shape input; before: attribute).
pub fn import_reshape(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let spec = if cx.opset < 5 {
        cx.ints("shape")?.unwrap_or_default()
    } else {
        match cx.const_ints(1, "the target shape")? {
            Some(s) => s,
            None => invalid!("the shape input is required"),
        }
    };
    let shape = reshape_target(&x.ty.shape, &spec, cx.int("allowzero", 0)? != 0)?;
    Ok(Lowered::op(Reshape { shape }, 1))
}

/// Flatten to 2-D at an axis.
pub fn import_flatten(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let r = x.ty.rank();
    let a = cx.int("axis", 1)?;
    let a = if a < 0 { a + r as i64 } else { a };
    if a < 0 || a > r as i64 {
        invalid!("axis {a} out of range for rank {r}");
    }
    let a = a as usize;
    Ok(Lowered::op(Reshape { shape: vec![numel(&x.ty.shape[..a]), numel(&x.ty.shape[a..])] }, 1))
}

fn axes_arg(cx: &NodeCx, what: &str) -> OpResult<Option<Vec<i64>>> {
    if cx.opset < 13 {
        cx.ints("axes")
    } else {
        cx.const_ints(1, what)
    }
}

/// Squeeze: drop the given unit axes (all unit axes when none are given).
pub fn import_squeeze(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let s = &x.ty.shape;
    let drop: Vec<usize> = match axes_arg(cx, "axes")? {
        Some(a) => a.iter().map(|&v| axis(v, s.len())).collect::<OpResult<_>>()?,
        None => (0..s.len()).filter(|&i| s[i] == 1).collect(),
    };
    for &d in &drop {
        if s[d] != 1 {
            invalid!("cannot squeeze axis {d} of extent {} in {s:?}", s[d]);
        }
    }
    let shape = (0..s.len()).filter(|i| !drop.contains(i)).map(|i| s[i]).collect();
    Ok(Lowered::op(Reshape { shape }, 1))
}

/// Unsqueeze: insert unit axes at output positions.
pub fn import_unsqueeze(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let Some(a) = axes_arg(cx, "axes")? else { invalid!("axes are required") };
    let r = x.ty.rank() + a.len();
    let mut ins: Vec<usize> = a.iter().map(|&v| axis(v, r)).collect::<OpResult<_>>()?;
    ins.sort_unstable();
    if ins.windows(2).any(|w| w[0] == w[1]) {
        invalid!("repeated axes {a:?}");
    }
    let mut src = x.ty.shape.iter();
    let shape = (0..r).map(|i| if ins.contains(&i) { 1 } else { *src.next().unwrap_or(&1) }).collect();
    Ok(Lowered::op(Reshape { shape }, 1))
}

// -------------------------------------------------------------------------- Transpose

/// Axis permutation: output axis `d` is input axis `perm[d]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// The permutation.
    pub perm: Vec<usize>,
}

impl Transpose {
    /// The copy that transposes a tensor of shape `x`, in destination order.
    pub(crate) fn copy(&self, x: &[usize]) -> StridedCopy {
        let xs = dense(x);
        let shape: Vec<usize> = self.perm.iter().map(|&p| x[p]).collect();
        let dst = dense(&shape);
        StridedCopy {
            src: self.perm.iter().map(|&p| xs[p] as isize).collect(),
            shape,
            src_offset: 0,
            dst,
            dst_offset: 0,
        }
    }
}

impl OpDef for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("perm", list(&self.perm))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        let mut seen = self.perm.clone();
        seen.sort_unstable();
        if seen != (0..x.rank()).collect::<Vec<_>>() {
            invalid!("perm {:?} is not a permutation of the {} axes", self.perm, x.rank());
        }
        Ok(vec![reshaped(x, self.perm.iter().map(|&p| x.shape[p]).collect())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![run_copies(&[x], &[(0, self.copy(&x.shape))], &out[0], None)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        Ok(vec![self.copy(&x.shape).invocation(x.dtype, 0)?])
    }
}

/// Transpose.
pub fn import_transpose(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let r = x.ty.rank();
    let perm = match cx.ints("perm")? {
        Some(p) => p.iter().map(|&v| axis(v, r)).collect::<OpResult<_>>()?,
        None => (0..r).rev().collect(),
    };
    Ok(Lowered::op(Transpose { perm }, 1))
}

// ----------------------------------------------------------------------------- Concat

/// Concatenation along an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Concat {
    /// The (non-negative) axis.
    pub axis: usize,
}

impl Concat {
    fn copies(&self, shapes: &[&[usize]], out: &[usize]) -> Vec<StridedCopy> {
        let ds = dense(out);
        let mut at = 0;
        shapes
            .iter()
            .map(|s| {
                let c = StridedCopy {
                    shape: s.to_vec(),
                    src: signed(&dense(s)),
                    src_offset: 0,
                    dst: ds.clone(),
                    dst_offset: at * ds[self.axis],
                };
                at += s[self.axis];
                c
            })
            .collect()
    }
}

impl OpDef for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let first = req(inputs, 0)?.ty;
        if self.axis >= first.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, first.rank());
        }
        let mut shape = first.shape.clone();
        shape[self.axis] = 0;
        for (i, a) in inputs.iter().enumerate() {
            let Some(a) = a else { invalid!("input {i} is missing") };
            let t = a.ty;
            if t.dtype != first.dtype || t.rank() != first.rank() {
                invalid!("input {i} is {t}, which does not concatenate with {first}");
            }
            for d in 0..t.rank() {
                if d != self.axis && t.shape[d] != first.shape[d] {
                    invalid!(
                        "input {i} has shape {:?}, which differs from {:?} off axis {}",
                        t.shape,
                        first.shape,
                        self.axis
                    );
                }
            }
            shape[self.axis] += t.shape[self.axis];
        }
        Ok(vec![reshaped(first, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let xs: Vec<&Tensor> = (0..inputs.len()).map(|i| data(inputs, i)).collect::<OpResult<_>>()?;
        let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape.as_slice()).collect();
        let copies: Vec<(usize, StridedCopy)> = self.copies(&shapes, &out[0].shape).into_iter().enumerate().collect();
        Ok(vec![run_copies(&xs, &copies, &out[0], None)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let y = cx.output(0)?;
        let shapes: Vec<&[usize]> =
            (0..cx.inputs.len()).map(|i| cx.input(i).map(|o| o.ty.shape.as_slice())).collect::<OpResult<_>>()?;
        let mut calls = vec![];
        for (i, c) in self.copies(&shapes, &y.shape).into_iter().enumerate() {
            if numel(&c.shape) > 0 {
                calls.push(c.invocation(y.dtype, i)?);
            }
        }
        Ok(calls)
    }
}

/// Concat.
pub fn import_concat(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("at least one input is required") };
    let a = cx.int("axis", if cx.opset < 4 { 1 } else { i64::MIN })?;
    if a == i64::MIN {
        invalid!("axis is required");
    }
    Ok(Lowered::op(Concat { axis: axis(a, x.ty.rank())? }, cx.n_inputs()))
}

// -------------------------------------------------------------------------------- Pad

/// Constant padding (begins then ends, per axis).
#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    /// Begins then ends.
    pub pads: Vec<usize>,
    /// Fill value.
    pub value: f32,
}

impl Pad {
    fn copy(&self, x: &[usize], y: &[usize]) -> StridedCopy {
        let ys = dense(y);
        let off = (0..x.len()).map(|d| self.pads[d] * ys[d]).sum();
        StridedCopy { shape: x.to_vec(), src: signed(&dense(x)), src_offset: 0, dst: ys, dst_offset: off }
    }
}

impl OpDef for Pad {
    fn name(&self) -> &'static str {
        "pad"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("pads", list(&self.pads)), ("value", self.value.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        let r = x.rank();
        if self.pads.len() != 2 * r {
            invalid!("pads {:?} must have {} entries", self.pads, 2 * r);
        }
        Ok(vec![reshaped(x, (0..r).map(|d| x.shape[d] + self.pads[d] + self.pads[d + r]).collect())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![run_copies(&[x], &[(0, self.copy(&x.shape, &out[0].shape))], &out[0], Some(self.value))])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, y) = (cx.input(0)?.ty, cx.output(0)?);
        let value = match y.dtype {
            d if d.is_float() => self.value as f64,
            d if d != DType::Bool => self.value as i64 as f64,
            other => unsupported!("padding {other} tensors at run time"),
        };
        Ok(vec![
            invoke(Kernel::Fill { t: y.dtype, value }, [], [Slot::Out(0)]),
            self.copy(&x.shape, &y.shape).invocation(y.dtype, 0)?,
        ])
    }
}

/// Pad (constant mode).
pub fn import_pad(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let r = x.ty.rank();
    let mode = cx.string("mode", "constant")?;
    if !matches!(mode.as_str(), "constant" | "edge" | "reflect" | "wrap") {
        invalid!("Pad mode `{mode}` (constant, edge, reflect or wrap)");
    }
    let (raw, value) = if cx.opset < 11 {
        (cx.ints(if cx.opset < 2 { "paddings" } else { "pads" })?.unwrap_or_default(), cx.float("value", 0.0)?)
    } else {
        let Some(p) = cx.const_ints(1, "pads")? else { invalid!("pads are required") };
        (p, cx.const_f32(2, "the constant value")?.unwrap_or(0.0))
    };
    // Opset 18 adds `axes`: pads then cover only those axes.
    let pads: Vec<i64> = match cx.const_ints(3, "axes")? {
        Some(axes) => {
            let mut full = vec![0; 2 * r];
            let n = axes.len();
            if raw.len() != 2 * n {
                invalid!("pads {raw:?} must have two entries per axis of {axes:?}");
            }
            for (i, &a) in axes.iter().enumerate() {
                let a = axis(a, r)?;
                full[a] = raw[i];
                full[a + r] = raw[i + n];
            }
            full
        }
        None => raw,
    };
    if pads.len() != 2 * r {
        invalid!("pads {pads:?} must have {} entries for rank {r}", 2 * r);
    }
    if mode != "constant" {
        return super::compose_spatial::pad_by_mode(cx, &mode, &pads);
    }
    if pads.iter().any(|&p| p < 0) {
        unsupported!("negative pads (cropping) {pads:?}");
    }
    Ok(Lowered::op(Pad { pads: pads.into_iter().map(|p| p as usize).collect(), value }, 1))
}

// ------------------------------------------------------------------------------ Slice

/// A strided window: per axis, first index, step and count.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// First index per axis.
    pub starts: Vec<usize>,
    /// Step per axis (negative walks backwards).
    pub steps: Vec<isize>,
    /// Elements per axis.
    pub counts: Vec<usize>,
}

impl Slice {
    fn copy(&self, x: &[usize]) -> StridedCopy {
        let xs = dense(x);
        StridedCopy {
            shape: self.counts.clone(),
            src: (0..x.len()).map(|d| self.steps[d] * xs[d] as isize).collect(),
            src_offset: (0..x.len()).map(|d| self.starts[d] * xs[d]).sum(),
            dst: dense(&self.counts),
            dst_offset: 0,
        }
    }
}

impl OpDef for Slice {
    fn name(&self) -> &'static str {
        "slice"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("starts", list(&self.starts)), ("steps", list(&self.steps)), ("counts", list(&self.counts))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if self.counts.len() != x.rank() {
            invalid!("slice of rank {} on input of rank {}", self.counts.len(), x.rank());
        }
        Ok(vec![reshaped(x, self.counts.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![run_copies(&[x], &[(0, self.copy(&x.shape))], &out[0], None)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        if self.counts.contains(&0) {
            return Ok(vec![]);
        }
        Ok(vec![self.copy(&x.shape).invocation(x.dtype, 0)?])
    }
}

/// Slice (attributes before opset 10, inputs after).
pub fn import_slice(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let shape = &x.ty.shape;
    let r = shape.len();
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        (cx.ints("starts")?.unwrap_or_default(), cx.ints("ends")?.unwrap_or_default(), cx.ints("axes")?, None)
    } else {
        let Some(s) = cx.const_ints(1, "starts")? else { invalid!("starts are required") };
        let Some(e) = cx.const_ints(2, "ends")? else { invalid!("ends are required") };
        (s, e, cx.const_ints(3, "axes")?, cx.const_ints(4, "steps")?)
    };
    let axes: Vec<usize> = match axes {
        Some(a) => a.iter().map(|&v| axis(v, r)).collect::<OpResult<_>>()?,
        None if starts.len() <= r => (0..starts.len()).collect(),
        None => invalid!("{} starts for an input of rank {r}", starts.len()),
    };
    let steps = steps.unwrap_or_else(|| vec![1; axes.len()]);
    if starts.len() != axes.len() || ends.len() != axes.len() || steps.len() != axes.len() {
        invalid!("starts, ends, axes and steps must have the same length");
    }
    let mut s = Slice { starts: vec![0; r], steps: vec![1; r], counts: shape.clone() };
    for (i, &a) in axes.iter().enumerate() {
        let dim = shape[a] as i64;
        let step = steps[i];
        if step == 0 {
            invalid!("step 0 on axis {a}");
        }
        let norm = |v: i64| if v < 0 { v + dim } else { v };
        let (start, end) = if step > 0 {
            (norm(starts[i]).clamp(0, dim), norm(ends[i]).clamp(0, dim))
        } else {
            (norm(starts[i]).clamp(0, dim - 1), norm(ends[i]).clamp(-1, dim - 1))
        };
        let count =
            if step > 0 { (end - start).max(0) + step - 1 } else { (start - end).max(0) - step - 1 } / step.abs();
        s.starts[a] = start.max(0) as usize;
        s.steps[a] = step as isize;
        s.counts[a] = count.max(0) as usize;
    }
    Ok(Lowered::op(s, 1))
}

// ----------------------------------------------------------------------------- Gather

/// Gather with constant indices along an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Gather {
    /// The axis of the data.
    pub axis: usize,
    /// Non-negative indices, row-major.
    pub indices: Vec<usize>,
    /// Shape of the indices tensor.
    pub indices_shape: Vec<usize>,
}

impl OpDef for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("axis", self.axis.to_string()),
            ("indices", list(&self.indices)),
            ("indices_shape", list(&self.indices_shape)),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if self.axis >= x.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, x.rank());
        }
        if let Some(&i) = self.indices.iter().find(|&&i| i >= x.shape[self.axis]) {
            invalid!("index {i} out of range for axis {} of extent {}", self.axis, x.shape[self.axis]);
        }
        let mut shape = x.shape[..self.axis].to_vec();
        shape.extend(&self.indices_shape);
        shape.extend(&x.shape[self.axis + 1..]);
        Ok(vec![reshaped(x, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let outer = numel(&x.shape[..self.axis]);
        let len = x.shape[self.axis];
        let inner = numel(&x.shape[self.axis + 1..]);
        let mut idx = Vec::with_capacity(out[0].numel());
        for o in 0..outer {
            for &i in &self.indices {
                for k in 0..inner {
                    idx.push((o * len + i) * inner + k);
                }
            }
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: x.data.gather(idx.into_iter()) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let s = &x.shape;
        let (outer, axis_len, inner) = (numel(&s[..self.axis]), s[self.axis], numel(&s[self.axis + 1..]));
        if self.indices.len() == 1 {
            let slice = Slice {
                starts: (0..s.len()).map(|d| if d == self.axis { self.indices[0] } else { 0 }).collect(),
                steps: vec![1; s.len()],
                counts: (0..s.len()).map(|d| if d == self.axis { 1 } else { s[d] }).collect(),
            };
            return Ok(vec![slice.copy(s).invocation(x.dtype, 0)?]);
        }
        let kernel =
            Kernel::Gather { t: x.dtype, p: GatherParams { outer, axis_len, inner }, indices: self.indices.clone() };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Gather: constant indices become a copy with the indices as parameters; run-time
/// indices are read by the kernel ([`super::index::GatherIndexed`]).
pub fn import_gather(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("data is required") };
    let a = axis(cx.int("axis", 0)?, x.ty.rank())?;
    if cx.input(1).is_some_and(|i| i.value.is_none()) {
        return Ok(Lowered::op(super::index::GatherIndexed { axis: a }, 2));
    }
    let Some(ind) = cx.const_input(1, "the indices")? else { invalid!("indices are required") };
    let len = x.ty.shape[a] as i64;
    let indices = ind
        .data
        .to_i64_vec()
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + len } else { i };
            if j < 0 || j >= len {
                Err(super::OpError::Invalid(format!("index {i} out of range for axis {a} of extent {len}")))
            } else {
                Ok(j as usize)
            }
        })
        .collect::<OpResult<_>>()?;
    Ok(Lowered::op(Gather { axis: a, indices, indices_shape: ind.shape.clone() }, 1))
}

// ----------------------------------------------------------------------------- Expand

/// Broadcast to a larger shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Expand {
    /// The output shape.
    pub shape: Vec<usize>,
}

impl Expand {
    fn copy(&self, x: &[usize]) -> StridedCopy {
        let xs = dense(x);
        let off = self.shape.len() - x.len();
        let src =
            (0..self.shape.len()).map(|d| if d < off || x[d - off] == 1 { 0 } else { xs[d - off] as isize }).collect();
        StridedCopy { shape: self.shape.clone(), src, src_offset: 0, dst: dense(&self.shape), dst_offset: 0 }
    }
}

impl OpDef for Expand {
    fn name(&self) -> &'static str {
        "expand"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("shape", list(&self.shape))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if broadcast(&x.shape, &self.shape)? != self.shape {
            invalid!("{:?} does not expand to {:?}", x.shape, self.shape);
        }
        Ok(vec![reshaped(x, self.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![run_copies(&[x], &[(0, self.copy(&x.shape))], &out[0], None)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        Ok(vec![self.copy(&x.shape).invocation(x.dtype, 0)?])
    }
}

/// Expand (the target shape must be constant).
pub fn import_expand(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let Some(spec) = cx.const_ints(1, "the target shape")? else { invalid!("shape is required") };
    if spec.iter().any(|&d| d < 0) {
        invalid!("shape {spec:?} has negative entries");
    }
    let spec: Vec<usize> = spec.into_iter().map(|d| d as usize).collect();
    // Expand broadcasts both ways: a 1 in the spec keeps the input extent.
    let shape = broadcast(&x.ty.shape, &spec)?;
    Ok(Lowered::op(Expand { shape }, 1))
}

// ---------------------------------------------------------------------------- Split

/// Consecutive pieces along one axis, one output each.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The axis.
    pub axis: usize,
    /// Extent of each piece.
    pub sizes: Vec<usize>,
}

impl Split {
    /// The copy producing piece `k` of an input of shape `x`.
    fn copy(&self, x: &[usize], k: usize) -> StridedCopy {
        let xs = dense(x);
        let mut shape = x.to_vec();
        shape[self.axis] = self.sizes[k];
        let start: usize = self.sizes[..k].iter().sum();
        StridedCopy { dst: dense(&shape), shape, src: signed(&xs), src_offset: start * xs[self.axis], dst_offset: 0 }
    }
}

impl OpDef for Split {
    fn name(&self) -> &'static str {
        "split"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string()), ("sizes", list(&self.sizes))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if self.axis >= x.rank() {
            invalid!("axis {} out of range for rank {}", self.axis, x.rank());
        }
        if self.sizes.iter().sum::<usize>() != x.shape[self.axis] {
            invalid!(
                "pieces {:?} do not add up to the extent {} of axis {}",
                self.sizes,
                x.shape[self.axis],
                self.axis
            );
        }
        Ok((0..self.sizes.len()).map(|k| reshaped(x, self.copy(&x.shape, k).shape)).collect())
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok((0..self.sizes.len()).map(|k| run_copies(&[x], &[(0, self.copy(&x.shape, k))], &out[k], None)).collect())
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        // Empty pieces need no copy.
        (0..self.sizes.len())
            .filter(|&k| self.sizes[k] > 0 && x.numel() > 0)
            .map(|k| {
                let p = self.copy(&x.shape, k).params()?;
                Ok(invoke(Kernel::CopyStrided { t: x.dtype, p }, [Slot::In(0)], [Slot::Out(k)]))
            })
            .collect()
    }
}

/// Split: sizes from the attribute (before opset 13), the constant second input, or
/// equal parts (`num_outputs` from opset 18, else the output count; the last part
/// smaller when the extent does not divide).
pub fn import_split(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let axis = axis(cx.int("axis", 0)?, x.ty.rank())?;
    let extent = x.ty.shape[axis];
    let given = if cx.opset < 13 { cx.ints("split")? } else { cx.const_ints(1, "split")? };
    let sizes: Vec<usize> = match given {
        Some(s) => {
            if s.iter().any(|&v| v < 0) {
                invalid!("negative split sizes {s:?}");
            }
            s.iter().map(|&v| v as usize).collect()
        }
        None => {
            let n = if cx.opset >= 18 && cx.has("num_outputs") {
                cx.int("num_outputs", 1)?
            } else {
                cx.node.output.len() as i64
            };
            if n < 1 {
                invalid!("num_outputs {n}");
            }
            let n = n as usize;
            let part = extent.div_ceil(n);
            (0..n).map(|k| part.min(extent.saturating_sub(k * part))).collect()
        }
    };
    if sizes.len() != cx.node.output.len() {
        invalid!("{} pieces for {} outputs", sizes.len(), cx.node.output.len());
    }
    Ok(Lowered::op_with(Split { axis, sizes }, &[0]))
}

// ---------------------------------------------------------------------------- Trilu

/// The upper or lower triangle of the last two axes; the rest zeroed.
#[derive(Debug, Clone, PartialEq)]
pub struct Trilu {
    /// Keep the upper triangle.
    pub upper: bool,
    /// Diagonal offset.
    pub k: i64,
}

impl Trilu {
    fn params(&self, shape: &[usize]) -> TriluParams {
        let r = shape.len();
        TriluParams {
            batch: numel(&shape[..r - 2]),
            rows: shape[r - 2],
            cols: shape[r - 1],
            k: self.k.clamp(isize::MIN as i64 / 2, isize::MAX as i64 / 2) as isize,
            upper: self.upper,
        }
    }
}

impl OpDef for Trilu {
    fn name(&self) -> &'static str {
        "trilu"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("upper", self.upper.to_string()), ("k", self.k.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.rank() < 2 {
            invalid!("Trilu of rank {} (at least 2)", x.rank());
        }
        Ok(vec![x.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let p = self.params(&x.shape);
        let keep = |i: usize| {
            let (r, c) = ((i / p.cols) % p.rows, i % p.cols);
            let d = c as i64 - r as i64;
            if self.upper {
                d >= self.k
            } else {
                d <= self.k
            }
        };
        let data = match &x.data {
            Data::F32(v) => Data::F32(v.iter().enumerate().map(|(i, &a)| if keep(i) { a } else { 0.0 }).collect()),
            d => Data::I64((0..d.len()).map(|i| if keep(i) { d.get_i64(i) } else { 0 }).collect()).cast(x.dtype()),
        };
        Ok(vec![Tensor { shape: out[0].shape.clone(), data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        Ok(vec![invoke(Kernel::Trilu { t: x.dtype, p: self.params(&x.shape) }, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Trilu (k from the constant second input).
pub fn import_trilu(cx: &NodeCx) -> OpResult<Lowered> {
    let k = match cx.const_ints(1, "k")? {
        Some(v) if v.len() == 1 => v[0],
        Some(v) => invalid!("k must be a scalar, got {} values", v.len()),
        None => 0,
    };
    Ok(Lowered::op_with(Trilu { upper: cx.int("upper", 1)? != 0, k }, &[0]))
}
