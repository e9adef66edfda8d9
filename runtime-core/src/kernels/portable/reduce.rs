use crate::kernels::Axis;
use crate::math;

fn fits(p: &Axis, x: &[f32], y: &[f32]) -> bool {
    let n = p.outer * p.len * p.inner;
    p.len > 0 && p.inner > 0 && x.len() >= n && y.len() >= n
}

/// Softmax along the middle axis of `outer × len × inner`.
pub fn softmax_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    softmax_impl(p, x, y, false)
}

/// Log-softmax along the middle axis of `outer × len × inner`.
pub fn log_softmax_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    softmax_impl(p, x, y, true)
}

fn softmax_impl(p: &Axis, x: &[f32], y: &mut [f32], log: bool) {
    if !fits(p, x, y) {
        return;
    }
    let block = p.len * p.inner;
    for (xb, yb) in x.chunks_exact(block).zip(y.chunks_exact_mut(block)).take(p.outer) {
        for i in 0..p.inner {
            let mut max = f32::NEG_INFINITY;
            for &v in xb.iter().skip(i).step_by(p.inner) {
                if v > max {
                    max = v;
                }
            }
            let mut sum = 0.0f32;
            for (o, &v) in yb.iter_mut().skip(i).step_by(p.inner).zip(xb.iter().skip(i).step_by(p.inner)) {
                let e = math::exp(v - max);
                *o = e;
                sum += e;
            }
            if log {
                let ls = math::ln(sum);
                for (o, &v) in yb.iter_mut().skip(i).step_by(p.inner).zip(xb.iter().skip(i).step_by(p.inner)) {
                    *o = v - max - ls;
                }
            } else {
                let inv = 1.0 / sum;
                for o in yb.iter_mut().skip(i).step_by(p.inner) {
                    *o *= inv;
                }
            }
        }
    }
}

/// Per-channel affine map `y = x · scale[c] + shift[c]` over `outer × len × inner`
/// with channels on the middle axis (inference BatchNormalization).
pub fn channel_affine_f32(p: &Axis, scale: &[f32], shift: &[f32], x: &[f32], y: &mut [f32]) {
    if !fits(p, x, y) || scale.len() < p.len || shift.len() < p.len {
        return;
    }
    let mut chunks = x.chunks_exact(p.inner).zip(y.chunks_exact_mut(p.inner));
    for _ in 0..p.outer {
        for (&s, &t) in scale.iter().zip(shift).take(p.len) {
            let Some((xr, yr)) = chunks.next() else {
                return;
            };
            for (o, &v) in yr.iter_mut().zip(xr) {
                *o = v * s + t;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_along_inner_strided_axis() {
        // shape [1, 3, 2], softmax over axis 1.
        let x = [1.0f32, 0.0, 2.0, 0.0, 3.0, 0.0];
        let mut y = [0.0f32; 6];
        softmax_f32(&Axis { outer: 1, len: 3, inner: 2 }, &x, &mut y);
        let d: f32 = 1f32.exp() + 2f32.exp() + 3f32.exp();
        assert!((y[4] - 3f32.exp() / d).abs() < 1e-6);
        assert!((y[1] - 1.0 / 3.0).abs() < 1e-6);
        log_softmax_f32(&Axis { outer: 1, len: 3, inner: 2 }, &x, &mut y);
        assert!((y[0] - (1.0 - d.ln())).abs() < 1e-6);
    }

    #[test]
    fn channel_affine() {
        let x = [1.0f32, 2.0, 3.0, 4.0];
        let mut y = [0.0f32; 4];
        channel_affine_f32(&Axis { outer: 1, len: 2, inner: 2 }, &[2.0, 3.0], &[1.0, -1.0], &x, &mut y);
        assert_eq!(y, [3.0, 5.0, 8.0, 11.0]);
    }
}
