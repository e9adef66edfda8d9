use crate::kernels::{BinaryOp, Broadcast, Clamp, IntUnary, UnaryFn, MAX_RANK};
use crate::math;

/// A binary float function as a type, so each one gets its own monomorphised loop.
trait BinaryFn {
    /// Applies the function.
    fn apply(a: f32, b: f32) -> f32;
}

macro_rules! binary_fns {
    ($($(#[$doc:meta])* $name:ident => |$a:ident, $b:ident| $e:expr;)*) => {$(
        $(#[$doc])*
        struct $name;
        impl BinaryFn for $name {
            #[inline(always)]
            fn apply($a: f32, $b: f32) -> f32 { $e }
        }
    )*};
}

binary_fns! {
    /// a + b.
    Add => |a, b| a + b;
    /// a − b.
    Sub => |a, b| a - b;
    /// a · b.
    Mul => |a, b| a * b;
    /// a / b.
    Div => |a, b| a / b;
    /// a^b.
    Pow => |a, b| math::pow(a, b);
    /// max(a, b) (NaN-propagating).
    Max => |a, b| if a.is_nan() || a >= b { a } else { b };
    /// min(a, b) (NaN-propagating).
    Min => |a, b| if a.is_nan() || a <= b { a } else { b };
    /// a mod b with the sign of b.
    Mod => |a, b| {
        let r = fmod(a, b);
        if r != 0.0 && (r < 0.0) != (b < 0.0) { r + b } else { r }
    };
    /// a mod b with the sign of a.
    Fmod => |a, b| fmod(a, b);
    /// a < 0 ? a · b : a.
    PRelu => |a, b| if a < 0.0 { a * b } else { a };
}

/// C's `fmod` (exact for quotients below 2^53; through f64, with no libm call).
#[inline(always)]
fn fmod(a: f32, b: f32) -> f32 {
    if b == 0.0 || a.is_infinite() || a.is_nan() || b.is_nan() {
        return f32::NAN;
    }
    if b.is_infinite() {
        return a;
    }
    let (a, b) = (a as f64, b as f64);
    let q = a / b;
    let t = if q.abs() < 9_007_199_254_740_992.0 { (q as i64) as f64 } else { q };
    (a - t * b) as f32
}

/// Last index reached by a broadcast operand, plus one.
fn extent(p: &Broadcast, strides: &[usize; MAX_RANK]) -> usize {
    let mut last = 0usize;
    for d in 0..p.rank.min(MAX_RANK) {
        last += p.shape[d].saturating_sub(1) * strides[d];
    }
    last + 1
}

/// `y[i] = f(a[ia], b[ib])` over a numpy broadcast: the loop every binary kernel
/// (float and integer) shares. Inner rows with unit or zero strides get tight loops.
#[inline(always)]
pub(crate) fn broadcast_map<A: Copy, B: Copy, Y>(p: &Broadcast, a: &[A], b: &[B], y: &mut [Y], f: impl Fn(A, B) -> Y) {
    if p.rank == 0 || p.rank > MAX_RANK {
        return;
    }
    let total: usize = p.shape[..p.rank].iter().product();
    if total == 0 || y.len() < total || a.len() < extent(p, &p.a) || b.len() < extent(p, &p.b) {
        return;
    }
    let last = p.rank - 1;
    let inner = p.shape[last];
    if inner == 0 {
        return;
    }
    let (sa, sb) = (p.a[last], p.b[last]);
    let mut idx = [0usize; MAX_RANK];
    let (mut ao, mut bo) = (0usize, 0usize);
    let Some(y) = y.get_mut(..total) else { return };
    for row in y.chunks_exact_mut(inner) {
        match (sa, sb) {
            (1, 1) => {
                let (Some(ar), Some(br)) = (a.get(ao..ao + inner), b.get(bo..bo + inner)) else {
                    return;
                };
                for ((v, &x), &z) in row.iter_mut().zip(ar).zip(br) {
                    *v = f(x, z);
                }
            }
            (1, 0) => {
                let (Some(ar), Some(&z)) = (a.get(ao..ao + inner), b.get(bo)) else {
                    return;
                };
                for (v, &x) in row.iter_mut().zip(ar) {
                    *v = f(x, z);
                }
            }
            (0, 1) => {
                let (Some(&x), Some(br)) = (a.get(ao), b.get(bo..bo + inner)) else {
                    return;
                };
                for (v, &z) in row.iter_mut().zip(br) {
                    *v = f(x, z);
                }
            }
            _ => {
                for (i, v) in row.iter_mut().enumerate() {
                    let (Some(&x), Some(&z)) = (a.get(ao + i * sa), b.get(bo + i * sb)) else {
                        return;
                    };
                    *v = f(x, z);
                }
            }
        }
        // Advance the outer index (odometer over axes 0..last).
        let mut d = last;
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            ao += p.a[d];
            bo += p.b[d];
            if idx[d] < p.shape[d] {
                break;
            }
            ao -= p.a[d] * idx[d];
            bo -= p.b[d] * idx[d];
            idx[d] = 0;
        }
    }
}

/// `y = act(op(a, b))` with numpy broadcasting described by `p`.
pub fn binary_f32(p: &Broadcast, op: BinaryOp, act: Clamp, a: &[f32], b: &[f32], y: &mut [f32]) {
    fn run<F: BinaryFn>(p: &Broadcast, act: Clamp, a: &[f32], b: &[f32], y: &mut [f32]) {
        broadcast_map(p, a, b, y, |x, z| act.apply(F::apply(x, z)));
    }
    match op {
        BinaryOp::Add => run::<Add>(p, act, a, b, y),
        BinaryOp::Sub => run::<Sub>(p, act, a, b, y),
        BinaryOp::Mul => run::<Mul>(p, act, a, b, y),
        BinaryOp::Div => run::<Div>(p, act, a, b, y),
        BinaryOp::Pow => run::<Pow>(p, act, a, b, y),
        BinaryOp::Max => run::<Max>(p, act, a, b, y),
        BinaryOp::Min => run::<Min>(p, act, a, b, y),
        BinaryOp::Mod => run::<Mod>(p, act, a, b, y),
        BinaryOp::Fmod => run::<Fmod>(p, act, a, b, y),
        BinaryOp::PRelu => run::<PRelu>(p, act, a, b, y),
    }
}

/// Integer element types of [`binary_int`] and [`unary_int`]: wrapping arithmetic, so
/// no operation can panic (division by zero gives 0).
pub trait Int: Copy + Ord + Default {
    /// Wrapping a + b.
    fn add(self, b: Self) -> Self;
    /// Wrapping a − b.
    fn sub(self, b: Self) -> Self;
    /// Wrapping a · b.
    fn mul(self, b: Self) -> Self;
    /// a / b truncated toward zero (wrapping; 0 when b = 0).
    fn div(self, b: Self) -> Self;
    /// a mod b with the sign of b (0 when b = 0).
    fn modulo(self, b: Self) -> Self;
    /// a mod b with the sign of a (0 when b = 0).
    fn fmod(self, b: Self) -> Self;
    /// a^b by squaring (wrapping; 0 for negative b unless a is ±1).
    fn pow(self, b: Self) -> Self;
    /// Wrapping −a.
    fn neg(self) -> Self;
    /// Wrapping |a|.
    fn abs(self) -> Self;
    /// −1, 0 or 1.
    fn sign(self) -> Self;
}

macro_rules! int {
    ($($t:ty),*) => {$(
        impl Int for $t {
            #[inline(always)]
            fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)]
            fn sub(self, b: Self) -> Self { self.wrapping_sub(b) }
            #[inline(always)]
            fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
            #[inline(always)]
            fn div(self, b: Self) -> Self { self.checked_div(b).unwrap_or(if b == 0 { 0 } else { self.wrapping_div(b) }) }
            #[inline(always)]
            fn modulo(self, b: Self) -> Self {
                let r = self.checked_rem(b).unwrap_or(0);
                #[allow(unused_comparisons)]
                if r != 0 && (r < 0) != (b < 0) { r.wrapping_add(b) } else { r }
            }
            #[inline(always)]
            fn fmod(self, b: Self) -> Self { self.checked_rem(b).unwrap_or(0) }
            #[inline(always)]
            fn pow(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                if b < 0 {
                    return if self == 1 { 1 } else if self as i64 == -1 { if b % 2 == 0 { 1 } else { self } } else { 0 };
                }
                let (mut base, mut e, mut acc) = (self, b as u64, 1 as $t);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[inline(always)]
            fn abs(self) -> Self {
                #[allow(unused_comparisons)]
                if self < 0 { self.neg() } else { self }
            }
            #[inline(always)]
            fn sign(self) -> Self {
                #[allow(unused_comparisons)]
                if self > 0 { 1 } else if self < 0 { (0 as $t).wrapping_sub(1) } else { 0 }
            }
        }
    )*};
}

