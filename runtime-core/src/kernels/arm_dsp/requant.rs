//! Requantisation for the DSP kernels: a channel's words as the output stage reads
//! them (computed by `pack::arm_dsp`, which also builds the compile-time tables), and
//! the output stage itself — `round_half_up(acc · mult / 2^shift)`, then the zero point
//! and the clamp — in a handful of instructions, bit for bit as
//! `quant::requantize` and `QOut::finish`.

use crate::kernels::pack;
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

impl Channel {
    /// A channel from its multiplier and shift.
    #[inline(always)]
    pub fn new(mult: i32, shift: i32) -> Channel {
        let [mult, t, rnd] = pack::arm_dsp::channel(mult, shift);
        Channel { mult, t, rnd }
    }

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

/// A fast-path channel whose output zero point is folded into the rounding term
/// (`(hi + rnd + (zp << t)) >> t = ((hi + rnd) >> t) + zp`), for an output stage of
/// `smmla`, `asr` and `ssat`: `[mult, rnd + (zp << t), t]`.
#[derive(Clone, Copy)]
pub struct Folded {
    /// The multiplier.
    pub mult: i32,
    /// The rounding term with the zero point folded in.
    pub rnd: i32,
    /// The shift after the high word (1..=30).
    pub t: i32,
}

impl Folded {
    /// The folded form of `ch` for `out`, when it is on the fast path, `out` clamps to
    /// exactly the i8 range and the folded term keeps `hi + rnd` inside i32 (`|hi| ≤
    /// 2^30`, so `|rnd| < 2^30` suffices).
    #[inline(always)]
    pub fn of(ch: Channel, out: &QOut) -> Option<Folded> {
        let [mult, rnd, t] = pack::arm_dsp::folded([ch.mult, ch.t, ch.rnd], out)?;
        Some(Folded { mult, rnd, t })
    }
}
