//! Requantisation as loops: `quantize_f32`, `dequantize_f32`, `dequantize_i32`,
//! `add_q8`, `mul_q8` and `lookup_q8`, in the runtime's integer arithmetic (64-bit
//! products, round half up by shift, `QOut::finish`'s saturating offset and clamp) and
//! its float operations in its order. Per-channel scales and zero points, and lookup
//! tables, are constants the engine places after the weights ([`constants`]).

use super::{at, broadcast_fits, flags, for_range, nest};
use crate::ir::DType;
use crate::lower::Kernel;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{Axis, Broadcast, QAdd, QMul, MAX_RANK};
use tinyops_runtime::quant::QOut;

/// The signed 8-bit types and the unsigned one; others are not 8-bit quantised.
pub(super) fn q8(t: DType) -> Option<bool> {
    match t {
        DType::I8 => Some(true),
        DType::U8 => Some(false),
        _ => None,
    }
}

/// True when the call is one of this module's and its element types are 8-bit.
pub fn emitted(k: &Kernel) -> bool {
    match k {
        Kernel::Quantize { to: t, .. } | Kernel::Dequantize { from: t, .. } => q8(*t).is_some(),
        Kernel::DequantizeI32 { .. } => true,
        Kernel::AddQ8 { a, b, y, .. } | Kernel::MulQ8 { a, b, y, .. } => {
            q8(*a).is_some() && q8(*b).is_some() && q8(*y).is_some()
        }
        Kernel::LookupQ8 { x, y, .. } => q8(*x).is_some() && q8(*y).is_some(),
        _ => false,
    }
}

/// The constant bytes a call's loops read: per-channel scales (f32) then zero points
/// (i32); a lookup table narrowed to its output type as the shim and the Rust
/// backend's literal narrow it.
pub fn constants(k: &Kernel) -> Vec<u8> {
    match k {
        Kernel::Quantize { scales, zps, .. } | Kernel::Dequantize { scales, zps, .. } => {
            scales.iter().flat_map(|s| s.to_le_bytes()).chain(zps.iter().flat_map(|z| z.to_le_bytes())).collect()
        }
        Kernel::DequantizeI32 { scales, .. } => scales.iter().flat_map(|s| s.to_le_bytes()).collect(),
        Kernel::LookupQ8 { y, table, .. } => table
            .iter()
            .take(256)
            .map(|&v| match y {
                DType::I8 => i8::try_from(v).unwrap_or_default() as u8,
                _ => u8::try_from(v).unwrap_or_default(),
            })
            .collect(),
        _ => vec![],
    }
}

/// Loads an 8-bit element as i32 (sign- or zero-extended).
pub(super) fn load_q8(b: &mut FunctionBuilder, signed: bool, a: Value) -> Value {
    let v = b.ins().load(types::I8, flags(), a, 0);
    if signed {
        b.ins().sextend(types::I32, v)
    } else {
        b.ins().uextend(types::I32, v)
    }
}

/// `out.finish(v)` on an i32: `v + zp` saturated, then below `min` gives `min`, above
/// `max` gives `max`.
pub(super) fn finish(b: &mut FunctionBuilder, out: &QOut, v: Value) -> Value {
    let wide = b.ins().sextend(types::I64, v);
    let s = b.ins().iadd_imm(wide, out.zp as i64);
    let s = clamp_i64(b, s, i32::MIN as i64, i32::MAX as i64);
    let (lo, hi) = (b.ins().iconst(types::I64, out.min as i64), b.ins().iconst(types::I64, out.max as i64));
    let below = b.ins().icmp(IntCC::SignedLessThan, s, lo);
    let above = b.ins().icmp(IntCC::SignedGreaterThan, s, hi);
    let r = b.ins().select(above, hi, s);
    let r = b.ins().select(below, lo, r);
    b.ins().ireduce(types::I32, r)
}

