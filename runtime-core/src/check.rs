//! Judging computed outputs against expected ones: the one rule that `tinyops verify`
//! applies on the host and that a generated module's `self_test()` applies on the
//! device, so both say "pass" for the same numbers.
//!
//! - Float outputs: every element within `atol + rtol · |expected|`.
//! - Quantised outputs (integers, or floats that a DequantizeLinear produces, judged
//!   in steps of its scale): the same arg-max, and at least [`STEP_PASS_PERCENT`] % of
//!   the elements within one step (a difference that rounds to at most one step).
//! - Exact: every element equal (integer golden vectors from the compiler's own
//!   reference evaluator, which generated integer code matches bit for bit).
//!
//! A NaN never passes. Everything here is `no_std`, allocation-free and panic-free.

use core::fmt;

/// Share of elements (percent) that must lie within one step for a quantised output.
pub const STEP_PASS_PERCENT: usize = 99;

/// How one output is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// Every element equal.
    Exact,
    /// Every element within `atol + rtol · |expected|`.
    Float {
        /// Absolute part.
        atol: f64,
        /// Relative part.
        rtol: f64,
    },
    /// Same arg-max, and [`STEP_PASS_PERCENT`] % of elements within one step.
    Steps {
        /// The quantisation step (1 for integers).
        step: f64,
    },
}

/// `|a − b|`, with a NaN on either side turned into infinity (it never passes).
#[inline]
pub fn difference(got: f64, expected: f64) -> f64 {
    let d = got - expected;
    let d = if d < 0.0 { -d } else { d };
    if d.is_nan() {
        f64::INFINITY
    } else {
        d
    }
}

/// Whether a difference `d` passes the float tolerance for the expected value.
#[inline]
pub fn within_tolerance(d: f64, expected: f64, atol: f64, rtol: f64) -> bool {
    let m = if expected < 0.0 { -expected } else { expected };
    d <= atol + rtol * m
}

/// Whether a difference `d` rounds to at most one step.
#[inline]
pub fn within_one_step(d: f64, step: f64) -> bool {
    d / step < 1.5
}

/// Whether a quantised output passes: same arg-max, and at least
/// [`STEP_PASS_PERCENT`] % of its `elements` within one step.
#[inline]
pub fn steps_pass(within: usize, elements: usize, same_argmax: bool) -> bool {
    same_argmax && within.saturating_mul(100) >= elements.saturating_mul(STEP_PASS_PERCENT)
}

/// Element types an output can have, seen as `f64` for comparison.
pub trait Value: Copy {
    /// The value as `f64` (exact for every type but the 64-bit integers' extremes).
    fn to_f64(self) -> f64;
}

macro_rules! value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
value!(i8, u8, i16, u16, i32, u32, i64, u64, f32, f64);

/// Why an output failed its check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mismatch {
    /// Which output (`run` parameter order).
    pub output: usize,
    /// Its ONNX name.
    pub name: &'static str,
    /// The element with the largest difference.
    pub index: usize,
    /// Its computed value.
    pub got: f64,
    /// Its expected value.
    pub expected: f64,
    /// Elements outside the rule's tolerance (more than one step, for quantised outputs).
    pub outside: usize,
    /// Elements compared.
    pub elements: usize,
    /// Arg-max computed and expected, when the rule compares them and they differ.
    pub argmax: Option<(usize, usize)>,
}

/// The outcome of a self-test (or of checking one output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SelfTest {
    /// Every output matched.
    Pass,
    /// An output did not: which, where and by how much.
    Fail(Mismatch),
    /// The embedded golden data could not be read as the module's types (wrong size or
    /// alignment): the image is damaged.
    Corrupt,
}

impl SelfTest {
    /// True for [`SelfTest::Pass`].
    pub fn passed(&self) -> bool {
        matches!(self, SelfTest::Pass)
    }
}

impl fmt::Display for SelfTest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelfTest::Pass => f.write_str("self-test PASS"),
            SelfTest::Corrupt => f.write_str("self-test FAIL: the embedded golden data is damaged"),
            SelfTest::Fail(m) => {
                write!(
                    f,
                    "self-test FAIL: output {} `{}`: element {} is {} (expected {}); {} of {} elements outside tolerance",
                    m.output, m.name, m.index, m.got, m.expected, m.outside, m.elements
                )?;
                if let Some((a, b)) = m.argmax {
                    write!(f, "; arg-max {a} (expected {b})")?;
                }
                Ok(())
            }
        }
    }
}

