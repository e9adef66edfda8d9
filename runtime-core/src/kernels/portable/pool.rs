//! Pooling, channels-last (`N,H,W,C`; 1-D as `H = 1`): max and average over sliding
//! windows, float and 8-bit quantised, and reductions along one axis (global pooling
//! is a mean or maximum over the spatial axis of `N × (H·W) × C`).

use crate::kernels::{Axis, Pool2d};
use crate::quant::{round_div, round_shift, QOut, Q8};

fn check<X, Y>(p: &Pool2d, x: &[X], y: &[Y]) -> bool {
    p.stride_h > 0
        && p.stride_w > 0
        && p.dil_h > 0
        && p.dil_w > 0
        && p.channels > 0
        && x.len() >= p.input_len()
        && y.len() >= p.output_len()
}

/// The averaging divisor of a window with `real` elements inside the input and
/// `padded` inside the input or its padding.
#[inline(always)]
fn divisor(p: &Pool2d, real: usize, padded: usize) -> usize {
    if p.count_include_pad {
        padded
    } else {
        real
    }
}

/// Visits every output pixel: `start(state, yrow)`, then `tap(state, yrow, xrow)` for
/// the input row of channels of every tap inside the input, then
/// `end(state, yrow, real, padded)`, where `padded` counts the window's positions in
/// the input or its padding (never past it), as average pooling divides by.
#[inline(always)]
fn each_window<S: ?Sized, X: Copy, Y>(
    p: &Pool2d,
    x: &[X],
    y: &mut [Y],
    state: &mut S,
    start: impl Fn(&mut S, &mut [Y]),
    tap: impl Fn(&mut S, &mut [Y], &[X]),
    end: impl Fn(&mut S, &mut [Y], usize, usize),
) {
    let c = p.channels;
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                let at = ((n * p.out_h + oy) * p.out_w + ox) * c;
                let Some(yrow) = y.get_mut(at..at + c) else { return };
                start(state, yrow);
                let (mut real, mut padded) = (0, 0);
                for ky in 0..p.k_h {
                    let iy = (oy * p.stride_h + ky * p.dil_h) as isize - p.pad_top as isize;
                    if iy >= (p.in_h + p.pad_bottom) as isize {
                        continue;
                    }
                    for kx in 0..p.k_w {
                        let ix = (ox * p.stride_w + kx * p.dil_w) as isize - p.pad_left as isize;
                        if ix >= (p.in_w + p.pad_right) as isize {
                            continue;
                        }
                        padded += 1;
                        if iy < 0 || ix < 0 || iy >= p.in_h as isize || ix >= p.in_w as isize {
                            continue;
                        }
                        let at = ((n * p.in_h + iy as usize) * p.in_w + ix as usize) * c;
                        if let Some(xrow) = x.get(at..at + c) {
                            tap(state, yrow, xrow);
                            real += 1;
                        }
                    }
                }
                end(state, yrow, real, padded);
            }
        }
    }
}

/// Max pooling; padding never wins (it is −∞), NaN propagates as ONNX max does.
pub fn max_pool2d_f32(p: &Pool2d, x: &[f32], y: &mut [f32]) {
    max_pool(p, f32::NEG_INFINITY, x, y)
}

/// Max pooling of 8-bit quantised values (input and output share scale and zero
/// point; the maximum commutes with the affine map).
pub fn max_pool2d_q8<T: Q8 + PartialOrd>(p: &Pool2d, x: &[T], y: &mut [T]) {
    max_pool(p, T::from_i32(T::MIN), x, y)
}

#[inline(always)]
fn max_pool<T: Copy + PartialOrd>(p: &Pool2d, lowest: T, x: &[T], y: &mut [T]) {
    if !check(p, x, y) {
        return;
    }
    each_window(
        p,
        x,
        y,
        &mut (),
        |_, yrow| yrow.iter_mut().for_each(|v| *v = lowest),
        |_, yrow, xrow| {
            for (v, &xv) in yrow.iter_mut().zip(xrow) {
                // `!(xv <= v)` also lets NaN through.
                #[allow(clippy::neg_cmp_op_on_partial_ord)]
                if !(xv <= *v) {
                    *v = xv;
                }
            }
        },
        |_, _, _, _| {},
    );
}

