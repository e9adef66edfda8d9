//! What the per-ISA kernels need from the compiler, compiled on every target: their
//! weight layouts and their scratch sizes. A kernel that reads its weights in another
//! order than the IR's (output channel major, `O,kH,kW,I`) gets them repacked once,
//! at compile time; the compiler calls these functions, and so does the kernel suite
//! before checking a kernel against its portable twin. Nothing here allocates or
//! panics.

use crate::kernels::{Conv2d, Gemm};
use crate::quant::QOut;

pub mod arm_dsp;
pub mod arm_mve;
pub mod x86_avx2;
pub mod x86_vnni;

/// `n` rounded up to a multiple of 4.
pub const fn round4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// `n` rounded up to a multiple of `block` (at least 1).
pub const fn round_to(n: usize, block: usize) -> usize {
    let b = if block == 0 { 1 } else { block };
    n.div_ceil(b) * b
}

/// Elements of [`interleave`]'s output.
pub const fn interleaved_len(out_c: usize, k: usize, block: usize) -> usize {
    round_to(out_c, block) * round4(k)
}

/// Rows of `k` weights per output channel (`w` is `out_c × k`), padded with zeros to
/// `round4(k)`, in blocks of `block` channels that alternate every 4 weights: block
/// `b`, group `g` holds channel `b·block`'s weights `4g..4g+4`, then channel
/// `b·block + 1`'s, and so on. The channel count is padded with zero rows to a
/// multiple of `block`. A kernel computing `block` channels at once then reads its
/// weights as one sequential stream of words. False (and `into` untouched) when the
/// slices are too short.
pub fn interleave<T: Copy + Default>(w: &[T], out_c: usize, k: usize, block: usize, into: &mut [T]) -> bool {
    let (k4, block) = (round4(k), block.max(1));
    let Some(into) = into.get_mut(..interleaved_len(out_c, k, block)) else { return false };
    if w.len() < out_c * k {
        return false;
    }
    for (i, o) in into.iter_mut().enumerate() {
        // i = ((b · (k4/4) + g) · block + j) · 4 + e
        let e = i % 4;
        let j = (i / 4) % block;
        let g = (i / (4 * block)) % (k4 / 4).max(1);
        let b = i / (4 * block * (k4 / 4).max(1));
        let (oc, kk) = (b * block + j, g * 4 + e);
        *o = if oc < out_c && kk < k { w.get(oc * k + kk).copied().unwrap_or_default() } else { T::default() };
    }
    true
}

/// The bias with an input zero point folded in: `bias[oc] − zp · Σ_k w[oc, k]`, so a
/// kernel can multiply raw inputs (padding then holds `zp`); channels past `out_c`
/// (padding up to a multiple of `block`) are 0. An empty `bias` counts as zeros.
pub fn fold_zero_point<W: Copy + Into<i32>>(
    w: &[W],
    bias: &[i32],
    out_c: usize,
    k: usize,
    zp: i32,
    block: usize,
    into: &mut [i32],
) -> bool {
    let Some(into) = into.get_mut(..round_to(out_c, block)) else { return false };
    if w.len() < out_c * k {
        return false;
    }
    for (oc, o) in into.iter_mut().enumerate() {
        *o = match w.get(oc * k..(oc + 1) * k) {
            Some(row) if oc < out_c => {
                let sum: i32 = row.iter().map(|&v| v.into()).sum();
                bias.get(oc).copied().unwrap_or(0).wrapping_sub(zp.wrapping_mul(sum))
            }
            _ => 0,
        };
    }
    true
}

/// [`fold_zero_point`] for depthwise filters stored `kH,kW,C` (`taps × channels`):
/// `bias[c] − zp · Σ_t w[t, c]`.
pub fn fold_zero_point_by_channel<W: Copy + Into<i32>>(
    w: &[W],
    bias: &[i32],
    channels: usize,
    taps: usize,
    zp: i32,
    into: &mut [i32],
) -> bool {
    let Some(into) = into.get_mut(..channels) else { return false };
    if w.len() < channels * taps {
        return false;
    }
    for (c, o) in into.iter_mut().enumerate() {
        let sum: i32 = (0..taps).filter_map(|t| w.get(t * channels + c)).map(|&v| v.into()).sum();
        *o = bias.get(c).copied().unwrap_or(0).wrapping_sub(zp.wrapping_mul(sum));
    }
    true
}

