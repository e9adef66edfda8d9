//! In-place execution: a kernel whose result overlaps its own dead input, in one
//! buffer, without `unsafe`.
//!
//! Rust forbids a `&[T]` and a `&mut [T]` over the same bytes, so no kernel can be
//! handed overlapping operands. Instead these entries own the access order and call an
//! ordinary kernel (any implementation: portable or per-ISA) on pieces whose operand
//! slices are disjoint, cut from the one `&mut [T]` with `split_at_mut`:
//!
//! - [`conv_rows`]: a convolution one output row at a time. Output row `r` only needs
//!   the input rows of its window, from `lo(r)` (the window's first row inside the
//!   input) on. With the output starting [`conv_rows_shift`] elements before the input
//!   (a negative number), row `r`'s output ends at or before input row `lo(r)` starts,
//!   and `lo` never decreases with `r`: every row written lands on input rows no later
//!   row reads. The kernel sees a one-row problem ([`row_problem`]) whose input slice
//!   and output slice are disjoint. Mirrored, with the output starting at least
//!   [`conv_rows_above`] elements after the input, the rows run last to first: row
//!   `r`'s output starts at or after input row `hi(r)` ends (the window's end, which
//!   never decreases with `r`), so it lands on input rows only later-numbered rows,
//!   already done, read. A chain of such convolutions can so alternate down and up
//!   over one region instead of drifting away from it. A pointwise convolution (1×1,
//!   stride 1, no padding) runs in [`rows_view`]: its pixels as rows of one, two per
//!   call, so its output need start only two pixels away from the input, and the Arm
//!   DSP kernels, which compute pixels in pairs, never waste half a pair on an odd
//!   row width.
//! - [`elementwise`]: an element-wise kernel whose result takes its operand's exact
//!   place (shift 0), in chunks of [`CHUNK`] elements: each chunk of the operand is
//!   copied to the stack first, then the kernel writes the chunk's place.
//!
//! The compiler's planner places a result at `input offset + shift` only through these
//! entries (see `docs/memory.md`), and the kernel suite checks each against the
//! separate-buffer result for every implementation.

use crate::kernels::Conv2d;
use crate::Pod;
use core::num::NonZeroU16;

/// Elements per chunk of [`elementwise`] (its stack copy is `CHUNK` elements): 64 on
/// the microcontrollers, whose stacks are small.
#[cfg(not(target_arch = "x86_64"))]
pub const CHUNK: usize = 64;

/// Elements per chunk of [`elementwise`] (its stack copy is `CHUNK` elements): 1,024
/// on x86-64, where a kernel call per 64 elements cost more than their work (ResNet-8
/// fp32's residual Adds on `x86-64-v3`: 14.0 µs in 64-element chunks, 4.6 µs in 1,024).
#[cfg(target_arch = "x86_64")]
pub const CHUNK: usize = 1024;

/// The window rows of output row `r` a row-at-a-time convolution hands the kernel:
/// `lo..hi` (at least one row, so a window wholly in the padding still has a valid
/// one-row problem whose taps all fall outside it).
#[inline(always)]
pub(crate) const fn window_rows(p: &Conv2d, r: usize) -> (usize, usize) {
    let iy0 = (r * p.stride_h) as isize - p.pad_top as isize;
    let extent = ((p.k_h.saturating_sub(1)) * p.dil_h + 1) as isize;
    let last = if p.in_h == 0 { 0 } else { p.in_h - 1 };
    let lo = if iy0 < 0 {
        0
    } else if iy0 as usize > last {
        last
    } else {
        iy0 as usize
    };
    let end = iy0 + extent;
    let hi = if end <= lo as isize {
        lo + 1
    } else if end as usize > p.in_h {
        p.in_h
    } else {
        end as usize
    };
    let hi = if hi <= lo { lo + 1 } else { hi };
    (lo, hi)
}

/// The one-row problem for output row `r`: input rows `lo..hi` of the window, the
/// top padding what remains of it above `lo`.
#[inline(always)]
pub const fn row_problem(p: &Conv2d, r: usize) -> Conv2d {
    rows_problem(p, r, r + 1)
}

