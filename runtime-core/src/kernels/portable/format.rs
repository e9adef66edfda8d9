//! Conversions between number formats through f32 (ONNX `Cast` to and from the 8-bit
//! floats, the 4-bit float and the 4- and 2-bit integers). Every small format is held
//! one element per byte: the floats as their bits, the integers as their value.

use crate::kernels::{ExpRound, Format, FormatCast};
use crate::math;

/// How a small float lays out its bits and what its all-ones patterns mean.
#[derive(Clone, Copy)]
struct Layout {
    exp: u32,
    man: u32,
    bias: i32,
    /// Exponent all ones with mantissa zero is infinity, any other mantissa NaN.
    ieee: bool,
    /// NaN is 0x80 (and there is no −0).
    uz: bool,
    /// The bits written for NaN (with the sign of the value, except for `uz`).
    nan: u8,
}

const fn layout(f: Format) -> Option<Layout> {
    let (exp, man, bias, ieee, uz, nan) = match f {
        Format::F8E4M3FN => (4, 3, 7, false, false, 0x7F),
        Format::F8E4M3FNUZ => (4, 3, 8, false, true, 0x80),
        Format::F8E5M2 => (5, 2, 15, true, false, 0x7F),
        Format::F8E5M2FNUZ => (5, 2, 16, false, true, 0x80),
        // The 4-bit float has no NaN; NaN becomes −0, as the ONNX reference does.
        Format::F4E2M1 => (2, 1, 1, false, false, 0x8),
        _ => return None,
    };
    Some(Layout { exp, man, bias, ieee, uz, nan })
}

/// 2^k as f64 for −1000 < k < 1000.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((1023 + k as i64) as u64) << 52)
}

