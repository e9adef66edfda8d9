//! Quantised convolution (QLinearConv, fused DQ → Conv → Q, ConvInteger): i8/u8
//! input, i8 weights with their zero point removed, i32 bias, per-channel
//! requantisation, fused clamp; or raw i32 accumulators.

use super::requant::Multiplier;
use super::{out_stage, qout, QParam};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::Act;
use crate::ops::conv::Conv;
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, OpDef, OpResult};

/// Quantised convolution. Inputs: x (i8/u8), w (i8, zero point removed), bias (i32,
/// at scale `x.scale · w_scale[c]`) optional.
#[derive(Debug, Clone, PartialEq)]
pub struct QConv {
    /// Window geometry (its `act` is unused and `NONE`).
    pub geom: Conv,
    /// Input quantisation.
    pub x: QParam,
    /// Weight scales: one, or one per output channel.
    pub w_scales: Vec<f32>,
    /// Output quantisation; `None` for raw i32 accumulators (ConvInteger).
    pub y: Option<QParam>,
    /// Fused real-valued clamp.
    pub act: Act,
}

impl QConv {
    /// Requantisation multiplier per output channel.
    pub fn multipliers(&self, out_c: usize) -> OpResult<Vec<Multiplier>> {
        super::channel_multipliers(self.x.scale, &self.w_scales, self.y.as_ref(), out_c)
    }
}

