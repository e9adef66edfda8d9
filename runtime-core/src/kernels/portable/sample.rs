//! Kernels that read their input at fractional positions by bilinear interpolation:
//! deformable convolution (ONNX DeformConv) and region-of-interest pooling (ONNX
//! RoiAlign). Both are channels-first (`N,C,H,W`). Every read goes through `get`, so a
//! slice shorter than its parameters say contributes zeros instead of panicking, and
//! the kernels return at once when an output is too short.

use crate::kernels::{DeformConv, RoiAlign};
use crate::math;

/// The value of one channel plane (`h × w`, row-major) at row `y`, column `x` by
/// bilinear interpolation of the four surrounding pixels; pixels outside the plane
/// count as zero (GridSample's `zeros` padding with aligned corners, as DeformConv
/// samples).
#[inline]
fn bilinear_zero(plane: &[f32], h: usize, w: usize, y: f32, x: f32) -> f32 {
    let (y0, x0) = (math::floor(y), math::floor(x));
    let (ly, lx) = (y - y0, x - x0);
    let (y0, x0) = (y0 as isize, x0 as isize);
    let at = |yy: isize, xx: isize| -> f32 {
        if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
            return 0.0;
        }
        plane.get(yy as usize * w + xx as usize).copied().unwrap_or(0.0)
    };
    (1.0 - ly) * ((1.0 - lx) * at(y0, x0) + lx * at(y0, x0 + 1))
        + ly * ((1.0 - lx) * at(y0 + 1, x0) + lx * at(y0 + 1, x0 + 1))
}

/// Deformable convolution: every output pixel sums, over the input channels of its
/// group and the kernel taps, weight × mask × the input sampled (bilinearly, zero
/// outside) at the tap's regular position shifted by its offset. `bias` and `mask`
/// are empty slices when absent (no bias; a mask of ones).
pub fn deform_conv_f32(
    p: &DeformConv,
    x: &[f32],
    w: &[f32],
    offset: &[f32],
    bias: &[f32],
    mask: &[f32],
    y: &mut [f32],
) {
    let c = &p.conv;
    let groups = c.groups.max(1);
    let offset_groups = p.offset_groups.max(1);
    let (cg, mg) = (c.in_c / groups, (c.out_c / groups).max(1));
    let per_offset_group = (c.in_c / offset_groups).max(1);
    let taps = c.k_h * c.k_w;
    let (plane_in, plane_out) = (c.in_h * c.in_w, c.out_h * c.out_w);
    if y.len() < c.batch * c.out_c * plane_out {
        return;
    }
    let mut out = 0;
    for n in 0..c.batch {
        for oc in 0..c.out_c {
            let group = oc / mg;
            for oy in 0..c.out_h {
                for ox in 0..c.out_w {
                    let pixel = oy * c.out_w + ox;
                    let mut acc = bias.get(oc).copied().unwrap_or(0.0);
                    for icg in 0..cg {
                        let ic = group * cg + icg;
                        let og = ic / per_offset_group;
                        let plane = x.get((n * c.in_c + ic) * plane_in..).unwrap_or(&[]);
                        for ky in 0..c.k_h {
                            for kx in 0..c.k_w {
                                let t = og * taps + ky * c.k_w + kx;
                                let shift = |k: usize| {
                                    let ch = (n * offset_groups * taps + t) * 2 + k;
                                    offset.get(ch * plane_out + pixel).copied().unwrap_or(0.0)
                                };
                                let m = if mask.is_empty() {
                                    1.0
                                } else {
                                    mask.get((n * offset_groups * taps + t) * plane_out + pixel).copied().unwrap_or(0.0)
                                };
                                let py = (oy * c.stride_h + ky * c.dil_h) as f32 - c.pad_top as f32 + shift(0);
                                let px = (ox * c.stride_w + kx * c.dil_w) as f32 - c.pad_left as f32 + shift(1);
                                let wv = w.get(((oc * cg + icg) * c.k_h + ky) * c.k_w + kx).copied().unwrap_or(0.0);
                                acc += wv * m * bilinear_zero(plane, c.in_h, c.in_w, py, px);
                            }
                        }
                    }
                    if let Some(o) = y.get_mut(out) {
                        *o = acc;
                    }
                    out += 1;
                }
            }
        }
    }
}

