//! Format conversion checks (`cast_format`), exact: f32 to every small format and
//! back. The reference decodes each code straight from its sign, exponent and
//! mantissa fields, and encodes by searching every code for the nearest finite value
//! (ties to the even code), so it shares no rounding logic with the kernel.

use super::harness::{exact, head, head_mut, Elem, Rng, Text, Verdict, Want, N, SLACK};
use crate::kernels::{ExpRound, Format, FormatCast};
use core::fmt::Write;

/// The small formats.
const SMALL: [Format; 9] = [
    Format::F8E4M3FN,
    Format::F8E4M3FNUZ,
    Format::F8E5M2,
    Format::F8E5M2FNUZ,
    Format::F4E2M1,
    Format::I4,
    Format::U4,
    Format::I2,
    Format::U2,
];

/// (exponent bits, mantissa bits, bias, has infinities, NaN is 0x80) of a float format.
fn fields(f: Format) -> Option<(u32, u32, i32, bool, bool)> {
    match f {
        Format::F8E4M3FN => Some((4, 3, 7, false, false)),
        Format::F8E4M3FNUZ => Some((4, 3, 8, false, true)),
        Format::F8E5M2 => Some((5, 2, 15, true, false)),
        Format::F8E5M2FNUZ => Some((5, 2, 16, false, true)),
        Format::F4E2M1 => Some((2, 1, 1, false, false)),
        _ => None,
    }
}

/// 2^k by repeated multiplication.
fn pow2(k: i32) -> f64 {
    let mut v = 1.0f64;
    for _ in 0..k.unsigned_abs() {
        v = if k < 0 { v / 2.0 } else { v * 2.0 };
    }
    v
}

/// The value of a float code: NaN for NaN codes, infinities for infinity codes.
fn value(f: Format, code: u8) -> f64 {
    let Some((e_bits, m_bits, bias, inf, uz)) = fields(f) else { return 0.0 };
    let (e_all, m_all) = ((1u32 << e_bits) - 1, (1u32 << m_bits) - 1);
    let sign = (code >> (e_bits + m_bits)) & 1 == 1;
    let e = (code as u32 >> m_bits) & e_all;
    let m = code as u32 & m_all;
    if uz && code == 0x80 {
        return f64::NAN;
    }
    let v = if inf && e == e_all {
        if m == 0 {
            f64::INFINITY
        } else {
            f64::NAN
        }
    } else if !inf && !uz && e_bits > 2 && e == e_all && m == m_all {
        f64::NAN
    } else if e == 0 {
        m as f64 / pow2(m_bits as i32) * pow2(1 - bias)
    } else {
        (1.0 + m as f64 / pow2(m_bits as i32)) * pow2(e as i32 - bias)
    };
    if sign {
        -v
    } else {
        v
    }
}

/// The reference decoding of one byte.
fn decode(f: Format, byte: u8) -> f32 {
    match f {
        Format::I4 | Format::I2 => byte as i8 as f32,
        Format::U4 | Format::U2 => byte as f32,
        _ => value(f, byte) as f32,
    }
}

/// The positive codes of a float format with their values (NaN and infinity codes
/// hold NaN), and the largest finite code.
struct Codes {
    values: [f64; 128],
    count: u8,
    max_code: u8,
}

fn codes(f: Format) -> Codes {
    let mut c = Codes { values: [f64::NAN; 128], count: 0, max_code: 0 };
    let Some((e_bits, m_bits, ..)) = fields(f) else { return c };
    c.count = 1u8 << (e_bits + m_bits);
    let mut best = f64::NEG_INFINITY;
    for (code, slot) in c.values.iter_mut().enumerate().take(c.count as usize) {
        let v = value(f, code as u8);
        *slot = if v.is_finite() { v } else { f64::NAN };
        if v.is_finite() && v > best {
            best = v;
            c.max_code = code as u8;
        }
    }
    c
}

