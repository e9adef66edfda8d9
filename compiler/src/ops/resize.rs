//! Resize (opset 11 and later) in every mode: nearest (four rounding modes), linear and
//! cubic, antialiased or not, with every coordinate transformation, `exclude_outside`,
//! `axes` and `keep_aspect_ratio_policy`. The op is separable, so the compiler turns
//! it into per-axis tables of input indices and weights (computed in f64 as the ONNX
//! reference does) that one runtime kernel, `resample_f32`, applies.

use super::util::{axis, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::portable::OUTSIDE;
use tinyops_runtime::kernels::{Resample, MAX_RANK};

/// How output coordinates map onto input coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coords {
    /// `(y + ½)/s − ½`.
    HalfPixel,
    /// Half pixel, centred on the input when the output size was rounded.
    HalfPixelSymmetric,
    /// Half pixel, but −½ for an output of one element.
    PytorchHalfPixel,
    /// `y · (in − 1)/(out − 1)`.
    AlignCorners,
    /// `y / s`.
    Asymmetric,
    /// Within the region of interest `[start, end]` (fractions of `in − 1`).
    TfCropAndResize,
}

/// How the weights of one output coordinate are made from its fractional position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Filter {
    /// Nearest: `(prefer_ceil_at_half, floor_only, ceil_only)` as ONNX `nearest_mode`.
    Nearest(NearestMode),
    /// Two-tap linear (or the widened triangle when antialiased).
    Linear,
    /// Four-tap cubic with coefficient `a` (or widened when antialiased).
    Cubic(f64),
}

/// ONNX `nearest_mode`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NearestMode {
    /// Halves round down.
    RoundPreferFloor,
    /// Halves round up.
    RoundPreferCeil,
    /// Always down.
    Floor,
    /// Always up.
    Ceil,
}

/// Resize of an f32 tensor to a static output shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Resize {
    /// Scale factor per axis (output over input; 1 for untouched axes).
    pub scales: Vec<f64>,
    /// Output extents.
    pub out: Vec<usize>,
    /// Region of interest per axis (`tf_crop_and_resize`), begins then ends.
    pub roi: Option<Vec<f64>>,
    /// Coordinate transformation.
    pub coords: Coords,
    /// Interpolation.
    pub filter: Filter,
    /// Widen the filter when downsampling.
    pub antialias: bool,
    /// Taps outside the input get weight 0 (the rest renormalised).
    pub exclude_outside: bool,
    /// The value outside the region of interest.
    pub extrapolation: f32,
}

/// One axis' taps: `taps` entries per output coordinate.
struct AxisTaps {
    taps: usize,
    index: Vec<u32>,
    weight: Vec<f32>,
}

fn cubic(ratio: f64, a: f64) -> [f64; 4] {
    let r = ratio;
    let s = 1.0 - r;
    [
        ((a * (r + 1.0) - 5.0 * a) * (r + 1.0) + 8.0 * a) * (r + 1.0) - 4.0 * a,
        ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0,
        ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0,
        ((a * (s + 1.0) - 5.0 * a) * (s + 1.0) + 8.0 * a) * (s + 1.0) - 4.0 * a,
    ]
}

fn normalised(v: Vec<f64>) -> Vec<f64> {
    let sum: f64 = v.iter().sum();
    v.into_iter().map(|c| c / sum).collect()
}