int!(i8, u8, i16, u16, i32, u32, i64, u64);

/// `y = op(a, b)` on integers with numpy broadcasting described by `p`.
pub fn binary_int<T: Int>(p: &Broadcast, op: BinaryOp, a: &[T], b: &[T], y: &mut [T]) {
    match op {
        BinaryOp::Add => broadcast_map(p, a, b, y, T::add),
        BinaryOp::Sub => broadcast_map(p, a, b, y, T::sub),
        BinaryOp::Mul => broadcast_map(p, a, b, y, T::mul),
        BinaryOp::Div => broadcast_map(p, a, b, y, T::div),
        BinaryOp::Pow => broadcast_map(p, a, b, y, T::pow),
        BinaryOp::Max => broadcast_map(p, a, b, y, |x: T, z: T| x.max(z)),
        BinaryOp::Min => broadcast_map(p, a, b, y, |x: T, z: T| x.min(z)),
        BinaryOp::Mod => broadcast_map(p, a, b, y, T::modulo),
        BinaryOp::Fmod => broadcast_map(p, a, b, y, T::fmod),
        BinaryOp::PRelu => broadcast_map(p, a, b, y, |x: T, s: T| if x < T::default() { x.mul(s) } else { x }),
    }
}

/// `y = f(x)` on integers.
pub fn unary_int<T: Int>(f: IntUnary, x: &[T], y: &mut [T]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = match f {
            IntUnary::Neg => v.neg(),
            IntUnary::Abs => v.abs(),
            IntUnary::Sign => v.sign(),
        };
    }
}

