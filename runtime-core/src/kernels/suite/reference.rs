//! Naive references: every kernel written the most direct way from its ONNX
//! definition (for the fixed-point kernels, from their documented contract), one loop
//! nest per output element, f64 for floats, i128 for integers. Nothing here calls a
//! kernel or a kernel helper; the elementary functions are the suite's own
//! ([`math64`]). Float references whose error depends on the data (sums) also fill
//! `tol` with each element's allowed error.

use super::harness::{at, put, sum_bound, Int};
use super::math64;
use crate::kernels::{
    Axis, Bias, BinaryOp, Broadcast, Clamp, Conv2d, Gather, Gemm, Lstm, Pool2d, QAdd, QMul, Strided, UnaryFn, MAX_RANK,
};
use crate::quant::QOut;

// ---------------------------------------------------------------- shared definitions

/// `min(max(v, lo), hi)`, NaN passing through.
fn clamp(act: Clamp, v: f64) -> f64 {
    if v < act.min as f64 {
        act.min as f64
    } else if v > act.max as f64 {
        act.max as f64
    } else {
        v
    }
}

/// The integer output stage: add the zero point, clamp into `[min, max]`.
fn finish<Y: Int>(out: &QOut, v: i128) -> Y {
    let v = v + out.zp as i128;
    let v = if v < out.min as i128 {
        out.min as i128
    } else if v > out.max as i128 {
        out.max as i128
    } else {
        v
    };
    Y::of(v as i32)
}

/// `⌊a / b⌋` for `b > 0`.
fn floor_div(a: i128, b: i128) -> i128 {
    a.checked_div_euclid(b).unwrap_or(0)
}

/// `v / 2^shift` rounded half up, exactly.
fn shift_half_up(v: i128, shift: u32) -> i128 {
    let d = 1i128 << shift.min(100);
    floor_div(2 * v + d, 2 * d)
}

/// `a / b` (b > 0) rounded half away from zero, exactly.
fn div_half_away(a: i128, b: i128) -> i128 {
    let q = floor_div(2 * a.abs() + b, 2 * b);
    if a < 0 {
        -q
    } else {
        q
    }
}

/// Saturation to the i32 range.
fn sat_i32(v: i128) -> i128 {
    v.max(i32::MIN as i128).min(i32::MAX as i128)
}

/// The requantisation contract: `round_half_up(acc · mult / 2^shift)`, saturated to i32.
fn requant(acc: i128, mult: i32, shift: i32) -> i128 {
    sat_i32(shift_half_up(acc * mult as i128, shift as u32))
}

/// Visits every multi-index of `shape[..rank]` in row-major order (last axis fastest).
fn for_each_index(rank: usize, shape: &[usize; MAX_RANK], mut f: impl FnMut(&[usize; MAX_RANK])) {
    let rank = rank.min(MAX_RANK);
    if shape.iter().take(rank).any(|&s| s == 0) {
        return;
    }
    let mut idx = [0usize; MAX_RANK];
    loop {
        f(&idx);
        let mut d = rank;
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            let (Some(i), Some(&s)) = (idx.get_mut(d), shape.get(d)) else { return };
            *i += 1;
            if *i < s {
                break;
            }
            *i = 0;
        }
    }
}

/// `Σ idx[d] · stride[d]`.
fn offset(idx: &[usize; MAX_RANK], stride: &[usize; MAX_RANK]) -> usize {
    idx.iter().zip(stride).map(|(i, s)| i * s).sum()
}

// ---------------------------------------------------------------- convolution

/// Every tap of output `(n, oc, oh, ow)` that lands in the input, as (input index,
/// weight index): ONNX Conv on channels-last input (`N,H,W,C`) with `O,kH,kW,I/g`
/// weights, taps in the padding contributing zero.
fn conv_taps(p: &Conv2d, n: usize, oc: usize, oh: usize, ow: usize, mut f: impl FnMut(usize, usize)) {
    let cin_g = p.in_c.checked_div(p.groups).unwrap_or(0);
    let cout_g = p.out_c.checked_div(p.groups).unwrap_or(0);
    let g = oc.checked_div(cout_g).unwrap_or(0);
    for icg in 0..cin_g {
        let ic = g * cin_g + icg;
        for kh in 0..p.k_h {
            let ih = (oh * p.stride_h + kh * p.dil_h) as isize - p.pad_top as isize;
            for kw in 0..p.k_w {
                let iw = (ow * p.stride_w + kw * p.dil_w) as isize - p.pad_left as isize;
                if ih < 0 || iw < 0 || ih >= p.in_h as isize || iw >= p.in_w as isize {
                    continue;
                }
                let xi = ((n * p.in_h + ih as usize) * p.in_w + iw as usize) * p.in_c + ic;
                let wi = ((oc * p.k_h + kh) * p.k_w + kw) * cin_g + icg;
                f(xi, wi);
            }
        }
    }
}