/// The problem for output rows `r0..r1` (`r0 < r1`): input rows from the first row's
/// window start to the last row's window end, the top padding what remains of it
/// above them. Windows only move down with the row, so every window lies inside.
#[inline(always)]
pub(crate) const fn rows_problem(p: &Conv2d, r0: usize, r1: usize) -> Conv2d {
    let (lo, _) = window_rows(p, r0);
    let (_, hi) = window_rows(p, r1 - 1);
    let hi = if hi <= lo { lo + 1 } else { hi };
    let iy0 = (r0 * p.stride_h) as isize - p.pad_top as isize;
    Conv2d { batch: 1, in_h: hi - lo, out_h: r1 - r0, pad_top: (lo as isize - iy0) as usize, ..*p }
}

/// The fields of [`rows_problem`]`(p, r0, r1)` that differ from `p` (batch aside):
/// `in_h`, `out_h` and `pad_top`.
#[inline(always)]
const fn rows_fields(p: &Conv2d, r0: usize, r1: usize) -> (usize, usize, usize) {
    let q = rows_problem(p, r0, r1);
    (q.in_h, q.out_h, q.pad_top)
}

/// The geometry [`conv_rows`] runs a convolution in, and its rows per kernel call: a
/// pointwise convolution as one pixel per row (the same computation: each output
/// pixel reads its input pixel alone), two rows per call; any other as it is, one
/// row per call.
///
/// A convolution of height one (a 1-D convolution) runs as its transpose, a column:
/// width one, its columns as rows, one per call. With one of the two axes of extent
/// one, input, output and weights hold the same elements in the same order either
/// way, so any kernel computes the same result; as a single row it could not overlap
/// its input at all.
#[inline(always)]
pub const fn rows_view(p: &Conv2d) -> (Conv2d, usize) {
    if p.is_pointwise() {
        let pixels = p.in_h * p.in_w;
        (Conv2d { in_h: pixels, in_w: 1, out_h: pixels, out_w: 1, ..*p }, 2)
    } else if one_row(p) {
        let column = Conv2d {
            in_h: p.in_w,
            in_w: 1,
            out_h: p.out_w,
            out_w: 1,
            k_h: p.k_w,
            k_w: 1,
            stride_h: p.stride_w,
            stride_w: 1,
            dil_h: p.dil_w,
            dil_w: 1,
            pad_top: p.pad_left,
            pad_left: 0,
            ..*p
        };
        (column, 1)
    } else {
        (*p, 1)
    }
}

/// True for a convolution of one row (height one in, out and in the window, no
/// vertical padding) over more than one column.
const fn one_row(p: &Conv2d) -> bool {
    p.in_h == 1 && p.out_h == 1 && p.k_h == 1 && p.pad_top == 0 && p.in_w > 1
}

/// The last row (exclusive) of the call that starts at row `r` of `v`'s `out_h`.
#[inline(always)]
const fn call_end(v: &Conv2d, per_call: usize, r: usize) -> usize {
    if r + per_call < v.out_h {
        r + per_call
    } else {
        v.out_h
    }
}

/// True when [`conv_rows`] can run this convolution: one batch, a valid geometry, at
/// least one input and output row, every field at most `u16::MAX`, also in the
/// geometry the rows run in ([`rows_view`]: a pointwise layer of at most 65,535
/// pixels), and both operands below `i32::MAX` elements (so that a [`Rows`] plan
/// holds it in 16-bit fields and its bounds in 32-bit ones).
#[inline(always)]
pub const fn conv_rows_applies(p: &Conv2d) -> bool {
    p.batch == 1
        && p.is_valid()
        && p.in_h > 0
        && p.out_h > 0
        && p.in_w > 0
        && p.out_w > 0
        && fits_u16(p)
        && fits_u16(&rows_view(p).0)
        && p.input_len() < i32::MAX as usize
        && p.output_len() < i32::MAX as usize
}