/// Scratch words of the Arm DSP convolution: two pixels' receptive fields widened to
/// 16-bit pairs (`K8` words) and as raw bytes (`K8 / 2` words, `K8` = `K` rounded to
/// [`ARM_DSP_GEMM_STEP`], `K = kH·kW·C`), and a spare output row (for an odd last
/// pixel). Its output-stage table is a constant ([`arm_dsp_conv2d_bias`]).
pub const fn arm_dsp_conv2d_scratch(p: &Conv2d) -> usize {
    let k8 = round_to(p.k_h * p.k_w * p.in_c, ARM_DSP_GEMM_STEP);
    k8 + k8 / 2 + round4(p.out_c) / 4
}

/// Scratch words of the Arm DSP depthwise convolution: the window's tap offsets for
/// pixels inside the input and for one at its border (one word per tap each), and a
/// row of zero points (channels rounded to 4). Its output-stage table is a constant
/// ([`arm_dsp_depthwise_bias`]).
pub const fn arm_dsp_depthwise_scratch(p: &Conv2d) -> usize {
    2 * p.k_h * p.k_w + round4(p.in_c) / 4
}

/// Bytes of [`arm_dsp_depthwise_weights`]' output: 16-bit weights, channels padded to
/// a multiple of 4.
pub const fn arm_dsp_depthwise_weights_len(channels: usize, taps: usize) -> usize {
    round4(channels) * taps * 2
}

/// Depthwise filters `kH,kW,C` (`taps × channels`, see [`taps_by_channel`]) widened to
/// 16 bits for the Arm DSP kernel, as little-endian bytes: per group of 4 channels
/// `c..c+4` and per tap, the words `(w[c], w[c+2])` and `(w[c+1], w[c+3])` — the
/// pairing `sxtb16` gives the inputs — so one `ldrd` feeds four 16-bit MACs. Channels
/// past `channels` are zero.
pub fn arm_dsp_depthwise_weights(w: &[i8], channels: usize, taps: usize, into: &mut [i8]) -> bool {
    let Some(into) = into.get_mut(..arm_dsp_depthwise_weights_len(channels, taps)) else { return false };
    if w.len() < channels * taps {
        return false;
    }
    for (i, pair) in into.as_chunks_mut::<2>().0.iter_mut().enumerate() {
        // i = (g · taps + t) · 4 + j, j ∈ {0: c0, 1: c2, 2: c1, 3: c3}
        let j = i % 4;
        let t = (i / 4) % taps.max(1);
        let g = i / (4 * taps.max(1));
        let c = 4 * g + [0, 2, 1, 3][j];
        let v = if c < channels { w.get(t * channels + c).copied().unwrap_or(0) as i16 } else { 0 };
        let [lo, hi] = v.to_le_bytes();
        *pair = [lo as i8, hi as i8];
    }
    true
}

/// Inputs per group of the Arm DSP fully-connected layer's inner loop (two groups
/// of 4 per iteration): `k` is padded to a multiple of it.
pub const ARM_DSP_GEMM_STEP: usize = 8;

/// Most groups of 4 inputs the Arm DSP fully-connected layer sums before it splits
/// its paired accumulator (see [`arm_dsp_gemm_weights`]): 126 groups, 504 inputs, so
/// the odd column's partial sum stays below 2^23 in magnitude (504 · 2^14 < 2^23).
pub const ARM_DSP_GEMM_CHUNK: usize = 126;

/// Inputs the Arm DSP fully-connected layer widens at a time when it works through a
/// long row in slices (see [`arm_dsp_gemm_sliced`]): a multiple of
/// [`ARM_DSP_GEMM_STEP`] and at most `4 ·` [`ARM_DSP_GEMM_CHUNK`], so one slice is one
/// exact sum of the paired accumulators.
pub const ARM_DSP_GEMM_SLICE: usize = 128;

/// Fewest multiply-accumulates (`m·n·k`) of a fully-connected layer the Arm DSP
/// kernel computes with its packed multiply-adds; below, it runs the portable loops
/// on plain operands, kept rolled (see [`arm_dsp_gemm_rolled`]).
pub const ARM_DSP_GEMM_ROLLED_BELOW: usize = 1024;

