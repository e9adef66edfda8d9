//! Row-streamed execution of a fused producer → consumer pair, without `unsafe` and
//! without ever holding the producer's whole output.
//!
//! A producer `P` (a convolution, any implementation) whose only reader is a
//! consumer `C` (a convolution whose input is `P`'s output) runs as one group: `C`
//! computes its output one row at a time, and the rows of `P`'s output that row's
//! window reads are kept in a small sliding `window` buffer (at most
//! [`stream_window_len`] elements: `C`'s window height of `P`'s rows). Moving to the
//! next row of `C`, the rows the new window still shares with the old one slide to
//! the window's start ([`stream_copy_len`] elements over a whole run:
//! the cost of computing nothing twice) and only the new rows of `P` are computed, by
//! one call of `P`'s ordinary kernel on a band problem (the `rows_problem` of
//! `kernels::inplace`: its input rows and the top padding left above them). `P`'s
//! output tensor is never materialised.
//!
//! Three entries say where `C`'s rows go:
//! - [`stream_rows`]: straight into `C`'s output tensor.
//! - [`stream_rows_into`]: into a one-row buffer, then an element-wise epilogue (the
//!   residual Add) writes over the same row of a separate operand (the skip tensor,
//!   which has `C`'s output shape).
//! - [`stream_rows_over_input`]: the same with `P`'s own input as the skip operand
//!   (a residual block whose shortcut is the identity): row `r`'s result is written
//!   over the input's row `r` only where no later band of `P` reads it, which
//!   [`stream_over_input_applies`] proves for the whole geometry and the entry checks
//!   again before each write.
//!
//! The compiler's planner fuses a pair only through these entries, and the kernel
//! suite checks each against the unfused result for every implementation.

use crate::kernels::inplace::{conv_rows_applies, rows_problem, window_rows};
use crate::kernels::Conv2d;
use crate::Pod;

/// True when a producer `p` and a consumer `c` can stream: both run one batch on a
/// valid geometry with rows, and `c`'s input is `p`'s output.
pub const fn stream_applies(p: &Conv2d, c: &Conv2d) -> bool {
    conv_rows_applies(p) && conv_rows_applies(c) && c.in_h == p.out_h && c.in_w == p.out_w && c.in_c == p.out_c
}

/// Elements of one row of `p`'s output.
const fn p_row(p: &Conv2d) -> usize {
    p.out_w * p.out_c
}

/// Elements of one row of `c`'s output.
const fn c_row(c: &Conv2d) -> usize {
    c.out_w * c.out_c
}

/// The sliding window's length in elements: the most rows of `p`'s output one row
/// of `c` reads, times a row. 0 when the pair cannot stream.
pub const fn stream_window_len(p: &Conv2d, c: &Conv2d) -> usize {
    if !stream_applies(p, c) {
        return 0;
    }
    let mut most = 0;
    let mut r = 0;
    while r < c.out_h {
        let (lo, hi) = window_rows(c, r);
        if hi - lo > most {
            most = hi - lo;
        }
        r += 1;
    }
    most * p_row(p)
}

/// Elements the window slides (copies) over one run of the pair: the rows each row
/// of `c` keeps from the previous one, when they do not already start the window. 0
/// when the pair cannot stream.
pub const fn stream_copy_len(p: &Conv2d, c: &Conv2d) -> usize {
    if !stream_applies(p, c) {
        return 0;
    }
    // The same walk as `run`: the window holds rows `wlo..whi`.
    let (mut copied, mut wlo, mut whi) = (0, 0, 0);
    let mut r = 0;
    while r < c.out_h {
        let (lo, hi) = window_rows(c, r);
        if lo >= whi {
            (wlo, whi) = (lo, lo);
        } else if lo > wlo {
            copied += (whi - lo) * p_row(p);
            wlo = lo;
        }
        if hi > whi {
            whi = hi;
        }
        r += 1;
    }
    copied
}

/// The first row of `p`'s input any band of `p` after `c`'s row `r` reads (`p.in_h`
/// when none follows): after row `r` the window ends at `c`'s window end `hi(r)`, the
/// next band starts there or later, and a band's first input row never moves back.
const fn next_input_row(p: &Conv2d, c: &Conv2d, r: usize) -> usize {
    let (_, hi) = window_rows(c, r);
    if hi < p.out_h {
        window_rows(p, hi).0
    } else {
        p.in_h
    }
}

/// True when [`stream_rows_over_input`] can write every row of the result over the
/// producer's input: the pair streams, `c`'s output has `p`'s input shape, and row `r`
/// of it ends at or before the first input row any later band of `p` reads.
pub const fn stream_over_input_applies(p: &Conv2d, c: &Conv2d) -> bool {
    if !stream_applies(p, c) || c.out_h != p.in_h || c.out_w != p.in_w || c.out_c != p.in_c {
        return false;
    }
    let x_row = p.in_w * p.in_c;
    let mut r = 0;
    while r < c.out_h {
        if (r + 1) * c_row(c) > next_input_row(p, c, r) * x_row {
            return false;
        }
        r += 1;
    }
    true
}

