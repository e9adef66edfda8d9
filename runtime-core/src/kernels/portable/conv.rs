use super::{strided_zip, tap_range};
use crate::kernels::{Clamp, Conv2d};

/// Float 2-D convolution, NCHW input, OIHW weights, optional bias (empty slice for
/// none), fused output clamp.
pub fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    if !p.is_valid()
        || x.len() < p.input_len()
        || w.len() < p.weight_len()
        || y.len() < p.output_len()
        || !(bias.is_empty() || bias.len() >= p.out_c)
    {
        return;
    }
    let cin_g = p.in_c / p.groups;
    let cout_g = p.out_c / p.groups;
    let plane_in = p.in_h * p.in_w;
    let plane_out = p.out_h * p.out_w;
    let taps = p.k_h * p.k_w;
    let Some(cout_g) = core::num::NonZeroUsize::new(cout_g) else {
        return;
    };
    for n in 0..p.batch {
        for oc in 0..p.out_c {
            let g = oc / cout_g;
            let Some(yp) = y.get_mut((n * p.out_c + oc) * plane_out..(n * p.out_c + oc + 1) * plane_out) else {
                return;
            };
            let b = bias.get(oc).copied().unwrap_or(0.0);
            yp.iter_mut().for_each(|v| *v = b);
            for icg in 0..cin_g {
                let ic = g * cin_g + icg;
                let Some(xp) = x.get((n * p.in_c + ic) * plane_in..(n * p.in_c + ic + 1) * plane_in) else {
                    return;
                };
                let Some(wk) = w.get((oc * cin_g + icg) * taps..(oc * cin_g + icg + 1) * taps) else {
                    return;
                };
                accumulate_plane(p, xp, wk, yp, |y, x, w| *y += w * x);
            }
            if act != Clamp::NONE {
                yp.iter_mut().for_each(|v| *v = act.apply(*v));
            }
        }
    }
}

/// Adds one input plane convolved with one kernel into one plane of accumulators:
/// `mac(acc, x, w)` for every tap that lands inside the input (padding contributes
/// nothing). The float and the integer convolutions share this loop.
#[inline(always)]
pub(crate) fn accumulate_plane<X: Copy, W: Copy, A>(
    p: &Conv2d,
    xp: &[X],
    wk: &[W],
    ap: &mut [A],
    mac: impl Fn(&mut A, X, W),
) {
    if p.is_pointwise() {
        // The planes line up: one long loop instead of a short one per row.
        let Some(&wv) = wk.first() else { return };
        for (a, &xv) in ap.iter_mut().zip(xp) {
            mac(a, xv, wv);
        }
        return;
    }
    for kh in 0..p.k_h {
        let (oh_lo, oh_hi) = tap_range(kh * p.dil_h, p.pad_top, p.stride_h, p.in_h, p.out_h);
        for kw in 0..p.k_w {
            let Some(&wv) = wk.get(kh * p.k_w + kw) else {
                return;
            };
            let (ow_lo, ow_hi) = tap_range(kw * p.dil_w, p.pad_left, p.stride_w, p.in_w, p.out_w);
            if ow_lo >= ow_hi {
                continue;
            }
            let cols = ow_hi - ow_lo;
            for oh in oh_lo..oh_hi {
                let ih = oh * p.stride_h + kh * p.dil_h - p.pad_top;
                let iw0 = ow_lo * p.stride_w + kw * p.dil_w - p.pad_left;
                let Some(arow) = ap.get_mut(oh * p.out_w + ow_lo..oh * p.out_w + ow_hi) else {
                    return;
                };
                let Some(xrow) = xp.get(ih * p.in_w + iw0..).and_then(|r| r.get(..(cols - 1) * p.stride_w + 1)) else {
                    return;
                };
                strided_zip(arow, xrow, p.stride_w, |a, xv| mac(a, xv, wv));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// Direct definition of convolution, for comparison.
    fn naive(p: &Conv2d, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; p.output_len()];
        let (cin_g, cout_g) = (p.in_c / p.groups, p.out_c / p.groups);
        for n in 0..p.batch {
            for oc in 0..p.out_c {
                for oh in 0..p.out_h {
                    for ow in 0..p.out_w {
                        let mut acc = b.get(oc).copied().unwrap_or(0.0);
                        for icg in 0..cin_g {
                            let ic = (oc / cout_g) * cin_g + icg;
                            for kh in 0..p.k_h {
                                for kw in 0..p.k_w {
                                    let ih = (oh * p.stride_h + kh * p.dil_h) as isize - p.pad_top as isize;
                                    let iw = (ow * p.stride_w + kw * p.dil_w) as isize - p.pad_left as isize;
                                    if ih < 0 || iw < 0 || ih >= p.in_h as isize || iw >= p.in_w as isize {
                                        continue;
                                    }
                                    let xi = ((n * p.in_c + ic) * p.in_h + ih as usize) * p.in_w + iw as usize;
                                    let wi = ((oc * cin_g + icg) * p.k_h + kh) * p.k_w + kw;
                                    acc += x[xi] * w[wi];
                                }
                            }
                        }
                        y[((n * p.out_c + oc) * p.out_h + oh) * p.out_w + ow] = acc;
                    }
                }
            }
        }
        y
    }

    fn pseudo(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1 << 24) as f32) - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_the_definition_over_strides_pads_dilations_groups() {
        let mut checked = 0;
        for &(groups, in_c, out_c) in &[(1, 3, 4), (2, 4, 6), (4, 4, 4)] {
            for &(k, s, d, pt, pl) in
                &[(3, 1, 1, 1, 1), (3, 2, 1, 0, 1), (2, 2, 2, 1, 0), (1, 1, 1, 0, 0), (5, 3, 1, 2, 2)]
            {
                let (in_h, in_w) = (7, 9);
                let (pb, pr) = (pt, pl + 1);
                let out_h = (in_h + pt + pb - (d * (k - 1) + 1)) / s + 1;
                let out_w = (in_w + pl + pr - (d * (k - 1) + 1)) / s + 1;
                let p = Conv2d {
                    batch: 2,
                    in_c,
                    in_h,
                    in_w,
                    out_c,
                    out_h,
                    out_w,
                    k_h: k,
                    k_w: k,
                    stride_h: s,
                    stride_w: s,
                    dil_h: d,
                    dil_w: d,
                    pad_top: pt,
                    pad_left: pl,
                    groups,
                };
                let x = pseudo(p.input_len(), 1);
                let w = pseudo(p.weight_len(), 2);
                let b = pseudo(out_c, 3);
                let mut y = vec![0.0; p.output_len()];
                conv2d_f32(&p, Clamp::NONE, &x, &w, &b, &mut y);
                let want = naive(&p, &x, &w, &b);
                for (i, (a, e)) in y.iter().zip(&want).enumerate() {
                    assert!((a - e).abs() < 1e-5, "{p:?} at {i}: {a} vs {e}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 15);
    }

    #[test]
    fn short_slices_make_it_a_no_op() {
        let p = crate::kernels::portable::test_geometry::single_3x3_padded();
        let mut y = [7.0f32; 9];
        conv2d_f32(&p, Clamp::RELU, &[1.0; 8], &[1.0; 9], &[], &mut y);
        assert_eq!(y, [7.0; 9]);
        conv2d_f32(&p, Clamp::RELU, &[1.0; 9], &[1.0; 9], &[], &mut y);
        assert_eq!(y[4], 9.0);
        assert_eq!(y[0], 4.0);
    }
}
