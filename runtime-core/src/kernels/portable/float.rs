//! Float kernels generic over the element type ([`Float`]: f32 and f64). The
//! generated code instantiates them for f64 tensors computed at run time, in f64
//! arithmetic with the f64 functions of [`crate::math`]; f32 tensors keep their own
//! families (`unary_f32`, `binary_f32`, …), which the kernel selection can replace
//! with ISA kernels. The f32 instantiation exists so the tests can hold the generic
//! loops to those families.

use super::elementwise::broadcast_map;
use super::reduce::for_each_reduced_set;
use crate::kernels::{Axis, Bias, BinaryOp, Broadcast, Gemm, Reduce, ReduceOp, UnaryFn};
use crate::math;
use core::ops::{Add, Div, Mul, Neg, Sub};

/// A float element type: arithmetic, and the few primitive functions every other
/// function of [`unary_float`] is built from (each computed in the type's own
/// precision: f64 through the f64 functions of [`crate::math`]).
pub trait Float:
    Copy
    + Default
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// +∞.
    const INFINITY: Self;
    /// −∞.
    const NEG_INFINITY: Self;
    /// NaN.
    const NAN: Self;
    /// The nearest value to an f32 (kernel parameters are f32).
    fn from_f32(v: f32) -> Self;
    /// The nearest value to an f64.
    fn from_f64(v: f64) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// |x|.
    fn abs(self) -> Self;
    /// e^x.
    fn exp(self) -> Self;
    /// e^x − 1, accurate near zero.
    fn expm1(self) -> Self;
    /// ln x.
    fn ln(self) -> Self;
    /// √x.
    fn sqrt(self) -> Self;
    /// (sin x, cos x).
    fn sin_cos(self) -> (Self, Self);
    /// atan x.
    fn atan(self) -> Self;
    /// The error function.
    fn erf(self) -> Self;
    /// x rounded toward zero.
    fn trunc(self) -> Self;
}

