//! Convolution checks (channels-last): float, quantised and raw-accumulator, over
//! random batches, channels, groups (plain, grouped, depthwise), kernel sizes,
//! strides, dilations and asymmetric padding, 1-D and pointwise shapes included; the
//! depthwise kernels with their `kH,kW,C` weights.

use super::harness::{
    clamp_of, close, exact, fill, head, head_mut, multipliers, qout, typical_shift, Int, Rng, Sci, Text, Verdict, Want,
    MAX_CH, N, SENTINEL, SLACK,
};
use super::reference;
use crate::kernels::{inplace, Clamp, Conv2d};
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// Which channel groupings a check draws.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Groups {
    /// Plain, grouped and depthwise convolutions.
    Any,
    /// One group only (kernels specialised for it).
    One,
    /// One filter per channel.
    Depthwise,
    /// One group, up to [`MAX_CH`] channels in and out (kernels blocking channels by 8
    /// and 16 see full and partial blocks).
    OneWide,
    /// One filter per channel, up to [`MAX_CH`] channels.
    DepthwiseWide,
    /// One group, 3 input channels, filter rows of 3 adjacent taps, stride 1 or 2
    /// along wide rows (image models' first layers, which the AVX2 float kernel
    /// computes on a path of its own).
    Stem,
    /// One group, 3×3 taps, stride and dilation 1, 40 or 48 input channels (the
    /// AVX2 float kernel's 1-D Winograd path, which the suite calls directly: the
    /// 2-D one takes every such layer small enough for the suite's buffers; 1 or 2
    /// output channels keep its packed weights small).
    Winograd,
    /// One group, 3×3 taps, stride and dilation 1, 8, 16 or 32 input channels (the
    /// AVX2 float kernel's 2-D Winograd path); 8 input channels with 9 to 14
    /// output channels fill a block of 16 partly.
    Winograd2d,
}