/// `v.clamp(lo, hi)` on i64.
pub(super) fn clamp_i64(b: &mut FunctionBuilder, v: Value, lo: i64, hi: i64) -> Value {
    let (l, h) = (b.ins().iconst(types::I64, lo), b.ins().iconst(types::I64, hi));
    let v = b.ins().smax(v, l);
    b.ins().smin(v, h)
}

/// `round_shift(v, shift)` on i64 (shift clamped into 1..=62 at compile time); the
/// sums here never reach the saturation the kernel guards against.
fn round_shift(b: &mut FunctionBuilder, v: Value, shift: u32) -> Value {
    let shift = shift.clamp(1, 62);
    let s = b.ins().iadd_imm(v, 1i64 << (shift - 1));
    b.ins().sshr_imm(s, shift as i64)
}

/// `round_shift(v, shift)` on i64 with the kernel's saturating add of the rounding
/// half (the averaging kernels' form).
pub(super) fn round_shift_sat(b: &mut FunctionBuilder, v: Value, shift: u32) -> Value {
    let shift = shift.clamp(1, 62);
    let half = 1i64 << (shift - 1);
    let over = b.ins().icmp_imm(IntCC::SignedGreaterThan, v, i64::MAX - half);
    let s = b.ins().iadd_imm(v, half);
    let max = b.ins().iconst(types::I64, i64::MAX);
    let s = b.ins().select(over, max, s);
    b.ins().sshr_imm(s, shift as i64)
}

/// `round_div(v, d)` on i64: `v / d` rounded half away from zero, 0 when `d ≤ 0`.
pub(super) fn round_div(b: &mut FunctionBuilder, v: Value, d: Value) -> Value {
    let pos = b.ins().icmp_imm(IntCC::SignedGreaterThan, d, 0);
    let one = b.ins().iconst(types::I64, 1);
    let d = b.ins().select(pos, d, one);
    let half = b.ins().sshr_imm(d, 1);
    let neg = b.ins().icmp_imm(IntCC::SignedLessThan, v, 0);
    let nv = b.ins().ineg(v);
    let a = b.ins().select(neg, nv, v);
    let a = b.ins().iadd(a, half);
    let q = b.ins().sdiv(a, d);
    let nq = b.ins().ineg(q);
    let r = b.ins().select(neg, nq, q);
    let zero = b.ins().iconst(types::I64, 0);
    b.ins().select(pos, r, zero)
}

/// The averaging kernels' output stage (`average_q8`): `sum · mult` (i64) divided by
/// `d` and shifted, each rounded half away from zero, clamped to i32, then offset and
/// clamped by `out`; the result as the 8-bit output element.
pub(super) fn average(b: &mut FunctionBuilder, sum: Value, d: Value, mult: i32, shift: u32, out: &QOut) -> Value {
    let prod = b.ins().imul_imm(sum, mult as i64);
    let v = round_div(b, prod, d);
    let v = round_shift_sat(b, v, shift);
    let v = clamp_i64(b, v, i32::MIN as i64, i32::MAX as i64);
    let v = b.ins().ireduce(types::I32, v);
    let r = finish(b, out, v);
    b.ins().ireduce(types::I8, r)
}

/// The per-channel loop of the kernels' `per_channel`: for every `(o, c)` row of
/// `inner` elements, `body(c, index)`; nothing when an operand is short (the lowering
/// never makes one, and [`super::emits`] leaves such calls to the runtime).
fn per_channel(b: &mut FunctionBuilder, p: &Axis, body: &mut dyn FnMut(&mut FunctionBuilder, Value, Value)) {
    let inner = p.inner as i64;
    for_range(b, p.outer as u64, |b, o| {
        for_range(b, p.len as u64, |b, c| {
            let row = b.ins().imul_imm(o, p.len as i64);
            let row = b.ins().iadd(row, c);
            let row = b.ins().imul_imm(row, inner);
            for_range(b, p.inner as u64, |b, i| {
                let idx = b.ins().iadd(row, i);
                body(b, c, idx);
            });
        });
    });
}

