//! The Helium implementations (`kernels::arm_mve`; Cortex-M55): signed 8-bit
//! one-group convolutions (four output channels per `vmladava.s8` pass, weights in
//! blocks of 4 channels and chunks of 16 inputs), fully-connected layers (run as the
//! 1×1 convolution they are, same layout) and depthwise convolutions (8 channels per
//! vector in 16-bit lanes, weights in groups of 8 channels per tap).
//! They read their bias with the input zero point folded in
//! (`tinyops_runtime::kernels::pack`, the same functions the kernel suite uses), so
//! their weights and bias must be constants.

use super::portable::{depthwise_taps_by_channel, layout};
use super::{all_i8, Implementation, Isa, Overlap};
use crate::ir::{Data, Tensor};
use crate::lower::kernel::{Family, Kernel};
use tinyops_runtime::kernels::{pack, Bias};
use tinyops_targets::Feature;

fn conv_accepts(k: &Kernel) -> bool {
    matches!(k, Kernel::Conv2dQ8 { p, .. } if p.groups == 1) && all_i8(k)
}

/// Weights in blocks of 4 channels, chunks of 16 inputs
/// (`pack::arm_mve_conv2d_weights`), bias with the zero point folded in, padded to a
/// multiple of 4 channels, then the vector output-stage table when the layer takes it
/// (`pack::arm_mve::conv2d_bias`).
fn conv_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::Conv2dQ8 { p, x_zp, out, mults, shifts, .. } = k else { return None };
    let Data::I8(w) = &reads.get(1).copied().flatten()?.data else { return None };
    let bias = match reads.get(2).copied().flatten().map(|t| &t.data) {
        None => vec![],
        Some(Data::I32(v)) => v.clone(),
        Some(_) => return None,
    };
    let mut wp = vec![0i8; pack::arm_mve_conv2d_weights_len(p)];
    let mut bp = vec![0i32; pack::arm_mve::conv2d_bias_len(w, &bias, p, *x_zp, mults, shifts, out)];
    (pack::arm_mve_conv2d_weights(w, p, &mut wp)
        && pack::arm_mve::conv2d_bias(w, &bias, p, *x_zp, mults, shifts, out, &mut bp))
    .then(|| {
        vec![
            None,
            Some(Tensor { shape: vec![wp.len()], data: Data::I8(wp) }),
            Some(Tensor { shape: vec![bp.len()], data: Data::I32(bp) }),
        ]
    })
}

/// Filters in groups of 8 channels per tap (`pack::arm_mve_depthwise_weights`), bias
/// with the zero point folded in over all taps, padded to a multiple of 8 channels,
/// then the vector output-stage table when the layer takes it
/// (`pack::arm_mve::depthwise_bias`).
fn depthwise_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::DepthwiseConv2dQ8 { p, x_zp, out, mults, shifts, .. } = k else { return None };
    let hwc = depthwise_taps_by_channel(k, reads)?;
    let Data::I8(w) = &hwc.get(1)?.as_ref()?.data else { return None };
    let bias = match reads.get(2).copied().flatten().map(|t| &t.data) {
        None => vec![],
        Some(Data::I32(v)) => v.clone(),
        Some(_) => return None,
    };
    let taps = p.k_h * p.k_w;
    let mut bp = vec![0i32; pack::arm_mve::depthwise_bias_len(w, &bias, p, *x_zp, mults, shifts, out)];
    let mut wp = vec![0i8; pack::arm_mve_depthwise_weights_len(p.in_c, taps)];
    (pack::arm_mve::depthwise_bias(w, &bias, p, *x_zp, mults, shifts, out, &mut bp)
        && pack::arm_mve_depthwise_weights(w, p.in_c, taps, &mut wp))
    .then(|| {
        vec![
            None,
            Some(Tensor { shape: vec![wp.len()], data: Data::I8(wp) }),
            Some(Tensor { shape: vec![bp.len()], data: Data::I32(bp) }),
        ]
    })
}