/// A random convolution whose tensors fit the suite's buffers.
pub(crate) fn geometry(rng: &mut Rng, groups: Groups) -> Conv2d {
    for _ in 0..64 {
        let shape = match groups {
            Groups::Any => rng.below(4),
            Groups::One => 3,
            Groups::Depthwise => 4,
            Groups::OneWide => 5,
            Groups::DepthwiseWide => 6,
            Groups::Stem => 7,
            Groups::Winograd => 8,
            Groups::Winograd2d => 9,
        };
        let (groups, cin_g, cout_g) = match shape {
            4 => (rng.range(1, 8), 1, 1),
            5 => (1, rng.range(1, MAX_CH), rng.range(1, MAX_CH)),
            6 => (rng.range(1, MAX_CH), 1, 1),
            // At most 8 channels (12-pixel blocks) half of the time.
            7 => (1, 3, if rng.chance(1, 2) { rng.range(1, 8) } else { rng.range(9, 24) }),
            8 => (1, if rng.chance(1, 2) { 40 } else { 48 }, rng.range(1, 2)),
            9 => match rng.below(3) {
                0 => (1, 8, rng.range(1, 14)),
                1 => (1, 16, rng.range(1, 7)),
                _ => (1, 32, rng.range(1, 3)),
            },
            0 => (rng.range(2, 4), rng.range(1, 3), rng.range(1, 3)),
            1 => (rng.range(1, 8), 1, rng.range(1, 2)), // depthwise (multiplier 1 or 2)
            _ => (1, rng.range(1, 6), rng.range(1, 6)),
        };
        let wino = shape == 8 || shape == 9;
        let pointwise = !wino && rng.chance(1, 6);
        let flat = !pointwise && !wino && rng.chance(1, 6); // 1-D: height 1 throughout
                                                            // Wide pointwise layers often have whole blocks of 4 output channels (the
                                                            // Helium kernel's flat path over the whole input).
        let cout_g = if shape == 5 && pointwise && cout_g % 4 != 0 && rng.chance(1, 2) {
            (cout_g / 4 * 4).max(4)
        } else {
            cout_g
        };
        let k_h = if pointwise || flat { 1 } else { rng.dim(4) };
        let stem = shape == 7;
        let pointwise = pointwise && !stem;
        let k_h = if stem && !flat {
            rng.dim(4)
        } else if wino {
            3
        } else {
            k_h
        };
        let k_w = if stem || wino {
            3
        } else if pointwise {
            1
        } else {
            rng.dim(4)
        };
        let stride = |rng: &mut Rng| if pointwise || wino { 1 } else { rng.dim(3) };
        let (stride_h, stride_w) = (stride(rng), if stem { rng.range(1, 2) } else { stride(rng) });
        let dil = |rng: &mut Rng| if pointwise || wino || rng.chance(3, 4) { 1 } else { rng.range(2, 3) };
        let (dil_h, dil_w) = (dil(rng), if stem { 1 } else { dil(rng) });
        let (ext_h, ext_w) = (dil_h * (k_h - 1) + 1, dil_w * (k_w - 1) + 1);
        let pad = |rng: &mut Rng, ext: usize| if pointwise { 0 } else { rng.below(ext + 1) };
        let (pad_top, pad_bottom) = if flat { (0, 0) } else { (pad(rng, ext_h), pad(rng, ext_h)) };
        let (pad_left, pad_right) = (pad(rng, ext_w), pad(rng, ext_w));
        let in_h = if flat {
            1
        } else if shape == 9 {
            rng.range(1, 6)
        } else if wino {
            rng.range(1, 4)
        } else {
            rng.dim(9)
        };
        let in_w = if stem {
            rng.range(1, 32)
        } else if shape == 9 {
            rng.range(1, 8)
        } else if wino {
            rng.range(1, 5)
        } else {
            rng.dim(12)
        };
        let (span_h, span_w) = (in_h + pad_top + pad_bottom, in_w + pad_left + pad_right);
        if span_h < ext_h || span_w < ext_w {
            continue;
        }
        let (Some(out_h), Some(out_w)) =
            ((span_h - ext_h).checked_div(stride_h), (span_w - ext_w).checked_div(stride_w))
        else {
            continue;
        };
        let p = Conv2d {
            batch: rng.range(1, 2),
            in_c: groups * cin_g,
            in_h,
            in_w,
            out_c: groups * cout_g,
            out_h: out_h + 1,
            out_w: out_w + 1,
            k_h,
            k_w,
            stride_h,
            stride_w,
            dil_h,
            dil_w,
            pad_top,
            pad_left,
            groups,
        };
        // Wide one-group kernels pack weights for blocks of 8 channels: that must fit too.
        let packed = crate::kernels::pack::round_to(p.out_c, 8) * (p.k_h * p.k_w * p.in_c + 1);
        let wide_fits = !(shape == 5 || stem) || packed <= N;
        let taps = if shape == 9 { 16 } else { 12 };
        let wino_fits = !wino || crate::kernels::pack::round_to(p.out_c, 8) * taps * p.in_c <= PACKED_WINOGRAD;
        if p.input_len() <= N
            && weight_len(&p) <= N
            && p.output_len() <= N
            && p.out_c <= MAX_CH
            && wide_fits
            && wino_fits
            && (shape != 8 || crate::kernels::pack::x86_avx2::winograd(&p))
            && (shape != 9 || crate::kernels::pack::x86_avx2::winograd2d(&p))
        {
            return p;
        }
    }
    Conv2d {
        batch: 1,
        in_c: 1,
        in_h: 1,
        in_w: 1,
        out_c: 1,
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
        groups: 1,
    }
}

/// Weight elements (`Conv2d::weight_len` without its division by a possibly zero
/// `groups`, a panic path the optimiser cannot always remove here).
pub(crate) fn weight_len(p: &Conv2d) -> usize {
    p.out_c * p.in_c.checked_div(p.groups).unwrap_or(0) * p.k_h * p.k_w
}

pub(crate) fn describe(geo: &mut Text, p: &Conv2d) {
    let _ = write!(
        geo,
        "n{} c{}>{} g{} in{}x{} out{}x{} k{}x{} s{},{} d{},{} p{},{}",
        p.batch,
        p.in_c,
        p.out_c,
        p.groups,
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
        p.pad_left
    );
}

