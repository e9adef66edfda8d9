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
}
