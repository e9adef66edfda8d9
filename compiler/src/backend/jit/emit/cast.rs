//! Casts between the plain numeric types as loops: `cast` (f32, f64 and the 8- to
//! 64-bit integers), `cast_to_bool` and `cast_from_bool`, each element converted as the
//! portable kernel's `Scalar` methods convert it — through f64 when either side is a
//! float (`Y::from_f64(x.to_f64())`, so an integer reaches f32 rounded twice, as in
//! the kernel), else through i64 (`Y::from_i64(x.to_i64())`), with Rust's `as`
//! semantics: float to integer saturates and takes NaN to 0, integer to integer
//! extends by the source's signedness and truncates. Half-precision and float8
//! formats (`cast_from_half`, `cast_to_half`, `cast_format`) stay runtime calls.

use super::{at, flags, for_range, int_type, plain};
use crate::ir::DType;
use crate::lower::Kernel;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// True when the call is a cast this module emits.
pub fn emitted(k: &Kernel) -> bool {
    match k {
        Kernel::Cast { from, to } => plain(*from) && plain(*to),
        Kernel::CastToBool { from } => plain(*from),
        Kernel::CastFromBool { to } => plain(*to),
        _ => false,
    }
}

/// True for the signed integer types.
fn signed(t: DType) -> bool {
    matches!(t, DType::I8 | DType::I16 | DType::I32 | DType::I64)
}

/// The cranelift type an element of `t` is loaded as.
fn ty(t: DType) -> Type {
    match t {
        DType::F32 => types::F32,
        DType::F64 => types::F64,
        DType::Bool => types::I8,
        _ => int_type(t.size() as u8),
    }
}

/// An integer of type `t` widened to i64 (`as i64`).
fn to_i64(b: &mut FunctionBuilder, t: DType, v: Value) -> Value {
    if t.size() == 8 {
        v
    } else if signed(t) {
        b.ins().sextend(types::I64, v)
    } else {
        b.ins().uextend(types::I64, v)
    }
}

/// `x as f64` for an element of type `t`.
fn to_f64(b: &mut FunctionBuilder, t: DType, v: Value) -> Value {
    match t {
        DType::F64 => v,
        DType::F32 => b.ins().fpromote(types::F64, v),
        DType::U64 => b.ins().fcvt_from_uint(types::F64, v),
        _ => {
            let w = to_i64(b, t, v);
            b.ins().fcvt_from_sint(types::F64, w)
        }
    }
}

/// `v as T` for an f64 `v`: rounding to f32, or saturating to an integer (NaN to 0).
fn from_f64(b: &mut FunctionBuilder, t: DType, v: Value) -> Value {
    match t {
        DType::F64 => v,
        DType::F32 => b.ins().fdemote(types::F32, v),
        DType::I64 => b.ins().fcvt_to_sint_sat(types::I64, v),
        DType::U64 => b.ins().fcvt_to_uint_sat(types::I64, v),
        DType::I32 => b.ins().fcvt_to_sint_sat(types::I32, v),
        DType::U32 => b.ins().fcvt_to_uint_sat(types::I32, v),
        DType::I8 | DType::I16 => {
            // Saturating to i32, then to the narrower range, is saturating to it.
            let bits = t.size() as u32 * 8;
            let w = b.ins().fcvt_to_sint_sat(types::I32, v);
            let (lo, hi) = (
                b.ins().iconst(types::I32, -(1i64 << (bits - 1))),
                b.ins().iconst(types::I32, (1i64 << (bits - 1)) - 1),
            );
            let w = b.ins().smax(w, lo);
            let w = b.ins().smin(w, hi);
            b.ins().ireduce(ty(t), w)
        }
        _ => {
            let bits = t.size() as u32 * 8;
            let w = b.ins().fcvt_to_uint_sat(types::I32, v);
            let hi = b.ins().iconst(types::I32, (1i64 << bits) - 1);
            let w = b.ins().umin(w, hi);
            b.ins().ireduce(ty(t), w)
        }
    }
}

/// `y[i] = x[i] as to` for `n` elements of `from`.
pub fn cast(b: &mut FunctionBuilder, from: DType, to: DType, x: Value, y: Value, n: u64) {
    let (xs, ys) = (from.size() as i64, to.size() as i64);
    for_range(b, n, |b, i| {
        let xa = at(b, x, i, xs);
        let v = b.ins().load(ty(from), flags(), xa, 0);
        let r = if from.is_float() || to.is_float() {
            let f = to_f64(b, from, v);
            from_f64(b, to, f)
        } else {
            let w = to_i64(b, from, v);
            if ys == 8 {
                w
            } else {
                b.ins().ireduce(ty(to), w)
            }
        };
        let ya = at(b, y, i, ys);
        b.ins().store(flags(), r, ya, 0);
    });
}

/// `y[i] = (x[i] ≠ 0)` as a boolean byte (NaN is true) for `n` elements of `from`.
pub fn cast_to_bool(b: &mut FunctionBuilder, from: DType, x: Value, y: Value, n: u64) {
    let xs = from.size() as i64;
    for_range(b, n, |b, i| {
        let xa = at(b, x, i, xs);
        let v = b.ins().load(ty(from), flags(), xa, 0);
        let r = if from.is_float() {
            let f = to_f64(b, from, v);
            let z = b.ins().f64const(0.0);
            b.ins().fcmp(FloatCC::NotEqual, f, z)
        } else {
            b.ins().icmp_imm(IntCC::NotEqual, v, 0)
        };
        let ya = b.ins().iadd(y, i);
        b.ins().store(flags(), r, ya, 0);
    });
}

/// `y[i] = x[i] ≠ 0 ? 1 : 0` in type `to` for `n` boolean bytes.
pub fn cast_from_bool(b: &mut FunctionBuilder, to: DType, x: Value, y: Value, n: u64) {
    let ys = to.size() as i64;
    for_range(b, n, |b, i| {
        let xa = b.ins().iadd(x, i);
        let v = b.ins().load(types::I8, flags(), xa, 0);
        let c = b.ins().icmp_imm(IntCC::NotEqual, v, 0);
        let r = match to {
            DType::F32 | DType::F64 => {
                let (one, zero) = if to == DType::F32 {
                    (b.ins().f32const(1.0), b.ins().f32const(0.0))
                } else {
                    (b.ins().f64const(1.0), b.ins().f64const(0.0))
                };
                b.ins().select(c, one, zero)
            }
            _ if ys == 1 => c,
            _ => b.ins().uextend(ty(to), c),
        };
        let ya = at(b, y, i, ys);
        b.ins().store(flags(), r, ya, 0);
    });
}