/// True when `per_channel` would visit every row: both operands hold them all.
pub fn per_channel_fits(p: &Axis, x_len: usize, y_len: usize) -> bool {
    let n = p.outer.checked_mul(p.len).and_then(|v| v.checked_mul(p.inner));
    n.is_some_and(|n| x_len >= n && y_len >= n)
}

/// `quantize_f32`: `clamp(round_ties_even(x / scale) + zp)`; NaN gives `zp`.
pub fn quantize(b: &mut FunctionBuilder, to: DType, p: &Axis, consts: Value, x: Value, y: Value) {
    let signed = q8(to) == Some(true);
    let (min, max) = if signed { (-128.0f32, 127.0f32) } else { (0.0, 255.0) };
    let zps_at = 4 * p.len as i64;
    per_channel(b, p, &mut |b, c, i| {
        let sa = at(b, consts, c, 4);
        let scale = b.ins().load(types::F32, flags(), sa, 0);
        let zp = b.ins().load(types::I32, flags(), sa, zps_at as i32);
        let xa = at(b, x, i, 4);
        let v = b.ins().load(types::F32, flags(), xa, 0);
        let d = b.ins().fdiv(v, scale);
        let q = round_ties_even(b, d);
        let zf = b.ins().fcvt_from_sint(types::F32, zp);
        let nan = b.ins().fcmp(FloatCC::Unordered, q, q);
        let s = b.ins().fadd(q, zf);
        let v = b.ins().select(nan, zf, s);
        // v < MIN ? MIN : v > MAX ? MAX : v as i32
        let (lo, hi) = (b.ins().f32const(min), b.ins().f32const(max));
        let below = b.ins().fcmp(FloatCC::LessThan, v, lo);
        let above = b.ins().fcmp(FloatCC::GreaterThan, v, hi);
        let r = b.ins().fcvt_to_sint_sat(types::I32, v);
        let (li, hi_i) = (b.ins().iconst(types::I32, min as i64), b.ins().iconst(types::I32, max as i64));
        let r = b.ins().select(above, hi_i, r);
        let r = b.ins().select(below, li, r);
        let r = b.ins().ireduce(types::I8, r);
        let ya = at(b, y, i, 1);
        b.ins().store(flags(), r, ya, 0);
    });
}

/// `round_ties_even`: values of magnitude 2^22 or more, and NaN, as they are; else
/// `(x + 1.5·2^23) − 1.5·2^23`.
fn round_ties_even(b: &mut FunctionBuilder, x: Value) -> Value {
    let magic = b.ins().f32const(12_582_912.0);
    let big = b.ins().f32const(4_194_304.0);
    let a = b.ins().fabs(x);
    let large = b.ins().fcmp(FloatCC::GreaterThanOrEqual, a, big);
    let nan = b.ins().fcmp(FloatCC::Unordered, x, x);
    let keep = b.ins().bor(large, nan);
    let s = b.ins().fadd(x, magic);
    let r = b.ins().fsub(s, magic);
    b.ins().select(keep, x, r)
}

/// `dequantize_f32` (`from` 8-bit: `(x − zp) as f32 · scale`) or `dequantize_i32`
/// (`from` None: `x as f32 · scale`).
pub fn dequantize(b: &mut FunctionBuilder, from: Option<DType>, p: &Axis, consts: Value, x: Value, y: Value) {
    let zps_at = 4 * p.len as i32;
    per_channel(b, p, &mut |b, c, i| {
        let sa = at(b, consts, c, 4);
        let scale = b.ins().load(types::F32, flags(), sa, 0);
        let v = match from {
            Some(t) => {
                let zp = b.ins().load(types::I32, flags(), sa, zps_at);
                let xa = at(b, x, i, 1);
                let v = load_q8(b, q8(t) == Some(true), xa);
                b.ins().isub(v, zp)
            }
            None => {
                let xa = at(b, x, i, 4);
                b.ins().load(types::I32, flags(), xa, 0)
            }
        };
        let f = b.ins().fcvt_from_sint(types::F32, v);
        let r = b.ins().fmul(f, scale);
        let ya = at(b, y, i, 4);
        b.ins().store(flags(), r, ya, 0);
    });
}