fn gemm_accepts(k: &Kernel) -> bool {
    matches!(k, Kernel::GemmQ8 { p, .. } if p.batch == 1 && !p.trans_a && p.trans_b && p.bias == Bias::PerColumn)
        && all_i8(k)
}

/// Weights in blocks of 4 columns, chunks of 16 inputs (`pack::arm_mve_gemm_weights`,
/// the layout of the 1×1 convolution the layer runs as), bias padded to a multiple of
/// 4 columns, then the vector output-stage table when the layer takes it
/// (`pack::arm_mve::gemm_bias`; the input zero point is already in the bias).
fn gemm_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::GemmQ8 { p, out, mults, shifts, .. } = k else { return None };
    let Data::I8(w) = &reads.get(1).copied().flatten()?.data else { return None };
    let bias = match reads.get(2).copied().flatten().map(|t| &t.data) {
        None => vec![],
        Some(Data::I32(v)) => v.clone(),
        Some(_) => return None,
    };
    let mut wp = vec![0i8; pack::arm_mve_gemm_weights_len(p)];
    let mut bp = vec![0i32; pack::arm_mve::gemm_bias_len(w, &bias, p, mults, shifts, out)];
    (pack::arm_mve_gemm_weights(w, p, &mut wp) && pack::arm_mve::gemm_bias(w, &bias, p, mults, shifts, out, &mut bp))
        .then(|| {
            vec![
                None,
                Some(Tensor { shape: vec![wp.len()], data: Data::I8(wp) }),
                Some(Tensor { shape: vec![bp.len()], data: Data::I32(bp) }),
            ]
        })
}

fn depthwise_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::DepthwiseConv2dQ8 { p, .. } => pack::arm_mve_depthwise_scratch(p) * 4,
        _ => 0,
    }
}

fn conv_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::Conv2dQ8 { p, .. } => pack::arm_mve_conv2d_scratch(p) * 4,
        _ => 0,
    }
}

const MVE: &[Feature] = &[Feature::ArmMve];

