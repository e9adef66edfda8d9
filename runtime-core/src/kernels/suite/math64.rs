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

/// The smallest integer not below `x`.
pub(crate) fn ceil(x: f64) -> f64 {
    -floor(-x)
}

/// sin and cos of `x`: x = k·π/2 + r with |r| ≤ π/4 (π/2 split in three parts so the
/// reduction stays exact for the arguments f32 inputs give), then Taylor series.
fn sin_cos(x: f64) -> (f64, f64) {
    if !x.is_finite() {
        return (f64::NAN, f64::NAN);
    }
    const P1: f64 = 1.570_796_326_734_125_6; // π/2 to 33 bits
    const P2: f64 = 6.077_100_506_303_966e-11; // the next 33 bits
    const P3: f64 = 2.022_266_248_795_950_6e-21; // the rest
    let k = floor(x / core::f64::consts::FRAC_PI_2 + 0.5);
    let r = ((x - k * P1) - k * P2) - k * P3;
    let r2 = r * r;
    let (mut s, mut c) = (r, 1.0f64);
    let (mut ts, mut tc) = (r, 1.0f64);
    for i in 1..16 {
        ts *= -r2 / ((2 * i) * (2 * i + 1)) as f64;
        tc *= -r2 / ((2 * i - 1) * (2 * i)) as f64;
        s += ts;
        c += tc;
    }
    let q = (k - floor(k / 4.0) * 4.0) as i64;
    match q {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    }
}

/// Sine.
pub(crate) fn sin(x: f64) -> f64 {
    sin_cos(x).0
}

/// Cosine.
pub(crate) fn cos(x: f64) -> f64 {
    sin_cos(x).1
}

/// Tangent.
pub(crate) fn tan(x: f64) -> f64 {
    let (s, c) = sin_cos(x);
    s / c
}

/// Arctangent: reduced to |t| ≤ tan(π/12) by atan x = π/2 − atan(1/x) and
/// atan x = π/6 + atan((x·√3 − 1)/(x + √3)), then its series.
pub(crate) fn atan(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 0.0 {
        return -atan(-x);
    }
    if x > 1.0 {
        return core::f64::consts::FRAC_PI_2 - atan(1.0 / x);
    }
    const SQRT3: f64 = 1.732_050_807_568_877_2;
    let (t, base) = if x > 0.267_949_192_431_122_7 {
        ((x * SQRT3 - 1.0) / (x + SQRT3), core::f64::consts::FRAC_PI_6)
    } else {
        (x, 0.0)
    };
    let t2 = t * t;
    let (mut pow, mut sum) = (t, 0.0f64);
    for i in 0..30 {
        let term = pow / (2 * i + 1) as f64;
        sum += if i % 2 == 0 { term } else { -term };
        pow *= t2;
    }
    base + sum
}

/// Arcsine (NaN outside [−1, 1]).
pub(crate) fn asin(x: f64) -> f64 {
    if x.is_nan() || x.abs() > 1.0 {
        return f64::NAN;
    }
    if x.abs() == 1.0 {
        return x * core::f64::consts::FRAC_PI_2;
    }
    atan(x / sqrt((1.0 - x) * (1.0 + x)))
}

/// Arccosine (NaN outside [−1, 1]).
pub(crate) fn acos(x: f64) -> f64 {
    core::f64::consts::FRAC_PI_2 - asin(x)
}

/// e^x − 1, by its series near zero where the subtraction would cancel.
fn expm1(x: f64) -> f64 {
    if x.abs() < 1e-2 {
        let (mut term, mut sum) = (x, x);
        for i in 2..12 {
            term *= x / i as f64;
            sum += term;
        }
        return sum;
    }
    exp(x) - 1.0
}

/// Hyperbolic sine.
pub(crate) fn sinh(x: f64) -> f64 {
    let e = expm1(x.abs());
    let v = 0.5 * (e + e / (e + 1.0));
    if x < 0.0 {
        -v
    } else {
        v
    }
}

