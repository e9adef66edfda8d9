//! Convolutions, channels-last: activations `N,H,W,C` (1-D as `H = 1`), weights
//! `O,kH,kW,I/groups`, optional bias (an empty slice for none). Depthwise
//! convolutions (one filter per channel) read their weights as `kH,kW,C`, the order
//! their inner loop walks.
//!
//! Every output pixel is one pass over the window: for each tap inside the input, one
//! contiguous input row of channels meets the filter rows. Padding contributes
//! nothing, so window positions outside the input are skipped (never read).

use crate::kernels::{Clamp, Conv2d};
use crate::quant::{requantize, QOut, Weight, Q8};

/// The window of one output pixel: for every tap inside the input, the tap's weight
/// offset `ky · k_w + kx` and the input's row of channels. Taps in the padding are
/// skipped (never read).
struct Window<'a, X> {
    p: &'a Conv2d,
    x: &'a [X],
    /// Input element of the pixel's batch row 0, column 0.
    base: usize,
    /// First input row and column of the window (may be negative: padding).
    iy0: isize,
    ix0: isize,
    ky: usize,
    kx: usize,
}

impl<'a, X> Iterator for Window<'a, X> {
    type Item = (usize, &'a [X]);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let p = self.p;
        while self.ky < p.k_h {
            let iy = self.iy0 + (self.ky * p.dil_h) as isize;
            if iy < 0 || iy >= p.in_h as isize {
                self.ky += 1;
                self.kx = 0;
                continue;
            }
            while self.kx < p.k_w {
                let (ky, kx) = (self.ky, self.kx);
                self.kx += 1;
                let ix = self.ix0 + (kx * p.dil_w) as isize;
                if ix < 0 || ix >= p.in_w as isize {
                    continue;
                }
                let at = self.base + (iy as usize * p.in_w + ix as usize) * p.in_c;
                if let Some(row) = self.x.get(at..at + p.in_c) {
                    return Some((ky * p.k_w + kx, row));
                }
            }
            self.ky += 1;
            self.kx = 0;
        }
        None
    }
}

/// True when the slices cover the geometry (and the bias, if any, every channel).
#[inline(always)]
fn fits<X, W, B, Y>(p: &Conv2d, x: &[X], w: &[W], bias: &[B], y: &[Y]) -> bool {
    p.is_valid()
        && x.len() >= p.input_len()
        && w.len() >= p.weight_len()
        && y.len() >= p.output_len()
        && (bias.is_empty() || bias.len() >= p.out_c)
}

/// True for a depthwise convolution with one filter per channel.
#[inline(always)]
fn is_depthwise(p: &Conv2d) -> bool {
    p.groups == p.in_c && p.out_c == p.in_c
}

/// Visits every output pixel with its output row of `out_c` elements and its
/// [`Window`].
#[inline(always)]
fn each_pixel<X: Copy, Y>(p: &Conv2d, x: &[X], y: &mut [Y], mut pixel: impl FnMut(&mut [Y], Window<'_, X>)) {
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            for ox in 0..p.out_w {
                let at = ((n * p.out_h + oy) * p.out_w + ox) * p.out_c;
                let Some(yrow) = y.get_mut(at..at + p.out_c) else { return };
                let window = Window {
                    p,
                    x,
                    base: n * p.in_h * p.in_w * p.in_c,
                    iy0: (oy * p.stride_h) as isize - p.pad_top as isize,
                    ix0: (ox * p.stride_w) as isize - p.pad_left as isize,
                    ky: 0,
                    kx: 0,
                };
                pixel(yrow, window);
            }
        }
    }
}

/// Float 2-D convolution (grouped or not), fused output clamp.
pub fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    if !fits(p, x, w, bias, y) {
        return;
    }
    let (cg, mg) = (p.in_c / p.groups, p.out_c / p.groups);
    let taps = p.k_h * p.k_w;
    each_pixel(p, x, y, |yrow, window| {
        for (oc, v) in yrow.iter_mut().enumerate() {
            *v = bias.get(oc).copied().unwrap_or(0.0);
        }
        for (t, xrow) in window {
            for g in 0..p.groups {
                let Some(xg) = xrow.get(g * cg..(g + 1) * cg) else { continue };
                for oc in g * mg..(g + 1) * mg {
                    let Some(wrow) = w.get((oc * taps + t) * cg..(oc * taps + t + 1) * cg) else { continue };
                    let Some(v) = yrow.get_mut(oc) else { continue };
                    *v += xg.iter().zip(wrow).map(|(a, b)| a * b).sum::<f32>();
                }
            }
        }
        if act != Clamp::NONE {
            yrow.iter_mut().for_each(|v| *v = act.apply(*v));
        }
    });
}

