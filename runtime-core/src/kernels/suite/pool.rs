//! Pooling checks: max and average, float and quantised, over random windows,
//! strides, dilations and asymmetric padding, with floor and ceil output shapes and
//! both `count_include_pad` settings, all channels-last; the axis reductions global
//! pooling lowers to.

use super::harness::{
    close, exact, fill, head, head_mut, qout, rel_abs, Int, Rng, Text, Verdict, Want, N, SENTINEL, SLACK,
};
use super::reference;
use crate::kernels::{Axis, Pool2d};
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// Output extent along one axis (ONNX): floor mode, or ceil mode without a last window
/// that would start in the end padding. `None` when the window does not fit.
fn extent(rng_ceil: bool, len: usize, pad_begin: usize, pad_end: usize, ext: usize, stride: usize) -> Option<usize> {
    let span = (len + pad_begin + pad_end).checked_sub(ext)?;
    let steps = if rng_ceil { (span + stride - 1).checked_div(stride)? } else { span.checked_div(stride)? };
    let out = steps + 1;
    Some(if (out - 1) * stride >= len + pad_begin { out - 1 } else { out })
}

/// True when every window along an axis holds at least one real element.
fn windows_see_input(len: usize, out: usize, k: usize, stride: usize, dil: usize, pad: usize) -> bool {
    (0..out).all(|o| (0..k).any(|t| (o * stride + t * dil).checked_sub(pad).is_some_and(|i| i < len)))
}

/// A random pooling window whose tensors fit the suite's buffers and whose every
/// window sees the input (as ONNX shapes guarantee).
fn geometry(rng: &mut Rng, geo: &mut Text) -> Pool2d {
    let mut p = Pool2d {
        batch: 1,
        channels: 1,
        in_h: 1,
        in_w: 1,
        out_h: 1,
        out_w: 1,
        k_h: 1,
        k_w: 1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        pad_bottom: 0,
        pad_right: 0,
        count_include_pad: false,
    };
    let mut ceil = false;
    for _ in 0..64 {
        let (k_h, k_w) = (rng.dim(4), rng.dim(4));
        let dil = |rng: &mut Rng| if rng.chance(3, 4) { 1 } else { rng.range(2, 3) };
        let (dil_h, dil_w) = (dil(rng), dil(rng));
        let (stride_h, stride_w) = (rng.dim(3), rng.dim(3));
        // Pads smaller than the window, as ONNX runtimes require.
        let (pad_top, pad_bottom, pad_left, pad_right) =
            (rng.below(k_h), rng.below(k_h), rng.below(k_w), rng.below(k_w));
        let (in_h, in_w) = (rng.dim(10), rng.dim(10));
        ceil = rng.chance(1, 3);
        let (ext_h, ext_w) = (dil_h * (k_h - 1) + 1, dil_w * (k_w - 1) + 1);
        let (Some(out_h), Some(out_w)) = (
            extent(ceil, in_h, pad_top, pad_bottom, ext_h, stride_h),
            extent(ceil, in_w, pad_left, pad_right, ext_w, stride_w),
        ) else {
            continue;
        };
        let (batch, channels) = (rng.range(1, 2), rng.dim(6));
        let q = Pool2d {
            batch,
            channels,
            in_h,
            in_w,
            out_h,
            out_w,
            k_h,
            k_w,
            stride_h,
            stride_w,
            dil_h,
            dil_w,
            pad_top,
            pad_left,
            pad_bottom,
            pad_right,
            count_include_pad: rng.chance(1, 2),
        };
        if q.input_len() <= N
            && q.output_len() <= N
            && windows_see_input(in_h, out_h, k_h, stride_h, dil_h, pad_top)
            && windows_see_input(in_w, out_w, k_w, stride_w, dil_w, pad_left)
        {
            p = q;
            break;
        }
    }
    let _ = write!(
        geo,
        "n{} c{} in{}x{} out{}x{} k{}x{} s{},{} d{},{} p{},{},{},{} {}{}",
        p.batch,
        p.channels,
        p.in_h,
        p.in_w,
        p.out_h,
        p.out_w,
        p.k_h,
        p.k_w,
        p.stride_h,
        p.stride_w,
        p.dil_h,
        p.dil_w,
        p.pad_top,
        p.pad_left,
        p.pad_bottom,
        p.pad_right,
        if ceil { "ceil" } else { "floor" },
        if p.count_include_pad { " incl-pad" } else { "" }
    );
    p
}

fn lens(p: &Pool2d) -> (usize, usize) {
    (p.input_len(), p.output_len())
}

/// `max_pool2d_f32`: exact.
pub(crate) fn max_pool2d_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Pool2d, &[f32], &mut [f32]),
    G: Fn(&Pool2d, &[f32], &mut [f32]),
{
    let p = geometry(rng, geo);
    let (nx, ny) = lens(&p);
    let mut x = [0.0f32; N];
    fill(&mut x, || rng.float(-4.0, 4.0));
    let x = head(&x, nx);
    let ny = ny + rng.below(SLACK + 1);

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::max_pool2d(&p, f32::NEG_INFINITY, x, &mut exp),
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(0.0, 0.0))
}