/// The Helium implementations.
pub static IMPLEMENTATIONS: &[Implementation] = &[
    Implementation {
        family: Family::Conv2dQ8,
        isa: Isa::ArmMve,
        requires: MVE,
        unless: &[],
        layout: layout(Family::Conv2dQ8),
        accepts: conv_accepts,
        pack: conv_pack,
        scratch: conv_scratch,
        in_place: Some(Overlap::ConvRows),
    },
    Implementation {
        family: Family::DepthwiseConv2dQ8,
        isa: Isa::ArmMve,
        requires: MVE,
        unless: &[],
        layout: layout(Family::DepthwiseConv2dQ8),
        accepts: all_i8,
        pack: depthwise_pack,
        scratch: depthwise_scratch,
        in_place: Some(Overlap::ConvRows),
    },
    Implementation {
        family: Family::GemmQ8,
        isa: Isa::ArmMve,
        requires: MVE,
        unless: &[],
        layout: None,
        accepts: gemm_accepts,
        pack: gemm_pack,
        scratch: super::no_scratch,
        in_place: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::DType;
    use tinyops_runtime::kernels::{Conv2d, Gemm};
    use tinyops_runtime::quant::QOut;

    #[test]
    fn fully_connected_weights_go_in_blocks_of_four_columns_with_the_output_stage_table() {
        // 3 columns over 2 inputs, one row; the input zero point is already in the bias.
        let p = Gemm {
            batch: 1,
            m: 1,
            n: 3,
            k: 2,
            trans_a: false,
            trans_b: true,
            batch_stride_a: 0,
            batch_stride_b: 0,
            alpha: 1.0,
            beta: 1.0,
            bias: Bias::PerColumn,
        };
        let out = QOut { zp: -5, min: -128, max: 127 };
        let k =
            Kernel::GemmQ8 { a: DType::I8, w: DType::I8, y: DType::I8, p, out, mults: vec![1 << 30], shifts: vec![36] };
        assert!(gemm_accepts(&k));
        let transposed = match k.clone() {
            Kernel::GemmQ8 { a, w, y, out, mults, shifts, .. } => {
                Kernel::GemmQ8 { a, w, y, p: Gemm { trans_b: false, ..p }, out, mults, shifts }
            }
            _ => unreachable!(),
        };
        assert!(!gemm_accepts(&transposed));
        let w = Tensor::new(vec![3, 2], Data::I8(vec![1, 2, 3, 4, 5, 6])).unwrap();
        let b = Tensor::new(vec![3], Data::I32(vec![100, 200, 300])).unwrap();
        let packed = gemm_pack(&k, &[None, Some(&w), Some(&b)]).unwrap();
        // One block of 4 columns (the fourth is padding), one chunk of 16 inputs each.
        let mut want = vec![0i8; 64];
        want[..2].copy_from_slice(&[1, 2]);
        want[16..18].copy_from_slice(&[3, 4]);
        want[32..34].copy_from_slice(&[5, 6]);
        assert_eq!(packed[1].as_ref().unwrap().data, Data::I8(want));
        // The bias as it is (padded to 4 columns), then the vector table: shift 36 is
        // `t = 4`, rounding term `2^3 − 5·2^4`.
        let Data::I32(bias) = &packed[2].as_ref().unwrap().data else { panic!("the bias operand is i32") };
        assert_eq!(bias.len(), 4 + pack::arm_mve::TABLE);
        assert_eq!(bias[..4], [100, 200, 300, 0]);
        assert_eq!(bias[4..8], [100, 200, 300, 0], "the table starts with the biases");
        assert_eq!(bias[8..11], [1 << 30; 3]);
        assert_eq!(bias[12..15], [8 - 5 * 16; 3]);
        assert_eq!(bias[16..19], [-4; 3]);
        assert_eq!(super::super::no_scratch(&k), 0);
        // Run-time weights rule the implementation out.
        assert!(gemm_pack(&k, &[None, None, Some(&b)]).is_none());
    }

    #[test]
    fn weights_go_in_blocks_of_four_channels_and_the_zero_point_folds_into_the_bias() {
        let (p, k) = crate::lower::isa::pointwise_q8_fixture();
        assert!(conv_accepts(&k));
        let grouped = match k.clone() {
            Kernel::Conv2dQ8 { x, w, y, x_zp, out, mults, shifts, .. } => {
                let p = Conv2d { groups: 2, in_c: 2, out_c: 4, ..p };
                Kernel::Conv2dQ8 { x, w, y, p, x_zp, out, mults, shifts }
            }
            _ => unreachable!(),
        };
        assert!(!conv_accepts(&grouped));
        let w = Tensor::new(vec![3, 1, 1, 2], Data::I8(vec![1, 2, 3, 4, 5, 6])).unwrap();
        let b = Tensor::new(vec![3], Data::I32(vec![100, 200, 300])).unwrap();
        let packed = conv_pack(&k, &[None, Some(&w), Some(&b)]).unwrap();
        // One block of 4 channels (the fourth is padding), one chunk of 16 inputs each.
        let mut want = vec![0i8; 64];
        want[..2].copy_from_slice(&[1, 2]);
        want[16..18].copy_from_slice(&[3, 4]);
        want[32..34].copy_from_slice(&[5, 6]);
        assert_eq!(packed[1].as_ref().unwrap().data, Data::I8(want));
        // The folded bias, then the vector output-stage table when the layer takes it.
        let Kernel::Conv2dQ8 { out, mults, shifts, x_zp, .. } = &k else { unreachable!() };
        let Data::I32(bias) = &packed[2].as_ref().unwrap().data else { panic!("the bias operand is i32") };
        assert_eq!(
            bias.len(),
            pack::arm_mve::conv2d_bias_len(&[1, 2, 3, 4, 5, 6], &[100, 200, 300], &p, *x_zp, mults, shifts, out)
        );
        assert_eq!(bias[..4], [100 - 30, 200 - 70, 300 - 110, 0]);
        // One receptive field of 16 bytes (the output-stage table is a constant now).
        assert_eq!(conv_scratch(&k), 16);
        // Run-time weights rule the implementation out.
        assert!(conv_pack(&k, &[None, None, Some(&b)]).is_none());
    }
}
