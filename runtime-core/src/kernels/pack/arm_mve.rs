//! The Helium kernels' vector output-stage tables (`kernels::arm_mve`), computed once
//! by the compiler and carried after the folded bias in the kernels' bias operand
//! when the layer's output stage takes the vector form, so a kernel derives nothing
//! from the multipliers per call (a layer run in place, two pixels or a row per call,
//! pays no set-up per call). Without the table the kernels take their scalar output
//! stage, bit for bit the same arithmetic.

use super::{fold_zero_point, fold_zero_point_by_channel, round4, round_to};
use crate::kernels::{Conv2d, Gemm};
use crate::quant::{requantize, QOut};

/// Words per block of 4 channels in the output-stage table.
pub const TABLE: usize = 16;

/// Where channel `c` of `channels` finds its multiplier and shift: its own, or the one
/// shared pair.
fn index(mult: &[i32], shift: &[i32], channels: usize, c: usize) -> usize {
    if mult.len() >= channels && shift.len() >= channels {
        c
    } else {
        0
    }
}

/// Channel `c`'s vector output stage `(mult, rnd, t)`: `t = shift − 32` and the rounding
/// term `2^(t−1) + zp·2^t`; `None` when its shift lies outside 33..=62 or the rounding
/// term reaches 2^30 in magnitude (which could overflow `hi + rnd`). A channel whose
/// accumulator, within `acc` ([`acc_range`]), always requantises to the same value
/// `v` (trained models have channels whose weights are all zero and whose bias alone,
/// under a shift too large for the rounding term, sets the output) gets the stage
/// `(0, 1 + 2·v, 1)`: `(0 + 1 + 2v) >> 1 = v` for every accumulator.
fn stage(
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    channels: usize,
    c: usize,
    acc: (i64, i64),
) -> Option<(i32, i32, i32)> {
    let i = index(mult, shift, channels, c);
    let s = shift.get(i).copied().unwrap_or(1);
    let m = mult.get(i).copied().unwrap_or(0);
    if let Some(v) = constant(m, s, out, acc) {
        return Some((0, 1 + 2 * v, 1));
    }
    if !(33..=62).contains(&s) {
        return None;
    }
    let t = s - 32;
    let rnd = (1i64 << (t - 1)) + ((out.zp as i64) << t);
    (rnd.abs() < 1 << 30).then_some((m, rnd as i32, t))
}

/// The output `out.finish(requantize(a, mult, shift))` when it is the same for every
/// accumulator `a` in `lo..=hi` (both within i32; the requantisation is monotonic in
/// `a`, so the two ends decide) and lies within ±2^20; `None` otherwise.
pub fn constant(mult: i32, shift: i32, out: &QOut, (lo, hi): (i64, i64)) -> Option<i32> {
    let (Ok(lo), Ok(hi)) = (i32::try_from(lo), i32::try_from(hi)) else { return None };
    let at = |a: i32| out.finish(requantize(a, mult, shift as u32));
    let v = at(lo);
    (lo <= hi && v == at(hi) && v.unsigned_abs() < 1 << 20).then_some(v)
}

/// The range of one output channel's accumulator: `bias − zp·Σw ± 128·Σ|w|` over the
/// channel's weights `w` (raw i8 inputs, the zero point folded into the bias as the
/// kernels run them).
fn acc_range(bias: i32, x_zp: i32, w: impl Iterator<Item = i8>) -> (i64, i64) {
    let (sum, abs) = w.fold((0i64, 0i64), |(s, a), v| (s + v as i64, a + (v as i64).abs()));
    let folded = bias as i64 - x_zp as i64 * sum;
    (folded - 128 * abs, folded + 128 * abs)
}

/// No accumulator range known: every value of i64.
const UNKNOWN: (i64, i64) = (i64::MIN, i64::MAX);

