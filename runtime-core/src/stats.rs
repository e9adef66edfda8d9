//! Running statistics of a model's outputs in fixed memory, for drift monitoring on
//! the device: count, minimum, maximum and mean of every element seen, and how often
//! each class was the top one (arg-max per inference). Firmware calls
//! [`OutputStats::update`] after `run`; nothing is generated or linked unless it does,
//! so the feature costs nothing when unused. No allocation, no panic.

use crate::check::Value;

/// Statistics of an output of `N` elements (for a classifier, `N` classes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutputStats<const N: usize> {
    /// Inferences folded in.
    pub count: u32,
    /// Outputs of the wrong length passed to [`update`](Self::update) (and ignored).
    pub rejected: u32,
    /// Smallest element seen (`+∞` before the first inference).
    pub min: f32,
    /// Largest element seen (`−∞` before the first inference).
    pub max: f32,
    /// Mean of every element seen (running, `0` before the first inference).
    pub mean: f32,
    /// Elements the mean is over (NaNs left out).
    pub elements: u64,
    /// Per class, the inferences whose arg-max (the first largest element) it was.
    pub top_class: [u32; N],
}

impl<const N: usize> Default for OutputStats<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> OutputStats<N> {
    /// Empty statistics (usable in a `static` initialiser).
    pub const fn new() -> Self {
        OutputStats {
            count: 0,
            rejected: 0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            mean: 0.0,
            elements: 0,
            top_class: [0; N],
        }
    }

    /// Folds one inference's output in. Returns false (and counts it in `rejected`)
    /// when `output` does not have `N` elements. NaN elements are left out of the
    /// minimum, maximum and mean.
    pub fn update<T: Value>(&mut self, output: &[T]) -> bool {
        if output.len() != N || N == 0 {
            self.rejected = self.rejected.saturating_add(1);
            return false;
        }
        let mut mean = self.mean as f64;
        let mut best = 0;
        let mut best_v = f64::NEG_INFINITY;
        for (i, x) in output.iter().enumerate() {
            let x = x.to_f64();
            if x.is_nan() {
                continue;
            }
            if i == 0 || x > best_v {
                best = i;
                best_v = x;
            }
            let xf = x as f32;
            if xf < self.min {
                self.min = xf;
            }
            if xf > self.max {
                self.max = xf;
            }
            self.elements = self.elements.saturating_add(1);
            mean += (x - mean) / self.elements as f64;
        }
        self.mean = mean as f32;
        self.count = self.count.saturating_add(1);
        if let Some(c) = self.top_class.get_mut(best) {
            *c = c.saturating_add(1);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_extremes_mean_and_top_class() {
        let mut s = OutputStats::<3>::new();
        assert_eq!((s.count, s.mean), (0, 0.0));
        assert!(s.update(&[1i8, 5, 3]));
        assert!(s.update(&[-2i8, 0, 7]));
        assert!(s.update(&[4i8, 4, 1]));
        assert_eq!((s.count, s.min, s.max), (3, -2.0, 7.0));
        assert!((s.mean - 23.0 / 9.0).abs() < 1e-6, "{}", s.mean);
        assert_eq!(s.top_class, [1, 1, 1], "ties go to the first");
        assert!(!s.update(&[1i8, 2]));
        assert_eq!((s.count, s.rejected), (3, 1));
    }

    #[test]
    fn floats_and_nan() {
        let mut s = OutputStats::<2>::new();
        s.update(&[0.25f32, f32::NAN]);
        s.update(&[0.5f32, 0.75]);
        assert_eq!((s.min, s.max, s.top_class), (0.25, 0.75, [1, 1]));
        assert!((s.mean - 0.5).abs() < 1e-6);
    }
}