/// `conv2d_f32`: within the rounding bound of each output's sum.
pub(crate) fn conv2d_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    conv2d_f32_of(rng, geo, imp, want, Groups::Any)
}

/// `conv2d_f32` on one-group convolutions of up to [`MAX_CH`] channels.
#[allow(dead_code, reason = "used by the table's lines for kernels specialised to one group")]
pub(crate) fn conv2d_f32_wide<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    conv2d_f32_of(rng, geo, imp, want, Groups::OneWide)
}

/// Room for the packed weights of [`Groups::Winograd`]'s and
/// [`Groups::Winograd2d`]'s geometries: 8 channels × 12 transformed taps × 48
/// inputs, 16 × 16 × 8, 8 × 16 × 32 (4,608 floats).
pub(crate) const PACKED_WINOGRAD: usize = 8 * 12 * 48;

/// `conv2d_f32` on the 2-D Winograd path's layers ([`Groups::Winograd2d`]).
#[allow(dead_code, reason = "used by the table's line for the AVX2 float kernel")]
pub(crate) fn conv2d_f32_winograd2d<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    conv2d_f32_of(rng, geo, imp, want, Groups::Winograd2d)
}

/// `conv2d_f32` on the Winograd path's layers ([`Groups::Winograd`]).
#[allow(dead_code, reason = "used by the table's line for the AVX2 float kernel")]
pub(crate) fn conv2d_f32_winograd<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    conv2d_f32_of(rng, geo, imp, want, Groups::Winograd)
}

/// `conv2d_f32` on image models' first layers ([`Groups::Stem`]).
#[allow(dead_code, reason = "used by the table's line for the AVX2 float kernel")]
pub(crate) fn conv2d_f32_stem<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    conv2d_f32_of(rng, geo, imp, want, Groups::Stem)
}

fn conv2d_f32_of<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, groups: Groups) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let p = geometry(rng, groups);
    let act = clamp_of(rng);
    let (mut x, mut w, mut bias) = ([0.0f32; N], [0.0f32; N], [0.0f32; MAX_CH]);
    fill(&mut x, || rng.float(-1.0, 1.0));
    fill(&mut w, || rng.float(-1.0, 1.0));
    fill(&mut bias, || rng.float(-1.0, 1.0));
    let nb = if rng.chance(1, 4) { 0 } else { p.out_c };
    let ny = p.output_len() + rng.below(SLACK + 1);
    describe(geo, &p);
    let _ = write!(geo, " act{},{} bias{}", Sci(act.min), Sci(act.max), nb);
    let (x, w, bias) = (head(&x, p.input_len()), head(&w, weight_len(&p)), head(&bias, nb));

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, act, x, w, bias, head_mut(&mut got, ny));
    reference::conv2d_f32(&p, act, x, w, bias, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, act, x, w, bias, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// The random operands of a quantised convolution.
struct QConv<X, W> {
    p: Conv2d,
    x_zp: i32,
    x: [X; N],
    w: [W; N],
    bias: [i32; MAX_CH],
    nb: usize,
}

impl<X: Int, W: Int> QConv<X, W> {
    fn draw(rng: &mut Rng, geo: &mut Text, groups: Groups) -> Self {
        let p = geometry(rng, groups);
        let mut c =
            QConv { p, x_zp: rng.i32(X::LO, X::HI), x: [X::of(0); N], w: [W::of(0); N], bias: [0; MAX_CH], nb: 0 };
        fill(&mut c.x, || X::random(rng));
        fill(&mut c.w, || W::random(rng));
        fill(&mut c.bias, || rng.i32(-(1 << 14), 1 << 14));
        c.nb = if rng.chance(1, 4) { 0 } else { p.out_c };
        describe(geo, &p);
        let _ = write!(geo, " xzp{} bias{}", c.x_zp, c.nb);
        c
    }
    fn x(&self) -> &[X] {
        head(&self.x, self.p.input_len())
    }
    fn w(&self) -> &[W] {
        head(&self.w, weight_len(&self.p))
    }
    fn bias(&self) -> &[i32] {
        head(&self.bias, self.nb)
    }
}

/// `conv2d_q8`: exact.
pub(crate) fn conv2d_q8<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    conv2d_q8_of(rng, geo, imp, want, Groups::Any)
}