/// The two quantised binary kernels.
pub enum QBinary<'a> {
    /// `add_q8`.
    Add(&'a QAdd),
    /// `mul_q8`.
    Mul(&'a QMul),
}

/// `add_q8` / `mul_q8` over a broadcast of 8-bit operands `[a, b, y]` of types `t`.
pub fn binary_q8(
    b: &mut FunctionBuilder,
    p: &Broadcast,
    op: QBinary<'_>,
    out: &QOut,
    t: [DType; 3],
    base: [(Value, usize); 3],
) {
    if !broadcast_fits(p, base[0].1, base[1].1, base[2].1) {
        return;
    }
    let rank = p.rank;
    let shape = &p.shape[..rank];
    let mut ys = [0usize; MAX_RANK];
    let mut run = 1;
    for d in (0..rank).rev() {
        ys[d] = run;
        run *= shape[d];
    }
    let strides: Vec<[i64; 3]> = (0..rank).map(|d| [p.a[d] as i64, p.b[d] as i64, ys[d] as i64]).collect();
    let (sa, sb) = (q8(t[0]) == Some(true), q8(t[1]) == Some(true));
    nest(b, shape, &strides, 0, [base[0].0, base[1].0, base[2].0], &mut |b, [pa, pb, py]| {
        let x = load_q8(b, sa, pa);
        let z = load_q8(b, sb, pb);
        let v = match &op {
            QBinary::Add(q) => {
                // (x − a_zp)·a_mult + (z − b_zp)·b_mult in i64, rounded by shift, clamped.
                let x = b.ins().iadd_imm(x, -(q.a_zp as i64));
                let z = b.ins().iadd_imm(z, -(q.b_zp as i64));
                let x = b.ins().sextend(types::I64, x);
                let z = b.ins().sextend(types::I64, z);
                let x = b.ins().imul_imm(x, q.a_mult as i64);
                let z = b.ins().imul_imm(z, q.b_mult as i64);
                let s = b.ins().iadd(x, z);
                let r = round_shift(b, s, q.shift);
                let r = clamp_i64(b, r, i32::MIN as i64, i32::MAX as i64);
                b.ins().ireduce(types::I32, r)
            }
            QBinary::Mul(q) => {
                // requantize((x − a_zp)·(z − b_zp), mult, shift)
                let x = b.ins().iadd_imm(x, -(q.a_zp as i64));
                let z = b.ins().iadd_imm(z, -(q.b_zp as i64));
                let prod = b.ins().imul(x, z);
                let prod = b.ins().sextend(types::I64, prod);
                let prod = b.ins().imul_imm(prod, q.mult as i64);
                let r = round_shift(b, prod, q.shift);
                let r = clamp_i64(b, r, i32::MIN as i64, i32::MAX as i64);
                b.ins().ireduce(types::I32, r)
            }
        };
        let r = finish(b, out, v);
        let r = b.ins().ireduce(types::I8, r);
        b.ins().store(flags(), r, py, 0);
    });
}

/// `lookup_q8`: `y = table[x − X::MIN]` for `n` elements; nothing when the table is
/// shorter than the input type's range (as the kernel).
pub fn lookup(b: &mut FunctionBuilder, x_t: DType, table_len: usize, consts: Value, x: Value, y: Value, n: u64) {
    if table_len < 256 {
        return;
    }
    let signed = q8(x_t) == Some(true);
    for_range(b, n, |b, i| {
        let xa = at(b, x, i, 1);
        let v = b.ins().load(types::I8, flags(), xa, 0);
        let idx = b.ins().uextend(types::I64, v);
        // x − MIN: for i8 the byte's bits plus 128 modulo 256, i.e. the top bit flipped.
        let idx = if signed { b.ins().bxor_imm(idx, 0x80) } else { idx };
        let ta = b.ins().iadd(consts, idx);
        let r = b.ins().load(types::I8, flags(), ta, 0);
        let ya = at(b, y, i, 1);
        b.ins().store(flags(), r, ya, 0);
    });
}