/// Hyperbolic cosine.
pub(crate) fn cosh(x: f64) -> f64 {
    let e = exp(x.abs());
    0.5 * (e + 1.0 / e)
}

/// ln(1 + x), by its series near zero.
fn ln1p(x: f64) -> f64 {
    if x.abs() < 1e-2 {
        let (mut pow, mut sum) = (x, 0.0f64);
        for i in 1..16 {
            sum += if i % 2 == 1 { pow / i as f64 } else { -pow / i as f64 };
            pow *= x;
        }
        return sum;
    }
    ln(1.0 + x)
}

/// Inverse hyperbolic sine.
pub(crate) fn asinh(x: f64) -> f64 {
    let a = x.abs();
    let v = if a > 1e8 { ln(a) + LN2 } else { ln1p(a + a * a / (1.0 + sqrt(1.0 + a * a))) };
    if x < 0.0 {
        -v
    } else {
        v
    }
}

/// Inverse hyperbolic cosine (NaN below 1).
pub(crate) fn acosh(x: f64) -> f64 {
    if x.is_nan() || x < 1.0 {
        return f64::NAN;
    }
    if x > 1e8 {
        return ln(x) + LN2;
    }
    ln(x + sqrt((x - 1.0) * (x + 1.0)))
}

/// Inverse hyperbolic tangent (NaN outside [−1, 1]).
pub(crate) fn atanh(x: f64) -> f64 {
    if x.is_nan() || x.abs() > 1.0 {
        return f64::NAN;
    }
    0.5 * (ln1p(x) - ln1p(-x))
}

/// The error function: its Maclaurin series below 2.5, the continued fraction of erfc
/// above.
pub(crate) fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x < 0.0 {
        return -erf(-x);
    }
    const TWO_OVER_SQRT_PI: f64 = core::f64::consts::FRAC_2_SQRT_PI;
    if x < 2.5 {
        let x2 = x * x;
        let (mut term, mut sum) = (x, x);
        for n in 1..80 {
            term *= -x2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        return TWO_OVER_SQRT_PI * sum;
    }
    if x > 6.0 {
        return 1.0;
    }
    // erfc x = e^(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + 2/(x + …))))), evaluated
    // from the tail.
    let mut f = x;
    for k in (1..60).rev() {
        f = x + (k as f64 * 0.5) / f;
    }
    1.0 - exp(-x * x) * (TWO_OVER_SQRT_PI * 0.5) / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_std_on_a_grid() {
        extern crate std;
        let mut x = -9.7f64;
        while x < 9.7 {
            let pairs: [(f64, f64, &str); 8] = [
                (sin(x), x.sin(), "sin"),
                (cos(x), x.cos(), "cos"),
                (atan(x), x.atan(), "atan"),
                (sinh(x), x.sinh(), "sinh"),
                (cosh(x), x.cosh(), "cosh"),
                (asinh(x), x.asinh(), "asinh"),
                (ceil(x), x.ceil(), "ceil"),
                (tan(x), x.tan(), "tan"),
            ];
            for (got, want, name) in pairs {
                assert!((got - want).abs() <= 1e-12 * want.abs().max(1.0), "{name}({x}) = {got}, std says {want}");
            }
            let t = x / 9.7;
            for (got, want, name) in
                [(asin(t), t.asin(), "asin"), (acos(t), t.acos(), "acos"), (atanh(t), t.atanh(), "atanh")]
            {
                assert!(
                    got == want || (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                    "{name}({t}) = {got}, std says {want}"
                );
            }
            assert!((acosh(x.abs() + 1.0) - (x.abs() + 1.0).acosh()).abs() < 1e-12);
            x += 0.0371;
        }
        // erf against tabulated values (Abramowitz & Stegun table 7.1).
        for (x, want) in [
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.0, 0.999_977_909_503_001_4),
            (4.0, 0.999_999_984_582_742_1),
        ] {
            assert!((erf(x) - want).abs() < 1e-13, "erf({x}) = {}, table says {want}", erf(x));
            assert!((erf(-x) + want).abs() < 1e-13);
        }
    }
}