/// `conv2d_q8` on one-group convolutions only: exact.
#[allow(dead_code, reason = "used by the table's lines for kernels specialised to one group")]
pub(crate) fn conv2d_q8_one_group<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    conv2d_q8_of(rng, geo, imp, want, Groups::One)
}

/// `conv2d_q8` on one-group convolutions of up to [`MAX_CH`] channels: exact.
#[allow(dead_code, reason = "used by the table's lines for kernels specialised to one group")]
pub(crate) fn conv2d_q8_wide<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    conv2d_q8_of(rng, geo, imp, want, Groups::OneWide)
}

fn conv2d_q8_of<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, groups: Groups) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    let c = QConv::<X, W>::draw(rng, geo, groups);
    let p = c.p;
    let out = qout::<Y>(rng);
    let (mut mult, mut shift) = ([0i32; MAX_CH], [0i32; MAX_CH]);
    let terms = p.in_c.checked_div(p.groups).unwrap_or(1) * p.k_h * p.k_w;
    let nm = multipliers(rng, p.out_c, typical_shift(terms), &mut mult, &mut shift);
    let (mult, shift) = (head(&mult, nm), head(&shift, nm));
    let ny = p.output_len() + rng.below(SLACK + 1);
    let na = p.out_c + rng.below(SLACK + 1);
    let _ = write!(
        geo,
        " out{},{},{} m{}x{}>>{}",
        out.zp,
        out.min,
        out.max,
        nm,
        mult.first().unwrap_or(&0),
        shift.first().unwrap_or(&0)
    );

    let sentinel = Y::random(rng);
    let (mut got, mut exp, mut acc) = ([sentinel; N + SLACK], [sentinel; N + SLACK], [0i32; MAX_CH + SLACK]);
    imp(&p, c.x_zp, &out, mult, shift, c.x(), c.w(), c.bias(), head_mut(&mut acc, na), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::conv2d_q8(&p, c.x_zp, &out, mult, shift, c.x(), c.w(), c.bias(), &mut exp),
        Want::Twin(twin) => {
            let mut acc = [0i32; MAX_CH + SLACK];
            twin(&p, c.x_zp, &out, mult, shift, c.x(), c.w(), c.bias(), head_mut(&mut acc, na), head_mut(&mut exp, ny))
        }
    }
    exact("y", &got, &exp)
}

/// `conv2d_q8_i32` (ConvInteger): exact.
pub(crate) fn conv2d_q8_i32<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &[X], &[W], &[i32], &mut [i32]),
    G: Fn(&Conv2d, i32, &[X], &[W], &[i32], &mut [i32]),
{
    let c = QConv::<X, W>::draw(rng, geo, Groups::Any);
    let ny = c.p.output_len() + rng.below(SLACK + 1);
    let sentinel = rng.i32(i32::MIN, i32::MAX);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&c.p, c.x_zp, c.x(), c.w(), c.bias(), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::conv2d_q8_i32(&c.p, c.x_zp, c.x(), c.w(), c.bias(), &mut exp),
        Want::Twin(twin) => twin(&c.p, c.x_zp, c.x(), c.w(), c.bias(), head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// Depthwise filters `C,kH,kW,1` as the `kH,kW,C` order the depthwise kernels read.
fn taps_by_channel<T: Copy>(p: &Conv2d, w: &[T], into: &mut [T]) {
    let taps = p.k_h * p.k_w;
    for (i, o) in into.iter_mut().enumerate().take(w.len()) {
        let (t, c) = (i.checked_div(p.in_c).unwrap_or(0), i.checked_rem(p.in_c).unwrap_or(0));
        if let Some(&v) = w.get(c * taps + t) {
            *o = v;
        }
    }
}

/// `depthwise_conv2d_f32`: within the rounding bound of each output's sum.
pub(crate) fn depthwise_conv2d_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    depthwise_conv2d_f32_of(rng, geo, imp, want, Groups::Depthwise)
}

/// `depthwise_conv2d_f32` over up to [`MAX_CH`] channels.
#[allow(dead_code, reason = "used by the table's lines for kernels vectorised across channels")]
pub(crate) fn depthwise_conv2d_f32_wide<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    depthwise_conv2d_f32_of(rng, geo, imp, want, Groups::DepthwiseWide)
}

