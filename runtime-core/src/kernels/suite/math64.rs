//! Elementary functions in f64 for the references: written here from their series so
//! that they share nothing with the runtime's f32 [`math`](crate::math), and accurate to
//! about 1e-15 relative, far below the f32 tolerances they are used with.

const LN2: f64 = core::f64::consts::LN_2;

/// The largest integer not above `x` (for |x| < 2^62; larger values are integers).
pub(crate) fn floor(x: f64) -> f64 {
    if x.is_nan() || x.abs() >= 4.0e18 {
        return x;
    }
    let t = x as i64 as f64;
    if t > x {
        t - 1.0
    } else {
        t
    }
}

/// Rounds to the nearest integer, ties to the even one.
pub(crate) fn round_ties_even(x: f64) -> f64 {
    let f = floor(x);
    let d = x - f;
    let odd = floor(f * 0.5) * 2.0 != f;
    if d > 0.5 || (d == 0.5 && odd) {
        f + 1.0
    } else {
        f
    }
}

/// 2^k for k in −1022..=1023.
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// e^x: x = k·ln 2 + r with |r| ≤ ln2/2, e^r by its Taylor series.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.7 {
        return f64::INFINITY;
    }
    if x < -745.2 {
        return 0.0;
    }
    let k = floor(x / LN2 + 0.5);
    let r = x - k * LN2;
    let (mut term, mut sum) = (1.0f64, 1.0f64);
    for i in 1..24 {
        term *= r / i as f64;
        sum += term;
    }
    // Two factors keep 2^k representable down to the subnormals.
    let k = k as i64;
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

/// Natural logarithm: x = m·2^e with m in [√½, √2), ln m = 2·atanh((m−1)/(m+1)).
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return x;
    }
    // Inputs come from f32, so they are normal f64 values.
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let (mut pow, mut sum) = (s, 0.0f64);
    for i in 0..30 {
        sum += pow / (2 * i + 1) as f64;
        pow *= s2;
    }
    e as f64 * LN2 + 2.0 * sum
}

/// Square root by Newton's iteration from an exponent-halving first guess.
pub(crate) fn sqrt(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x;
    }
    let mut y = f64::from_bits((x.to_bits() >> 1) + (1023u64 << 51));
    for _ in 0..8 {
        y = 0.5 * (y + x / y);
    }
    y
}

/// Hyperbolic tangent.
pub(crate) fn tanh(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x.abs() > 40.0 {
        return if x > 0.0 { 1.0 } else { -1.0 };
    }
    if x.abs() < 1e-3 {
        // Cancellation would cost digits: x − x³/3 + 2x⁵/15.
        let x2 = x * x;
        return x * (1.0 - x2 / 3.0 + 2.0 * x2 * x2 / 15.0);
    }
    let e = exp(2.0 * x);
    (e - 1.0) / (e + 1.0)
}

/// Logistic sigmoid.
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

/// a^b for a > 0, and for a < 0 with an integer b; 0^b by its limits.
pub(crate) fn pow(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        return 1.0;
    }
    if a == 0.0 {
        return if b > 0.0 { 0.0 } else { f64::INFINITY };
    }
    if a < 0.0 {
        if floor(b) != b {
            return f64::NAN;
        }
        let odd = floor(b * 0.5) * 2.0 != b;
        let r = exp(b * ln(-a));
        return if odd { -r } else { r };
    }
    exp(b * ln(a))
}
