//! What every check shares: the PRNG, the geometry text, element types, fixed-size
//! buffers and the two comparisons (exact, and within a stated float tolerance).
//!
//! Nothing here can panic: no indexing, no unwrapping, no division by a variable.

use super::{Mismatch, Num};
use crate::kernels::Clamp;
use crate::quant::QOut;
use core::fmt;

/// Elements in one tensor buffer. Geometry generators only produce shapes whose
/// tensors fit; buffers hold [`SLACK`] elements more, so kernels are always handed
/// outputs a little longer than they need and writes past the end are caught.
pub(crate) const N: usize = 1024;
/// Extra elements after every output; the reference leaves them at the sentinel.
pub(crate) const SLACK: usize = 3;
/// Largest channel count (bias, multipliers, per-axis scales).
pub(crate) const MAX_CH: usize = 32;
/// Bytes of geometry text kept per case.
pub(crate) const TEXT_BYTES: usize = 192;
/// What float outputs hold before a kernel runs (no kernel computes it by chance).
pub(crate) const SENTINEL: f32 = -3.0e33;

/// The result of one check: `Err` names the first element that differs.
pub(crate) type Verdict = Result<(), Mismatch>;

/// What a check compares the implementation under test with.
pub(crate) enum Want<F> {
    /// The naive reference in `reference.rs`.
    Reference,
    /// Another implementation of the same kernel (its portable twin), run on identical
    /// inputs.
    #[allow(dead_code, reason = "built by the table's twin lines; none exist before the first ISA kernel")]
    Twin(F),
}

impl<F> Want<F> {
    /// [`Want::Reference`], typed like `imp` (a macro has no name for a function's type).
    pub(crate) fn reference_for(_imp: &F) -> Want<F> {
        Want::Reference
    }
}

/// SplitMix64: a tiny generator, good for every seed, identical on every target.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for one case.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0), by a multiply instead of a division.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo.saturating_add(self.below(hi.saturating_sub(lo).saturating_add(1)))
    }

    /// Uniform in `lo..=hi` for the integer ranges of quantisation parameters.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.wrapping_sub(lo) as u64 as u128 + 1;
        lo.wrapping_add(((self.next_u64() as u128 * span) >> 64) as i64)
    }

    /// [`Rng::int`] for `i32` bounds.
    pub(crate) fn i32(&mut self, lo: i32, hi: i32) -> i32 {
        self.int(lo as i64, hi as i64) as i32
    }

    /// True with probability `num / den`.
    pub(crate) fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// Uniform in `[lo, hi)` (24 random bits).
    pub(crate) fn float(&mut self, lo: f32, hi: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 * (1.0 / 16_777_216.0);
        lo + (hi - lo) * u
    }

    /// One of `items` (`fallback` if there are none).
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        items.get(self.below(items.len())).copied().unwrap_or(fallback)
    }

    /// An extent in `1..=max` that is 1 a quarter of the time (edges matter most).
    pub(crate) fn dim(&mut self, max: usize) -> usize {
        if self.chance(1, 4) {
            1
        } else {
            self.range(1, max)
        }
    }
}

/// A fixed-capacity text: `core::fmt::Write` without allocation. Text past the
/// capacity is cut at a character boundary.
pub(crate) struct Text {
    buf: [u8; TEXT_BYTES],
    len: usize,
}

impl Text {
    /// An empty text.
    pub(crate) const fn new() -> Text {
        Text { buf: [0; TEXT_BYTES], len: 0 }
    }

    /// Empties the text.
    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }

    /// The text written so far.
    pub(crate) fn as_str(&self) -> &str {
        self.buf.get(..self.len).and_then(|b| core::str::from_utf8(b).ok()).unwrap_or("")
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut n = s.len().min(TEXT_BYTES.saturating_sub(self.len));
        while n > 0 && !s.is_char_boundary(n) {
            n -= 1;
        }
        let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..), s.as_bytes().get(..n)) else {
            return Ok(());
        };
        for (d, &b) in dst.iter_mut().zip(src) {
            *d = b;
        }
        self.len += n;
        Ok(())
    }
}

/// An element the suite compares exactly (integers bit for bit; floats bit for bit or
/// both NaN, for the data-movement kernels).
pub(crate) trait Elem: Copy + 'static {
    /// The value for a mismatch report.
    fn num(self) -> Num;
    /// Equal for the purpose of an exact comparison.
    fn same(self, other: Self) -> bool;
    /// A random value of the type (in [`Int::LO`]`..=`[`Int::HI`] for integers).
    fn random(rng: &mut Rng) -> Self;
}