fn depthwise_conv2d_f32_of<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, groups: Groups) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let p = geometry(rng, groups);
    let act = clamp_of(rng);
    let (mut x, mut w, mut bias) = ([0.0f32; N], [0.0f32; N], [0.0f32; MAX_CH]);
    fill(&mut x, || rng.float(-1.0, 1.0));
    fill(&mut w, || rng.float(-1.0, 1.0));
    fill(&mut bias, || rng.float(-1.0, 1.0));
    let nb = if rng.chance(1, 4) { 0 } else { p.out_c };
    let ny = p.output_len() + rng.below(SLACK + 1);
    describe(geo, &p);
    let _ = write!(geo, " act{},{} bias{}", Sci(act.min), Sci(act.max), nb);
    let (x, w, bias) = (head(&x, p.input_len()), head(&w, weight_len(&p)), head(&bias, nb));
    let mut packed = [0.0f32; N];
    taps_by_channel(&p, w, &mut packed);
    let packed = head(&packed, w.len());

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, act, x, packed, bias, head_mut(&mut got, ny));
    reference::conv2d_f32(&p, act, x, w, bias, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, act, x, packed, bias, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// `depthwise_conv2d_q8`: exact.
pub(crate) fn depthwise_conv2d_q8<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    depthwise_conv2d_q8_of(rng, geo, imp, want, Groups::Depthwise)
}

/// `depthwise_conv2d_q8` over up to [`MAX_CH`] channels: exact.
#[allow(dead_code, reason = "used by the table's lines for kernels vectorised across channels")]
pub(crate) fn depthwise_conv2d_q8_wide<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    depthwise_conv2d_q8_of(rng, geo, imp, want, Groups::DepthwiseWide)
}

fn depthwise_conv2d_q8_of<X, W, Y, F, G>(
    rng: &mut Rng,
    geo: &mut Text,
    imp: F,
    want: Want<G>,
    groups: Groups,
) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    let c = QConv::<X, W>::draw(rng, geo, groups);
    let p = c.p;
    let out = qout::<Y>(rng);
    let (mut mult, mut shift) = ([0i32; MAX_CH], [0i32; MAX_CH]);
    let nm = multipliers(rng, p.out_c, typical_shift(p.k_h * p.k_w), &mut mult, &mut shift);
    let (mult, shift) = (head(&mult, nm), head(&shift, nm));
    let ny = p.output_len() + rng.below(SLACK + 1);
    let na = p.out_c + rng.below(SLACK + 1);
    let _ = write!(geo, " out{},{},{} m{}", out.zp, out.min, out.max, nm);
    let mut packed = [W::of(0); N];
    taps_by_channel(&p, c.w(), &mut packed);
    let packed = head(&packed, c.w().len());

    let sentinel = Y::random(rng);
    let (mut got, mut exp, mut acc) = ([sentinel; N + SLACK], [sentinel; N + SLACK], [0i32; MAX_CH + SLACK]);
    imp(&p, c.x_zp, &out, mult, shift, c.x(), packed, c.bias(), head_mut(&mut acc, na), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::conv2d_q8(&p, c.x_zp, &out, mult, shift, c.x(), c.w(), c.bias(), &mut exp),
        Want::Twin(twin) => {
            twin(&p, c.x_zp, &out, mult, shift, c.x(), packed, c.bias(), head_mut(&mut acc, na), head_mut(&mut exp, ny))
        }
    }
    exact("y", &got, &exp)
}

