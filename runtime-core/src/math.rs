//! Scalar float functions that `core` lacks (there is no libm on a microcontroller):
//! accurate to a few units in the last place over the ranges networks use, and total
//! (NaN in, NaN out; no panics).

const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
const LOG2E: f32 = core::f32::consts::LOG2_E;

/// 2^n for n in -126..=127, built from the exponent bits.
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// e^x.
#[inline]
pub fn exp(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    // ln(f32::MAX) = 88.7228391: above it the result overflows (the scaling below
    // would round to infinity too; this keeps 2^n in range).
    if x > 88.722_84 {
        return f32::INFINITY;
    }
    if x < -87.33 {
        return 0.0;
    }
    let t = x * LOG2E;
    let n = (t + if t >= 0.0 { 0.5 } else { -0.5 }) as i32;
    let nf = n as f32;
    let r = (x - nf * LN2_HI) - nf * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let half = n / 2;
    p * pow2i(half) * pow2i(n - half)
}

/// Natural logarithm (NaN for negative input, -inf for zero).
#[inline]
pub fn ln(x: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let mut bits = x.to_bits();
    let mut e: i32 = 0;
    if bits < 0x0080_0000 {
        // Subnormal: scale into the normal range first.
        bits = (x * 8_388_608.0).to_bits();
        e -= 23;
    }
    e += ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > core::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let lnm = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    e as f32 * LN2_HI + (e as f32 * LN2_LO + lnm)
}

/// Square root (NaN for negative input).
#[inline]
pub fn sqrt(x: f32) -> f32 {
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x;
    }
    // Scale subnormals up so the initial guess is sane; undo afterwards.
    let (x, scale) = if x < f32::MIN_POSITIVE { (x * 16_777_216.0, 1.0 / 4096.0) } else { (x, 1.0) };
    let mut y = f32::from_bits(0x1fbd_1df5 + (x.to_bits() >> 1));
    y = 0.5 * (y + x / y);
    y = 0.5 * (y + x / y);
    y = 0.5 * (y + x / y);
    y * scale
}

/// Logistic sigmoid 1 / (1 + e^-x).
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// Hyperbolic tangent.
#[inline]
pub fn tanh(x: f32) -> f32 {
    if x.is_nan() {
        return x;
    }
    if x > 9.0 {
        return 1.0;
    }
    if x < -9.0 {
        return -1.0;
    }
    let a = x.abs();
    if a < 0.625 {
        // tanh a = expm1(2a) / (expm1(2a) + 2), with expm1 by its series (|2a| < 1.25),
        // which keeps full relative precision near zero.
        let u = 2.0 * a;
        let mut p = 1.0 / 3_628_800.0;
        for c in
            [1.0 / 362_880.0, 1.0 / 40_320.0, 1.0 / 5_040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0]
        {
            p = c + u * p;
        }
        let e = u * p;
        let t = e / (e + 2.0);
        return if x < 0.0 { -t } else { t };
    }
    let e = exp(2.0 * a);
    let t = 1.0 - 2.0 / (e + 1.0);
    if x < 0.0 {
        -t
    } else {
        t
    }
}

/// x^y with the C `pow` conventions for the cases networks meet.
#[inline]
pub fn pow(x: f32, y: f32) -> f32 {
    if y == 0.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if y == 2.0 {
        return x * x;
    }
    if y == 0.5 {
        return sqrt(x);
    }
    let yi = y as i32;
    let is_int = yi as f32 == y && y.abs() < 2_147_483_648.0;
    if is_int && yi.unsigned_abs() <= 64 {
        let mut base = x;
        let mut e = yi.unsigned_abs();
        let mut acc = 1.0f32;
        while e > 0 {
            if e & 1 == 1 {
                acc *= base;
            }
            base *= base;
            e >>= 1;
        }
        return if yi < 0 { 1.0 / acc } else { acc };
    }
    if x < 0.0 {
        if !is_int {
            return f32::NAN;
        }
        let r = exp(y * ln(-x));
        return if yi & 1 == 1 { -r } else { r };
    }
    exp(y * ln(x))
}

/// x rounded toward zero.
#[inline]
pub fn trunc(x: f32) -> f32 {
    // Every float of magnitude 2^23 or more is an integer already (NaN and ±inf too).
    if x.is_nan() || x.abs() >= 8_388_608.0 {
        return x;
    }
    ((x as i32) as f32).copysign(x)
}

