//! Pooling as loops (`max_pool2d_f32`, `max_pool2d_q8`, `avg_pool2d_f32`,
//! `avg_pool2d_q8`), channels last: loops over batch, output rows and columns; the
//! window's taps unrolled, each tested against the input and its padding at run time
//! exactly as the kernel's `each_window` does (a tap past the padding is not counted;
//! a tap in the padding is counted for `count_include_pad` but not read); a loop over
//! the channels per tap. Also the quantised global average, `mean_axis_q8`. The
//! quantised averages keep the kernel's i32 sums (in its scratch, for pooling) and its
//! integer output stage ([`quant::average`]).

use super::quant::{self, load_q8};
use super::{at, flags, for_range, if_then};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use tinyops_runtime::kernels::{Axis, Pool2d};
use tinyops_runtime::quant::QOut;

/// The element a max pooling compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem {
    /// f32 (padding is −∞; NaN propagates).
    F32,
    /// i8 (padding is −128).
    I8,
    /// u8 (padding is 0).
    U8,
}

/// Most taps of a window whose loop is unrolled; larger windows call the runtime.
pub const MAX_TAPS: usize = 64;

/// The kernels' precondition (`check`), and a window small enough to unroll.
pub fn fits(p: &Pool2d, x_len: usize, y_len: usize) -> bool {
    p.stride_h > 0
        && p.stride_w > 0
        && p.dil_h > 0
        && p.dil_w > 0
        && p.channels > 0
        && x_len >= p.input_len()
        && y_len >= p.output_len()
}

/// True when the window is small enough to emit.
pub fn emitted(p: &Pool2d) -> bool {
    p.k_h.saturating_mul(p.k_w) <= MAX_TAPS
}

/// Counts of a window's taps: inside the input or its padding, and inside the input.
struct Counts {
    padded: Variable,
    real: Variable,
}

/// Visits every output pixel as `each_window`: `start(yrow)`, `tap(yrow, xrow)` per
/// tap inside the input, `end(yrow, counts)`; rows are addresses of `channels`
/// elements of `es` bytes.
#[allow(clippy::too_many_arguments)]
fn each_window(
    b: &mut FunctionBuilder,
    p: &Pool2d,
    es: i64,
    x: Value,
    y: Value,
    start: &mut dyn FnMut(&mut FunctionBuilder, Value),
    tap: &mut dyn FnMut(&mut FunctionBuilder, Value, Value),
    end: &mut dyn FnMut(&mut FunctionBuilder, Value, &Counts),
) {
    let c = p.channels as i64;
    let counts = Counts { padded: b.declare_var(types::I64), real: b.declare_var(types::I64) };
    for_range(b, p.batch as u64, |b, n| {
        for_range(b, p.out_h as u64, |b, oy| {
            for_range(b, p.out_w as u64, |b, ox| {
                // yrow = y + ((n·out_h + oy)·out_w + ox)·c
                let r = b.ins().imul_imm(n, p.out_h as i64);
                let r = b.ins().iadd(r, oy);
                let r = b.ins().imul_imm(r, p.out_w as i64);
                let r = b.ins().iadd(r, ox);
                let yrow = at(b, y, r, c * es);
                start(b, yrow);
                let zero = b.ins().iconst(types::I64, 0);
                b.def_var(counts.padded, zero);
                b.def_var(counts.real, zero);
                let oys = b.ins().imul_imm(oy, p.stride_h as i64);
                let oxs = b.ins().imul_imm(ox, p.stride_w as i64);
                for ky in 0..p.k_h {
                    let iy = b.ins().iadd_imm(oys, (ky * p.dil_h) as i64 - p.pad_top as i64);
                    let row_pad = b.ins().icmp_imm(IntCC::SignedLessThan, iy, (p.in_h + p.pad_bottom) as i64);
                    let lo = b.ins().icmp_imm(IntCC::SignedGreaterThanOrEqual, iy, 0);
                    let hi = b.ins().icmp_imm(IntCC::SignedLessThan, iy, p.in_h as i64);
                    let row_real = b.ins().band(lo, hi);
                    // The input row's first pixel: (n·in_h + iy)·in_w.
                    let xr = b.ins().imul_imm(n, p.in_h as i64);
                    let xr = b.ins().iadd(xr, iy);
                    let xr = b.ins().imul_imm(xr, p.in_w as i64);
                    for kx in 0..p.k_w {
                        let ix = b.ins().iadd_imm(oxs, (kx * p.dil_w) as i64 - p.pad_left as i64);
                        let col_pad = b.ins().icmp_imm(IntCC::SignedLessThan, ix, (p.in_w + p.pad_right) as i64);
                        let in_pad = b.ins().band(row_pad, col_pad);
                        let lo = b.ins().icmp_imm(IntCC::SignedGreaterThanOrEqual, ix, 0);
                        let hi = b.ins().icmp_imm(IntCC::SignedLessThan, ix, p.in_w as i64);
                        let col_real = b.ins().band(lo, hi);
                        let real = b.ins().band(row_real, col_real);
                        let real = b.ins().band(real, in_pad);
                        let one = b.ins().uextend(types::I64, in_pad);
                        let v = b.use_var(counts.padded);
                        let v = b.ins().iadd(v, one);
                        b.def_var(counts.padded, v);
                        if_then(b, real, |b| {
                            let px = b.ins().iadd(xr, ix);
                            let xrow = at(b, x, px, c * es);
                            tap(b, yrow, xrow);
                            let v = b.use_var(counts.real);
                            let v = b.ins().iadd_imm(v, 1);
                            b.def_var(counts.real, v);
                        });
                    }
                }
                end(b, yrow, &counts);
            });
        });
    });
}