/// Visits every output of a convolution with its (channels-last) index.
fn conv_outputs(p: &Conv2d, mut f: impl FnMut(usize, usize, usize, usize, usize)) {
    for n in 0..p.batch {
        for oc in 0..p.out_c {
            for oh in 0..p.out_h {
                for ow in 0..p.out_w {
                    f(((n * p.out_h + oh) * p.out_w + ow) * p.out_c + oc, n, oc, oh, ow);
                }
            }
        }
    }
}

/// Float convolution: `y = act(bias[oc] + Σ x · w)`.
pub(crate) fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], tol: &mut [f32]) {
    conv_outputs(p, |i, n, oc, oh, ow| {
        let b = at(bias, oc) as f64;
        let (mut sum, mut mag, mut terms) = (b, b.abs(), 1);
        conv_taps(p, n, oc, oh, ow, |xi, wi| {
            let t = at(x, xi) as f64 * at(w, wi) as f64;
            sum += t;
            mag += t.abs();
            terms += 1;
        });
        put(y, i, clamp(act, sum) as f32);
        put(tol, i, sum_bound(terms, mag));
    });
}

/// The integer accumulator of a convolution output: `bias[oc] + Σ (x − x_zp) · w`.
fn conv_acc<X: Int, W: Int>(p: &Conv2d, x_zp: i32, x: &[X], w: &[W], bias: &[i32], at_: [usize; 4]) -> i128 {
    let [n, oc, oh, ow] = at_;
    let mut acc = at(bias, oc) as i128;
    conv_taps(p, n, oc, oh, ow, |xi, wi| {
        let (xv, wv) = (x.get(xi).map_or(0, |v| v.wide()), w.get(wi).map_or(0, |v| v.wide()));
        acc += (xv - x_zp as i64) as i128 * wv as i128;
    });
    acc
}

/// Quantised convolution: `y = out(requant(acc, mult[oc], shift[oc]))`, one
/// multiplier for all channels when only one is given.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_q8<X: Int, W: Int, Y: Int>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    y: &mut [Y],
) {
    conv_outputs(p, |i, n, oc, oh, ow| {
        let acc = conv_acc(p, x_zp, x, w, bias, [n, oc, oh, ow]);
        let c = if mult.len() >= p.out_c { oc } else { 0 };
        put(y, i, finish(out, requant(acc, at(mult, c), at(shift, c))));
    });
}

/// ConvInteger: the raw accumulators.
pub(crate) fn conv2d_q8_i32<X: Int, W: Int>(p: &Conv2d, x_zp: i32, x: &[X], w: &[W], bias: &[i32], y: &mut [i32]) {
    conv_outputs(p, |i, n, oc, oh, ow| put(y, i, conv_acc(p, x_zp, x, w, bias, [n, oc, oh, ow]) as i32));
}

// ---------------------------------------------------------------- GEMM

/// Float GEMM: `y = act(alpha · op(A) · op(B) + beta · C)`, C broadcast by `p.bias`.
pub(crate) fn gemm_f32(p: &Gemm, act: Clamp, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32], tol: &mut [f32]) {
    let (m, n, k) = (p.m, p.n, p.k);
    for t in 0..p.batch {
        for i in 0..m {
            for j in 0..n {
                let (mut sum, mut mag) = (0.0f64, 0.0f64);
                for kk in 0..k {
                    let ai = t * p.batch_stride_a + if p.trans_a { kk * m + i } else { i * k + kk };
                    let bi = t * p.batch_stride_b + if p.trans_b { j * k + kk } else { kk * n + j };
                    let prod = at(a, ai) as f64 * at(b, bi) as f64;
                    sum += prod;
                    mag += prod.abs();
                }
                let cv = match p.bias {
                    Bias::None => 0.0,
                    Bias::Scalar => at(c, 0),
                    Bias::PerColumn => at(c, j),
                    Bias::PerRow => at(c, i),
                    Bias::Full => at(c, i * n + j),
                } as f64;
                let (alpha, beta) = (p.alpha as f64, p.beta as f64);
                let o = (t * m + i) * n + j;
                put(y, o, clamp(act, alpha * sum + beta * cv) as f32);
                put(tol, o, sum_bound(k + 2, alpha.abs() * mag + (beta * cv).abs()));
            }
        }
    }
}

