//! Pooling: MaxPool and AveragePool (1-D/2-D windows with pads, strides, dilations,
//! ceil mode), GlobalAveragePool and GlobalMaxPool.

use super::conv::{window_attrs, window_out};
use super::util::{expect_dtype, f32s, list, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Layout, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Axis, Pool2d};

/// Maximum or mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Maximum.
    Max,
    /// Mean.
    Avg,
}

/// A sliding-window pool over `N,C,spatial…` (or channels-last).
#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    /// Max or average.
    pub kind: PoolKind,
    /// Window extent per spatial axis.
    pub kernel: Vec<usize>,
    /// Strides.
    pub strides: Vec<usize>,
    /// Dilations.
    pub dilations: Vec<usize>,
    /// Begins then ends.
    pub pads: Vec<usize>,
    /// Output extents round up.
    pub ceil_mode: bool,
    /// Average divides by the padded window size.
    pub count_include_pad: bool,
    /// Where channels sit in the input and output.
    pub layout: Layout,
}

impl Pool {
    /// The output shape for an input shape (both in the op's layout).
    pub fn out_shape(&self, x: &[usize]) -> OpResult<Vec<usize>> {
        let r = self.kernel.len();
        if x.len() != r + 2 {
            invalid!("input rank {} does not fit a {r}-D window", x.len());
        }
        let x = &self.layout.to_nchw(x)[..];
        let mut out = vec![x[0], x[1]];
        for i in 0..r {
            let (k, s, d, pb, pe) =
                (self.kernel[i], self.strides[i], self.dilations[i], self.pads[i], self.pads[i + r]);
            let mut o = window_out(x[i + 2], k, s, d, pb, pe, self.ceil_mode).ok_or_else(|| {
                super::OpError::Invalid(format!("window larger than padded input on spatial axis {i}"))
            })?;
            // A window may not start in the end padding.
            if self.ceil_mode && (o - 1) * s >= x[i + 2] + pb {
                o -= 1;
            }
            out.push(o);
        }
        Ok(self.layout.from_nchw(&out))
    }

    /// The runtime's 2-D window (1-D pools as height 1); wider pools are unsupported.
    pub fn params(&self, x: &[usize], y: &[usize]) -> OpResult<Pool2d> {
        if self.kernel.len() > 2 {
            unsupported!("{}-D pooling", self.kernel.len());
        }
        let [batch, channels, in_h, in_w, out_h, out_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right] =
            self.geometry(x, y);
        Ok(Pool2d {
            batch,
            channels,
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            stride_h,
            stride_w,
            dil_h,
            dil_w,
            pad_top,
            pad_left,
            pad_bottom,
            pad_right,
            count_include_pad: self.count_include_pad,
        })
    }

    /// The 2-D geometry (1-D pools as height 1) of shapes in the op's layout:
    /// batch, channels, input and output extents, window, strides, dilations, pads.
    pub fn geometry(&self, x: &[usize], y: &[usize]) -> [usize; 16] {
        let (x, y) = (&self.layout.to_nchw(x)[..], &self.layout.to_nchw(y)[..]);
        let two = self.kernel.len() == 2;
        let pick = |v: &[usize], i: usize| {
            if two {
                v[i]
            } else if i == 0 {
                1
            } else {
                v[0]
            }
        };
        let r = self.kernel.len();
        [
            x[0],
            x[1],
            if two { x[2] } else { 1 },
            x[r + 1],
            if two { y[2] } else { 1 },
            y[r + 1],
            pick(&self.kernel, 0),
            pick(&self.kernel, 1),
            pick(&self.strides, 0),
            pick(&self.strides, 1),
            pick(&self.dilations, 0),
            pick(&self.dilations, 1),
            if two { self.pads[0] } else { 0 },
            if two { self.pads[1] } else { self.pads[0] },
            if two { self.pads[2] } else { 0 },
            if two { self.pads[3] } else { self.pads[1] },
        ]
    }
}