/// The fields of `p` in declaration order.
#[inline(always)]
const fn fields(p: &Conv2d) -> [usize; 16] {
    [
        p.batch, p.in_c, p.in_h, p.in_w, p.out_c, p.out_h, p.out_w, p.k_h, p.k_w, p.stride_h, p.stride_w, p.dil_h,
        p.dil_w, p.pad_top, p.pad_left, p.groups,
    ]
}

/// True when every field of `p` fits in 16 bits.
#[inline(always)]
const fn fits_u16(p: &Conv2d) -> bool {
    let f = fields(p);
    let mut any = 0;
    let mut i = 0;
    while i < f.len() {
        any |= f[i];
        i += 1;
    }
    any <= u16::MAX as usize
}

/// Where the output of [`conv_rows`] may start, in elements relative to the input's
/// start (zero or negative): in [`rows_view`]'s geometry, the least over the calls'
/// rows `r0..r1` of `lo(r0) · in_row − r1 · out_row`. Any lower start is safe too.
/// `None` when [`conv_rows`] does not apply.
pub const fn conv_rows_shift(p: &Conv2d) -> Option<isize> {
    bound(p, false)
}

/// Where the output of [`conv_rows`] may start when it lies above the input, in
/// elements relative to the input's start (positive): in [`rows_view`]'s geometry,
/// the greatest over the calls' rows `r0..r1` of `hi(r1 − 1) · in_row − r0 · out_row`,
/// calls then running last to first. Any higher start is safe too. `None` when
/// [`conv_rows`] does not apply.
pub const fn conv_rows_above(p: &Conv2d) -> Option<isize> {
    bound(p, true)
}

/// [`conv_rows_shift`] (`above` false) or [`conv_rows_above`] (`above` true): the
/// extreme over the calls of where each call lets the output start.
const fn bound(p: &Conv2d, above: bool) -> Option<isize> {
    if !conv_rows_applies(p) {
        return None;
    }
    let (v, per_call) = rows_view(p);
    let (in_row, out_row) = ((v.in_w * v.in_c) as isize, (v.out_w * v.out_c) as isize);
    let mut s = 0isize;
    let mut r = 0;
    while r < v.out_h {
        let r1 = call_end(&v, per_call, r);
        let at = if above {
            window_rows(&v, r1 - 1).1 as isize * in_row - r as isize * out_row
        } else {
            window_rows(&v, r).0 as isize * in_row - r1 as isize * out_row
        };
        if (above && at > s) || (!above && at < s) {
            s = at;
        }
        r = r1;
    }
    Some(s)
}

/// Runs a convolution whose input starts at element `x_at` of `buf` and whose output
/// starts at `y_at`, with `y_at ≤ x_at + conv_rows_shift(p)` (calls first to last) or
/// `y_at ≥ x_at + conv_rows_above(p)` (calls last to first): `kernel(q, x, y)` is
/// called once per output row (per two pixels of a pointwise convolution, see
/// [`rows_view`]) with the problem `q` of those rows and disjoint slices. Does nothing
/// when the geometry does not apply, the offsets break both rules or the buffer is
/// too short.
#[inline(always)]
pub fn conv_rows<T: Pod>(
    p: &Conv2d,
    buf: &mut [T],
    x_at: usize,
    y_at: usize,
    kernel: impl FnMut(&Conv2d, &[T], &mut [T]),
) {
    let Some(s) = conv_rows_shift(p) else { return };
    let (v, per_call) = rows_view(p);
    // The upper bound is computed only when needed.
    rows(&v, per_call, s, || conv_rows_above(p), buf, x_at, y_at, kernel)
}

/// A convolution [`conv_rows`] applies to, with both its bounds
/// ([`conv_rows_shift`], [`conv_rows_above`]) computed once: generated code makes it
/// a constant, so the bounds cost no instructions when the model runs, and so does
/// [`rows_view`]: the record holds the geometry the rows run in. Compact (40 bytes
/// with its `Option`, not 76 on a 32-bit target): the record sits in flash, one per
/// in-place layer, so the fields are 16-bit ([`conv_rows_applies`] requires it), the
/// bounds 32-bit, and the rows per call (never 0) leave `Option` a niche.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rows {
    /// The fields of [`rows_view`]'s geometry in declaration order, but the batch
    /// (always 1).
    dims: [u16; 15],
    per_call: NonZeroU16,
    shift: i32,
    above: i32,
}