/// The integer accumulator of a fully-connected output: `bias[j] + Σ (a[i,k] − a_zp) · w[j,k]`.
fn fc_acc<X: Int, W: Int>(p: &Gemm, a_zp: i32, a: &[X], w: &[W], bias: &[i32], i: usize, j: usize) -> i128 {
    let mut acc = at(bias, j) as i128;
    for kk in 0..p.k {
        let av = a.get(i * p.k + kk).map_or(0, |v| v.wide()) - a_zp as i64;
        let wv = w.get(j * p.k + kk).map_or(0, |v| v.wide());
        acc += av as i128 * wv as i128;
    }
    acc
}

/// Quantised fully-connected layer (`w` is `n × k`, the input zero point folded into
/// the bias): `y[i, j] = out(requant(bias[j] + Σ a · w, mult[j], shift[j]))`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_q8<X: Int, W: Int, Y: Int>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    y: &mut [Y],
) {
    for i in 0..p.m {
        for j in 0..p.n {
            let c = if mult.len() >= p.n { j } else { 0 };
            let acc = fc_acc(p, 0, a, w, bias, i, j);
            put(y, i * p.n + j, finish(out, requant(acc, at(mult, c), at(shift, c))));
        }
    }
}

/// MatMulInteger: the raw accumulators (no bias when `bias` is empty).
pub(crate) fn gemm_q8_i32<X: Int, W: Int>(p: &Gemm, a_zp: i32, a: &[X], w: &[W], bias: &[i32], y: &mut [i32]) {
    for i in 0..p.m {
        for j in 0..p.n {
            put(y, i * p.n + j, fc_acc(p, a_zp, a, w, bias, i, j) as i32);
        }
    }
}

// ---------------------------------------------------------------- elementwise

/// `y[idx] = f(a[idx · a_strides], b[idx · b_strides])` for every output index.
fn broadcast<A: Copy + Default, B: Copy + Default, Y>(
    p: &Broadcast,
    a: &[A],
    b: &[B],
    y: &mut [Y],
    f: impl Fn(A, B) -> Y,
) {
    let mut i = 0;
    for_each_index(p.rank, &p.shape, |idx| {
        put(y, i, f(at(a, offset(idx, &p.a)), at(b, offset(idx, &p.b))));
        i += 1;
    });
}

/// ONNX Add, Sub, Mul, Div, Pow, Max, Min (NaN-propagating) then the clamp.
pub(crate) fn binary_f32(p: &Broadcast, op: BinaryOp, act: Clamp, a: &[f32], b: &[f32], y: &mut [f32]) {
    broadcast(p, a, b, y, |a, b| {
        let (a, b) = (a as f64, b as f64);
        let v = match op {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Pow => math64::pow(a, b),
            BinaryOp::Max if a.is_nan() || b.is_nan() => f64::NAN,
            BinaryOp::Max => a.max(b),
            BinaryOp::Min if a.is_nan() || b.is_nan() => f64::NAN,
            BinaryOp::Min => a.min(b),
            BinaryOp::Fmod | BinaryOp::Mod if b == 0.0 || a.is_infinite() => f64::NAN,
            // a − trunc(a/b)·b is exact in f64 for f32 operands whose quotient fits 2^52.
            BinaryOp::Fmod => fmod(a, b),
            BinaryOp::Mod => {
                let r = fmod(a, b);
                if r != 0.0 && (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                }
            }
            BinaryOp::PRelu if a < 0.0 => a * b,
            BinaryOp::PRelu => a,
        };
        clamp(act, v) as f32
    });
}

/// The remainder of a / b with the sign of a, by long division on the exponents (exact).
fn fmod(a: f64, b: f64) -> f64 {
    let (mut r, d) = (a.abs(), b.abs());
    if d.is_infinite() {
        return a;
    }
    while r >= d {
        // The largest d·2^k not above r; subtracting it is exact.
        let mut m = d;
        while m * 2.0 <= r {
            m *= 2.0;
        }
        r -= m;
    }
    if a < 0.0 {
        -r
    } else {
        r
    }
}

/// Clip.
pub(crate) fn clamp_f32(act: Clamp, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = clamp(act, v as f64) as f32;
    }
}

/// The interval `[0, 1]`.
const UNIT: Clamp = Clamp { min: 0.0, max: 1.0 };