/// Whether the Arm DSP fully-connected layer runs `p` as the portable kernel does,
/// with its loops kept rolled, on the weights and bias as they are (no packing, no
/// scratch): a layer under [`ARM_DSP_GEMM_ROLLED_BELOW`] MACs, such as a
/// classifier's last layer (KWS 768, ResNet-8 640, VWW 512), where the packed path's
/// code (1.2 to 1.4 kB on a Cortex-M4, specialised for the one layer) costs more
/// flash than the few thousand instructions it saves (the rolled loops: about 640
/// bytes). The AD autoencoder's smallest layers have 1,024.
pub const fn arm_dsp_gemm_rolled(p: &Gemm) -> bool {
    p.m.saturating_mul(p.n).saturating_mul(p.k) < ARM_DSP_GEMM_ROLLED_BELOW
}

/// Whether the Arm DSP fully-connected layer works through each row of activations
/// in slices of [`ARM_DSP_GEMM_SLICE`] inputs, keeping every column's running sum in
/// scratch, rather than widening the whole row once: when the row is longer than
/// `4 ·` [`ARM_DSP_GEMM_CHUNK`] inputs (the paired sums must be split anyway) or when
/// the slices need less scratch (a long row feeding few columns, like the first layer
/// of an autoencoder: 640 inputs widened take 1,280 bytes, a slice and 128 column sums 768).
pub const fn arm_dsp_gemm_sliced(p: &Gemm) -> bool {
    let k8 = round_to(p.k, ARM_DSP_GEMM_STEP);
    k8 > ARM_DSP_GEMM_SLICE && (k8 > 4 * ARM_DSP_GEMM_CHUNK || k8 / 2 > ARM_DSP_GEMM_SLICE / 2 + round_to(p.n, 4))
}

/// Scratch words of the Arm DSP fully-connected layer: one row of activations
/// widened to 16-bit pairs (`k` padded to [`ARM_DSP_GEMM_STEP`]), or, when it works
/// in slices ([`arm_dsp_gemm_sliced`]), one slice widened and the running sum of
/// every column (`n` padded to 4).
pub const fn arm_dsp_gemm_scratch(p: &Gemm) -> usize {
    if arm_dsp_gemm_rolled(p) {
        0
    } else if arm_dsp_gemm_sliced(p) {
        ARM_DSP_GEMM_SLICE / 2 + round_to(p.n, 4)
    } else {
        round_to(p.k, ARM_DSP_GEMM_STEP) / 2
    }
}

/// Bytes of [`arm_dsp_gemm_weights`]' output.
pub const fn arm_dsp_gemm_weights_len(n: usize, k: usize) -> usize {
    round_to(n, 4) * round_to(k, ARM_DSP_GEMM_STEP)
}

/// Fully-connected weights (`w` is `n × k`, one row per output column) for the Arm
/// DSP kernel: [`paired_words`] in blocks of 4 columns.
pub fn arm_dsp_gemm_weights(w: &[i8], n: usize, k: usize, into: &mut [i8]) -> bool {
    paired_words(w, n, k, 4, into)
}

/// Weights for the Arm DSP kernels that compute two output channels with one
/// accumulator pair (`w` is `n × k`, one row per output channel; `block` channels,
/// a multiple of 2, computed together): per block, per group of 4 inputs `4g..4g+4`
/// (`k` padded with zeros to a multiple of [`ARM_DSP_GEMM_STEP`]), per channel pair
/// `(c, c+1)`, the two words `[u(c, 4g), w(c+1, 4g), u(c, 4g+2), w(c+1, 4g+2)]` and the
/// same for inputs `4g+1, 4g+3`, where `u = w + 128` (the even channel's weight as an
/// unsigned byte). Read as signed halfwords, such a word is `256·w(c+1) + u(c)`; read
/// with `uxtb16`, it is `u(c)`: one `smlad` of each against two inputs accumulates
/// `256·Σ x·w(c+1) + Σ x·u(c)` and `Σ x·u(c)`, and `Σ x·u(c) = Σ x·w(c) + 128·Σ x`.
/// Channels past `n` (up to a multiple of `block`) are zero. False (and `into`
/// untouched) when the slices are too short.
pub fn paired_words(w: &[i8], n: usize, k: usize, block: usize, into: &mut [i8]) -> bool {
    let block = round_to(block.max(2), 2);
    let k8 = round_to(k, ARM_DSP_GEMM_STEP);
    let Some(into) = into.get_mut(..round_to(n, block) * k8) else { return false };
    if w.len() < n * k {
        return false;
    }
    let groups = (k8 / 4).max(1);
    let pairs = block / 2;
    for (i, o) in into.iter_mut().enumerate() {
        // i = (((b · groups + g) · pairs + pair) · 2 + h) · 4 + e
        let e = i % 4;
        let h = (i / 4) % 2;
        let pair = (i / 8) % pairs;
        let g = (i / (8 * pairs)) % groups;
        let b = i / (8 * pairs * groups);
        let (c, kk) = (block * b + 2 * pair + e % 2, 4 * g + h + 2 * (e / 2));
        let v = if c < n && kk < k { w.get(c * k + kk).copied().unwrap_or(0) } else { 0 };
        *o = if e % 2 == 0 { (v as u8 ^ 0x80) as i8 } else { v };
    }
    true
}

