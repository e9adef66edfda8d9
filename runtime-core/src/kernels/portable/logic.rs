//! Element types as a trait, and the kernels generic over it: comparisons, boolean
//! logic, selection (`Where`) and conversion (`Cast`). Booleans are bytes: kernels
//! write 0 or 1 and read any non-zero byte as true.

use crate::kernels::{Broadcast, Broadcast3, CompareOp, LogicOp, MAX_RANK};

use super::elementwise::broadcast_map;
use crate::math;

/// An element type the generic kernels take: numbers and `bool`, with the
/// conversions `Cast` needs (Rust's `as`: floats to integers truncate toward zero and
/// saturate, NaN becomes 0; integers to narrower integers wrap).
pub trait Scalar: Copy + PartialOrd + Default + 'static {
    /// True for floating-point types.
    const FLOAT: bool;
    /// The value as f64 (exact but for 64-bit integers beyond 2^53).
    fn to_f64(self) -> f64;
    /// The value as i64 (floats truncate).
    fn to_i64(self) -> i64;
    /// From f64.
    fn from_f64(v: f64) -> Self;
    /// From i64.
    fn from_i64(v: i64) -> Self;
}

macro_rules! scalar {
    ($($t:ty: $float:expr),*) => {$(
        impl Scalar for $t {
            const FLOAT: bool = $float;
            #[inline(always)]
            fn to_f64(self) -> f64 { self as f64 }
            #[inline(always)]
            fn to_i64(self) -> i64 { self as i64 }
            #[inline(always)]
            fn from_f64(v: f64) -> Self { v as $t }
            #[inline(always)]
            fn from_i64(v: i64) -> Self { v as $t }
        }
    )*};
}

scalar!(f32: true, f64: true, i8: false, u8: false, i16: false, u16: false, i32: false, u32: false, i64: false, u64: false);

/// `y = a ∘ b` for a comparison, with numpy broadcasting described by `p`.
pub fn compare<T: Scalar>(p: &Broadcast, op: CompareOp, a: &[T], b: &[T], y: &mut [u8]) {
    match op {
        CompareOp::Equal => broadcast_map(p, a, b, y, |x, z| u8::from(x == z)),
        CompareOp::Less => broadcast_map(p, a, b, y, |x, z| u8::from(x < z)),
        CompareOp::LessOrEqual => broadcast_map(p, a, b, y, |x, z| u8::from(x <= z)),
        CompareOp::Greater => broadcast_map(p, a, b, y, |x, z| u8::from(x > z)),
        CompareOp::GreaterOrEqual => broadcast_map(p, a, b, y, |x, z| u8::from(x >= z)),
    }
}

/// `y = a ∘ b` for a boolean function, with numpy broadcasting described by `p`.
pub fn logic(p: &Broadcast, op: LogicOp, a: &[u8], b: &[u8], y: &mut [u8]) {
    match op {
        LogicOp::And => broadcast_map(p, a, b, y, |x, z| u8::from(x != 0 && z != 0)),
        LogicOp::Or => broadcast_map(p, a, b, y, |x, z| u8::from(x != 0 || z != 0)),
        LogicOp::Xor => broadcast_map(p, a, b, y, |x, z| u8::from((x != 0) != (z != 0))),
    }
}

/// `y = ¬x`.
pub fn not(x: &[u8], y: &mut [u8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = u8::from(v == 0);
    }
}

/// `y = x is NaN` when `nan`, else `x = +∞` (when `pos`) or `x = −∞` (when `neg`):
/// ONNX IsNaN and IsInf.
pub fn classify_f32(nan: bool, pos: bool, neg: bool, x: &[f32], y: &mut [u8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        let hit = if nan { v.is_nan() } else { (pos && v == f32::INFINITY) || (neg && v == f32::NEG_INFINITY) };
        *o = u8::from(hit);
    }
}

/// Last index reached by an operand with these strides, plus one.
fn reach(p: &Broadcast3, strides: &[usize; MAX_RANK]) -> usize {
    let rank = p.rank.min(MAX_RANK);
    p.shape
        .iter()
        .zip(strides)
        .take(rank)
        .fold(1usize, |acc, (&n, &s)| acc.saturating_add(n.saturating_sub(1).saturating_mul(s)))
}

/// `y = c ? a : b` elementwise (`Where`), with numpy broadcasting of all three.
pub fn select<T: Copy>(p: &Broadcast3, c: &[u8], a: &[T], b: &[T], y: &mut [T]) {
    if p.rank == 0 || p.rank > MAX_RANK {
        return;
    }
    let rank = p.rank.min(MAX_RANK);
    let total = p.shape.iter().take(rank).fold(1usize, |acc, &n| acc.saturating_mul(n));
    if y.len() < total || c.len() < reach(p, &p.c) || a.len() < reach(p, &p.a) || b.len() < reach(p, &p.b) {
        return;
    }
    let mut idx = [0usize; MAX_RANK];
    let (mut ci, mut ai, mut bi) = (0usize, 0usize, 0usize);
    for o in y.iter_mut().take(total) {
        if let (Some(&cv), Some(&av), Some(&bv)) = (c.get(ci), a.get(ai), b.get(bi)) {
            *o = if cv != 0 { av } else { bv };
        }
        for d in (0..rank).rev() {
            idx[d] += 1;
            ci = ci.wrapping_add(p.c[d]);
            ai = ai.wrapping_add(p.a[d]);
            bi = bi.wrapping_add(p.b[d]);
            if idx[d] < p.shape[d] {
                break;
            }
            ci = ci.wrapping_sub(p.c[d].wrapping_mul(idx[d]));
            ai = ai.wrapping_sub(p.a[d].wrapping_mul(idx[d]));
            bi = bi.wrapping_sub(p.b[d].wrapping_mul(idx[d]));
            idx[d] = 0;
        }
    }
}

