//! `unary_f32` and `unary_int` as loops: each function as the portable kernel writes
//! it, the same IEEE operations in the same order; the transcendental ones call the
//! runtime's scalar functions ([`super::scalar`]) inside the loop.

use super::scalar::{self, Scalars};
use super::{at, clamp_value, flags, for_range};
use crate::ir::DType;
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{Clamp, IntUnary, UnaryFn};

/// The scalar functions `f` calls.
pub fn scalars(f: UnaryFn) -> &'static [&'static str] {
    use UnaryFn as U;
    match f {
        U::Sigmoid | U::Silu => &["sigmoid"],
        U::Tanh | U::GeluTanh => &["tanh"],
        U::Exp => &["exp"],
        U::Log => &["ln"],
        U::Sqrt => &["sqrt"],
        U::Softplus => &["softplus"],
        U::Sin => &["sin"],
        U::Cos => &["cos"],
        U::Tan => &["tan"],
        U::Asin => &["asin"],
        U::Acos => &["acos"],
        U::Atan => &["atan"],
        U::Sinh => &["sinh"],
        U::Cosh => &["cosh"],
        U::Asinh => &["asinh"],
        U::Acosh => &["acosh"],
        U::Atanh => &["atanh"],
        U::Floor => &["floor"],
        U::Ceil => &["ceil"],
        U::Round => &["round_half_even"],
        U::Erf | U::Gelu => &["erf"],
        U::Mish => &["tanh", "softplus"],
        U::Elu(_) | U::Selu(..) | U::Celu(_) => &["expm1"],
        U::Neg
        | U::Abs
        | U::Reciprocal
        | U::LeakyRelu(_)
        | U::HardSigmoid(..)
        | U::HardSwish
        | U::Sign
        | U::Softsign
        | U::ThresholdedRelu(_)
        | U::Shrink(..) => &[],
    }
}

/// `y[i] = f(x[i])` for `n` elements.
pub fn unary_f32(b: &mut FunctionBuilder, fns: &Scalars, f: UnaryFn, x: Value, y: Value, n: u64) {
    for_range(b, n, |b, i| {
        let s = at(b, x, i, 4);
        let v = b.ins().load(types::F32, flags(), s, 0);
        let r = apply(b, fns, f, v);
        let t = at(b, y, i, 4);
        b.ins().store(flags(), r, t, 0);
    });
}

/// `c ? a : b` on floats.
fn pick(b: &mut FunctionBuilder, c: Value, a: Value, z: Value) -> Value {
    b.ins().select(c, a, z)
}

