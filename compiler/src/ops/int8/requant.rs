//! Compile-time half of requantisation: real multipliers become (mult, shift) pairs
//! for the runtime's `requantize`, whose formula is restated here for the reference
//! evaluator: `round_half_up(acc · mult / 2^shift)`.

/// A real multiplier `M ≈ mult / 2^shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Multiplier {
    /// Mantissa in `[2^30, 2^31)`, or 0 when `M` is too small to matter.
    pub mult: i32,
    /// Right shift in `1..=62`.
    pub shift: u32,
}

impl Multiplier {
    /// The nearest representable multiplier to `m` (which must be finite and ≥ 0).
    /// Fails for multipliers of 2^30 or more, which no sane quantisation produces.
    pub fn new(m: f64) -> Result<Multiplier, String> {
        if !m.is_finite() || m < 0.0 {
            return Err(format!("requantisation multiplier {m} is not a finite non-negative number"));
        }
        if m == 0.0 {
            return Ok(Multiplier { mult: 0, shift: 1 });
        }
        // m = f · 2^e with f in [0.5, 1).
        let e = m.log2().floor() as i32 + 1;
        let f = m / 2f64.powi(e);
        let mut mult = (f * 2f64.powi(31)).round() as i64;
        let mut shift = 31 - e;
        if mult == 1 << 31 {
            mult >>= 1;
            shift -= 1;
        }
        if shift < 1 {
            return Err(format!("requantisation multiplier {m} is too large (≥ 2^30)"));
        }
        if shift > 62 {
            // Below 2^-32: drop mantissa bits so the shift stays in range.
            let extra = (shift - 62) as u32;
            mult = if extra >= 63 { 0 } else { (mult + (1 << (extra - 1))) >> extra };
            shift = 62;
        }
        Ok(Multiplier { mult: mult as i32, shift: shift as u32 })
    }

    /// The real value this pair stands for.
    pub fn value(&self) -> f64 {
        self.mult as f64 / 2f64.powi(self.shift as i32)
    }

    /// `round_half_up(acc · mult / 2^shift)` saturated to i32: the runtime formula.
    pub fn apply(&self, acc: i32) -> i32 {
        let prod = acc as i64 * self.mult as i64;
        let r = (prod + (1i64 << (self.shift - 1))) >> self.shift;
        r.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }
}

/// Two multipliers sharing one shift (for the quantised add): both mantissas fit in
/// i32 and the larger one is normalised.
pub fn shared(a: f64, b: f64) -> Result<(i32, i32, u32), String> {
    let big = Multiplier::new(a.max(b))?;
    let s = big.shift;
    let scale = 2f64.powi(s as i32);
    let ma = (a * scale).round();
    let mb = (b * scale).round();
    if ma > i32::MAX as f64 || mb > i32::MAX as f64 {
        return Err("add multipliers out of range".into());
    }
    Ok((ma as i32, mb as i32, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact rational `round_half_up(acc · mult / 2^shift)`.
    fn exact(acc: i32, m: Multiplier) -> i128 {
        let num = acc as i128 * m.mult as i128;
        let den = 1i128 << m.shift;
        // floor((num + den/2) / den) with floor division.
        (num + den / 2).div_euclid(den)
    }

    #[test]
    fn multipliers_are_normalised_and_accurate() {
        for &m in &[1.0, 0.5, 0.75, 1e-1, 3.7e-3, 2.5e-5, 1.234_567_89e-7, 0.999_999_999, 7.5, 1000.0] {
            let q = Multiplier::new(m).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&q.mult), "{m}: {q:?}");
            assert!((1..=62).contains(&q.shift), "{m}: {q:?}");
            assert!(((q.value() - m) / m).abs() <= 2f64.powi(-31), "{m}: {} ", q.value());
        }
        // Exact powers of two are exact.
        assert_eq!(Multiplier::new(0.5).unwrap(), Multiplier { mult: 1 << 30, shift: 31 });
        assert_eq!(Multiplier::new(1.0).unwrap(), Multiplier { mult: 1 << 30, shift: 30 });
        assert_eq!(Multiplier::new(0.0).unwrap().mult, 0);
        assert!(Multiplier::new(f64::NAN).is_err());
        assert!(Multiplier::new(-1.0).is_err());
        assert!(Multiplier::new(2f64.powi(31)).is_err());
    }

    #[test]
    fn apply_equals_the_exact_rational_result() {
        let ms = [0.5, 0.25, 1.0 / 3.0, 2.5e-4, 0.0117, 0.999, 1.5, 3.0e-9];
        let accs = [0, 1, -1, 2, -2, 3, -3, 127, -128, 1_000_001, -1_000_001, i32::MAX, i32::MIN, 1 << 24, -(1 << 24)];
        for &m in &ms {
            let q = Multiplier::new(m).unwrap();
            for &a in &accs {
                let want = exact(a, q).clamp(i32::MIN as i128, i32::MAX as i128) as i32;
                assert_eq!(q.apply(a), want, "acc {a} × {m}");
            }
        }
    }

    #[test]
    fn rounding_is_half_up_including_negative_values() {
        let half = Multiplier::new(0.5).unwrap();
        assert_eq!([1, 3, 5, -1, -3, -5].map(|a| half.apply(a)), [1, 2, 3, 0, -1, -2]);
        let quarter = Multiplier::new(0.25).unwrap();
        assert_eq!([1, 2, 3, -2, -3].map(|a| quarter.apply(a)), [0, 1, 1, 0, -1]);
    }

    #[test]
    fn saturates_instead_of_wrapping() {
        let big = Multiplier::new(1000.0).unwrap();
        assert_eq!(big.apply(i32::MAX), i32::MAX);
        assert_eq!(big.apply(i32::MIN), i32::MIN);
        assert_eq!(big.apply(3), 3000);
    }

    #[test]
    fn shifts_at_both_ends_of_the_range() {
        // Largest multiplier: shift 1.
        let top = Multiplier::new(2f64.powi(29) * 1.5).unwrap();
        assert_eq!(top.shift, 1);
        assert_eq!(top.apply(2), exact(2, top) as i32);
        // Tiny multipliers: the shift saturates at 62 and the mantissa shrinks.
        let tiny = Multiplier::new(2f64.powi(-40)).unwrap();
        assert_eq!(tiny.shift, 62);
        assert_eq!(tiny.mult, 1 << 22);
        assert_eq!(tiny.apply(i32::MAX), exact(i32::MAX, tiny) as i32);
        assert_eq!(tiny.apply(i32::MAX), 0);
        let vanishing = Multiplier::new(1e-30).unwrap();
        assert_eq!(vanishing.apply(i32::MAX), 0);
    }

    #[test]
    fn shared_multipliers_keep_their_ratio() {
        let (a, b, s) = shared(0.75, 0.1).unwrap();
        assert!((a as f64 / 2f64.powi(s as i32) - 0.75).abs() < 1e-9);
        assert!((b as f64 / 2f64.powi(s as i32) - 0.1).abs() < 1e-9);
        // The larger multiplier is normalised into [2^30, 2^31).
        assert!((1 << 30..=i32::MAX).contains(&a) && b < a, "{a} {b}");
    }
}