/// Whether every channel's output stage takes the Arm DSP kernels' short form
/// (`smmla`, `asr`, `ssat`): the multiplier's shift in 33..=62 (the high word of the
/// product decides) and an output clamp of exactly the i8 range. `Some(true)` when
/// moreover the output zero point folds into every rounding term
/// (`2^(shift−33) + zp·2^(shift−32)` below 2^30 in magnitude), `Some(false)` when it
/// must be added after the shift, `None` when the short form does not apply. `mult`
/// and `shift` hold one value per channel or one for all.
pub fn arm_dsp_output_stage(mult: &[i32], shift: &[i32], out: &QOut, channels: usize) -> Option<bool> {
    let per_channel = mult.len() >= channels && shift.len() >= channels;
    let n = if per_channel { channels } else { 1 };
    if out.min != -128 || out.max != 127 || shift.is_empty() || mult.len() < n {
        return None;
    }
    let mut folds = true;
    for &s in shift.iter().take(n) {
        if !(33..=62).contains(&s) {
            return None;
        }
        // |2^(s−33) + zp·2^(s−32)| < 2^30, in i64 (s − 32 ≤ 30).
        let rnd = (1i64 << (s - 33)) + ((out.zp as i64) << (s - 32));
        folds &= rnd.abs() < 1 << 30;
    }
    Some(folds)
}

/// True when the Arm DSP convolution reads its weights as [`paired_words`]: the
/// receptive field, padded to [`ARM_DSP_GEMM_STEP`], fits one chunk of
/// [`ARM_DSP_GEMM_CHUNK`] groups and the output stage takes the short form
/// ([`arm_dsp_output_stage`]); otherwise they are [`interleave`]d in channel pairs.
pub fn arm_dsp_conv2d_paired(p: &Conv2d, mult: &[i32], shift: &[i32], out: &QOut) -> bool {
    round_to(p.k_h * p.k_w * p.in_c, ARM_DSP_GEMM_STEP) <= 4 * ARM_DSP_GEMM_CHUNK
        && arm_dsp_output_stage(mult, shift, out, p.out_c).is_some()
}

/// The paths the Arm DSP convolution (`arm_dsp::conv2d_q8_form`) can take, as bits
/// of its `FORM` parameter, and [`of`](arm_dsp_conv_form::of), which gives them for a
/// layer. Every path is a property of the layer's shape and quantisation constants,
/// so the compiler computes the form at compile time and a firmware links only the
/// paths its layers take.
pub mod arm_dsp_conv_form {
    use super::{arm_dsp_conv2d_paired, arm_dsp_output_stage};
    use crate::kernels::Conv2d;
    use crate::quant::QOut;

    /// The input channel count is a multiple of 4: receptive fields are widened
    /// straight from the input (no `im2col` copy).
    pub const DIRECT: u8 = 1;
    /// Weights in [`paired_words`](super::paired_words) form
    /// ([`arm_dsp_conv2d_paired`]).
    pub const PAIRED: u8 = 2;
    /// The whole-row path: one asm routine computes every full channel pair.
    pub const ROW: u8 = 4;
    /// (With [`ROW`]) the output zero point folds into the rounding terms.
    pub const FOLD: u8 = 8;
    /// (Without [`ROW`] and [`PAIRED`]) every channel on the fast requantisation
    /// path and the full i8 clamp.
    pub const PLAIN: u8 = 16;
    /// (With [`ROW`]) an odd output channel count: the last channel apart.
    pub const ODD: u8 = 32;

