//! Weight layouts of the x86-64 AVX2/FMA kernels (`kernels::x86_avx2`).
//!
//! A convolution (one group, `K = kH·kW·I` weights per output channel) or a
//! fully-connected layer (`K` inputs) computes its output channels in blocks of 16,
//! the last block 8 wide when at most 8 channels remain: two or one 256-bit vectors of
//! accumulators. Each block's weights are stored `K`-major so the micro-kernel reads
//! one sequential stream: float weights as `[K][width]`, 8-bit weights widened to 16
//! bits in input pairs, `[K/2][width][2]` (the operand order of `vpmaddwd`), as
//! little-endian bytes. Channels past the output count are zero. Float 3×3 layers
//! that [`winograd`] takes store each block's filters transformed for F(2,3) along
//! the width instead, `[4][3][I][width]` ([`conv_weights_f32_winograd`]);
//! [`conv_weights_f32_of`] packs any float convolution for the path its kernel takes.

use super::round_to;

/// Output channels a micro-kernel block holds at most.
pub const BLOCK: usize = 16;

/// Width of the block starting at output channel `oc0` (16, or 8 for a last block
/// with at most 8 channels left).
pub const fn block_width(out_c: usize, oc0: usize) -> usize {
    if out_c.saturating_sub(oc0) > 8 {
        16
    } else {
        8
    }
}

/// Floats of the stack buffer the float convolutions copy their padded input rows
/// into (`kernels::x86_avx2`'s band and Winograd paths; 24 KiB).
pub const BAND: usize = 6144;

/// Floats of the stack buffer the Winograd path transforms one output row's inputs
/// into (`4 · ⌈out_w / 2⌉ · 3 · C` of them; 32 KiB).
pub const WINOGRAD_INPUTS: usize = 8192;

/// True when the float convolution `p` runs as a 1-D Winograd F(2,3) along the
/// width (`kernels::x86_avx2`'s Winograd path) and takes weights packed by
/// [`conv_weights_f32_winograd`]: one group, 3×3 taps, stride and dilation 1, input
/// channels a multiple of 8 (transformed a vector at a time), at least 2 output columns,
/// the three padded input rows of one output row fit in [`BAND`] floats, and their
/// transform in [`WINOGRAD_INPUTS`].
pub const fn winograd(p: &crate::kernels::Conv2d) -> bool {
    winograd_shape(p)
        && p.in_c >= 40
        && 3 * winograd_pitch(p) * p.in_c <= BAND
        && 12 * p.out_w.div_ceil(2) * p.in_c <= WINOGRAD_INPUTS
}

/// The geometry both Winograd paths take, whatever their buffers: one group, 3×3
/// taps, stride and dilation 1, input channels a multiple of 8 (transformed a vector
/// at a time), at least 2 output columns and some output.
const fn winograd_shape(p: &crate::kernels::Conv2d) -> bool {
    p.groups == 1
        && p.k_h == 3
        && p.k_w == 3
        && p.stride_h == 1
        && p.stride_w == 1
        && p.dil_h == 1
        && p.dil_w == 1
        && p.in_c.is_multiple_of(8)
        && p.out_w >= 2
        && p.out_h >= 1
        && p.out_c >= 1
}

/// Floats of the stack buffer the 2-D Winograd path copies the four padded input
/// rows of a row of tiles into (12 KiB).
pub const WINOGRAD2D_ROWS: usize = 3072;

/// Floats of the stack buffer the 2-D Winograd path transforms a row of tiles'
/// inputs into (`16 · ⌈out_w / 2⌉ · C` of them; 16 KiB: ResNet-8's 32×32×16,
/// 16×16×32 and 8×8×64 layers take 4,096 each).
pub const WINOGRAD2D_INPUTS: usize = 4096;

/// True when the float convolution `p` runs as a 2-D Winograd F(2×2, 3×3)
/// (`kernels::x86_avx2`'s 2-D Winograd path, taken before the 1-D one) and takes
/// weights packed by [`conv_weights_f32_winograd2d`]: one group, 3×3 taps, stride and
/// dilation 1, input channels a multiple of 8 (transformed a vector at a time), at
/// least 2 output columns, the four padded input rows of a row of tiles fit in
/// [`WINOGRAD2D_ROWS`] floats, and their transform (`16 · ⌈out_w / 2⌉ · C` floats)
/// in [`WINOGRAD2D_INPUTS`]. The conditions do not depend on the output's height, so the
/// row problems of streamed and in-place calls take the same path as the layer.
pub const fn winograd2d(p: &crate::kernels::Conv2d) -> bool {
    winograd_shape(p)
        && p.in_c >= 8
        && 4 * winograd_pitch(p) * p.in_c <= WINOGRAD2D_ROWS
        && 16 * p.out_w.div_ceil(2) * p.in_c <= WINOGRAD2D_INPUTS
}

