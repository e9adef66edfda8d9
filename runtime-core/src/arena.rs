//! Typed views into the arena, without `unsafe` in generated code.
//!
//! For each node, generated code asks [`split`] for the arena regions the node writes
//! (outputs and scratch); everything else stays readable through the returned
//! [`Frozen`] view. The compiler's memory planner guarantees that regions a node
//! writes never overlap what it reads; should they ever, the views come back empty and
//! the kernel's entry check turns the call into a no-op instead of a data race or panic.

use crate::Pod;

/// The largest number of regions one node may write.
pub const MAX_WRITES: usize = 7;

/// The read-only remainder of the arena after [`split`]: the gaps between the written
/// regions, each remembered with its arena offset.
#[derive(Debug)]
pub struct Frozen<'a> {
    parts: [(usize, &'a [u8]); MAX_WRITES + 1],
}

impl<'a> Frozen<'a> {
    /// `len` bytes at arena offset `off`, or an empty slice if they are not readable.
    #[inline(always)]
    pub fn bytes(&self, off: usize, len: usize) -> &'a [u8] {
        for &(start, part) in &self.parts {
            if off >= start {
                if let Some(s) = part.get(off - start..).and_then(|p| p.get(..len)) {
                    return s;
                }
            }
        }
        &[]
    }

    /// `n` elements of `T` at arena offset `off` (empty if unreadable or misaligned).
    #[inline(always)]
    pub fn view<T: Pod>(&self, off: usize, n: usize) -> &'a [T] {
        cast(self.bytes(off, n.saturating_mul(core::mem::size_of::<T>())))
    }
}

