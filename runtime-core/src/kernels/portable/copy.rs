use super::logic::Scalar;
use crate::kernels::{Gather, GatherElements, Strided, Trilu, MAX_RANK};

/// `y[..x.len()] = x`.
pub fn copy<T: Copy>(x: &[T], y: &mut [T]) {
    if let Some(y) = y.get_mut(..x.len()) {
        y.copy_from_slice(x);
    }
}

/// Sets every element of `y` to `v`.
pub fn fill<T: Copy>(v: T, y: &mut [T]) {
    y.iter_mut().for_each(|o| *o = v);
}

/// Smallest and largest source index, and largest destination index, of a copy.
fn reach(p: &Strided) -> (isize, isize, usize) {
    let (mut lo, mut hi) = (p.src_offset as isize, p.src_offset as isize);
    let mut dhi = p.dst_offset;
    for d in 0..p.rank.min(MAX_RANK) {
        let span = p.shape[d].saturating_sub(1) as isize;
        if p.src[d] >= 0 {
            hi += span * p.src[d];
        } else {
            lo += span * p.src[d];
        }
        dhi += p.shape[d].saturating_sub(1) * p.dst[d];
    }
    (lo, hi, dhi)
}

/// The general strided copy (see [`Strided`]).
pub fn copy_strided<T: Copy>(p: &Strided, x: &[T], y: &mut [T]) {
    let last = p.rank.wrapping_sub(1).min(MAX_RANK - 1);
    let inner = p.shape[last];
    let (ss, ds) = (p.src[last], p.dst[last]);
    for_each_row(p, x.len(), y.len(), |so, dof| {
        if ss == 1 && ds == 1 {
            let (Some(src), Some(dst)) = (x.get(so..so + inner), y.get_mut(dof..dof + inner)) else {
                return false;
            };
            dst.copy_from_slice(src);
        } else {
            for i in 0..inner {
                let (Some(&v), Some(o)) = (x.get((so as isize + i as isize * ss) as usize), y.get_mut(dof + i * ds))
                else {
                    return false;
                };
                *o = v;
            }
        }
        true
    });
}

/// [`copy_strided`] with a conversion on the way: `y[d] = f(d, x[s])` for every
/// (destination `d`, source `s`) element pair of the copy, `d` counted from the start
/// of `y` (so a per-channel conversion can tell the destination's channel).
pub(crate) fn map_strided<X: Copy, Y>(p: &Strided, x: &[X], y: &mut [Y], f: impl Fn(usize, X) -> Y) {
    let last = p.rank.wrapping_sub(1).min(MAX_RANK - 1);
    let inner = p.shape[last];
    let (ss, ds) = (p.src[last], p.dst[last]);
    for_each_row(p, x.len(), y.len(), |so, dof| {
        for i in 0..inner {
            let d = dof + i * ds;
            let (Some(&v), Some(o)) = (x.get((so as isize + i as isize * ss) as usize), y.get_mut(d)) else {
                return false;
            };
            *o = f(d, v);
        }
        true
    });
}

