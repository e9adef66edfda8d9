//! Shape arithmetic that folds at compile time — Shape, Size, ConstantOfShape, Range —
//! and Cast/CastLike, which fold on constants and otherwise run as a conversion kernel.

use super::util::{data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::front::tensor::dtype_of;
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{ExpRound, FormatCast};

/// The shape of the input as a 1-D i64 tensor (optionally a range of its axes).
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeOf {
    /// First axis.
    pub start: usize,
    /// One past the last axis.
    pub end: usize,
}

impl OpDef for ShapeOf {
    fn name(&self) -> &'static str {
        "shape"
    }
    fn infer(&self, _: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        Ok(vec![TensorType::new(DType::I64, vec![self.end - self.start])])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let s = &req(inputs, 0)?.ty.shape;
        Ok(vec![Tensor::i64_vec(s[self.start..self.end].iter().map(|&d| d as i64).collect())])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        unsupported!("shape should have folded to a constant")
    }
    fn folds_from_types(&self) -> bool {
        true
    }
}

/// Shape (opset 15 adds start/end).
pub fn import_shape(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let r = x.ty.rank() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(cx.int("start", 0)?);
    let end = clamp(cx.int("end", r)?).max(start);
    Ok(Lowered::op(ShapeOf { start, end }, 1))
}

/// Element type conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    /// Target type.
    pub to: DType,
    /// Clamp overflow to the largest finite value (8-bit float targets; ONNX
    /// `saturate`, default 1).
    pub saturate: bool,
}