/// Max pooling of `e` elements.
pub fn max_pool(b: &mut FunctionBuilder, p: &Pool2d, e: Elem, x: (Value, usize), y: (Value, usize)) {
    if !fits(p, x.1, y.1) {
        return;
    }
    let (ty, es) = match e {
        Elem::F32 => (types::F32, 4),
        Elem::I8 | Elem::U8 => (types::I8, 1),
    };
    let c = p.channels as u64;
    each_window(
        b,
        p,
        es,
        x.0,
        y.0,
        &mut |b, yrow| {
            let lowest = match e {
                Elem::F32 => b.ins().f32const(f32::NEG_INFINITY),
                Elem::I8 => b.ins().iconst(types::I8, -128),
                Elem::U8 => b.ins().iconst(types::I8, 0),
            };
            for_range(b, c, |b, ch| {
                let a = at(b, yrow, ch, es);
                b.ins().store(flags(), lowest, a, 0);
            });
        },
        &mut |b, yrow, xrow| {
            for_range(b, c, |b, ch| {
                let (ya, xa) = (at(b, yrow, ch, es), at(b, xrow, ch, es));
                let v = b.ins().load(ty, flags(), ya, 0);
                let xv = b.ins().load(ty, flags(), xa, 0);
                // `!(xv <= v)`: greater, or NaN on either side.
                let take = match e {
                    Elem::F32 => b.ins().fcmp(FloatCC::UnorderedOrGreaterThan, xv, v),
                    Elem::I8 => b.ins().icmp(IntCC::SignedGreaterThan, xv, v),
                    Elem::U8 => b.ins().icmp(IntCC::UnsignedGreaterThan, xv, v),
                };
                let r = b.ins().select(take, xv, v);
                b.ins().store(flags(), r, ya, 0);
            });
        },
        &mut |_, _, _| {},
    );
}

/// Average pooling of f32: sum the taps, then multiply by the reciprocal of the
/// divisor (0 for an empty window).
pub fn avg_pool_f32(b: &mut FunctionBuilder, p: &Pool2d, x: (Value, usize), y: (Value, usize)) {
    if !fits(p, x.1, y.1) {
        return;
    }
    let c = p.channels as u64;
    let include_pad = p.count_include_pad;
    each_window(
        b,
        p,
        4,
        x.0,
        y.0,
        &mut |b, yrow| {
            let zero = b.ins().f32const(0.0);
            for_range(b, c, |b, ch| {
                let a = at(b, yrow, ch, 4);
                b.ins().store(flags(), zero, a, 0);
            });
        },
        &mut |b, yrow, xrow| {
            for_range(b, c, |b, ch| {
                let (ya, xa) = (at(b, yrow, ch, 4), at(b, xrow, ch, 4));
                let v = b.ins().load(types::F32, flags(), ya, 0);
                let xv = b.ins().load(types::F32, flags(), xa, 0);
                let s = b.ins().fadd(v, xv);
                b.ins().store(flags(), s, ya, 0);
            });
        },
        &mut |b, yrow, counts| {
            let d = b.use_var(if include_pad { counts.padded } else { counts.real });
            let empty = b.ins().icmp_imm(IntCC::Equal, d, 0);
            let df = b.ins().fcvt_from_uint(types::F32, d);
            let one = b.ins().f32const(1.0);
            let inv = b.ins().fdiv(one, df);
            let zero = b.ins().f32const(0.0);
            let inv = b.ins().select(empty, zero, inv);
            for_range(b, c, |b, ch| {
                let a = at(b, yrow, ch, 4);
                let v = b.ins().load(types::F32, flags(), a, 0);
                let m = b.ins().fmul(v, inv);
                let r = b.ins().select(empty, zero, m);
                b.ins().store(flags(), r, a, 0);
            });
        },
    );
}

