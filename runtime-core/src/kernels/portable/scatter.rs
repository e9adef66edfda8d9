//! Scatters and N-D gathers by indices read at run time (ONNX ScatterElements,
//! ScatterND, GatherND). Negative indices count from the end; an index out of range
//! leaves its update unapplied (or its gathered slice zero).

use super::cumulative::Accumulate;
use super::logic::Scalar;
use crate::kernels::{GatherElements, IndexNd, ScatterOp, MAX_RANK};

/// An index along an extent, wrapped once from the end; `None` when out of range.
#[inline]
fn wrap<I: Scalar>(i: I, len: usize) -> Option<usize> {
    let v = i.to_i64();
    let v = if v < 0 { v.checked_add(len as i64)? } else { v };
    (v >= 0 && (v as u64) < len as u64).then_some(v as usize)
}

#[inline]
fn combine<T: Accumulate + PartialOrd>(op: ScatterOp, old: T, new: T) -> T {
    match op {
        ScatterOp::None => new,
        ScatterOp::Add => old.add(new),
        ScatterOp::Mul => old.mul(new),
        ScatterOp::Max => {
            if new > old {
                new
            } else {
                old
            }
        }
        ScatterOp::Min => {
            if new < old {
                new
            } else {
                old
            }
        }
    }
}

/// `y = data`, then each update lands where ScatterElements puts it: at its own
/// index off `p.axis`, at `indices` along it (`p` as for GatherElements: the shape of
/// indices and updates, the data's strides).
pub fn scatter_elements<T: Accumulate + PartialOrd, I: Scalar>(
    p: &GatherElements,
    op: ScatterOp,
    data: &[T],
    indices: &[I],
    updates: &[T],
    y: &mut [T],
) {
    if p.rank == 0 || p.rank > MAX_RANK || y.len() < data.len() {
        return;
    }
    let n = p.shape.iter().take(p.rank).fold(1usize, |a, &d| a.saturating_mul(d));
    if indices.len() < n || updates.len() < n {
        return;
    }
    for (o, &v) in y.iter_mut().zip(data) {
        *o = v;
    }
    let mut idx = [0usize; MAX_RANK];
    for (&i, &u) in indices.iter().zip(updates).take(n) {
        if let Some(a) = wrap(i, p.axis_len) {
            let mut at = 0usize;
            for d in 0..p.rank {
                let c = if d == p.axis { a } else { idx[d] };
                at = at.wrapping_add(c.wrapping_mul(p.data[d]));
            }
            if let Some(o) = y.get_mut(at) {
                *o = combine(op, *o, u);
            }
        }
        let mut d = p.rank;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            if idx[d] < p.shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// The data offset of index tuple `t` (within its batch block), if every component
/// is in range.
fn tuple_offset<I: Scalar>(p: &IndexNd, indices: &[I], t: usize) -> Option<usize> {
    let mut at = 0usize;
    for c in 0..p.k.min(MAX_RANK) {
        let i = wrap(*indices.get(t.checked_mul(p.k)?.checked_add(c)?)?, p.dims[c])?;
        at = at.checked_add(i.checked_mul(p.strides[c])?)?;
    }
    Some(at)
}

/// `y = data`, then each update slice lands where its index tuple points (ScatterND).
pub fn scatter_nd<T: Accumulate + PartialOrd, I: Scalar>(
    p: &IndexNd,
    op: ScatterOp,
    data: &[T],
    indices: &[I],
    updates: &[T],
    y: &mut [T],
) {
    if p.k == 0 || p.k > MAX_RANK || y.len() < data.len() {
        return;
    }
    for (o, &v) in y.iter_mut().zip(data) {
        *o = v;
    }
    for b in 0..p.batch {
        for t in 0..p.count {
            let tuple = b.saturating_mul(p.count).saturating_add(t);
            let Some(at) = tuple_offset(p, indices, tuple) else { continue };
            let base = b.saturating_mul(p.batch_stride).saturating_add(at);
            let src = tuple.saturating_mul(p.slice);
            for e in 0..p.slice {
                if let (Some(o), Some(&u)) = (y.get_mut(base.saturating_add(e)), updates.get(src.saturating_add(e))) {
                    *o = combine(op, *o, u);
                }
            }
        }
    }
}

/// Each index tuple's slice of `data`, one after another (GatherND); out-of-range
/// tuples give zeros.
pub fn gather_nd<T: Copy + Default, I: Scalar>(p: &IndexNd, data: &[T], indices: &[I], y: &mut [T]) {
    if p.k == 0 || p.k > MAX_RANK {
        return;
    }
    for b in 0..p.batch {
        for t in 0..p.count {
            let tuple = b.saturating_mul(p.count).saturating_add(t);
            let at = tuple_offset(p, indices, tuple);
            let dst = tuple.saturating_mul(p.slice);
            for e in 0..p.slice {
                let v = at.and_then(|a| data.get(b.saturating_mul(p.batch_stride).saturating_add(a).saturating_add(e)));
                if let Some(o) = y.get_mut(dst.saturating_add(e)) {
                    *o = v.copied().unwrap_or_default();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatters_and_gathers() {
        // ScatterElements along axis 1 of [1, 5] with a repeated index and `add`.
        let mut shape = [0; MAX_RANK];
        shape[..2].copy_from_slice(&[1, 2]);
        let mut strides = [0; MAX_RANK];
        strides[..2].copy_from_slice(&[5, 1]);
        let p = GatherElements { rank: 2, shape, data: strides, axis: 1, axis_len: 5 };
        let mut y = [0.0f32; 5];
        scatter_elements(&p, ScatterOp::Add, &[1.0, 2.0, 3.0, 4.0, 5.0], &[1i64, 1], &[1.1, 2.1], &mut y);
        assert_eq!(y, [1.0, 5.2, 3.0, 4.0, 5.0]);
        // GatherND of [2, 2] by tuples [[0, 0], [1, 1]].
        let mut dims = [0; MAX_RANK];
        dims[..2].copy_from_slice(&[2, 2]);
        let mut st = [0; MAX_RANK];
        st[..2].copy_from_slice(&[2, 1]);
        let q = IndexNd { batch: 1, batch_stride: 4, count: 2, k: 2, dims, strides: st, slice: 1 };
        let mut z = [0i32; 2];
        gather_nd(&q, &[0, 1, 2, 3], &[0i64, 0, 1, 1], &mut z);
        assert_eq!(z, [0, 3]);
        let mut w = [0i32; 4];
        scatter_nd(&q, ScatterOp::Max, &[5, 5, 5, 5], &[0i64, 0, -1, -1], &[9, 1], &mut w);
        assert_eq!(w, [9, 5, 5, 5]);
    }
}
