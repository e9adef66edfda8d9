//! QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear in the forms the integer
//! conversion kernels do not take, as small graphs of float IR ops: scales and zero
//! points computed at run time, half-float scales, blocked quantisation (`block_size`),
//! and the other target types (i16, u16, the 4- and 2-bit integers, the 8- and 4-bit
//! floats; one element per byte, as Cast computes them). Quantising is
//! `saturate(round_half_even(x / scale) + zero_point)` (for float targets, the Cast's
//! own rounding and saturation); dequantising `(x − zero_point) · scale`.

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::layout::{Expand, Reshape, Slice};
use super::reduce::Reduce;
use super::shape::Cast;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::ReduceOp;
use tinyops_runtime::kernels::UnaryFn;

#[derive(Default)]
struct Sub {
    nodes: Vec<SubNode>,
}

impl Sub {
    fn add(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn bin(&mut self, kind: BinKind, a: Src, b: Src) -> Src {
        self.add(Binary { kind, act: Act::NONE }, vec![a, b])
    }
    fn cast(&mut self, x: Src, from: DType, to: DType) -> Src {
        if from == to {
            x
        } else {
            self.add(Cast { to, saturate: true }, vec![x])
        }
    }
}

fn f32_scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

/// The integer range of a quantised integer type.
fn int_range(t: DType) -> Option<(f32, f32)> {
    Some(match t {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        DType::I16 => (-32768.0, 32767.0),
        DType::U16 => (0.0, 65535.0),
        DType::I32 => (-2147483648.0, 2147483647.0),
        DType::I4 => (-8.0, 7.0),
        DType::U4 => (0.0, 15.0),
        DType::I2 => (-2.0, 1.0),
        DType::U2 => (0.0, 3.0),
        _ => return None,
    })
}

/// A parameter (scale or zero point, ONNX slot `slot`, as f32) made to broadcast
/// against `x_shape`: per tensor as it is, per axis reshaped onto `axis`, blocked
/// repeated `block` times along `axis` (and cut to its extent).
fn param(g: &mut Sub, cx: &NodeCx, slot: usize, x_shape: &[usize], axis: usize, block: usize) -> OpResult<Src> {
    let Some(p) = cx.input(slot) else { invalid!("input {slot} is required") };
    let v = g.cast(Src::In(slot), p.ty.dtype, DType::F32);
    let s = &p.ty.shape;
    if p.ty.numel() == 1 && block == 0 {
        return Ok(v);
    }
    let rank = x_shape.len();
    if block == 0 {
        if s.len() != 1 || axis >= rank || s[0] != x_shape[axis] {
            invalid!("{} parameters of shape {s:?} do not match axis {axis} of {x_shape:?}", s.len());
        }
        let mut shape = vec![1; rank];
        shape[axis] = s[0];
        return Ok(g.add(Reshape { shape }, vec![v]));
    }
    if s.len() != rank || axis >= rank || s[axis] != x_shape[axis].div_ceil(block) {
        invalid!("blocked parameters of shape {s:?} do not match {x_shape:?} with block size {block} on axis {axis}");
    }
    if (0..rank).any(|d| d != axis && s[d] != x_shape[d]) {
        invalid!("blocked parameters of shape {s:?} differ from {x_shape:?} off axis {axis}");
    }
    let mut split: Vec<usize> = s.clone();
    split.insert(axis + 1, 1);
    let r = g.add(Reshape { shape: split.clone() }, vec![v]);
    split[axis + 1] = block;
    let e = g.add(Expand { shape: split }, vec![r]);
    let mut full = s.clone();
    full[axis] *= block;
    let mut out = g.add(Reshape { shape: full.clone() }, vec![e]);
    if full[axis] != x_shape[axis] {
        let counts = x_shape.to_vec();
        out = g.add(Slice { starts: vec![0; rank], steps: vec![1; rank], counts }, vec![out]);
    }
    Ok(out)
}

fn axis_and_block(cx: &NodeCx, rank: usize) -> OpResult<(usize, usize)> {
    let a = cx.int("axis", 1)?;
    let a = if a < 0 { a + rank as i64 } else { a };
    let block = cx.int("block_size", 0)?;
    if block < 0 {
        invalid!("block_size {block}");
    }
    Ok((a.max(0) as usize, block as usize))
}

/// True when the integer conversion kernels take this node as it is: an 8-bit (or, to
/// dequantise, i32) integer, constant f32 scale and zero point, per tensor or per axis.
pub fn kernel_form(cx: &NodeCx, int: DType) -> bool {
    let constant = |i: usize| cx.input(i).is_none_or(|a| a.value.is_some());
    matches!(int, DType::I8 | DType::U8 | DType::I32)
        && cx.input(1).is_some_and(|s| s.ty.dtype == DType::F32 && s.ty.rank() <= 1)
        && constant(1)
        && constant(2)
        && cx.int("block_size", 0).is_ok_and(|b| b == 0)
}

/// QuantizeLinear to `to` as float ops.
pub fn quantize(cx: &NodeCx, to: DType) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    if !(x.ty.dtype == DType::F32 || x.ty.dtype.is_half()) {
        unsupported!("QuantizeLinear of {} tensors", x.ty.dtype);
    }
    let (axis, block) = axis_and_block(cx, x.ty.rank())?;
    let mut g = Sub::default();
    let xf = g.cast(Src::In(0), x.ty.dtype, DType::F32);
    let scale = param(&mut g, cx, 1, &x.ty.shape, axis, block)?;
    let q = g.bin(BinKind::Div, xf, scale);
    let zp = match cx.input(2) {
        Some(_) => Some(param(&mut g, cx, 2, &x.ty.shape, axis, block)?),
        None => None,
    };
    let y = match int_range(to) {
        Some((lo, hi)) => {
            let r = g.add(Unary { f: UnaryFn::Round }, vec![q]);
            let r = match zp {
                Some(z) => g.bin(BinKind::Add, r, z),
                None => r,
            };
            let r = g.bin(BinKind::Max, r, f32_scalar(lo));
            let r = g.bin(BinKind::Min, r, f32_scalar(hi));
            g.cast(r, DType::F32, to)
        }
        None if to.format_only() => {
            let r = match zp {
                Some(z) => g.bin(BinKind::Add, q, z),
                None => q,
            };
            let saturate = cx.int("saturate", 1)? != 0;
            g.add(Cast { to, saturate }, vec![r])
        }
        None => unsupported!("quantising to {to}"),
    };
    if g.nodes.is_empty() {
        invalid!("QuantizeLinear produced no nodes");
    }
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}

