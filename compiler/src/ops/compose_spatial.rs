//! Spatial ONNX ops that import as small graphs of existing IR ops, with no kernel of
//! their own: ConvTranspose (zero insertion, padding and a convolution with flipped,
//! regrouped weights; 3-D as a sum of 2-D convolutions, one per depth tap), CausalConvWithState (Concat/Pad, depthwise Conv, Slice),
//! DepthToSpace/SpaceToDepth (reshape, transpose, reshape), Tile and integer-scale
//! nearest Upsample (reshape, expand, reshape), Pad's `edge`/`reflect`/`wrap` modes
//! (a gather per padded axis with constant indices), CenterCropPad (Slice and Pad) and
//! 3-D MaxPool/AveragePool (two 2-D pools: max and mean over a box separate per axis)
//! and MaxPool's Indices output (a running maximum over one strided slice per tap).

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::conv::{auto_pads, Conv};
use super::layout::{Concat, Expand, Gather, Pad, Reshape, Slice, Transpose};
use super::pool::Pool;
use super::shape::Cast;
use super::util::axis;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Layout};
use tinyops_runtime::kernels::UnaryFn;

/// A sub-graph under construction: each pushed op gets the next index.
#[derive(Default)]
struct Builder {
    nodes: Vec<SubNode>,
}