/// The reference encoding of one f32.
fn encode(f: Format, c: &Codes, v: f32, saturate: bool) -> u8 {
    let int = |bits: u32, signed: bool| {
        let t = if v.is_nan() { 0 } else { v as i64 };
        let m = t & ((1i64 << bits) - 1);
        if signed && m >= 1 << (bits - 1) {
            (m - (1 << bits)) as i8 as u8
        } else {
            m as u8
        }
    };
    match f {
        Format::I4 => return int(4, true),
        Format::U4 => return int(4, false),
        Format::I2 => return int(2, true),
        Format::U2 => return int(2, false),
        _ => {}
    }
    let Some((e_bits, m_bits, bias, inf, uz)) = fields(f) else { return 0 };
    let sign = if v.is_sign_negative() { c.count } else { 0 };
    let nan = if uz {
        0x80
    } else if e_bits <= 2 {
        0x8
    } else {
        sign | (c.count - 1)
    };
    let overflow = if saturate || e_bits <= 2 {
        sign | c.max_code
    } else if inf {
        sign | (((1u8 << e_bits) - 1) << m_bits)
    } else {
        nan
    };
    if v.is_nan() {
        return nan;
    }
    let a = (v as f64).abs();
    // The virtual code one step past the largest stands for overflow: at or past it
    // overflows; between the largest and it, the nearest wins (ties to the even one).
    let max = c.values.get(c.max_code as usize).copied().unwrap_or(0.0);
    let step = pow2((c.max_code as u32 >> m_bits) as i32 - bias - m_bits as i32);
    if a.is_infinite() || a >= max + step {
        return overflow;
    }
    let (mut best, mut best_d) = (0u8, f64::INFINITY);
    for (code, &cv) in c.values.iter().enumerate().take(c.count as usize) {
        let d = (cv - a).abs();
        if d < best_d || (d == best_d && code & 1 == 0) {
            best = code as u8;
            best_d = d;
        }
    }
    let d_beyond = (max + step - a).abs();
    let beyond_even = c.max_code & 1 == 1;
    if d_beyond < best_d || (d_beyond == best_d && beyond_even && best == c.max_code) {
        return overflow;
    }
    if best == 0 && uz {
        return 0;
    }
    sign | best
}

/// A value worth converting: mostly within the format's range (exact codes, midpoints
/// between codes, random values), sometimes specials or far out of range.
fn value_for(rng: &mut Rng, f: Format) -> f32 {
    let span = match f {
        Format::F8E5M2 | Format::F8E5M2FNUZ => 16,
        Format::F4E2M1 | Format::I2 | Format::U2 => 2,
        Format::I4 | Format::U4 => 4,
        _ => 9,
    };
    match rng.below(8) {
        0 => rng.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1e30, -1e30, 1e-30], 0.0),
        1 | 2 => {
            let c = rng.below(256) as u8;
            let v = decode(f, c);
            let w = decode(f, c.wrapping_add(1));
            if rng.chance(1, 2) && v.is_finite() && w.is_finite() {
                ((v as f64 + w as f64) / 2.0) as f32
            } else {
                v
            }
        }
        _ => rng.float(-1.0, 1.0) * pow2(rng.below(2 * span + 1) as i32 - span as i32) as f32,
    }
}

fn describe(geo: &mut Text, p: &FormatCast, n: usize) {
    let _ = write!(geo, "{:?}->{:?} sat{} n{}", p.from, p.to, p.saturate as u8, n);
}

/// `cast_format` from f32 to a small format held in bytes: exact.
pub(crate) fn to_small<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&FormatCast, &[f32], &mut [u8]),
    G: Fn(&FormatCast, &[f32], &mut [u8]),
{
    let to = rng.pick(&SMALL, Format::F8E4M3FN);
    let p = FormatCast { from: Format::F32, to, saturate: rng.chance(1, 2), round: ExpRound::Up };
    let n = rng.range(0, N / 8);
    let table = codes(to);
    let mut x = [0f32; N];
    x.iter_mut().take(n).for_each(|v| *v = value_for(rng, to));
    let x = head(&x, n);
    describe(geo, &p, n);
    let sentinel = u8::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x, head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for (o, &v) in head_mut(&mut exp, n).iter_mut().zip(x) {
                *o = encode(to, &table, v, p.saturate);
            }
        }
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, n)),
    }
    exact("y", &got, &exp)
}

/// `cast_format` from a small format held in bytes to f32: exact.
pub(crate) fn from_small<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&FormatCast, &[u8], &mut [f32]),
    G: Fn(&FormatCast, &[u8], &mut [f32]),
{
    let from = rng.pick(&SMALL, Format::F8E4M3FN);
    let p = FormatCast { from, to: Format::F32, saturate: true, round: ExpRound::Up };
    let n = rng.range(0, N);
    let mut x = [0u8; N];
    for v in x.iter_mut().take(n) {
        // A valid byte of the format: any code of the 8-bit floats, the low bits of
        // the 4-bit float, the value range of the integers.
        *v = match from {
            Format::F4E2M1 => rng.below(16) as u8,
            Format::I4 => rng.int(-8, 7) as i8 as u8,
            Format::U4 => rng.below(16) as u8,
            Format::I2 => rng.int(-2, 1) as i8 as u8,
            Format::U2 => rng.below(4) as u8,
            _ => rng.below(256) as u8,
        };
    }
    let x = head(&x, n);
    describe(geo, &p, n);
    let sentinel = f32::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, x, head_mut(&mut got, n));
    match want {
        Want::Reference => {
            for (o, &v) in head_mut(&mut exp, n).iter_mut().zip(x) {
                *o = decode(from, v);
            }
        }
        Want::Twin(twin) => twin(&p, x, head_mut(&mut exp, n)),
    }
    exact("y", &got, &exp)
}
