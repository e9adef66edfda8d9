//! Data-movement checks, all exact: copy (also into a too-short output, which must
//! stay untouched), fill, the strided copy (transposes, reversed and broadcast source
//! axes, sliced steps, padded destinations, offsets; its generator serves the
//! quantising strided copy too) and gather.

use super::harness::{exact, fill as fill_with, head, head_mut, Elem, Rng, Text, Verdict, Want, N, SLACK};
use super::reference;
use crate::kernels::{Gather, Strided, MAX_RANK};
use core::fmt::Write;

/// `copy`: exact; an output shorter than the input is left alone.
pub(crate) fn copy<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Elem + Default,
    F: Fn(&[T], &mut [T]),
    G: Fn(&[T], &mut [T]),
{
    let n = rng.range(0, N);
    let ny = if rng.chance(1, 8) { n.saturating_sub(rng.range(1, 3)) } else { n + rng.below(SLACK + 1) };
    let mut x = [T::default(); N];
    fill_with(&mut x, || T::random(rng));
    let x = head(&x, n);
    let _ = write!(geo, "n{} out{}", n, ny);

    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::copy(x, head_mut(&mut exp, ny)),
        Want::Twin(twin) => twin(x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `fill`: exact.
pub(crate) fn fill<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Elem + Default,
    F: Fn(T, &mut [T]),
    G: Fn(T, &mut [T]),
{
    let ny = rng.range(0, N);
    let v = T::random(rng);
    let _ = write!(geo, "n{}", ny);

    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(v, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::fill(v, head_mut(&mut exp, ny)),
        Want::Twin(twin) => twin(v, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// A random strided copy with the source and destination lengths it needs.
pub(crate) fn strided(rng: &mut Rng) -> (Strided, usize, usize) {
    for _ in 0..64 {
        let rank = rng.range(1, MAX_RANK);
        let mut shape = [1usize; MAX_RANK];
        fill_with(head_mut(&mut shape, rank), || rng.dim(if rank > 3 { 3 } else { 6 }));
        // Source: a transposed layout (axes laid out in random order), sliced with step
        // 1 or 2, some axes reversed (negative stride) or broadcast (stride 0). Reads
        // may overlap; only the destination must not.
        let mut src = [0isize; MAX_RANK];
        let mut used = [false; MAX_RANK];
        let (mut step, mut lo, mut hi) = (1isize, 0isize, 0isize);
        for placed in 0..rank {
            let k = rng.below(rank - placed);
            let Some(d) = (0..rank).filter(|&d| !used.get(d).copied().unwrap_or(true)).nth(k) else { break };
            let (Some(u), Some(s), Some(&len)) = (used.get_mut(d), src.get_mut(d), shape.get(d)) else { break };
            *u = true;
            let span = len as isize - 1;
            *s = match rng.below(6) {
                0 => 0,
                1 => -step,
                2 => 2 * step,
                _ => step,
            };
            if *s < 0 {
                lo += span * *s;
            } else {
                hi += span * *s;
            }
            step *= len as isize;
        }
        let src_offset = (-lo) as usize + rng.below(3);
        let nx = src_offset + hi as usize + 1 + rng.below(3);
        // Destination: row-major over a padded block (concat, pad), at an offset.
        let mut dst = [0usize; MAX_RANK];
        let (mut step, mut dhi) = (1usize, 0usize);
        for (&len, d) in shape.iter().zip(dst.iter_mut()).take(rank).rev() {
            *d = step;
            dhi += (len - 1) * step;
            step *= len + if rng.chance(1, 4) { rng.range(1, 2) } else { 0 };
        }
        let dst_offset = rng.below(4);
        let ny = dst_offset + dhi + 1 + rng.below(SLACK + 1);
        if nx <= N && ny <= N + SLACK {
            return (Strided { rank, shape, src, src_offset, dst, dst_offset }, nx, ny);
        }
    }
    let one =
        Strided { rank: 1, shape: [1; MAX_RANK], src: [1; MAX_RANK], src_offset: 0, dst: [1; MAX_RANK], dst_offset: 0 };
    (one, 1, 1)
}

/// `copy_strided`: exact.
pub(crate) fn copy_strided<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Elem + Default,
    F: Fn(&Strided, &[T], &mut [T]),
    G: Fn(&Strided, &[T], &mut [T]),
{
    let (p, nx, ny) = strided(rng);
    let r = p.rank;
    let _ = write!(
        geo,
        "shape{:?} src{:?}+{} dst{:?}+{} x{} y{}",
        head(&p.shape, r),
        head(&p.src, r),
        p.src_offset,
        head(&p.dst, r),
        p.dst_offset,
        nx,
        ny
    );
    let mut x = [T::default(); N];
    fill_with(&mut x, || T::random(rng));
    let x = head(&x, nx);

    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::copy_strided(&p, x, head_mut(&mut exp, ny)),
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `gather`: exact, repeated indices and empty index lists included.
pub(crate) fn gather<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Elem + Default,
    F: Fn(&Gather, &[usize], &[T], &mut [T]),
    G: Fn(&Gather, &[usize], &[T], &mut [T]),
{
    let p = Gather { outer: rng.dim(4), axis_len: rng.dim(8), inner: rng.dim(8) };
    let mut indices = [0usize; 12];
    fill_with(&mut indices, || rng.below(p.axis_len));
    let indices = head(&indices, rng.range(0, 12));
    let _ = write!(geo, "outer{} axis{} inner{} indices{:?}", p.outer, p.axis_len, p.inner, indices);
    let mut x = [T::default(); N];
    fill_with(&mut x, || T::random(rng));
    let x = head(&x, p.outer * p.axis_len * p.inner);
    let ny = p.outer * indices.len() * p.inner + rng.below(SLACK + 1);

    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, indices, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::gather(&p, indices, x, head_mut(&mut exp, ny)),
        Want::Twin(twin) => twin(&p, indices, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