impl Rows {
    /// The plan of `p`; `None` when [`conv_rows`] does not apply.
    pub const fn new(p: &Conv2d) -> Option<Rows> {
        let (v, per_call) = rows_view(p);
        match (conv_rows_shift(p), conv_rows_above(p), NonZeroU16::new(per_call as u16)) {
            (Some(shift), Some(above), Some(per_call)) => {
                let f = fields(&v);
                let mut dims = [0u16; 15];
                let mut i = 0;
                while i < dims.len() {
                    dims[i] = f[i + 1] as u16;
                    i += 1;
                }
                Some(Rows { dims, per_call, shift: shift as i32, above: above as i32 })
            }
            _ => None,
        }
    }

    /// The convolution as its rows run ([`rows_view`]'s geometry) and the rows per call.
    pub const fn view(&self) -> (Conv2d, usize) {
        let d = &self.dims;
        let v = Conv2d {
            batch: 1,
            in_c: d[0] as usize,
            in_h: d[1] as usize,
            in_w: d[2] as usize,
            out_c: d[3] as usize,
            out_h: d[4] as usize,
            out_w: d[5] as usize,
            k_h: d[6] as usize,
            k_w: d[7] as usize,
            stride_h: d[8] as usize,
            stride_w: d[9] as usize,
            dil_h: d[10] as usize,
            dil_w: d[11] as usize,
            pad_top: d[12] as usize,
            pad_left: d[13] as usize,
            groups: d[14] as usize,
        };
        (v, self.per_call.get() as usize)
    }
}

/// [`conv_rows`] for a convolution planned by [`Rows::new`] (usually a constant);
/// does nothing for `None`.
///
/// The row loop is one function per element type, out of line, calling `kernel`
/// through a `dyn` reference: with the plan a constant, an inlined loop would be
/// unrolled into one call of the kernel per row run, each with its arguments built
/// anew (VWW's MobileNet on a Cortex-M4: 65 calls of about 70 bytes for 31 layers).
/// Out of line, a layer costs one call here and one closure; the loop's own work per
/// call (a few dozen instructions) is small beside a row of convolution.
#[inline(always)]
pub fn conv_rows_planned<T: Pod>(
    plan: &Option<Rows>,
    buf: &mut [T],
    x_at: usize,
    y_at: usize,
    mut kernel: impl FnMut(&Conv2d, &[T], &mut [T]),
) {
    if let Some(r) = plan {
        planned_rows(r, buf, x_at, y_at, &mut kernel)
    }
}

/// A row kernel as [`planned_rows`] calls it.
type RowKernel<'k, T> = dyn FnMut(&Conv2d, &[T], &mut [T]) + 'k;

/// The out-of-line body of [`conv_rows_planned`].
#[inline(never)]
fn planned_rows<T: Pod>(r: &Rows, buf: &mut [T], x_at: usize, y_at: usize, kernel: &mut RowKernel<'_, T>) {
    let (v, per_call) = r.view();
    rows(&v, per_call, r.shift as isize, || Some(r.above as isize), buf, x_at, y_at, kernel)
}