    /// The form of a layer: the whole-row path when at least one full channel pair
    /// exists and the output stage folds or the weights pair up; otherwise the
    /// paired weights' general path, or per channel pair (plain when the output
    /// stage takes the short form).
    pub fn of(p: &Conv2d, mult: &[i32], shift: &[i32], out: &QOut) -> u8 {
        let stage = arm_dsp_output_stage(mult, shift, out, p.out_c);
        let paired = arm_dsp_conv2d_paired(p, mult, shift, out);
        let fold = stage == Some(true);
        let row = p.out_c / 2 > 0 && (fold || paired);
        let plain = !row && !paired && stage.is_some();
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        bit(p.in_c.is_multiple_of(4), DIRECT)
            | bit(paired, PAIRED)
            | bit(row, ROW)
            | bit(row && fold, FOLD)
            | bit(plain, PLAIN)
            | bit(row && p.out_c % 2 == 1, ODD)
    }
}

/// The paths the Arm DSP depthwise convolution (`arm_dsp::depthwise_conv2d_q8_form`)
/// can take, as bits of its `FORM` parameter, and [`of`](arm_dsp_depthwise_form::of),
/// which gives them for a layer (computed by the compiler, like
/// [`arm_dsp_conv_form`]).
pub mod arm_dsp_depthwise_form {
    use super::arm_dsp_output_stage;
    use crate::kernels::Conv2d;
    use crate::quant::QOut;

    /// The whole-pixel path: every full group of four channels folds its output
    /// stage, and one asm routine computes them all.
    pub const ROW: u8 = 1;
    /// (Without [`ROW`]) every channel on the fast requantisation path and the full
    /// i8 clamp.
    pub const PLAIN: u8 = 2;
    /// The channel count is not a multiple of 4: the last channels one at a time.
    pub const TAIL: u8 = 4;

    /// The form of a depthwise layer of `p.in_c` channels.
    pub fn of(p: &Conv2d, mult: &[i32], shift: &[i32], out: &QOut) -> u8 {
        let (c, full) = (p.in_c, p.in_c / 4);
        let row = full > 0 && arm_dsp_output_stage(mult, shift, out, 4 * full) == Some(true);
        let plain = !row && arm_dsp_output_stage(mult, shift, out, c).is_some();
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        bit(row, ROW) | bit(plain, PLAIN) | bit(!c.is_multiple_of(4), TAIL)
    }
}

/// Words of the Arm DSP convolution's bias operand for a layer of form `form`
/// ([`arm_dsp_conv_form`]): the folded bias (channels rounded to pairs), then the
/// output-stage table its path reads: 8 words per channel pair for the whole-row path,
/// `[mult, t, rnd]` per channel for the per-channel paths, nothing for the paired
/// weights' general path.
pub const fn arm_dsp_conv2d_bias_len(p: &Conv2d, form: u8) -> usize {
    let pairs = p.out_c.div_ceil(2);
    let table = if form & arm_dsp_conv_form::ROW != 0 {
        ARM_DSP_ROW_WORDS * pairs
    } else if form & arm_dsp_conv_form::PAIRED == 0 {
        3 * p.out_c
    } else {
        0
    };
    2 * pairs + table
}

/// The Arm DSP convolution's bias operand ([`arm_dsp_conv2d_bias_len`] words for the
/// layer's form): the bias with the input zero point folded in ([`fold_zero_point`]
/// over `w`, `O,kH,kW,I`), then the output-stage table, computed once here instead of
/// on every call. False (and `into` partly written) when `into` is too short or the
/// constants do not take the form's output stage.
#[allow(clippy::too_many_arguments)]
pub fn arm_dsp_conv2d_bias(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    into: &mut [i32],
) -> bool {
    let form = arm_dsp_conv_form::of(p, mult, shift, out);
    let k = p.k_h * p.k_w * p.in_c;
    let Some(into) = into.get_mut(..arm_dsp_conv2d_bias_len(p, form)) else { return false };
    let (folded, table) = into.split_at_mut(2 * p.out_c.div_ceil(2));
    fold_zero_point(w, bias, p.out_c, k, x_zp, 2, folded)
        && arm_dsp::conv_table(p, mult, shift, out, folded, form, table)
}

