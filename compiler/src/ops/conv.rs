//! Convolution (1-D and 2-D, grouped and depthwise, explicit or automatic padding,
//! strides, dilations) with an optional fused output clamp.

use super::activation::Act;
use super::util::{expect_dtype, f32s, list, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Layout, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Conv2d;

/// Convolution over NC[H]W input with O(C/g)[kH]kW weights and optional bias.
#[derive(Debug, Clone, PartialEq)]
pub struct Conv {
    /// Kernel extent per spatial axis.
    pub kernel: Vec<usize>,
    /// Stride per spatial axis.
    pub strides: Vec<usize>,
    /// Dilation per spatial axis.
    pub dilations: Vec<usize>,
    /// Padding: all begins, then all ends (ONNX order).
    pub pads: Vec<usize>,
    /// Channel groups.
    pub group: usize,
    /// Fused output clamp.
    pub act: Act,
    /// Where channels sit in the input and output (and weights: `O,I,k…` or `O,k…,I`).
    pub layout: Layout,
}

/// Output extent of a sliding window.
pub fn window_out(len: usize, k: usize, s: usize, d: usize, pb: usize, pe: usize, ceil: bool) -> Option<usize> {
    let span = d * (k - 1) + 1;
    let padded = len + pb + pe;
    if padded < span || s == 0 {
        return None;
    }
    let n = padded - span;
    Some(if ceil { n.div_ceil(s) } else { n / s } + 1)
}

/// Resolves `auto_pad` to explicit begin/end pads (ONNX semantics).
pub fn auto_pads(
    mode: &str,
    explicit: Option<Vec<i64>>,
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> OpResult<Vec<usize>> {
    let r = input.len();
    match mode {
        "NOTSET" | "" => {
            let p = explicit.unwrap_or_else(|| vec![0; 2 * r]);
            if p.len() != 2 * r || p.iter().any(|&v| v < 0) {
                invalid!("pads {p:?} must have {} non-negative entries", 2 * r);
            }
            Ok(p.into_iter().map(|v| v as usize).collect())
        }
        "VALID" => Ok(vec![0; 2 * r]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let mut pads = vec![0; 2 * r];
            for i in 0..r {
                let out = input[i].div_ceil(strides[i]);
                let span = dilations[i] * (kernel[i] - 1) + 1;
                let total = ((out - 1) * strides[i] + span).saturating_sub(input[i]);
                let (small, big) = (total / 2, total - total / 2);
                if mode == "SAME_UPPER" {
                    pads[i] = small;
                    pads[i + r] = big;
                } else {
                    pads[i] = big;
                    pads[i + r] = small;
                }
            }
            Ok(pads)
        }
        other => invalid!("unknown auto_pad `{other}`"),
    }
}

/// Reads kernel_shape/strides/dilations/pads/auto_pad for `spatial` axes.
pub fn window_attrs(
    cx: &NodeCx,
    input: &[usize],
    kernel: Vec<usize>,
) -> OpResult<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let r = kernel.len();
    let get = |name: &str| -> OpResult<Vec<usize>> {
        match cx.ints(name)? {
            None => Ok(vec![1; r]),
            Some(v) if v.len() == r && v.iter().all(|&x| x > 0) => Ok(v.into_iter().map(|x| x as usize).collect()),
            Some(v) => invalid!("{name} {v:?} must have {r} positive entries"),
        }
    };
    let strides = get("strides")?;
    let dilations = get("dilations")?;
    let pads = auto_pads(&cx.string("auto_pad", "NOTSET")?, cx.ints("pads")?, input, &kernel, &strides, &dilations)?;
    Ok((strides, dilations, pads))
}

impl Conv {
    /// The output shape for input and weight shapes (all in the op's layout).
    pub fn out_shape(&self, x: &[usize], w: &[usize]) -> OpResult<Vec<usize>> {
        let r = self.kernel.len();
        if x.len() != r + 2 || w.len() != r + 2 {
            invalid!("input rank {} and weight rank {} do not fit a {r}-D convolution", x.len(), w.len());
        }
        let (x, w) = (&self.layout.to_nchw(x)[..], &self.layout.to_nchw(w)[..]);
        if x[1] != w[1] * self.group || !w[0].is_multiple_of(self.group) {
            invalid!(
                "input has {} channels but weights {:?} with group {} expect {}",
                x[1],
                w,
                self.group,
                w[1] * self.group
            );
        }
        if w[2..] != self.kernel[..] {
            invalid!("kernel_shape {:?} does not match weights {:?}", self.kernel, w);
        }
        let mut out = vec![x[0], w[0]];
        for i in 0..r {
            let o = window_out(
                x[i + 2],
                self.kernel[i],
                self.strides[i],
                self.dilations[i],
                self.pads[i],
                self.pads[i + r],
                false,
            )
            .ok_or_else(|| super::OpError::Invalid(format!("kernel larger than padded input on spatial axis {i}")))?;
            out.push(o);
        }
        Ok(self.layout.from_nchw(&out))
    }

    /// The runtime's 2-D geometry for these input and output shapes (1-D
    /// convolutions as height 1); 3-D and wider convolutions are unsupported.
    pub fn params(&self, x: &[usize], y: &[usize]) -> OpResult<Conv2d> {
        if self.kernel.len() > 2 {
            unsupported!("{}-D convolution", self.kernel.len());
        }
        let [batch, in_c, in_h, in_w, out_c, out_h, out_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, groups] =
            self.geometry(x, y);
        Ok(Conv2d {
            batch,
            in_c,
            in_h,
            in_w,
            out_c,
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
            groups,
        })
    }

    /// The 2-D geometry (1-D convolutions as height 1) of input and output shapes in
    /// the op's layout.
    pub fn geometry(&self, x: &[usize], y: &[usize]) -> [usize; 16] {
        let (x, y) = (&self.layout.to_nchw(x)[..], &self.layout.to_nchw(y)[..]);
        let two = self.kernel.len() == 2;
        let g = |v: &[usize], i: usize, one: usize| {
            if two {
                v[i]
            } else if i == 0 {
                one
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
            y[1],
            if two { y[2] } else { 1 },
            y[r + 1],
            g(&self.kernel, 0, 1),
            g(&self.kernel, 1, 1),
            g(&self.strides, 0, 1),
            g(&self.strides, 1, 1),
            g(&self.dilations, 0, 1),
            g(&self.dilations, 1, 1),
            if two { self.pads[0] } else { 0 },
            if two { self.pads[1] } else { self.pads[0] },
            self.group,
        ]
    }
}

impl Conv {
    /// The definition of convolution, for reference evaluators: calls `out(oc, taps)`
    /// for every output element in row-major order of the op's layout, where `taps`
    /// lists the (input index, weight index) pairs that land inside the input (padding
    /// contributes nothing). Float and integer convolution share it.
    pub fn reference(&self, xs: &[usize], ys: &[usize], mut out: impl FnMut(usize, &[(usize, usize)])) {
        let [n, c, ih, iw, m, oh, ow, kh, kw, sh, sw, dh, dw, pt, pl, g] = self.geometry(xs, ys);
        let (cg, mg) = (c / g, m / g);
        let last = self.layout == Layout::ChannelsLast;
        // Physical indices of a logical (batch, channel, row, column) element and of a
        // logical (out channel, in channel of the group, row, column) weight.
        let xi = |b: usize, ic: usize, y: usize, x: usize| {
            if last {
                ((b * ih + y) * iw + x) * c + ic
            } else {
                ((b * c + ic) * ih + y) * iw + x
            }
        };
        let wi = |oc: usize, icg: usize, ky: usize, kx: usize| {
            if last {
                ((oc * kh + ky) * kw + kx) * cg + icg
            } else {
                ((oc * cg + icg) * kh + ky) * kw + kx
            }
        };
        let mut taps = Vec::with_capacity(cg * kh * kw);
        let mut element = |b: usize, oc: usize, oy: usize, ox: usize| {
            taps.clear();
            for icg in 0..cg {
                let ic = (oc / mg) * cg + icg;
                for ky in 0..kh {
                    for kx in 0..kw {
                        let yy = (oy * sh + ky * dh) as isize - pt as isize;
                        let xx = (ox * sw + kx * dw) as isize - pl as isize;
                        if yy < 0 || xx < 0 || yy >= ih as isize || xx >= iw as isize {
                            continue;
                        }
                        taps.push((xi(b, ic, yy as usize, xx as usize), wi(oc, icg, ky, kx)));
                    }
                }
            }
            out(oc, &taps);
        };
        for b in 0..n {
            if last {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for oc in 0..m {
                            element(b, oc, oy, ox);
                        }
                    }
                }
            } else {
                for oc in 0..m {
                    for oy in 0..oh {
                        for ox in 0..ow {
                            element(b, oc, oy, ox);
                        }
                    }
                }
            }
        }
    }
}