/// The largest integer ≤ x.
#[inline]
pub fn floor(x: f32) -> f32 {
    let t = trunc(x);
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// The smallest integer ≥ x.
#[inline]
pub fn ceil(x: f32) -> f32 {
    let t = trunc(x);
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// x rounded to the nearest integer, halves to even (ONNX Round, numpy `round`).
#[inline]
pub fn round_half_even(x: f32) -> f32 {
    let f = floor(x);
    let d = x - f;
    let r = if d > 0.5 || (d == 0.5 && trunc(f * 0.5) != f * 0.5) { f + 1.0 } else { f };
    if r == 0.0 {
        0.0f32.copysign(x)
    } else {
        r
    }
}

/// f64 rounded to the nearest integer (halves away from zero), as i64.
#[inline(always)]
fn round_i64(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// e^x in f64 (the f64 kernels' exponential, and the inside of the f32 functions
/// that need more than f32 precision).
pub fn exp64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    const LN2: f64 = core::f64::consts::LN_2;
    let n = round_i64(x / LN2);
    let r = x - n as f64 * LN2;
    // Taylor series of e^r for |r| ≤ ln2/2, to r^13/13!.
    let mut p = 1.0;
    for k in (1..=13).rev() {
        p = 1.0 + p * r / k as f64;
    }
    let half = n / 2;
    p * pow2i64(half) * pow2i64(n - half)
}

/// 2^n for n in -1022..=1023.
fn pow2i64(n: i64) -> f64 {
    f64::from_bits(((n.clamp(-1022, 1023) + 1023) as u64) << 52)
}

/// e^x − 1 in f64, accurate near zero.
pub fn expm1_64(x: f64) -> f64 {
    if x.abs() < 0.5 {
        // Taylor series to x^16/16!.
        let mut p = 0.0;
        for k in (1..=16).rev() {
            p = x / k as f64 * (1.0 + p);
        }
        return p;
    }
    exp64(x) - 1.0
}

/// ln x in f64 (NaN below zero, -inf at zero).
pub fn ln64(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    let mut bits = x.to_bits();
    let mut e: i64 = 0;
    if bits < (1u64 << 52) {
        bits = (x * 4_503_599_627_370_496.0).to_bits();
        e -= 52;
    }
    e += ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut p = 0.0;
    for k in (0..12).rev() {
        p = 1.0 / (2 * k + 1) as f64 + s2 * p;
    }
    e as f64 * core::f64::consts::LN_2 + 2.0 * s * p
}

/// √x in f64 (Newton steps from the f32 root).
pub fn sqrt64(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x;
    }
    let mut y = sqrt(x as f32) as f64;
    if y == 0.0 || y.is_infinite() {
        y = x.clamp(1.0e-300, 1.0e300);
    }
    for _ in 0..4 {
        y = 0.5 * (y + x / y);
    }
    y
}

/// sin and cos of x (in f64 inside, so f32 results are correctly rounded or nearly).
pub fn sin_cos(x: f32) -> (f32, f32) {
    let (s, c) = sin_cos64(x as f64);
    (s as f32, c as f32)
}

/// sin and cos of x in f64 (NaN for ±inf): reduced by multiples of π/2 in two parts,
/// then Taylor series on |r| ≤ π/4 (accurate for |x| up to about 1e9).
pub fn sin_cos64(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    const PIO2_HI: f64 = core::f64::consts::FRAC_PI_2;
    const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
    let k = round_i64(x / PIO2_HI);
    let r = (x - k as f64 * PIO2_HI) - k as f64 * PIO2_LO;
    let r2 = r * r;
    // Taylor series on |r| ≤ π/4: sin to r^15, cos to r^16.
    let (mut s, mut c) = (0.0, 0.0);
    for n in (0..8).rev() {
        let (a, b) = ((2 * n + 2) as f64 * (2 * n + 3) as f64, (2 * n + 1) as f64 * (2 * n + 2) as f64);
        s = 1.0 - r2 / a * s;
        c = 1.0 - r2 / b * c;
    }
    let s = r * s;
    match k.rem_euclid(4) {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// Sine.
pub fn sin(x: f32) -> f32 {
    sin_cos(x).0
}

/// Cosine.
pub fn cos(x: f32) -> f32 {
    sin_cos(x).1
}

/// Tangent.
pub fn tan(x: f32) -> f32 {
    if !x.is_finite() {
        return f32::NAN;
    }
    // Through f64 sin/cos recomputed for the quotient's precision.
    let (s, c) = sin_cos(x);
    (s as f64 / c as f64) as f32
}

/// atan in f64.
pub fn atan64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    const PIO2: f64 = core::f64::consts::FRAC_PI_2;
    const PIO6: f64 = core::f64::consts::FRAC_PI_6;
    const SQRT3: f64 = 1.732_050_807_568_877_2;
    let (sign, a) = if x < 0.0 { (-1.0, -x) } else { (1.0, x) };
    let (inv, a) = if a > 1.0 { (true, 1.0 / a) } else { (false, a) };
    let (shift, a) = if a > 0.267_949_192_431_122_7 { (true, (a * SQRT3 - 1.0) / (SQRT3 + a)) } else { (false, a) };
    // Series to a^25 on |a| ≤ tan(π/12).
    let a2 = a * a;
    let mut p = 0.0;
    for k in (0..13).rev() {
        let term = 1.0 / (2 * k + 1) as f64;
        p = if k % 2 == 0 { term } else { -term } + a2 * p;
    }
    let mut r = a * p;
    if shift {
        r += PIO6;
    }
    if inv {
        r = PIO2 - r;
    }
    sign * r
}

/// Arctangent.
pub fn atan(x: f32) -> f32 {
    atan64(x as f64) as f32
}

/// Arcsine (NaN outside [-1, 1]).
pub fn asin(x: f32) -> f32 {
    let x = x as f64;
    if !(-1.0..=1.0).contains(&x) {
        return f32::NAN;
    }
    if x.abs() == 1.0 {
        return (x * core::f64::consts::FRAC_PI_2) as f32;
    }
    atan64(x / sqrt64((1.0 - x) * (1.0 + x))) as f32
}

/// Arccosine (NaN outside [-1, 1]).
pub fn acos(x: f32) -> f32 {
    let x = x as f64;
    if !(-1.0..=1.0).contains(&x) {
        return f32::NAN;
    }
    // acos x = 2·atan(√((1−x)/(1+x))), accurate at both ends.
    if x == -1.0 {
        return core::f32::consts::PI;
    }
    (2.0 * atan64(sqrt64((1.0 - x) / (1.0 + x)))) as f32
}

/// Hyperbolic sine.
pub fn sinh(x: f32) -> f32 {
    let x = x as f64;
    let e = expm1_64(x.abs());
    let s = 0.5 * (e + e / (e + 1.0));
    (if x < 0.0 { -s } else { s }) as f32
}

/// Hyperbolic cosine.
pub fn cosh(x: f32) -> f32 {
    let e = exp64((x as f64).abs());
    (0.5 * (e + 1.0 / e)) as f32
}

/// Inverse hyperbolic sine.
pub fn asinh(x: f32) -> f32 {
    let a = (x as f64).abs();
    let r = if a < 1e-4 { a - a * a * a / 6.0 } else { ln64(a + sqrt64(a * a + 1.0)) };
    (if x < 0.0 { -r } else { r }) as f32
}

/// Inverse hyperbolic cosine (NaN below 1).
pub fn acosh(x: f32) -> f32 {
    let x = x as f64;
    if x.is_nan() || x < 1.0 {
        return f32::NAN;
    }
    ln64(x + sqrt64((x - 1.0) * (x + 1.0))) as f32
}

/// Inverse hyperbolic tangent (NaN outside [-1, 1]).
pub fn atanh(x: f32) -> f32 {
    let x = x as f64;
    if x.is_nan() || x.abs() > 1.0 {
        return f32::NAN;
    }
    if x.abs() < 1e-4 {
        return (x + x * x * x / 3.0) as f32;
    }
    (0.5 * ln64((1.0 + x) / (1.0 - x))) as f32
}

/// ln(1 + e^x) (softplus), accurate where e^x is far below one: computed in f64, and
/// as e^x itself below −30 where 1 + e^x would round to 1.
pub fn softplus(x: f32) -> f32 {
    let x = x as f64;
    if x > 30.0 {
        x as f32
    } else if x < -30.0 {
        exp64(x) as f32
    } else {
        ln64(1.0 + exp64(x)) as f32
    }
}

/// e^x − 1, accurate near zero.
pub fn expm1(x: f32) -> f32 {
    expm1_64(x as f64) as f32
}

/// The error function.
pub fn erf(x: f32) -> f32 {
    erf64(x as f64) as f32
}

/// The error function in f64.
pub fn erf64(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    let r = if a < 1.0 {
        // Maclaurin series: 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1)), to n = 20.
        let (mut term, mut sum) = (a, a);
        for n in 1..21 {
            term *= -a * a / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * core::f64::consts::FRAC_2_SQRT_PI
    } else if a > 6.0 {
        1.0
    } else {
        // erfc by its continued fraction (Lentz), erf = 1 − erfc.
        let z = a;
        let mut f = z;
        let (mut c, mut d) = (z, 0.0);
        for k in 1..60 {
            let ak = k as f64 * 0.5;
            d = z + ak * d;
            d = if d == 0.0 { 1e-300 } else { 1.0 / d };
            c = z + ak / c;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        1.0 - exp64(-z * z) / f / 1.772_453_850_905_516
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// The f32 value of IEEE half-precision bits (exact).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: m · 2^-24, exact in f32.
            let v = m as f32 * (1.0 / 16_777_216.0);
            return if sign != 0 { -v } else { v };
        }
        (31, 0) => sign | 0x7f80_0000,
        (31, m) => sign | 0x7fc0_0000 | (m << 13),
        (e, m) => sign | ((e + 112) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// IEEE half-precision bits of an f32, rounded to nearest even (overflow to ±inf).
pub fn f32_to_f16(v: f32) -> u16 {
    let bits = v.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32;
    let man = bits & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 | (man >> 13) as u16 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 31 {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal (or zero) half: shift the full significand, round to nearest even.
        if e < -10 {
            return sign;
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = 1u32 << (shift - 1);
        let rest = m & ((1u32 << shift) - 1);
        let mut r = m >> shift;
        if rest > half || (rest == half && r & 1 == 1) {
            r += 1;
        }
        return sign | r as u16;
    }
    let mut r = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    if rest > 0x1000 || (rest == 0x1000 && r & 1 == 1) {
        r += 1; // may carry into the exponent, up to infinity: still correct
    }
    sign | r as u16
}

/// The f32 value of bfloat16 bits (exact).
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// bfloat16 bits of an f32, rounded to nearest even (NaN stays NaN).
pub fn f32_to_bf16(v: f32) -> u16 {
    let bits = v.to_bits();
    if v.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rest = bits & 0xffff;
    let mut r = bits >> 16;
    if rest > 0x8000 || (rest == 0x8000 && r & 1 == 1) {
        r += 1;
    }
    r as u16
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn rel(a: f32, b: f32) -> f32 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs().max(f32::MIN_POSITIVE)
        }
    }

    fn sweep(lo: f32, hi: f32, n: usize) -> impl Iterator<Item = f32> {
        (0..=n).map(move |i| lo + (hi - lo) * i as f32 / n as f32)
    }

    #[test]
    fn exp_matches_std_to_a_few_ulp() {
        for x in sweep(-87.0, 88.0, 200_000) {
            let e = rel(exp(x), x.exp());
            assert!(e < 5e-7, "exp({x}) = {} vs {}", exp(x), x.exp());
        }
        assert_eq!(exp(100.0), f32::INFINITY);
        // Regression (found by the kernel suite): just below ln(f32::MAX) the result is
        // finite; exp used to return infinity from 88.72 up.
        for x in [88.72f32, 88.7225, 88.7228, 88.722_83] {
            assert!(exp(x).is_finite() && rel(exp(x), x.exp()) < 5e-7, "exp({x}) = {}", exp(x));
        }
        assert_eq!(exp(88.722_84), f32::INFINITY);
        assert_eq!(exp(88.7229), f32::INFINITY);
        assert_eq!(exp(-100.0), 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn ln_matches_std_to_a_few_ulp() {
        for x in sweep(1e-6, 1e4, 200_000).chain([1e-30, 1e-40, 3.0e38, 0.5, 1.0, 2.0]) {
            let (a, b) = (ln(x), x.ln());
            assert!((a - b).abs() <= 4e-7 * b.abs().max(1.0), "ln({x}) = {a} vs {b}");
        }
        assert!(ln(-1.0).is_nan());
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
    }

    #[test]
    fn sqrt_is_correctly_rounded_or_nearly() {
        for x in sweep(0.0, 1e6, 100_000).chain([1e-40, 1e-20, 2.0, 3.0e38]) {
            assert!(rel(sqrt(x), x.sqrt()) < 2.5e-7, "sqrt({x})");
        }
        assert!(sqrt(-1.0).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_within_1e_6_absolute() {
        for x in sweep(-20.0, 20.0, 400_000) {
            assert!((tanh(x) - x.tanh()).abs() < 3e-7, "tanh({x})");
            let s = 1.0 / (1.0 + (-x as f64).exp());
            assert!((sigmoid(x) as f64 - s).abs() < 3e-7, "sigmoid({x})");
        }
        for x in sweep(-0.7, 0.7, 100_000) {
            assert!(rel(tanh(x), x.tanh()) < 1e-6 || x == 0.0, "tanh({x}) relative");
        }
    }

    #[test]
    fn pow_covers_integer_fractional_and_negative_bases() {
        let cases =
            [(2.0f32, 10.0f32), (-2.0, 3.0), (-2.0, 2.0), (9.0, 0.5), (2.0, -2.0), (5.0, 1.7), (0.3, 2.5), (-1.5, 0.5)];
        for (x, y) in cases {
            let (a, b) = (pow(x, y), x.powf(y));
            assert!((a.is_nan() && b.is_nan()) || rel(a, b) < 2e-6, "pow({x}, {y}) = {a} vs {b}");
        }
    }

    #[test]
    fn elementary_functions_match_std() {
        let check = |name: &str, f: fn(f32) -> f32, g: fn(f64) -> f64, lo: f32, hi: f32| {
            for x in sweep(lo, hi, 20_000).chain([lo, hi, 0.0, -0.0, 1e-7, -1e-7, 1e-30]) {
                if x < lo || x > hi {
                    continue;
                }
                let (a, b) = (f(x), g(x as f64) as f32);
                let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 2e-6 * b.abs() + 1e-30;
                assert!(ok, "{name}({x}) = {a} vs {b}");
            }
        };
        check("sin", sin, f64::sin, -100.0, 100.0);
        check("cos", cos, f64::cos, -100.0, 100.0);
        check("tan", tan, f64::tan, -1.5, 1.5);
        check("asin", asin, f64::asin, -1.0, 1.0);
        check("acos", acos, f64::acos, -1.0, 1.0);
        check("atan", atan, f64::atan, -1e4, 1e4);
        check("sinh", sinh, f64::sinh, -80.0, 80.0);
        check("cosh", cosh, f64::cosh, -80.0, 80.0);
        check("asinh", asinh, f64::asinh, -1e6, 1e6);
        check("acosh", acosh, f64::acosh, 1.0, 1e6);
        check("atanh", atanh, f64::atanh, -0.999_999, 0.999_999);
        check("expm1", expm1, f64::exp_m1, -80.0, 80.0);
        check("floor", floor, f64::floor, -1e9, 1e9);
        check("ceil", ceil, f64::ceil, -1e9, 1e9);
        check("round", round_half_even, f64::round_ties_even, -1e9, 1e9);
        assert_eq!([round_half_even(0.5), round_half_even(1.5), round_half_even(-2.5)], [0.0, 2.0, -2.0]);
        assert!(asin(1.5).is_nan() && acosh(0.5).is_nan() && sin(f32::INFINITY).is_nan());
        // erf against values of the definition (A&S table 7.1).
        for (x, want) in
            [(0.1f32, 0.112_462_92f32), (0.5, 0.520_499_9), (1.0, 0.842_700_8), (2.0, 0.995_322_3), (3.5, 0.999_999_3)]
        {
            assert!((erf(x) - want).abs() <= 1e-6 * want, "erf({x}) = {} vs {want}", erf(x));
            assert!((erf(-x) + want).abs() <= 1e-6 * want);
        }
        assert!((erf(1e-6) - 1.128_379_2e-6).abs() < 1e-12);
    }

    #[test]
    fn half_conversions_round_trip_and_round_to_even() {
        for h in 0..=u16::MAX {
            let f = f16_to_f32(h);
            if f.is_nan() {
                assert!(f16_to_f32(f32_to_f16(f)).is_nan());
            } else {
                assert_eq!(f32_to_f16(f), h, "f16 {h:#06x} = {f}");
            }
            let b = bf16_to_f32(h);
            if !b.is_nan() {
                assert_eq!(f32_to_bf16(b), h);
            }
        }
        assert_eq!(f32_to_f16(1.0), 0x3c00);
        assert_eq!(f32_to_f16(65520.0), 0x7c00, "rounds up to infinity");
        assert_eq!(f32_to_f16(1.0 + 1.0 / 2048.0), 0x3c00, "a tie rounds to even");
        assert_eq!(f32_to_f16(5.96e-8), 0x0001, "smallest subnormal");
        assert_eq!(f32_to_bf16(1.0 + 1.0 / 256.0), 0x3f80, "a tie rounds to even");
    }
}