impl Resize {
    /// The weights of one output coordinate whose source position has fractional part
    /// `ratio` (1 for an integral position), for an axis scaled by `scale`.
    fn coeffs(&self, ratio: f64, scale: f64) -> Vec<f64> {
        match self.filter {
            Filter::Nearest(mode) => {
                if ratio.fract() == 0.0 {
                    return vec![0.0, 1.0];
                }
                let up = match mode {
                    NearestMode::RoundPreferFloor => ratio > 0.5,
                    NearestMode::RoundPreferCeil => ratio >= 0.5,
                    NearestMode::Floor => false,
                    NearestMode::Ceil => true,
                };
                if up {
                    vec![0.0, 1.0]
                } else {
                    vec![1.0, 0.0]
                }
            }
            Filter::Linear if self.antialias => {
                let s = scale.min(1.0);
                let start = (-1.0 / s).floor() as i64 + 1;
                let n = 2 - 2 * start;
                normalised((start..start + n).map(|i| (1.0 - ((i as f64 - ratio) * s).abs()).clamp(0.0, 1.0)).collect())
            }
            Filter::Linear => vec![1.0 - ratio, ratio],
            Filter::Cubic(a) if self.antialias => {
                let s = scale.min(1.0);
                let start = (-2.0 / s).floor() as i64 + 1;
                let end = 2 - start;
                let f = |x: f64| {
                    let x = x.abs();
                    let (x2, x3) = (x * x, x * x * x);
                    if x <= 1.0 {
                        (a + 2.0) * x3 - (a + 3.0) * x2 + 1.0
                    } else if x < 2.0 {
                        a * x3 - 5.0 * a * x2 + 8.0 * a * x - 4.0 * a
                    } else {
                        0.0
                    }
                };
                normalised((start..end).map(|i| f(s * (i as f64 - ratio))).collect())
            }
            Filter::Cubic(a) => cubic(ratio, a).to_vec(),
        }
    }

    /// The taps of axis `d` from `input` to `self.out[d]` elements.
    fn axis_taps(&self, d: usize, input: usize) -> AxisTaps {
        let (scale, out) = (self.scales[d], self.out[d]);
        let r = self.scales.len();
        let roi = self.roi.as_ref().map(|v| (v[d], v[d + r]));
        let trivial_roi = roi.is_none_or(|(a, b)| (a - 0.0).abs() < 1e-9 && (b - 1.0).abs() < 1e-9);
        if (scale - 1.0).abs() <= 1e-9 && out == input && trivial_roi {
            return AxisTaps { taps: 1, index: (0..out as u32).collect(), weight: vec![1.0; out] };
        }
        let (in_f, out_f) = (input as f64, scale * input as f64);
        let mut rows: Vec<(Vec<i64>, Vec<f64>, bool)> = Vec::with_capacity(out);
        for y in 0..out {
            let y = y as f64;
            let mut outside = false;
            let x = match self.coords {
                Coords::AlignCorners if out_f == 1.0 => 0.0,
                Coords::AlignCorners => y * (in_f - 1.0) / (out_f - 1.0),
                Coords::Asymmetric => y / scale,
                Coords::TfCropAndResize => {
                    let (a, b) = roi.unwrap_or((0.0, 1.0));
                    let x = if out_f == 1.0 {
                        (b - a) * (in_f - 1.0) / 2.0
                    } else {
                        y * (b - a) * (in_f - 1.0) / (out_f - 1.0)
                    } + a * (in_f - 1.0);
                    outside = x < 0.0 || x > in_f - 1.0;
                    x
                }
                Coords::PytorchHalfPixel if out_f == 1.0 => -0.5,
                Coords::PytorchHalfPixel | Coords::HalfPixel => (y + 0.5) / scale - 0.5,
                Coords::HalfPixelSymmetric => {
                    let adjustment = out as f64 / out_f;
                    let offset = in_f / 2.0 * (1.0 - adjustment);
                    offset + (y + 0.5) / scale - 0.5
                }
            };
            let ratio = if x == x.floor() { 1.0 } else { x - x.floor() };
            let mut c = self.coeffs(ratio, scale);
            let n = c.len() as i64;
            let pad = (n + 1) / 2;
            let xp = x + pad as f64;
            let pp = xp.floor();
            let frac = xp - pp;
            let off = if n % 2 == 0 {
                if frac == 0.0 {
                    -(n / 2)
                } else {
                    -(n / 2) + 1
                }
            } else {
                let base = -((n - 1) / 2);
                if frac <= 0.5 {
                    base
                } else {
                    base + 1
                }
            };
            let start = pp as i64 + off;
            let idx: Vec<i64> = (0..n).map(|k| start + k - pad).collect();
            if self.exclude_outside {
                for (ci, &i) in c.iter_mut().zip(&idx) {
                    if i < 0 || i >= input as i64 {
                        *ci = 0.0;
                    }
                }
                let sum: f64 = c.iter().sum();
                let sum = if sum == 0.0 { 1.0 } else { sum };
                c.iter_mut().for_each(|v| *v /= sum);
            }
            rows.push((idx, c, outside));
        }
        let taps = rows.first().map_or(1, |r| r.0.len()).max(1);
        let mut t = AxisTaps { taps, index: Vec::with_capacity(out * taps), weight: Vec::with_capacity(out * taps) };
        for (idx, c, outside) in rows {
            for k in 0..taps {
                let i = idx.get(k).copied().unwrap_or(0).clamp(0, input as i64 - 1) as u32;
                t.index.push(if outside && k == 0 { OUTSIDE } else { i });
                t.weight.push(c.get(k).copied().unwrap_or(0.0) as f32);
            }
        }
        t
    }

