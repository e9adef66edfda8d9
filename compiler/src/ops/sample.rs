//! Ops that read their input at fractional positions by bilinear interpolation, each
//! one runtime kernel: DeformConv (a convolution whose taps move by per-pixel offsets)
//! and RoiAlign (bilinear pooling over boxes). f32, channels-first; the runtime's
//! portable kernels (`deform_conv_f32`, `roi_align_f32`) are also the reference
//! evaluators.

use super::conv::{attributes, Conv};
use super::util::{expect_dtype, f32s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::portable as k;
use tinyops_runtime::kernels::{DeformConv as DeformParams, RoiAlign as RoiParams};

/// Deformable 2-D convolution: x, w, offset, bias?, mask?.
#[derive(Debug, Clone, PartialEq)]
pub struct DeformConv {
    /// Window geometry and channel groups (its `act` is unused and `NONE`).
    pub geom: Conv,
    /// Groups of input channels sharing one set of offsets.
    pub offset_groups: usize,
}

impl DeformConv {
    fn params(&self, x: &[usize], y: &[usize]) -> OpResult<DeformParams> {
        Ok(DeformParams { conv: self.geom.params(x, y)?, offset_groups: self.offset_groups })
    }
}

impl OpDef for DeformConv {
    fn name(&self) -> &'static str {
        "deform_conv"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = self.geom.attrs();
        a.push(("offset_groups", self.offset_groups.to_string()));
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        for i in 0..5 {
            if let Some(Some(_)) = inputs.get(i) {
                expect_dtype(inputs, i, DType::F32)?;
            }
        }
        let (x, w, off) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty, req(inputs, 2)?.ty);
        let y = self.geom.out_shape(&x.shape, &w.shape)?;
        let taps: usize = self.geom.kernel.iter().product();
        let og = self.offset_groups;
        if og == 0 || !x.shape[1].is_multiple_of(og) {
            invalid!("offset_group {og} does not divide {} input channels", x.shape[1]);
        }
        let want = [y[0], og * taps * 2, y[2], y[3]];
        if off.shape != want {
            invalid!("offset {:?} must be {want:?}", off.shape);
        }
        if let Some(Some(b)) = inputs.get(3) {
            if b.ty.shape != [w.shape[0]] {
                invalid!("bias shape {:?} must be [{}]", b.ty.shape, w.shape[0]);
            }
        }
        if let Some(Some(m)) = inputs.get(4) {
            let want = [y[0], og * taps, y[2], y[3]];
            if m.ty.shape != want {
                invalid!("mask {:?} must be {want:?}", m.ty.shape);
            }
        }
        Ok(vec![TensorType::new(DType::F32, y)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let opt = |i: usize| match inputs.get(i) {
            Some(Some(_)) => f32s(inputs, i),
            _ => Ok(&[][..]),
        };
        let p = self.params(&req(inputs, 0)?.ty.shape, &out[0].shape)?;
        let mut y = vec![0f32; out[0].numel()];
        k::deform_conv_f32(&p, f32s(inputs, 0)?, f32s(inputs, 1)?, f32s(inputs, 2)?, opt(3)?, opt(4)?, &mut y);
        Ok(vec![Tensor::f32(out[0].shape.clone(), y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = self.params(&cx.input(0)?.ty.shape, &cx.output(0)?.shape)?;
        Ok(vec![invoke(
            Kernel::DeformConvF32 { p },
            [Slot::In(0), Slot::In(1), Slot::In(2), cx.opt_in(3), cx.opt_in(4)],
            [Slot::Out(0)],
        )])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(w)) = inputs.get(1) else {
            return 0;
        };
        (outputs[0].numel() * w.shape[1..].iter().product::<usize>()) as u64
    }
}

/// DeformConv (opset 19): 2-D, f32; `group`, `offset_group`, strides, dilations, pads.
pub fn import_deform_conv(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    if x.ty.rank() != 4 {
        unsupported!("{}-D DeformConv (2-D is supported)", x.ty.rank().saturating_sub(2));
    }
    let geom = attributes(cx, 1)?;
    let og = cx.int("offset_group", 1)?;
    if og < 1 {
        invalid!("offset_group must be positive, got {og}");
    }
    Ok(Lowered::op(DeformConv { geom, offset_groups: og as usize }, 5))
}

/// RoiAlign: x, rois, batch_indices → one `out_h × out_w` map per box and channel.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiAlign {
    /// Output height per box.
    pub out_h: usize,
    /// Output width per box.
    pub out_w: usize,
    /// Samples per cell along each axis (0: adaptive).
    pub sampling_ratio: usize,
    /// Box coordinates times this are input coordinates.
    pub spatial_scale: f32,
    /// `half_pixel` coordinates (else `output_half_pixel`).
    pub half_pixel: bool,
    /// Max pooling of the samples (else the mean).
    pub max: bool,
}

impl RoiAlign {
    fn params(&self, x: &[usize], rois: usize) -> RoiParams {
        RoiParams {
            batch: x[0],
            channels: x[1],
            in_h: x[2],
            in_w: x[3],
            rois,
            out_h: self.out_h,
            out_w: self.out_w,
            sampling_ratio: self.sampling_ratio,
            spatial_scale: self.spatial_scale,
            half_pixel: self.half_pixel,
            max: self.max,
        }
    }
}

impl OpDef for RoiAlign {
    fn name(&self) -> &'static str {
        "roi_align"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("output", format!("{}x{}", self.out_h, self.out_w)),
            ("sampling_ratio", self.sampling_ratio.to_string()),
            ("spatial_scale", self.spatial_scale.to_string()),
            ("coordinates", if self.half_pixel { "half_pixel" } else { "output_half_pixel" }.into()),
            ("mode", if self.max { "max" } else { "avg" }.into()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        expect_dtype(inputs, 1, DType::F32)?;
        expect_dtype(inputs, 2, DType::I64)?;
        let (x, rois, idx) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty, req(inputs, 2)?.ty);
        let [_, c, _, _] = x.shape[..] else { invalid!("input {:?} must be N,C,H,W", x.shape) };
        let [r, 4] = rois.shape[..] else { invalid!("rois {:?} must be (boxes, 4)", rois.shape) };
        if idx.shape != [r] {
            invalid!("batch_indices {:?} must be [{r}]", idx.shape);
        }
        Ok(vec![TensorType::new(DType::F32, vec![r, c, self.out_h, self.out_w])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let p = self.params(&req(inputs, 0)?.ty.shape, out[0].shape[0]);
        let idx = super::util::data(inputs, 2)?.data.to_i64_vec();
        let mut y = vec![0f32; out[0].numel()];
        k::roi_align_f32(&p, f32s(inputs, 0)?, f32s(inputs, 1)?, &idx, &mut y);
        Ok(vec![Tensor::f32(out[0].shape.clone(), y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = self.params(&cx.input(0)?.ty.shape, cx.output(0)?.shape[0]);
        Ok(vec![invoke(Kernel::RoiAlignF32 { p }, [Slot::In(0), Slot::In(1), Slot::In(2)], [Slot::Out(0)])])
    }
}

/// RoiAlign (opsets 10, 16, 22): `avg`/`max`, `half_pixel` (opset 16's default) or
/// `output_half_pixel` (opset 10's behaviour) coordinates.
pub fn import_roi_align(cx: &NodeCx) -> OpResult<Lowered> {
    let default_mode = if cx.opset >= 16 { "half_pixel" } else { "output_half_pixel" };
    let half_pixel = match cx.string("coordinate_transformation_mode", default_mode)?.as_str() {
        "half_pixel" => true,
        "output_half_pixel" => false,
        other => invalid!("coordinate_transformation_mode `{other}` (half_pixel or output_half_pixel)"),
    };
    let max = match cx.string("mode", "avg")?.as_str() {
        "avg" => false,
        "max" => true,
        other => invalid!("mode `{other}` (avg or max)"),
    };
    let dim = |name: &str| -> OpResult<usize> {
        match cx.int(name, 1)? {
            v if v >= 1 => Ok(v as usize),
            v => invalid!("{name} must be positive, got {v}"),
        }
    };
    let sampling_ratio = cx.int("sampling_ratio", 0)?;
    if sampling_ratio < 0 {
        invalid!("sampling_ratio must not be negative, got {sampling_ratio}");
    }
    let op = RoiAlign {
        out_h: dim("output_height")?,
        out_w: dim("output_width")?,
        sampling_ratio: sampling_ratio as usize,
        spatial_scale: cx.float("spatial_scale", 1.0)?,
        half_pixel,
        max,
    };
    Ok(Lowered::op(op, 3))
}