/// The integer element types of the quantised kernels, with the range the suite draws
/// them from.
pub(crate) trait Int: Elem {
    /// Smallest value drawn: the type's minimum, except for `i16` weights, which hold an
    /// 8-bit weight minus its zero point (−255..=255), as the compiler emits them.
    const LO: i32;
    /// Largest value drawn.
    const HI: i32;
    /// The value `v` (wrapping; callers keep `v` in `LO..=HI`).
    fn of(v: i32) -> Self;
    /// Widening conversion.
    fn wide(self) -> i64;
}

macro_rules! ints {
    ($($t:ty: $lo:expr, $hi:expr;)*) => {$(
        impl Elem for $t {
            fn num(self) -> Num {
                Num::Int(self as i64)
            }
            fn same(self, other: Self) -> bool {
                self == other
            }
            fn random(rng: &mut Rng) -> Self {
                Self::of(rng.i32(Self::LO, Self::HI))
            }
        }
        impl Int for $t {
            const LO: i32 = $lo;
            const HI: i32 = $hi;
            fn of(v: i32) -> Self {
                v as $t
            }
            fn wide(self) -> i64 {
                self as i64
            }
        }
    )*};
}

ints! {
    i8: -128, 127;
    u8: 0, 255;
    i16: -255, 255;
    i32: -(1 << 24), 1 << 24;
}

impl Elem for f32 {
    fn num(self) -> Num {
        Num::Float(self)
    }
    fn same(self, other: Self) -> bool {
        self.to_bits() == other.to_bits() || (self.is_nan() && other.is_nan())
    }
    fn random(rng: &mut Rng) -> Self {
        rng.float(-1.0, 1.0)
    }
}

/// The first `n` elements of `s` (empty if `s` is shorter; generators never let that
/// happen, and the comparison would then flag the untouched output).
pub(crate) fn head<T>(s: &[T], n: usize) -> &[T] {
    s.get(..n).unwrap_or(&[])
}

/// The first `n` elements of `s`, mutable (see [`head`]).
pub(crate) fn head_mut<T>(s: &mut [T], n: usize) -> &mut [T] {
    match s.split_at_mut_checked(n) {
        Some((a, _)) => a,
        None => &mut [],
    }
}

/// Element `i` of `s`, or the type's default outside it.
#[inline]
pub(crate) fn at<T: Copy + Default>(s: &[T], i: usize) -> T {
    s.get(i).copied().unwrap_or_default()
}

/// Stores `v` at element `i` of `s` (nothing outside it).
#[inline]
pub(crate) fn put<T>(s: &mut [T], i: usize, v: T) {
    if let Some(o) = s.get_mut(i) {
        *o = v;
    }
}

/// Fills `s` with values drawn by `f`.
pub(crate) fn fill<T>(s: &mut [T], mut f: impl FnMut() -> T) {
    s.iter_mut().for_each(|v| *v = f());
}

/// Exact comparison: the first index where `got` and `want` differ.
pub(crate) fn exact<T: Elem>(output: &'static str, got: &[T], want: &[T]) -> Verdict {
    for (index, (&g, &w)) in got.iter().zip(want).enumerate() {
        if !g.same(w) {
            return Err(Mismatch { output, index, got: g.num(), want: w.num() });
        }
    }
    lengths(output, got.len(), want.len())
}

/// Float comparison: element `i` passes when it equals `want[i]` bit for bit, both are
/// NaN, or `|got − want| ≤ tol(i, want)`. Infinities must match exactly.
pub(crate) fn close(output: &'static str, got: &[f32], want: &[f32], tol: impl Fn(usize, f32) -> f32) -> Verdict {
    for (index, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol(index, w);
        if !ok {
            return Err(Mismatch { output, index, got: Num::Float(g), want: Num::Float(w) });
        }
    }
    lengths(output, got.len(), want.len())
}

fn lengths(output: &'static str, got: usize, want: usize) -> Verdict {
    if got == want {
        Ok(())
    } else {
        Err(Mismatch { output, index: got.min(want), got: Num::Int(got as i64), want: Num::Int(want as i64) })
    }
}

/// Relative-plus-absolute tolerance: `abs + rel · |want|`.
pub(crate) fn rel_abs(rel: f32, abs: f32) -> impl Fn(usize, f32) -> f32 {
    move |_, w| abs + rel * w.abs()
}

/// The float error bound of a sum of `terms` products whose absolute values add up to
/// `magnitude`, in any order, with one rounding per operation: `(terms + 2) · 2^-23 ·
/// magnitude` (twice the textbook `γ_n` bound, with room for a final scale and the
/// rounding of the f64 reference to f32), plus the smallest normal float.
pub(crate) fn sum_bound(terms: usize, magnitude: f64) -> f32 {
    ((terms as f64 + 2.0) * (1.0 / 8_388_608.0) * magnitude) as f32 + f32::MIN_POSITIVE
}