/// Average pooling. The divisor counts the window's real elements, or with
/// `count_include_pad` also its padding (but never positions past the padding).
pub fn avg_pool2d_f32(p: &Pool2d, x: &[f32], y: &mut [f32]) {
    if !check(p, x, y) {
        return;
    }
    each_window(
        p,
        x,
        y,
        &mut (),
        |_, yrow| yrow.iter_mut().for_each(|v| *v = 0.0),
        |_, yrow, xrow| yrow.iter_mut().zip(xrow).for_each(|(v, &xv)| *v += xv),
        |_, yrow, real, padded| {
            let d = divisor(p, real, padded);
            let inv = if d == 0 { 0.0 } else { 1.0 / d as f32 };
            yrow.iter_mut().for_each(|v| *v = if d == 0 { 0.0 } else { *v * inv });
        },
    );
}

/// Quantised average pooling: `y = zp + round(Σ (x − x_zp) · M / count)` with
/// `M = mult · 2^-shift = sx / sy`; count follows `p.count_include_pad`. `acc` is
/// scratch for one output pixel (`channels` i32).
#[allow(clippy::too_many_arguments)]
pub fn avg_pool2d_q8<X: Q8, Y: Q8>(
    p: &Pool2d,
    x_zp: i32,
    out: &QOut,
    mult: i32,
    shift: u32,
    x: &[X],
    acc: &mut [i32],
    y: &mut [Y],
) {
    if !check(p, x, y) {
        return;
    }
    let Some(acc) = acc.get_mut(..p.channels) else { return };
    each_window(
        p,
        x,
        y,
        acc,
        |acc, _| acc.iter_mut().for_each(|a| *a = 0),
        |acc, _, xrow| acc.iter_mut().zip(xrow).for_each(|(a, &xv)| *a += xv.to_i32() - x_zp),
        |acc, yrow, real, padded| {
            let d = divisor(p, real, padded) as i64;
            for (o, &a) in yrow.iter_mut().zip(acc.iter()) {
                *o = Y::from_i32(average_q8(a, d, mult, shift, out));
            }
        },
    );
}

/// The output stage of quantised average pooling, shared by every implementation:
/// `sum` (of `x − x_zp` over the window) times `mult`, divided by the count `d` and
/// shifted right by `shift`, each rounded half away from zero, then offset and clamped.
#[inline(always)]
pub(crate) fn average_q8(sum: i32, d: i64, mult: i32, shift: u32, out: &QOut) -> i32 {
    let v = round_shift(round_div(sum as i64 * mult as i64, d), shift);
    out.finish(v.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
}

/// The elements along the reduced axis for one output element.
struct Along<'a, X> {
    x: &'a [X],
    at: usize,
    step: usize,
    left: usize,
}

impl<X: Copy> Iterator for Along<'_, X> {
    type Item = X;

    #[inline(always)]
    fn next(&mut self) -> Option<X> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let v = self.x.get(self.at).copied();
        self.at += self.step;
        v
    }
}

/// Runs `f(y, along)` for every output element of a reduction along the middle axis
/// of `outer × len × inner`, after checking the slices.
#[inline(always)]
fn reduce_axis<X: Copy, Y>(p: &Axis, x: &[X], y: &mut [Y], mut f: impl FnMut(&mut Y, Along<'_, X>)) {
    if p.len == 0 || p.inner == 0 || x.len() < p.outer * p.len * p.inner || y.len() < p.outer * p.inner {
        return;
    }
    for o in 0..p.outer {
        for i in 0..p.inner {
            let Some(v) = y.get_mut(o * p.inner + i) else { return };
            f(v, Along { x, at: o * p.len * p.inner + i, step: p.inner, left: p.len });
        }
    }
}

/// Mean along the middle axis of `outer × len × inner` (global average pooling is
/// `N × (H·W) × C`).
pub fn mean_axis_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    let inv = 1.0 / p.len.max(1) as f32;
    reduce_axis(p, x, y, |v, along| *v = along.sum::<f32>() * inv);
}