/// [`acc_range`] of output channel `c` of a one-group convolution (`w` as
/// `O,kH,kW,I`, `k` weights per channel).
fn conv_acc(w: &[i8], bias: &[i32], k: usize, x_zp: i32, c: usize) -> (i64, i64) {
    match w.get(c * k..(c + 1) * k) {
        Some(row) => acc_range(bias.get(c).copied().unwrap_or(0), x_zp, row.iter().copied()),
        None => UNKNOWN,
    }
}

/// [`acc_range`] of channel `c` of a depthwise convolution (`w` as `kH,kW,C`).
fn depthwise_acc(w: &[i8], bias: &[i32], channels: usize, taps: usize, x_zp: i32, c: usize) -> (i64, i64) {
    if w.len() < channels * taps {
        return UNKNOWN;
    }
    let taps = (0..taps).filter_map(|t| w.get(t * channels + c).copied());
    acc_range(bias.get(c).copied().unwrap_or(0), x_zp, taps)
}

/// Fills the output-stage table (per block of 4 channels: biases, multipliers,
/// rounding terms `2^(t−1) + zp·2^t`, negated shifts `−t`, with `t = shift − 32`);
/// false when some channel's stage does not take that form (a shift outside 33..=62,
/// or a rounding term of 2^30 or more in magnitude, which could overflow `hi + rnd`,
/// unless `acc`, the channel's accumulator range, makes its output a constant: see
/// [`stage`]). Channels past `channels` get a harmless stage.
#[allow(clippy::too_many_arguments)]
fn fill_table(
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    channels: usize,
    acc: &dyn Fn(usize) -> (i64, i64),
    table: &mut [i32],
) -> bool {
    let blocks = channels.div_ceil(4);
    let mut filled = 0;
    let rows = table.as_chunks_mut::<TABLE>().0.iter_mut().zip(bias.as_chunks::<4>().0);
    for (b, (row, bq)) in rows.take(blocks).enumerate() {
        row[..4].copy_from_slice(bq);
        for j in 0..4 {
            let c = 4 * b + j;
            let (m, rnd, t) = if c < channels {
                let Some(st) = stage(mult, shift, out, channels, c, acc(c)) else { return false };
                st
            } else {
                (0, 0, 1)
            };
            row[4 + j] = m;
            row[8 + j] = rnd;
            row[12 + j] = -t;
        }
        filled += 1;
    }
    filled == blocks
}

/// Words per group of 8 channels in the depthwise output-stage table.
pub const DW_TABLE: usize = 32;

/// Fills the depthwise output-stage table for `groups` full groups of 8 channels
/// (biases, multipliers, rounding terms `2^(t−1) + zp·2^t`, negated shifts, each as
/// the group's 4 even channels then its 4 odd ones); false when some channel's stage
/// does not take that form (see [`fill_table`]).
#[allow(clippy::too_many_arguments)]
fn fill_depthwise_table(
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    channels: usize,
    groups: usize,
    acc: &dyn Fn(usize) -> (i64, i64),
    table: &mut [i32],
) -> bool {
    let mut filled = 0;
    for (g, row) in table.as_chunks_mut::<DW_TABLE>().0.iter_mut().take(groups).enumerate() {
        for j in 0..8 {
            let c = 8 * g + j;
            let Some(b) = bias.get(c).copied() else { return false };
            let Some((m, rnd, t)) = stage(mult, shift, out, channels, c, acc(c)) else { return false };
            // Lane `j / 2` of the even (j even) or odd vector.
            let lane = 4 * (j % 2) + j / 2;
            row[lane] = b;
            row[8 + lane] = m;
            row[16 + lane] = rnd;
            row[24 + lane] = -t;
        }
        filled += 1;
    }
    filled == groups
}

/// True when channel `c` of `channels` has its multiplier and takes the vector output
/// stage ([`stage`], its accumulator within `acc`).
fn vector_channel(mult: &[i32], shift: &[i32], out: &QOut, channels: usize, c: usize, acc: (i64, i64)) -> bool {
    mult.get(index(mult, shift, channels, c)).is_some() && stage(mult, shift, out, channels, c, acc).is_some()
}