/// The four weighted corner values of a plane at (`y`, `x`) as RoiAlign samples it:
/// positions more than a pixel outside give zeros; others are clamped into the plane.
#[inline]
fn corners_roi(plane: &[f32], h: usize, w: usize, y: f32, x: f32) -> [f32; 4] {
    if y < -1.0 || y > h as f32 || x < -1.0 || x > w as f32 || h == 0 || w == 0 {
        return [0.0; 4];
    }
    let (mut y, mut x) = (y.max(0.0), x.max(0.0));
    let (mut y0, mut x0) = (y as usize, x as usize);
    let (mut y1, mut x1) = (y0 + 1, x0 + 1);
    if y0 >= h - 1 {
        (y0, y1, y) = (h - 1, h - 1, (h - 1) as f32);
    }
    if x0 >= w - 1 {
        (x0, x1, x) = (w - 1, w - 1, (w - 1) as f32);
    }
    let (ly, lx) = (y - y0 as f32, x - x0 as f32);
    let (hy, hx) = (1.0 - ly, 1.0 - lx);
    let at = |yy: usize, xx: usize| plane.get(yy * w + xx).copied().unwrap_or(0.0);
    [hy * hx * at(y0, x0), hy * lx * at(y0, x1), ly * hx * at(y1, x0), ly * lx * at(y1, x1)]
}

