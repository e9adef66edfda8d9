//! Quantisation arithmetic shared by the integer kernels: 8-bit element types,
//! fixed-point requantisation, float ⇄ integer conversion.
//!
//! A real multiplier `M > 0` is represented as `mult · 2^-shift` with `mult` in
//! `[2^30, 2^31)` and `shift` in `1..=62`; the compiler computes both. Requantising an
//! accumulator is one 32×32→64-bit multiply and a single rounding (half up), which is
//! what the unit tests of the compiler check against exact rational arithmetic.

/// An 8-bit quantised element type (`i8` or `u8`).
pub trait Q8: Copy + 'static {
    /// Smallest value as i32.
    const MIN: i32;
    /// Largest value as i32.
    const MAX: i32;
    /// Widening conversion.
    fn to_i32(self) -> i32;
    /// Narrowing conversion of a value already clamped to `MIN..=MAX`.
    fn from_i32(v: i32) -> Self;
    /// The slice as `i8`s, when the type is `i8` (per-ISA kernels specialised for
    /// signed 8-bit data use it; other types get `None`).
    #[inline(always)]
    fn as_i8(_: &[Self]) -> Option<&[i8]> {
        None
    }
    /// Mutable twin of [`Q8::as_i8`].
    #[inline(always)]
    fn as_i8_mut(_: &mut [Self]) -> Option<&mut [i8]> {
        None
    }
}

/// A weight element type of the integer kernels: `i8`, or `i16` when a uint8 zero
/// point pushes the shifted weights out of the `i8` range.
pub trait Weight: Copy + Into<i32> + 'static {
    /// The slice as `i8`s, when the type is `i8`.
    #[inline(always)]
    fn as_i8(_: &[Self]) -> Option<&[i8]> {
        None
    }
}

impl Weight for i8 {
    #[inline(always)]
    fn as_i8(s: &[i8]) -> Option<&[i8]> {
        Some(s)
    }
}

impl Weight for i16 {}

impl Q8 for i8 {
    const MIN: i32 = -128;
    const MAX: i32 = 127;
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as i8
    }
    #[inline(always)]
    fn as_i8(s: &[i8]) -> Option<&[i8]> {
        Some(s)
    }
    #[inline(always)]
    fn as_i8_mut(s: &mut [i8]) -> Option<&mut [i8]> {
        Some(s)
    }
}

impl Q8 for u8 {
    const MIN: i32 = 0;
    const MAX: i32 = 255;
    #[inline(always)]
    fn to_i32(self) -> i32 {
        self as i32
    }
    #[inline(always)]
    fn from_i32(v: i32) -> Self {
        v as u8
    }
}

/// The output stage of an integer kernel: zero point and the clamp range (which
/// already includes the type's range and any fused activation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QOut {
    /// Output zero point.
    pub zp: i32,
    /// Smallest output value.
    pub min: i32,
    /// Largest output value.
    pub max: i32,
}

impl QOut {
    /// Adds the zero point and clamps.
    #[inline(always)]
    pub fn finish(&self, v: i32) -> i32 {
        // Not `clamp`: its `min <= max` assertion would be a panic path.
        let v = v.saturating_add(self.zp);
        if v < self.min {
            self.min
        } else if v > self.max {
            self.max
        } else {
            v
        }
    }
}