/// The body of [`conv_rows`] and [`conv_rows_planned`] for `(v, per_call) =
/// rows_view(p)`: `s` is `conv_rows_shift(p)`, `above` gives `conv_rows_above(p)`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rows<T: Pod>(
    v: &Conv2d,
    per_call: usize,
    s: isize,
    above: impl FnOnce() -> Option<isize>,
    buf: &mut [T],
    x_at: usize,
    y_at: usize,
    mut kernel: impl FnMut(&Conv2d, &[T], &mut [T]),
) {
    // (The view holds the convolution's elements in the same order.)
    if x_at + v.input_len() > buf.len() || y_at + v.output_len() > buf.len() {
        return;
    }
    // Which side the result lies on.
    let below_input = (y_at as isize) <= x_at as isize + s;
    let v = *v;
    let (in_row, out_row) = (v.in_w * v.in_c, v.out_w * v.out_c);
    // A pointwise convolution takes, from each row on, as many rows as the actual
    // offsets leave room for (an even count when there are two or more): in pixel
    // rows, output row `r1` may end where input row `r` starts, and a layer that widens
    // its channels, placed for its last rows, has room for long runs early on. The
    // calls of `rows_view` always fit (the placement rule covers them), so each run
    // takes at least one row.
    let even = |n: usize| if n >= 2 { n & !1 } else { n };
    // One problem for every call, its row fields updated per call: the rest stays
    // as it is in memory, so an unrolled call stores three fields, not sixteen.
    let mut q = Conv2d { batch: 1, ..v };
    // Last to first (`up`): the rows `r0..r1` whose output starts at or after input
    // row `r1` ends (pixel rows: `hi(r1 − 1) = r1`). One loop for both directions,
    // `r` the next call's first row (first to last) or its end (last to first).
    let up = !below_input;
    if up && above().is_none_or(|a| (y_at as isize) < x_at as isize + a) {
        return;
    }
    let mut r = if up { v.out_h } else { 0 };
    while if up { r > 0 } else { r < v.out_h } {
        let (r0, r1) = if up {
            let r0 = if per_call == 1 {
                r - 1
            } else {
                let gap = (x_at + r * in_row).saturating_sub(y_at);
                let need = if out_row == 0 { 0 } else { gap.div_ceil(out_row) };
                r - even(r.saturating_sub(need))
            };
            (r0, r)
        } else {
            let r1 = if per_call == 1 {
                r + 1
            } else {
                // (No output row at all, `out_row == 0`, leaves room for every row.)
                let room = (x_at + r * in_row).saturating_sub(y_at).checked_div(out_row).unwrap_or(usize::MAX);
                let n = even(room.saturating_sub(r));
                if r + n < v.out_h {
                    r + n
                } else {
                    v.out_h
                }
            };
            (r, r1)
        };
        if r1 <= r0 {
            return;
        }
        let (in_h, out_h, pad_top) = rows_fields(&v, r0, r1);
        (q.in_h, q.out_h, q.pad_top) = (in_h, out_h, pad_top);
        let (lo, _) = window_rows(&v, r0);
        let (x_lo, y_lo) = (x_at + lo * in_row, y_at + r0 * out_row);
        let (x_len, y_len) = (q.in_h * in_row, (r1 - r0) * out_row);
        // Cut where the upper piece starts: the output going up, the input going down.
        let Some((low, high)) = buf.split_at_mut_checked(if up { y_lo } else { x_lo }) else { return };
        let pieces = if up {
            (low.get(x_lo..x_lo + x_len), high.get_mut(..y_len))
        } else {
            (high.get(..x_len), low.get_mut(y_lo..y_lo + y_len))
        };
        let (Some(x), Some(y)) = pieces else { return };
        kernel(&q, x, y);
        r = if up { r0 } else { r1 };
    }
}

/// Runs an element-wise kernel over `buf[..n]` in place: for each chunk, `kernel(start,
/// x, y)` gets a stack copy `x` of the chunk's elements and writes their place `y`
/// (`start` is the chunk's first element, for operands read beside it).
#[inline(always)]
pub fn elementwise<T: Pod + Default>(buf: &mut [T], n: usize, mut kernel: impl FnMut(usize, &[T], &mut [T])) {
    let Some(buf) = buf.get_mut(..n) else { return };
    let mut copy = [T::default(); CHUNK];
    for (k, y) in buf.chunks_mut(CHUNK).enumerate() {
        let Some(x) = copy.get_mut(..y.len()) else { return };
        for (c, &v) in x.iter_mut().zip(y.iter()) {
            *c = v;
        }
        kernel(k * CHUNK, x, y);
    }
}