fn decode(l: Layout, bits: u8) -> f32 {
    let width = 1 + l.exp + l.man;
    let bits = bits & ((1u16 << width) - 1) as u8;
    if l.uz && bits == 0x80 {
        return f32::NAN;
    }
    let sign = (bits >> (l.exp + l.man)) & 1 != 0;
    let e = ((bits >> l.man) as u32 & ((1 << l.exp) - 1)) as i32;
    let m = (bits as u32 & ((1 << l.man) - 1)) as i32;
    let all = (1 << l.exp) - 1;
    let v = if l.ieee && e == all {
        if m == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if !l.ieee && !l.uz && l.exp > 2 && e == all && m == (1 << l.man) - 1 {
        f64::NAN
    } else if e == 0 {
        m as f64 * pow2(1 - l.bias - l.man as i32)
    } else {
        ((1 << l.man) + m) as f64 * pow2(e - l.bias - l.man as i32)
    };
    (if sign { -v } else { v }) as f32
}

/// The largest finite value's bits (without sign).
fn max_bits(l: Layout) -> u8 {
    let all_e = (1u8 << l.exp) - 1;
    let all_m = (1u8 << l.man) - 1;
    if l.ieee {
        ((all_e - 1) << l.man) | all_m
    } else if !l.uz && l.exp > 2 {
        (all_e << l.man) | (all_m - 1)
    } else {
        (all_e << l.man) | all_m
    }
}

fn encode(l: Layout, v: f32, saturate: bool) -> u8 {
    let sign_bit = 1u8 << (l.exp + l.man);
    let neg = v.is_sign_negative();
    let sign = if neg { sign_bit } else { 0 };
    if v.is_nan() {
        return if l.uz || l.exp <= 2 { l.nan } else { sign | l.nan };
    }
    let max = max_bits(l);
    let overflow = if saturate || l.exp <= 2 {
        sign | max
    } else if l.ieee {
        sign | (((1u8 << l.exp) - 1) << l.man)
    } else if l.uz {
        l.nan
    } else {
        sign | l.nan
    };
    if v.is_infinite() {
        return overflow;
    }
    let a = v.abs();
    if a == 0.0 {
        return if l.uz { 0 } else { sign };
    }
    let emin = 1 - l.bias;
    let f32_exp = ((a.to_bits() >> 23) & 0xff) as i32 - 127;
    let q = f32_exp.max(emin) - l.man as i32;
    let x = a as f64 * pow2(-q);
    let fl = x as u64;
    let frac = x - fl as f64;
    let r = if frac > 0.5 || (frac == 0.5 && fl & 1 == 1) { fl + 1 } else { fl };
    if r == 0 {
        return if l.uz { 0 } else { sign };
    }
    let one = 1u64 << l.man;
    let (field, m) = if r >= one {
        let (mut e, mut r) = (f32_exp.max(emin), r);
        if r >= one << 1 {
            r >>= 1;
            e += 1;
        }
        ((e + l.bias) as i64, r - one)
    } else {
        (0, r)
    };
    if field >= (1i64 << l.exp) {
        return overflow;
    }
    let bits = ((field as u8) << l.man) | m as u8;
    if decode(l, bits) > decode(l, max) || (decode(l, bits).is_nan()) {
        return overflow;
    }
    sign | bits
}

/// Wraps an integer to its low `bits` bits, sign-extended when `signed`.
fn wrap(v: i64, bits: u32, signed: bool) -> i64 {
    let shift = 64 - bits;
    if signed {
        (v << shift) >> shift
    } else {
        v & ((1 << bits) - 1)
    }
}

/// An E8M0 code as f32: 2^(code − 127), NaN for 0xFF (code 0 is the f32 subnormal 2^−127).
fn e8m0_to_f32(byte: u8) -> f32 {
    match byte {
        0xFF => f32::NAN,
        0 => f32::from_bits(0x0040_0000),
        b => f32::from_bits((b as u32) << 23),
    }
}

/// An f32 as an E8M0 code: its exponent field, raised by one as `round` says (not past
/// the largest code 0xFE when `saturate`; else 0xFE raised is 0xFF, NaN); NaN and the
/// infinities become 0xFF. The sign is dropped.
pub fn f32_to_e8m0(v: f32, saturate: bool, round: ExpRound) -> u8 {
    let bits = v.to_bits();
    let e = (bits >> 23) & 0xFF;
    if e == 0xFF {
        return 0xFF;
    }
    let up = match round {
        ExpRound::Up => bits & 0x7F_FFFF != 0,
        ExpRound::Down => false,
        ExpRound::Nearest => bits & 0x40_0000 != 0 && (bits & 0x3F_FFFF != 0 || e > 0),
    };
    let up = up && !(saturate && e == 0xFE);
    (e + up as u32) as u8
}

/// One element of a small format (the byte holding it) as f32.
pub fn small_to_f32(f: Format, byte: u8) -> f32 {
    match f {
        Format::F8E8M0 => e8m0_to_f32(byte),
        Format::I4 | Format::I2 => byte as i8 as f32,
        Format::U4 | Format::U2 => byte as f32,
        _ => match layout(f) {
            Some(l) => decode(l, byte),
            None => 0.0,
        },
    }
}

/// An f32 as one element of a small format (the byte holding it); see [`FormatCast`]
/// (E8M0 rounds up, ONNX's default; [`f32_to_e8m0`] takes the mode).
pub fn f32_to_small(f: Format, v: f32, saturate: bool) -> u8 {
    match f {
        Format::F8E8M0 => f32_to_e8m0(v, saturate, ExpRound::Up),
        Format::I4 => wrap(v as i64, 4, true) as i8 as u8,
        Format::I2 => wrap(v as i64, 2, true) as i8 as u8,
        Format::U4 => wrap(v as i64, 4, false) as u8,
        Format::U2 => wrap(v as i64, 2, false) as u8,
        _ => match layout(f) {
            Some(l) => encode(l, v, saturate),
            None => 0,
        },
    }
}

/// An element type [`cast_format`] reads and writes: `f32`, `u16` (half floats' bits),
/// `u8` (small floats' bits, unsigned small integers) and `i8` (signed small integers).
pub trait FormatElem: Copy + Default {
    /// The element of format `f` as f32.
    fn load(self, f: Format) -> f32;
    /// An f32 as an element of format `f`.
    fn store(v: f32, f: Format, saturate: bool) -> Self;
    /// An f32 as an element of format `f` under `p`'s rounding (E8M0's mode).
    fn store_as(v: f32, p: &FormatCast) -> Self {
        Self::store(v, p.to, p.saturate)
    }
}

impl FormatElem for f32 {
    fn load(self, _: Format) -> f32 {
        self
    }
    fn store(v: f32, _: Format, _: bool) -> Self {
        v
    }
}

impl FormatElem for u16 {
    fn load(self, f: Format) -> f32 {
        if f == Format::BF16 {
            math::bf16_to_f32(self)
        } else {
            math::f16_to_f32(self)
        }
    }
    fn store(v: f32, f: Format, _: bool) -> Self {
        if f == Format::BF16 {
            math::f32_to_bf16(v)
        } else {
            math::f32_to_f16(v)
        }
    }
}

impl FormatElem for u8 {
    fn load(self, f: Format) -> f32 {
        small_to_f32(f, self)
    }
    fn store(v: f32, f: Format, saturate: bool) -> Self {
        f32_to_small(f, v, saturate)
    }
    fn store_as(v: f32, p: &FormatCast) -> Self {
        if p.to == Format::F8E8M0 {
            f32_to_e8m0(v, p.saturate, p.round)
        } else {
            f32_to_small(p.to, v, p.saturate)
        }
    }
}

impl FormatElem for i8 {
    fn load(self, f: Format) -> f32 {
        small_to_f32(f, self as u8)
    }
    fn store(v: f32, f: Format, saturate: bool) -> Self {
        f32_to_small(f, v, saturate) as i8
    }
}

/// `y = x` converted from format `p.from` to `p.to` through f32 (ONNX `Cast` involving
/// an 8-bit or 4-bit float or a 4- or 2-bit integer).
pub fn cast_format<X: FormatElem, Y: FormatElem>(p: &FormatCast, x: &[X], y: &mut [Y]) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = Y::store_as(v.load(p.from), p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float8_rounds_saturates_and_keeps_specials() {
        let e4 = Format::F8E4M3FN;
        assert_eq!(f32_to_small(e4, 0.478_925_47, true), 0x2f);
        assert_eq!(f32_to_small(e4, 1e6, true), 0x7e);
        assert_eq!(f32_to_small(e4, -f32::INFINITY, true), 0xfe);
        assert_eq!(f32_to_small(e4, 1e6, false), 0x7f);
        assert_eq!(f32_to_small(e4, -1e-7, true), 0x80);
        assert_eq!(small_to_f32(e4, 0x7e), 448.0);
        assert!(small_to_f32(e4, 0x7f).is_nan());
        let uz = Format::F8E4M3FNUZ;
        assert_eq!(f32_to_small(uz, -1e-7, true), 0);
        assert_eq!(f32_to_small(uz, f32::NAN, true), 0x80);
        assert_eq!(small_to_f32(uz, 0x7f), 240.0);
        assert_eq!(f32_to_small(Format::F8E5M2, 1e6, false), 0x7c);
        assert_eq!(small_to_f32(Format::F8E5M2, 0x7c), f32::INFINITY);
        assert_eq!(f32_to_small(Format::F4E2M1, 9.0, true), 0x7);
        assert_eq!(f32_to_small(Format::F4E2M1, 0.25, true), 0x0);
        assert_eq!(small_to_f32(Format::F4E2M1, 0x1), 0.5);
    }

    #[test]
    fn small_integers_wrap() {
        assert_eq!(f32_to_small(Format::I4, -9.0, true) as i8, 7);
        assert_eq!(f32_to_small(Format::I4, 8.0, true) as i8, -8);
        assert_eq!(f32_to_small(Format::U4, -1.0, true), 15);
        assert_eq!(f32_to_small(Format::I2, -3.0, true) as i8, 1);
        let mut y = [0i8; 2];
        cast_format(
            &FormatCast { from: Format::F32, to: Format::I4, saturate: true, round: ExpRound::Up },
            &[9.0f32, -2.5],
            &mut y,
        );
        assert_eq!(y, [-7, -2]);
    }

    #[test]
    fn e8m0_keeps_the_exponent_and_rounds_as_asked() {
        // The ONNX node test's values: 0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8 rounding up.
        let x = [0.0f32, 0.124, 0.25, 0.5, 1.1, 2.0, 4.0, 8.0];
        let up = x.map(|v| f32_to_e8m0(v, true, ExpRound::Up));
        assert_eq!(up, [0x00, 0x7c, 0x7d, 0x7e, 0x80, 0x80, 0x81, 0x82]);
        assert_eq!(f32_to_e8m0(1.1, true, ExpRound::Down), 0x7f);
        assert_eq!(f32_to_e8m0(1.4, true, ExpRound::Nearest), 0x7f);
        assert_eq!(f32_to_e8m0(1.6, true, ExpRound::Nearest), 0x80);
        assert_eq!(f32_to_e8m0(-4.0, true, ExpRound::Up), 0x81);
        assert_eq!(f32_to_e8m0(f32::MAX, true, ExpRound::Up), 0xfe);
        assert_eq!(f32_to_e8m0(f32::MAX, false, ExpRound::Up), 0xff);
        assert_eq!(f32_to_e8m0(f32::INFINITY, true, ExpRound::Up), 0xff);
        assert_eq!(small_to_f32(Format::F8E8M0, 0x00), 2f32.powi(-127));
        assert_eq!(small_to_f32(Format::F8E8M0, 0x7c), 0.125);
        assert_eq!(small_to_f32(Format::F8E8M0, 0x82), 8.0);
        assert!(small_to_f32(Format::F8E8M0, 0xff).is_nan());
    }
}