/// `y = clamp(x)`: ReLU, ReLU6, Clip.
pub fn clamp_f32(act: Clamp, x: &[f32], y: &mut [f32]) {
    for (v, &xv) in y.iter_mut().zip(x) {
        *v = act.apply(xv);
    }
}

/// `y = f(x)` elementwise.
pub fn unary_f32(f: UnaryFn, x: &[f32], y: &mut [f32]) {
    macro_rules! map {
        (|$v:ident| $e:expr) => {
            for (o, &$v) in y.iter_mut().zip(x) {
                *o = $e;
            }
        };
    }
    match f {
        UnaryFn::Sigmoid => map!(|v| math::sigmoid(v)),
        UnaryFn::Tanh => map!(|v| math::tanh(v)),
        UnaryFn::Exp => map!(|v| math::exp(v)),
        UnaryFn::Log => map!(|v| math::ln(v)),
        UnaryFn::Sqrt => map!(|v| math::sqrt(v)),
        UnaryFn::Neg => map!(|v| -v),
        UnaryFn::Abs => map!(|v| v.abs()),
        UnaryFn::Reciprocal => map!(|v| 1.0 / v),
        UnaryFn::LeakyRelu(alpha) => map!(|v| if v >= 0.0 { v } else { alpha * v }),
        UnaryFn::HardSigmoid(alpha, beta) => {
            map!(|v| Clamp { min: 0.0, max: 1.0 }.apply(alpha * v + beta))
        }
        UnaryFn::HardSwish => map!(|v| v * Clamp { min: 0.0, max: 1.0 }.apply(v / 6.0 + 0.5)),
        UnaryFn::Softplus => map!(|v| math::softplus(v)),
        UnaryFn::Silu => map!(|v| v * math::sigmoid(v)),
        UnaryFn::Sin => map!(|v| math::sin(v)),
        UnaryFn::Cos => map!(|v| math::cos(v)),
        UnaryFn::Tan => map!(|v| math::tan(v)),
        UnaryFn::Asin => map!(|v| math::asin(v)),
        UnaryFn::Acos => map!(|v| math::acos(v)),
        UnaryFn::Atan => map!(|v| math::atan(v)),
        UnaryFn::Sinh => map!(|v| math::sinh(v)),
        UnaryFn::Cosh => map!(|v| math::cosh(v)),
        UnaryFn::Asinh => map!(|v| math::asinh(v)),
        UnaryFn::Acosh => map!(|v| math::acosh(v)),
        UnaryFn::Atanh => map!(|v| math::atanh(v)),
        UnaryFn::Floor => map!(|v| math::floor(v)),
        UnaryFn::Ceil => map!(|v| math::ceil(v)),
        UnaryFn::Round => map!(|v| math::round_half_even(v)),
        UnaryFn::Sign => map!(|v| if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            v
        }),
        UnaryFn::Erf => map!(|v| math::erf(v)),
        UnaryFn::Softsign => map!(|v| v / (1.0 + v.abs())),
        UnaryFn::Mish => map!(|v| v * math::tanh(math::softplus(v))),
        UnaryFn::Gelu => map!(|v| 0.5 * v * (1.0 + math::erf(v * core::f32::consts::FRAC_1_SQRT_2))),
        UnaryFn::GeluTanh => {
            const K: f32 = 0.797_884_6; // √(2/π)
            map!(|v| 0.5 * v * (1.0 + math::tanh(K * (v + 0.044_715 * v * v * v))))
        }
        UnaryFn::Elu(alpha) => map!(|v| if v >= 0.0 { v } else { alpha * math::expm1(v) }),
        UnaryFn::Selu(alpha, gamma) => map!(|v| gamma * if v > 0.0 { v } else { alpha * math::expm1(v) }),
        UnaryFn::Celu(alpha) => map!(|v| if v >= 0.0 { v } else { alpha * math::expm1(v / alpha) }),
        UnaryFn::ThresholdedRelu(alpha) => map!(|v| if v > alpha { v } else { 0.0 }),
        UnaryFn::Shrink(lambd, bias) => map!(|v| if v < -lambd {
            v + bias
        } else if v > lambd {
            v - bias
        } else {
            0.0
        }),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;

    #[test]
    fn broadcasting_matches_index_arithmetic() {
        // a: [2,1,4] (strides 4,0,1), b: [3,1] (strides 0,1,0) → y: [2,3,4]
        let a: std::vec::Vec<f32> = (0..8).map(|i| i as f32).collect();
        let b = [10.0f32, 20.0, 30.0];
        let p = Broadcast { rank: 3, shape: [2, 3, 4, 0, 0, 0], a: [4, 0, 1, 0, 0, 0], b: [0, 1, 0, 0, 0, 0] };
        let mut y = vec![0.0f32; 24];
        binary_f32(&p, BinaryOp::Add, Clamp::NONE, &a, &b, &mut y);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(y[(i * 3 + j) * 4 + k], a[i * 4 + k] + b[j]);
                }
            }
        }
        binary_f32(&p, BinaryOp::Sub, Clamp::RELU, &a, &b, &mut y);
        assert!(y.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn integer_arithmetic_wraps_and_never_traps() {
        let p = Broadcast { rank: 1, shape: [6, 0, 0, 0, 0, 0], a: [1, 0, 0, 0, 0, 0], b: [1, 0, 0, 0, 0, 0] };
        let a = [7i8, -7, 7, -7, i8::MIN, 5];
        let b = [3i8, 3, -3, -3, -1, 0];
        let mut y = [0i8; 6];
        binary_int(&p, BinaryOp::Mod, &a, &b, &mut y);
        assert_eq!(y, [1, 2, -2, -1, 0, 0]);
        binary_int(&p, BinaryOp::Fmod, &a, &b, &mut y);
        assert_eq!(y, [1, -1, 1, -1, 0, 0]);
        binary_int(&p, BinaryOp::Div, &a, &b, &mut y);
        assert_eq!(y, [2, -2, -2, 2, i8::MIN, 0]);
        binary_int(&p, BinaryOp::Add, &a, &b, &mut y);
        assert_eq!(y, [10, -4, 4, -10, 127, 5]);
        let mut u = [0u8; 6];
        binary_int(&p, BinaryOp::Pow, &[2u8, 3, 0, 5, 1, 2], &[3u8, 2, 0, 1, 9, 8], &mut u);
        assert_eq!(u, [8, 9, 1, 5, 1, 0]);
        let mut n = [0i8; 3];
        unary_int(IntUnary::Neg, &[1i8, i8::MIN, 0], &mut n);
        assert_eq!(n, [-1, i8::MIN, 0]);
        unary_int(IntUnary::Sign, &[5i8, -5, 0], &mut n);
        assert_eq!(n, [1, -1, 0]);
        let mut f = [0.0f32; 4];
        let q = Broadcast { rank: 1, shape: [4, 0, 0, 0, 0, 0], a: [1, 0, 0, 0, 0, 0], b: [1, 0, 0, 0, 0, 0] };
        binary_f32(&q, BinaryOp::Fmod, Clamp::NONE, &[5.5, -5.5, 5.5, 1.0], &[2.0, 2.0, -2.0, 0.0], &mut f);
        assert_eq!(&f[..3], &[1.5, -1.5, 1.5]);
        assert!(f[3].is_nan());
        binary_f32(&q, BinaryOp::Mod, Clamp::NONE, &[5.5, -5.5, 5.5, 4.0], &[2.0, 2.0, -2.0, 2.0], &mut f);
        assert_eq!(f, [1.5, 0.5, -0.5, 0.0]);
    }

    #[test]
    fn too_short_operand_is_a_no_op() {
        let p = Broadcast { rank: 1, shape: [4, 0, 0, 0, 0, 0], a: [1, 0, 0, 0, 0, 0], b: [1, 0, 0, 0, 0, 0] };
        let mut y = [5.0f32; 4];
        binary_f32(&p, BinaryOp::Mul, Clamp::NONE, &[1.0; 3], &[1.0; 4], &mut y);
        assert_eq!(y, [5.0; 4]);
    }

    #[test]
    fn unary_functions_match_std() {
        let x = [-3.0f32, -0.5, 0.0, 0.25, 2.0, 7.0];
        let mut y = [0.0f32; 6];
        unary_f32(UnaryFn::HardSwish, &x, &mut y);
        assert_eq!(y, [0.0, -0.5 * (-0.5 / 6.0 + 0.5), 0.0, 0.25 * (0.25 / 6.0 + 0.5), 2.0 * (2.0 / 6.0 + 0.5), 7.0]);
        unary_f32(UnaryFn::LeakyRelu(0.1), &x, &mut y);
        assert_eq!(y[0], -0.3);
        unary_f32(UnaryFn::Softplus, &x, &mut y);
        for (a, b) in y.iter().zip(x) {
            assert!((a - (1.0 + b.exp()).ln()).abs() < 1e-6);
        }
    }
}