/// DequantizeLinear as float ops; the result has the scale's type (or `output_dtype`).
pub fn dequantize(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(s)) = (cx.input(0), cx.input(1)) else { invalid!("inputs 0 and 1 are required") };
    if int_range(x.ty.dtype).is_none() && !x.ty.dtype.format_only() {
        unsupported!("dequantising {} tensors", x.ty.dtype);
    }
    let out = match cx.int("output_dtype", 0)? {
        0 => s.ty.dtype,
        code => crate::front::tensor::dtype_of(code as i32)
            .map_err(|t| super::OpError::Unsupported(format!("output type {t}")))?,
    };
    if !(out == DType::F32 || out.is_half()) {
        unsupported!("dequantising to {out}");
    }
    let (axis, block) = axis_and_block(cx, x.ty.rank())?;
    let mut g = Sub::default();
    let mut xf = g.add(Cast { to: DType::F32, saturate: true }, vec![Src::In(0)]);
    if cx.input(2).is_some() {
        let z = param(&mut g, cx, 2, &x.ty.shape, axis, block)?;
        xf = g.bin(BinKind::Sub, xf, z);
    }
    let scale = param(&mut g, cx, 1, &x.ty.shape, axis, block)?;
    let y = g.bin(BinKind::Mul, xf, scale);
    let y = g.cast(y, DType::F32, out);
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}

/// DynamicQuantizeLinear: u8 with `scale = (max(x, 0) − min(x, 0)) / 255` and
/// `zero_point = saturate(round(−min(x, 0) / scale))`; outputs y, scale, zero point.
pub fn import_dynamic_quantize(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    if x.ty.dtype != DType::F32 {
        unsupported!("DynamicQuantizeLinear of {} tensors", x.ty.dtype);
    }
    let axes: Vec<usize> = (0..x.ty.rank()).collect();
    let mut g = Sub::default();
    let hi = g.add(Reduce { op: ReduceOp::Max, axes: axes.clone(), keepdims: false }, vec![Src::In(0)]);
    let lo = g.add(Reduce { op: ReduceOp::Min, axes, keepdims: false }, vec![Src::In(0)]);
    let hi = g.bin(BinKind::Max, hi, f32_scalar(0.0));
    let lo = g.bin(BinKind::Min, lo, f32_scalar(0.0));
    let range = g.bin(BinKind::Sub, hi, lo.clone());
    let scale = g.bin(BinKind::Div, range, f32_scalar(255.0));
    let neg = g.bin(BinKind::Sub, f32_scalar(0.0), lo);
    let z = g.bin(BinKind::Div, neg, scale.clone());
    let z = g.add(Unary { f: UnaryFn::Round }, vec![z]);
    let z = g.bin(BinKind::Max, z, f32_scalar(0.0));
    let z = g.bin(BinKind::Min, z, f32_scalar(255.0));
    let q = g.bin(BinKind::Div, Src::In(0), scale.clone());
    let q = g.add(Unary { f: UnaryFn::Round }, vec![q]);
    let q = g.bin(BinKind::Add, q, z.clone());
    let q = g.bin(BinKind::Max, q, f32_scalar(0.0));
    let q = g.bin(BinKind::Min, q, f32_scalar(255.0));
    let y = g.add(Cast { to: DType::U8, saturate: true }, vec![q]);
    let zp = g.add(Cast { to: DType::U8, saturate: true }, vec![z]);
    Ok(Lowered::Graph(g.nodes, vec![Some(y), Some(scale), Some(zp)]))
}