/// Words of the Helium convolution's bias operand: the folded bias (channels rounded
/// to 4), then, when every channel's output stage takes the vector form and `out`
/// clamps to a non-empty range, [`TABLE`] words per block of 4 channels. The weights
/// (`O,kH,kW,I`), bias and input zero point are those of [`conv2d_bias`]: they bound
/// each channel's accumulator.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_bias_len(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
) -> usize {
    let (c, k) = (p.out_c, p.k_h * p.k_w * p.in_c);
    let acc = |ch| conv_acc(w, bias, k, x_zp, ch);
    let vector = out.min <= out.max && (0..c).all(|ch| vector_channel(mult, shift, out, c, ch, acc(ch)));
    round4(c) + if vector { TABLE * c.div_ceil(4) } else { 0 }
}

/// The Helium convolution's bias operand ([`conv2d_bias_len`] words): the bias with
/// the input zero point folded in ([`fold_zero_point`] over `w`, `O,kH,kW,I`), then
/// the vector table when the layer takes it. False when `into` is too short.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_bias(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    into: &mut [i32],
) -> bool {
    let len = conv2d_bias_len(w, bias, p, x_zp, mult, shift, out);
    let Some(into) = into.get_mut(..len) else { return false };
    let (folded, table) = into.split_at_mut(round4(p.out_c));
    let k = p.k_h * p.k_w * p.in_c;
    let acc = |ch| conv_acc(w, bias, k, x_zp, ch);
    fold_zero_point(w, bias, p.out_c, k, x_zp, 4, folded)
        && (table.is_empty() || fill_table(mult, shift, out, folded, p.out_c, &acc, table))
}

/// Words of the Helium fully-connected layer's bias operand: [`conv2d_bias_len`] of
/// its 1×1 convolution ([`Gemm::as_pointwise`]) with no input zero point (the
/// compiler has already folded it into the bias, as for the portable kernel).
pub fn gemm_bias_len(w: &[i8], bias: &[i32], p: &Gemm, mult: &[i32], shift: &[i32], out: &QOut) -> usize {
    conv2d_bias_len(w, bias, &p.as_pointwise(), 0, mult, shift, out)
}

/// The Helium fully-connected layer's bias operand ([`gemm_bias_len`] words): the
/// bias padded to a multiple of 4 columns, then the vector table when the layer
/// takes it ([`conv2d_bias`] of its 1×1 convolution, no input zero point). False
/// when `into` is too short.
pub fn gemm_bias(w: &[i8], bias: &[i32], p: &Gemm, mult: &[i32], shift: &[i32], out: &QOut, into: &mut [i32]) -> bool {
    conv2d_bias(w, bias, &p.as_pointwise(), 0, mult, shift, out, into)
}

/// Words of the Helium depthwise convolution's bias operand: the folded bias
/// (channels rounded to 8), then, when there is a full group of 8 channels and every
/// channel of the full groups takes the vector output stage, [`DW_TABLE`] words per
/// full group. The weights (`kH,kW,C`), bias and input zero point are those of
/// [`depthwise_bias`]: they bound each channel's accumulator.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_bias_len(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
) -> usize {
    let (c, full, taps) = (p.in_c, p.in_c / 8, p.k_h * p.k_w);
    let acc = |ch| depthwise_acc(w, bias, c, taps, x_zp, ch);
    let vector =
        full > 0 && out.min <= out.max && (0..8 * full).all(|ch| vector_channel(mult, shift, out, c, ch, acc(ch)));
    round_to(c, 8) + if vector { DW_TABLE * full } else { 0 }
}