/// Float depthwise convolution (`groups = in_c = out_c`), weights `kH,kW,C`.
pub fn depthwise_conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    if !fits(p, x, w, bias, y) || !is_depthwise(p) {
        return;
    }
    let c = p.in_c;
    each_pixel(p, x, y, |yrow, window| {
        for (ch, v) in yrow.iter_mut().enumerate() {
            *v = bias.get(ch).copied().unwrap_or(0.0);
        }
        for (t, xrow) in window {
            let Some(wrow) = w.get(t * c..(t + 1) * c) else { continue };
            for ((v, &xv), &wv) in yrow.iter_mut().zip(xrow).zip(wrow) {
                *v += xv * wv;
            }
        }
        if act != Clamp::NONE {
            yrow.iter_mut().for_each(|v| *v = act.apply(*v));
        }
    });
}

/// Quantised 2-D convolution (grouped or not). `acc` is scratch for one output
/// pixel (`out_c` i32); `mult`/`shift` hold one requantisation multiplier per output
/// channel, or one for all.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    if !fits(p, x, w, bias, y) || mult.is_empty() || shift.is_empty() {
        return;
    }
    let Some(acc) = acc.get_mut(..p.out_c) else { return };
    let (cg, mg) = (p.in_c / p.groups, p.out_c / p.groups);
    let taps = p.k_h * p.k_w;
    each_pixel(p, x, y, |yrow, window| {
        for (oc, a) in acc.iter_mut().enumerate() {
            *a = bias.get(oc).copied().unwrap_or(0);
        }
        for (t, xrow) in window {
            for g in 0..p.groups {
                let Some(xg) = xrow.get(g * cg..(g + 1) * cg) else { continue };
                for oc in g * mg..(g + 1) * mg {
                    let Some(wrow) = w.get((oc * taps + t) * cg..(oc * taps + t + 1) * cg) else { continue };
                    let Some(a) = acc.get_mut(oc) else { continue };
                    *a += xg.iter().zip(wrow).map(|(&xv, &wv)| (xv.to_i32() - x_zp) * wv.into()).sum::<i32>();
                }
            }
        }
        finish(out, mult, shift, acc, yrow);
    });
}

/// Quantised depthwise convolution (`groups = in_c = out_c`), weights `kH,kW,C`;
/// `acc` is scratch for one output pixel (`C` i32).
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    if !fits(p, x, w, bias, y) || !is_depthwise(p) || mult.is_empty() || shift.is_empty() {
        return;
    }
    let c = p.in_c;
    let Some(acc) = acc.get_mut(..c) else { return };
    each_pixel(p, x, y, |yrow, window| {
        for (ch, a) in acc.iter_mut().enumerate() {
            *a = bias.get(ch).copied().unwrap_or(0);
        }
        for (t, xrow) in window {
            let Some(wrow) = w.get(t * c..(t + 1) * c) else { continue };
            for ((a, &xv), &wv) in acc.iter_mut().zip(xrow).zip(wrow) {
                *a += (xv.to_i32() - x_zp) * wv.into();
            }
        }
        finish(out, mult, shift, acc, yrow);
    });
}

/// Requantises one pixel of accumulators into its output row.
#[inline(always)]
fn finish<Y: Q8>(out: &QOut, mult: &[i32], shift: &[i32], acc: &[i32], yrow: &mut [Y]) {
    let per_channel = mult.len() >= yrow.len() && shift.len() >= yrow.len();
    for (oc, (o, &a)) in yrow.iter_mut().zip(acc).enumerate() {
        let c = if per_channel { oc } else { 0 };
        let (m, s) = (mult.get(c).copied().unwrap_or(0), shift.get(c).copied().unwrap_or(1));
        *o = Y::from_i32(out.finish(requantize(a, m, s as u32)));
    }
}

