//! The Arm DSP implementations (`kernels::arm_dsp`; Cortex-M4, M33, M55): signed
//! 8-bit convolutions, depthwise convolutions and fully-connected layers with packed
//! 16-bit multiply-accumulates, and average pooling with packed 16-bit sums. They read their weights interleaved for the output
//! channels they compute together and their bias with the input zero point folded in
//! (`tinyops_runtime::kernels::pack`, the same functions the kernel suite uses), so
//! their weights and bias must be constants.

use super::portable::{depthwise_taps_by_channel, layout};
use super::{all_i8, Implementation, Isa, Overlap};
use crate::ir::{Data, Tensor};
use crate::lower::kernel::{Family, Kernel};
use tinyops_runtime::kernels::{pack, Bias};
use tinyops_targets::Feature;

fn i8s(t: &Tensor) -> Option<Vec<i8>> {
    match &t.data {
        Data::I8(v) => Some(v.clone()),
        _ => None,
    }
}

fn i32s(t: Option<&Tensor>) -> Option<Vec<i32>> {
    match t.map(|t| &t.data) {
        None => Some(vec![]),
        Some(Data::I32(v)) => Some(v.clone()),
        Some(_) => None,
    }
}

fn vector_i8(v: Vec<i8>) -> Tensor {
    Tensor { shape: vec![v.len()], data: Data::I8(v) }
}

fn vector_i32(v: Vec<i32>) -> Tensor {
    Tensor { shape: vec![v.len()], data: Data::I32(v) }
}

fn conv_accepts(k: &Kernel) -> bool {
    matches!(k, Kernel::Conv2dQ8 { p, .. } if p.groups == 1) && all_i8(k)
}

/// Weights in channel pairs (`pack::arm_dsp_conv2d_weights`: two channels per word
/// when the receptive field fits one chunk, else interleaved), bias with the zero
/// point folded in followed by the layer's output-stage table
/// (`pack::arm_dsp_conv2d_bias`), so the kernel computes nothing per call from the
/// multipliers.
fn conv_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::Conv2dQ8 { p, x_zp, out, mults, shifts, .. } = k else { return None };
    let w = i8s(reads.get(1).copied().flatten()?)?;
    let bias = i32s(reads.get(2).copied().flatten())?;
    let paired = pack::arm_dsp_conv2d_paired(p, mults, shifts, out);
    let form = pack::arm_dsp_conv_form::of(p, mults, shifts, out);
    let mut wp = vec![0i8; pack::arm_dsp_conv2d_weights_len(p, paired)];
    let mut bp = vec![0i32; pack::arm_dsp_conv2d_bias_len(p, form)];
    (pack::arm_dsp_conv2d_weights(&w, p, paired, &mut wp)
        && pack::arm_dsp_conv2d_bias(&w, &bias, p, *x_zp, mults, shifts, out, &mut bp))
    .then(|| vec![None, Some(vector_i8(wp)), Some(vector_i32(bp))])
}

fn conv_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::Conv2dQ8 { p, .. } => pack::arm_dsp_conv2d_scratch(p) * 4,
        _ => 0,
    }
}

/// Filters widened to 16 bits in the kernel's channel order (as bytes), bias with the
/// zero point folded in, both padded to a multiple of 4 channels, the bias followed by
/// the layer's output-stage table (`pack::arm_dsp_depthwise_bias`).
fn depthwise_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::DepthwiseConv2dQ8 { p, x_zp, out, mults, shifts, .. } = k else { return None };
    let hwc = depthwise_taps_by_channel(k, reads)?;
    let w = i8s(hwc.get(1)?.as_ref()?)?;
    let bias = i32s(reads.get(2).copied().flatten())?;
    let taps = p.k_h * p.k_w;
    let form = pack::arm_dsp_depthwise_form::of(p, mults, shifts, out);
    let mut bp = vec![0i32; pack::arm_dsp_depthwise_bias_len(p, form)];
    let mut wp = vec![0i8; pack::arm_dsp_depthwise_weights_len(p.in_c, taps)];
    (pack::arm_dsp_depthwise_bias(&w, &bias, p, *x_zp, mults, shifts, out, &mut bp)
        && pack::arm_dsp_depthwise_weights(&w, p.in_c, taps, &mut wp))
    .then(|| vec![None, Some(vector_i8(wp)), Some(vector_i32(bp))])
}

fn depthwise_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::DepthwiseConv2dQ8 { p, .. } => pack::arm_dsp_depthwise_scratch(p) * 4,
        _ => 0,
    }
}

fn gemm_accepts(k: &Kernel) -> bool {
    matches!(k, Kernel::GemmQ8 { p, .. } if p.batch == 1 && !p.trans_a && p.trans_b && p.bias == Bias::PerColumn)
        && all_i8(k)
}