impl Pool {
    /// The definition of pooling, for reference evaluators: calls `out(taps, divisor)`
    /// for every output element in row-major order of the op's layout, with the input
    /// indices inside the window and the averaging divisor (real elements, or with
    /// `count_include_pad` also padding, never positions past it). Float and integer
    /// pooling share it.
    pub fn reference(&self, xs: &[usize], ys: &[usize], mut out: impl FnMut(&[usize], usize)) {
        let [n, c, ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr] = self.geometry(xs, ys);
        let last = self.layout == Layout::ChannelsLast;
        let xi = |b: usize, ch: usize, y: usize, x: usize| {
            if last {
                ((b * ih + y) * iw + x) * c + ch
            } else {
                ((b * c + ch) * ih + y) * iw + x
            }
        };
        let mut taps = Vec::with_capacity(kh * kw);
        let mut element = |b: usize, ch: usize, oy: usize, ox: usize| {
            taps.clear();
            let mut padded = 0;
            for ky in 0..kh {
                for kx in 0..kw {
                    let yy = (oy * sh + ky * dh) as isize - pt as isize;
                    let xx = (ox * sw + kx * dw) as isize - pl as isize;
                    if yy >= (ih + pb) as isize || xx >= (iw + pr) as isize {
                        continue;
                    }
                    padded += 1;
                    if yy >= 0 && xx >= 0 && yy < ih as isize && xx < iw as isize {
                        taps.push(xi(b, ch, yy as usize, xx as usize));
                    }
                }
            }
            out(&taps, if self.count_include_pad { padded } else { taps.len() });
        };
        for b in 0..n {
            if last {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            element(b, ch, oy, ox);
                        }
                    }
                }
            } else {
                for ch in 0..c {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            element(b, ch, oy, ox);
                        }
                    }
                }
            }
        }
    }
}

