//! QuantizeLinear and DequantizeLinear: affine conversion between float and 8-bit
//! integers, per tensor or per axis. On constants (int8 weights of hybrid models) they
//! fold at compile time.

use super::layout::Transpose;
use super::util::{axis, data, list, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Quant, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Axis;

/// Which scale/zero point applies to element `i` of `shape` for a parameter vector of
/// length `n` along `axis`.
fn param_index(shape: &[usize], axis: Option<usize>, n: usize) -> impl Fn(usize) -> usize + '_ {
    let inner: usize = axis.map_or(1, |a| shape[a + 1..].iter().product());
    move |i| if n == 1 { 0 } else { (i / inner) % n }
}

/// The scale and zero-point data of a conversion (zero points default to 0).
fn scale_and_zero_point(inputs: &[Option<Arg>]) -> OpResult<(Vec<f32>, Vec<i64>)> {
    let scale = data(inputs, 1)?.data.to_f32_vec();
    let zp = match inputs.get(2) {
        Some(Some(_)) => data(inputs, 2)?.data.to_i64_vec(),
        _ => vec![0; scale.len()],
    };
    Ok((scale, zp))
}

/// Checks scale/zero-point shapes against the input; returns the per-axis axis.
fn check_params(inputs: &[Option<Arg>], axis_attr: usize) -> OpResult<Option<usize>> {
    let x = req(inputs, 0)?.ty;
    let s = req(inputs, 1)?.ty;
    if s.dtype != DType::F32 {
        invalid!("scale must be f32, is {}", s.dtype);
    }
    if let Some(Some(z)) = inputs.get(2) {
        if z.ty.shape != s.shape {
            invalid!("zero point shape {:?} differs from scale shape {:?}", z.ty.shape, s.shape);
        }
    }
    match s.shape.as_slice() {
        [] | [1] => Ok(None),
        [n] => {
            if axis_attr >= x.rank() || x.shape[axis_attr] != *n {
                invalid!("{n} scales do not match axis {axis_attr} of {:?}", x.shape);
            }
            Ok(Some(axis_attr))
        }
        other => unsupported!("blocked quantisation (scale shape {other:?})"),
    }
}

/// The `(axis geometry, scales, zero points)` of a run-time conversion.
fn conversion_params(cx: &LowerCx, axis: usize) -> OpResult<(Axis, Vec<f32>, Vec<i32>)> {
    let x = cx.input(0)?;
    let (Some(scale), zp) = (cx.input(1)?.value, cx.inputs.get(2).and_then(|o| o.as_ref()).map(|o| o.value)) else {
        unsupported!("a quantisation scale computed at run time");
    };
    let zp = match zp {
        None => vec![0; scale.numel()],
        Some(Some(t)) => t.data.to_i64_vec(),
        Some(None) => unsupported!("a zero point computed at run time"),
    };
    let s = &x.ty.shape;
    let p = if scale.numel() == 1 {
        Axis { outer: 1, len: 1, inner: numel(s) }
    } else {
        Axis { outer: numel(&s[..axis]), len: s[axis], inner: numel(&s[axis + 1..]) }
    };
    Ok((p, scale.data.to_f32_vec(), zp.iter().map(|&z| z as i32).collect()))
}

/// `y = (x − zero_point) · scale` (inputs x, scale, zero_point?).
#[derive(Debug, Clone, PartialEq)]
pub struct Dequantize {
    /// The axis per-axis parameters run along.
    pub axis: usize,
}

