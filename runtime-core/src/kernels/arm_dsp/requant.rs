//! Requantisation for the DSP kernels: the per-channel multipliers turned, once per
//! call, into a table the output stage reads with one load per channel, and the
//! output stage itself — `round_half_up(acc · mult / 2^shift)`, then the zero point
//! and the clamp — in a handful of instructions, bit for bit as
//! `quant::requantize` and `QOut::finish`.

use crate::quant::{requantize_fast, QOut};

/// One channel's requantisation: `mult`, `shift − 32`, `2^(shift − 33)` when
/// `shift ≥ 33` (the high word of the product then decides alone); otherwise `t`
/// holds the full shift and `rnd` is 0, for the general formula.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Channel {
    mult: i32,
    t: i32,
    rnd: i32,
}

/// Words per channel in the scratch table.
pub const WORDS: usize = 3;

/// Fills `table` (3 words per channel) from the kernel's multipliers (one per
/// channel, or one for all); returns whether every channel takes the fast path.
pub fn fill(mult: &[i32], shift: &[i32], channels: usize, table: &mut [i32]) -> bool {
    let per_channel = mult.len() >= channels && shift.len() >= channels;
    let mut fast = true;
    for (c, t) in table.as_chunks_mut::<WORDS>().0.iter_mut().take(channels).enumerate() {
        let i = if per_channel { c } else { 0 };
        let (m, s) = (mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1));
        *t = if (33..=62).contains(&s) {
            [m, s - 32, 1 << (s - 33)]
        } else {
            fast = false;
            [m, s, 0]
        };
    }
    fast
}

impl Channel {
    /// A channel from its three table words.
    #[inline(always)]
    pub fn of(words: &[i32]) -> Channel {
        match *words {
            [mult, t, rnd, ..] => Channel { mult, t, rnd },
            _ => Channel { mult: 0, t: 1, rnd: 0 },
        }
    }
}

/// The output stage of the common case: every channel on the fast path and the
/// clamp the full i8 range (no fused activation beyond what the zero point gives).
#[inline(always)]
pub fn fast_full(acc: i32, ch: Channel, zp: i32) -> i8 {
    let hi = ((acc as i64 * ch.mult as i64) >> 32) as i32;
    (((hi + ch.rnd) >> ch.t) + zp).clamp(-128, 127) as i8
}

/// The output stage of any case (a channel off the fast path has `rnd == 0`).
#[inline(always)]
pub fn general(acc: i32, ch: Channel, out: &QOut) -> i8 {
    let r = if ch.rnd != 0 {
        let hi = ((acc as i64 * ch.mult as i64) >> 32) as i32;
        (hi + ch.rnd) >> ch.t
    } else {
        requantize_fast(acc, ch.mult, ch.t)
    };
    out.finish(r) as i8
}

/// True when the output stage clamps to exactly the i8 range.
#[inline(always)]
pub fn full_range(out: &QOut) -> bool {
    out.min == -128 && out.max == 127
}
