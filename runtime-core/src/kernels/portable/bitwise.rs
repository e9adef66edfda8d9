//! Bitwise functions of integers with numpy broadcasting (ONNX BitwiseAnd, BitwiseOr,
//! BitwiseXor, BitwiseNot as Xor with all ones, BitShift).

use super::elementwise::broadcast_map;
use crate::kernels::{BitOp, Broadcast};

/// The integer element types [`bitwise`] takes.
pub trait Bits: Copy + Default + PartialOrd + 'static {
    /// `self & b`.
    fn and(self, b: Self) -> Self;
    /// `self | b`.
    fn or(self, b: Self) -> Self;
    /// `self ^ b`.
    fn xor(self, b: Self) -> Self;
    /// `self << b`, 0 when b is negative or reaches the width.
    fn shl(self, b: Self) -> Self;
    /// `self >> b`; past the width, what shifting one bit at a time would give.
    fn shr(self, b: Self) -> Self;
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            #[inline(always)]
            fn and(self, b: Self) -> Self { self & b }
            #[inline(always)]
            fn or(self, b: Self) -> Self { self | b }
            #[inline(always)]
            fn xor(self, b: Self) -> Self { self ^ b }
            #[inline(always)]
            fn shl(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                let out = b < 0 || b as u64 >= <$t>::BITS as u64;
                if out { 0 } else { self << (b as u32) }
            }
            #[inline(always)]
            fn shr(self, b: Self) -> Self {
                #[allow(unused_comparisons)]
                let out = b < 0 || b as u64 >= <$t>::BITS as u64;
                if out { self >> (<$t>::BITS - 1) >> 1 } else { self >> (b as u32) }
            }
        }
    )*};
}

bits!(i8, u8, i16, u16, i32, u32, i64, u64);

/// `y = a ∘ b` bitwise, with numpy broadcasting described by `p`.
pub fn bitwise<T: Bits>(p: &Broadcast, op: BitOp, a: &[T], b: &[T], y: &mut [T]) {
    match op {
        BitOp::And => broadcast_map(p, a, b, y, T::and),
        BitOp::Or => broadcast_map(p, a, b, y, T::or),
        BitOp::Xor => broadcast_map(p, a, b, y, T::xor),
        BitOp::ShiftLeft => broadcast_map(p, a, b, y, T::shl),
        BitOp::ShiftRight => broadcast_map(p, a, b, y, T::shr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::MAX_RANK;

    #[test]
    fn bit_functions_and_shifts_past_the_width() {
        let mut shape = [1; MAX_RANK];
        shape[0] = 4;
        let mut st = [0; MAX_RANK];
        st[0] = 1;
        let p = Broadcast { rank: 1, shape, a: st, b: st };
        let mut y = [0u8; 4];
        bitwise(&p, BitOp::ShiftLeft, &[1u8, 3, 255, 1], &[1, 2, 4, 8], &mut y);
        assert_eq!(y, [2, 12, 240, 0]);
        bitwise(&p, BitOp::ShiftRight, &[16u8, 255, 1, 128], &[1, 4, 1, 9], &mut y);
        assert_eq!(y, [8, 15, 0, 0]);
        let mut z = [0i8; 4];
        bitwise(&p, BitOp::Xor, &[-1i8, 5, 0, 7], &[-1, 3, -1, 7], &mut z);
        assert_eq!(z, [0, 6, -1, 0]);
        bitwise(&p, BitOp::ShiftRight, &[-128i8, -1, 64, -2], &[9, 1, 2, 1], &mut z);
        assert_eq!(z, [-1, -1, 16, -1]);
    }
}