/// Weights in column pairs sharing words, blocks of four columns
/// (`pack::arm_dsp_gemm_weights`), bias padded to match; a small layer the kernel runs
/// with the portable loops (`pack::arm_dsp_gemm_rolled`) takes both as they are.
fn gemm_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::GemmQ8 { p, .. } = k else { return None };
    if pack::arm_dsp_gemm_rolled(p) {
        return super::as_is(k, reads);
    }
    let w = i8s(reads.get(1).copied().flatten()?)?;
    let mut bias = i32s(reads.get(2).copied().flatten())?;
    let mut wp = vec![0i8; pack::arm_dsp_gemm_weights_len(p.n, p.k)];
    pack::arm_dsp_gemm_weights(&w, p.n, p.k, &mut wp).then_some(())?;
    bias.resize(pack::round_to(p.n, 4), 0);
    Some(vec![None, Some(vector_i8(wp)), Some(vector_i32(bias))])
}

fn gemm_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::GemmQ8 { p, .. } => pack::arm_dsp_gemm_scratch(p) * 4,
        _ => 0,
    }
}

fn pool_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::AvgPool2dQ8 { p, .. } => p.channels * 4,
        _ => 0,
    }
}

/// The compile-time form of an Arm DSP convolution or depthwise convolution
/// (`pack::arm_dsp_conv_form::of`, `pack::arm_dsp_depthwise_form::of`, which the
/// kernels check it against).
pub(super) fn form(k: &Kernel) -> Option<u8> {
    match k {
        Kernel::Conv2dQ8 { p, out, mults, shifts, .. } => Some(pack::arm_dsp_conv_form::of(p, mults, shifts, out)),
        Kernel::DepthwiseConv2dQ8 { p, out, mults, shifts, .. } => {
            Some(pack::arm_dsp_depthwise_form::of(p, mults, shifts, out))
        }
        _ => None,
    }
}

const DSP: &[Feature] = &[Feature::ArmDsp];