/// `y = x as Y` elementwise (ONNX `Cast` between numbers).
pub fn cast<X: Scalar, Y: Scalar>(x: &[X], y: &mut [Y]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = if X::FLOAT || Y::FLOAT { Y::from_f64(v.to_f64()) } else { Y::from_i64(v.to_i64()) };
    }
}

/// Half-precision bits (IEEE binary16, or bfloat16 when `bf16`) to numbers.
pub fn cast_from_half<Y: Scalar>(bf16: bool, x: &[u16], y: &mut [Y]) {
    for (o, &h) in y.iter_mut().zip(x) {
        let v = if bf16 { math::bf16_to_f32(h) } else { math::f16_to_f32(h) };
        *o = Y::from_f64(v as f64);
    }
}

/// Numbers to half-precision bits (IEEE binary16, or bfloat16 when `bf16`), rounded to
/// nearest even through f32 (so a double can round twice in rare ties).
pub fn cast_to_half<X: Scalar>(bf16: bool, x: &[X], y: &mut [u16]) {
    for (o, &v) in y.iter_mut().zip(x) {
        let f = v.to_f64() as f32;
        *o = if bf16 { math::f32_to_bf16(f) } else { math::f32_to_f16(f) };
    }
}

/// `y = (x ≠ 0)` as booleans (NaN is true).
pub fn cast_to_bool<X: Scalar>(x: &[X], y: &mut [u8]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = u8::from(if X::FLOAT { v.to_f64() != 0.0 } else { v.to_i64() != 0 });
    }
}

/// Booleans to numbers: 1 or 0.
pub fn cast_from_bool<Y: Scalar>(x: &[u8], y: &mut [Y]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = Y::from_i64(i64::from(v != 0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_broadcast_and_match_rust() {
        // a: [2,3], b: [3] → [2,3]
        let a = [1i32, 5, 3, 4, 2, 6];
        let b = [3i32, 2, 3];
        let p = Broadcast { rank: 2, shape: [2, 3, 0, 0, 0, 0], a: [3, 1, 0, 0, 0, 0], b: [0, 1, 0, 0, 0, 0] };
        let mut y = [9u8; 6];
        compare(&p, CompareOp::Less, &a, &b, &mut y);
        assert_eq!(y, [1, 0, 0, 0, 0, 0]);
        compare(&p, CompareOp::GreaterOrEqual, &a, &b, &mut y);
        assert_eq!(y, [0, 1, 1, 1, 1, 1]);
        compare(&p, CompareOp::Equal, &a, &b, &mut y);
        assert_eq!(y, [0, 0, 1, 0, 1, 0]);
        logic(&p, LogicOp::Xor, &[1, 0, 1, 0, 2, 0], &[1, 1, 0], &mut y);
        assert_eq!(y, [0, 1, 1, 1, 0, 0]);
        let mut n = [9u8; 3];
        not(&[1, 0, 7], &mut n);
        assert_eq!(n, [0, 1, 0]);
    }

    #[test]
    fn select_broadcasts_three_operands() {
        // c: [2,1], a: [1,3], b: scalar → [2,3]
        let p = Broadcast3 {
            rank: 2,
            shape: [2, 3, 0, 0, 0, 0],
            c: [1, 0, 0, 0, 0, 0],
            a: [0, 1, 0, 0, 0, 0],
            b: [0, 0, 0, 0, 0, 0],
        };
        let mut y = [0.0f32; 6];
        select(&p, &[1, 0], &[1.0, 2.0, 3.0], &[9.0], &mut y);
        assert_eq!(y, [1.0, 2.0, 3.0, 9.0, 9.0, 9.0]);
        let mut z = [7.0f32; 6];
        select(&p, &[1], &[1.0, 2.0, 3.0], &[9.0], &mut z);
        assert_eq!(z, [7.0; 6], "a too short condition is a no-op");
    }

    #[test]
    fn casts_follow_rust_as() {
        let mut y = [0i8; 4];
        cast(&[1.9f32, -1.9, 300.0, f32::NAN], &mut y);
        assert_eq!(y, [1, -1, 127, 0]);
        let mut b = [9u8; 4];
        cast_to_bool(&[0.0f32, -0.5, 2.0, f32::NAN], &mut b);
        assert_eq!(b, [0, 1, 1, 1]);
        let mut w = [0u8; 2];
        cast(&[257i64, -1], &mut w);
        assert_eq!(w, [1, 255]);
        let mut f = [0.0f32; 2];
        cast_from_bool(&[3, 0], &mut f);
        assert_eq!(f, [1.0, 0.0]);
    }

    #[test]
    fn classification_finds_nan_and_each_infinity() {
        let x = [1.0f32, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        let mut y = [9u8; 4];
        classify_f32(true, false, false, &x, &mut y);
        assert_eq!(y, [0, 1, 0, 0]);
        classify_f32(false, true, true, &x, &mut y);
        assert_eq!(y, [0, 0, 1, 1]);
        classify_f32(false, false, true, &x, &mut y);
        assert_eq!(y, [0, 0, 0, 1]);
    }
}