/// Pixels per padded input row of the Winograd path: the output's pairs of columns
/// span `2 · ⌈out_w / 2⌉ + 2` input columns from the left padding, and the row holds
/// at least the padded input.
pub const fn winograd_pitch(p: &crate::kernels::Conv2d) -> usize {
    let span = 2 * p.out_w.div_ceil(2) + 2;
    let padded = p.pad_left + p.in_w;
    if span > padded {
        span
    } else {
        padded
    }
}

/// Elements of the packed float weights of convolution `p`: [`conv_weights_f32_len`],
/// or 4/3 of it for the Winograd path (4 transformed taps per filter row of 3).
pub const fn conv_weights_f32_len_of(p: &crate::kernels::Conv2d) -> usize {
    if winograd2d(p) {
        round_to(p.out_c, 8) * 16 * p.in_c
    } else if winograd(p) {
        round_to(p.out_c, 8) * 12 * p.in_c
    } else {
        conv_weights_f32_len(p.out_c, p.k_h * p.k_w * p.in_c)
    }
}

/// The float weights (`out_c × kH·kW·C`, filter order) of convolution `p` packed
/// for its path: [`conv_weights_f32_winograd`] when [`winograd`] takes it,
/// [`conv_weights_f32`] otherwise. False (and `into` untouched) when the slices are
/// too short.
pub fn conv_weights_f32_of(p: &crate::kernels::Conv2d, w: &[f32], into: &mut [f32]) -> bool {
    if winograd2d(p) {
        conv_weights_f32_winograd2d(w, p.out_c, p.in_c, into)
    } else if winograd(p) {
        conv_weights_f32_winograd(w, p.out_c, p.in_c, into)
    } else {
        conv_weights_f32(w, p.out_c, p.k_h * p.k_w * p.in_c, into)
    }
}

/// 3×3 float filters (`out_c × 3·3·C`, filter order) transformed for F(2,3) along
/// the width: each filter row `g0, g1, g2` becomes `g0, (g0 + g1 + g2)/2,
/// (g0 − g1 + g2)/2, g2` (computed in `f64`, rounded once), and each block of
/// [`block_width`] channels is stored `[4][3][C][width]` (transformed tap, filter row,
/// input channel). False (and `into` untouched) when the slices are too short.
pub fn conv_weights_f32_winograd(w: &[f32], out_c: usize, c: usize, into: &mut [f32]) -> bool {
    let Some(into) = into.get_mut(..round_to(out_c, 8) * 12 * c) else { return false };
    let k = 9 * c;
    if w.len() < out_c * k {
        return false;
    }
    let mut at = 0;
    let mut oc0 = 0;
    while oc0 < out_c {
        let width = block_width(out_c, oc0);
        for j in 0..4 {
            for ky in 0..3 {
                for ic in 0..c {
                    for o in 0..width {
                        let oc = oc0 + o;
                        let g = |kx: usize| w.get(oc * k + (ky * 3 + kx) * c + ic).copied().unwrap_or(0.0) as f64;
                        let v = if oc >= out_c {
                            0.0
                        } else {
                            match j {
                                0 => g(0),
                                1 => (g(0) + g(1) + g(2)) / 2.0,
                                2 => (g(0) - g(1) + g(2)) / 2.0,
                                _ => g(2),
                            }
                        };
                        if let Some(t) = into.get_mut(at) {
                            *t = v as f32;
                        }
                        at += 1;
                    }
                }
            }
        }
        oc0 += width;
    }
    true
}

/// 3×3 float filters (`out_c × 3·3·C`, filter order) transformed for F(2×2, 3×3):
/// each filter `g` (per input channel) becomes the 4×4 `U = G g Gᵀ` with `G = [1 0 0;
/// ½ ½ ½; ½ −½ ½; 0 0 1]` (computed in `f64`, rounded once), and each block of
/// [`block_width`] channels is stored `[16][C][width]` (transform `4a + b`, input
/// channel). False (and `into` untouched) when the slices are too short.
pub fn conv_weights_f32_winograd2d(w: &[f32], out_c: usize, c: usize, into: &mut [f32]) -> bool {
    const G: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
    let Some(into) = into.get_mut(..round_to(out_c, 8) * 16 * c) else { return false };
    let k = 9 * c;
    if w.len() < out_c * k {
        return false;
    }
    let mut at = 0;
    let mut oc0 = 0;
    while oc0 < out_c {
        let width = block_width(out_c, oc0);
        for j in 0..16 {
            let (a, b) = (j / 4, j % 4);
            for ic in 0..c {
                for o in 0..width {
                    let oc = oc0 + o;
                    let mut v = 0.0f64;
                    if oc < out_c {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let g = w.get(oc * k + (ky * 3 + kx) * c + ic).copied().unwrap_or(0.0) as f64;
                                v += G[a][ky] * g * G[b][kx];
                            }
                        }
                    }
                    if let Some(t) = into.get_mut(at) {
                        *t = v as f32;
                    }
                    at += 1;
                }
            }
        }
        oc0 += width;
    }
    true
}