/// Splits the arena into `K` writable regions `(offset, bytes)` and the readable rest.
/// Regions that overlap each other or leave the arena come back empty.
#[inline(always)]
pub fn split<const K: usize>(bytes: &mut [u8], regions: [(usize, usize); K]) -> (Frozen<'_>, [&mut [u8]; K]) {
    let mut order = [0usize; K];
    for (i, o) in order.iter_mut().enumerate() {
        *o = i;
    }
    // Insertion sort by offset: K is tiny and known at compile time.
    for i in 1..K {
        let mut j = i;
        while j > 0 && regions[order[j - 1]].0 > regions[order[j]].0 {
            order.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut slots: [Option<&mut [u8]>; K] = [const { None }; K];
    let mut parts = [(0, &[][..]); MAX_WRITES + 1];
    let mut rest: &mut [u8] = bytes;
    let mut pos = 0usize;
    let mut ok = K <= MAX_WRITES;
    for (k, &i) in order.iter().enumerate() {
        let (off, len) = regions[i];
        if !ok || off < pos {
            ok = false;
            break;
        }
        let Some((gap, tail)) = core::mem::take(&mut rest).split_at_mut_checked(off - pos) else {
            ok = false;
            break;
        };
        let Some((region, tail)) = tail.split_at_mut_checked(len) else {
            ok = false;
            break;
        };
        if let Some(p) = parts.get_mut(k) {
            *p = (pos, &*gap);
        }
        if let Some(s) = slots.get_mut(i) {
            *s = Some(region);
        }
        rest = tail;
        pos = off + len;
    }
    if !ok {
        return (Frozen { parts: [(0, &[][..]); MAX_WRITES + 1] }, core::array::from_fn(|_| &mut [][..]));
    }
    if let Some(p) = parts.get_mut(K) {
        *p = (pos, &*rest);
    }
    let writes = core::array::from_fn(|i| slots.get_mut(i).and_then(Option::take).unwrap_or(&mut [][..]));
    (Frozen { parts }, writes)
}

/// Views bytes as `T`s; empty if the bytes are misaligned for `T` or not a whole number
/// of elements.
#[inline(always)]
pub fn cast<T: Pod>(bytes: &[u8]) -> &[T] {
    // SAFETY: `T: Pod` accepts every bit pattern; `align_to` only yields a properly
    // aligned middle part.
    let (pre, mid, post) = unsafe { bytes.align_to::<T>() };
    if pre.is_empty() && post.is_empty() {
        mid
    } else {
        &[]
    }
}

/// A weight static viewed as `T`s, like [`cast`] but without looking at the address:
/// an [`Align16`](crate::Align16) array is aligned for every `T` the kernels take
/// (checked at compile time), so only the length decides (empty unless `N` bytes are
/// a whole number of `T`s). Generated code reads weights through it: pointer and
/// length are then constants, where [`cast`] computes the alignment of the static's
/// address at run time, in every call's argument code.
#[inline(always)]
pub const fn weight<T: Pod, const N: usize>(w: &crate::Align16<[u8; N]>) -> &[T] {
    const { assert!(core::mem::align_of::<T>() <= 16, "an Align16 static is 16-byte aligned") };
    let size = core::mem::size_of::<T>();
    if size == 0 || !N.is_multiple_of(size) {
        return &[];
    }
    // SAFETY: the bytes are 16-byte aligned (`Align16`), enough for `T` (asserted
    // above), and hold exactly `N / size` initialised `T`s, every bit pattern of which
    // is valid (`T: Pod`); the result borrows `w`.
    unsafe { core::slice::from_raw_parts(w.0.as_ptr().cast::<T>(), N / size) }
}

/// `bytes` viewed as exactly `N` elements of `T` (`None` if the length or alignment
/// does not fit): how a generated self-test reads its golden input as a `run` argument.
#[inline(always)]
pub fn cast_array<T: Pod, const N: usize>(bytes: &[u8]) -> Option<&[T; N]> {
    cast::<T>(bytes).try_into().ok()
}

/// Mutable twin of [`cast`].
#[inline(always)]
pub fn cast_mut<T: Pod>(bytes: &mut [u8]) -> &mut [T] {
    // SAFETY: as in `cast`; the returned slice borrows `bytes` exclusively.
    let (pre, mid, post) = unsafe { bytes.align_to_mut::<T>() };
    if pre.is_empty() && post.is_empty() {
        mid
    } else {
        &mut []
    }
}

/// The bytes of a slice of plain values (the reverse of [`cast`]), e.g. to read `i8`
/// weights a word at a time.
#[inline(always)]
pub fn as_bytes<T: Pod>(s: &[T]) -> &[u8] {
    let len = core::mem::size_of_val(s);
    // SAFETY: `T: Pod` has no padding, so its memory is `len` initialised bytes; the
    // result borrows `s` for its lifetime, and `u8` needs no alignment.
    unsafe { core::slice::from_raw_parts(s.as_ptr().cast::<u8>(), len) }
}

/// Mutable twin of [`as_bytes`] (the reverse of [`cast_mut`]), e.g. to use `i32`
/// scratch as a byte buffer.
#[inline(always)]
pub fn as_bytes_mut<T: Pod>(s: &mut [T]) -> &mut [u8] {
    let len = core::mem::size_of_val(s);
    // SAFETY: `T: Pod` has no padding, so its memory is `len` initialised bytes; the
    // result borrows `s` exclusively for its lifetime, and `u8` needs no alignment.
    unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_gives_disjoint_writes_and_reads_the_rest() {
        let mut buf = [0u8; 64];
        for (i, b) in buf.iter_mut().enumerate() {
            *b = i as u8;
        }
        let (ro, [a, b]) = split(&mut buf, [(32, 8), (8, 4)]);
        assert_eq!(a.len(), 8);
        assert_eq!(a[0], 32);
        assert_eq!(b, &[8, 9, 10, 11]);
        assert_eq!(ro.bytes(0, 8), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ro.bytes(12, 4), &[12, 13, 14, 15]);
        assert_eq!(ro.bytes(40, 24).len(), 24);
        // Straddling a written region is not readable.
        assert!(ro.bytes(6, 4).is_empty());
        assert!(ro.bytes(30, 4).is_empty());
        assert!(ro.bytes(60, 8).is_empty());
    }

    #[test]
    fn overlapping_or_out_of_range_regions_give_empty_views() {
        let mut buf = [0u8; 16];
        let (ro, [a, b]) = split(&mut buf, [(0, 8), (4, 8)]);
        assert!(a.is_empty() && b.is_empty() && ro.bytes(0, 1).is_empty());
        let (_, [c]) = split(&mut buf, [(12, 8)]);
        assert!(c.is_empty());
    }

    #[test]
    fn typed_views_respect_alignment() {
        let mut buf = crate::Align16([0u8; 32]);
        let (ro, [w]) = split(&mut buf.0, [(16, 16)]);
        let f: &mut [f32] = cast_mut(w);
        assert_eq!(f.len(), 4);
        f[3] = 1.5;
        assert_eq!(ro.view::<f32>(0, 4).len(), 4);
        assert!(ro.view::<f32>(1, 2).is_empty());
        let (ro, _) = split::<0>(&mut buf.0, []);
        assert_eq!(ro.view::<f32>(28, 1), &[1.5]);
    }
}
