//! Comparing computed outputs with reference outputs.

use crate::ir::{Data, Tensor};
use serde::Serialize;
use tinyops_runtime::check;

/// Float tolerance: an element passes when `|got − want| ≤ atol + rtol · |want|`
/// (`tinyops_runtime::check`, the rule self-tests share).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tolerance {
    /// Absolute part.
    pub atol: f64,
    /// Relative part.
    pub rtol: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance { atol: 1e-4, rtol: 1e-4 }
    }
}

/// How one output compares with one reference.
#[derive(Debug, Clone, Serialize)]
pub struct OutputCheck {
    /// Output name.
    pub name: String,
    /// Which reference (`onnxruntime`, `tflite`, …).
    pub reference: String,
    /// Elements compared.
    pub elements: usize,
    /// Largest absolute difference.
    pub max_abs: f64,
    /// Largest difference relative to the reference magnitude.
    pub max_rel: f64,
    /// Elements outside the tolerance (float outputs).
    pub outside_tolerance: usize,
    /// Index of the largest element, computed and expected.
    pub argmax: (usize, usize),
    /// For integer outputs: element counts by |difference| in quantisation steps,
    /// `[0, 1, 2, 3, 4–7, 8–15, ≥16]`.
    pub step_histogram: Option<[usize; 7]>,
    /// Whether this output passes against this reference.
    pub passed: bool,
}

fn argmax(d: &Data) -> usize {
    let mut best = 0;
    for i in 1..d.len() {
        if d.get_f64(i) > d.get_f64(best) {
            best = i;
        }
    }
    best
}

/// Bucket of a step difference in the histogram.
pub fn step_bucket(steps: u64) -> usize {
    match steps {
        0..=3 => steps as usize,
        4..=7 => 4,
        8..=15 => 5,
        _ => 6,
    }
}

/// Compares `got` with `want`. Shapes must match (the caller checks element counts).
/// `step` is the quantisation step of a float output that a DequantizeLinear produces
/// (its scale): such outputs, like integer ones, are judged in steps.
pub fn compare(
    name: &str,
    reference: &str,
    got: &Tensor,
    want: &Tensor,
    tol: Tolerance,
    step: Option<f64>,
) -> OutputCheck {
    let n = got.numel().min(want.numel());
    let integer = !want.dtype().is_float();
    let step = if integer { Some(1.0) } else { step };
    let mut c = OutputCheck {
        name: name.to_string(),
        reference: reference.to_string(),
        elements: n,
        max_abs: 0.0,
        max_rel: 0.0,
        outside_tolerance: 0,
        argmax: (argmax(&got.data), argmax(&want.data)),
        step_histogram: step.map(|_| [0; 7]),
        passed: false,
    };
    for i in 0..n {
        let (a, b) = (got.data.get_f64(i), want.data.get_f64(i));
        let d = check::difference(a, b);
        c.max_abs = c.max_abs.max(d);
        c.max_rel = c.max_rel.max(d / b.abs().max(1e-30));
        if !check::within_tolerance(d, b, tol.atol, tol.rtol) {
            c.outside_tolerance += 1;
        }
        if let (Some(h), Some(s)) = (c.step_histogram.as_mut(), step) {
            h[step_bucket((d / s).round() as u64)] += 1;
        }
    }
    c.passed = got.numel() == want.numel()
        && match c.step_histogram {
            // Quantised outputs: same arg-max, and ≥ 99% of elements within one step
            // (the rule generated self-tests apply on the device: one home).
            Some(h) => check::steps_pass(h[0] + h[1], n, c.argmax.0 == c.argmax.1),
            None => c.outside_tolerance == 0,
        };
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_tolerance_is_absolute_plus_relative() {
        let want = Tensor::f32(vec![3], vec![1.0, 1000.0, 0.0]);
        let ok = Tensor::f32(vec![3], vec![1.00005, 1000.09, -0.00009]);
        let c = compare("y", "ref", &ok, &want, Tolerance::default(), None);
        assert!(c.passed, "{c:?}");
        let bad = Tensor::f32(vec![3], vec![1.0003, 1000.0, 0.0]);
        let c = compare("y", "ref", &bad, &want, Tolerance::default(), None);
        assert!(!c.passed);
        assert_eq!(c.outside_tolerance, 1);
        assert!((c.max_abs - 3e-4).abs() < 1e-6);
    }

    #[test]
    fn nan_never_passes() {
        let want = Tensor::f32(vec![1], vec![1.0]);
        let got = Tensor::f32(vec![1], vec![f32::NAN]);
        assert!(!compare("y", "ref", &got, &want, Tolerance::default(), None).passed);
    }

    #[test]
    fn integer_outputs_use_steps_and_argmax() {
        let want = Tensor::new(vec![4], Data::I8(vec![-128, 5, 100, 7])).unwrap();
        let got = Tensor::new(vec![4], Data::I8(vec![-127, 5, 100, 9])).unwrap();
        let c = compare("y", "ref", &got, &want, Tolerance::default(), None);
        assert_eq!(c.step_histogram, Some([2, 1, 1, 0, 0, 0, 0]));
        assert!(!c.passed, "2 steps on 25% of elements is too many");
        let got = Tensor::new(vec![4], Data::I8(vec![-127, 5, 100, 8])).unwrap();
        assert!(compare("y", "ref", &got, &want, Tolerance::default(), None).passed);
    }
}

#[cfg(test)]
mod step_tests {
    use super::*;

    #[test]
    fn dequantised_float_outputs_are_judged_in_steps() {
        let want = Tensor::f32(vec![4], vec![0.0, 0.5, 1.0, 1.5]);
        let got = Tensor::f32(vec![4], vec![0.0, 0.5, 1.5, 1.5]);
        let c = compare("y", "ref", &got, &want, Tolerance::default(), Some(0.5));
        assert_eq!(c.step_histogram, Some([3, 1, 0, 0, 0, 0, 0]));
        assert!(!c.passed, "one step off on 25% of the elements is more than 1%");
        let c = compare("y", "ref", &got, &want, Tolerance::default(), None);
        assert!(c.step_histogram.is_none() && !c.passed);
    }
}
