//! Integer ops on 8-bit quantised tensors: convolution, fully-connected, add/mul,
//! pooling, softmax and table lookups (sigmoid, tanh, leaky ReLU, requantisation).
//!
//! They come from two places: the `quantize` pass, which recognises
//! DequantizeLinear → float op → QuantizeLinear chains (QDQ models, and QOperator ops
//! which import as such chains), and the ConvInteger/MatMulInteger importers. Each op
//! keeps its quantisation parameters as attributes; the requantisation multipliers
//! derived from them are computed at compile time ([`requant`]). The reference
//! semantics (`eval`) restate the runtime's integer formulas exactly.

pub mod binary;
pub mod conv;
pub mod gemm;
pub mod pool;
pub mod qoperator;
pub mod requant;
pub mod softmax;
pub mod table;

use super::activation::Act;
use crate::ir::{DType, Quant, TensorType};
use tinyops_runtime::quant::QOut;

/// Per-tensor quantisation of an activation: element type, scale and zero point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParam {
    /// `i8` or `u8`.
    pub dtype: DType,
    /// Scale.
    pub scale: f32,
    /// Zero point.
    pub zp: i32,
}

impl QParam {
    /// The parameters of a per-tensor quantised type.
    pub fn of(t: &TensorType) -> Option<QParam> {
        let q = t.quant.as_ref()?;
        (q.is_per_tensor() && t.dtype.is_quantised_int()).then(|| QParam {
            dtype: t.dtype,
            scale: q.scale[0],
            zp: q.zero_point[0],
        })
    }

    /// The IR type of a tensor with these parameters.
    pub fn ty(&self, shape: Vec<usize>) -> TensorType {
        TensorType { dtype: self.dtype, shape, quant: Some(Quant::per_tensor(self.scale, self.zp)) }
    }

    /// The representable range.
    pub fn range(&self) -> (i32, i32) {
        match self.dtype {
            DType::U8 => (0, 255),
            _ => (-128, 127),
        }
    }

    /// Quantises a real value (round half to even, saturating).
    pub fn quantize(&self, v: f32) -> i32 {
        let (lo, hi) = self.range();
        let q = (v as f64 / self.scale as f64).round_ties_even() + self.zp as f64;
        if q.is_nan() {
            self.zp
        } else {
            q.clamp(lo as f64, hi as f64) as i32
        }
    }

    /// The real value of a quantised one.
    pub fn real(&self, q: i32) -> f64 {
        (q - self.zp) as f64 * self.scale as f64
    }

    /// IR text.
    pub fn text(&self) -> String {
        format!("{}(s={:e},zp={})", self.dtype, self.scale, self.zp)
    }
}

/// The output stage of a kernel writing `y` with a fused real-valued clamp:
/// (zero point, smallest, largest) quantised value.
pub fn out_stage(y: &QParam, act: &Act) -> (i32, i32, i32) {
    let (lo, hi) = y.range();
    let min = if act.min == f32::NEG_INFINITY { lo } else { y.quantize(act.min).max(lo) };
    let max = if act.max == f32::INFINITY { hi } else { y.quantize(act.max).min(hi) };
    (y.zp, min, max.max(min))
}

/// The runtime's output stage.
pub fn qout(y: &QParam, act: &Act) -> QOut {
    let (zp, min, max) = out_stage(y, act);
    QOut { zp, min, max }
}

/// Requantisation multipliers `x_scale · w_scale[c] / y_scale` for `n` output channels
/// (one weight scale, or one per channel); none for raw i32 results. Convolutions and
/// fully-connected layers share it.
pub fn channel_multipliers(
    x_scale: f32,
    w_scales: &[f32],
    y: Option<&QParam>,
    n: usize,
) -> crate::ops::OpResult<Vec<requant::Multiplier>> {
    let Some(y) = y else { return Ok(vec![]) };
    (0..n)
        .map(|c| {
            let ws = if w_scales.len() == 1 { w_scales[0] } else { w_scales[c] };
            requant::Multiplier::new(x_scale as f64 * ws as f64 / y.scale as f64)
                .map_err(crate::ops::OpError::Unsupported)
        })
        .collect()
}

/// IR text of weight scales: the value, or `<per>×N` when there is one per channel.
pub fn scales_text(w_scales: &[f32], per: &str) -> String {
    match w_scales {
        [s] => format!("{s:e}"),
        _ => format!("{per}×{}", w_scales.len()),
    }
}
