//! The `k` largest or smallest elements along an axis, in order, with their indices
//! (ONNX TopK): equal values keep their order along the axis.

use super::logic::Scalar;
use crate::kernels::TopK;

/// True when `(a, ia)` comes before `(b, ib)` in the output order.
#[inline]
fn before<T: Scalar>(largest: bool, a: T, ia: usize, b: T, ib: usize) -> bool {
    let better = if largest { a > b } else { a < b };
    better || (a == b && ia < ib)
}

/// True for a value that compares with nothing (NaN).
#[inline]
fn unordered<T: PartialOrd>(v: T) -> bool {
    v.partial_cmp(&v).is_none()
}

/// `values`, `indices` (`outer × k × inner`) = the top `p.k` of each slice of `x`.
pub fn top_k<T: Scalar>(p: &TopK, x: &[T], values: &mut [T], indices: &mut [i64]) {
    let n = p.outer.saturating_mul(p.len).saturating_mul(p.inner);
    let m = p.outer.saturating_mul(p.k).saturating_mul(p.inner);
    if p.k > p.len || x.len() < n || values.len() < m || indices.len() < m {
        return;
    }
    for o in 0..p.outer {
        for r in 0..p.inner {
            let at = |i: usize| x.get((o * p.len + i) * p.inner + r).copied().unwrap_or_default();
            let mut prev: Option<(T, usize)> = None;
            for j in 0..p.k {
                let mut best: Option<(T, usize)> = None;
                for i in 0..p.len {
                    let v = at(i);
                    let after_prev = prev.is_none_or(|(pv, pi)| before(p.largest, pv, pi, v, i));
                    if after_prev && best.is_none_or(|(bv, bi)| before(p.largest, v, i, bv, bi)) {
                        best = Some((v, i));
                    }
                }
                // NaNs compare with nothing: they are taken last, in index order.
                let (v, i) = match best {
                    Some(b) => b,
                    None => match (0..p.len).find(|&i| {
                        let v = at(i);
                        unordered(v) && prev.is_none_or(|(pv, pi)| !unordered(pv) || i > pi)
                    }) {
                        Some(i) => (at(i), i),
                        None => break,
                    },
                };
                let out = (o * p.k + j) * p.inner + r;
                if let (Some(ov), Some(oi)) = (values.get_mut(out), indices.get_mut(out)) {
                    *ov = v;
                    *oi = i as i64;
                }
                prev = Some((v, i));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_and_smallest_with_ties_in_index_order() {
        let p = TopK { outer: 1, len: 5, inner: 1, k: 3, largest: true };
        let (mut v, mut i) = ([0.0f32; 3], [0i64; 3]);
        top_k(&p, &[1.0, 3.0, 2.0, 3.0, 0.0], &mut v, &mut i);
        assert_eq!((v, i), ([3.0, 3.0, 2.0], [1, 3, 2]));
        top_k(&TopK { largest: false, ..p }, &[1.0, 3.0, 1.0, 3.0, 0.0], &mut v, &mut i);
        assert_eq!((v, i), ([0.0, 1.0, 1.0], [4, 0, 2]));
    }
}