fn apply(b: &mut FunctionBuilder, fns: &Scalars, f: UnaryFn, v: Value) -> Value {
    use UnaryFn as U;
    let k = |b: &mut FunctionBuilder, c: f32| b.ins().f32const(c);
    let call = |b: &mut FunctionBuilder, name: &str, v: Value| scalar::call(b, fns, name, v);
    match f {
        U::Neg => b.ins().fneg(v),
        U::Abs => b.ins().fabs(v),
        U::Reciprocal => {
            let one = k(b, 1.0);
            b.ins().fdiv(one, v)
        }
        U::LeakyRelu(alpha) => {
            // v >= 0 ? v : alpha · v
            let zero = k(b, 0.0);
            let a = k(b, alpha);
            let c = b.ins().fcmp(FloatCC::GreaterThanOrEqual, v, zero);
            let m = b.ins().fmul(a, v);
            pick(b, c, v, m)
        }
        U::HardSigmoid(alpha, beta) => {
            let (a, z) = (k(b, alpha), k(b, beta));
            let m = b.ins().fmul(a, v);
            let s = b.ins().fadd(m, z);
            unit_clamp(b, s)
        }
        U::HardSwish => {
            // v · clamp01(v / 6 + 0.5)
            let (six, half) = (k(b, 6.0), k(b, 0.5));
            let d = b.ins().fdiv(v, six);
            let s = b.ins().fadd(d, half);
            let c = unit_clamp(b, s);
            b.ins().fmul(v, c)
        }
        U::Silu => {
            let s = call(b, "sigmoid", v);
            b.ins().fmul(v, s)
        }
        U::Sign => {
            // v > 0 ? 1 : v < 0 ? -1 : v
            let (zero, one, minus) = (k(b, 0.0), k(b, 1.0), k(b, -1.0));
            let neg = b.ins().fcmp(FloatCC::LessThan, v, zero);
            let r = pick(b, neg, minus, v);
            let pos = b.ins().fcmp(FloatCC::GreaterThan, v, zero);
            pick(b, pos, one, r)
        }
        U::Softsign => {
            let one = k(b, 1.0);
            let a = b.ins().fabs(v);
            let d = b.ins().fadd(one, a);
            b.ins().fdiv(v, d)
        }
        U::Mish => {
            let s = call(b, "softplus", v);
            let t = call(b, "tanh", s);
            b.ins().fmul(v, t)
        }
        U::Gelu => {
            // 0.5 · v · (1 + erf(v · 1/√2))
            let (half, one, c) = (k(b, 0.5), k(b, 1.0), k(b, core::f32::consts::FRAC_1_SQRT_2));
            let h = b.ins().fmul(half, v);
            let a = b.ins().fmul(v, c);
            let e = call(b, "erf", a);
            let s = b.ins().fadd(one, e);
            b.ins().fmul(h, s)
        }
        U::GeluTanh => {
            // 0.5 · v · (1 + tanh(K · (v + 0.044715 · v · v · v)))
            let (half, one, kk, c) = (k(b, 0.5), k(b, 1.0), k(b, 0.797_884_6), k(b, 0.044_715));
            let h = b.ins().fmul(half, v);
            let c1 = b.ins().fmul(c, v);
            let c2 = b.ins().fmul(c1, v);
            let c3 = b.ins().fmul(c2, v);
            let s = b.ins().fadd(v, c3);
            let a = b.ins().fmul(kk, s);
            let t = call(b, "tanh", a);
            let u = b.ins().fadd(one, t);
            b.ins().fmul(h, u)
        }
        U::Elu(alpha) => {
            // v >= 0 ? v : alpha · expm1(v)
            let (zero, a) = (k(b, 0.0), k(b, alpha));
            let e = call(b, "expm1", v);
            let m = b.ins().fmul(a, e);
            let c = b.ins().fcmp(FloatCC::GreaterThanOrEqual, v, zero);
            pick(b, c, v, m)
        }
        U::Selu(alpha, gamma) => {
            // gamma · (v > 0 ? v : alpha · expm1(v))
            let (zero, a, g) = (k(b, 0.0), k(b, alpha), k(b, gamma));
            let e = call(b, "expm1", v);
            let m = b.ins().fmul(a, e);
            let c = b.ins().fcmp(FloatCC::GreaterThan, v, zero);
            let r = pick(b, c, v, m);
            b.ins().fmul(g, r)
        }
        U::Celu(alpha) => {
            // v >= 0 ? v : alpha · expm1(v / alpha)
            let (zero, a) = (k(b, 0.0), k(b, alpha));
            let d = b.ins().fdiv(v, a);
            let e = call(b, "expm1", d);
            let m = b.ins().fmul(a, e);
            let c = b.ins().fcmp(FloatCC::GreaterThanOrEqual, v, zero);
            pick(b, c, v, m)
        }
        U::ThresholdedRelu(alpha) => {
            let (zero, a) = (k(b, 0.0), k(b, alpha));
            let c = b.ins().fcmp(FloatCC::GreaterThan, v, a);
            pick(b, c, v, zero)
        }
        U::Shrink(lambd, bias) => {
            // v < -λ ? v + bias : v > λ ? v - bias : 0
            let (zero, l, nl, bi) = (k(b, 0.0), k(b, lambd), k(b, -lambd), k(b, bias));
            let add = b.ins().fadd(v, bi);
            let sub = b.ins().fsub(v, bi);
            let gt = b.ins().fcmp(FloatCC::GreaterThan, v, l);
            let r = pick(b, gt, sub, zero);
            let lt = b.ins().fcmp(FloatCC::LessThan, v, nl);
            pick(b, lt, add, r)
        }
        U::Sigmoid => call(b, "sigmoid", v),
        U::Tanh => call(b, "tanh", v),
        U::Exp => call(b, "exp", v),
        U::Log => call(b, "ln", v),
        U::Sqrt => call(b, "sqrt", v),
        U::Softplus => call(b, "softplus", v),
        U::Sin => call(b, "sin", v),
        U::Cos => call(b, "cos", v),
        U::Tan => call(b, "tan", v),
        U::Asin => call(b, "asin", v),
        U::Acos => call(b, "acos", v),
        U::Atan => call(b, "atan", v),
        U::Sinh => call(b, "sinh", v),
        U::Cosh => call(b, "cosh", v),
        U::Asinh => call(b, "asinh", v),
        U::Acosh => call(b, "acosh", v),
        U::Atanh => call(b, "atanh", v),
        U::Floor => call(b, "floor", v),
        U::Ceil => call(b, "ceil", v),
        U::Round => call(b, "round_half_even", v),
        U::Erf => call(b, "erf", v),
    }
}

/// `Clamp { min: 0, max: 1 }.apply(v)`.
fn unit_clamp(b: &mut FunctionBuilder, v: Value) -> Value {
    let act = Clamp { min: 0.0, max: 1.0 };
    let (lo, hi) = (b.ins().f32const(0.0), b.ins().f32const(1.0));
    clamp_value(b, act, lo, hi, v)
}

/// `y[i] = f(x[i])` on `n` integers of type `t` (wrapping, as `unary_int`).
pub fn unary_int(b: &mut FunctionBuilder, t: DType, f: IntUnary, x: Value, y: Value, n: u64) {
    let bytes = t.size() as u8;
    let ty = super::int_type(bytes);
    let signed = matches!(t, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    for_range(b, n, |b, i| {
        let s = at(b, x, i, bytes as i64);
        let v = b.ins().load(ty, flags(), s, 0);
        let zero = b.ins().iconst(ty, 0);
        let r = match f {
            IntUnary::Neg => b.ins().isub(zero, v),
            IntUnary::Abs if signed => {
                let neg = b.ins().isub(zero, v);
                let c = b.ins().icmp(IntCC::SignedLessThan, v, zero);
                b.ins().select(c, neg, v)
            }
            IntUnary::Abs => v,
            IntUnary::Sign => {
                let one = b.ins().iconst(ty, 1);
                let pos = if signed { IntCC::SignedGreaterThan } else { IntCC::UnsignedGreaterThan };
                let p = b.ins().icmp(pos, v, zero);
                let r = b.ins().select(p, one, zero);
                if signed {
                    let minus = b.ins().iconst(ty, -1);
                    let c = b.ins().icmp(IntCC::SignedLessThan, v, zero);
                    b.ins().select(c, minus, r)
                } else {
                    r
                }
            }
        };
        let d = at(b, y, i, bytes as i64);
        b.ins().store(flags(), r, d, 0);
    });
}