/// Words of the Arm DSP depthwise convolution's bias operand for a layer of form
/// `form` ([`arm_dsp_depthwise_form`]): the folded bias (channels rounded to 4), then
/// the output-stage table: 16 words per full group of four channels for the
/// whole-pixel path, `[mult, t, rnd]` per channel otherwise.
pub const fn arm_dsp_depthwise_bias_len(p: &Conv2d, form: u8) -> usize {
    let table = if form & arm_dsp_depthwise_form::ROW != 0 { 16 * (p.in_c / 4) } else { 3 * p.in_c };
    round4(p.in_c) + table
}

/// The Arm DSP depthwise convolution's bias operand ([`arm_dsp_depthwise_bias_len`]
/// words): the bias with the input zero point folded in over the taps
/// ([`fold_zero_point_by_channel`], `w` stored `kH,kW,C`), then the output-stage
/// table. False when `into` is too short or the constants do not take the form.
#[allow(clippy::too_many_arguments)]
pub fn arm_dsp_depthwise_bias(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    into: &mut [i32],
) -> bool {
    let form = arm_dsp_depthwise_form::of(p, mult, shift, out);
    let Some(into) = into.get_mut(..arm_dsp_depthwise_bias_len(p, form)) else { return false };
    let (folded, table) = into.split_at_mut(round4(p.in_c));
    folded.fill(0);
    fold_zero_point_by_channel(w, bias, p.in_c, p.k_h * p.k_w, x_zp, folded)
        && arm_dsp::depthwise_table(p, mult, shift, out, folded, form, table)
}

/// Words per channel pair of the Arm DSP whole-row table: both channels' biases,
/// then `mult, rnd, t` for each.
pub const ARM_DSP_ROW_WORDS: usize = 8;

/// Elements of [`arm_dsp_conv2d_weights`]' output (`paired`: from
/// [`arm_dsp_conv2d_paired`]).
pub const fn arm_dsp_conv2d_weights_len(p: &Conv2d, paired: bool) -> usize {
    let k = p.k_h * p.k_w * p.in_c;
    if paired {
        round_to(p.out_c, 2) * round_to(k, ARM_DSP_GEMM_STEP)
    } else {
        interleaved_len(p.out_c, k, 2)
    }
}

/// Convolution filters `O,kH,kW,I` for the Arm DSP kernel: [`paired_words`] in
/// blocks of 2 channels when `paired` (from [`arm_dsp_conv2d_paired`]), else
/// [`interleave`]d in blocks of 2.
pub fn arm_dsp_conv2d_weights(w: &[i8], p: &Conv2d, paired: bool, into: &mut [i8]) -> bool {
    let k = p.k_h * p.k_w * p.in_c;
    if paired {
        paired_words(w, p.out_c, k, 2, into)
    } else {
        interleave(w, p.out_c, k, 2, into)
    }
}

/// Inputs per vector of the Helium kernels: 16 signed bytes (one `q` register).
pub const ARM_MVE_CHUNK: usize = 16;

/// Bytes of [`arm_mve_conv2d_weights`]' output: channels padded to a multiple of 4,
/// the receptive field to a multiple of [`ARM_MVE_CHUNK`].
pub const fn arm_mve_conv2d_weights_len(p: &Conv2d) -> usize {
    round4(p.out_c) * round_to(p.k_h * p.k_w * p.in_c, ARM_MVE_CHUNK)
}

/// Convolution filters `O,kH,kW,I` for the Helium convolution, which computes 4
/// output channels at once against one vector of 16 inputs: per block of 4 channels,
/// per chunk of 16 inputs, the 16 weights of each of the 4 channels in turn (64
/// bytes), so the kernel reads its weights as one sequential stream. Inputs past the
/// receptive field and channels past `out_c` are zero. False (and `into` untouched)
/// when the slices are too short.
pub fn arm_mve_conv2d_weights(w: &[i8], p: &Conv2d, into: &mut [i8]) -> bool {
    let k = p.k_h * p.k_w * p.in_c;
    let Some(into) = into.get_mut(..arm_mve_conv2d_weights_len(p)) else { return false };
    if w.len() < p.out_c * k {
        return false;
    }
    let chunks = round_to(k, ARM_MVE_CHUNK) / ARM_MVE_CHUNK;
    for (i, o) in into.iter_mut().enumerate() {
        // i = ((b · chunks + g) · 4 + j) · 16 + e
        let e = i % ARM_MVE_CHUNK;
        let j = (i / ARM_MVE_CHUNK) % 4;
        let g = (i / (4 * ARM_MVE_CHUNK)) % chunks.max(1);
        let b = i / (4 * ARM_MVE_CHUNK * chunks.max(1));
        let (oc, kk) = (4 * b + j, ARM_MVE_CHUNK * g + e);
        *o = if oc < p.out_c && kk < k { w.get(oc * k + kk).copied().unwrap_or(0) } else { 0 };
    }
    true
}