impl OpDef for QConv {
    fn name(&self) -> &'static str {
        "qconv"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = self.geom.attrs();
        a.push(("x", self.x.text()));
        a.push(("w_scales", super::scales_text(&self.w_scales, "per-channel")));
        a.push(("y", self.y.map_or("i32".into(), |y| y.text())));
        if !self.act.is_none() {
            a.push(("act", self.act.text()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, w) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if x.dtype != self.x.dtype || !matches!(w.dtype, DType::I8 | DType::I16) {
            invalid!("qconv takes {} input and i8/i16 weights, got {} and {}", self.x.dtype, x.dtype, w.dtype);
        }
        let m = w.shape.first().copied().unwrap_or(0);
        if self.w_scales.len() != 1 && self.w_scales.len() != m {
            invalid!("{} weight scales for {m} output channels", self.w_scales.len());
        }
        if let Some(Some(b)) = inputs.get(2) {
            if b.ty.dtype != DType::I32 || b.ty.shape != [m] {
                invalid!("bias must be i32[{m}], is {}", b.ty);
            }
        }
        let shape = self.geom.out_shape(&x.shape, &w.shape)?;
        Ok(vec![match &self.y {
            Some(y) => y.ty(shape),
            None => TensorType::new(DType::I32, shape),
        }])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, w) = (data(inputs, 0)?, data(inputs, 1)?);
        let bias = match inputs.get(2) {
            Some(Some(_)) => data(inputs, 2)?.data.to_i64_vec(),
            _ => vec![],
        };
        let ys = &out[0].shape;
        let mults = self.multipliers(w.shape[0])?;
        let stage = self.y.map(|y| out_stage(&y, &self.act));
        let mut v = Vec::with_capacity(numel(ys));
        self.geom.reference(&x.shape, ys, |oc, taps| {
            let acc = bias.get(oc).copied().unwrap_or(0)
                + taps
                    .iter()
                    .map(|&(xi, wi)| (x.data.get_i64(xi) - self.x.zp as i64) * w.data.get_i64(wi))
                    .sum::<i64>();
            v.push(match stage {
                Some((zp, lo, hi)) => (mults[oc].apply(acc as i32) as i64 + zp as i64).clamp(lo as i64, hi as i64),
                None => acc,
            });
        });
        Ok(vec![Tensor { shape: ys.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        crate::ops::pool::channels_last(self.geom.layout)?;
        let p = self.geom.params(&cx.input(0)?.ty.shape, &cx.output(0)?.shape)?;
        let (x, w, x_zp) = (self.x.dtype, cx.input(1)?.ty.dtype, self.x.zp);
        let reads = [Slot::In(0), Slot::In(1), cx.opt_in(2)];
        let Some(yq) = &self.y else {
            return Ok(vec![invoke(Kernel::Conv2dQ8I32 { x, w, p, x_zp }, reads, [Slot::Out(0)])]);
        };
        let (mults, shifts) = per_channel(&self.multipliers(p.out_c)?);
        let (y, out) = (yq.dtype, qout(yq, &self.act));
        let kernel = if crate::ops::conv::is_depthwise(&p) {
            Kernel::DepthwiseConv2dQ8 { x, w, y, p, x_zp, out, mults, shifts }
        } else {
            Kernel::Conv2dQ8 { x, w, y, p, x_zp, out, mults, shifts }
        };
        Ok(vec![invoke(kernel, reads, [Slot::Scratch(DType::I32), Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(w)) = inputs.get(1) else {
            return 0;
        };
        (outputs[0].numel() as u64) * (numel(&w.shape[1..]) as u64)
    }
}

/// Per-channel multipliers and shifts (one entry when all channels share one).
pub fn per_channel(mults: &[Multiplier]) -> (Vec<i32>, Vec<i32>) {
    let all_same = mults.windows(2).all(|w| w[0] == w[1]);
    let used: &[Multiplier] = if all_same && !mults.is_empty() { &mults[..1] } else { mults };
    (used.iter().map(|m| m.mult).collect(), used.iter().map(|m| m.shift as i32).collect())
}

/// Weights with their zero points removed, in the narrowest type that holds them
/// (i8, else i16): the layout the kernels read.
pub fn shift_weights(w: &Tensor, zps: &[i64], axis: usize) -> OpResult<Tensor> {
    let inner = numel(&w.shape[axis + 1..]);
    let n = w.shape.get(axis).copied().unwrap_or(1);
    let v: Vec<i64> = (0..w.numel())
        .map(|i| w.data.get_i64(i) - if zps.len() == 1 { zps[0] } else { zps[(i / inner) % n] })
        .collect();
    Ok(Tensor { shape: w.shape.clone(), data: narrow_weights(v)? })
}

/// i8 when every value fits, else i16 (uint8 weights with a large zero point).
pub fn narrow_weights(v: Vec<i64>) -> OpResult<Data> {
    if v.iter().all(|x| (-128..=127).contains(x)) {
        Ok(Data::I64(v).cast(DType::I8))
    } else if v.iter().all(|x| (-32768..=32767).contains(x)) {
        Ok(Data::I64(v).cast(DType::I16))
    } else {
        unsupported!("weights minus their zero point leave the i16 range")
    }
}

/// ConvInteger (raw accumulators): x, w, x_zero_point?, w_zero_point? (constant).
pub fn import_conv_integer(cx: &crate::front::node::NodeCx) -> OpResult<crate::front::node::Lowered> {
    use crate::front::node::{Lowered, Src, SubNode};
    let (Some(x), Some(w)) = (cx.input(0), cx.input(1)) else { invalid!("ConvInteger needs x and w") };
    let Some(wt) = w.value else { return conv_integer_in_f32(cx) };
    let x_zp = cx.const_ints(2, "x_zero_point")?.map_or(0, |v| v.first().copied().unwrap_or(0)) as i32;
    let w_zp = cx.const_ints(3, "w_zero_point")?.unwrap_or_else(|| vec![0]);
    if !x.ty.dtype.is_quantised_int() {
        invalid!("ConvInteger input must be i8 or u8, is {}", x.ty.dtype);
    }
    // The geometry check validates the ranks before the weights are touched.
    let geom = crate::ops::conv::attributes(cx, 1)?;
    let ws = shift_weights(wt, &w_zp, 0)?;
    let op = QConv {
        geom,
        x: QParam { dtype: x.ty.dtype, scale: 1.0, zp: x_zp },
        w_scales: vec![1.0],
        y: None,
        act: Act::NONE,
    };
    Ok(Lowered::Nodes(vec![SubNode { op: op.into(), inputs: vec![Some(Src::In(0)), Some(Src::Const(ws)), None] }]))
}

/// The most taps one ConvInteger output may sum in f32 and stay exact: each product
/// of 8-bit values less their zero points is at most 255² in magnitude, and every
/// partial sum of up to 258 of them stays below 2^24, where f32 holds integers exactly.
const EXACT_F32_TAPS: usize = (1 << 24) / (255 * 255);

/// ConvInteger with run-time weights: the operands less their zero points in f32 (zero
/// padding after the shift, as the ONNX definition pads), an f32 convolution, and the
/// result as i32. Exact while one output sums at most [`EXACT_F32_TAPS`] products;
/// larger kernels are refused rather than rounded.
fn conv_integer_in_f32(cx: &crate::front::node::NodeCx) -> OpResult<crate::front::node::Lowered> {
    use super::super::binary::{BinKind, Binary};
    use super::super::layout::Reshape;
    use super::super::shape::Cast;
    use crate::front::node::{Lowered, Src, SubNode};
    let (Some(x), Some(w)) = (cx.input(0), cx.input(1)) else { invalid!("ConvInteger needs x and w") };
    for (name, t) in [("x", x.ty.dtype), ("w", w.ty.dtype)] {
        if !t.is_quantised_int() {
            invalid!("ConvInteger {name} must be i8 or u8, is {t}");
        }
    }
    let geom = crate::ops::conv::attributes(cx, 1)?;
    let taps: usize = w.ty.shape[1..].iter().product();
    if taps > EXACT_F32_TAPS {
        unsupported!(
            "ConvInteger with run-time weights summing {taps} products per output (exact in f32 up to {EXACT_F32_TAPS})"
        );
    }
    let out_c = w.ty.shape[0];
    let rank = w.ty.shape.len();
    let mut nodes: Vec<SubNode> = Vec::new();
    let mut add = |op: crate::ops::Op, inputs: Vec<Src>| {
        nodes.push(SubNode { op, inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(nodes.len() - 1, 0)
    };
    let wide = |add: &mut dyn FnMut(crate::ops::Op, Vec<Src>) -> Src, x: Src| {
        add(Cast { to: DType::F32, saturate: true }.into(), vec![x])
    };
    let operand = |add: &mut dyn FnMut(crate::ops::Op, Vec<Src>) -> Src, i: usize, zp: usize| -> OpResult<Src> {
        let v = wide(add, Src::In(i));
        let Some(n) = cx.input(zp).map(|z| z.ty.numel()) else { return Ok(v) };
        let z = wide(add, Src::In(zp));
        // A per-channel zero point of w ([M]) applies along the output channels.
        let z = if i == 1 && n == out_c && n > 1 {
            let mut shape = vec![1; rank];
            shape[0] = n;
            add(Reshape { shape }.into(), vec![z])
        } else if n == 1 {
            z
        } else {
            unsupported!("ConvInteger zero point of {n} elements for input {i}")
        };
        Ok(add(Binary { kind: BinKind::Sub, act: Act::NONE }.into(), vec![v, z]))
    };
    let xf = operand(&mut add, 0, 2)?;
    let wf = operand(&mut add, 1, 3)?;
    let y = add(geom.into(), vec![xf, wf]);
    let y = add(Cast { to: DType::I32, saturate: true }.into(), vec![y]);
    Ok(Lowered::Graph(nodes, vec![Some(y)]))
}