/// Moves `w[by..]` to the start of `w` (the ranges may overlap): a forward copy in
/// pieces of `by` elements, each piece's source and destination disjoint halves of
/// one `split_at_mut` (`copy_within` keeps a panic path unless inlined).
#[inline(always)]
fn slide<T: Copy>(w: &mut [T], by: usize) {
    if by == 0 {
        return;
    }
    let mut at = 0;
    while let Some((dst, src)) = w.get_mut(at..).and_then(|rest| rest.split_at_mut_checked(by)) {
        if src.is_empty() {
            return;
        }
        for (d, s) in dst.iter_mut().zip(src.iter()) {
            *d = *s;
        }
        at += by;
    }
}

/// The loop all entries share: for each row `r` of `c`, slides the window, computes
/// the missing rows of `p` with `produce(q, x_rows, out_rows)`, then calls
/// `consume(q, window_rows, r, x)` with `c`'s one-row problem. Returns false when a
/// slice did not fit (nothing further is computed).
#[inline(always)]
fn run<T: Pod, X: AsRef<[T]> + ?Sized>(
    p: &Conv2d,
    c: &Conv2d,
    x: &mut X,
    window: &mut [T],
    mut produce: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut consume: impl FnMut(&Conv2d, &[T], usize, &mut X) -> bool,
) -> bool {
    if !stream_applies(p, c) || x.as_ref().len() < p.input_len() || window.len() < stream_window_len(p, c) {
        return false;
    }
    let (prow, xrow) = (p_row(p), p.in_w * p.in_c);
    // The window holds rows `wlo..whi` of `p`'s output from its start.
    let (mut wlo, mut whi) = (0, 0);
    let mut r = 0;
    while r < c.out_h {
        let (lo, hi) = window_rows(c, r);
        if lo >= whi {
            (wlo, whi) = (lo, lo);
        } else if lo > wlo {
            let Some(kept) = window.get_mut(..(whi - wlo) * prow) else { return false };
            slide(kept, (lo - wlo) * prow);
            wlo = lo;
        }
        if hi > whi {
            let q = rows_problem(p, whi, hi);
            let (x_lo, _) = window_rows(p, whi);
            let (Some(xs), Some(ys)) = (
                x.as_ref().get(x_lo * xrow..(x_lo + q.in_h) * xrow),
                window.get_mut((whi - wlo) * prow..(hi - wlo) * prow),
            ) else {
                return false;
            };
            produce(&q, xs, ys);
            whi = hi;
        }
        let Some(w) = window.get((lo - wlo) * prow..(hi - wlo) * prow) else { return false };
        if !consume(&rows_problem(c, r, r + 1), w, r, x) {
            return false;
        }
        r += 1;
    }
    true
}

/// Runs producer `p` on input `x` fused into consumer `c`, `c`'s output written to
/// `y`: `produce(q, x, out)` computes a band of `p`'s rows (problem `q`), `consume(q,
/// rows, out)` one row of `c` from the window's rows. `window` needs
/// [`stream_window_len`] elements. Does nothing when the pair cannot stream or a
/// buffer is too short.
#[inline(always)]
pub fn stream_rows<T: Pod>(
    p: &Conv2d,
    c: &Conv2d,
    x: &[T],
    window: &mut [T],
    y: &mut [T],
    produce: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut consume: impl FnMut(&Conv2d, &[T], &mut [T]),
) {
    let n = c_row(c);
    if y.len() < c.output_len() {
        return;
    }
    let mut x = x;
    run(p, c, &mut x, window, produce, |q, w, r, _| {
        let Some(out) = y.get_mut(r * n..(r + 1) * n) else { return false };
        consume(q, w, out);
        true
    });
}

/// [`stream_rows`] with an element-wise epilogue over a separate operand: each row
/// of `c` is computed into `row` (at least one row of `c`'s output), then
/// `epilogue(row, skip_row)` writes the group's result over the same row of `skip`
/// (`c`'s output shape), e.g. a residual Add through `inplace::elementwise`.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the pair's geometry, three buffers and three kernels")]
pub fn stream_rows_into<T: Pod>(
    p: &Conv2d,
    c: &Conv2d,
    x: &[T],
    window: &mut [T],
    row: &mut [T],
    skip: &mut [T],
    produce: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut consume: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut epilogue: impl FnMut(&[T], &mut [T]),
) {
    let n = c_row(c);
    let Some(row) = row.get_mut(..n) else { return };
    if skip.len() < c.output_len() {
        return;
    }
    let mut x = x;
    run(p, c, &mut x, window, produce, |q, w, r, _| {
        consume(q, w, row);
        let Some(s) = skip.get_mut(r * n..(r + 1) * n) else { return false };
        epilogue(row, s);
        true
    });
}

