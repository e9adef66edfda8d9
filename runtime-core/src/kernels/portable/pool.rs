use super::{strided_zip, tap_range};
use crate::kernels::Pool2d;
use crate::quant::Q8;

pub(crate) fn check<X, Y>(p: &Pool2d, x: &[X], y: &[Y]) -> bool {
    p.stride_h > 0
        && p.stride_w > 0
        && p.dil_h > 0
        && p.dil_w > 0
        && x.len() >= p.planes * p.in_h * p.in_w
        && y.len() >= p.planes * p.out_h * p.out_w
}

/// Max pooling; padding never wins (it is −∞).
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
    let (pin, pout) = (p.in_h * p.in_w, p.out_h * p.out_w);
    for c in 0..p.planes {
        let (Some(xp), Some(yp)) = (x.get(c * pin..(c + 1) * pin), y.get_mut(c * pout..(c + 1) * pout)) else {
            return;
        };
        yp.iter_mut().for_each(|v| *v = lowest);
        for kh in 0..p.k_h {
            let (oh_lo, oh_hi) = tap_range(kh * p.dil_h, p.pad_top, p.stride_h, p.in_h, p.out_h);
            for kw in 0..p.k_w {
                let (ow_lo, ow_hi) = tap_range(kw * p.dil_w, p.pad_left, p.stride_w, p.in_w, p.out_w);
                if ow_lo >= ow_hi {
                    // No output sees this tap; its first column would lie left of the input.
                    continue;
                }
                for oh in oh_lo..oh_hi {
                    let ih = oh * p.stride_h + kh * p.dil_h - p.pad_top;
                    let iw0 = ow_lo * p.stride_w + kw * p.dil_w - p.pad_left;
                    let Some(yrow) = yp.get_mut(oh * p.out_w + ow_lo..oh * p.out_w + ow_hi) else {
                        return;
                    };
                    let xrow = xp.get(ih * p.in_w + iw0..).unwrap_or(&[]);
                    strided_zip(yrow, xrow, p.stride_w, |v, xv| {
                        // `!(xv <= v)` also lets NaN through, as ONNX max does.
                        #[allow(clippy::neg_cmp_op_on_partial_ord)]
                        if !(xv <= *v) {
                            *v = xv;
                        }
                    });
                }
            }
        }
    }
}

/// Average pooling. The divisor counts the window's real elements, or with
/// `count_include_pad` also its padding (but never positions past the padding).
pub fn avg_pool2d_f32(p: &Pool2d, x: &[f32], y: &mut [f32]) {
    if !check(p, x, y) {
        return;
    }
    let (pin, pout) = (p.in_h * p.in_w, p.out_h * p.out_w);
    for c in 0..p.planes {
        let (Some(xp), Some(yp)) = (x.get(c * pin..(c + 1) * pin), y.get_mut(c * pout..(c + 1) * pout)) else {
            return;
        };
        for (i, v) in yp.iter_mut().enumerate() {
            let mut sum = 0.0f32;
            let count = average_window(p, i / p.out_w.max(1), i % p.out_w.max(1), |idx| {
                sum += xp.get(idx).copied().unwrap_or(0.0);
            });
            *v = if count == 0 { 0.0 } else { sum / count as f32 };
        }
    }
}

/// Visits the input elements of the averaging window of output `(oh, ow)` (their
/// index within the plane) and returns the divisor: the number of real elements, or
/// with `count_include_pad` also the padding (but never positions past the padding).
/// Float and integer average pooling share it, so their counting cannot drift.
#[inline(always)]
pub(crate) fn average_window(p: &Pool2d, oh: usize, ow: usize, mut visit: impl FnMut(usize)) -> usize {
    let (mut real, mut padded) = (0, 0);
    for kh in 0..p.k_h {
        let ih = (oh * p.stride_h + kh * p.dil_h) as isize - p.pad_top as isize;
        if ih >= (p.in_h + p.pad_bottom) as isize {
            continue;
        }
        for kw in 0..p.k_w {
            let iw = (ow * p.stride_w + kw * p.dil_w) as isize - p.pad_left as isize;
            if iw >= (p.in_w + p.pad_right) as isize {
                continue;
            }
            padded += 1;
            if ih >= 0 && iw >= 0 && (ih as usize) < p.in_h && (iw as usize) < p.in_w {
                visit(ih as usize * p.in_w + iw as usize);
                real += 1;
            }
        }
    }
    if p.count_include_pad {
        padded
    } else {
        real
    }
}

/// Mean over each of `planes` contiguous planes of `spatial` elements.
pub fn global_avg_pool_f32(planes: usize, spatial: usize, x: &[f32], y: &mut [f32]) {
    if spatial == 0 {
        return;
    }
    let inv = 1.0 / spatial as f32;
    for (c, v) in y.iter_mut().enumerate().take(planes) {
        if let Some(xp) = x.get(c * spatial..(c + 1) * spatial) {
            *v = xp.iter().sum::<f32>() * inv;
        }
    }
}

/// Maximum over each of `planes` contiguous planes of `spatial` elements.
pub fn global_max_pool_f32(planes: usize, spatial: usize, x: &[f32], y: &mut [f32]) {
    for (c, v) in y.iter_mut().enumerate().take(planes) {
        if let Some(xp) = x.get(c * spatial..(c + 1) * spatial) {
            *v = xp.iter().fold(f32::NEG_INFINITY, |m, &e| if e > m || e.is_nan() { e } else { m });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_with_padding() {
        // 1 plane 3x3, 2x2 window, stride 1, pad 1 each side → 4x4.
        let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
        let p = Pool2d {
            planes: 1,
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
            count_include_pad: false,
        };
        let mut y = [0.0f32; 16];
        max_pool2d_f32(&p, &x, &mut y);
        assert_eq!(y, [1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, 6.0, 7.0, 8.0, 9.0, 9.0, 7.0, 8.0, 9.0, 9.0]);
        avg_pool2d_f32(&p, &x, &mut y);
        assert_eq!(y[0], 1.0);
        assert_eq!(y[5], 3.0);
        let p = Pool2d { count_include_pad: true, ..p };
        avg_pool2d_f32(&p, &x, &mut y);
        assert_eq!(y[0], 0.25);
        assert_eq!(y[5], 3.0);
    }

    #[test]
    fn a_tap_that_no_output_sees_is_skipped() {
        // Regression (found by the kernel suite): 2x1 plane, 1x3 window, two padding
        // columns on the left. The first tap column lies left of the input for the only
        // output column; its start index used to wrap and overflowed in debug builds.
        let p = Pool2d {
            planes: 1,
            in_h: 2,
            in_w: 1,
            out_h: 2,
            out_w: 1,
            k_h: 1,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 0,
            pad_left: 2,
            pad_bottom: 0,
            pad_right: 0,
            count_include_pad: false,
        };
        let mut y = [0.0f32; 2];
        max_pool2d_f32(&p, &[3.0, -5.0], &mut y);
        assert_eq!(y, [3.0, -5.0]);
        let mut q = [0i8; 2];
        max_pool2d_q8(&p, &[3i8, -5], &mut q);
        assert_eq!(q, [3, -5]);
    }

    #[test]
    fn global_pools() {
        let x = [1.0f32, 2.0, 3.0, 4.0, -1.0, -2.0];
        let mut y = [0.0f32; 2];
        global_avg_pool_f32(2, 3, &x, &mut y);
        assert_eq!(y, [2.0, 1.0 / 3.0]);
        global_max_pool_f32(2, 3, &x, &mut y);
        assert_eq!(y, [3.0, 4.0]);
    }
}
