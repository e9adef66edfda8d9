//! Weight layout of the x86-64 AVX-512 VNNI kernels (`kernels::x86_vnni`).
//!
//! An 8-bit convolution with one group (`kH` filter rows of `R = kW·I` weights per
//! output channel) computes its output channels in the blocks of
//! [`super::x86_avx2::block_width`] (16, the last 8 wide when at most 8 remain), one
//! 32-bit lane per channel. Each filter row is padded with zero weights to whole
//! words (`R` rounded up to 4 bytes), so that the kernel can read a window's rows in
//! place, a word at a time, whatever `R` is. Each block's weights are stored as
//! `[kH · R/4][width][4]` bytes: the four weights one `vpdpbusd` multiplies into a
//! channel's lane side by side. Channels past the output count are zero.

use super::round_to;
use super::x86_avx2::block_width;

/// Words (4 bytes) of one filter row of `row` weights.
pub const fn row_words(row: usize) -> usize {
    round_to(row, 4) / 4
}

/// Bytes of [`conv_weights`]'s output: `rows` filter rows of `row` weights, each
/// rounded up to 4; channels rounded up to 8.
pub const fn conv_weights_len(out_c: usize, rows: usize, row: usize) -> usize {
    round_to(out_c, 8) * rows * row_words(row) * 4
}

/// 8-bit weights `out_c × (rows · row)` in blocks of [`block_width`] channels,
/// `[rows · row/4][width][4]` per block, each filter row padded to whole words. False
/// (and `into` untouched) when the slices are too short.
pub fn conv_weights(w: &[i8], out_c: usize, rows: usize, row: usize, into: &mut [i8]) -> bool {
    let Some(into) = into.get_mut(..conv_weights_len(out_c, rows, row)) else { return false };
    let k = rows * row;
    if w.len() < out_c * k {
        return false;
    }
    let rw = row_words(row);
    let mut at = 0;
    let mut oc0 = 0;
    while oc0 < out_c {
        let width = block_width(out_c, oc0);
        for quad in 0..rows * rw {
            let (r, q) = (quad / rw, quad % rw);
            for j in 0..width {
                for e in 0..4 {
                    let (oc, kk) = (oc0 + j, 4 * q + e);
                    let v = if oc < out_c && kk < row { w.get(oc * k + r * row + kk).copied().unwrap_or(0) } else { 0 };
                    if let Some(o) = into.get_mut(at) {
                        *o = v;
                    }
                    at += 1;
                }
            }
        }
        oc0 += width;
    }
    true
}

/// Output pixels one micro-kernel call computes: 12 × 16 channels, 24 of the 32
/// vector registers AVX-512 provides as accumulators.
pub const PIXELS: usize = 12;

/// Scratch words (`i32`) of the 8-bit convolution: the receptive fields of
/// [`PIXELS`] output pixels as bytes offset to unsigned (`kH` rows of
/// [`row_words`]), then the [`padded_image`] and a spare word when the layer takes
/// one.
pub const fn conv_q8_scratch(p: &crate::kernels::Conv2d) -> usize {
    let image = match padded_image(p) {
        Some((h, w)) => round_to(p.batch * h * w * p.in_c, 4) / 4 + 1,
        None => 0,
    };
    PIXELS * p.k_h * row_words(p.k_w * p.in_c) + image
}

/// Bytes a [`padded_image`] may take.
pub const PADDED_IMAGE_MAX: usize = 32 * 1024;

/// Rows and columns of the input with its padding written out (the zero point), when
/// the convolution copies it so first, `None` otherwise: layers whose windows cross
/// the input's border or whose filter rows are not whole words (the copy then
/// supplies the spare bytes the last row's last word reads), when the copy takes at
/// most [`PADDED_IMAGE_MAX`] bytes and twice the input's. Every window then lies
/// inside the copy, and with adjacent taps the micro-kernel reads the fields in place
/// (KWS's first layer, 10×4 taps over a 49×10 input, has border checks at most of
/// its pixels otherwise; VWW's, 3×3×3, rows of 9 bytes).
pub const fn padded_image(p: &crate::kernels::Conv2d) -> Option<(usize, usize)> {
    if p.out_h == 0 || p.out_w == 0 || p.k_h == 0 || p.k_w == 0 {
        return None;
    }
    let h = (p.out_h - 1) * p.stride_h + (p.k_h - 1) * p.dil_h + 1;
    let w = (p.out_w - 1) * p.stride_w + (p.k_w - 1) * p.dil_w + 1;
    let crosses = p.pad_top > 0 || p.pad_left > 0 || h > p.in_h + p.pad_top || w > p.in_w + p.pad_left;
    let ragged = !(p.k_w * p.in_c).is_multiple_of(4);
    // Checked products: `None` on overflow as on size.
    let bytes = match p.batch.checked_mul(h) {
        Some(v) => match v.checked_mul(w) {
            Some(v) => v.checked_mul(p.in_c),
            None => None,
        },
        None => None,
    };
    // At most twice the input: padding that outweighs the input (tiny inputs, wide
    // pads) is left to the border checks.
    let input = p.batch * p.in_h * p.in_w * p.in_c;
    match bytes {
        Some(b) if (crosses || ragged) && b <= PADDED_IMAGE_MAX && b <= 2 * input => Some((h, w)),
        _ => None,
    }
}