/// In-place mode of the quantised convolutions: one batch of a random geometry, the
/// kernel run by [`inplace::conv_rows`] over one buffer with its output starting at
/// (or a little below) the computed shift from its input, compared exactly with the
/// expectation computed in separate buffers.
pub(crate) fn conv2d_q8_in_place<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    q8_in_place_of(rng, geo, imp, want, Groups::Any)
}

/// [`conv2d_q8_in_place`] on one-group convolutions only.
#[allow(dead_code, reason = "used by the table's lines for kernels specialised to one group")]
pub(crate) fn conv2d_q8_one_group_in_place<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    q8_in_place_of(rng, geo, imp, want, Groups::One)
}

/// [`conv2d_q8_in_place`] on one-group convolutions of up to [`MAX_CH`] channels.
#[allow(dead_code, reason = "used by the table's lines for kernels specialised to one group")]
pub(crate) fn conv2d_q8_wide_in_place<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    q8_in_place_of(rng, geo, imp, want, Groups::OneWide)
}

/// [`conv2d_q8_in_place`] for depthwise kernels (weights `kH,kW,C`).
pub(crate) fn depthwise_conv2d_q8_in_place<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    q8_in_place_of(rng, geo, imp, want, Groups::Depthwise)
}

/// [`depthwise_conv2d_q8_in_place`] over up to [`MAX_CH`] channels.
#[allow(dead_code, reason = "used by the table's lines for kernels vectorised across channels")]
pub(crate) fn depthwise_conv2d_q8_wide_in_place<X, W, F, G>(
    rng: &mut Rng,
    geo: &mut Text,
    imp: F,
    want: Want<G>,
) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    q8_in_place_of(rng, geo, imp, want, Groups::DepthwiseWide)
}

fn q8_in_place_of<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, groups: Groups) -> Verdict
where
    X: Int + Q8 + crate::Pod,
    W: Int + Into<i32>,
    F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
    G: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X]),
{
    let depthwise = matches!(groups, Groups::Depthwise | Groups::DepthwiseWide);
    let c = QConv::<X, W>::draw(rng, geo, groups);
    let p = Conv2d { batch: 1, ..c.p };
    let out = qout::<X>(rng);
    let (mut mult, mut shift) = ([0i32; MAX_CH], [0i32; MAX_CH]);
    let terms = p.in_c.checked_div(p.groups).unwrap_or(1) * p.k_h * p.k_w;
    let nm = multipliers(rng, p.out_c, typical_shift(terms), &mut mult, &mut shift);
    let (mult, shift) = (head(&mult, nm), head(&shift, nm));
    let na = p.out_c + rng.below(SLACK + 1);
    let mut packed = [W::of(0); N];
    let w = if depthwise {
        taps_by_channel(&p, c.w(), &mut packed);
        head(&packed, c.w().len())
    } else {
        c.w()
    };
    let (Some(s), Some(up)) = (inplace::conv_rows_shift(&p), inplace::conv_rows_above(&p)) else {
        return Err(super::Mismatch { output: "shift", index: 0, got: super::Num::Int(0), want: super::Num::Int(1) });
    };
    // Half the draws put the result below the input (rows first to last), half above
    // it (rows last to first).
    let below = rng.below(3);
    let (x_at, y_at) = if rng.below(2) == 0 {
        let x_at = s.unsigned_abs() + below + rng.below(3);
        let _ = write!(geo, " in-place y=x{s}-{below}");
        (x_at, x_at - s.unsigned_abs() - below)
    } else {
        let x_at = rng.below(3);
        let _ = write!(geo, " in-place y=x+{up}+{below}");
        (x_at, x_at + up.unsigned_abs() + below)
    };

    let sentinel = X::random(rng);
    let mut exp = [sentinel; N + SLACK];
    let ny = p.output_len();
    match want {
        Want::Reference => reference::conv2d_q8(&p, c.x_zp, &out, mult, shift, c.x(), c.w(), c.bias(), &mut exp),
        Want::Twin(twin) => {
            let mut acc = [0i32; MAX_CH + SLACK];
            twin(&p, c.x_zp, &out, mult, shift, c.x(), w, c.bias(), head_mut(&mut acc, na), head_mut(&mut exp, ny))
        }
    }
    let mut buf = [sentinel; 2 * N + 8];
    for (d, &v) in buf.iter_mut().skip(x_at).zip(head(c.x(), p.input_len())) {
        *d = v;
    }
    let mut acc = [0i32; MAX_CH + SLACK];
    inplace::conv_rows(&p, &mut buf, x_at, y_at, |q, x, y| {
        imp(q, c.x_zp, &out, mult, shift, x, w, c.bias(), head_mut(&mut acc, na), y)
    });
    exact("y", buf.get(y_at..y_at + ny).unwrap_or(&[]), head(&exp, ny))
}