/// The ONNX unary functions.
pub(crate) fn unary_f32(f: UnaryFn, x: &[f32], y: &mut [f32]) {
    for (o, &v) in y.iter_mut().zip(x) {
        let v = v as f64;
        let r = match f {
            UnaryFn::Sigmoid => math64::sigmoid(v),
            UnaryFn::Tanh => math64::tanh(v),
            UnaryFn::Exp => math64::exp(v),
            UnaryFn::Log => math64::ln(v),
            UnaryFn::Sqrt => math64::sqrt(v),
            UnaryFn::Neg => -v,
            UnaryFn::Abs => v.abs(),
            UnaryFn::Reciprocal => 1.0 / v,
            UnaryFn::LeakyRelu(alpha) => {
                if v < 0.0 {
                    alpha as f64 * v
                } else {
                    v
                }
            }
            UnaryFn::HardSigmoid(alpha, beta) => clamp(UNIT, alpha as f64 * v + beta as f64),
            UnaryFn::HardSwish => v * clamp(UNIT, v / 6.0 + 0.5),
            UnaryFn::Softplus => math64::ln(1.0 + math64::exp(v)),
            UnaryFn::Silu => v * math64::sigmoid(v),
            UnaryFn::Sin => math64::sin(v),
            UnaryFn::Cos => math64::cos(v),
            UnaryFn::Tan => math64::tan(v),
            UnaryFn::Asin => math64::asin(v),
            UnaryFn::Acos => math64::acos(v),
            UnaryFn::Atan => math64::atan(v),
            UnaryFn::Sinh => math64::sinh(v),
            UnaryFn::Cosh => math64::cosh(v),
            UnaryFn::Asinh => math64::asinh(v),
            UnaryFn::Acosh => math64::acosh(v),
            UnaryFn::Atanh => math64::atanh(v),
            UnaryFn::Floor => math64::floor(v),
            UnaryFn::Ceil => math64::ceil(v),
            UnaryFn::Round => math64::round_ties_even(v),
            UnaryFn::Sign if v > 0.0 => 1.0,
            UnaryFn::Sign if v < 0.0 => -1.0,
            UnaryFn::Sign => v,
            UnaryFn::Erf => math64::erf(v),
            UnaryFn::Softsign => v / (1.0 + v.abs()),
            UnaryFn::Mish => v * math64::tanh(math64::ln(1.0 + math64::exp(v))),
            UnaryFn::Gelu => 0.5 * v * (1.0 + math64::erf(v * core::f64::consts::FRAC_1_SQRT_2)),
            UnaryFn::GeluTanh => {
                let k = math64::sqrt(2.0 / core::f64::consts::PI);
                0.5 * v * (1.0 + math64::tanh(k * (v + 0.044_715 * v * v * v)))
            }
            UnaryFn::Elu(alpha) if v < 0.0 => alpha as f64 * (math64::exp(v) - 1.0),
            UnaryFn::Elu(_) => v,
            UnaryFn::Selu(alpha, gamma) if v <= 0.0 => gamma as f64 * alpha as f64 * (math64::exp(v) - 1.0),
            UnaryFn::Selu(_, gamma) => gamma as f64 * v,
            UnaryFn::Celu(alpha) if v < 0.0 => alpha as f64 * (math64::exp(v / alpha as f64) - 1.0),
            UnaryFn::Celu(_) => v,
            UnaryFn::ThresholdedRelu(alpha) if v > alpha as f64 => v,
            UnaryFn::ThresholdedRelu(_) => 0.0,
            UnaryFn::Shrink(lambda, bias) if v < -(lambda as f64) => v + bias as f64,
            UnaryFn::Shrink(lambda, bias) if v > lambda as f64 => v - bias as f64,
            UnaryFn::Shrink(..) => 0.0,
        };
        *o = r as f32;
    }
}

/// QLinearAdd: `y = out(round_half_up(((a − za)·ma + (b − zb)·mb) / 2^shift))`.
pub(crate) fn add_q8<A: Int, B: Int, Y: Int>(p: &Broadcast, q: &QAdd, out: &QOut, a: &[A], b: &[B], y: &mut [Y]) {
    let (a, b) = (Wide(a), Wide(b));
    let mut i = 0;
    for_each_index(p.rank, &p.shape, |idx| {
        let (av, bv) = (a.get(offset(idx, &p.a)) - q.a_zp as i128, b.get(offset(idx, &p.b)) - q.b_zp as i128);
        let s = av * q.a_mult as i128 + bv * q.b_mult as i128;
        put(y, i, finish(out, sat_i32(shift_half_up(s, q.shift))));
        i += 1;
    });
}

/// QLinearMul: `y = out(requant((a − za)(b − zb), mult, shift))`.
pub(crate) fn mul_q8<A: Int, B: Int, Y: Int>(p: &Broadcast, q: &QMul, out: &QOut, a: &[A], b: &[B], y: &mut [Y]) {
    let (a, b) = (Wide(a), Wide(b));
    let mut i = 0;
    for_each_index(p.rank, &p.shape, |idx| {
        let prod = (a.get(offset(idx, &p.a)) - q.a_zp as i128) * (b.get(offset(idx, &p.b)) - q.b_zp as i128);
        put(y, i, finish(out, requant(prod, q.mult, q.shift as i32)));
        i += 1;
    });
}