/// Elements of [`conv_weights_f32`]'s output (channels rounded up to 8).
pub const fn conv_weights_f32_len(out_c: usize, k: usize) -> usize {
    round_to(out_c, 8) * k
}

/// Float weights `out_c × k` in blocks of [`block_width`] channels, `[k][width]` per
/// block. False (and `into` untouched) when the slices are too short.
pub fn conv_weights_f32(w: &[f32], out_c: usize, k: usize, into: &mut [f32]) -> bool {
    let Some(into) = into.get_mut(..conv_weights_f32_len(out_c, k)) else { return false };
    if w.len() < out_c * k {
        return false;
    }
    let mut at = 0;
    let mut oc0 = 0;
    while oc0 < out_c {
        let width = block_width(out_c, oc0);
        for kk in 0..k {
            for j in 0..width {
                let oc = oc0 + j;
                let v = if oc < out_c { w.get(oc * k + kk).copied().unwrap_or(0.0) } else { 0.0 };
                if let Some(o) = into.get_mut(at) {
                    *o = v;
                }
                at += 1;
            }
        }
        oc0 += width;
    }
    true
}

/// Bytes of [`conv_weights_q8`]'s output: `k` rounded up to pairs, channels to 8,
/// two bytes a weight.
pub const fn conv_weights_q8_len(out_c: usize, k: usize) -> usize {
    round_to(out_c, 8) * round_to(k, 2) * 2
}

/// 8-bit weights `out_c × k` widened to 16 bits, in blocks of [`block_width`]
/// channels, per block `[k/2][width][2]` (input pairs of one channel side by side),
/// as little-endian bytes; `k` is padded with a zero weight to an even count.
pub fn conv_weights_q8(w: &[i8], out_c: usize, k: usize, into: &mut [i8]) -> bool {
    let Some(into) = into.get_mut(..conv_weights_q8_len(out_c, k)) else { return false };
    if w.len() < out_c * k {
        return false;
    }
    let k2 = round_to(k, 2);
    let mut at = 0;
    let mut oc0 = 0;
    while oc0 < out_c {
        let width = block_width(out_c, oc0);
        for kp in 0..k2 / 2 {
            for j in 0..width {
                for e in 0..2 {
                    let (oc, kk) = (oc0 + j, 2 * kp + e);
                    let v = if oc < out_c && kk < k { w.get(oc * k + kk).copied().unwrap_or(0) as i16 } else { 0 };
                    let [lo, hi] = v.to_le_bytes();
                    if let Some(o) = into.get_mut(at..at + 2) {
                        o[0] = lo as i8;
                        o[1] = hi as i8;
                    }
                    at += 2;
                }
            }
        }
        oc0 += width;
    }
    true
}

/// Scratch words (`i32`) of the 8-bit convolution: the receptive fields of the
/// pixels of one micro-kernel call ([`WIDE`] when at most 8 output channels, else
/// [`PIXELS`]) widened to 16-bit pairs (`kH·kW·I` rounded up to pairs).
pub const fn conv_q8_scratch(p: &crate::kernels::Conv2d) -> usize {
    let rows = if p.out_c <= 8 { WIDE } else { PIXELS };
    rows * round_to(p.k_h * p.k_w * p.in_c, 2) / 2
}

/// Output pixels (or rows of a fully-connected layer) one micro-kernel call computes:
/// 6 × 16 channels, 12 accumulator registers.
pub const PIXELS: usize = 6;

/// Output pixels of one call when a layer has at most 8 output channels: 12 × 8.
pub const WIDE: usize = 12;