/// Bytes of [`arm_mve_gemm_weights`]' output: columns padded to a multiple of 4,
/// the inner dimension to a multiple of [`ARM_MVE_CHUNK`].
pub const fn arm_mve_gemm_weights_len(p: &Gemm) -> usize {
    arm_mve_conv2d_weights_len(&p.as_pointwise())
}

/// B (`n × k`, the fully-connected layer's weights) for the Helium fully-connected
/// layer, which runs as the 1×1 convolution [`Gemm::as_pointwise`]: the
/// [`arm_mve_conv2d_weights`] layout of its `n` filters of `k` weights.
pub fn arm_mve_gemm_weights(w: &[i8], p: &Gemm, into: &mut [i8]) -> bool {
    arm_mve_conv2d_weights(w, &p.as_pointwise(), into)
}

/// Scratch words of the Helium convolution: one receptive field of raw input bytes
/// (its output-stage table is a constant: [`arm_mve::conv2d_bias`]).
pub const fn arm_mve_conv2d_scratch(p: &Conv2d) -> usize {
    round_to(p.k_h * p.k_w * p.in_c, ARM_MVE_CHUNK) / 4
}

/// Bytes of [`arm_mve_depthwise_weights`]' output: channels padded to a multiple of 8.
pub const fn arm_mve_depthwise_weights_len(channels: usize, taps: usize) -> usize {
    round_to(channels, 8) * taps
}

/// Depthwise filters `kH,kW,C` (`taps × channels`, see [`taps_by_channel`]) for the
/// Helium depthwise convolution, which computes 8 channels at once in 16-bit lanes:
/// per group of 8 channels, per tap, the group's 8 weights. Channels past `channels`
/// are zero. False (and `into` untouched) when the slices are too short.
pub fn arm_mve_depthwise_weights(w: &[i8], channels: usize, taps: usize, into: &mut [i8]) -> bool {
    let Some(into) = into.get_mut(..arm_mve_depthwise_weights_len(channels, taps)) else { return false };
    if w.len() < channels * taps {
        return false;
    }
    for (i, o) in into.iter_mut().enumerate() {
        // i = (g · taps + t) · 8 + j
        let j = i % 8;
        let t = (i / 8) % taps.max(1);
        let c = 8 * (i / (8 * taps.max(1))) + j;
        *o = if c < channels { w.get(t * channels + c).copied().unwrap_or(0) } else { 0 };
    }
    true
}

/// Scratch words of the Helium depthwise convolution: two tap-offset tables (`taps`
/// words each) and a row of input zero points (channels padded to 8); its
/// output-stage table is a constant ([`arm_mve::depthwise_bias`]).
pub const fn arm_mve_depthwise_scratch(p: &Conv2d) -> usize {
    2 * p.k_h * p.k_w + round_to(p.in_c, 8) / 4
}