/// Integer elements read as i128 (0 outside the slice).
struct Wide<'a, T>(&'a [T]);

impl<T: Int> Wide<'_, T> {
    fn get(&self, i: usize) -> i128 {
        self.0.get(i).map_or(0, |v| v.wide() as i128)
    }
}

// ---------------------------------------------------------------- along an axis

/// Visits every (outer, inner) line of an axis with the index of its element `j`.
fn lines(p: &Axis, mut f: impl FnMut(&dyn Fn(usize) -> usize)) {
    for o in 0..p.outer {
        for i in 0..p.inner {
            f(&|j| (o * p.len + j) * p.inner + i);
        }
    }
}

/// Softmax (or log-softmax) along the axis: `e^(x − max) / Σ e^(x − max)`.
pub(crate) fn softmax_f32(p: &Axis, log: bool, x: &[f32], y: &mut [f32]) {
    lines(p, |at_| {
        let max = (0..p.len).map(|j| at(x, at_(j)) as f64).fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..p.len).map(|j| math64::exp(at(x, at_(j)) as f64 - max)).sum();
        for j in 0..p.len {
            let d = at(x, at_(j)) as f64 - max;
            put(y, at_(j), if log { d - math64::ln(sum) } else { math64::exp(d) / sum } as f32);
        }
    });
}

/// Inference BatchNormalization folded: `y = x · scale[c] + shift[c]`.
pub(crate) fn channel_affine_f32(p: &Axis, scale: &[f32], shift: &[f32], x: &[f32], y: &mut [f32], tol: &mut [f32]) {
    per_channel(p, |c, i| {
        let prod = at(x, i) as f64 * at(scale, c) as f64;
        let t = at(shift, c) as f64;
        put(y, i, (prod + t) as f32);
        put(tol, i, sum_bound(1, prod.abs() + t.abs()));
    });
}

/// Visits every element with its channel (the middle axis).
fn per_channel(p: &Axis, mut f: impl FnMut(usize, usize)) {
    for o in 0..p.outer {
        for c in 0..p.len {
            for i in 0..p.inner {
                f(c, (o * p.len + c) * p.inner + i);
            }
        }
    }
}

/// The quantised softmax contract: `d = max − x`, `y = out(round_half_up(E[d] ·
/// inv_scale_q16 / (Σ E · 2^16)))`, capped at `i32::MAX`.
pub(crate) fn softmax_q8<X: Int, Y: Int>(
    p: &Axis,
    exp_table: &[u32],
    inv_scale_q16: u32,
    out: &QOut,
    x: &[X],
    y: &mut [Y],
) {
    let xs = Wide(x);
    lines(p, |at_| {
        let max = (0..p.len).map(|j| xs.get(at_(j))).max().unwrap_or(0);
        let e = |j: usize| at(exp_table, (max - xs.get(at_(j))) as usize) as i128;
        let sum: i128 = (0..p.len).map(e).sum();
        let den = sum.max(1) << 16;
        for j in 0..p.len {
            let v = floor_div(2 * e(j) * inv_scale_q16 as i128 + den, 2 * den).min(i32::MAX as i128);
            put(y, at_(j), finish(out, v));
        }
    });
}

// ---------------------------------------------------------------- pooling

/// Every tap of the window of output `(oh, ow)` as a signed input position (possibly
/// in the padding or past it).
fn window(p: &Pool2d, oh: usize, ow: usize, mut f: impl FnMut(isize, isize)) {
    for kh in 0..p.k_h {
        for kw in 0..p.k_w {
            let ih = (oh * p.stride_h + kh * p.dil_h) as isize - p.pad_top as isize;
            let iw = (ow * p.stride_w + kw * p.dil_w) as isize - p.pad_left as isize;
            f(ih, iw);
        }
    }
}

fn inside(p: &Pool2d, ih: isize, iw: isize) -> bool {
    ih >= 0 && iw >= 0 && ih < p.in_h as isize && iw < p.in_w as isize
}

/// The (channels-last) input index of element `(n, c, ih, iw)` of a pool.
fn pool_in(p: &Pool2d, nc: (usize, usize), ih: isize, iw: isize) -> usize {
    let (n, c) = nc;
    ((n * p.in_h + ih as usize) * p.in_w + iw as usize) * p.channels + c
}