/// A fused clamp: none, ReLU, ReLU6 or a random interval.
pub(crate) fn clamp_of(rng: &mut Rng) -> Clamp {
    match rng.below(4) {
        0 => Clamp::NONE,
        1 => Clamp::RELU,
        2 => Clamp { min: 0.0, max: 6.0 },
        _ => {
            let min = rng.float(-1.0, 0.5);
            Clamp { min, max: min + rng.float(0.0, 1.5) }
        }
    }
}

/// An output stage for `Y`: a zero point in the type's range, and the type's range, a
/// fused ReLU (from the zero point up) or a random sub-range around the zero point (a
/// fused clip) as the clamp.
pub(crate) fn qout<Y: Int>(rng: &mut Rng) -> QOut {
    let zp = rng.i32(Y::LO, Y::HI);
    match rng.below(4) {
        0 => QOut { zp, min: zp, max: Y::HI },
        1 => QOut { zp, min: rng.i32(Y::LO, zp), max: rng.i32(zp, Y::HI) },
        _ => QOut { zp, min: Y::LO, max: Y::HI },
    }
}

/// A requantisation multiplier as the compiler emits it: `mult` in `[2^30, 2^31)` (0 on
/// rare occasions, for a negligible scale) and `shift` in `1..=62`, mostly within
/// `typical` (where outputs neither vanish nor saturate), otherwise anywhere.
pub(crate) fn multiplier(rng: &mut Rng, typical: (u32, u32)) -> (i32, i32) {
    let mult = if rng.chance(1, 50) { 0 } else { rng.i32(1 << 30, i32::MAX) };
    let shift = if rng.chance(1, 8) { rng.i32(1, 62) } else { rng.i32(typical.0 as i32, typical.1 as i32) };
    (mult, shift)
}

/// Typical shifts for an accumulator of `terms` products of 8-bit values: about
/// `2^(12.5 + log2(terms)/2)` in size, it lands near ±64 with a shift near
/// `37 + log2(terms)/2`.
pub(crate) fn typical_shift(terms: usize) -> (u32, u32) {
    let centre = 37 + (usize::BITS - terms.leading_zeros()) / 2;
    (centre - 3, centre + 3)
}

/// Per-channel multipliers (or one for all, half the time) for `channels` channels.
/// Returns how many were drawn.
pub(crate) fn multipliers(
    rng: &mut Rng,
    channels: usize,
    typical: (u32, u32),
    mult: &mut [i32; MAX_CH],
    shift: &mut [i32; MAX_CH],
) -> usize {
    let n = if rng.chance(1, 2) { 1 } else { channels.clamp(1, MAX_CH) };
    for (m, s) in mult.iter_mut().zip(shift.iter_mut()).take(n) {
        (*m, *s) = multiplier(rng, typical);
    }
    n
}

/// A float for reports, in at most 9 significant digits (`-9.45260048e-1`, `6`, `5e-1`),
/// formatted with integer arithmetic only: core's float formatting keeps panic paths
/// (internal assertions) that a firmware proving it has none could not link.
#[derive(Clone, Copy)]
pub(crate) struct Sci(pub(crate) f32);

impl fmt::Display for Sci {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        let sign = if v.is_sign_negative() { "-" } else { "" };
        if v.is_infinite() {
            return write!(f, "{sign}inf");
        }
        if v == 0.0 {
            return write!(f, "{sign}0");
        }
        // a · 10^e with a in [1, 10): at most 39 steps up or 45 down for an f32.
        let (mut a, mut e) = ((v as f64).abs(), 0i32);
        while a >= 10.0 {
            a /= 10.0;
            e += 1;
        }
        while a < 1.0 {
            a *= 10.0;
            e -= 1;
        }
        let mut digits = (a * 1e8 + 0.5) as u64; // 9 significant digits
        if digits >= 1_000_000_000 {
            digits /= 10;
            e += 1;
        }
        let mut scale = 100_000_000u64;
        while digits.is_multiple_of(10) && scale > 1 {
            digits /= 10;
            scale /= 10;
        }
        let (lead, rest) = (digits / scale.max(1), digits % scale.max(1));
        write!(f, "{sign}{lead}")?;
        if scale > 1 {
            let width = (scale.ilog10()) as usize;
            write!(f, ".{rest:0width$}")?;
        }
        if e != 0 {
            write!(f, "e{e}")?;
        }
        Ok(())
    }
}