/// [`stream_rows_into`] with `p`'s input `x` as the skip operand: row `r` of the
/// result is written over `x`'s row `r` (the group's result takes `x`'s place). Each
/// write is checked to end at or before the first element of `x` any later band of
/// `p` reads ([`stream_over_input_applies`] proves it for every row at compile time);
/// a write that would not is not made and the run stops.
#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "the pair's geometry, two buffers and three kernels")]
pub fn stream_rows_over_input<T: Pod>(
    p: &Conv2d,
    c: &Conv2d,
    x: &mut [T],
    window: &mut [T],
    row: &mut [T],
    produce: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut consume: impl FnMut(&Conv2d, &[T], &mut [T]),
    mut epilogue: impl FnMut(&[T], &mut [T]),
) {
    let n = c_row(c);
    let Some(row) = row.get_mut(..n) else { return };
    if c.out_h != p.in_h || n != p.in_w * p.in_c {
        return;
    }
    let x_row = p.in_w * p.in_c;
    run(p, c, x, window, produce, |q, w, r, x: &mut [T]| {
        consume(q, w, row);
        if (r + 1) * n > next_input_row(p, c, r) * x_row {
            return false;
        }
        let Some(s) = x.get_mut(r * n..(r + 1) * n) else { return false };
        epilogue(row, s);
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×3 convolution, stride 1, padded to keep `h×w`, `cin` to `cout` channels.
    fn same3(h: usize, w: usize, cin: usize, cout: usize) -> Conv2d {
        Conv2d {
            batch: 1,
            in_c: cin,
            in_h: h,
            in_w: w,
            out_c: cout,
            out_h: h,
            out_w: w,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 1,
            pad_left: 1,
            groups: 1,
        }
    }

    #[test]
    fn resnet8_first_block_streams_over_its_input_with_a_three_row_window() {
        let (p, c) = (same3(32, 32, 16, 16), same3(32, 32, 16, 16));
        assert!(stream_applies(&p, &c));
        assert_eq!(stream_window_len(&p, &c), 3 * 32 * 16);
        // Rows 2..32 of the consumer each keep two rows that do not start the window.
        assert_eq!(stream_copy_len(&p, &c), 30 * 2 * 32 * 16);
        assert!(stream_over_input_applies(&p, &c));
    }

    #[test]
    fn a_consumer_ahead_of_the_producer_cannot_write_over_its_input() {
        // A 1×1 consumer's row r is written when the producer's next band (row r + 1)
        // still reads input row r.
        let p = same3(8, 8, 4, 4);
        let c = Conv2d { k_h: 1, k_w: 1, pad_top: 0, pad_left: 0, ..same3(8, 8, 4, 4) };
        assert!(stream_applies(&p, &c));
        assert!(!stream_over_input_applies(&p, &c));
        let mismatched = Conv2d { in_c: 5, ..c };
        assert!(!stream_applies(&p, &mismatched));
        assert_eq!(stream_window_len(&p, &mismatched), 0);
    }

    #[test]
    fn streaming_matches_the_unfused_pair_and_refuses_an_unsafe_write() {
        // A 3×3 box sum (weights all one) twice, the second added over the input.
        let box3 = |q: &Conv2d, x: &[i32], y: &mut [i32]| {
            for r in 0..q.out_h {
                for col in 0..q.out_w {
                    let mut s = 0;
                    for dy in 0..3 {
                        for dx in 0..3 {
                            let (iy, ix) =
                                ((r + dy) as isize - q.pad_top as isize, (col + dx) as isize - q.pad_left as isize);
                            if iy >= 0 && ix >= 0 && (iy as usize) < q.in_h && (ix as usize) < q.in_w {
                                s += x[iy as usize * q.in_w + ix as usize];
                            }
                        }
                    }
                    y[r * q.out_w + col] = s;
                }
            }
        };
        let p = same3(6, 5, 1, 1);
        let mut x = [0i32; 30];
        x.iter_mut().enumerate().for_each(|(i, v)| *v = (i as i32) * 7 % 11);
        let (mut mid, mut want) = ([0; 30], [0; 30]);
        box3(&p, &x, &mut mid);
        box3(&p, &mid, &mut want);
        want.iter_mut().zip(&x).for_each(|(a, b)| *a += b);
        assert_eq!(stream_window_len(&p, &p), 15);
        let (mut got, mut window, mut row) = (x, [0; 15], [0; 5]);
        let add = |r: &[i32], s: &mut [i32]| s.iter_mut().zip(r).for_each(|(s, r)| *s += r);
        stream_rows_over_input(&p, &p, &mut got, &mut window, &mut row, box3, box3, add);
        assert_eq!(got, want);

        // A 1×1 consumer would overwrite input rows still read: nothing is written.
        let c = Conv2d { k_h: 1, k_w: 1, pad_top: 0, pad_left: 0, ..p };
        let mut got = x;
        let copy = |_: &Conv2d, x: &[i32], y: &mut [i32]| y.copy_from_slice(&x[..y.len()]);
        stream_rows_over_input(&p, &c, &mut got, &mut window, &mut row, box3, copy, add);
        assert_eq!(got, x);
    }
}