/// Visits each output of a pool as (output index, (batch, channel), oh, ow).
fn pool_outputs(p: &Pool2d, mut f: impl FnMut(usize, (usize, usize), usize, usize)) {
    for n in 0..p.batch {
        for c in 0..p.channels {
            for oh in 0..p.out_h {
                for ow in 0..p.out_w {
                    f(((n * p.out_h + oh) * p.out_w + ow) * p.channels + c, (n, c), oh, ow);
                }
            }
        }
    }
}

/// The real elements of a window (input indices) and its divisor: the real elements,
/// or with `count_include_pad` every tap inside the padded input.
fn average_taps(p: &Pool2d, c: (usize, usize), oh: usize, ow: usize, mut f: impl FnMut(usize)) -> i128 {
    let (mut real, mut padded) = (0, 0);
    window(p, oh, ow, |ih, iw| {
        if ih < (p.in_h + p.pad_bottom) as isize && iw < (p.in_w + p.pad_right) as isize {
            padded += 1;
        }
        if inside(p, ih, iw) {
            real += 1;
            f(pool_in(p, c, ih, iw));
        }
    });
    if p.count_include_pad {
        padded
    } else {
        real
    }
}

/// MaxPool: the largest real element of each window.
pub(crate) fn max_pool2d<T: Copy + Default + PartialOrd>(p: &Pool2d, lowest: T, x: &[T], y: &mut [T]) {
    pool_outputs(p, |o, c, oh, ow| {
        let mut m = lowest;
        window(p, oh, ow, |ih, iw| {
            if inside(p, ih, iw) {
                let v = at(x, pool_in(p, c, ih, iw));
                if v > m {
                    m = v;
                }
            }
        });
        put(y, o, m);
    });
}

/// AveragePool: the window's sum over its divisor.
pub(crate) fn avg_pool2d_f32(p: &Pool2d, x: &[f32], y: &mut [f32], tol: &mut [f32]) {
    pool_outputs(p, |o, c, oh, ow| {
        let (mut sum, mut mag, mut terms) = (0.0f64, 0.0f64, 0);
        let count = average_taps(p, c, oh, ow, |i| {
            sum += at(x, i) as f64;
            mag += (at(x, i) as f64).abs();
            terms += 1;
        });
        let count = count.max(1) as f64;
        put(y, o, (sum / count) as f32);
        put(tol, o, sum_bound(terms + 1, mag / count));
    });
}

/// The averaging contract of the quantised pools: `round_half_up(round_half_away(sum ·
/// mult / count) / 2^shift)`, then the output stage.
fn average_q8<Y: Int>(out: &QOut, sum: i128, count: i128, mult: i32, shift: u32) -> Y {
    let v = if count > 0 { div_half_away(sum * mult as i128, count) } else { 0 };
    finish(out, sat_i32(shift_half_up(v, shift)))
}

/// Quantised AveragePool.
#[allow(clippy::too_many_arguments)]
pub(crate) fn avg_pool2d_q8<X: Int, Y: Int>(
    p: &Pool2d,
    x_zp: i32,
    out: &QOut,
    mult: i32,
    shift: u32,
    x: &[X],
    y: &mut [Y],
) {
    let xs = Wide(x);
    pool_outputs(p, |o, c, oh, ow| {
        let mut sum = 0i128;
        let count = average_taps(p, c, oh, ow, |i| sum += xs.get(i) - x_zp as i128);
        put(y, o, average_q8(out, sum, count, mult, shift));
    });
}

/// The elements along the middle axis of `outer × len × inner` for output `(o, i)`.
fn along(p: &Axis, o: usize, i: usize) -> impl Iterator<Item = usize> + '_ {
    (0..p.len).map(move |j| (o * p.len + j) * p.inner + i)
}

/// Mean along an axis (global average pooling).
pub(crate) fn mean_axis_f32(p: &Axis, x: &[f32], y: &mut [f32], tol: &mut [f32]) {
    for o in 0..p.outer {
        for i in 0..p.inner {
            let (sum, mag) = along(p, o, i).map(|k| at(x, k) as f64).fold((0.0, 0.0), |(s, m), v| (s + v, m + v.abs()));
            let len = p.len.max(1) as f64;
            put(y, o * p.inner + i, (sum / len) as f32);
            put(tol, o * p.inner + i, sum_bound(p.len + 1, mag / len));
        }
    }
}

/// Maximum along an axis (global max pooling).
pub(crate) fn max_axis_f32(p: &Axis, x: &[f32], y: &mut [f32]) {
    for o in 0..p.outer {
        for i in 0..p.inner {
            let m = along(p, o, i).map(|k| at(x, k)).fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
            put(y, o * p.inner + i, m);
        }
    }
}