impl OpDef for Dequantize {
    fn name(&self) -> &'static str {
        "dequantize"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if !matches!(x.dtype, DType::I8 | DType::U8 | DType::I32) {
            invalid!("input must be i8, u8 or i32, is {}", x.dtype);
        }
        check_params(inputs, self.axis)?;
        Ok(vec![TensorType::new(DType::F32, x.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let per_axis = check_params(inputs, self.axis)?;
        let x = data(inputs, 0)?;
        let (scale, zp) = scale_and_zero_point(inputs)?;
        let pi = param_index(&x.shape, per_axis, scale.len());
        let y = (0..x.numel()).map(|i| ((x.data.get_i64(i) - zp[pi(i)]) as f64 * scale[pi(i)] as f64) as f32).collect();
        Ok(vec![Tensor::f32(out[0].shape.clone(), y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (p, scales, zps) = conversion_params(cx, self.axis)?;
        let kernel = match cx.input(0)?.ty.dtype {
            DType::I32 => Kernel::DequantizeI32 { p, scales },
            from => Kernel::Dequantize { from, p, scales, zps },
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
    fn folds_at_import(&self) -> bool {
        false
    }
}

/// `y = saturate(round_half_even(x / scale) + zero_point)` (inputs x, scale,
/// zero_point?); the output type is the zero point's (u8 without one). With a
/// permutation, `y` is that result transposed (a Transpose fused into the
/// quantisation by the `transposes` pass: the quantised tensor in the input's order
/// never exists).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantize {
    /// The axis (of the input) per-axis parameters run along.
    pub axis: usize,
    /// The output type.
    pub to: DType,
    /// Output axis `i` is input axis `perm[i]`; empty: no transpose.
    pub perm: Vec<usize>,
}

impl Quantize {
    /// The quantisation in the input's order (ONNX QuantizeLinear).
    pub fn new(axis: usize, to: DType) -> Quantize {
        Quantize { axis, to, perm: vec![] }
    }

    /// The fused transpose, if any.
    fn transpose(&self) -> Option<Transpose> {
        (!self.perm.is_empty()).then(|| Transpose { perm: self.perm.clone() })
    }
}

/// Round half to even, then saturate to the range of `to`.
pub fn quantize_value(x: f32, scale: f32, zp: i64, to: DType) -> i64 {
    let q = (x as f64 / scale as f64).round_ties_even();
    let (lo, hi) = match to {
        DType::I8 => (-128.0, 127.0),
        DType::U8 => (0.0, 255.0),
        _ => (i32::MIN as f64, i32::MAX as f64),
    };
    let q = if q.is_nan() { 0.0 } else { q };
    (q + zp as f64).clamp(lo, hi) as i64
}

impl OpDef for Quantize {
    fn name(&self) -> &'static str {
        "quantize"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("axis", self.axis.to_string()), ("to", self.to.to_string())];
        if !self.perm.is_empty() {
            a.push(("perm", list(&self.perm)));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != DType::F32 && x.dtype != DType::I32 {
            invalid!("input must be f32 or i32, is {}", x.dtype);
        }
        let per_axis = check_params(inputs, self.axis)?;
        // Constant per-tensor parameters become part of the result's type.
        let quant = match (per_axis, req(inputs, 1)?.value, inputs.get(2).and_then(|a| a.as_ref()).map(|a| a.value)) {
            (None, Some(s), None) => Some(Quant::per_tensor(s.data.get_f64(0) as f32, 0)),
            (None, Some(s), Some(Some(z))) => {
                Some(Quant::per_tensor(s.data.get_f64(0) as f32, z.data.get_i64(0) as i32))
            }
            _ => None,
        };
        let y = TensorType { dtype: self.to, shape: x.shape.clone(), quant };
        match self.transpose() {
            Some(t) => t.infer(&[Some(Arg { ty: &y, value: None })]),
            None => Ok(vec![y]),
        }
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let per_axis = check_params(inputs, self.axis)?;
        let x = data(inputs, 0)?;
        let (scale, zp) = scale_and_zero_point(inputs)?;
        let pi = param_index(&x.shape, per_axis, scale.len());
        let v: Vec<i64> = (0..x.numel())
            .map(|i| quantize_value(x.data.get_f64(i) as f32, scale[pi(i)], zp[pi(i)], self.to))
            .collect();
        let y = Tensor { shape: x.shape.clone(), data: Data::I64(v).cast(self.to) };
        match self.transpose() {
            Some(t) => {
                let ty = TensorType::new(self.to, x.shape.clone());
                t.eval(&[Some(Arg { ty: &ty, value: Some(&y) })], out)
            }
            None => Ok(vec![y]),
        }
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        if cx.input(0)?.ty.dtype != DType::F32 {
            unsupported!("QuantizeLinear of an i32 tensor at run time");
        }
        let (p, scales, zps) = conversion_params(cx, self.axis)?;
        let Some(t) = self.transpose() else {
            return Ok(vec![invoke(Kernel::Quantize { to: self.to, p, scales, zps }, [Slot::In(0)], [Slot::Out(0)])]);
        };
        let x = &cx.input(0)?.ty.shape;
        // The parameters' axis, counted in the destination's order.
        let q = match self.perm.iter().position(|&a| a == self.axis) {
            Some(j) if p.len > 1 => {
                let y: Vec<usize> = self.perm.iter().map(|&a| x[a]).collect();
                Axis { outer: numel(&y[..j]), len: y[j], inner: numel(&y[j + 1..]) }
            }
            _ => Axis { outer: 1, len: 1, inner: numel(x) },
        };
        let kernel = Kernel::QuantizeStrided { to: self.to, p: t.copy(x).params()?, q, scales, zps };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

fn axis_attr(cx: &NodeCx) -> OpResult<usize> {
    let rank = cx.input(0).map_or(1, |x| x.ty.rank());
    if cx.has("block_size") && cx.int("block_size", 0)? != 0 {
        unsupported!("blocked quantisation (block_size)");
    }
    // The axis only matters for per-axis parameters, where `check_params` validates
    // it; per-tensor nodes may carry the default axis 1 on rank-1 tensors.
    let a = cx.int("axis", 1)?;
    Ok(axis(a, rank.max(1)).unwrap_or(usize::MAX))
}

/// DequantizeLinear.
pub fn import_dequantize(cx: &NodeCx) -> OpResult<Lowered> {
    if cx.input(0).is_some_and(|x| !super::quant_float::kernel_form(cx, x.ty.dtype)) || cx.int("output_dtype", 0)? != 0
    {
        return super::quant_float::dequantize(cx);
    }
    Ok(Lowered::op(Dequantize { axis: axis_attr(cx)? }, cx.n_inputs().min(3)))
}

/// QuantizeLinear.
pub fn import_quantize(cx: &NodeCx) -> OpResult<Lowered> {
    let to = match cx.input(2) {
        Some(z) => z.ty.dtype,
        None => match cx.int("output_dtype", 0)? {
            0 => DType::U8,
            code => crate::front::tensor::dtype_of(code as i32)
                .map_err(|t| super::OpError::Unsupported(format!("output type {t}")))?,
        },
    };
    if !matches!(to, DType::I8 | DType::U8) || !super::quant_float::kernel_form(cx, to) {
        return super::quant_float::quantize(cx, to);
    }
    if cx.int("saturate", 1)? != 1 {
        unsupported!("saturate = 0");
    }
    Ok(Lowered::op(Quantize::new(axis_attr(cx)?, to), cx.n_inputs().min(3)))
}
