//! Signal processing ops. The window functions (Hann, Hamming, Blackman) and
//! MelWeightMatrix depend only on their (constant) scalar inputs and import as
//! constants, computed in f64 as the ONNX reference does. DFT and STFT import as
//! matrix products with constant cosine/sine tables (padding or truncating to
//! `dft_length` folded into the tables): no kernel of their own.

use super::activation::Act;
use super::binary::{BinKind, Binary};
use super::gemm::MatMul;
use super::layout::{Concat, Gather, Reshape, Slice, Transpose};
use super::util::axis as norm_axis;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use std::f64::consts::PI;

/// A constant scalar integer input.
fn const_int(cx: &NodeCx, slot: usize, what: &str) -> OpResult<Option<i64>> {
    match cx.const_input(slot, what)? {
        None => Ok(None),
        Some(t) if t.numel() == 1 => Ok(Some(t.data.get_i64(0))),
        Some(t) => invalid!("{what} must be a scalar, got shape {:?}", t.shape),
    }
}

/// A float output type from `output_datatype` (default f32).
fn output_type(cx: &NodeCx) -> OpResult<DType> {
    let t = crate::front::tensor::dtype_of(cx.int("output_datatype", 1)? as i32)
        .map_err(|t| super::OpError::Unsupported(format!("output type {t}")))?;
    Ok(t)
}

/// HannWindow, HammingWindow, BlackmanWindow (opset 17) of a constant size.
pub fn import_window(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(size) = const_int(cx, 0, "size")? else { invalid!("size is required") };
    if !(0..=1 << 24).contains(&size) {
        invalid!("window size {size}");
    }
    let n = size as usize;
    let periodic = cx.int("periodic", 1)? != 0;
    let n1 = if periodic { size as f64 } else { (size - 1) as f64 };
    let w: Vec<f64> = (0..n)
        .map(|i| {
            let x = i as f64;
            match cx.node.op_type.as_str() {
                "HannWindow" => (x * PI / n1).sin().powi(2),
                "HammingWindow" => {
                    let a = 25.0 / 46.0;
                    a - (x * PI * 2.0 / n1).cos() * (1.0 - a)
                }
                _ => 0.42 - 0.5 * (x * PI * 2.0 / n1).cos() + 0.08 * (x * PI * 4.0 / n1).cos(),
            }
        })
        .collect();
    Ok(Lowered::Const(Tensor { shape: vec![n], data: Data::F64(w).cast(output_type(cx)?) }))
}

/// MelWeightMatrix (opset 17) of constant parameters: `[dft_length/2 + 1, num_mel_bins]`
/// triangular filters, by the ONNX reference's bin arithmetic.
pub fn import_mel_weight_matrix(cx: &NodeCx) -> OpResult<Lowered> {
    let int = |i: usize, what: &str| -> OpResult<i64> {
        const_int(cx, i, what)?.ok_or_else(|| super::OpError::Invalid(format!("{what} is required")))
    };
    let float = |i: usize, what: &str| -> OpResult<f64> {
        match cx.const_input(i, what)? {
            Some(t) if t.numel() == 1 => Ok(t.data.get_f64(0)),
            _ => invalid!("{what} must be a scalar"),
        }
    };
    let (bins, dft, rate) = (int(0, "num_mel_bins")?, int(1, "dft_length")?, int(2, "sample_rate")?);
    let (lo, hi) = (float(3, "lower_edge_hertz")?, float(4, "upper_edge_hertz")?);
    if bins <= 0 || dft <= 0 || rate <= 0 || bins > 1 << 16 || dft > 1 << 20 {
        invalid!("num_mel_bins {bins}, dft_length {dft}, sample_rate {rate}");
    }
    let (bins, spec) = (bins as usize, (dft / 2 + 1) as usize);
    let mel = |hz: f64| 2595.0 * (hz / 700.0).ln_1p() / 10f64.ln();
    let (lo_mel, hi_mel) = (mel(lo), mel(hi));
    let step = (hi_mel - lo_mel) / (bins + 2) as f64;
    let points: Vec<i64> = (0..bins + 2)
        .map(|i| {
            let hz = 700.0 * ((i as f64 * step + lo_mel) / 2595.0 * 10f64.ln()).exp_m1();
            ((dft + 1) as f64 * hz / rate as f64).floor() as i64
        })
        .collect();
    let mut out = vec![0.0f64; spec * bins];
    let mut set = |j: i64, i: usize, v: f64| -> OpResult<()> {
        if j < 0 || j as usize >= spec {
            invalid!("a mel filter edge ({j}) lies outside the {spec} spectrogram bins");
        }
        out[j as usize * bins + i] = v;
        Ok(())
    };
    for i in 0..bins {
        let (l, c, h) = (points[i], points[i + 1], points[i + 2]);
        if c == l {
            set(c, i, 1.0)?;
        } else {
            for j in l..=c {
                set(j, i, (j - l) as f64 / (c - l) as f64)?;
            }
        }
        if h > c {
            for j in c..h {
                set(j, i, (h - j) as f64 / (h - c) as f64)?;
            }
        }
    }
    Ok(Lowered::Const(Tensor { shape: vec![spec, bins], data: Data::F64(out).cast(output_type(cx)?) }))
}

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
    fn mm(&mut self, a: Src, table: Vec<f64>, rows: usize, cols: usize) -> Src {
        let t = Tensor { shape: vec![rows, cols], data: Data::F64(table).cast(DType::F32) };
        self.add(MatMul { act: Act::NONE }, vec![a, Src::Const(t)])
    }
}

