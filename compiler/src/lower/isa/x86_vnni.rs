//! The x86-64 AVX-512 VNNI implementation (`kernels::x86_vnni`; the `x86-64-v4-vnni`
//! target): the signed 8-bit convolution with one group on `vpdpbusd`, over weights
//! packed `[kH · ⌈kW·C/4⌉][16][4]` (filter rows padded to words) (`tinyops_runtime::kernels::pack::x86_vnni`, the functions
//! the kernel suite uses too) and a bias with the offset input zero point folded in
//! (the kernel reads inputs as unsigned bytes, `x + 128`). Packed weights must be
//! constants; anything else falls to the AVX2 kernel, then the portable one. Every
//! other kernel of the target is an AVX2 one ([`super::x86_avx2`]).

use super::portable::layout;
use super::x86_avx2::{q8_weights_and_bias, vector};
use super::{all_i8, Implementation, Isa};
use crate::ir::{Data, Tensor};
use crate::lower::kernel::{Family, Kernel};
use tinyops_runtime::kernels::pack::{self, x86_vnni as pv};
use tinyops_targets::Feature;

fn one_group_i8(k: &Kernel) -> bool {
    matches!(k, Kernel::Conv2dQ8 { p, .. } if p.groups == 1) && all_i8(k)
}

/// Weights in `[kH · ⌈kW·C/4⌉][16][4]` blocks (filter rows padded to words); the bias with `(zp + 128) · Σ w` folded out,
/// padded to a multiple of 8 channels.
fn conv_q8_pack(k: &Kernel, reads: &[Option<&Tensor>]) -> Option<Vec<Option<Tensor>>> {
    let Kernel::Conv2dQ8 { p, x_zp, .. } = k else { return None };
    let (w, bias) = q8_weights_and_bias(reads)?;
    let kk = p.k_h * p.k_w * p.in_c;
    let row = p.k_w * p.in_c;
    let mut wp = vec![0i8; pv::conv_weights_len(p.out_c, p.k_h, row)];
    let mut bp = vec![0i32; pack::round_to(p.out_c, 8)];
    let zp = pv::folded_zero_point(*x_zp);
    (pv::conv_weights(w, p.out_c, p.k_h, row, &mut wp) && pack::fold_zero_point(w, &bias, p.out_c, kk, zp, 8, &mut bp))
        .then(|| vec![None, Some(vector(Data::I8(wp))), Some(vector(Data::I32(bp)))])
}

fn conv_q8_scratch(k: &Kernel) -> usize {
    match k {
        Kernel::Conv2dQ8 { p, .. } => pv::conv_q8_scratch(p) * 4,
        _ => 0,
    }
}

/// The AVX-512 VNNI implementations. Like the AVX2 ones, none runs in place (see
/// [`super::x86_avx2`] for why on this host target).
pub static IMPLEMENTATIONS: &[Implementation] = &[Implementation {
    family: Family::Conv2dQ8,
    isa: Isa::X86Vnni,
    requires: &[Feature::Avx2Fma, Feature::Avx512Vnni],
    unless: &[],
    layout: layout(Family::Conv2dQ8),
    accepts: one_group_i8,
    pack: conv_q8_pack,
    scratch: conv_q8_scratch,
    in_place: None,
}];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_quads_and_folds_the_offset_zero_point() {
        let (p, k) = super::super::pointwise_q8_fixture();
        // 3 channels × 2 inputs: weights 1..=6; bias 100, 200, 300.
        let w = Tensor { shape: vec![3, 2, 1, 1], data: Data::I8(vec![1, 2, 3, 4, 5, 6]) };
        let b = Tensor { shape: vec![3], data: Data::I32(vec![100, 200, 300]) };
        let out = conv_q8_pack(&k, &[None, Some(&w), Some(&b)]).unwrap();
        let Some(Tensor { data: Data::I8(wp), .. }) = &out[1] else { panic!("packed weights") };
        assert_eq!(wp.len(), pv::conv_weights_len(p.out_c, 1, 2));
        assert_eq!(&wp[..12], &[1, 2, 0, 0, 3, 4, 0, 0, 5, 6, 0, 0]);
        let Some(Tensor { data: Data::I32(bp), .. }) = &out[2] else { panic!("folded bias") };
        // The fixture's input zero point is 10: 138 · Σ w folded out.
        assert_eq!(&bp[..4], &[100 - 138 * 3, 200 - 138 * 7, 300 - 138 * 11, 0]);
        // 12 fields of one word, and (rows of 2 bytes are not whole words) the input
        // copied, one word, and a spare word.
        assert_eq!(conv_q8_scratch(&k), (pv::PIXELS + 2) * 4);
    }
}