impl OpDef for Conv {
    fn name(&self) -> &'static str {
        "conv"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![
            ("kernel", list(&self.kernel)),
            ("strides", list(&self.strides)),
            ("dilations", list(&self.dilations)),
            ("pads", list(&self.pads)),
            ("group", self.group.to_string()),
        ];
        if self.layout != Layout::ChannelsFirst {
            a.push(("layout", self.layout.to_string()));
        }
        if !self.act.is_none() {
            a.push(("act", self.act.text()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        expect_dtype(inputs, 1, DType::F32)?;
        let (x, w) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if let Some(Some(b)) = inputs.get(2) {
            if b.ty.shape != [w.shape[0]] {
                invalid!("bias shape {:?} must be [{}]", b.ty.shape, w.shape[0]);
            }
        }
        Ok(vec![TensorType::new(DType::F32, self.out_shape(&x.shape, &w.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, w) = (f32s(inputs, 0)?, f32s(inputs, 1)?);
        let bias = match inputs.get(2) {
            Some(Some(_)) => Some(f32s(inputs, 2)?),
            _ => None,
        };
        let ys = &out[0].shape;
        let mut y = Vec::with_capacity(numel(ys));
        self.reference(&req(inputs, 0)?.ty.shape, ys, |oc, taps| {
            let acc = bias.map_or(0.0, |bv| bv[oc] as f64)
                + taps.iter().map(|&(xi, wi)| x[xi] as f64 * w[wi] as f64).sum::<f64>();
            y.push(self.act.apply(acc as f32));
        });
        Ok(vec![Tensor::f32(ys.clone(), y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        super::pool::channels_last(self.layout)?;
        let p = self.params(&cx.input(0)?.ty.shape, &cx.output(0)?.shape)?;
        let act = self.act.clamp();
        // The depthwise kernels read filters repacked at compile time, so filters that
        // arrive at run time take the general (grouped) kernel.
        let constant_w = cx.input(1)?.value.is_some();
        let kernel = if is_depthwise(&p) && constant_w {
            Kernel::DepthwiseConv2dF32 { p, act }
        } else {
            Kernel::Conv2dF32 { p, act }
        };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), cx.opt_in(2)], [Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(w)) = inputs.get(1) else {
            return 0;
        };
        (outputs[0].numel() as u64) * (numel(&w.shape[1..]) as u64)
    }
}

/// True for a depthwise convolution with one filter per channel (the depthwise
/// kernels' case).
pub fn is_depthwise(p: &Conv2d) -> bool {
    p.groups == p.in_c && p.out_c == p.in_c && p.groups > 1
}

/// ONNX Conv.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(attributes(cx, 1)?, cx.n_inputs().min(3)))
}

/// The geometry of a Conv-like node whose input is slot 0 and weights slot `w_slot`
/// (Conv, ConvInteger: 1; QLinearConv: 3).
pub fn attributes(cx: &NodeCx, w_slot: usize) -> OpResult<Conv> {
    let (Some(x), Some(w)) = (cx.input(0), cx.input(w_slot)) else { invalid!("the input and weights are required") };
    let (xs, ws) = (&x.ty.shape, &w.ty.shape);
    if xs.len() < 3 || ws.len() != xs.len() {
        invalid!("input rank {} / weight rank {} (need N,C,spatial…)", xs.len(), ws.len());
    }
    let spatial = xs.len() - 2;
    if spatial > 2 {
        unsupported!("{spatial}-D convolution (1-D and 2-D are supported)");
    }
    let kernel: Vec<usize> = match cx.ints("kernel_shape")? {
        Some(k) => k.into_iter().map(|v| v.max(0) as usize).collect(),
        None => ws[2..].to_vec(),
    };
    if kernel.len() != spatial || kernel.contains(&0) {
        invalid!("kernel_shape {kernel:?} does not fit {spatial} spatial axes");
    }
    let (strides, dilations, pads) = window_attrs(cx, &xs[2..], kernel.clone())?;
    let group = cx.int("group", 1)?;
    if group < 1 {
        invalid!("group must be positive, got {group}");
    }
    Ok(Conv { kernel, strides, dilations, pads, group: group as usize, act: Act::NONE, layout: Layout::ChannelsFirst })
}