/// True when every listed input is a constant and every listed scale is f32: the
/// form the QOperator importers turn into integer kernels.
pub fn qparams_constant(cx: &NodeCx, slots: &[usize], scales: &[usize]) -> bool {
    slots.iter().all(|&i| cx.input(i).is_none_or(|a| a.value.is_some()))
        && scales.iter().all(|&i| cx.input(i).is_none_or(|a| a.ty.dtype == DType::F32))
}

/// `(x − zero_point) · scale` of ONNX slots (x, scale, zero point), in f32.
fn dq_float(g: &mut Sub, cx: &NodeCx, slots: [usize; 3], axis: usize) -> OpResult<Src> {
    let Some(x) = cx.input(slots[0]) else { invalid!("input {} is required", slots[0]) };
    let shape = x.ty.shape.clone();
    let mut xf = g.add(Cast { to: DType::F32, saturate: true }, vec![Src::In(slots[0])]);
    if cx.input(slots[2]).is_some() {
        let z = param(g, cx, slots[2], &shape, axis, 0)?;
        xf = g.bin(BinKind::Sub, xf, z);
    }
    let s = param(g, cx, slots[1], &shape, axis, 0)?;
    Ok(g.bin(BinKind::Mul, xf, s))
}

/// `saturate(round(y / scale) + zero_point)` with per-tensor ONNX slots (scale, zero point).
fn q_float(g: &mut Sub, cx: &NodeCx, y: Src, slots: [usize; 2], to: DType) -> OpResult<Src> {
    let Some((lo, hi)) = int_range(to) else { unsupported!("quantising to {to}") };
    let s = param(g, cx, slots[0], &[], 0, 0)?;
    let q = g.bin(BinKind::Div, y, s);
    let mut r = g.add(Unary { f: UnaryFn::Round }, vec![q]);
    if cx.input(slots[1]).is_some() {
        let z = param(g, cx, slots[1], &[], 0, 0)?;
        r = g.bin(BinKind::Add, r, z);
    }
    let r = g.bin(BinKind::Max, r, f32_scalar(lo));
    let r = g.bin(BinKind::Min, r, f32_scalar(hi));
    Ok(g.cast(r, DType::F32, to))
}

/// QLinearMatMul (a, as, az, b, bs, bz, ys, yz) or QLinearConv (x, xs, xz, w, ws, wz,
/// ys, yz, B?) with scales or zero points computed at run time or half-float scales:
/// dequantised, computed in f32 and quantised by float ops.
pub fn qlinear(cx: &NodeCx, op: Op, to: DType) -> OpResult<Lowered> {
    let conv = matches!(op, Op::Conv(_));
    let b_axis = if conv { 0 } else { cx.input(3).map_or(1, |b| b.ty.rank().saturating_sub(1)) };
    let mut g = Sub::default();
    let a = dq_float(&mut g, cx, [0, 1, 2], 1)?;
    let b = dq_float(&mut g, cx, [3, 4, 5], b_axis)?;
    let mut inputs = vec![a, b];
    if conv && cx.input(8).is_some() {
        // The i32 bias at scale xs · ws[c].
        let bias = g.add(Cast { to: DType::F32, saturate: true }, vec![Src::In(8)]);
        let Some(n) = cx.input(8).map(|b| b.ty.shape.clone()) else { invalid!("bias") };
        let xs = param(&mut g, cx, 1, &[], 0, 0)?;
        let ws = param(&mut g, cx, 4, &n, 0, 0)?;
        let s = g.bin(BinKind::Mul, xs, ws);
        inputs.push(g.bin(BinKind::Mul, bias, s));
    }
    let y = g.add(op, inputs);
    let y = q_float(&mut g, cx, y, [6, 7], to)?;
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}