/// Maximum along the middle axis of `outer × len × inner` (NaN propagates).
pub fn max_axis_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    reduce_axis(p, x, y, |v, along| *v = along.fold(f32::NEG_INFINITY, |m, e| if e > m || e.is_nan() { e } else { m }));
}

/// Quantised mean along the middle axis of `outer × len × inner`:
/// `y = zp + round(Σ (x − x_zp) · M / len)`.
#[allow(clippy::too_many_arguments)]
pub fn mean_axis_q8<X: Q8, Y: Q8>(p: &Axis, x_zp: i32, out: &QOut, mult: i32, shift: u32, x: &[X], y: &mut [Y]) {
    let len = p.len as i64;
    reduce_axis(p, x, y, |v, along| {
        let sum: i64 = along.map(|e| (e.to_i32() - x_zp) as i64).sum();
        let r = round_shift(round_div(sum * mult as i64, len), shift);
        *v = Y::from_i32(out.finish(r.clamp(i32::MIN as i64, i32::MAX as i64) as i32));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(c: usize, count_include_pad: bool) -> Pool2d {
        // 3x3 input, 2x2 window, stride 1, pad 1 each side → 4x4.
        Pool2d {
            batch: 1,
            channels: c,
            in_h: 3,
            in_w: 3,
            out_h: 4,
            out_w: 4,
            k_h: 2,
            k_w: 2,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 1,
            pad_left: 1,
            pad_bottom: 1,
            pad_right: 1,
            count_include_pad,
        }
    }

    #[test]
    fn pools_with_padding() {
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let p = window(1, false);
        let mut y = [0.0f32; 16];
        max_pool2d_f32(&p, &x, &mut y);
        assert_eq!(y, [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0, 9.0, 9.0, 7.0, 8.0, 9.0, 9.0]);
        avg_pool2d_f32(&p, &x, &mut y);
        assert_eq!(y[0], 1.0);
        assert_eq!(y[5], 3.0);
        avg_pool2d_f32(&window(1, true), &x, &mut y);
        assert_eq!(y[0], 0.25);
        assert_eq!(y[5], 3.0);
    }

    #[test]
    fn channels_pool_independently() {
        // Two interleaved channels: the second is the first negated.
        let x: [f32; 18] =
            core::array::from_fn(|i| if i % 2 == 0 { (i / 2 + 1) as f32 } else { -((i / 2 + 1) as f32) });
        let mut y = [0.0f32; 32];
        max_pool2d_f32(&window(2, false), &x, &mut y);
        assert_eq!((y[0], y[1]), (1.0, -1.0));
        assert_eq!((y[10], y[11]), (5.0, -1.0));
        let xq: [i8; 18] = core::array::from_fn(|i| x[i] as i8);
        let mut yq = [0i8; 32];
        let mut acc = [0i32; 2];
        let out = QOut { zp: 0, min: -128, max: 127 };
        avg_pool2d_q8(&window(2, false), 0, &out, 1 << 30, 30, &xq, &mut acc, &mut yq);
        assert_eq!((yq[10], yq[11]), (3, -3));
    }

    #[test]
    fn axis_reductions() {
        let x = [1.0f32, 2.0, 3.0, 4.0, -1.0, -2.0];
        let mut y = [0.0f32; 2];
        // 1 × 3 × 2: the mean of each of two channels over three positions.
        mean_axis_f32(&Axis { outer: 1, len: 3, inner: 2 }, &x, &mut y);
        assert_eq!(y, [1.0, 4.0 / 3.0]);
        max_axis_f32(&Axis { outer: 2, len: 3, inner: 1 }, &x, &mut y);
        assert_eq!(y, [3.0, 4.0]);
        let xq = [10i8, 20, 30, -5, 0, 5];
        let mut yq = [0i8; 2];
        mean_axis_q8(
            &Axis { outer: 2, len: 3, inner: 1 },
            0,
            &QOut { zp: 1, min: -128, max: 127 },
            1 << 30,
            30,
            &xq,
            &mut yq,
        );
        assert_eq!(yq, [21, 1]);
    }
}