/// Quantised mean along an axis.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mean_axis_q8<X: Int, Y: Int>(
    p: &Axis,
    x_zp: i32,
    out: &QOut,
    mult: i32,
    shift: u32,
    x: &[X],
    y: &mut [Y],
) {
    let xs = Wide(x);
    for o in 0..p.outer {
        for i in 0..p.inner {
            let sum: i128 = along(p, o, i).map(|k| xs.get(k) - x_zp as i128).sum();
            put(y, o * p.inner + i, average_q8(out, sum, p.len as i128, mult, shift));
        }
    }
}

// ---------------------------------------------------------------- data movement

/// `y[..x.len()] = x` when `y` is long enough.
pub(crate) fn copy<T: Copy>(x: &[T], y: &mut [T]) {
    if y.len() >= x.len() {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = v;
        }
    }
}

/// Every element of `y` set to `v`.
pub(crate) fn fill<T: Copy>(v: T, y: &mut [T]) {
    for o in y.iter_mut() {
        *o = v;
    }
}

/// `y[dst_offset + Σ i·dst] = x[src_offset + Σ i·src]` for every index of the shape.
pub(crate) fn copy_strided<T: Copy + Default>(p: &Strided, x: &[T], y: &mut [T]) {
    for_each_index(p.rank, &p.shape, |idx| {
        let src: isize = idx.iter().zip(&p.src).map(|(&i, &s)| i as isize * s).sum();
        let dst = p.dst_offset + offset(idx, &p.dst);
        put(y, dst, at(x, (p.src_offset as isize + src) as usize));
    });
}

/// Gather along an axis: `y[o, j, i] = x[o, indices[j], i]`.
pub(crate) fn gather<T: Copy + Default>(p: &Gather, indices: &[usize], x: &[T], y: &mut [T]) {
    let n = indices.len();
    for o in 0..p.outer {
        for (j, &k) in indices.iter().enumerate() {
            for i in 0..p.inner {
                put(y, (o * n + j) * p.inner + i, at(x, (o * p.axis_len + k) * p.inner + i));
            }
        }
    }
}

// ---------------------------------------------------------------- quantisation

/// QuantizeLinear: `saturate(round_ties_even(x / scale[c]) + zp[c])` (x / scale in f32,
/// as ONNX computes it; NaN quantises to the zero point).
pub(crate) fn quantize_f32<Y: Int>(p: &Axis, scale: &[f32], zp: &[i32], x: &[f32], y: &mut [Y]) {
    per_channel(p, |c, i| {
        let q = (at(x, i) / at(scale, c)) as f64;
        let v = if q.is_nan() { 0.0 } else { math64::round_ties_even(q) } + at(zp, c) as f64;
        let v = if v < Y::LO as f64 {
            Y::LO
        } else if v > Y::HI as f64 {
            Y::HI
        } else {
            v as i32
        };
        put(y, i, Y::of(v));
    });
}

/// QuantizeLinear through a strided copy: `y[d] = quantize(x[s])` (as
/// [`quantize_f32`]) for every (destination, source) pair of `p`, with the parameters
/// of channel `(d / q.inner) mod q.len` of the destination.
pub(crate) fn quantize_strided_f32<Y: Int>(p: &Strided, q: &Axis, scale: &[f32], zp: &[i32], x: &[f32], y: &mut [Y]) {
    for_each_index(p.rank, &p.shape, |idx| {
        let src: isize = idx.iter().zip(&p.src).map(|(&i, &s)| i as isize * s).sum();
        let dst = p.dst_offset + offset(idx, &p.dst);
        let c = dst.checked_div(q.inner).and_then(|v| v.checked_rem(q.len)).unwrap_or(0);
        let v = at(x, (p.src_offset as isize + src) as usize);
        let mut one = [Y::of(0)];
        quantize_f32(&Axis { outer: 1, len: 1, inner: 1 }, &[at(scale, c)], &[at(zp, c)], &[v], &mut one);
        let [q8] = one;
        put(y, dst, q8);
    });
}

/// DequantizeLinear: `(x − zp[c]) · scale[c]`.
pub(crate) fn dequantize_f32<X: Int>(p: &Axis, scale: &[f32], zp: &[i32], x: &[X], y: &mut [f32]) {
    let xs = Wide(x);
    per_channel(p, |c, i| put(y, i, ((xs.get(i) - at(zp, c) as i128) as f64 * at(scale, c) as f64) as f32));
}