/// RoiAlign: for every box and channel, each output cell is the mean (or maximum) of
/// `sampling_ratio²` bilinear samples spread evenly over the cell.
pub fn roi_align_f32(p: &RoiAlign, x: &[f32], rois: &[f32], batch_index: &[i64], y: &mut [f32]) {
    let plane_in = p.in_h * p.in_w;
    let plane_out = p.out_h * p.out_w;
    if y.len() < p.rois * p.channels * plane_out || p.out_h == 0 || p.out_w == 0 {
        return;
    }
    let shift = if p.half_pixel { 0.5 } else { 0.0 };
    let mut out = 0;
    for r in 0..p.rois {
        let coord = |k: usize| rois.get(r * 4 + k).copied().unwrap_or(0.0) * p.spatial_scale - shift;
        let (x1, y1, x2, y2) = (coord(0), coord(1), coord(2), coord(3));
        let (mut rw, mut rh) = (x2 - x1, y2 - y1);
        if !p.half_pixel {
            rw = rw.max(1.0);
            rh = rh.max(1.0);
        }
        let (bin_h, bin_w) = (rh / p.out_h as f32, rw / p.out_w as f32);
        let grid = |extent: f32, bins: usize| -> usize {
            if p.sampling_ratio > 0 {
                p.sampling_ratio
            } else {
                math::ceil(extent / bins as f32) as usize
            }
        };
        let (gh, gw) = (grid(rh, p.out_h), grid(rw, p.out_w));
        let count = (gh * gw).max(1) as f32;
        let b = batch_index.get(r).copied().unwrap_or(0);
        let b = if b < 0 || b as usize >= p.batch { None } else { Some(b as usize) };
        for c in 0..p.channels {
            let plane = match b {
                Some(b) => x.get((b * p.channels + c) * plane_in..).unwrap_or(&[]),
                None => &[],
            };
            for ph in 0..p.out_h {
                for pw in 0..p.out_w {
                    let mut acc = if p.max { f32::NEG_INFINITY } else { 0.0 };
                    let mut any = false;
                    for iy in 0..gh {
                        let yy = y1 + ph as f32 * bin_h + (iy as f32 + 0.5) * bin_h / gh as f32;
                        for ix in 0..gw {
                            let xx = x1 + pw as f32 * bin_w + (ix as f32 + 0.5) * bin_w / gw as f32;
                            let [a, b, c, d] = corners_roi(plane, p.in_h, p.in_w, yy, xx);
                            // The mean sums the interpolation; the maximum takes the
                            // largest weighted corner (the ONNX reference's `max`).
                            let v = if p.max { a.max(b).max(c).max(d) } else { a + b + c + d };
                            acc = if p.max { acc.max(v) } else { acc + v };
                            any = true;
                        }
                    }
                    let v = if p.max {
                        if any {
                            acc
                        } else {
                            0.0
                        }
                    } else {
                        acc / count
                    };
                    if let Some(o) = y.get_mut(out) {
                        *o = v;
                    }
                    out += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Conv2d;

    fn geometry(pad: usize) -> Conv2d {
        Conv2d {
            batch: 1,
            in_c: 1,
            in_h: 3,
            in_w: 3,
            out_c: 1,
            out_h: 2 + 2 * pad,
            out_w: 2 + 2 * pad,
            k_h: 2,
            k_w: 2,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: pad,
            pad_left: pad,
            groups: 1,
        }
    }

    #[test]
    fn deform_conv_with_zero_offsets_is_a_convolution_and_offsets_interpolate() {
        let x: [f32; 9] = core::array::from_fn(|i| i as f32);
        let w = [1.0f32, 2.0, 3.0, 4.0];
        let p = DeformConv { conv: geometry(0), offset_groups: 1 };
        let mut y = [0f32; 4];
        deform_conv_f32(&p, &x, &w, &[0.0; 32], &[], &[], &mut y);
        // x[r][c] = 3r + c: each output is 1·x00 + 2·x01 + 3·x10 + 4·x11 of its window.
        let conv = |r: f32, c: f32| (3.0 * r + c) * 10.0 + 2.0 + 3.0 * 3.0 + 4.0 * 4.0;
        assert_eq!(y, [conv(0.0, 0.0), conv(0.0, 1.0), conv(1.0, 0.0), conv(1.0, 1.0)]);
        // Every tap shifted half a column right, a bias of 1 and a mask of ½: the
        // input is linear, so samples interpolate exactly, and outside reads are zero.
        let mut off = [0f32; 32];
        for t in 0..4 {
            off[(2 * t + 1) * 4..(2 * t + 2) * 4].fill(0.5);
        }
        deform_conv_f32(&p, &x, &w, &off, &[1.0], &[0.5; 16], &mut y);
        assert_eq!(y[0], 1.0 + 0.5 * (conv(0.0, 0.5)));
        // Output (0, 1)'s right taps sample column 2.5: half of column 2, half zero.
        let right = 0.5 * (2.0 * 2.0 + 4.0 * 5.0);
        assert_eq!(y[1], 1.0 + 0.5 * (1.0 * 1.5 + 3.0 * 4.5 + right));
    }

    #[test]
    fn roi_align_averages_and_maximises_bilinear_samples() {
        // A 4×4 ramp x[r][c] = c: linear, so every in-range sample is its column.
        let x: [f32; 16] = core::array::from_fn(|i| (i % 4) as f32);
        let p = RoiAlign {
            batch: 1,
            channels: 1,
            in_h: 4,
            in_w: 4,
            rois: 1,
            out_h: 1,
            out_w: 2,
            sampling_ratio: 2,
            spatial_scale: 1.0,
            half_pixel: false,
            max: false,
        };
        let mut y = [0f32; 2];
        roi_align_f32(&p, &x, &[0.0, 0.0, 2.0, 2.0], &[0], &mut y);
        // Cells [0, 1) and [1, 2) in x, sampled at ¼, ¾ and 1¼, 1¾.
        assert_eq!(y, [0.5, 1.5]);
        roi_align_f32(&RoiAlign { half_pixel: true, ..p }, &x, &[0.0, 0.0, 2.0, 2.0], &[0], &mut y);
        assert_eq!(y, [0.0 + 0.25 * 0.5 + 0.0, 1.0]);
        // A batch index out of range reads nothing.
        roi_align_f32(&p, &x, &[0.0, 0.0, 2.0, 2.0], &[3], &mut y);
        assert_eq!(y, [0.0, 0.0]);
    }
}
