//! Bitwise checks (`bitwise`), exact: and, or, xor and both shifts on `i8` and `u32`
//! with random numpy broadcasting, shift amounts past the width and negative ones
//! included. The reference works on the values in i128, one output index at a time.

use super::elementwise::{broadcast, describe, total};
use super::harness::{at, exact, fill, head, head_mut, put, Elem, Rng, Text, Verdict, Want, N, SLACK};
use crate::kernels::{BitOp, Broadcast};
use core::fmt::Write;

/// An integer type of the check: its width and i128 conversions.
pub(crate) trait BitInt: Elem + Default {
    /// Bits.
    const BITS: u32;
    /// The value.
    fn wide(self) -> i128;
    /// The value `v` modulo 2^BITS.
    fn narrow(v: i128) -> Self;
    /// A random value, shift amounts around the width among them.
    fn draw(rng: &mut Rng) -> Self;
}

impl BitInt for i8 {
    const BITS: u32 = 8;
    fn wide(self) -> i128 {
        self as i128
    }
    fn narrow(v: i128) -> Self {
        v as i8
    }
    fn draw(rng: &mut Rng) -> Self {
        if rng.chance(1, 2) {
            rng.int(-2, 10) as i8
        } else {
            i8::random(rng)
        }
    }
}

impl Elem for u32 {
    fn num(self) -> super::Num {
        super::Num::Int(self as i64)
    }
    fn same(self, other: Self) -> bool {
        self == other
    }
    fn random(rng: &mut Rng) -> Self {
        rng.next_u64() as u32
    }
}

impl BitInt for u32 {
    const BITS: u32 = 32;
    fn wide(self) -> i128 {
        self as i128
    }
    fn narrow(v: i128) -> Self {
        v as u32
    }
    fn draw(rng: &mut Rng) -> Self {
        if rng.chance(1, 2) {
            rng.int(0, 40) as u32
        } else {
            u32::random(rng)
        }
    }
}

/// The reference: the ONNX definition on values, by repeated doubling and halving.
fn reference<T: BitInt>(p: &Broadcast, op: BitOp, a: &[T], b: &[T], y: &mut [T]) {
    let rank = p.rank;
    for o in 0..total(p) {
        let (mut rem, mut ia, mut ib) = (o, 0usize, 0usize);
        for d in (0..rank).rev() {
            let n = at(&p.shape, d);
            let i = rem.checked_rem(n).unwrap_or(0);
            rem = rem.checked_div(n).unwrap_or(0);
            ia += i * at(&p.a, d);
            ib += i * at(&p.b, d);
        }
        let (x, s) = (at(a, ia).wide(), at(b, ib).wide());
        let bit = |v: i128, k: u32| (v >> k) & 1;
        let v = match op {
            BitOp::And | BitOp::Or | BitOp::Xor => {
                let mut r = 0i128;
                for k in 0..T::BITS {
                    let (u, w) = (bit(x, k), bit(s, k));
                    let z = match op {
                        BitOp::And => u & w,
                        BitOp::Or => u | w,
                        _ => u ^ w,
                    };
                    r |= z << k;
                }
                r
            }
            BitOp::ShiftLeft => {
                let mut r = x;
                for _ in 0..s.clamp(0, T::BITS as i128) {
                    r *= 2;
                }
                if s < 0 {
                    0
                } else {
                    r
                }
            }
            BitOp::ShiftRight => {
                let mut r = x;
                let n = if s < 0 { T::BITS as i128 } else { s.min(T::BITS as i128) };
                for _ in 0..n {
                    r = r.div_euclid(2);
                }
                r
            }
        };
        put(y, o, T::narrow(v));
    }
}

/// `bitwise`: exact.
pub(crate) fn bitwise<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: BitInt,
    F: Fn(&Broadcast, BitOp, &[T], &[T], &mut [T]),
    G: Fn(&Broadcast, BitOp, &[T], &[T], &mut [T]),
{
    use BitOp::*;
    let (p, na, nb) = broadcast(rng);
    let op = rng.pick(&[And, Or, Xor, ShiftLeft, ShiftRight], And);
    let (mut a, mut b) = ([T::default(); N], [T::default(); N]);
    fill(&mut a, || T::random(rng));
    fill(&mut b, || if matches!(op, ShiftLeft | ShiftRight) { T::draw(rng) } else { T::random(rng) });
    let ny = total(&p) + rng.below(SLACK + 1);
    describe(geo, &p);
    let _ = write!(geo, " {:?}", op);
    let (a, b) = (head(&a, na), head(&b, nb));
    let sentinel = T::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, op, a, b, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference(&p, op, a, b, &mut exp),
        Want::Twin(twin) => twin(&p, op, a, b, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
