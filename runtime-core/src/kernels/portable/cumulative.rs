//! Running sums and products along an axis (ONNX CumSum, CumProd), and the
//! reinterpretation of bits as another type of the same width (ONNX BitCast).

use crate::kernels::Cumulative;

/// Element types with the arithmetic of [`cumulative`] (integers wrap).
pub trait Accumulate: Copy + Default + 'static {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// `self + b`.
    fn add(self, b: Self) -> Self;
    /// `self · b`.
    fn mul(self, b: Self) -> Self;
}

macro_rules! accumulate {
    (float: $($f:ty),*; int: $($i:ty),*) => {
        $(impl Accumulate for $f {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn add(self, b: Self) -> Self { self + b }
            #[inline(always)]
            fn mul(self, b: Self) -> Self { self * b }
        })*
        $(impl Accumulate for $i {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)]
            fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
        })*
    };
}

accumulate!(float: f32, f64; int: i8, u8, i16, u16, i32, u32, i64, u64);

/// `y[o, i, k] = x[o, 0, k] ∘ … ∘ x[o, i, k]` along the middle axis (see
/// [`Cumulative`]).
pub fn cumulative<T: Accumulate>(p: &Cumulative, x: &[T], y: &mut [T]) {
    let n = p.outer.saturating_mul(p.len).saturating_mul(p.inner);
    if x.len() < n || y.len() < n || p.inner == 0 {
        return;
    }
    for o in 0..p.outer {
        for k in 0..p.inner {
            let mut acc = if p.product { T::ONE } else { T::ZERO };
            for s in 0..p.len {
                let i = if p.reverse { p.len - 1 - s } else { s };
                let at = (o * p.len + i) * p.inner + k;
                let (Some(&v), Some(out)) = (x.get(at), y.get_mut(at)) else { return };
                let next = if p.product { acc.mul(v) } else { acc.add(v) };
                *out = if p.exclusive { acc } else { next };
                acc = next;
            }
        }
    }
}

/// Element types [`bitcast`] reinterprets: their bits, zero-extended to 64.
pub trait RawBits: Copy + Default + 'static {
    /// The bits.
    fn bits(self) -> u64;
    /// From the low bits.
    fn from_bits(b: u64) -> Self;
}

macro_rules! raw_bits {
    (int: $($i:ty: $u:ty),*; float: $($f:ty: $fu:ty),*) => {
        $(impl RawBits for $i {
            #[inline(always)]
            fn bits(self) -> u64 { self as $u as u64 }
            #[inline(always)]
            fn from_bits(b: u64) -> Self { b as $u as $i }
        })*
        $(impl RawBits for $f {
            #[inline(always)]
            fn bits(self) -> u64 { self.to_bits() as u64 }
            #[inline(always)]
            fn from_bits(b: u64) -> Self { <$f>::from_bits(b as $fu) }
        })*
    };
}

raw_bits!(int: i8: u8, u8: u8, i16: u16, u16: u16, i32: u32, u32: u32, i64: u64, u64: u64; float: f32: u32, f64: u64);

/// `y = x` with each element's bits read as `Y` (the compiler pairs types of one width).
pub fn bitcast<X: RawBits, Y: RawBits>(x: &[X], y: &mut [Y]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = Y::from_bits(v.bits());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_sums_and_products_in_every_direction() {
        let x = [1.0f64, 2.0, 3.0, 4.0];
        let mut y = [0.0; 4];
        let p = Cumulative { outer: 1, len: 4, inner: 1, product: false, exclusive: false, reverse: false };
        cumulative(&p, &x, &mut y);
        assert_eq!(y, [1.0, 3.0, 6.0, 10.0]);
        cumulative(&Cumulative { exclusive: true, reverse: true, ..p }, &x, &mut y);
        assert_eq!(y, [9.0, 7.0, 4.0, 0.0]);
        let mut z = [0i32; 4];
        cumulative(&Cumulative { outer: 1, len: 2, inner: 2, product: true, ..p }, &[1, 2, 3, 4], &mut z);
        assert_eq!(z, [1, 2, 3, 8]);
    }

    #[test]
    fn bitcast_keeps_bits() {
        let mut y = [0i32; 2];
        bitcast(&[1.0f32, -0.0], &mut y);
        assert_eq!(y, [0x3f80_0000, i32::MIN]);
        let mut u = [0u8; 2];
        bitcast(&[-1i8, 5], &mut u);
        assert_eq!(u, [255, 5]);
    }
}