/// Which transform the tables compute.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Forward, all `L` (or `L/2 + 1` one-sided) bins.
    Forward { onesided: bool },
    /// Inverse, complex output, `1/L` scaled.
    Inverse,
    /// Inverse of a one-sided spectrum: a real signal of `L` points.
    InverseReal,
}

/// The transform along the last axis of `re` (and `im`, absent for a real signal),
/// both `[…, n]`: real and imaginary parts of the result, `[…, k]` (`im` absent for a
/// real result), and `k`.
fn transform(g: &mut Sub, re: Src, im: Option<Src>, n: usize, l: usize, kind: Kind) -> (Src, Option<Src>, usize) {
    let k = match kind {
        Kind::Forward { onesided: true } => l / 2 + 1,
        Kind::Forward { onesided: false } | Kind::Inverse | Kind::InverseReal => l,
    };
    // Row r of the input is sample (or bin) r; rows at or past L are dropped (zero).
    let table = |f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
        (0..n).flat_map(|r| (0..k).map(move |c| if r < l { f(r, c) } else { 0.0 })).collect()
    };
    let theta = |r: usize, c: usize| 2.0 * PI * ((r * c) % l) as f64 / l as f64;
    let lf = l as f64;
    match kind {
        Kind::Forward { .. } => {
            // (xr + i·xi)·(cos − i·sin)
            let cos = table(&|r, c| theta(r, c).cos());
            let sin = table(&|r, c| theta(r, c).sin());
            let rc = g.mm(re.clone(), cos.clone(), n, k);
            let rs = g.mm(re, sin.clone(), n, k);
            match im {
                None => {
                    let neg = g.bin(BinKind::Sub, Src::Const(Tensor::scalar(Data::F32(vec![0.0]))), rs);
                    (rc, Some(neg), k)
                }
                Some(im) => {
                    let ic = g.mm(im.clone(), cos, n, k);
                    let is = g.mm(im, sin, n, k);
                    (g.bin(BinKind::Add, rc, is), Some(g.bin(BinKind::Sub, ic, rs)), k)
                }
            }
        }
        Kind::Inverse => {
            // (Xr + i·Xi)·(cos + i·sin) / L
            let cos = table(&|r, c| theta(r, c).cos() / lf);
            let sin = table(&|r, c| theta(r, c).sin() / lf);
            let rc = g.mm(re.clone(), cos.clone(), n, k);
            let rs = g.mm(re, sin.clone(), n, k);
            match im {
                None => (rc, Some(rs), k),
                Some(im) => {
                    let ic = g.mm(im.clone(), cos, n, k);
                    let is = g.mm(im, sin, n, k);
                    (g.bin(BinKind::Sub, rc, is), Some(g.bin(BinKind::Add, rs, ic)), k)
                }
            }
        }
        Kind::InverseReal => {
            // x[t] = (1/L)·Σ_b w_b·(Xr·cos − Xi·sin) over the bins b ≤ L/2, w_b = 2 but for
            // the zero and Nyquist bins; bins past L/2 are ignored.
            let half = l / 2;
            let w = |b: usize| if b == 0 || (l.is_multiple_of(2) && b == half) { 1.0 } else { 2.0 };
            let mask = |b: usize| b <= half;
            let cos = table(&|b, t| if mask(b) { w(b) * theta(b, t).cos() / lf } else { 0.0 });
            let sin = table(&|b, t| if mask(b) { -w(b) * theta(b, t).sin() / lf } else { 0.0 });
            let rc = g.mm(re, cos, n, k);
            match im {
                None => (rc, None, k),
                Some(im) => {
                    let is = g.mm(im, sin, n, k);
                    (g.bin(BinKind::Add, rc, is), None, k)
                }
            }
        }
    }
}