fn argmax<T: Value>(v: &[T]) -> usize {
    let mut best = 0;
    let mut best_v = f64::NEG_INFINITY;
    for (i, x) in v.iter().enumerate() {
        let x = x.to_f64();
        if i == 0 || x > best_v {
            best = i;
            best_v = x;
        }
    }
    best
}

/// Checks output `output` (named `name`) against its expected values under `rule`.
/// Slices of different lengths give [`SelfTest::Corrupt`].
pub fn check<T: Value>(output: usize, name: &'static str, got: &[T], expected: &[T], rule: Rule) -> SelfTest {
    if got.len() != expected.len() {
        return SelfTest::Corrupt;
    }
    let mut worst = (0usize, -1.0f64);
    let mut outside = 0usize;
    let mut within_step = 0usize;
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let (g, e) = (g.to_f64(), e.to_f64());
        let d = difference(g, e);
        if d > worst.1 {
            worst = (i, d);
        }
        let ok = match rule {
            Rule::Exact => d == 0.0,
            Rule::Float { atol, rtol } => within_tolerance(d, e, atol, rtol),
            Rule::Steps { step } => within_one_step(d, step),
        };
        if ok {
            within_step += 1;
        } else {
            outside += 1;
        }
    }
    let (passed, argmax) = match rule {
        Rule::Steps { .. } => {
            let (a, b) = (argmax(got), argmax(expected));
            (steps_pass(within_step, got.len(), a == b), (a != b).then_some((a, b)))
        }
        _ => (outside == 0, None),
    };
    if passed {
        return SelfTest::Pass;
    }
    let i = worst.0;
    let at = |v: &[T]| v.get(i).map_or(f64::NAN, |x| x.to_f64());
    SelfTest::Fail(Mismatch {
        output,
        name,
        index: i,
        got: at(got),
        expected: at(expected),
        outside,
        elements: got.len(),
        argmax,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_rule_names_the_worst_element() {
        let want = [1.0f32, 1000.0, 0.0];
        assert_eq!(
            check(0, "y", &[1.00005f32, 1000.09, -0.00009], &want, Rule::Float { atol: 1e-4, rtol: 1e-4 }),
            SelfTest::Pass
        );
        let r = check(1, "y", &[1.0f32, 1000.0, 0.5], &want, Rule::Float { atol: 1e-4, rtol: 1e-4 });
        let SelfTest::Fail(m) = r else { panic!("{r:?}") };
        assert_eq!((m.output, m.index, m.got, m.expected, m.outside, m.elements), (1, 2, 0.5, 0.0, 1, 3));
    }

    #[test]
    fn nan_never_passes() {
        assert!(!check(0, "y", &[f32::NAN], &[f32::NAN], Rule::Float { atol: 1.0, rtol: 1.0 }).passed());
        assert!(!check(0, "y", &[f32::NAN], &[1.0], Rule::Steps { step: 1.0 }).passed());
    }

    #[test]
    fn step_rule_wants_the_arg_max_and_99_percent_within_a_step() {
        let want: [i8; 4] = [-128, 5, 100, 7];
        assert!(!check(0, "y", &[-127i8, 5, 100, 9], &want, Rule::Steps { step: 1.0 }).passed());
        assert!(check(0, "y", &[-127i8, 5, 100, 8], &want, Rule::Steps { step: 1.0 }).passed());
        let r = check(0, "y", &[-128i8, 101, 100, 7], &want, Rule::Steps { step: 1.0 });
        let SelfTest::Fail(m) = r else { panic!("{r:?}") };
        assert_eq!(m.argmax, Some((1, 2)));
        let mut want = [0i8; 200];
        want[0] = 100;
        let mut many = want;
        many[7] = 9;
        many[8] = 1;
        assert!(check(0, "y", &many, &want, Rule::Steps { step: 1.0 }).passed(), "1 in 200 may be 2+ steps off");
        many[9] = 9;
        many[10] = 9;
        assert!(!check(0, "y", &many, &want, Rule::Steps { step: 1.0 }).passed(), "3 in 200 may not");
    }

    #[test]
    fn exact_rule_and_lengths() {
        assert!(check(0, "y", &[1i32, 2], &[1, 2], Rule::Exact).passed());
        assert!(!check(0, "y", &[1i32, 3], &[1, 2], Rule::Exact).passed());
        assert_eq!(check(0, "y", &[1i32], &[1, 2], Rule::Exact), SelfTest::Corrupt);
    }
}
