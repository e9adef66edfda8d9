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
    let (len, inner) = (p.len, p.inner);
    for o in 0..p.outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let mut max = f32::NEG_INFINITY;
            for j in 0..len {
                let v = x.get(at(j)).copied().unwrap_or(0.0);
                if v > max {
                    max = v;
                }
            }
            let mut sum = 0.0f32;
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    let e = math::exp(v - max);
                    *out = e;
                    sum += e;
                }
            }
            let (ls, inv) = (math::ln(sum), 1.0 / sum);
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    *out = if log { v - max - ls } else { *out * inv };
                }
            }
        }
    }
}

/// Per-channel affine map `y = x · scale[c] + shift[c]` over `outer × len × inner`
/// with channels on the middle axis (inference BatchNormalization).
pub fn channel_affine_f32(p: &Axis, scale: &[f32], shift: &[f32], x: &[f32], y: &mut [f32]) {
    if scale.len() < p.len || shift.len() < p.len {
        return;
    }
    per_channel(p, x, y, |c, v| v * scale.get(c).copied().unwrap_or(0.0) + shift.get(c).copied().unwrap_or(0.0));
}

/// `y = f(channel, x)` over `outer × len × inner` with the channel on the middle axis:
/// the loop of every per-channel elementwise kernel (affine maps, quantisation).
#[inline(always)]
pub(crate) fn per_channel<X: Copy, Y>(p: &Axis, x: &[X], y: &mut [Y], f: impl Fn(usize, X) -> Y) {
    let inner = p.inner;
    for o in 0..p.outer {
        for c in 0..p.len {
            let s = (o * p.len + c) * inner;
            let (Some(xr), Some(yr)) = (x.get(s..s + inner), y.get_mut(s..s + inner)) else {
                return;
            };
            for (out, &v) in yr.iter_mut().zip(xr) {
                *out = f(c, v);
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