/// Implements [`Float`] for `$t`, each transcendental primitive by the runtime's own
/// `math` function given.
macro_rules! impl_float {
    ($t:ident, $exp:ident, $expm1:ident, $ln:ident, $sqrt:ident, $sin_cos:ident, $atan:ident, $erf:ident, $trunc:path) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const INFINITY: Self = $t::INFINITY;
            const NEG_INFINITY: Self = $t::NEG_INFINITY;
            const NAN: Self = $t::NAN;
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            #[inline(always)]
            fn abs(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn exp(self) -> Self {
                math::$exp(self)
            }
            #[inline(always)]
            fn expm1(self) -> Self {
                math::$expm1(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                math::$ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                math::$sqrt(self)
            }
            #[inline(always)]
            fn sin_cos(self) -> (Self, Self) {
                math::$sin_cos(self)
            }
            #[inline(always)]
            fn atan(self) -> Self {
                math::$atan(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                math::$erf(self)
            }
            #[inline(always)]
            fn trunc(self) -> Self {
                $trunc(self)
            }
        }
    };
}

impl_float!(f32, exp, expm1, ln, sqrt, sin_cos, atan, erf, math::trunc);
impl_float!(f64, exp64, expm1_64, ln64, sqrt64, sin_cos64, atan64, erf64, trunc64);

/// Truncation toward zero of an f64.
#[inline(always)]
fn trunc64(v: f64) -> f64 {
    // Every f64 of magnitude 2^52 or more is an integer already (NaN and ±inf too).
    if v.is_nan() || v.abs() >= 4_503_599_627_370_496.0 {
        return v;
    }
    ((v as i64) as f64).copysign(v)
}

/// The functions of [`unary_float`] built from the primitives of [`Float`].
trait Derived: Float {
    fn floor(self) -> Self {
        let t = self.trunc();
        if t > self {
            t - Self::ONE
        } else {
            t
        }
    }
    fn ceil(self) -> Self {
        let t = self.trunc();
        if t < self {
            t + Self::ONE
        } else {
            t
        }
    }
    /// Halves to even.
    fn round(self) -> Self {
        let f = self.floor();
        let half = Self::from_f32(0.5);
        let d = self - f;
        let odd = (f * half).trunc() != f * half;
        let r = if d > half || (d == half && odd) { f + Self::ONE } else { f };
        if r == Self::ZERO {
            // Keep the sign of zero.
            self * Self::ZERO
        } else {
            r
        }
    }
    fn sigmoid(self) -> Self {
        Self::ONE / (Self::ONE + (-self).exp())
    }
    fn tanh(self) -> Self {
        if self.is_nan() {
            return self;
        }
        let a = self.abs();
        let t = if a > Self::from_f32(20.0) {
            Self::ONE
        } else {
            let e = (a + a).expm1();
            e / (e + Self::from_f32(2.0))
        };
        if self < Self::ZERO {
            -t
        } else {
            t
        }
    }
    /// ln(1 + e^x), accurate where e^x is far below one.
    fn softplus(self) -> Self {
        if self > Self::from_f32(30.0) {
            return self;
        }
        let e = self.exp();
        if e < Self::from_f32(1e-4) {
            // ln(1 + e) by its series: e − e²/2 + e³/3.
            e - e * e * Self::from_f32(0.5) + e * e * e / Self::from_f32(3.0)
        } else {
            (Self::ONE + e).ln()
        }
    }
    fn sinh(self) -> Self {
        let e = self.abs().expm1();
        let s = Self::from_f32(0.5) * (e + e / (e + Self::ONE));
        if self < Self::ZERO {
            -s
        } else {
            s
        }
    }
    fn cosh(self) -> Self {
        let e = self.abs().exp();
        Self::from_f32(0.5) * (e + Self::ONE / e)
    }
    fn asin(self) -> Self {
        if self.is_nan() || self.abs() > Self::ONE {
            return Self::NAN;
        }
        if self.abs() == Self::ONE {
            return self * Self::from_f64(core::f64::consts::FRAC_PI_2);
        }
        (self / ((Self::ONE - self) * (Self::ONE + self)).sqrt()).atan()
    }
    fn acos(self) -> Self {
        if self.is_nan() || self.abs() > Self::ONE {
            return Self::NAN;
        }
        if self == -Self::ONE {
            return Self::from_f64(core::f64::consts::PI);
        }
        let h = ((Self::ONE - self) / (Self::ONE + self)).sqrt().atan();
        h + h
    }
    fn asinh(self) -> Self {
        let a = self.abs();
        let r = if a < Self::from_f32(1e-4) {
            a - a * a * a / Self::from_f32(6.0)
        } else {
            (a + (a * a + Self::ONE).sqrt()).ln()
        };
        if self < Self::ZERO {
            -r
        } else {
            r
        }
    }
    fn acosh(self) -> Self {
        if self.is_nan() || self < Self::ONE {
            return Self::NAN;
        }
        (self + ((self - Self::ONE) * (self + Self::ONE)).sqrt()).ln()
    }
    fn atanh(self) -> Self {
        if self.is_nan() || self.abs() > Self::ONE {
            return Self::NAN;
        }
        if self.abs() < Self::from_f32(1e-4) {
            return self + self * self * self / Self::from_f32(3.0);
        }
        Self::from_f32(0.5) * ((Self::ONE + self) / (Self::ONE - self)).ln()
    }
    /// x^y with the C `pow` conventions for the cases networks meet.
    fn pow(self, y: Self) -> Self {
        if y == Self::ZERO {
            return Self::ONE;
        }
        let is_int = y.trunc() == y && y.abs() < Self::from_f32(2_147_483_648.0);
        if is_int && y.abs() <= Self::from_f32(64.0) {
            let (mut base, mut acc) = (self, Self::ONE);
            let mut e = y.abs();
            // Square-and-multiply on the exponent's bits, read as a float.
            while e > Self::ZERO {
                let half = (e * Self::from_f32(0.5)).trunc();
                if e - half - half == Self::ONE {
                    acc = acc * base;
                }
                base = base * base;
                e = half;
            }
            return if y < Self::ZERO { Self::ONE / acc } else { acc };
        }
        if self < Self::ZERO {
            if !is_int {
                return Self::NAN;
            }
            let r = (y * (-self).ln()).exp();
            let odd = (y * Self::from_f32(0.5)).trunc() != y * Self::from_f32(0.5);
            return if odd { -r } else { r };
        }
        (y * self.ln()).exp()
    }
    /// C's `fmod`: a − trunc(a/b)·b, NaN for b = 0 or infinite a.
    fn fmod(self, b: Self) -> Self {
        if b == Self::ZERO || self.is_nan() || b.is_nan() || self.abs() == Self::INFINITY {
            return Self::NAN;
        }
        if b.abs() == Self::INFINITY {
            return self;
        }
        self - (self / b).trunc() * b
    }
}

impl<T: Float> Derived for T {}

/// `y = f(x)` elementwise.
pub fn unary_float<T: Float>(f: UnaryFn, x: &[T], y: &mut [T]) {
    macro_rules! map {
        (|$v:ident| $e:expr) => {
            for (o, &$v) in y.iter_mut().zip(x) {
                *o = $e;
            }
        };
    }
    let c = T::from_f32;
    let clamp01 = |v: T| {
        if v < T::ZERO {
            T::ZERO
        } else if v > T::ONE {
            T::ONE
        } else {
            v
        }
    };
    match f {
        UnaryFn::Sigmoid => map!(|v| v.sigmoid()),
        UnaryFn::Tanh => map!(|v| v.tanh()),
        UnaryFn::Exp => map!(|v| v.exp()),
        UnaryFn::Log => map!(|v| v.ln()),
        UnaryFn::Sqrt => map!(|v| v.sqrt()),
        UnaryFn::Neg => map!(|v| -v),
        UnaryFn::Abs => map!(|v| v.abs()),
        UnaryFn::Reciprocal => map!(|v| T::ONE / v),
        UnaryFn::LeakyRelu(alpha) => map!(|v| if v >= T::ZERO { v } else { c(alpha) * v }),
        UnaryFn::HardSigmoid(alpha, beta) => map!(|v| clamp01(c(alpha) * v + c(beta))),
        UnaryFn::HardSwish => map!(|v| v * clamp01(v / c(6.0) + c(0.5))),
        UnaryFn::Softplus => map!(|v| v.softplus()),
        UnaryFn::Silu => map!(|v| v * v.sigmoid()),
        UnaryFn::Sin => map!(|v| v.sin_cos().0),
        UnaryFn::Cos => map!(|v| v.sin_cos().1),
        UnaryFn::Tan => map!(|v| {
            let (s, k) = v.sin_cos();
            s / k
        }),
        UnaryFn::Asin => map!(|v| v.asin()),
        UnaryFn::Acos => map!(|v| v.acos()),
        UnaryFn::Atan => map!(|v| v.atan()),
        UnaryFn::Sinh => map!(|v| v.sinh()),
        UnaryFn::Cosh => map!(|v| v.cosh()),
        UnaryFn::Asinh => map!(|v| v.asinh()),
        UnaryFn::Acosh => map!(|v| v.acosh()),
        UnaryFn::Atanh => map!(|v| v.atanh()),
        UnaryFn::Floor => map!(|v| v.floor()),
        UnaryFn::Ceil => map!(|v| v.ceil()),
        UnaryFn::Round => map!(|v| v.round()),
        UnaryFn::Sign => map!(|v| if v > T::ZERO {
            T::ONE
        } else if v < T::ZERO {
            -T::ONE
        } else {
            v
        }),
        UnaryFn::Erf => map!(|v| v.erf()),
        UnaryFn::Softsign => map!(|v| v / (T::ONE + v.abs())),
        UnaryFn::Mish => map!(|v| v * v.softplus().tanh()),
        UnaryFn::Gelu => map!(|v| c(0.5) * v * (T::ONE + (v * T::from_f64(core::f64::consts::FRAC_1_SQRT_2)).erf())),
        UnaryFn::GeluTanh => {
            // √(2/π)
            let k = T::from_f64(0.797_884_560_802_865_4);
            map!(|v| c(0.5) * v * (T::ONE + (k * (v + c(0.044_715) * v * v * v)).tanh()))
        }
        UnaryFn::Elu(alpha) => map!(|v| if v >= T::ZERO { v } else { c(alpha) * v.expm1() }),
        UnaryFn::Selu(alpha, gamma) => map!(|v| c(gamma) * if v > T::ZERO { v } else { c(alpha) * v.expm1() }),
        UnaryFn::Celu(alpha) => map!(|v| if v >= T::ZERO { v } else { c(alpha) * (v / c(alpha)).expm1() }),
        UnaryFn::ThresholdedRelu(alpha) => map!(|v| if v > c(alpha) { v } else { T::ZERO }),
        UnaryFn::Shrink(lambd, bias) => map!(|v| if v < -c(lambd) {
            v + c(bias)
        } else if v > c(lambd) {
            v - c(bias)
        } else {
            T::ZERO
        }),
    }
}

/// `y = op(a, b)` with numpy broadcasting described by `p`.
pub fn binary_float<T: Float>(p: &Broadcast, op: BinaryOp, a: &[T], b: &[T], y: &mut [T]) {
    match op {
        BinaryOp::Add => broadcast_map(p, a, b, y, |x: T, z: T| x + z),
        BinaryOp::Sub => broadcast_map(p, a, b, y, |x: T, z: T| x - z),
        BinaryOp::Mul => broadcast_map(p, a, b, y, |x: T, z: T| x * z),
        BinaryOp::Div => broadcast_map(p, a, b, y, |x: T, z: T| x / z),
        BinaryOp::Pow => broadcast_map(p, a, b, y, T::pow),
        BinaryOp::Max => broadcast_map(p, a, b, y, |x: T, z: T| if x.is_nan() || x >= z { x } else { z }),
        BinaryOp::Min => broadcast_map(p, a, b, y, |x: T, z: T| if x.is_nan() || x <= z { x } else { z }),
        BinaryOp::Mod => broadcast_map(p, a, b, y, |x: T, z: T| {
            let r = x.fmod(z);
            if r != T::ZERO && (r < T::ZERO) != (z < T::ZERO) {
                r + z
            } else {
                r
            }
        }),
        BinaryOp::Fmod => broadcast_map(p, a, b, y, T::fmod),
        BinaryOp::PRelu => broadcast_map(p, a, b, y, |x: T, s: T| if x < T::ZERO { x * s } else { x }),
    }
}

/// Reduces `x` over the axes `p` marks, writing one value per kept index to `y`.
pub fn reduce_float<T: Float>(p: &Reduce, op: ReduceOp, x: &[T], y: &mut [T]) {
    let Some((n_in, n_out)) = super::reduce::reduce_lens(p) else { return };
    if x.len() < n_in || y.len() < n_out || n_in == 0 {
        return;
    }
    let count = T::from_f64((n_in / n_out.max(1)) as f64);
    for_each_reduced_set(p, |o, offsets| {
        let vals = offsets.filter_map(|i| x.get(i).copied());
        let sum = |it: &mut dyn Iterator<Item = T>| it.fold(T::ZERO, |s, v| s + v);
        let extreme = |it: &mut dyn Iterator<Item = T>, init: T, max: bool| {
            let mut m = init;
            for v in it {
                if v.is_nan() {
                    return v;
                }
                if (max && v > m) || (!max && v < m) {
                    m = v;
                }
            }
            m
        };
        let mut vals = vals;
        let v = match op {
            ReduceOp::Sum => sum(&mut vals),
            ReduceOp::Mean => sum(&mut vals) / count,
            ReduceOp::Max => extreme(&mut vals, T::NEG_INFINITY, true),
            ReduceOp::Min => extreme(&mut vals, T::INFINITY, false),
            ReduceOp::Prod => vals.fold(T::ONE, |s, v| s * v),
            ReduceOp::L1 => sum(&mut vals.map(T::abs)),
            ReduceOp::L2 => sum(&mut vals.map(|v| v * v)).sqrt(),
            ReduceOp::LogSum => sum(&mut vals).ln(),
            ReduceOp::SumSquare => sum(&mut vals.map(|v| v * v)),
            ReduceOp::LogSumExp => log_sum_exp(&mut vals),
        };
        if let Some(out) = y.get_mut(o) {
            *out = v;
        }
    });
}

/// ln Σ eˣ in one pass, rescaling the running sum whenever the maximum grows.
fn log_sum_exp<T: Float>(vals: &mut dyn Iterator<Item = T>) -> T {
    let (mut max, mut sum) = (T::NEG_INFINITY, T::ZERO);
    for v in vals {
        if v.is_nan() {
            return v;
        }
        if v > max {
            sum = if max == T::NEG_INFINITY { T::ZERO } else { sum * (max - v).exp() };
            max = v;
        }
        sum = sum + if max == T::NEG_INFINITY { T::ZERO } else { (v - max).exp() };
    }
    if max.abs() == T::INFINITY {
        return max;
    }
    max + sum.ln()
}

/// Softmax (log-softmax when `log`) along the middle axis of `outer × len × inner`.
pub fn softmax_float<T: Float>(p: &Axis, log: bool, x: &[T], y: &mut [T]) {
    let n = p.outer * p.len * p.inner;
    if p.len == 0 || p.inner == 0 || x.len() < n || y.len() < n {
        return;
    }
    let (len, inner) = (p.len, p.inner);
    for o in 0..p.outer {
        for i in 0..inner {
            let at = |j: usize| (o * len + j) * inner + i;
            let mut max = T::NEG_INFINITY;
            for j in 0..len {
                let v = x.get(at(j)).copied().unwrap_or(T::ZERO);
                if v > max {
                    max = v;
                }
            }
            let mut sum = T::ZERO;
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    let e = (v - max).exp();
                    *out = e;
                    sum = sum + e;
                }
            }
            let (ls, inv) = (sum.ln(), T::ONE / sum);
            for j in 0..len {
                if let (Some(&v), Some(out)) = (x.get(at(j)), y.get_mut(at(j))) {
                    *out = if log { v - max - ls } else { *out * inv };
                }
            }
        }
    }
}