    fn tables(&self, input: &[usize]) -> (Resample, Vec<u32>, Vec<f32>) {
        let rank = input.len();
        let mut p = Resample {
            rank,
            input: [1; MAX_RANK],
            output: [1; MAX_RANK],
            taps: [1; MAX_RANK],
            start: [0; MAX_RANK],
            extrapolation: self.extrapolation,
        };
        let (mut index, mut weight) = (vec![], vec![]);
        for d in 0..rank {
            let t = self.axis_taps(d, input[d]);
            p.input[d] = input[d];
            p.output[d] = self.out[d];
            p.taps[d] = t.taps;
            p.start[d] = index.len();
            index.extend(t.index);
            weight.extend(t.weight);
        }
        (p, index, weight)
    }
}

impl OpDef for Resize {
    fn name(&self) -> &'static str {
        "resize"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("out", super::util::list(&self.out)),
            ("filter", format!("{:?}", self.filter)),
            ("coords", format!("{:?}", self.coords)),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != DType::F32 {
            unsupported!("Resize of {} tensors", x.dtype);
        }
        if x.rank() != self.out.len() || x.rank() > MAX_RANK || x.rank() == 0 {
            invalid!("Resize of rank {} to {} axes", x.rank(), self.out.len());
        }
        Ok(vec![TensorType::new(x.dtype, self.out.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let (p, index, weight) = self.tables(&x.shape);
        let mut y = vec![0f32; numel(&out[0].shape)];
        tinyops_runtime::kernels::portable::resample_f32(&p, &index, &weight, &x.data.to_f32_vec(), &mut y);
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F32(y) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        let (p, index, weight) = self.tables(&x.shape);
        Ok(vec![invoke(Kernel::ResampleF32 { p, index, weight }, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Resize (opset 11+): output size from constant `sizes` or `scales` (and `roi`).
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input X is required") };
    let shape = &x.ty.shape;
    let r = shape.len();
    let axes: Vec<usize> = match cx.ints("axes")? {
        Some(a) => a.iter().map(|&v| axis(v, r)).collect::<OpResult<_>>()?,
        None => (0..r).collect(),
    };
    let roi_in = cx.const_input(1, "roi")?.map(|t| (0..t.numel()).map(|i| t.data.get_f64(i)).collect::<Vec<f64>>());
    let scales_in = cx.const_input(2, "scales")?.filter(|t| t.numel() > 0);
    let sizes_in = cx.const_ints(3, "sizes")?.filter(|v| !v.is_empty());
    let mut scales = vec![1.0f64; r];
    let mut out = shape.clone();
    match (scales_in, sizes_in) {
        (Some(s), None) => {
            if s.numel() != axes.len() {
                invalid!("{} scales for {} axes", s.numel(), axes.len());
            }
            for (i, &d) in axes.iter().enumerate() {
                // The scale as stored (f32), widened: the reference's arithmetic.
                let v = s.data.get_f64(i);
                if v <= 0.0 {
                    invalid!("scale {v} is not positive");
                }
                scales[d] = v;
                out[d] = (v * shape[d] as f64) as usize;
            }
        }
        (None, Some(sz)) => {
            if sz.len() != axes.len() {
                invalid!("{} sizes for {} axes", sz.len(), axes.len());
            }
            for (i, &d) in axes.iter().enumerate() {
                if sz[i] <= 0 {
                    invalid!("size {} is not positive", sz[i]);
                }
                out[d] = sz[i] as usize;
                scales[d] = sz[i] as f64 / shape[d] as f64;
            }
            let policy = cx.string("keep_aspect_ratio_policy", "stretch")?;
            if policy != "stretch" {
                let it = axes.iter().map(|&d| scales[d]);
                let s = match policy.as_str() {
                    "not_larger" => it.fold(f64::INFINITY, f64::min),
                    "not_smaller" => it.fold(f64::NEG_INFINITY, f64::max),
                    p => invalid!("keep_aspect_ratio_policy `{p}`"),
                };
                for &d in &axes {
                    scales[d] = s;
                    out[d] = (s * shape[d] as f64 + 0.5) as usize;
                }
            }
        }
        (Some(_), Some(_)) => invalid!("both scales and sizes are given"),
        (None, None) => invalid!("neither scales nor sizes is given"),
    }
    if out.contains(&0) {
        unsupported!("Resize to an empty output {out:?}");
    }
    let coords = match cx.string("coordinate_transformation_mode", "half_pixel")?.as_str() {
        "half_pixel" => Coords::HalfPixel,
        "half_pixel_symmetric" => Coords::HalfPixelSymmetric,
        "pytorch_half_pixel" => Coords::PytorchHalfPixel,
        "align_corners" => Coords::AlignCorners,
        "asymmetric" => Coords::Asymmetric,
        "tf_crop_and_resize" => Coords::TfCropAndResize,
        m => invalid!("coordinate_transformation_mode `{m}`"),
    };
    let roi = match (coords, roi_in) {
        (Coords::TfCropAndResize, Some(v)) if v.len() == 2 * axes.len() => {
            let mut full = vec![0.0; r];
            full.extend(vec![1.0; r]);
            for (i, &d) in axes.iter().enumerate() {
                full[d] = v[i];
                full[r + d] = v[axes.len() + i];
            }
            Some(full)
        }
        (Coords::TfCropAndResize, _) => invalid!("tf_crop_and_resize needs a roi of 2 values per axis"),
        _ => None,
    };
    let filter = match cx.string("mode", "nearest")?.as_str() {
        "nearest" => Filter::Nearest(match cx.string("nearest_mode", "round_prefer_floor")?.as_str() {
            "round_prefer_floor" => NearestMode::RoundPreferFloor,
            "round_prefer_ceil" => NearestMode::RoundPreferCeil,
            "floor" => NearestMode::Floor,
            "ceil" => NearestMode::Ceil,
            m => invalid!("nearest_mode `{m}`"),
        }),
        "linear" => Filter::Linear,
        "cubic" => Filter::Cubic(cx.float("cubic_coeff_a", -0.75)? as f64),
        m => invalid!("mode `{m}`"),
    };
    let antialias = cx.int("antialias", 0)? != 0;
    if antialias && matches!(filter, Filter::Nearest(_)) {
        invalid!("antialias with nearest mode");
    }
    Ok(Lowered::op(
        Resize {
            scales,
            out,
            roi,
            coords,
            filter,
            antialias,
            exclude_outside: cx.int("exclude_outside", 0)? != 0,
            extrapolation: cx.float("extrapolation_value", 0.0)?,
        },
        1,
    ))
}