impl OpDef for Cast {
    fn name(&self) -> &'static str {
        "cast"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        if self.saturate || !self.to.is_small_float() {
            vec![("to", self.to.to_string())]
        } else {
            vec![("to", self.to.to_string()), ("saturate", "0".into())]
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        Ok(vec![TensorType::new(self.to, req(inputs, 0)?.ty.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        Ok(vec![Tensor { shape: x.shape.clone(), data: x.data.cast_saturating(self.to, self.saturate) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?;
        let kernel = match (x.ty.dtype, self.to) {
            (from, to) if from.format_only() || to.format_only() => self.small(from, to)?,
            (from, to)
                if (from.is_half() && (to.is_half() || to == DType::Bool)) || (from == DType::Bool && to.is_half()) =>
            {
                unsupported!("Cast from {from} to {to} on a tensor computed at run time")
            }
            (from, DType::Bool) => Kernel::CastToBool { from },
            (DType::Bool, to) => Kernel::CastFromBool { to },
            (from, to) if from.is_half() => Kernel::CastFromHalf { bf16: from == DType::BF16, to },
            (from, to) if to.is_half() => Kernel::CastToHalf { bf16: to == DType::BF16, from },
            (from, to) => Kernel::Cast { from, to },
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

impl Cast {
    /// The kernel of a Cast from or to a small format: `cast_format` between formats,
    /// or (from a 4-/2-bit integer, held as its value in a byte) the ordinary cast from
    /// that byte.
    fn small(&self, from: DType, to: DType) -> OpResult<Kernel> {
        if let (Some(f), Some(t)) = (from.format(), to.format()) {
            // E8M0 rounds up, ONNX's default `round_mode` (the importer refuses others).
            let p = FormatCast { from: f, to: t, saturate: self.saturate, round: ExpRound::Up };
            return Ok(Kernel::CastFormat { x: from, y: to, p });
        }
        let byte = match from {
            DType::I4 | DType::I2 => DType::I8,
            DType::U4 | DType::U2 => DType::U8,
            _ => unsupported!("Cast from {from} to {to} on a tensor computed at run time"),
        };
        Ok(match to {
            DType::Bool => Kernel::CastToBool { from: byte },
            t if t.format_only() => unsupported!("Cast from {from} to {to} on a tensor computed at run time"),
            to => Kernel::Cast { from: byte, to },
        })
    }
}

/// Cast (a cast to the same type is dropped).
pub fn import_cast(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let to = dtype_of(cx.int("to", 0)? as i32).map_err(|t| super::OpError::Unsupported(format!("Cast to {t}")))?;
    if to == x.ty.dtype {
        return Ok(Lowered::Forward(0));
    }
    round_mode(cx, to)?;
    Ok(Lowered::op(Cast { to, saturate: cx.int("saturate", 1)? != 0 }, 1))
}

/// Checks Cast's `round_mode` (opset 25; it applies to E8M0 targets only): `up`, the
/// default, is what the runtime's conversion does; `down` and `nearest` are refused.
fn round_mode(cx: &NodeCx, to: DType) -> OpResult<()> {
    let mode = cx.string("round_mode", "up")?;
    match mode.as_str() {
        "up" => Ok(()),
        "down" | "nearest" if to != DType::F8E8M0 => Ok(()),
        "down" | "nearest" => unsupported!("Cast to f8e8m0 with round_mode `{mode}` (only `up`, the default)"),
        other => invalid!("unknown round_mode `{other}` (up, down or nearest)"),
    }
}

/// CastLike: a Cast to the element type of the second input.
pub fn import_cast_like(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(like)) = (cx.input(0), cx.input(1)) else { invalid!("inputs 0 and 1 are required") };
    if like.ty.dtype == x.ty.dtype {
        return Ok(Lowered::Forward(0));
    }
    round_mode(cx, like.ty.dtype)?;
    Ok(Lowered::op(Cast { to: like.ty.dtype, saturate: cx.int("saturate", 1)? != 0 }, 1))
}

/// Size: the element count, a constant (shapes are static).
pub fn import_size(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    Ok(Lowered::Const(Tensor::scalar(Data::I64(vec![x.ty.numel() as i64]))))
}

/// A tensor of a given (constant) shape filled with one value.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstantOfShape {
    /// The fill value (one element).
    pub value: Tensor,
}

impl OpDef for ConstantOfShape {
    fn name(&self) -> &'static str {
        "constant_of_shape"
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let Some(s) = req(inputs, 0)?.value else { unsupported!("ConstantOfShape of a run-time shape") };
        let dims = s.data.to_i64_vec();
        if dims.iter().any(|&d| d < 0) {
            invalid!("negative dimension in {dims:?}");
        }
        Ok(vec![TensorType::new(self.value.dtype(), dims.into_iter().map(|d| d as usize).collect())])
    }
    fn eval(&self, _: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let n = out[0].numel();
        let data = self.value.data.gather(std::iter::repeat_n(0, n));
        Ok(vec![Tensor { shape: out[0].shape.clone(), data }])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        unsupported!("constant_of_shape should have folded to a constant")
    }
}

/// ConstantOfShape.
pub fn import_constant_of_shape(cx: &NodeCx) -> OpResult<Lowered> {
    let value = match cx.tensor("value")? {
        Some(t) if t.numel() == 1 => t,
        Some(t) => invalid!("value must have one element, has {}", t.numel()),
        None => Tensor::scalar(Data::F32(vec![0.0])),
    };
    Ok(Lowered::op(ConstantOfShape { value }, 1))
}

/// `start, start + delta, …` up to `limit` (constant operands).
#[derive(Debug, Clone, PartialEq)]
pub struct Range;

impl Range {
    fn count(inputs: &[Option<Arg>]) -> OpResult<(f64, f64, usize)> {
        let get = |i: usize| -> OpResult<f64> {
            match req(inputs, i)?.value {
                Some(t) if t.numel() == 1 => Ok(t.data.get_f64(0)),
                _ => unsupported!("Range with a run-time or non-scalar operand {i}"),
            }
        };
        let (start, limit, delta) = (get(0)?, get(1)?, get(2)?);
        if delta == 0.0 {
            invalid!("delta is 0");
        }
        Ok((start, delta, ((limit - start) / delta).ceil().max(0.0) as usize))
    }
}

impl OpDef for Range {
    fn name(&self) -> &'static str {
        "range"
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (_, _, n) = Self::count(inputs)?;
        Ok(vec![TensorType::new(req(inputs, 0)?.ty.dtype, vec![n])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (start, delta, n) = Self::count(inputs)?;
        let v: Vec<f64> = (0..n).map(|i| start + i as f64 * delta).collect();
        let data = match out[0].dtype {
            DType::F32 => Data::F32(v.iter().map(|&x| x as f32).collect()),
            d if d.is_float() => Data::F64(v).cast(d),
            d => Data::I64(v.iter().map(|&x| x as i64).collect()).cast(d),
        };
        Ok(vec![Tensor { shape: vec![n], data }])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        unsupported!("range should have folded to a constant")
    }
}

/// Range.
pub fn import_range(_: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(Range, 3))
}

/// Constant: a tensor attribute (or one of the scalar/list forms of opset 12).
pub fn import_constant(cx: &NodeCx) -> OpResult<Lowered> {
    if let Some(t) = cx.tensor("value")? {
        return Ok(Lowered::Const(t));
    }
    if cx.has("value_float") {
        return Ok(Lowered::Const(Tensor::scalar(Data::F32(vec![cx.float("value_float", 0.0)?]))));
    }
    if cx.has("value_int") {
        return Ok(Lowered::Const(Tensor::scalar(Data::I64(vec![cx.int("value_int", 0)?]))));
    }
    if let Some(v) = cx.floats("value_floats")? {
        return Ok(Lowered::Const(Tensor::f32(vec![v.len()], v)));
    }
    if let Some(v) = cx.ints("value_ints")? {
        return Ok(Lowered::Const(Tensor::i64_vec(v)));
    }
    if cx.has("sparse_value") || cx.has("value_string") || cx.has("value_strings") {
        unsupported!("sparse and string constants");
    }
    invalid!("Constant has no value attribute")
}