/// DFT (opset 17–20): `x` is `[…, n, …, 1 or 2]` (real, or real and imaginary parts
/// last); the transform runs along `axis` as matrix products.
pub fn import_dft(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    if x.ty.dtype != DType::F32 && !x.ty.dtype.is_half() {
        unsupported!("DFT of {} tensors", x.ty.dtype);
    }
    let shape = x.ty.shape.clone();
    let rank = shape.len();
    let parts = shape.last().copied().unwrap_or(0);
    if rank < 2 || !(parts == 1 || parts == 2) {
        invalid!("DFT input of shape {shape:?} (the last axis holds 1 or 2 parts)");
    }
    let a = match cx.opset {
        ..=19 => cx.int("axis", 1)?,
        _ => const_int(cx, 2, "axis")?.unwrap_or(-2),
    };
    let a = norm_axis(a, rank)?;
    if a == rank - 1 {
        invalid!("DFT along the real/imaginary axis");
    }
    let inverse = cx.int("inverse", 0)? != 0;
    let onesided = cx.int("onesided", 0)? != 0;
    let n = shape[a];
    let l = match const_int(cx, 1, "dft_length")? {
        Some(l) if l > 0 && l <= 1 << 16 => l as usize,
        Some(l) => invalid!("dft_length {l}"),
        None if inverse && onesided => 2 * (n.saturating_sub(1)),
        None => n,
    };
    if l == 0 {
        invalid!("an empty transform");
    }
    if !inverse && onesided && parts == 2 {
        unsupported!("a one-sided DFT of a complex signal");
    }
    let kind = match (inverse, onesided) {
        (false, o) => Kind::Forward { onesided: o },
        (true, false) => Kind::Inverse,
        (true, true) => Kind::InverseReal,
    };
    let mut g = Sub::default();
    // Each part as `[others…, n]`.
    let mut perm: Vec<usize> = (0..rank - 1).filter(|&d| d != a).collect();
    perm.push(a);
    let others: Vec<usize> = perm[..rank - 2].iter().map(|&d| shape[d]).collect();
    let part = |g: &mut Sub, p: usize| -> Src {
        let mut counts = shape.clone();
        counts[rank - 1] = 1;
        let mut starts = vec![0; rank];
        starts[rank - 1] = p;
        let s = g.add(Slice { starts, steps: vec![1; rank], counts }, vec![Src::In(0)]);
        let s = g.add(Reshape { shape: shape[..rank - 1].to_vec() }, vec![s]);
        g.add(Transpose { perm: perm.clone() }, vec![s])
    };
    let re = part(&mut g, 0);
    let im = (parts == 2).then(|| part(&mut g, 1));
    let (yr, yi, k) = transform(&mut g, re, im, n, l, kind);
    let mut with_part = others.clone();
    with_part.extend([k, 1]);
    let mut ys = vec![g.add(Reshape { shape: with_part.clone() }, vec![yr])];
    if let Some(yi) = yi {
        ys.push(g.add(Reshape { shape: with_part }, vec![yi]));
    }
    let y = if ys.len() == 1 { ys.remove(0) } else { g.add(Concat { axis: rank - 1 }, ys) };
    // Back to the input's axis order: position d of the result holds perm[d].
    let mut back = vec![0; rank];
    for (d, &p) in perm.iter().enumerate() {
        back[p] = d;
    }
    back[rank - 1] = rank - 1;
    let y = g.add(Transpose { perm: back }, vec![y]);
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}

/// STFT (opset 17) of a real signal `[batch, length, 1]`: frames gathered by constant
/// indices, windowed, transformed by matrix products; `[batch, frames, bins, 2]`.
pub fn import_stft(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("signal is required") };
    let shape = x.ty.shape.clone();
    if x.ty.dtype != DType::F32 || shape.len() != 3 || shape[2] != 1 {
        unsupported!("STFT of a {} signal of shape {shape:?} (real f32 signals [batch, length, 1])", x.ty.dtype);
    }
    let Some(step) = const_int(cx, 1, "frame_step")? else { invalid!("frame_step is required") };
    let window = cx.input(2);
    let len = match (const_int(cx, 3, "frame_length")?, window) {
        (Some(l), _) => l,
        (None, Some(w)) if w.ty.rank() == 1 => w.ty.shape[0] as i64,
        _ => invalid!("STFT needs frame_length or a window"),
    };
    if let Some(w) = window {
        if w.ty.shape != [len as usize] || w.ty.dtype != DType::F32 {
            invalid!("window of shape {:?} for frames of {len}", w.ty.shape);
        }
    }
    let (b, n) = (shape[0], shape[1]);
    if step <= 0 || len <= 0 || len as usize > n {
        invalid!("frame_step {step}, frame_length {len} for a signal of {n}");
    }
    let (step, len) = (step as usize, len as usize);
    let frames = (n - len) / step + 1;
    let onesided = cx.int("onesided", 1)? != 0;
    let mut g = Sub::default();
    let sig = g.add(Reshape { shape: vec![b, n] }, vec![Src::In(0)]);
    let indices: Vec<usize> = (0..frames).flat_map(|f| (0..len).map(move |i| f * step + i)).collect();
    let mut fr = g.add(Gather { axis: 1, indices, indices_shape: vec![frames, len] }, vec![sig]);
    if window.is_some() {
        fr = g.bin(BinKind::Mul, fr, Src::In(2));
    }
    let (yr, yi, k) = transform(&mut g, fr, None, len, len, Kind::Forward { onesided });
    let Some(yi) = yi else { invalid!("a forward transform without an imaginary part") };
    let yr = g.add(Reshape { shape: vec![b, frames, k, 1] }, vec![yr]);
    let yi = g.add(Reshape { shape: vec![b, frames, k, 1] }, vec![yi]);
    let y = g.add(Concat { axis: 3 }, vec![yr, yi]);
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}