/// `round_half_up(acc · mult / 2^shift)`, saturated to i32. `shift` must be in
/// `1..=62`; other shifts are clamped into that range.
#[inline(always)]
pub fn requantize(acc: i32, mult: i32, shift: u32) -> i32 {
    let shift = shift.clamp(1, 62);
    let prod = acc as i64 * mult as i64;
    let r = (prod + (1i64 << (shift - 1))) >> shift;
    r.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// `round_half_up(v / 2^shift)` on 64-bit values (`shift` in `1..=62`).
#[inline(always)]
pub fn round_shift(v: i64, shift: u32) -> i64 {
    let shift = shift.clamp(1, 62);
    (v.saturating_add(1i64 << (shift - 1))) >> shift
}

/// `v / d` rounded half away from zero (`d > 0`).
#[inline(always)]
pub fn round_div(v: i64, d: i64) -> i64 {
    if d <= 0 {
        return 0;
    }
    if v >= 0 {
        div_u64((v + d / 2) as u64, d as u64) as i64
    } else {
        -(div_u64((-v + d / 2) as u64, d as u64) as i64)
    }
}

/// `n / d` (0 for `d = 0`), exact. On 32-bit targets it avoids the 64-bit division
/// routine of `compiler_builtins` (over 600 bytes of flash on a Cortex-M4, linked by
/// the average pooling and softmax output stages alone): a divisor below 2^16 takes
/// four 32-bit divisions of 16 bits each, any other one bit per step (shift and
/// subtract). 64-bit targets divide natively.
#[inline(always)]
pub fn div_u64(n: u64, d: u64) -> u64 {
    if cfg!(target_pointer_width = "64") {
        n.checked_div(d).unwrap_or(0)
    } else {
        div_u64_narrow(n, d)
    }
}

/// [`div_u64`] with 32-bit divisions only (what 32-bit targets run; tested on every
/// target).
#[inline(never)]
fn div_u64_narrow(n: u64, d: u64) -> u64 {
    if d == 0 || n < d {
        return 0;
    }
    // (Below 2^32, `d ≠ 0` is nonzero as 32 bits.)
    let nonzero = |d: u64| core::num::NonZeroU32::new(d as u32);
    if n >> 32 == 0 {
        return nonzero(d).map_or(0, |d32| (n as u32 / d32) as u64);
    }
    if d >> 16 == 0 {
        // Long division in base 2^16: the remainder stays below `d < 2^16`, so each
        // partial dividend fits 32 bits.
        let Some(d32) = nonzero(d) else { return 0 };
        let (d, mut q, mut r) = (d32.get(), 0u64, 0u32);
        for i in (0..4u32).rev() {
            let cur = (r << 16) | (n.wrapping_shr(16 * i) as u32 & 0xFFFF);
            let digit = cur / d32;
            r = cur - digit * d;
            q = (q << 16) | digit as u64;
        }
        return q;
    }
    // `n ≥ d`: align the divisor's top bit with the dividend's, then one quotient
    // bit per step.
    let steps = d.leading_zeros() - n.leading_zeros();
    let (mut q, mut r, mut s) = (0u64, n, d.wrapping_shl(steps));
    for _ in 0..=steps {
        q <<= 1;
        if r >= s {
            r -= s;
            q |= 1;
        }
        s >>= 1;
    }
    q
}

/// Rounds to the nearest integer, ties to even (IEEE default), as QuantizeLinear does.
#[inline(always)]
pub fn round_ties_even(x: f32) -> f32 {
    // Adding and subtracting 1.5·2^23 rounds to an integer in the current (nearest,
    // ties-to-even) mode for |x| < 2^22; larger values are already integers.
    const MAGIC: f32 = 12_582_912.0;
    if x.abs() >= 4_194_304.0 || x.is_nan() {
        return x;
    }
    (x + MAGIC) - MAGIC
}

/// `clamp(round_ties_even(x / scale) + zp)` into the range of `Y`.
#[inline(always)]
pub fn quantize<Y: Q8>(x: f32, scale: f32, zp: i32) -> Y {
    let q = round_ties_even(x / scale);
    let v = if q.is_nan() { zp as f32 } else { q + zp as f32 };
    let v = if v < Y::MIN as f32 {
        Y::MIN
    } else if v > Y::MAX as f32 {
        Y::MAX
    } else {
        v as i32
    };
    Y::from_i32(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_rounds_half_up_and_saturates() {
        // M = 0.5 exactly: mult 2^30, shift 31.
        assert_eq!(requantize(3, 1 << 30, 31), 2); // 1.5 → 2
        assert_eq!(requantize(-3, 1 << 30, 31), -1); // -1.5 → -1 (half up)
        assert_eq!(requantize(5, 1 << 30, 31), 3); // 2.5 → 3
        assert_eq!(requantize(i32::MAX, i32::MAX, 1), i32::MAX);
        assert_eq!(requantize(i32::MIN, i32::MAX, 1), i32::MIN);
        assert_eq!(requantize(1 << 20, 1 << 30, 62), 0);
    }

    #[test]
    fn round_ties_even_matches_std() {
        for x in [-2.5f32, -1.5, -0.5, 0.5, 1.5, 2.5, 3.49, -3.51, 1e7, 123456.5] {
            assert_eq!(round_ties_even(x), x.round_ties_even(), "{x}");
        }
    }

    #[test]
    fn quantize_saturates_and_handles_nan() {
        assert_eq!(quantize::<i8>(1000.0, 1.0, 0), 127);
        assert_eq!(quantize::<i8>(-1000.0, 1.0, 0), -128);
        assert_eq!(quantize::<u8>(-1.0, 0.5, 10), 8);
        assert_eq!(quantize::<u8>(f32::NAN, 0.5, 10), 10);
        assert_eq!(quantize::<i8>(0.25, 0.5, 0), 0); // 0.5 → 0 (ties to even)
        assert_eq!(quantize::<i8>(0.75, 0.5, 0), 2); // 1.5 → 2
    }

    #[test]
    fn div_u64_is_exact() {
        // Both paths, whatever the host's pointer width.
        let cases = [
            (0u64, 1u64),
            (7, 3),
            (u64::MAX, 1),
            (u64::MAX, 3),
            (u64::MAX, 0xFFFF),
            (u64::MAX, 0x1_0000),
            (u64::MAX, u64::MAX),
            (1 << 62, 2304),
            (0x1234_5678_9ABC_DEF0, 0x1_2345),
            (0x1234_5678_9ABC_DEF0, 0xFFFF_FFFF_FFFF),
            (5, 0),
            (1 << 40, 1 << 32),
            (u64::MAX, 1 << 32),
            (u64::MAX - 1, u64::MAX),
            (3 << 32, 0x1_0000_0001),
        ];
        for (n, d) in cases {
            let want = n.checked_div(d).unwrap_or(0);
            assert_eq!(div_u64(n, d), want, "{n} / {d}");
            assert_eq!(div_u64_narrow(n, d), want, "{n} / {d}");
        }
    }

    #[test]
    fn round_div_is_symmetric() {
        assert_eq!(round_div(5, 2), 3);
        assert_eq!(round_div(-5, 2), -3);
        assert_eq!(round_div(4, 3), 1);
        assert_eq!(round_div(-4, 3), -1);
        assert_eq!(round_div(7, 0), 0);
    }
}

/// [`requantize`], bit for bit, in fewer instructions on 32-bit targets for the
/// shifts the compiler emits (32 and more), with the shift as the `i32` kernels store.
/// For `shift ≥ 32` only the high word of the 64-bit
/// product matters: with `t = shift − 32`, `⌊(hi·2^32 + lo + 2^(shift−1)) / 2^shift⌋`
/// is `⌊(hi + 2^(t−1)) / 2^t⌋` when `t ≥ 1` (the low word adds less than one unit
/// before the floor), and `hi + lo/2^31` when `t = 0`. No saturation is needed there:
/// `|hi| < 2^30`.
#[inline(always)]
pub fn requantize_fast(acc: i32, mult: i32, shift: i32) -> i32 {
    let prod = acc as i64 * mult as i64;
    let (hi, lo) = ((prod >> 32) as i32, prod as u32);
    if (33..=62).contains(&shift) {
        (hi + (1 << (shift - 33))) >> (shift - 32)
    } else if shift == 32 {
        hi + (lo >> 31) as i32
    } else {
        requantize(acc, mult, shift as u32)
    }
}

#[cfg(test)]
mod fast_tests {
    use super::*;

    #[test]
    fn matches_the_portable_formula() {
        let mut s = 0x1234_5678u32;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let acc = (s as i32) >> (s % 9);
            let mult = (1 << 30) | (s.rotate_left(7) >> 2) as i32;
            let shift = (s.rotate_left(3) % 64) as i32;
            assert_eq!(requantize_fast(acc, mult, shift), requantize(acc, mult, shift as u32), "{acc} {mult} {shift}");
        }
    }
}