/// The DSP implementations.
pub static IMPLEMENTATIONS: &[Implementation] = &[
    Implementation {
        family: Family::Conv2dQ8,
        isa: Isa::ArmDsp,
        requires: DSP,
        unless: &[],
        layout: layout(Family::Conv2dQ8),
        accepts: conv_accepts,
        pack: conv_pack,
        scratch: conv_scratch,
        in_place: Some(Overlap::ConvRows),
    },
    Implementation {
        family: Family::DepthwiseConv2dQ8,
        isa: Isa::ArmDsp,
        requires: DSP,
        unless: &[],
        layout: layout(Family::DepthwiseConv2dQ8),
        accepts: all_i8,
        pack: depthwise_pack,
        scratch: depthwise_scratch,
        in_place: Some(Overlap::ConvRows),
    },
    Implementation {
        family: Family::GemmQ8,
        isa: Isa::ArmDsp,
        requires: DSP,
        // On Helium `arm_mve::gemm_q8` takes the same layers (AD int8 on cortex-m55,
        // `tinyops bench`: 50,536 instructions with it, 179,520 with the portable
        // kernel LLVM vectorises with MVE, which already did better than this one).
        unless: &[Feature::ArmMve],
        layout: None,
        accepts: gemm_accepts,
        pack: gemm_pack,
        scratch: gemm_scratch,
        in_place: None,
    },
    Implementation {
        family: Family::AvgPool2dQ8,
        isa: Isa::ArmDsp,
        requires: DSP,
        // On Helium LLVM's MVE code for the portable kernel does better on the
        // MLPerf models' global pools (cortex-m55, `tinyops bench`: KWS int8
        // 1,286,783 instructions with it, 1,292,698 with this kernel; VWW int8
        // 6,864,773 against 6,872,938).
        unless: &[Feature::ArmMve],
        layout: layout(Family::AvgPool2dQ8),
        accepts: all_i8,
        pack: super::as_is,
        scratch: pool_scratch,
        in_place: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use tinyops_runtime::kernels::Conv2d;
    use tinyops_runtime::quant::QOut;

    #[test]
    fn convolution_weights_pair_up_and_the_zero_point_folds_into_the_bias() {
        let (p, k) = crate::lower::isa::pointwise_q8_fixture();
        assert!(conv_accepts(&k));
        let w = Tensor::new(vec![3, 1, 1, 2], Data::I8(vec![1, 2, 3, 4, 5, 6])).unwrap();
        let b = Tensor::new(vec![3], Data::I32(vec![100, 200, 300])).unwrap();
        let packed = conv_pack(&k, &[None, Some(&w), Some(&b)]).unwrap();
        let wp = packed[1].as_ref().unwrap();
        // A small receptive field: two channels per word (the even one as unsigned
        // bytes, `w ^ 0x80`), inputs padded to 8, channels to pairs: (c0, c1) then
        // (c2, zero channel), each two groups of two words.
        let u = |v: i8| (v as u8 ^ 0x80) as i8;
        let (z, pad) = (u(0), [u(0), 0, u(0), 0]);
        let mut want = vec![u(1), 3, z, 0, u(2), 4, z, 0];
        want.extend(pad.iter().chain(&pad));
        want.extend([u(5), 0, z, 0, u(6), 0, z, 0]);
        want.extend(pad.iter().chain(&pad));
        assert_eq!(wp.data, Data::I8(want));
        // The bias operand: the folded bias, then the output-stage table of the layer's
        // form, as long as the kernel reads it.
        let Kernel::Conv2dQ8 { x_zp, out, mults, shifts, .. } = &k else { unreachable!() };
        let form = pack::arm_dsp_conv_form::of(&p, mults, shifts, out);
        let bias_of = |packed: &[Option<Tensor>]| match &packed[2].as_ref().unwrap().data {
            Data::I32(v) => v.clone(),
            _ => panic!("the bias operand is i32"),
        };
        let folded = bias_of(&packed);
        assert_eq!(folded.len(), pack::arm_dsp_conv2d_bias_len(&p, form));
        assert!(folded.len() > 4, "the table follows the bias");
        assert_eq!(folded[..4], [100 - 30, 200 - 70, 300 - 110, 0]);
        let mut again = vec![0; folded.len()];
        let ws = [1i8, 2, 3, 4, 5, 6];
        assert!(pack::arm_dsp_conv2d_bias(&ws, &[100, 200, 300], &p, *x_zp, mults, shifts, out, &mut again));
        assert_eq!(folded, again);
        // No bias: the folded zero point alone.
        let packed = conv_pack(&k, &[None, Some(&w), None]).unwrap();
        assert_eq!(bias_of(&packed)[..4], [-30, -70, -110, 0]);
        // Run-time weights rule the implementation out.
        assert!(conv_pack(&k, &[None, None, Some(&b)]).is_none());
        // A receptive field beyond one chunk (3·3·64 = 576 inputs): interleaved.
        let wide = Conv2d { in_c: 64, k_h: 3, k_w: 3, pad_top: 1, pad_left: 1, ..p };
        let Kernel::Conv2dQ8 { out, mults, shifts, .. } = &k else { unreachable!() };
        assert!(!pack::arm_dsp_conv2d_paired(&wide, mults, shifts, out));
        assert!(pack::arm_dsp_conv2d_paired(&p, mults, shifts, out));
        assert_eq!(pack::arm_dsp_conv2d_weights_len(&wide, false), 4 * 576);
        // An output stage that does not fold (a clamp narrower than i8): interleaved.
        assert!(!pack::arm_dsp_conv2d_paired(&p, mults, shifts, &QOut { zp: 0, min: 0, max: 127 }));
    }

    #[test]
    fn the_convolution_form_follows_the_shape_and_the_output_stage() {
        use pack::arm_dsp_conv_form::*;
        let (p, k) = crate::lower::isa::pointwise_q8_fixture();
        // 2 inputs (not a multiple of 4), 3 outputs (odd), an output stage that folds.
        assert_eq!(form(&k), Some(PAIRED | ROW | FOLD | ODD));
        let Kernel::Conv2dQ8 { out, mults, shifts, .. } = &k else { unreachable!() };
        let with = |p: Conv2d, out: &QOut| pack::arm_dsp_conv_form::of(&p, mults, shifts, out);
        // 64 inputs, 4 outputs, a 3×3 window: direct, too wide to pair, still whole rows.
        let wide = Conv2d { in_c: 64, out_c: 4, k_h: 3, k_w: 3, pad_top: 1, pad_left: 1, ..p };
        assert_eq!(with(wide, out), DIRECT | ROW | FOLD);
        // A clamp narrower than i8: neither paired nor whole rows nor plain.
        assert_eq!(with(wide, &QOut { zp: 0, min: 0, max: 127 }), DIRECT);
        // One output channel: no full pair for the whole-row routine.
        assert_eq!(with(Conv2d { out_c: 1, ..wide }, out), DIRECT | PLAIN);
        // The depthwise form: full groups of four fold; a tail past them.
        let dw = Conv2d { in_c: 6, out_c: 6, groups: 6, k_h: 3, k_w: 3, ..p };
        assert_eq!(pack::arm_dsp_depthwise_form::of(&dw, mults, shifts, out), {
            use pack::arm_dsp_depthwise_form::{ROW, TAIL};
            ROW | TAIL
        });
    }
}