impl Builder {
    fn push(&mut self, op: impl Into<Op>, inputs: Vec<Option<Src>>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn one(&mut self, op: impl Into<Op>, x: Src) -> Src {
        self.push(op, vec![Some(x)])
    }
    fn reshape(&mut self, x: Src, shape: Vec<usize>) -> Src {
        self.one(Reshape { shape }, x)
    }
    fn transpose(&mut self, x: Src, perm: Vec<usize>) -> Src {
        self.one(Transpose { perm }, x)
    }
    /// `x[starts[a] .. starts[a] + counts[a]]` on every axis.
    fn window(&mut self, x: Src, starts: Vec<usize>, counts: Vec<usize>) -> Src {
        let steps = vec![1; counts.len()];
        self.one(Slice { starts, steps, counts }, x)
    }
    fn nodes(self) -> Lowered {
        Lowered::Nodes(self.nodes)
    }
}

fn shape_of(cx: &NodeCx, i: usize) -> OpResult<Vec<usize>> {
    match cx.input(i) {
        Some(x) => Ok(x.ty.shape.clone()),
        None => invalid!("input {i} is required"),
    }
}

fn expect_f32(cx: &NodeCx, i: usize) -> OpResult<()> {
    if let Some(x) = cx.input(i) {
        if x.ty.dtype != DType::F32 {
            unsupported!("{} of {} tensors", cx.node.op_type, x.ty.dtype);
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------- ConvTranspose

/// ConvTranspose (1-D/2-D): the input with `stride - 1` zeros after each element,
/// padded by `dilation·(k-1)` minus the ONNX pads (cropped where that is negative),
/// convolved with the spatially flipped weights regrouped from `C,M/g,k…` to `M,C/g,k…`.
pub fn import_conv_transpose(cx: &NodeCx) -> OpResult<Lowered> {
    for i in 0..3 {
        expect_f32(cx, i)?;
    }
    let (xs, ws) = (shape_of(cx, 0)?, shape_of(cx, 1)?);
    if xs.len() < 3 || ws.len() != xs.len() {
        invalid!("input rank {} / weight rank {} (need N,C,spatial…)", xs.len(), ws.len());
    }
    let r = xs.len() - 2;
    if r > 3 {
        unsupported!("{r}-D ConvTranspose (1-D, 2-D and 3-D are supported)");
    }
    if xs.contains(&0) || ws.contains(&0) {
        invalid!("empty input {xs:?} or weights {ws:?}");
    }
    let g = cx.int("group", 1)?;
    if g < 1 || xs[1] as i64 % g != 0 || ws[0] != xs[1] {
        invalid!("input {xs:?}, weights {ws:?} and group {g} do not fit");
    }
    let g = g as usize;
    let kernel: Vec<usize> = match cx.ints("kernel_shape")? {
        Some(k) => k.iter().map(|&v| v.max(0) as usize).collect(),
        None => ws[2..].to_vec(),
    };
    if kernel[..] != ws[2..] {
        invalid!("kernel_shape {kernel:?} does not match weights {ws:?}");
    }
    let list = |name: &str, default: usize| -> OpResult<Vec<usize>> {
        match cx.ints(name)? {
            None => Ok(vec![default; r]),
            Some(v) if v.len() == r && v.iter().all(|&x| x >= 0) => Ok(v.iter().map(|&x| x as usize).collect()),
            Some(v) => invalid!("{name} {v:?} must have {r} non-negative entries"),
        }
    };
    let (strides, dilations, out_pad) = (list("strides", 1)?, list("dilations", 1)?, list("output_padding", 0)?);
    if strides.contains(&0) || dilations.contains(&0) {
        invalid!("strides {strides:?} and dilations {dilations:?} must be positive");
    }
    let full: Vec<i64> = (0..r)
        .map(|i| (strides[i] * (xs[i + 2] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1) as i64)
        .collect();
    let mode = cx.string("auto_pad", "NOTSET")?;
    // Pads (begin, end) per axis; negative ends extend the output with zeros (+ bias).
    let pads: Vec<(i64, i64)> = if let Some(shape) = cx.ints("output_shape")? {
        let shape = if shape.len() == r + 2 { shape[2..].to_vec() } else { shape };
        if shape.len() != r {
            invalid!("output_shape {shape:?} must have {r} entries");
        }
        (0..r)
            .map(|i| {
                let total = full[i] - shape[i];
                let (small, big) = (total.div_euclid(2), total - total.div_euclid(2));
                if mode == "SAME_UPPER" {
                    (small, big)
                } else {
                    (big, small)
                }
            })
            .collect()
    } else if mode == "SAME_UPPER" || mode == "SAME_LOWER" {
        (0..r)
            .map(|i| {
                let total = (full[i] - (xs[i + 2] * strides[i]) as i64).max(0);
                let (small, big) = (total / 2, total - total / 2);
                if mode == "SAME_UPPER" {
                    (small, big)
                } else {
                    (big, small)
                }
            })
            .collect()
    } else {
        let p = auto_pads(&mode, cx.ints("pads")?, &xs[2..], &kernel, &strides, &dilations)?;
        (0..r).map(|i| (p[i] as i64, p[i + r] as i64)).collect()
    };
    let (c, m) = (xs[1], ws[1] * g);
    let mut b = Builder::default();
    // Weights: flip every spatial axis, then C,M/g,k… → g,C/g,M/g,k… → g,M/g,C/g,k… → M,C/g,k….
    let mut starts = vec![0; r + 2];
    let mut steps = vec![1isize; r + 2];
    for i in 0..r {
        starts[i + 2] = kernel[i] - 1;
        steps[i + 2] = -1;
    }
    let flipped = b.one(Slice { starts, steps, counts: ws.clone() }, Src::In(1));
    let mut grouped = vec![g, c / g, ws[1]];
    grouped.extend(&kernel);
    let w = b.reshape(flipped, grouped);
    let mut perm = vec![0, 2, 1];
    perm.extend(3..r + 3);
    let w = b.transpose(w, perm);
    let mut wshape = vec![m, c / g];
    wshape.extend(&kernel);
    let w = b.reshape(w, wshape);
    // Input: zeros inserted after each element (the trailing stride - 1 count as end padding).
    let mut x = Src::In(0);
    let mut len: Vec<usize> = xs[2..].to_vec();
    if strides.iter().any(|&s| s > 1) {
        let mut spread = vec![xs[0], xs[1]];
        let mut pads = vec![0; 2 * (2 + 2 * r)];
        for i in 0..r {
            spread.extend([xs[i + 2], 1]);
            pads[2 + 2 * r + 3 + 2 * i] = strides[i] - 1;
        }
        x = b.reshape(x, spread);
        x = b.one(Pad { pads, value: 0.0 }, x);
        let mut merged = vec![xs[0], xs[1]];
        for i in 0..r {
            len[i] *= strides[i];
            merged.push(len[i]);
        }
        x = b.reshape(x, merged);
    }
    // Padding of the spread input: begin span - pb, end span - pe + output_padding - (stride - 1).
    let mut conv_pads = vec![0usize; 2 * r];
    let (mut cut_start, mut cut_count) = (vec![0; r + 2], vec![xs[0], xs[1]]);
    let mut cut = false;
    for i in 0..r {
        let span = ((kernel[i] - 1) * dilations[i]) as i64;
        let begin = span - pads[i].0;
        let end = span - pads[i].1 + out_pad[i] as i64 - (strides[i] as i64 - 1);
        let skip = (-begin).max(0) as usize;
        let drop = (-end).max(0) as usize;
        if skip + drop >= len[i] {
            unsupported!("ConvTranspose pads {pads:?} that crop the whole input");
        }
        cut |= skip + drop > 0;
        cut_start[i + 2] = skip;
        cut_count.push(len[i] - skip - drop);
        conv_pads[i] = begin.max(0) as usize;
        conv_pads[i + r] = end.max(0) as usize;
    }
    if cut {
        x = b.window(x, cut_start, cut_count.clone());
    }
    let bias = cx.input(2).map(|_| Src::In(2));
    if r == 3 {
        let mut xshape = vec![xs[0], xs[1]];
        xshape.extend(if cut { cut_count[2..].to_vec() } else { len.clone() });
        let mut wshape = vec![m, c / g];
        wshape.extend(&kernel);
        let p3 = Conv3d { x: xshape, w: wshape, dilations, pads: conv_pads, group: g };
        conv3d_as_2d(&mut b, x, w, bias, &p3);
        return Ok(b.nodes());
    }
    let conv = Conv {
        kernel,
        strides: vec![1; r],
        dilations,
        pads: conv_pads,
        group: g,
        act: Act::NONE,
        layout: Layout::ChannelsFirst,
    };
    b.push(conv, vec![Some(x), Some(w), bias]);
    Ok(b.nodes())
}

/// A stride-1 3-D convolution's shapes and window (NCDHW input, `M,C/g,kD,kH,kW`
/// weights).
struct Conv3d {
    x: Vec<usize>,
    w: Vec<usize>,
    dilations: Vec<usize>,
    /// Begins (D, H, W) then ends.
    pads: Vec<usize>,
    group: usize,
}

/// A stride-1 3-D convolution as a sum of 2-D ones, one per depth tap: the input,
/// padded along depth, moves depth beside batch (`N,D,C,H,W` → `N·oD,C,H,W` per tap's
/// window of depths), each tap's `M,C/g,kH,kW` weight slice convolves it, the partial
/// results add up, and depth moves back (`N,M,oD,oH,oW`).
fn conv3d_as_2d(b: &mut Builder, x: Src, w: Src, bias: Option<Src>, p: &Conv3d) -> Src {
    let (n, c, d, h, wd) = (p.x[0], p.x[1], p.x[2], p.x[3], p.x[4]);
    let (m, cg, kd, kh, kw) = (p.w[0], p.w[1], p.w[2], p.w[3], p.w[4]);
    let dp = d + p.pads[0] + p.pads[3];
    let od = dp + 1 - (p.dilations[0] * (kd - 1) + 1);
    let mut x = x;
    if p.pads[0] + p.pads[3] > 0 {
        x = b.one(Pad { pads: vec![0, 0, p.pads[0], 0, 0, 0, 0, p.pads[3], 0, 0], value: 0.0 }, x);
    }
    let x = b.transpose(x, vec![0, 2, 1, 3, 4]);
    let conv = Conv {
        kernel: vec![kh, kw],
        strides: vec![1, 1],
        dilations: p.dilations[1..].to_vec(),
        pads: vec![p.pads[1], p.pads[2], p.pads[4], p.pads[5]],
        group: p.group,
        act: Act::NONE,
        layout: Layout::ChannelsFirst,
    };
    let oh = h + p.pads[1] + p.pads[4] + 1 - (p.dilations[1] * (kh - 1) + 1);
    let ow = wd + p.pads[2] + p.pads[5] + 1 - (p.dilations[2] * (kw - 1) + 1);
    let mut sum: Option<Src> = None;
    for t in 0..kd {
        let xt = b.window(x.clone(), vec![0, t * p.dilations[0], 0, 0, 0], vec![n, od, c, h, wd]);
        let xt = b.reshape(xt, vec![n * od, c, h, wd]);
        let wt = b.window(w.clone(), vec![0, 0, t, 0, 0], vec![m, cg, 1, kh, kw]);
        let wt = b.reshape(wt, vec![m, cg, kh, kw]);
        let bt = if t == 0 { bias.clone() } else { None };
        let y = b.push(conv.clone(), vec![Some(xt), Some(wt), bt]);
        sum = Some(match sum {
            None => y,
            Some(s) => b.push(Binary { kind: BinKind::Add, act: Act::NONE }, vec![Some(s), Some(y)]),
        });
    }
    let y = sum.unwrap_or(Src::In(0));
    let y = b.reshape(y, vec![n, od, m, oh, ow]);
    b.transpose(y, vec![0, 2, 1, 3, 4])
}

// ------------------------------------------------------------------ CausalConvWithState

/// CausalConvWithState (opset 27): `[past_state (or k-1 zeros), input]` along time,
/// a depthwise Conv with the optional bias, then SiLU if asked; the new state is the
/// last `k-1` steps of the concatenation.
pub fn import_causal_conv_with_state(cx: &NodeCx) -> OpResult<Lowered> {
    // f16 tensors compute in f32 (each input widened exactly, each result rounded once).
    let half = cx.input(0).is_some_and(|x| x.ty.dtype == DType::F16);
    if !half {
        for i in 0..4 {
            expect_f32(cx, i)?;
        }
    } else if (0..4).any(|i| cx.input(i).is_some_and(|x| x.ty.dtype != DType::F16)) {
        invalid!("CausalConvWithState inputs must share one element type");
    }
    let (xs, ws) = (shape_of(cx, 0)?, shape_of(cx, 1)?);
    let (&[n, c, t], &[wc, 1, k]) = (&xs[..], &ws[..]) else {
        invalid!("input {xs:?} must be (batch, channels, length) and weight {ws:?} (channels, 1, k)")
    };
    if wc != c || k == 0 {
        invalid!("weight {ws:?} does not fit {c} channels");
    }
    let act = cx.string("activation", "none")?;
    if !matches!(act.as_str(), "none" | "silu" | "swish") {
        invalid!("activation `{act}` (none, silu or swish)");
    }
    let mut b = Builder::default();
    let mut arg = |i: usize| {
        if half {
            b.one(Cast { to: DType::F32, saturate: true }, Src::In(i))
        } else {
            Src::In(i)
        }
    };
    let (x, w) = (arg(0), arg(1));
    let bias = cx.input(2).map(|_| arg(2));
    let past = cx.input(3).map(|_| arg(3));
    let padded = match (cx.input(3), past) {
        (Some(p), Some(past)) => {
            if p.ty.shape != [n, c, k - 1] {
                invalid!("past_state {:?} must be [{n}, {c}, {}]", p.ty.shape, k - 1);
            }
            b.push(Concat { axis: 2 }, vec![Some(past), Some(x)])
        }
        _ => b.one(Pad { pads: vec![0, 0, k - 1, 0, 0, 0], value: 0.0 }, x),
    };
    let conv = Conv {
        kernel: vec![k],
        strides: vec![1],
        dilations: vec![1],
        pads: vec![0, 0],
        group: c,
        act: Act::NONE,
        layout: Layout::ChannelsFirst,
    };
    let mut y = b.push(conv, vec![Some(padded.clone()), Some(w), bias]);
    if act != "none" {
        let s = b.one(Unary { f: UnaryFn::Sigmoid }, y.clone());
        y = b.push(Binary { kind: BinKind::Mul, act: Act::NONE }, vec![Some(y), Some(s)]);
    }
    let mut state = b.window(padded, vec![0, 0, t], vec![n, c, k - 1]);
    if half {
        y = b.one(Cast { to: DType::F16, saturate: true }, y);
        state = b.one(Cast { to: DType::F16, saturate: true }, state);
    }
    Ok(Lowered::Graph(b.nodes, vec![Some(y), Some(state)]))
}

// ------------------------------------------------------------ DepthToSpace, SpaceToDepth

/// DepthToSpace (DCR and CRD modes): reshape, transpose, reshape.
pub fn import_depth_to_space(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let [n, c, h, w] = xs[..] else { invalid!("input {xs:?} must be N,C,H,W") };
    let bs = cx.int("blocksize", 0)?;
    // Checked: a hostile blocksize must not overflow its square.
    if bs < 1 || bs.checked_mul(bs).is_none_or(|sq| c as i64 % sq != 0) {
        invalid!("blocksize {bs} does not divide {c} channels");
    }
    let bs = bs as usize;
    let oc = c / (bs * bs);
    let mut b = Builder::default();
    let (split, perm) = match cx.string("mode", "DCR")?.as_str() {
        "DCR" => (vec![n, bs, bs, oc, h, w], vec![0, 3, 4, 1, 5, 2]),
        "CRD" => (vec![n, oc, bs, bs, h, w], vec![0, 1, 4, 2, 5, 3]),
        m => invalid!("mode `{m}` (DCR or CRD)"),
    };
    let x = b.reshape(Src::In(0), split);
    let x = b.transpose(x, perm);
    b.reshape(x, vec![n, oc, h * bs, w * bs]);
    Ok(b.nodes())
}

/// SpaceToDepth: reshape, transpose, reshape.
pub fn import_space_to_depth(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let [n, c, h, w] = xs[..] else { invalid!("input {xs:?} must be N,C,H,W") };
    let bs = cx.int("blocksize", 0)?;
    if bs < 1 || h as i64 % bs != 0 || w as i64 % bs != 0 {
        invalid!("blocksize {bs} does not divide {h}×{w}");
    }
    let bs = bs as usize;
    let mut b = Builder::default();
    let x = b.reshape(Src::In(0), vec![n, c, h / bs, bs, w / bs, bs]);
    let x = b.transpose(x, vec![0, 3, 5, 1, 2, 4]);
    b.reshape(x, vec![n, c * bs * bs, h / bs, w / bs]);
    Ok(b.nodes())
}

// --------------------------------------------------------------------- Tile, Upsample

/// Repeats `x` `outer[a]` times around and `inner[a]` times inside each element of
/// axis `a`, one axis at a time (each a three-axis Expand between two reshapes).
fn repeat(xs: &[usize], outer: &[usize], inner: &[usize]) -> Lowered {
    let mut b = Builder::default();
    let mut x = Src::In(0);
    let mut shape = xs.to_vec();
    for a in 0..xs.len() {
        for (reps, around) in [(outer[a], true), (inner[a], false)] {
            if reps == 1 {
                continue;
            }
            let (p, q) = if around {
                (shape[..a].iter().product(), shape[a..].iter().product())
            } else {
                (shape[..=a].iter().product(), shape[a + 1..].iter().product())
            };
            x = b.reshape(x, vec![p, 1, q]);
            x = b.one(Expand { shape: vec![p, reps, q] }, x);
            shape[a] *= reps;
            x = b.reshape(x, shape.clone());
        }
    }
    if b.nodes.is_empty() {
        return Lowered::Forward(0);
    }
    b.nodes()
}

/// Tile with constant repeats.
pub fn import_tile(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let Some(reps) = cx.const_ints(1, "repeats")? else { invalid!("repeats are required") };
    if reps.len() != xs.len() || reps.iter().any(|&r| r < 0) {
        invalid!("repeats {reps:?} must have {} non-negative entries", xs.len());
    }
    let reps: Vec<usize> = reps.iter().map(|&r| r as usize).collect();
    Ok(repeat(&xs, &reps, &vec![1; xs.len()]))
}

/// Upsample (opsets 7–9) in `nearest` mode with whole-number scales: each element
/// repeated `scale` times per axis.
pub fn import_upsample(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let mode = cx.string("mode", "nearest")?;
    if mode != "nearest" {
        unsupported!("Upsample mode `{mode}` (nearest is supported)");
    }
    let scales: Vec<f32> = if cx.opset < 9 {
        cx.floats("scales")?.unwrap_or_default()
    } else {
        match cx.const_input(1, "scales")? {
            Some(t) => (0..t.numel()).map(|i| t.data.get_f64(i) as f32).collect(),
            None => invalid!("scales are required"),
        }
    };
    if scales.len() != xs.len() {
        invalid!("scales {scales:?} must have {} entries", xs.len());
    }
    if scales.iter().any(|&s| s < 1.0 || s.fract() != 0.0) {
        unsupported!("Upsample scales {scales:?} (whole numbers are supported)");
    }
    let inner: Vec<usize> = scales.iter().map(|&s| s as usize).collect();
    Ok(repeat(&xs, &vec![1; xs.len()], &inner))
}

// ------------------------------------------------------------------- Pad modes, crop

/// The source index of output position `i - before` of a padded axis of length `len`.
fn pad_source(mode: &str, i: i64, len: i64) -> i64 {
    match mode {
        "edge" => i.clamp(0, len - 1),
        "wrap" => i.rem_euclid(len),
        _ if len == 1 => 0,
        _ => {
            let period = 2 * (len - 1);
            let j = i.rem_euclid(period);
            if j >= len {
                period - j
            } else {
                j
            }
        }
    }
}

/// Pad in `edge`, `reflect` or `wrap` mode: one gather with constant indices per axis
/// whose pads are not zero (negative pads crop).
pub fn pad_by_mode(cx: &NodeCx, mode: &str, pads: &[i64]) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let r = xs.len();
    let mut b = Builder::default();
    let mut x = Src::In(0);
    for a in 0..r {
        let (before, after) = (pads[a], pads[a + r]);
        if before == 0 && after == 0 {
            continue;
        }
        let len = xs[a] as i64;
        let out = len + before + after;
        if len == 0 || out < 0 {
            invalid!("pads {pads:?} do not fit axis {a} of length {len}");
        }
        if mode == "reflect" && (before >= len || after >= len) && len > 1 {
            invalid!("reflect pads {pads:?} must be shorter than axis {a} ({len})");
        }
        let indices = (0..out).map(|i| pad_source(mode, i - before, len) as usize).collect();
        x = b.one(Gather { axis: a, indices, indices_shape: vec![out as usize] }, x);
    }
    if b.nodes.is_empty() {
        return Ok(Lowered::Forward(0));
    }
    Ok(b.nodes())
}

/// CenterCropPad with a constant target shape: a centred Slice where the input is
/// longer, a Pad with zeros (the odd one at the end) where it is shorter.
pub fn import_center_crop_pad(cx: &NodeCx) -> OpResult<Lowered> {
    let xs = shape_of(cx, 0)?;
    let r = xs.len();
    let Some(shape) = cx.const_ints(1, "shape")? else { invalid!("shape is required") };
    let axes: Vec<usize> = match cx.ints("axes")? {
        Some(a) => a.iter().map(|&a| axis(a, r)).collect::<OpResult<_>>()?,
        None => (0..r).collect(),
    };
    if shape.len() != axes.len() || shape.iter().any(|&s| s < 0) {
        invalid!("shape {shape:?} must have one non-negative entry per axis of {axes:?}");
    }
    let mut target = xs.clone();
    for (&a, &s) in axes.iter().zip(&shape) {
        target[a] = s as usize;
    }
    let (mut starts, mut counts, mut pads) = (vec![0; r], xs.clone(), vec![0; 2 * r]);
    for a in 0..r {
        if xs[a] > target[a] {
            starts[a] = (xs[a] - target[a]) / 2;
            counts[a] = target[a];
        } else {
            let total = target[a] - xs[a];
            pads[a] = total / 2;
            pads[a + r] = total - total / 2;
        }
    }
    let mut b = Builder::default();
    let mut x = Src::In(0);
    if counts != xs {
        x = b.window(x, starts, counts);
    }
    if pads.iter().any(|&p| p > 0) {
        b.one(Pad { pads, value: 0.0 }, x);
    }
    if b.nodes.is_empty() {
        return Ok(Lowered::Forward(0));
    }
    Ok(b.nodes())
}

// ---------------------------------------------------------------------- 3-D pooling

/// A 3-D MaxPool/AveragePool as two 2-D pools: over `H,W` with depth folded into the
/// channels, then over depth with `H·W` as the second axis. The box window, its pads
/// and (for the mean) its divisor separate per axis, so the result is the 3-D pool's.
pub fn pool_3d(pool: Pool, xs: &[usize]) -> OpResult<Lowered> {
    let [n, c, d, h, w] = xs[..] else { invalid!("input {xs:?} is not N,C,D,H,W") };
    let out = pool.out_shape(xs)?;
    let (od, oh, ow) = (out[2], out[3], out[4]);
    let axis_pool = |i: &[usize]| Pool {
        kernel: i.iter().map(|&a| pool.kernel[a]).collect(),
        strides: i.iter().map(|&a| pool.strides[a]).collect(),
        dilations: i.iter().map(|&a| pool.dilations[a]).collect(),
        pads: i.iter().map(|&a| pool.pads[a]).chain(i.iter().map(|&a| pool.pads[a + 3])).collect(),
        ..pool.clone()
    };
    let mut depth = axis_pool(&[0]);
    depth.kernel.push(1);
    depth.strides.push(1);
    depth.dilations.push(1);
    depth.pads = vec![depth.pads[0], 0, depth.pads[1], 0];
    let mut b = Builder::default();
    let x = b.reshape(Src::In(0), vec![n, c * d, h, w]);
    let x = b.one(axis_pool(&[1, 2]), x);
    let x = b.reshape(x, vec![n, c, d, oh * ow]);
    let x = b.one(depth, x);
    b.reshape(x, vec![n, c, od, oh, ow]);
    Ok(b.nodes())
}

/// MaxPool with its Indices output: the input padded with -∞, one strided Slice per
/// window tap, and a running maximum that keeps the first tap's flat index on ties
/// (row-major, or column-major over the spatial axes for `storage_order = 1`).
pub fn max_pool_with_indices(pool: Pool, xs: &[usize], column_major: bool) -> OpResult<Lowered> {
    use super::logic::{Compare, Where};
    use tinyops_runtime::kernels::CompareOp;
    let out = pool.out_shape(xs)?;
    let r = xs.len() - 2;
    let mut padded_pads = vec![0; 2 * (r + 2)];
    let mut padded = xs.to_vec();
    for a in 0..r {
        let reach = (pool.kernel[a] - 1) * pool.dilations[a] + (out[a + 2] - 1) * pool.strides[a] + 1;
        let have = xs[a + 2] + pool.pads[a] + pool.pads[a + r];
        padded_pads[a + 2] = pool.pads[a];
        padded_pads[a + 2 + r + 2] = pool.pads[a + r] + reach.saturating_sub(have);
        padded[a + 2] = xs[a + 2] + padded_pads[a + 2] + padded_pads[a + 2 + r + 2];
    }
    let mut b = Builder::default();
    let x = if padded_pads.iter().any(|&p| p > 0) {
        b.one(Pad { pads: padded_pads, value: f32::NEG_INFINITY }, Src::In(0))
    } else {
        Src::In(0)
    };
    let taps: usize = pool.kernel.iter().product();
    let outs: usize = out.iter().product();
    let spatial_out: Vec<usize> = out[2..].to_vec();
    let (mut best, mut best_i): (Option<Src>, Option<Src>) = (None, None);
    for t in 0..taps {
        let mut k = vec![0; r];
        let mut rest = t;
        for a in (0..r).rev() {
            k[a] = rest % pool.kernel[a];
            rest /= pool.kernel[a];
        }
        let mut starts = vec![0, 0];
        let mut steps = vec![1isize, 1];
        for a in 0..r {
            starts.push(k[a] * pool.dilations[a]);
            steps.push(pool.strides[a] as isize);
        }
        let v = b.one(Slice { starts, steps, counts: out.clone() }, x.clone());
        // Flat index of each output position's tap in the unpadded input.
        let mut idx = Vec::with_capacity(outs);
        for p in 0..outs {
            let mut rest = p;
            let mut o = vec![0; r];
            for a in (0..r).rev() {
                o[a] = rest % spatial_out[a];
                rest /= spatial_out[a];
            }
            let plane = rest; // n·C + c
            let coord: Vec<i64> = (0..r)
                .map(|a| (o[a] * pool.strides[a] + k[a] * pool.dilations[a]) as i64 - pool.pads[a] as i64)
                .collect();
            let inside = (0..r).all(|a| coord[a] >= 0 && coord[a] < xs[a + 2] as i64);
            let mut flat = 0i64;
            if inside {
                let order: Vec<usize> = if column_major { (0..r).rev().collect() } else { (0..r).collect() };
                for &a in &order {
                    flat = flat * xs[a + 2] as i64 + coord[a];
                }
            }
            let spatial: i64 = xs[2..].iter().product::<usize>() as i64;
            idx.push(plane as i64 * spatial + flat);
        }
        let idx = Src::Const(crate::ir::Tensor { shape: out.clone(), data: crate::ir::Data::I64(idx) });
        match (best.take(), best_i.take()) {
            (Some(bv), Some(bi)) => {
                let gt = b.push(Compare { op: CompareOp::Greater }, vec![Some(v.clone()), Some(bv.clone())]);
                best = Some(b.push(Where, vec![Some(gt.clone()), Some(v), Some(bv)]));
                best_i = Some(b.push(Where, vec![Some(gt), Some(idx), Some(bi)]));
            }
            _ => {
                best = Some(v);
                best_i = Some(idx);
            }
        }
    }
    let (Some(y), Some(i)) = (best, best_i) else { invalid!("an empty window") };
    Ok(Lowered::Graph(b.nodes, vec![Some(y), Some(i)]))
}

#[cfg(test)]
mod tests {
    use super::pad_source;

    #[test]
    fn pad_sources_follow_numpy_pad_modes() {
        // numpy.pad([0, 1, 2], 3, mode) sources for positions -3 … 5.
        let src = |mode| (-3..6).map(|i| pad_source(mode, i, 3)).collect::<Vec<_>>();
        assert_eq!(src("edge"), [0, 0, 0, 0, 1, 2, 2, 2, 2]);
        assert_eq!(src("reflect"), [1, 2, 1, 0, 1, 2, 1, 0, 1]);
        assert_eq!(src("wrap"), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert_eq!(pad_source("reflect", -2, 1), 0);
    }
}