/// ConvInteger: the raw i32 accumulators `Σ (x − x_zp) · w` (+ bias if given).
pub fn conv2d_q8_i32<X: Q8, W: Weight>(p: &Conv2d, x_zp: i32, x: &[X], w: &[W], bias: &[i32], y: &mut [i32]) {
    if !fits(p, x, w, bias, y) {
        return;
    }
    let (cg, mg) = (p.in_c / p.groups, p.out_c / p.groups);
    let taps = p.k_h * p.k_w;
    each_pixel(p, x, y, |yrow, window| {
        for (oc, v) in yrow.iter_mut().enumerate() {
            *v = bias.get(oc).copied().unwrap_or(0);
        }
        for (t, xrow) in window {
            for g in 0..p.groups {
                let Some(xg) = xrow.get(g * cg..(g + 1) * cg) else { continue };
                for oc in g * mg..(g + 1) * mg {
                    let Some(wrow) = w.get((oc * taps + t) * cg..(oc * taps + t + 1) * cg) else { continue };
                    let Some(v) = yrow.get_mut(oc) else { continue };
                    *v += xg.iter().zip(wrow).map(|(&xv, &wv)| (xv.to_i32() - x_zp) * wv.into()).sum::<i32>();
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// Direct definition of convolution (channels-last, weights `O,kH,kW,I/g`).
    fn naive(p: &Conv2d, x: &[f32], w: &[f32], b: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; p.output_len()];
        let (cg, mg) = (p.in_c / p.groups, p.out_c / p.groups);
        for n in 0..p.batch {
            for oh in 0..p.out_h {
                for ow in 0..p.out_w {
                    for oc in 0..p.out_c {
                        let mut acc = b.get(oc).copied().unwrap_or(0.0);
                        for icg in 0..cg {
                            let ic = (oc / mg) * cg + icg;
                            for kh in 0..p.k_h {
                                for kw in 0..p.k_w {
                                    let ih = (oh * p.stride_h + kh * p.dil_h) as isize - p.pad_top as isize;
                                    let iw = (ow * p.stride_w + kw * p.dil_w) as isize - p.pad_left as isize;
                                    if ih < 0 || iw < 0 || ih >= p.in_h as isize || iw >= p.in_w as isize {
                                        continue;
                                    }
                                    let xi = ((n * p.in_h + ih as usize) * p.in_w + iw as usize) * p.in_c + ic;
                                    let wi = ((oc * p.k_h + kh) * p.k_w + kw) * cg + icg;
                                    acc += x[xi] * w[wi];
                                }
                            }
                        }
                        y[((n * p.out_h + oh) * p.out_w + ow) * p.out_c + oc] = acc;
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

    #[allow(clippy::too_many_arguments)]
    fn geometry(
        groups: usize,
        in_c: usize,
        out_c: usize,
        k: usize,
        s: usize,
        d: usize,
        pt: usize,
        pl: usize,
    ) -> Conv2d {
        let (in_h, in_w) = (7, 9);
        let (pb, pr) = (pt, pl + 1);
        Conv2d {
            batch: 2,
            in_c,
            in_h,
            in_w,
            out_c,
            out_h: (in_h + pt + pb - (d * (k - 1) + 1)) / s + 1,
            out_w: (in_w + pl + pr - (d * (k - 1) + 1)) / s + 1,
            k_h: k,
            k_w: k,
            stride_h: s,
            stride_w: s,
            dil_h: d,
            dil_w: d,
            pad_top: pt,
            pad_left: pl,
            groups,
        }
    }

    const WINDOWS: &[(usize, usize, usize, usize, usize)] =
        &[(3, 1, 1, 1, 1), (3, 2, 1, 0, 1), (2, 2, 2, 1, 0), (1, 1, 1, 0, 0), (5, 3, 1, 2, 2)];

    #[test]
    fn matches_the_definition_over_strides_pads_dilations_groups() {
        let mut checked = 0;
        for &(groups, in_c, out_c) in &[(1, 3, 4), (2, 4, 6), (4, 4, 4), (4, 4, 8)] {
            for &(k, s, d, pt, pl) in WINDOWS {
                let p = geometry(groups, in_c, out_c, k, s, d, pt, pl);
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
        assert_eq!(checked, 20);
    }

    #[test]
    fn depthwise_matches_the_grouped_definition() {
        for &(k, s, d, pt, pl) in WINDOWS {
            let p = geometry(5, 5, 5, k, s, d, pt, pl);
            let x = pseudo(p.input_len(), 4);
            let w = pseudo(p.weight_len(), 5); // O,kH,kW,1
            let b = pseudo(5, 6);
            // The same weights as kH,kW,C.
            let taps = p.k_h * p.k_w;
            let hwc: Vec<f32> = (0..w.len()).map(|i| w[(i % 5) * taps + i / 5]).collect();
            let mut y = vec![0.0; p.output_len()];
            depthwise_conv2d_f32(&p, Clamp::NONE, &x, &hwc, &b, &mut y);
            let want = naive(&p, &x, &w, &b);
            for (i, (a, e)) in y.iter().zip(&want).enumerate() {
                assert!((a - e).abs() < 1e-5, "{p:?} at {i}: {a} vs {e}");
            }
        }
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

    #[test]
    fn integer_convolution_matches_the_float_definition_exactly() {
        // Small integers make float arithmetic exact.
        for &(groups, in_c, out_c) in &[(1, 3, 4), (4, 4, 4), (2, 4, 6)] {
            for &(k, s, d, pt, pl) in WINDOWS {
                let p = geometry(groups, in_c, out_c, k, s, d, pt, pl);
                let x: Vec<i8> = pseudo(p.input_len(), 7).iter().map(|v| (v * 200.0) as i8).collect();
                let w: Vec<i8> = pseudo(p.weight_len(), 8).iter().map(|v| (v * 200.0) as i8).collect();
                let b: Vec<i32> = pseudo(out_c, 9).iter().map(|v| (v * 1000.0) as i32).collect();
                let zp = 3;
                let xf: Vec<f32> = x.iter().map(|&v| (v as i32 - zp) as f32).collect();
                let wf: Vec<f32> = w.iter().map(|&v| v as f32).collect();
                let bf: Vec<f32> = b.iter().map(|&v| v as f32).collect();
                let want = naive(&p, &xf, &wf, &bf);
                let mut raw = vec![0i32; p.output_len()];
                conv2d_q8_i32(&p, zp, &x, &w, &b, &mut raw);
                assert!(raw.iter().zip(&want).all(|(&a, &e)| a as f32 == e), "{p:?}");
                // Requantised with multiplier 1/2^4, clamped to i8.
                let out = QOut { zp: -1, min: -128, max: 127 };
                let mut y = vec![0i8; p.output_len()];
                let mut acc = vec![0i32; p.out_c];
                conv2d_q8(&p, zp, &out, &[1 << 30], &[34], &x, &w, &b, &mut acc, &mut y);
                for (&q, &e) in y.iter().zip(&want) {
                    let r = ((e as i64 * (1 << 30) + (1 << 33)) >> 34) as i32 - 1;
                    assert_eq!(q as i32, r.clamp(-128, 127), "{p:?}");
                }
            }
        }
    }

    #[test]
    fn integer_depthwise_matches_grouped_integer_convolution() {
        for &(k, s, d, pt, pl) in WINDOWS {
            let p = geometry(6, 6, 6, k, s, d, pt, pl);
            let x: Vec<u8> = pseudo(p.input_len(), 10).iter().map(|v| ((v + 0.5) * 255.0) as u8).collect();
            let w: Vec<i16> = pseudo(p.weight_len(), 11).iter().map(|v| (v * 600.0) as i16).collect();
            let b: Vec<i32> = pseudo(6, 12).iter().map(|v| (v * 1000.0) as i32).collect();
            let taps = p.k_h * p.k_w;
            let hwc: Vec<i16> = (0..w.len()).map(|i| w[(i % 6) * taps + i / 6]).collect();
            let out = QOut { zp: 7, min: 0, max: 255 };
            let (m, sh) = ([1 << 30, 3 << 29, 1 << 30, 1 << 30, 1 << 30, 1 << 30], [33, 34, 35, 36, 33, 33]);
            let (mut a, mut b2) = (vec![0u8; p.output_len()], vec![0u8; p.output_len()]);
            let mut acc = vec![0i32; 6];
            conv2d_q8(&p, 128, &out, &m, &sh, &x, &w, &b, &mut acc, &mut a);
            depthwise_conv2d_q8(&p, 128, &out, &m, &sh, &x, &hwc, &b, &mut acc, &mut b2);
            assert_eq!(a, b2, "{p:?}");
            assert!(a.iter().any(|&v| v != 7));
        }
    }
}