/// (Batched) GEMM `y = alpha · op(A) · op(B) + beta · C`, as `gemm_f32` without the
/// clamp. `c` is the bias operand (empty when `p.bias` is `Bias::None`).
pub fn gemm_float<T: Float>(p: &Gemm, a: &[T], b: &[T], c: &[T], y: &mut [T]) {
    let (m, n, k) = (p.m, p.n, p.k);
    let a_last = (p.batch.saturating_sub(1)) * p.batch_stride_a + m * k;
    let b_last = (p.batch.saturating_sub(1)) * p.batch_stride_b + k * n;
    if p.batch == 0 || a.len() < a_last || b.len() < b_last || c.len() < p.bias_len() || y.len() < p.batch * m * n {
        return;
    }
    let (alpha, beta) = (T::from_f32(p.alpha), T::from_f32(p.beta));
    let c_at = |i: usize, j: usize| -> T {
        let at = match p.bias {
            Bias::None => return T::ZERO,
            Bias::Scalar => 0,
            Bias::PerColumn => j,
            Bias::PerRow => i,
            Bias::Full => i * n + j,
        };
        beta * c.get(at).copied().unwrap_or(T::ZERO)
    };
    for t in 0..p.batch {
        let (ao, bo) = (t * p.batch_stride_a, t * p.batch_stride_b);
        let Some(yt) = y.get_mut(t * m * n..(t + 1) * m * n) else { return };
        for i in 0..m {
            for j in 0..n {
                let mut acc = T::ZERO;
                for kk in 0..k {
                    let ai = if p.trans_a { kk * m + i } else { i * k + kk };
                    let bi = if p.trans_b { j * k + kk } else { kk * n + j };
                    let (Some(&av), Some(&bv)) = (a.get(ao + ai), b.get(bo + bi)) else { return };
                    acc = acc + av * bv;
                }
                if let Some(v) = yt.get_mut(i * n + j) {
                    *v = alpha * acc + c_at(i, j);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::kernels::portable::{binary_f32, gemm_f32, reduce_f32, softmax_f32, unary_f32};
    use crate::kernels::{Clamp, MAX_RANK};
    use std::vec::Vec;

    fn line(n: usize) -> Broadcast {
        let mut shape = [0; MAX_RANK];
        shape[0] = n;
        let mut s = [0; MAX_RANK];
        s[0] = 1;
        Broadcast { rank: 1, shape, a: s, b: s }
    }

    const FUNCTIONS: &[UnaryFn] = &[
        UnaryFn::Sigmoid,
        UnaryFn::Tanh,
        UnaryFn::Exp,
        UnaryFn::Log,
        UnaryFn::Sqrt,
        UnaryFn::Neg,
        UnaryFn::Abs,
        UnaryFn::Reciprocal,
        UnaryFn::LeakyRelu(0.1),
        UnaryFn::HardSigmoid(0.2, 0.5),
        UnaryFn::HardSwish,
        UnaryFn::Softplus,
        UnaryFn::Silu,
        UnaryFn::Sin,
        UnaryFn::Cos,
        UnaryFn::Tan,
        UnaryFn::Asin,
        UnaryFn::Acos,
        UnaryFn::Atan,
        UnaryFn::Sinh,
        UnaryFn::Cosh,
        UnaryFn::Asinh,
        UnaryFn::Acosh,
        UnaryFn::Atanh,
        UnaryFn::Floor,
        UnaryFn::Ceil,
        UnaryFn::Round,
        UnaryFn::Sign,
        UnaryFn::Erf,
        UnaryFn::Softsign,
        UnaryFn::Mish,
        UnaryFn::Gelu,
        UnaryFn::GeluTanh,
        UnaryFn::Elu(1.0),
        UnaryFn::Selu(1.67, 1.05),
        UnaryFn::Celu(1.0),
        UnaryFn::ThresholdedRelu(1.0),
        UnaryFn::Shrink(0.5, 0.1),
    ];

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn every_unary_function_in_f32_matches_unary_f32() {
        let x: Vec<f32> = (0..81).map(|i| -4.0 + i as f32 * 0.1).chain([0.5, -0.5, 2.5, 1.0, -1.0]).collect();
        for &f in FUNCTIONS {
            let (mut want, mut got) = (std::vec![0.0f32; x.len()], std::vec![0.0f32; x.len()]);
            unary_f32(f, &x, &mut want);
            unary_float(f, &x, &mut got);
            for ((&g, &w), &v) in got.iter().zip(&want).zip(&x) {
                assert!(close(g as f64, w as f64, 1e-5), "{f:?}({v}) = {g}, unary_f32 gives {w}");
            }
        }
    }

    #[test]
    fn f64_functions_match_std_to_near_f64_precision() {
        let x: Vec<f64> = (0..161).map(|i| -8.0 + i as f64 * 0.1).collect();
        type Reference = fn(f64) -> f64;
        let std_fns: &[(UnaryFn, Reference)] = &[
            (UnaryFn::Exp, f64::exp),
            (UnaryFn::Log, f64::ln),
            (UnaryFn::Sqrt, f64::sqrt),
            (UnaryFn::Tanh, f64::tanh),
            (UnaryFn::Sin, f64::sin),
            (UnaryFn::Cos, f64::cos),
            (UnaryFn::Atan, f64::atan),
            (UnaryFn::Sinh, f64::sinh),
            (UnaryFn::Cosh, f64::cosh),
            (UnaryFn::Asinh, f64::asinh),
            (UnaryFn::Floor, f64::floor),
            (UnaryFn::Ceil, f64::ceil),
        ];
        for &(f, reference) in std_fns {
            let mut y = std::vec![0.0f64; x.len()];
            unary_float(f, &x, &mut y);
            for (&g, &v) in y.iter().zip(&x) {
                assert!(close(g, reference(v), 1e-12), "{f:?}({v}) = {g}, std gives {}", reference(v));
            }
        }
        // The error function against tabulated values.
        let mut y = [0.0f64; 4];
        unary_float(UnaryFn::Erf, &[0.5, 1.0, 2.0, -3.0], &mut y);
        let want =
            [0.520_499_877_813_046_5, 0.842_700_792_949_714_9, 0.995_322_265_018_952_7, -0.999_977_909_503_001_4];
        for (g, w) in y.iter().zip(want) {
            assert!(close(*g, w, 1e-9), "erf: {g} against {w}");
        }
        // f64 keeps what f32 would round away.
        let mut y = [0.0f64; 1];
        unary_float(UnaryFn::Exp, &[1e-10], &mut y);
        assert!((y[0] - (1.0 + 1e-10)).abs() < 1e-18);
    }

    #[test]
    fn binary_ops_match_binary_f32_and_keep_f64_precision() {
        let a = [5.5f32, -5.5, 5.5, 4.0, 2.0, -3.0, f32::NAN, 1.0];
        let b = [2.0f32, 2.0, -2.0, 2.0, 0.5, 3.0, 1.0, 0.0];
        let ops =
            [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min];
        for op in ops.into_iter().chain([BinaryOp::Mod, BinaryOp::Fmod, BinaryOp::PRelu]) {
            let (mut want, mut got) = ([0.0f32; 8], [0.0f32; 8]);
            binary_f32(&line(8), op, Clamp::NONE, &a, &b, &mut want);
            binary_float(&line(8), op, &a, &b, &mut got);
            for (g, w) in got.iter().zip(want) {
                assert!(close(*g as f64, w as f64, 1e-6), "{op:?}: {g} against {w}");
            }
        }
        let mut y = [0.0f64; 2];
        binary_float(&line(2), BinaryOp::Add, &[1.0, 1e16], &[1e-12, 1.0], &mut y);
        assert_eq!(y, [1.0 + 1e-12, 1e16 + 1.0]);
        binary_float(&line(2), BinaryOp::Mod, &[-4.3, 7.1], &[2.1, -3.4], &mut y);
        assert!((y[0] - (-4.3f64).rem_euclid(2.1)).abs() < 1e-12 && (y[1] - (7.1 - 3.0 * 3.4)).abs() < 1e-12);
    }

    #[test]
    fn reductions_softmax_and_gemm_match_the_f32_kernels() {
        let x: Vec<f32> = (0..24).map(|i| ((i * 7) % 11) as f32 * 0.3 - 1.0).collect();
        let mut shape = [0; MAX_RANK];
        shape[..3].copy_from_slice(&[2, 3, 4]);
        let mut reduce = [false; MAX_RANK];
        reduce[1] = true;
        let p = Reduce { rank: 3, shape, reduce };
        let ops = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod, ReduceOp::L1];
        for op in ops.into_iter().chain([ReduceOp::L2, ReduceOp::SumSquare, ReduceOp::LogSumExp]) {
            let (mut want, mut got) = ([0.0f32; 8], [0.0f32; 8]);
            reduce_f32(&p, op, &x, &mut want);
            reduce_float(&p, op, &x, &mut got);
            for (g, w) in got.iter().zip(want) {
                assert!(close(*g as f64, w as f64, 1e-5), "{op:?}: {g} against {w}");
            }
        }
        let axis = Axis { outer: 2, len: 3, inner: 4 };
        let (mut want, mut got) = ([0.0f32; 24], [0.0f32; 24]);
        softmax_f32(&axis, &x, &mut want);
        softmax_float(&axis, false, &x, &mut got);
        assert!(got.iter().zip(want).all(|(g, w)| close(*g as f64, w as f64, 1e-6)));
        let gemm = Gemm {
            batch: 2,
            m: 2,
            n: 3,
            k: 2,
            trans_a: false,
            trans_b: true,
            batch_stride_a: 4,
            batch_stride_b: 6,
            alpha: 0.5,
            beta: 2.0,
            bias: Bias::PerColumn,
        };
        let (mut want, mut got) = ([0.0f32; 12], [0.0f32; 12]);
        gemm_f32(&gemm, Clamp::NONE, &x[..8], &x[..12], &x[..3], &mut want);
        gemm_float(&gemm, &x[..8], &x[..12], &x[..3], &mut got);
        assert!(got.iter().zip(want).all(|(g, w)| close(*g as f64, w as f64, 1e-6)), "{got:?} against {want:?}");
    }
}