/// The Helium depthwise convolution's bias operand ([`depthwise_bias_len`] words):
/// the bias with the input zero point folded in over the taps
/// ([`fold_zero_point_by_channel`], `w` stored `kH,kW,C`), then the vector table when
/// the layer takes it. False when `into` is too short.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_bias(
    w: &[i8],
    bias: &[i32],
    p: &Conv2d,
    x_zp: i32,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    into: &mut [i32],
) -> bool {
    let len = depthwise_bias_len(w, bias, p, x_zp, mult, shift, out);
    let Some(into) = into.get_mut(..len) else { return false };
    let (folded, table) = into.split_at_mut(round_to(p.in_c, 8));
    folded.fill(0);
    let taps = p.k_h * p.k_w;
    let acc = |ch| depthwise_acc(w, bias, p.in_c, taps, x_zp, ch);
    fold_zero_point_by_channel(w, bias, p.in_c, taps, x_zp, folded)
        && (table.is_empty() || fill_depthwise_table(mult, shift, out, folded, p.in_c, p.in_c / 8, &acc, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Helium output stage on one lane (`conv_row`'s `vmulh`, `vadd`, `vshl` by
    /// the negated shift, clamp), from the table's words.
    fn vector_stage(a: i32, m: i32, rnd: i32, neg_t: i32, out: &QOut) -> i32 {
        let hi = ((a as i64 * m as i64) >> 32) as i32;
        (hi.wrapping_add(rnd) >> -neg_t).clamp(out.min, out.max)
    }

    /// A pointwise layer of 4 channels over 2 inputs (`O,kH,kW,I` weights).
    fn layer() -> Conv2d {
        Conv2d {
            batch: 1,
            in_c: 2,
            in_h: 1,
            in_w: 1,
            out_c: 4,
            out_h: 1,
            out_w: 1,
            k_h: 1,
            k_w: 1,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 0,
            pad_left: 0,
            groups: 1,
        }
    }

    #[test]
    fn channels_whose_output_is_constant_take_the_vector_stage_with_the_same_results() {
        // VWW's dead channels: all-zero weights, a bias near ±2^30 and shifts the
        // folded rounding term cannot hold with zp = −128 (2^(t−1) − 128·2^t).
        let out = QOut { zp: -128, min: -128, max: 127 };
        let (x_zp, p) = (-128, layer());
        let w = [10i8, -7, 0, 0, 0, 0, 3, 1];
        let bias = [11903, 1073741771, -1073741802, 500];
        let mult = [1595487187, 1320764593, 1163299456, 1 << 30];
        let shift = [39, 58, 57, 62];
        let len = conv2d_bias_len(&w, &bias, &p, x_zp, &mult, &shift, &out);
        assert_eq!(len, 4 + TABLE, "every channel takes the vector stage");
        let mut into = [0i32; 4 + TABLE];
        assert!(conv2d_bias(&w, &bias, &p, x_zp, &mult, &shift, &out, &mut into));
        let (folded, table) = into.split_at(4);
        for c in 0..4 {
            let (m, rnd, neg_t) = (table[4 + c], table[8 + c], table[12 + c]);
            let (lo, hi) = conv_acc(&w, &bias, 2, x_zp, c);
            assert!(lo <= folded[c] as i64 && folded[c] as i64 <= hi);
            // Every accumulator the inputs can produce (inputs −128..=127).
            for x0 in [-128i32, -1, 0, 5, 127] {
                for x1 in [-128i32, 0, 127] {
                    let a = folded[c] + x0 * w[2 * c] as i32 + x1 * w[2 * c + 1] as i32;
                    let want = out.finish(requantize(a, mult[c], shift[c] as u32));
                    assert_eq!(vector_stage(a, m, rnd, neg_t, &out), want, "channel {c}, a = {a}");
                }
            }
        }
        // The dead channels' stages are constants; the live one keeps its multiplier.
        assert_eq!(table[4..8], [mult[0], 0, 0, 0]);
    }

    #[test]
    fn an_output_that_varies_is_not_a_constant() {
        let out = QOut { zp: 0, min: -128, max: 127 };
        assert_eq!(constant(1 << 30, 33, &out, (0, 1 << 20)), None);
        assert_eq!(constant(1 << 30, 62, &out, (-(1 << 20), 1 << 20)), Some(0));
        assert_eq!(constant(1 << 30, 40, &out, (1 << 30, 1 << 30)), Some(127));
        // Outside i32 the kernels' accumulator would wrap: never a constant.
        assert_eq!(constant(1, 62, &out, (0, 1 << 31)), None);
    }
}