/// `avg_pool2d_f32`: within the rounding bound of each window's mean.
pub(crate) fn avg_pool2d_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Pool2d, &[f32], &mut [f32]),
    G: Fn(&Pool2d, &[f32], &mut [f32]),
{
    let p = geometry(rng, geo);
    let (nx, ny) = lens(&p);
    let mut x = [0.0f32; N];
    fill(&mut x, || rng.float(-4.0, 4.0));
    let x = head(&x, nx);
    let ny = ny + rng.below(SLACK + 1);

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    reference::avg_pool2d_f32(&p, x, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, x, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// `max_pool2d_q8`: exact.
pub(crate) fn max_pool2d_q8<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Int + Q8 + PartialOrd + Default,
    F: Fn(&Pool2d, &[T], &mut [T]),
    G: Fn(&Pool2d, &[T], &mut [T]),
{
    let p = geometry(rng, geo);
    let (nx, ny) = lens(&p);
    let mut x = [T::of(0); N];
    fill(&mut x, || T::random(rng));
    let x = head(&x, nx);
    let ny = ny + rng.below(SLACK + 1);

    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::max_pool2d(&p, T::of(T::LO), x, &mut exp),
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// A rescaling multiplier of an averaging pool (`sx / sy` near 1, so shifts near 31).
fn rescale(rng: &mut Rng) -> (i32, u32) {
    let mult = rng.i32(1 << 30, i32::MAX);
    let shift = if rng.chance(1, 8) { rng.range(1, 62) } else { rng.range(30, 34) };
    (mult, shift as u32)
}

/// `avg_pool2d_q8`: exact against the kernel's contract (rounded division by the
/// count, then the rounding shift).
pub(crate) fn avg_pool2d_q8<X, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    Y: Int + Q8,
    F: Fn(&Pool2d, i32, &QOut, i32, u32, &[X], &mut [i32], &mut [Y]),
    G: Fn(&Pool2d, i32, &QOut, i32, u32, &[X], &mut [i32], &mut [Y]),
{
    let p = geometry(rng, geo);
    let na = p.channels + rng.below(SLACK + 1);
    let (nx, ny) = lens(&p);
    let x_zp = rng.i32(X::LO, X::HI);
    let out = qout::<Y>(rng);
    let (mult, shift) = rescale(rng);
    let mut x = [X::of(0); N];
    fill(&mut x, || X::random(rng));
    let x = head(&x, nx);
    let ny = ny + rng.below(SLACK + 1);
    let _ = write!(geo, " xzp{} out{},{},{} m{}>>{}", x_zp, out.zp, out.min, out.max, mult, shift);

    let sentinel = Y::random(rng);
    let (mut got, mut exp, mut acc) = ([sentinel; N + SLACK], [sentinel; N + SLACK], [0i32; N + SLACK]);
    imp(&p, x_zp, &out, mult, shift, x, head_mut(&mut acc, na), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::avg_pool2d_q8(&p, x_zp, &out, mult, shift, x, &mut exp),
        Want::Twin(twin) => twin(&p, x_zp, &out, mult, shift, x, head_mut(&mut acc, na), head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// A random reduction geometry: `outer × len × inner` (global pooling of `N,H·W,C`,
/// or of channels-first planes when `inner` is 1).
fn axis(rng: &mut Rng, geo: &mut Text) -> Axis {
    let p = Axis { outer: rng.range(1, 2), len: rng.dim(64), inner: if rng.chance(1, 3) { 1 } else { rng.dim(8) } };
    let _ = write!(geo, "{}x{}x{}", p.outer, p.len, p.inner);
    p
}

/// `mean_axis_f32`: within the rounding bound of each mean.
pub(crate) fn mean_axis_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &mut [f32]),
{
    let p = axis(rng, geo);
    let mut x = [0.0f32; N];
    fill(&mut x, || rng.float(-4.0, 4.0));
    let x = head(&x, p.outer * p.len * p.inner);
    let ny = p.outer * p.inner + rng.below(SLACK + 1);

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    reference::mean_axis_f32(&p, x, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, x, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// `max_axis_f32`: exact.
pub(crate) fn max_axis_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Axis, &[f32], &mut [f32]),
    G: Fn(&Axis, &[f32], &mut [f32]),
{
    let p = axis(rng, geo);
    let mut x = [0.0f32; N];
    fill(&mut x, || rng.float(-4.0, 4.0));
    let x = head(&x, p.outer * p.len * p.inner);
    let ny = p.outer * p.inner + rng.below(SLACK + 1);

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::max_axis_f32(&p, x, &mut exp),
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(0.0, 0.0))
}

/// `mean_axis_q8`: exact against the kernel's contract.
pub(crate) fn mean_axis_q8<X, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    Y: Int + Q8,
    F: Fn(&Axis, i32, &QOut, i32, u32, &[X], &mut [Y]),
    G: Fn(&Axis, i32, &QOut, i32, u32, &[X], &mut [Y]),
{
    let p = axis(rng, geo);
    let x_zp = rng.i32(X::LO, X::HI);
    let out = qout::<Y>(rng);
    let (mult, shift) = rescale(rng);
    let mut x = [X::of(0); N];
    fill(&mut x, || X::random(rng));
    let x = head(&x, p.outer * p.len * p.inner);
    let ny = p.outer * p.inner + rng.below(SLACK + 1);
    let _ = write!(geo, " xzp{} out{},{},{} m{}>>{}", x_zp, out.zp, out.min, out.max, mult, shift);

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x_zp, &out, mult, shift, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::mean_axis_q8(&p, x_zp, &out, mult, shift, x, &mut exp),
        Want::Twin(twin) => twin(&p, x_zp, &out, mult, shift, x, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
