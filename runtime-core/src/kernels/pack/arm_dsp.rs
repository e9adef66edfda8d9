//! The Arm DSP kernels' output-stage tables (`kernels::arm_dsp`), computed once by
//! the compiler and carried after the folded bias in the kernels' bias operand, so a
//! kernel derives nothing from the multipliers per call (a layer run in place, a row
//! per call, pays no set-up per row). The requantisation words are the ones the
//! kernels' output stage reads (`kernels::arm_dsp` `requant`): with `shift` in
//! 33..=62, `[mult, shift − 32, 2^(shift − 33)]` (the high word of the product
//! decides alone); otherwise `[mult, shift, 0]` for the general formula.

use super::{arm_dsp_conv_form, arm_dsp_depthwise_form, ARM_DSP_ROW_WORDS};
use crate::kernels::Conv2d;
use crate::quant::QOut;

/// One channel's requantisation words `[mult, t, rnd]` (see the module docs).
#[inline(always)]
pub const fn channel(mult: i32, shift: i32) -> [i32; 3] {
    if 33 <= shift && shift <= 62 {
        [mult, shift - 32, 1 << (shift - 33)]
    } else {
        [mult, shift, 0]
    }
}

/// Channel `c`'s words from per-channel constants (or the one shared pair when there
/// are fewer than `channels`).
fn channel_of(mult: &[i32], shift: &[i32], channels: usize, c: usize) -> [i32; 3] {
    let i = if mult.len() >= channels && shift.len() >= channels { c } else { 0 };
    channel(mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1))
}

/// `[mult, rnd + (zp << t), t]`: a fast-path channel (`[mult, t, rnd]`, `rnd ≠ 0`)
/// with the output zero point folded into its rounding term, for an output stage of
/// `smmla`, `asr` and `ssat`; `None` when the channel is off the fast path, `out` does
/// not clamp to exactly the i8 range, or the folded term would leave `hi + rnd`
/// outside i32 (`|hi| ≤ 2^30`, so `|rnd| < 2^30` suffices).
#[inline(always)]
pub fn folded([mult, t, rnd]: [i32; 3], out: &QOut) -> Option<[i32; 3]> {
    if rnd == 0 || out.min != -128 || out.max != 127 || !(1..=30).contains(&t) {
        return None;
    }
    let r = (rnd as i64) + ((out.zp as i64) << t);
    (r.abs() < 1 << 30).then_some([mult, r as i32, t])
}

/// Fills `table` (`[mult, t, rnd]` per channel) for `channels` channels; false when
/// it is too short.
pub fn fill(mult: &[i32], shift: &[i32], channels: usize, table: &mut [i32]) -> bool {
    let Some(table) = table.get_mut(..3 * channels) else { return false };
    for (c, t) in table.as_chunks_mut::<3>().0.iter_mut().enumerate() {
        *t = channel_of(mult, shift, channels, c);
    }
    true
}

/// The whole-row table's output stage for channel `c` of `channels` (`[mult, rnd,
/// t]`; a padding channel past the last gets a harmless stage), the output zero point
/// folded into the rounding term when `fold`; `None` when the channel's output stage
/// does not take that form.
fn row_stage(mult: &[i32], shift: &[i32], out: &QOut, channels: usize, fold: bool, c: usize) -> Option<[i32; 3]> {
    if c >= channels {
        return Some([0, 0, 1]);
    }
    let ch = channel_of(mult, shift, channels, c);
    if fold {
        folded(ch, out)
    } else {
        let [m, t, rnd] = ch;
        (rnd != 0 && out.min == -128 && out.max == 127).then_some([m, rnd, t])
    }
}

/// The whole-row table for every channel pair (`channels` rounded up to a pair):
/// both biases, then each channel's [`row_stage`]; false when some channel's output
/// stage does not take that form or `table` is too short.
fn row_table(
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    channels: usize,
    fold: bool,
    table: &mut [i32],
) -> bool {
    let stage = |c: usize| row_stage(mult, shift, out, channels, fold, c);
    let pairs = channels.div_ceil(2);
    let rows = table.as_chunks_mut::<ARM_DSP_ROW_WORDS>().0.iter_mut().zip(bias.as_chunks::<2>().0);
    let mut filled = 0;
    for (q, (row, b)) in rows.take(pairs).enumerate() {
        let (Some([m0, r0, t0]), Some([m1, r1, t1])) = (stage(2 * q), stage(2 * q + 1)) else { return false };
        *row = [b[0], b[1], m0, r0, t0, m1, r1, t1];
        filled += 1;
    }
    filled == pairs
}

/// The whole-pixel depthwise table for `groups` groups of four channels (16 words
/// each: the biases, then `mult, rnd, t` per channel, zero point folded); false when
/// some channel's output stage does not fold or `table` is too short.
fn depthwise_row_table(
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    groups: usize,
    table: &mut [i32],
) -> bool {
    let channels = 4 * groups;
    let mut filled = 0;
    for (g, (row, b)) in table.as_chunks_mut::<16>().0.iter_mut().zip(bias.as_chunks::<4>().0).take(groups).enumerate()
    {
        row[..4].copy_from_slice(b);
        for (j, t) in row[4..].as_chunks_mut::<3>().0.iter_mut().enumerate() {
            let Some(f) = folded(channel_of(mult, shift, channels, 4 * g + j), out) else { return false };
            *t = f;
        }
        filled += 1;
    }
    filled == groups
}

/// The output-stage table of a convolution of form `form` after its folded `bias`
/// (see [`super::arm_dsp_conv2d_bias_len`]); false when the constants do not take the
/// form or `table` is too short.
pub fn conv_table(
    p: &Conv2d,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    form: u8,
    table: &mut [i32],
) -> bool {
    if form & arm_dsp_conv_form::ROW != 0 {
        row_table(mult, shift, out, bias, p.out_c, form & arm_dsp_conv_form::FOLD != 0, table)
    } else if form & arm_dsp_conv_form::PAIRED == 0 {
        fill(mult, shift, p.out_c, table)
    } else {
        true
    }
}

/// The output-stage table of a depthwise convolution of form `form` after its folded
/// `bias` (see [`super::arm_dsp_depthwise_bias_len`]); false when the constants do
/// not take the form or `table` is too short.
pub fn depthwise_table(
    p: &Conv2d,
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    bias: &[i32],
    form: u8,
    table: &mut [i32],
) -> bool {
    if form & arm_dsp_depthwise_form::ROW != 0 {
        depthwise_row_table(mult, shift, out, bias, p.in_c / 4, table)
    } else {
        fill(mult, shift, p.in_c, table)
    }
}