/// The quantisation of a quantised average: input zero point, output stage, and the
/// multiplier `mult · 2^-shift` of `sx / sy`.
#[derive(Debug, Clone, Copy)]
pub struct QAvg<'a> {
    /// Input zero point.
    pub x_zp: i32,
    /// Output zero point and clamp.
    pub out: &'a QOut,
    /// Multiplier.
    pub mult: i32,
    /// Right shift.
    pub shift: u32,
}

/// `avg_pool2d_q8`: per output pixel, the i32 sums of `x − x_zp` over the window's
/// real taps in `acc` (the kernel's scratch, `channels` i32), then each channel through
/// the output stage with the window's divisor. `signed` tells the input type.
pub fn avg_pool_q8(
    b: &mut FunctionBuilder,
    p: &Pool2d,
    q: QAvg<'_>,
    signed: bool,
    x: (Value, usize),
    acc: (Value, usize),
    y: (Value, usize),
) {
    if !fits(p, x.1, y.1) || acc.1 < p.channels {
        return;
    }
    let c = p.channels as u64;
    let include_pad = p.count_include_pad;
    let acc = acc.0;
    each_window(
        b,
        p,
        1,
        x.0,
        y.0,
        &mut |b, _| {
            let zero = b.ins().iconst(types::I32, 0);
            for_range(b, c, |b, ch| {
                let a = at(b, acc, ch, 4);
                b.ins().store(flags(), zero, a, 0);
            });
        },
        &mut |b, _, xrow| {
            for_range(b, c, |b, ch| {
                let (aa, xa) = (at(b, acc, ch, 4), b.ins().iadd(xrow, ch));
                let s = b.ins().load(types::I32, flags(), aa, 0);
                let xv = load_q8(b, signed, xa);
                let xv = b.ins().iadd_imm(xv, -(q.x_zp as i64));
                let s = b.ins().iadd(s, xv);
                b.ins().store(flags(), s, aa, 0);
            });
        },
        &mut |b, yrow, counts| {
            let d = b.use_var(if include_pad { counts.padded } else { counts.real });
            for_range(b, c, |b, ch| {
                let aa = at(b, acc, ch, 4);
                let s = b.ins().load(types::I32, flags(), aa, 0);
                let s = b.ins().sextend(types::I64, s);
                let r = quant::average(b, s, d, q.mult, q.shift, q.out);
                let ya = b.ins().iadd(yrow, ch);
                b.ins().store(flags(), r, ya, 0);
            });
        },
    );
}

/// `mean_axis_q8`: per output element of `outer × len × inner`, the i64 sum of
/// `x − x_zp` along the middle axis (each difference in i32, as the kernel), through
/// the output stage with divisor `len`.
pub fn mean_axis_q8(
    b: &mut FunctionBuilder,
    p: &Axis,
    q: QAvg<'_>,
    signed: bool,
    x: (Value, usize),
    y: (Value, usize),
) {
    let Some(n) = p.outer.checked_mul(p.len).and_then(|v| v.checked_mul(p.inner)) else { return };
    if p.len == 0 || p.inner == 0 || x.1 < n || y.1 < p.outer * p.inner {
        return;
    }
    let (len, inner) = (p.len as i64, p.inner as i64);
    let sum = b.declare_var(types::I64);
    for_range(b, p.outer as u64, |b, o| {
        for_range(b, p.inner as u64, |b, i| {
            let zero = b.ins().iconst(types::I64, 0);
            b.def_var(sum, zero);
            let xo = b.ins().imul_imm(o, len * inner);
            let xo = b.ins().iadd(xo, i);
            let xs = b.ins().iadd(x.0, xo);
            for_range(b, p.len as u64, |b, j| {
                let a = at(b, xs, j, inner);
                let v = load_q8(b, signed, a);
                let v = b.ins().iadd_imm(v, -(q.x_zp as i64));
                let v = b.ins().sextend(types::I64, v);
                let s = b.use_var(sum);
                let s = b.ins().iadd(s, v);
                b.def_var(sum, s);
            });
            let s = b.use_var(sum);
            let d = b.ins().iconst(types::I64, len);
            let r = quant::average(b, s, d, q.mult, q.shift, q.out);
            let yo = b.ins().imul_imm(o, inner);
            let yo = b.ins().iadd(yo, i);
            let ya = b.ins().iadd(y.0, yo);
            b.ins().store(flags(), r, ya, 0);
        });
    });
}