/// Calls `row(source offset, destination offset)` for the start of every innermost row
/// of a strided copy over sources of `nx` and destinations of `ny` elements, in
/// destination order of the outer axes; nothing when the copy is malformed or reaches
/// outside either side, and it stops when `row` returns false.
#[inline(always)]
fn for_each_row(p: &Strided, nx: usize, ny: usize, mut row: impl FnMut(usize, usize) -> bool) {
    if p.rank == 0 || p.rank > MAX_RANK || p.shape[..p.rank].contains(&0) {
        return;
    }
    let (lo, hi, dhi) = reach(p);
    if lo < 0 || hi as usize >= nx || dhi >= ny {
        return;
    }
    let last = p.rank - 1;
    let mut idx = [0usize; MAX_RANK];
    let mut so = p.src_offset as isize;
    let mut dof = p.dst_offset;
    loop {
        if !row(so as usize, dof) {
            return;
        }
        // Odometer over the outer axes.
        let mut d = last;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            so += p.src[d];
            dof += p.dst[d];
            if idx[d] < p.shape[d] {
                break;
            }
            so -= p.src[d] * idx[d] as isize;
            dof -= p.dst[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/// Gathers slices along an axis by constant indices (already non-negative).
pub fn gather<T: Copy>(p: &Gather, indices: &[usize], x: &[T], y: &mut [T]) {
    let (outer, inner, n) = (p.outer, p.inner, indices.len());
    if x.len() < outer * p.axis_len * inner || y.len() < outer * n * inner || indices.iter().any(|&i| i >= p.axis_len) {
        return;
    }
    for o in 0..outer {
        for (j, &i) in indices.iter().enumerate() {
            let s = (o * p.axis_len + i) * inner;
            let d = (o * n + j) * inner;
            let (Some(src), Some(dst)) = (x.get(s..s + inner), y.get_mut(d..d + inner)) else {
                return;
            };
            dst.copy_from_slice(src);
        }
    }
}

/// An index along an axis of `len` elements: negative indices count from the end;
/// `None` when it is out of range.
#[inline(always)]
fn wrap_index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i.checked_add(len as i64)? } else { i };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// [`gather`] with indices read at run time (any integer type; negative ones count
/// from the end). Slices of out-of-range indices are zero.
pub fn gather_indexed<T: Copy + Default, I: Scalar>(p: &Gather, x: &[T], indices: &[I], y: &mut [T]) {
    let (outer, inner, n) = (p.outer, p.inner, indices.len());
    if x.len() < outer * p.axis_len * inner || y.len() < outer * n * inner {
        return;
    }
    for o in 0..outer {
        for (j, i) in indices.iter().enumerate() {
            let d = (o * n + j) * inner;
            let Some(dst) = y.get_mut(d..d + inner) else { return };
            match wrap_index(i.to_i64(), p.axis_len).and_then(|i| x.get((o * p.axis_len + i) * inner..)) {
                Some(src) => {
                    for (o, &v) in dst.iter_mut().zip(src) {
                        *o = v;
                    }
                }
                None => dst.iter_mut().for_each(|o| *o = T::default()),
            }
        }
    }
}

/// ONNX GatherElements (see [`GatherElements`]); elements of out-of-range indices are
/// zero.
pub fn gather_elements<T: Copy + Default, I: Scalar>(p: &GatherElements, x: &[T], indices: &[I], y: &mut [T]) {
    if p.rank == 0 || p.rank > MAX_RANK || p.axis >= p.rank {
        return;
    }
    let rank = p.rank.min(MAX_RANK);
    let total = p.shape.iter().take(rank).fold(1usize, |a, &n| a.saturating_mul(n));
    if indices.len() < total || y.len() < total {
        return;
    }
    let mut idx = [0usize; MAX_RANK];
    for (k, o) in y.iter_mut().take(total).enumerate() {
        let along = indices.get(k).and_then(|i| wrap_index(i.to_i64(), p.axis_len));
        let mut off = 0usize;
        for (d, (&i, &st)) in idx.iter().zip(&p.data).take(rank).enumerate() {
            let i = if d == p.axis { along.unwrap_or(0) } else { i };
            off = off.wrapping_add(i.wrapping_mul(st));
        }
        *o = match along {
            Some(_) => x.get(off).copied().unwrap_or_default(),
            None => T::default(),
        };
        for (i, &n) in idx.iter_mut().zip(&p.shape).take(rank).rev() {
            *i += 1;
            if *i < n {
                break;
            }
            *i = 0;
        }
    }
}

/// Keeps one triangle of every matrix and zeroes the rest (ONNX Trilu).
pub fn trilu<T: Copy + Default>(p: &Trilu, x: &[T], y: &mut [T]) {
    let Some(n) = p.batch.checked_mul(p.rows).and_then(|v| v.checked_mul(p.cols)) else { return };
    if x.len() < n || y.len() < n || p.cols == 0 {
        return;
    }
    for (i, (o, &v)) in y.iter_mut().zip(x).take(n).enumerate() {
        let (r, c) = ((i / p.cols) % p.rows.max(1), i % p.cols);
        let d = c as isize - r as isize;
        let keep = if p.upper { d >= p.k } else { d <= p.k };
        *o = if keep { v } else { T::default() };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_as_strided_copy() {
        // x: 2x3 → y: 3x2
        let x = [1, 2, 3, 4, 5, 6];
        let mut y = [0; 6];
        let p = Strided {
            rank: 2,
            shape: [3, 2, 0, 0, 0, 0],
            src: [1, 3, 0, 0, 0, 0],
            src_offset: 0,
            dst: [2, 1, 0, 0, 0, 0],
            dst_offset: 0,
        };
        copy_strided(&p, &x, &mut y);
        assert_eq!(y, [1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn reversed_slice_and_broadcast() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let mut y = [0.0f32; 3];
        let p = Strided {
            rank: 1,
            shape: [3, 0, 0, 0, 0, 0],
            src: [-1, 0, 0, 0, 0, 0],
            src_offset: 3,
            dst: [1, 0, 0, 0, 0, 0],
            dst_offset: 0,
        };
        copy_strided(&p, &x, &mut y);
        assert_eq!(y, [4.0, 3.0, 2.0]);
        let p = Strided {
            rank: 2,
            shape: [2, 3, 0, 0, 0, 0],
            src: [0, 1, 0, 0, 0, 0],
            src_offset: 0,
            dst: [3, 1, 0, 0, 0, 0],
            dst_offset: 0,
        };
        let mut y = [0.0f32; 6];
        copy_strided(&p, &x, &mut y);
        assert_eq!(y, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn out_of_range_copy_is_a_no_op() {
        let x = [1, 2, 3];
        let mut y = [0; 4];
        let p = Strided {
            rank: 1,
            shape: [4, 0, 0, 0, 0, 0],
            src: [1, 0, 0, 0, 0, 0],
            src_offset: 0,
            dst: [1, 0, 0, 0, 0, 0],
            dst_offset: 0,
        };
        copy_strided(&p, &x, &mut y);
        assert_eq!(y, [0; 4]);
    }

    #[test]
    fn gather_rows() {
        let x = [1, 2, 3, 4, 5, 6];
        let mut y = [0; 4];
        gather(&Gather { outer: 1, axis_len: 3, inner: 2 }, &[2, 0], &x, &mut y);
        assert_eq!(y, [5, 6, 1, 2]);
    }

    #[test]
    fn trilu_keeps_one_triangle_per_matrix() {
        // Two 3×4 matrices.
        let x: [i32; 24] = core::array::from_fn(|i| i as i32 + 1);
        for (upper, k) in [(true, 0isize), (true, 2), (false, 0), (false, -1), (true, -5), (false, 9)] {
            let mut y = [0i32; 24];
            trilu(&Trilu { batch: 2, rows: 3, cols: 4, k, upper }, &x, &mut y);
            for i in 0..24 {
                let (r, c) = ((i / 4) % 3, i % 4);
                let d = c as isize - r as isize;
                let keep = if upper { d >= k } else { d <= k };
                assert_eq!(y[i], if keep { x[i] } else { 0 }, "upper {upper} k {k} [{i}]");
            }
        }
    }

    #[test]
    fn run_time_gathers_wrap_negative_indices_and_zero_bad_ones() {
        // x: [2, 3] rows; gather along axis 0 with indices [-1, 0, 5].
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut y = [9.0f32; 9];
        gather_indexed(&Gather { outer: 1, axis_len: 2, inner: 3 }, &x, &[-1i64, 0, 5], &mut y);
        assert_eq!(y, [4.0, 5.0, 6.0, 1.0, 2.0, 3.0, 0.0, 0.0, 0.0]);
        // GatherElements along axis 1 of [2, 3]: y[i][j] = x[i][idx[i][j]].
        let p = GatherElements { rank: 2, shape: [2, 2, 0, 0, 0, 0], data: [3, 1, 0, 0, 0, 0], axis: 1, axis_len: 3 };
        let mut z = [0.0f32; 4];
        gather_elements(&p, &x, &[2i32, 0, -1, 7], &mut z);
        assert_eq!(z, [3.0, 1.0, 6.0, 0.0]);
    }
}