/// Depthwise filters `C,kH,kW,1` (the IR's `O,kH,kW,I/groups` with one filter per
/// channel) as `kH,kW,C`: the channels of one tap side by side.
pub fn taps_by_channel<T: Copy>(w: &[T], channels: usize, taps: usize, into: &mut [T]) -> bool {
    let Some(into) = into.get_mut(..channels * taps) else { return false };
    if w.len() < channels * taps || channels == 0 {
        return false;
    }
    for (i, o) in into.iter_mut().enumerate() {
        let (t, c) = (i / channels, i % channels);
        if let Some(&v) = w.get(c * taps + t) {
            *o = v;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_alternates_channels_every_four_weights() {
        // 3 channels × 5 weights, blocks of 2: k padded to 8, channels to 4.
        let w: [i8; 15] = core::array::from_fn(|i| (10 * (i / 5) + i % 5) as i8);
        let mut out = [99i8; 32];
        assert!(interleave(&w, 3, 5, 2, &mut out));
        assert_eq!(&out[..8], &[0, 1, 2, 3, 10, 11, 12, 13]); // block 0, group 0
        assert_eq!(&out[8..16], &[4, 0, 0, 0, 14, 0, 0, 0]); // block 0, group 1
        assert_eq!(&out[16..24], &[20, 21, 22, 23, 0, 0, 0, 0]); // block 1: channel 2, padding
        assert_eq!(&out[24..], &[24, 0, 0, 0, 0, 0, 0, 0]);
        assert!(!interleave(&w, 3, 5, 2, &mut [0i8; 31]));
    }

    #[test]
    fn zero_points_fold_into_the_bias() {
        let w = [1i8, 2, 3, -1, -2, -3];
        let mut b = [0i32; 4];
        assert!(fold_zero_point(&w, &[100, 200], 2, 3, 5, 4, &mut b));
        assert_eq!(b, [100 - 5 * 6, 200 + 5 * 6, 0, 0]);
        assert!(fold_zero_point(&w, &[], 2, 3, -1, 1, &mut b));
        assert_eq!(&b[..2], &[6, -6]);
    }

    #[test]
    fn depthwise_zero_points_fold_per_channel() {
        // 2 taps × 3 channels (kH,kW,C): channel sums 1+4, 2+5, 3+6.
        let mut b = [0i32; 3];
        assert!(fold_zero_point_by_channel(&[1i8, 2, 3, 4, 5, 6], &[10, 20, 30], 3, 2, 2, &mut b));
        assert_eq!(b, [0, 6, 12]);
    }

    #[test]
    fn depthwise_weights_widen_in_sxtb16_order() {
        // 2 taps × 5 channels: w[t][c] = 10t + c; channels padded to 8.
        let w: [i8; 10] = core::array::from_fn(|i| (10 * (i / 5) + i % 5) as i8);
        let mut out = [0i8; 64];
        assert!(arm_dsp_depthwise_weights(&w, 5, 2, &mut out));
        let h = |i: usize| i16::from_le_bytes([out[2 * i] as u8, out[2 * i + 1] as u8]);
        let v: [i16; 32] = core::array::from_fn(h);
        assert_eq!(&v[..8], &[0, 2, 1, 3, 10, 12, 11, 13]); // group 0, taps 0 and 1
        assert_eq!(&v[8..16], &[4, 0, 0, 0, 14, 0, 0, 0]); // group 1: channel 4, padding
    }

    #[test]
    fn gemm_weights_pair_columns_with_the_even_one_unsigned() {
        // 3 columns × 5 inputs: w[c][k] = 10c + k; k padded to 8, columns to 4.
        let w: [i8; 15] = core::array::from_fn(|i| (10 * (i / 5) + i % 5) as i8);
        let mut out = [0i8; 32];
        assert!(arm_dsp_gemm_weights(&w, 3, 5, &mut out));
        let u = |v: i8| (v as u8 ^ 0x80) as i8;
        // Group 0: pair (0, 1): inputs 0, 2 then 1, 3; pair (2, 3): column 3 is zero.
        assert_eq!(&out[..8], &[u(0), 10, u(2), 12, u(1), 11, u(3), 13]);
        assert_eq!(&out[8..16], &[u(20), 0, u(22), 0, u(21), 0, u(23), 0]);
        // Group 1: input 4 only.
        assert_eq!(&out[16..24], &[u(4), 14, u(0), 0, u(0), 0, u(0), 0]);
        assert!(!arm_dsp_gemm_weights(&w, 3, 5, &mut [0i8; 31]));
        // Halfwords read as `256·w(c+1) + u(c)`.
        let h = i16::from_le_bytes([out[0] as u8, out[1] as u8]);
        assert_eq!(h as i32, 256 * 10 + 128);
    }

    #[test]
    fn depthwise_taps_become_channel_rows() {
        // 3 channels × 2 taps: c0 = [1, 2], c1 = [3, 4], c2 = [5, 6].
        let mut out = [0u8; 6];
        assert!(taps_by_channel(&[1u8, 2, 3, 4, 5, 6], 3, 2, &mut out));
        assert_eq!(out, [1, 3, 5, 2, 4, 6]);
    }
}