/// `conv2d_f32` run in place through `inplace::conv_rows` (its result below the input
/// or above it, as the compiler places it): within the rounding bound of each output's
/// sum of the reference, or twice it of the separate-buffer twin.
pub(crate) fn conv2d_f32_in_place<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    f32_in_place_of(rng, geo, imp, want, Groups::Any)
}

/// [`conv2d_f32_in_place`] for depthwise kernels (weights `kH,kW,C`).
pub(crate) fn depthwise_conv2d_f32_in_place<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    f32_in_place_of(rng, geo, imp, want, Groups::Depthwise)
}

fn f32_in_place_of<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, groups: Groups) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let depthwise = matches!(groups, Groups::Depthwise | Groups::DepthwiseWide);
    let p = Conv2d { batch: 1, ..geometry(rng, groups) };
    let act = clamp_of(rng);
    let (mut w, mut bias) = ([0.0f32; N], [0.0f32; MAX_CH]);
    fill(&mut w, || rng.float(-1.0, 1.0));
    fill(&mut bias, || rng.float(-1.0, 1.0));
    let nb = if rng.chance(1, 4) { 0 } else { p.out_c };
    describe(geo, &p);
    let _ = write!(geo, " act{},{} bias{}", Sci(act.min), Sci(act.max), nb);
    let (w, bias) = (head(&w, weight_len(&p)), head(&bias, nb));
    let mut packed = [0.0f32; N];
    let kw = if depthwise {
        taps_by_channel(&p, w, &mut packed);
        head(&packed, w.len())
    } else {
        w
    };
    let (Some(s), Some(up)) = (inplace::conv_rows_shift(&p), inplace::conv_rows_above(&p)) else {
        return Err(super::Mismatch { output: "shift", index: 0, got: super::Num::Int(0), want: super::Num::Int(1) });
    };
    let below = rng.below(3);
    let (x_at, y_at) = if rng.below(2) == 0 {
        let x_at = s.unsigned_abs() + below + rng.below(3);
        let _ = write!(geo, " in-place y=x{s}-{below}");
        (x_at, x_at - s.unsigned_abs() - below)
    } else {
        let x_at = rng.below(3);
        let _ = write!(geo, " in-place y=x+{up}+{below}");
        (x_at, x_at + up.unsigned_abs() + below)
    };
    let ny = p.output_len();
    let mut buf = [SENTINEL; 2 * N + 8];
    for d in buf.iter_mut().skip(x_at).take(p.input_len()) {
        *d = rng.float(-1.0, 1.0);
    }
    let (mut exp, mut tol) = ([SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    {
        let x = buf.get(x_at..x_at + p.input_len()).unwrap_or(&[]);
        reference::conv2d_f32(&p, act, x, w, bias, &mut exp, &mut tol);
        if let Want::Twin(twin) = want {
            exp = [SENTINEL; N + SLACK];
            twin(&p, act, x, kw, bias, head_mut(&mut exp, ny));
            tol.iter_mut().for_each(|t| *t *= 2.0);
        }
    }
    inplace::conv_rows(&p, &mut buf, x_at, y_at, |q, x, y| imp(q, act, x, kw, bias, y));
    close("y", buf.get(y_at..y_at + ny).unwrap_or(&[]), head(&exp, ny), |i, _| tol.get(i).copied().unwrap_or(0.0))
}