/// DequantizeLinear of 32-bit integers: `x · scale[c]`.
pub(crate) fn dequantize_i32(p: &Axis, scale: &[f32], x: &[i32], y: &mut [f32]) {
    per_channel(p, |c, i| put(y, i, (at(x, i) as f64 * at(scale, c) as f64) as f32));
}

/// A table lookup: `y = table[x − min(X)]`.
pub(crate) fn lookup_q8<X: Int, Y: Int + Default>(table: &[Y], x: &[X], y: &mut [Y]) {
    for (o, v) in y.iter_mut().zip(x) {
        *o = at(table, (v.wide() - X::LO as i64) as usize);
    }
}

// ---------------------------------------------------------------- LSTM

/// State vectors of the reference LSTM (batch × hidden per direction).
pub(crate) const LSTM_STATE: usize = 64;

/// ONNX LSTM, layout 0, gates i, o, f, c, activations σ, tanh, tanh:
///
/// ```text
/// i = σ(Xt·Wiᵀ + Ht−1·Riᵀ + Pi ⊙ Ct−1 + Wbi + Rbi)
/// f = σ(Xt·Wfᵀ + Ht−1·Rfᵀ + Pf ⊙ Ct−1 + Wbf + Rbf)      (1 − i with input_forget)
/// c = tanh(Xt·Wcᵀ + Ht−1·Rcᵀ + Wbc + Rbc)
/// Ct = f ⊙ Ct−1 + i ⊙ c
/// o = σ(Xt·Woᵀ + Ht−1·Roᵀ + Po ⊙ Ct + Wbo + Rbo)
/// Ht = o ⊙ tanh(Ct)
/// ```
///
/// with every pre-activation clipped to ±clip when clip > 0. Empty optional inputs are
/// zeros; empty outputs are not written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn lstm_f32(
    p: &Lstm,
    x: &[f32],
    w: &[f32],
    r: &[f32],
    bias: &[f32],
    h0: &[f32],
    c0: &[f32],
    peep: &[f32],
    y: &mut [f32],
    y_h: &mut [f32],
    y_c: &mut [f32],
) {
    let (b, h, n_in) = (p.batch, p.hidden, p.input);
    let clip = |v: f64| {
        let c = p.clip as f64;
        if c > 0.0 {
            v.max(-c).min(c)
        } else {
            v
        }
    };
    for d in 0..p.directions {
        let reverse = if p.directions == 2 { d == 1 } else { p.reverse };
        let mut hs = [0.0f64; LSTM_STATE];
        let mut cs = [0.0f64; LSTM_STATE];
        for s in 0..b * h {
            put(&mut hs, s, at(h0, d * b * h + s) as f64);
            put(&mut cs, s, at(c0, d * b * h + s) as f64);
        }
        for step in 0..p.seq {
            let t = if reverse { p.seq - 1 - step } else { step };
            let mut new_h = [0.0f64; LSTM_STATE];
            for bi in 0..b {
                for k in 0..h {
                    // Pre-activation of gate g (0 i, 1 o, 2 f, 3 c) for hidden unit k.
                    let pre = |g: usize| {
                        let row = d * 4 * h + g * h + k;
                        let mut v =
                            at(bias, d * 8 * h + g * h + k) as f64 + at(bias, d * 8 * h + 4 * h + g * h + k) as f64;
                        for e in 0..n_in {
                            v += at(x, (t * b + bi) * n_in + e) as f64 * at(w, row * n_in + e) as f64;
                        }
                        for e in 0..h {
                            v += at(&hs, bi * h + e) * at(r, row * h + e) as f64;
                        }
                        v
                    };
                    let peep_of = |g: usize| at(peep, d * 3 * h + g * h + k) as f64;
                    let c_prev = at(&cs, bi * h + k);
                    let i_g = math64::sigmoid(clip(pre(0) + peep_of(0) * c_prev));
                    let f_g =
                        if p.input_forget { 1.0 - i_g } else { math64::sigmoid(clip(pre(2) + peep_of(2) * c_prev)) };
                    let c_g = math64::tanh(clip(pre(3)));
                    let c_new = f_g * c_prev + i_g * c_g;
                    let o_g = math64::sigmoid(clip(pre(1) + peep_of(1) * c_new));
                    let h_new = o_g * math64::tanh(c_new);
                    put(&mut cs, bi * h + k, c_new);
                    put(&mut new_h, bi * h + k, h_new);
                    put(y, ((t * p.directions + d) * b + bi) * h + k, h_new as f32);
                }
            }
            hs = new_h;
        }
        for s in 0..b * h {
            put(y_h, d * b * h + s, at(&hs, s) as f32);
            put(y_c, d * b * h + s, at(&cs, s) as f32);
        }
    }
}