/// The input zero point the bias folds in: the kernel multiplies inputs offset by
/// 128 (unsigned bytes, as `vpdpbusd` reads them), so `Σ (x − zp)·w` is
/// `Σ (x + 128)·w − (zp + 128)·Σ w`.
pub const fn folded_zero_point(x_zp: i32) -> i32 {
    x_zp.wrapping_add(128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_quads_per_channel_in_blocks() {
        // 3 channels × 5 weights in one row: padded to 8, channels to 8 (one block).
        let w: [i8; 15] = core::array::from_fn(|v| v as i8 + 1);
        let mut out = [99i8; 64];
        assert_eq!(out.len(), conv_weights_len(3, 1, 5));
        assert!(conv_weights(&w, 3, 1, 5, &mut out));
        // Quad 0: channel 0's weights 0..4, then channel 1's, channel 2's, zeros.
        assert_eq!(&out[..12], &[1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14]);
        assert!(out[12..32].iter().all(|&v| v == 0));
        // Quad 1: weight 4 of each channel, then the padding.
        assert_eq!(&out[32..44], &[5, 0, 0, 0, 10, 0, 0, 0, 15, 0, 0, 0]);
        assert!(!conv_weights(&w, 3, 1, 6, &mut out), "too few weights");
    }

    #[test]
    fn filter_rows_are_padded_to_whole_words() {
        // 1 channel, 2 rows of 3 weights: each row padded to 4 bytes.
        let w = [1i8, 2, 3, 4, 5, 6];
        let mut out = [99i8; 64];
        assert_eq!(conv_weights_len(1, 2, 3), 64);
        assert!(conv_weights(&w, 1, 2, 3, &mut out));
        assert_eq!(&out[..4], &[1, 2, 3, 0]);
        assert!(out[4..32].iter().all(|&v| v == 0));
        assert_eq!(&out[32..36], &[4, 5, 6, 0]);
    }

    #[test]
    fn short_rows_at_the_border_take_a_padded_image() {
        use crate::kernels::Conv2d;
        // KWS's first layer: 49×10×1, 10×4 taps, stride 2, padding 4 above, 1 left.
        let kws = Conv2d {
            batch: 1,
            in_c: 1,
            in_h: 49,
            in_w: 10,
            out_c: 64,
            out_h: 25,
            out_w: 5,
            k_h: 10,
            k_w: 4,
            stride_h: 2,
            stride_w: 2,
            dil_h: 1,
            dil_w: 1,
            pad_top: 4,
            pad_left: 1,
            groups: 1,
        };
        assert_eq!(padded_image(&kws), Some((58, 12)));
        assert_eq!(conv_q8_scratch(&kws), PIXELS * 10 + 58 * 12 / 4 + 1);
        // No padding, windows inside: none.
        let inside = Conv2d { pad_top: 0, pad_left: 0, in_h: 58, in_w: 12, ..kws };
        assert_eq!(padded_image(&inside), None);
        assert_eq!(conv_q8_scratch(&inside), PIXELS * 10);
        // Rows of 9 bytes inside the input: a copy all the same (its spare word).
        let ragged = Conv2d { in_c: 3, k_h: 3, k_w: 3, ..inside };
        assert_eq!(padded_image(&ragged), Some((51, 11)));
        // A pointwise layer: its windows never cross the border.
        let pointwise = Conv2d { in_c: 64, k_h: 1, k_w: 1, stride_h: 1, stride_w: 1, pad_top: 0, pad_left: 0, ..kws };
        assert_eq!(padded_image(&pointwise), None);
        // Padding larger than the input: none.
        let tiny = Conv2d { in_h: 3, in_w: 2, out_h: 5, out_w: 2, stride_h: 1, stride_w: 1, k_h: 3, k_w: 2, ..kws };
        assert_eq!(padded_image(&tiny), None);
        // Too large: none.
        let big = Conv2d { in_h: 400, in_w: 400, out_h: 200, out_w: 200, ..kws };
        assert_eq!(padded_image(&big), None);
    }

    #[test]
    fn wide_layers_take_blocks_of_16_then_8() {
        let w = [1i8; 20 * 4];
        let mut out = [0i8; 24 * 4];
        assert_eq!(out.len(), conv_weights_len(20, 1, 4));
        assert!(conv_weights(&w, 20, 1, 4, &mut out));
        // Block 0: 16 channels × 4; block 1: 4 live channels of 8.
        assert!(out[..64].iter().all(|&v| v == 1));
        assert!(out[64..80].iter().all(|&v| v == 1));
        assert!(out[80..96].iter().all(|&v| v == 0));
    }
}