/// Scratch words of the 8-bit fully-connected layer: [`PIXELS`] rows of activations
/// widened to 16-bit pairs.
pub const fn gemm_q8_scratch(p: &crate::kernels::Gemm) -> usize {
    PIXELS * round_to(p.k, 2) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_blocks_are_k_major() {
        // 10 channels × 2: a block of 16 (channels 0..10, zero padded)? No: 10 > 8
        // left, so one block of 16.
        let w: [f32; 20] = core::array::from_fn(|i| i as f32);
        let mut out = [9.0f32; 32];
        assert!(conv_weights_f32(&w, 10, 2, &mut out));
        assert_eq!(&out[..3], &[0.0, 2.0, 4.0]);
        assert_eq!(out[9], 18.0);
        assert_eq!(out[10], 0.0);
        assert_eq!(out[16], 1.0);
        // 20 channels: 16 + 8.
        assert_eq!(conv_weights_f32_len(20, 1), 24);
        assert_eq!(block_width(20, 16), 8);
    }

    #[test]
    fn winograd_takes_wide_3x3_layers_and_packs_transformed_filter_rows() {
        let same3 = |c: usize, hw: usize| crate::kernels::Conv2d {
            batch: 1,
            in_c: c,
            in_h: hw,
            in_w: hw,
            out_c: 2,
            out_h: hw,
            out_w: hw,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 1,
            pad_left: 1,
            groups: 1,
        };
        // ResNet-large's 32×32×40 and 8×8×160 layers; not 16 channels, nor stride 2.
        assert!(winograd(&same3(40, 32)) && winograd(&same3(160, 8)));
        assert!(!winograd(&same3(16, 32)) && !winograd(&crate::kernels::Conv2d { stride_w: 2, ..same3(40, 32) }));
        // (A 4×4×40 layer would take the 2-D path; 32×32×40 does not.)
        let p = same3(40, 32);
        assert!(!winograd2d(&p));
        assert_eq!(conv_weights_f32_len_of(&p), 8 * 12 * 40);
        // Channel 1's filter row 0 at input channel 0: g = 1, 2, 4 (others zero).
        let mut w = [0.0f32; 2 * 9 * 40];
        let k = 9 * 40;
        (w[k], w[k + 40], w[k + 80]) = (1.0, 2.0, 4.0);
        let mut out = [9.0f32; 8 * 12 * 40];
        assert!(conv_weights_f32_of(&p, &w, &mut out));
        // [j][ky][ic][width]: j's plane is 3·40·8 floats; channel 1 is lane 1.
        let at = |j: usize| out[j * 3 * 40 * 8 + 1];
        assert_eq!([at(0), at(1), at(2), at(3)], [1.0, 3.5, 1.5, 4.0]);
        assert_eq!(out[0], 0.0);
    }

    #[test]
    fn winograd2d_takes_resnet8_layers_and_packs_g_g_gt() {
        let same3 = |c: usize, hw: usize| crate::kernels::Conv2d {
            batch: 1,
            in_c: c,
            in_h: hw,
            in_w: hw,
            out_c: 2,
            out_h: hw,
            out_w: hw,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 1,
            pad_left: 1,
            groups: 1,
        };
        // ResNet-8's 32×32×16, 16×16×32, 8×8×64; not ResNet-large's 32×32×40 (its
        // transformed row, 10,240 floats, exceeds the buffer), nor stride 2 or 12
        // channels.
        assert!(winograd2d(&same3(16, 32)) && winograd2d(&same3(32, 16)) && winograd2d(&same3(64, 8)));
        assert!(!winograd2d(&same3(40, 32)) && !winograd2d(&same3(12, 8)));
        assert!(!winograd2d(&crate::kernels::Conv2d { stride_h: 2, ..same3(16, 32) }));
        let p = same3(8, 4);
        assert_eq!(conv_weights_f32_len_of(&p), 8 * 16 * 8);
        // Channel 1's centre tap at input channel 0 = 1: U = G[·][1] G[·][1]ᵀ, G's
        // middle column (0, ½, −½, 0).
        let mut w = [0.0f32; 2 * 9 * 8];
        w[9 * 8 + 4 * 8] = 1.0;
        let mut out = [9.0f32; 8 * 16 * 8];
        assert!(conv_weights_f32_of(&p, &w, &mut out));
        // [j][ic][width]: j's plane is 8·8 floats; channel 1 is lane 1.
        let at = |j: usize| out[j * 8 * 8 + 1];
        assert_eq!([at(5), at(6), at(9), at(10)], [0.25, -0.25, -0.25, 0.25]);
        assert_eq!([at(0), at(3), at(12), at(15), out[0]], [0.0; 5]);
    }

    #[test]
    fn byte_weights_widen_in_pairs() {
        // 2 channels × 3 weights: k padded to 4, one block of 8.
        let w = [1i8, -2, 3, 4, 5, -6];
        let mut out = [0i8; 64];
        assert!(conv_weights_q8(&w, 2, 3, &mut out));
        let h = |i: usize| i16::from_le_bytes([out[2 * i] as u8, out[2 * i + 1] as u8]);
        assert_eq!([h(0), h(1), h(2), h(3), h(4)], [1, -2, 4, 5, 0]);
        assert_eq!([h(16), h(17), h(18), h(19)], [3, 0, -6, 0]);
    }
}
