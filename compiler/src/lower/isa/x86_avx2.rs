//! The x86-64 AVX2/FMA implementations (`kernels::x86_avx2`; the `x86-64-v3`
//! target): float and signed 8-bit convolutions with one group over weights packed
//! for a 6-pixel × 16-channel micro-kernel (`tinyops_runtime::kernels::pack::x86_avx2`,
//! the functions the kernel suite uses too), the 8-bit ones with the input zero point
//! folded into the bias; depthwise convolutions over the portable `kH,kW,C` filters;
//! the float GEMM of fully-connected layers.
//! Packed weights must be constants; anything else falls to the portable kernels.
//!
//! None of them runs in place on this target, although the runtime's in-place entries
//! accept the two quantised convolutions (the kernel suite runs them so): an in-place
//! convolution is called once per output row (`inplace::conv_rows`), and on the
//! short rows of the MLPerf models (1 pixel in the streaming wake word model, 5 in
//! KWS) the per-call setup outweighed the work. This host target spends arena for
//! latency: measured on x86-64-v3, SWW int8 45 → 22 µs, KWS int8 125 → 109 µs (the
//! arena 5,152 → 7,680 B and 11,840 → 16,768 B).

use super::portable::{depthwise_taps_by_channel, layout};
use super::{all_i8, any, as_is, no_scratch, Implementation, Isa};
use crate::ir::{Data, Tensor};
use crate::lower::kernel::{Family, Kernel};
use tinyops_runtime::kernels::pack::{self, x86_avx2 as px};
use tinyops_targets::Feature;

fn one_group(k: &Kernel) -> bool {
    matches!(k, Kernel::Conv2dF32 { p, .. } | Kernel::Conv2dQ8 { p, .. } if p.groups == 1)
}

/// A 1-D tensor of `data`.
pub(super) fn vector(data: Data) -> Tensor {
    let n = data.len();
    Tensor { shape: vec![n], data }
}

/// Float weights in micro-kernel blocks; the bias padded to a multiple of 8 channels
/// (zeros when the model has none).
fn conv_f32_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::Conv2dF32 { p, .. } = k else { return None };
    let Data::F32(w) = &reads.get(1).copied().flatten()?.data else { return None };
    let bias = match reads.get(2).copied().flatten().map(|t| &t.data) {
        None => vec![],
        Some(Data::F32(b)) => b.clone(),
        Some(_) => return None,
    };
    let mut wp = vec![0f32; px::conv_weights_f32_len_of(p)];
    px::conv_weights_f32_of(p, w, &mut wp).then_some(())?;
    let mut bp = vec![0f32; pack::round_to(p.out_c, 8)];
    for (o, b) in bp.iter_mut().zip(&bias) {
        *o = *b;
    }
    Some(vec![None, Some(vector(Data::F32(wp))), Some(vector(Data::F32(bp)))])
}

/// A quantised convolution's constant 8-bit weights (operand 1) and 32-bit bias
/// (operand 2; empty when the model has none), or `None` when they are not that.
pub(super) fn q8_weights_and_bias<'a>(reads: &[Option<&'a Tensor>]) -> Option<(&'a [i8], Vec<i32>)> {
    let Data::I8(w) = &reads.get(1).copied().flatten()?.data else { return None };
    let bias = match reads.get(2).copied().flatten().map(|t| &t.data) {
        None => vec![],
        Some(Data::I32(b)) => b.clone(),
        Some(_) => return None,
    };
    Some((w, bias))
}

/// 8-bit weights widened to 16-bit pairs in micro-kernel blocks; the bias with the
/// input zero point folded in, padded to a multiple of 8 channels.
fn conv_q8_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::Conv2dQ8 { p, x_zp, .. } = k else { return None };
    let (w, bias) = q8_weights_and_bias(reads)?;
    let kk = p.k_h * p.k_w * p.in_c;
    let mut wp = vec![0i8; px::conv_weights_q8_len(p.out_c, kk)];
    let mut bp = vec![0i32; pack::round_to(p.out_c, 8)];
    (px::conv_weights_q8(w, p.out_c, kk, &mut wp) && pack::fold_zero_point(w, &bias, p.out_c, kk, *x_zp, 8, &mut bp))
        .then(|| vec![None, Some(vector(Data::I8(wp))), Some(vector(Data::I32(bp)))])
}

fn conv_q8_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::Conv2dQ8 { p, .. } => px::conv_q8_scratch(p) * 4,
        _ => 0,
    }
}

const AVX2: &[Feature] = &[Feature::Avx2Fma];

/// The AVX2/FMA implementations.
pub static IMPLEMENTATIONS: &[Implementation] = &[
    Implementation {
        family: Family::Conv2dF32,
        isa: Isa::X86Avx2,
        requires: AVX2,
        unless: &[],
        layout: layout(Family::Conv2dF32),
        accepts: one_group,
        pack: conv_f32_pack,
        scratch: no_scratch,
        in_place: None,
    },
    Implementation {
        family: Family::DepthwiseConv2dF32,
        isa: Isa::X86Avx2,
        requires: AVX2,
        unless: &[],
        layout: layout(Family::DepthwiseConv2dF32),
        accepts: any,
        pack: depthwise_taps_by_channel,
        scratch: no_scratch,
        in_place: None,
    },
    Implementation {
        family: Family::Conv2dQ8,
        isa: Isa::X86Avx2,
        requires: AVX2,
        unless: &[],
        layout: layout(Family::Conv2dQ8),
        accepts: |k| one_group(k) && all_i8(k),
        pack: conv_q8_pack,
        scratch: conv_q8_scratch,
        in_place: None,
    },
    // Fully-connected layers with the operands as they are (the kernel vectorises the
    // plain layout and hands every other to its portable twin).
    Implementation {
        family: Family::GemmF32,
        isa: Isa::X86Avx2,
        requires: AVX2,
        unless: &[],
        layout: layout(Family::GemmF32),
        accepts: any,
        pack: as_is,
        scratch: no_scratch,
        in_place: None,
    },
    Implementation {
        family: Family::DepthwiseConv2dQ8,
        isa: Isa::X86Avx2,
        requires: AVX2,
        unless: &[],
        layout: layout(Family::DepthwiseConv2dQ8),
        accepts: all_i8,
        pack: depthwise_taps_by_channel,
        scratch: no_scratch,
        in_place: None,
    },
];
