//! The portable implementations (`kernels::portable`): one per family, plain Rust,
//! any target. Depthwise convolutions read their filters as `kH,kW,C`.

use super::{any, as_is, Implementation, Isa, Overlap};
use crate::ir::{Layout, Tensor};
use crate::lower::kernel::{Family, Kernel};

/// Depthwise filters `C,kH,kW,1` (the IR's `O,kH,kW,I/g`) as `kH,kW,C`: the channels
/// of one tap side by side, as the depthwise kernels walk them.
pub fn depthwise_taps_by_channel(_: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let mut out = vec![None; reads.len()];
    if let Some(Some(w)) = reads.get(1) {
        let (c, taps) = (w.shape[0], w.numel() / w.shape[0].max(1));
        let order = (0..w.numel()).map(|i| (i % c) * taps + i / c);
        out[1] = Some(Tensor { shape: vec![w.shape[1], w.shape[2], c], data: w.data.gather(order) });
    }
    Some(out)
}

/// Scratch of the portable kernels: one output pixel of i32 accumulators for the
/// quantised convolutions and average pool, the gates and state of an LSTM.
fn scratch(k: &Kernel) -> usize {
    match k {
        Kernel::Conv2dQ8 { p, .. } | Kernel::DepthwiseConv2dQ8 { p, .. } => p.out_c * 4,
        Kernel::AvgPool2dQ8 { p, .. } => p.channels * 4,
        Kernel::LstmF32 { p } => p.scratch_len() * 4,
        Kernel::SvmClassifyF32 { p } if p.probabilities => (p.classes * p.classes + p.classes) * 4,
        _ => 0,
    }
}

/// The layout a family's kernels read (channels-last for every spatial one).
pub const fn layout(family: Family) -> Option<Layout> {
    match family {
        Family::Conv2dF32
        | Family::DepthwiseConv2dF32
        | Family::Conv2dQ8
        | Family::DepthwiseConv2dQ8
        | Family::Conv2dQ8I32
        | Family::MaxPool2dF32
        | Family::AvgPool2dF32
        | Family::MaxPool2dQ8
        | Family::AvgPool2dQ8 => Some(Layout::ChannelsLast),
        _ => None,
    }
}

/// The portable implementation of a family.
const fn portable(family: Family) -> Implementation {
    let pack = match family {
        Family::DepthwiseConv2dF32 | Family::DepthwiseConv2dQ8 => depthwise_taps_by_channel,
        _ => as_is,
    };
    Implementation {
        family,
        isa: Isa::Portable,
        requires: &[],
        unless: &[],
        layout: layout(family),
        accepts: any,
        pack,
        scratch,
        in_place: match family {
            Family::Conv2dQ8 | Family::DepthwiseConv2dQ8 | Family::Conv2dF32 | Family::DepthwiseConv2dF32 => {
                Some(Overlap::ConvRows)
            }
            Family::AddQ8 | Family::BinaryF32 => Some(Overlap::Elementwise),
            _ => None,
        },
    }
}

macro_rules! portable_all {
    ($($f:ident),* $(,)?) => {
        /// The portable implementation of every family.
        pub static IMPLEMENTATIONS: &[Implementation] = &[$(portable(Family::$f)),*];
    };
}

portable_all!(
    Conv2dF32,
    DepthwiseConv2dF32,
    DeformConvF32,
    RoiAlignF32,
    GemmF32,
    BinaryF32,
    BinaryInt,
    UnaryInt,
    Bitwise,
    Cumulative,
    BitCast,
    ResampleF32,
    ScatterElements,
    ScatterNd,
    GatherNd,
    TopK,
    TreeEnsemble,
    MlClassifyF32,
    MlTransformF32,
    SvmKernelF32,
    SvmClassifyF32,
    ClampF32,
    UnaryF32,
    SoftmaxF32,
    LogSoftmaxF32,
    ChannelAffineF32,
    MaxPool2dF32,
    AvgPool2dF32,
    MeanAxisF32,
    MaxAxisF32,
    LstmF32,
    ReduceF32,
    UnaryFloat,
    BinaryFloat,
    ReduceFloat,
    SoftmaxFloat,
    GemmFloat,
    ArgReduceF32,
    Compare,
    Logic,
    Not,
    ClassifyF32,
    Select,
    Cast,
    CastToBool,
    CastFromBool,
    CastFromHalf,
    CastToHalf,
    CastFormat,
    LayerNormF32,
    Trilu,
    Nll,
    GatherIndexed,
    GatherElements,
    Copy,
    Fill,
    CopyStrided,
    Gather,
    Quantize,
    QuantizeStrided,
    Dequantize,
    DequantizeI32,
    Conv2dQ8,
    DepthwiseConv2dQ8,
    Conv2dQ8I32,
    GemmQ8,
    GemmQ8I32,
    AddQ8,
    MulQ8,
    MaxPool2dQ8,
    AvgPool2dQ8,
    MeanAxisQ8,
    SoftmaxQ8,
    LookupQ8,
);