impl OpDef for Pool {
    fn name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "max_pool",
            PoolKind::Avg => "avg_pool",
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![
            ("kernel", list(&self.kernel)),
            ("strides", list(&self.strides)),
            ("dilations", list(&self.dilations)),
            ("pads", list(&self.pads)),
        ];
        if self.ceil_mode {
            a.push(("ceil", "true".into()));
        }
        if self.kind == PoolKind::Avg && self.count_include_pad {
            a.push(("count_include_pad", "true".into()));
        }
        if self.layout != Layout::ChannelsFirst {
            a.push(("layout", self.layout.to_string()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        // Max pooling also runs on 8-bit values (ONNX allows it from opset 12).
        if !(self.kind == PoolKind::Max && x.dtype.is_quantised_int()) {
            expect_dtype(inputs, 0, DType::F32)?;
        }
        Ok(vec![crate::ops::util::reshaped(x, self.out_shape(&x.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let xt = super::util::data(inputs, 0)?;
        let x: Vec<f32> = xt.data.to_f32_vec();
        let ys = &out[0].shape;
        let mut y = Vec::with_capacity(numel(ys));
        self.reference(&req(inputs, 0)?.ty.shape, ys, |taps, divisor| {
            y.push(match self.kind {
                PoolKind::Max => {
                    taps.iter().map(|&i| x[i]).fold(f32::NEG_INFINITY, |m, v| if v > m || v.is_nan() { v } else { m })
                }
                PoolKind::Avg if divisor == 0 => 0.0,
                PoolKind::Avg => (taps.iter().map(|&i| x[i] as f64).sum::<f64>() / divisor as f64) as f32,
            });
        });
        Ok(vec![Tensor { shape: ys.clone(), data: crate::ir::Data::F32(y).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        channels_last(self.layout)?;
        let p = self.params(&x.shape, &cx.output(0)?.shape)?;
        let kernel = match (self.kind, x.dtype) {
            (PoolKind::Max, DType::F32) => Kernel::MaxPool2dF32 { p },
            (PoolKind::Max, t) => Kernel::MaxPool2dQ8 { t, p },
            (PoolKind::Avg, _) => Kernel::AvgPool2dF32 { p },
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Mean or maximum over all spatial positions of each channel.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalPool {
    /// Max or average.
    pub kind: PoolKind,
    /// Where channels sit in the input and output.
    pub layout: Layout,
}

/// The reduction a global pool is, for an input shape in `layout`: the spatial axes
/// (merged) as the middle axis of `outer × len × inner`.
pub fn global_axis(layout: Layout, x: &[usize]) -> Axis {
    match layout {
        Layout::ChannelsFirst => Axis { outer: numel(&x[..2]), len: numel(&x[2..]), inner: 1 },
        Layout::ChannelsLast => {
            let r = x.len();
            Axis { outer: x[0], len: numel(&x[1..r - 1]), inner: x[r - 1] }
        }
    }
}

/// The output shape of a global pool: the spatial axes become 1.
pub fn global_shape(layout: Layout, x: &[usize]) -> Vec<usize> {
    let c = layout.channel_axis(x.len());
    x.iter().enumerate().map(|(i, &d)| if i == 0 || i == c { d } else { 1 }).collect()
}

/// Fails unless a spatial op is channels-last (the `channels-last` pass converts
/// every one; the runtime's spatial kernels are channels-last only).
pub fn channels_last(layout: Layout) -> OpResult<()> {
    if layout != Layout::ChannelsLast {
        unsupported!("a channels-first spatial op reached lowering; the channels-last pass should have converted it");
    }
    Ok(())
}

impl OpDef for GlobalPool {
    fn name(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "global_max_pool",
            PoolKind::Avg => "global_avg_pool",
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        let x = &req(inputs, 0)?.ty.shape;
        if x.len() < 3 {
            invalid!("input rank {} (need N, C and spatial axes)", x.len());
        }
        Ok(vec![TensorType::new(DType::F32, global_shape(self.layout, x))])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = f32s(inputs, 0)?;
        let a = global_axis(self.layout, &req(inputs, 0)?.ty.shape);
        let mut y = Vec::with_capacity(a.outer * a.inner);
        for o in 0..a.outer {
            for i in 0..a.inner {
                let along = (0..a.len).map(|j| x[(o * a.len + j) * a.inner + i]);
                y.push(match self.kind {
                    PoolKind::Avg => (along.map(|v| v as f64).sum::<f64>() / a.len as f64) as f32,
                    PoolKind::Max => along.fold(f32::NEG_INFINITY, f32::max),
                });
            }
        }
        Ok(vec![Tensor::f32(out[0].shape.clone(), y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = global_axis(self.layout, &cx.input(0)?.ty.shape);
        let kernel = match self.kind {
            PoolKind::Max => Kernel::MaxAxisF32 { p },
            PoolKind::Avg => Kernel::MeanAxisF32 { p },
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        if self.layout != Layout::ChannelsFirst {
            vec![("layout", self.layout.to_string())]
        } else {
            vec![]
        }
    }
}

/// MaxPool and AveragePool.
pub fn import_pool(cx: &NodeCx) -> OpResult<Lowered> {
    let kind = if cx.node.op_type == "MaxPool" { PoolKind::Max } else { PoolKind::Avg };
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    if x.ty.rank() < 3 {
        invalid!("input rank {} (need N, C and spatial axes)", x.ty.rank());
    }
    let Some(k) = cx.ints("kernel_shape")? else { invalid!("kernel_shape is required") };
    let kernel: Vec<usize> = k.iter().map(|&v| v.max(0) as usize).collect();
    if kernel.len() != x.ty.rank() - 2 || kernel.contains(&0) {
        invalid!("kernel_shape {k:?} does not fit input rank {}", x.ty.rank());
    }
    if kernel.len() > 3 {
        unsupported!("{}-D pooling (1-D, 2-D and 3-D are supported)", kernel.len());
    }
    let indices = kind == PoolKind::Max && cx.node.output.get(1).is_some_and(|o| !o.is_empty());
    // storage_order only changes how Indices count; the values are the same.
    let column_major = cx.int("storage_order", 0)? != 0;
    let (strides, dilations, pads) = window_attrs(cx, &x.ty.shape[2..], kernel.clone())?;
    let three = kernel.len() == 3;
    let pool = Pool {
        kind,
        kernel,
        strides,
        dilations,
        pads,
        ceil_mode: cx.int("ceil_mode", 0)? != 0,
        count_include_pad: cx.int("count_include_pad", 0)? != 0,
        layout: Layout::ChannelsFirst,
    };
    if indices {
        if x.ty.dtype != DType::F32 {
            unsupported!("the MaxPool Indices output of {} tensors", x.ty.dtype);
        }
        return super::compose_spatial::max_pool_with_indices(pool, &x.ty.shape, column_major);
    }
    if three {
        return super::compose_spatial::pool_3d(pool, &x.ty.shape);
    }
    Ok(Lowered::op(pool, 1))
}

/// GlobalAveragePool and GlobalMaxPool.
pub fn import_global(cx: &NodeCx) -> OpResult<Lowered> {
    let kind = if cx.node.op_type == "GlobalMaxPool" { PoolKind::Max } else { PoolKind::Avg };
    Ok(Lowered::op(GlobalPool { kind, layout: Layout::ChannelsFirst }, 1))
}
