//! Reductions as loops: `mean_axis_f32` and `max_axis_f32` (global pooling),
//! `arg_reduce_f32`, and `reduce_f32` for every operation but LogSumExp. Each folds its
//! elements in the kernel's order from the kernel's starting value (`Iterator::sum`
//! starts at −0.0, `product` at 1.0), so the results are the kernel's bit for bit.

use super::scalar::{self, Scalars};
use super::{flags, for_range};
use cranelift_codegen::ir::condcodes::FloatCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{Axis, Reduce, ReduceOp, MAX_RANK};

/// The reductions of `reduce_f32` emitted as loops.
pub fn reduce_emitted(op: ReduceOp) -> bool {
    op != ReduceOp::LogSumExp
}

/// The scalar functions a `reduce_f32` operation calls.
pub fn scalars(op: ReduceOp) -> &'static [&'static str] {
    match op {
        ReduceOp::L2 => &["sqrt"],
        ReduceOp::LogSum => &["ln"],
        _ => &[],
    }
}

/// The axis kernels' precondition (`reduce_axis`).
fn axis_fits(p: &Axis, x_len: usize, y_len: usize) -> bool {
    p.len != 0 && p.inner != 0 && x_len >= p.outer * p.len * p.inner && y_len >= p.outer * p.inner
}

/// `base + elements · 4`, `elements` a 64-bit value.
fn at4(b: &mut FunctionBuilder, base: Value, elements: Value) -> Value {
    super::at(b, base, elements, 4)
}

/// For every output element of `outer × len × inner` (its index `o·inner + i` and the
/// index of its first input), runs `body`.
fn each_output(b: &mut FunctionBuilder, p: &Axis, body: &mut dyn FnMut(&mut FunctionBuilder, Value, Value)) {
    let (len, inner) = (p.len as i64, p.inner as i64);
    for_range(b, p.outer as u64, |b, o| {
        for_range(b, p.inner as u64, |b, i| {
            let yo = b.ins().imul_imm(o, inner);
            let yo = b.ins().iadd(yo, i);
            let xo = b.ins().imul_imm(o, len * inner);
            let xo = b.ins().iadd(xo, i);
            body(b, yo, xo);
        });
    });
}

/// `mean_axis_f32` (`max: false`) or `max_axis_f32`.
pub fn axis_f32(b: &mut FunctionBuilder, p: &Axis, max: bool, x: (Value, usize), y: (Value, usize)) {
    if !axis_fits(p, x.1, y.1) {
        return;
    }
    let inv = 1.0 / p.len.max(1) as f32;
    let acc = b.declare_var(types::F32);
    each_output(b, p, &mut |b, yo, xo| {
        let init = b.ins().f32const(if max { f32::NEG_INFINITY } else { -0.0 });
        b.def_var(acc, init);
        for_range(b, p.len as u64, |b, j| {
            let k = b.ins().imul_imm(j, p.inner as i64);
            let k = b.ins().iadd(xo, k);
            let a = at4(b, x.0, k);
            let e = b.ins().load(types::F32, flags(), a, 0);
            let m = b.use_var(acc);
            let next = if max {
                // e > m || e.is_nan() ? e : m
                let gt = b.ins().fcmp(FloatCC::GreaterThan, e, m);
                let nan = b.ins().fcmp(FloatCC::Unordered, e, e);
                let c = b.ins().bor(gt, nan);
                b.ins().select(c, e, m)
            } else {
                b.ins().fadd(m, e)
            };
            b.def_var(acc, next);
        });
        let mut v = b.use_var(acc);
        if !max {
            let k = b.ins().f32const(inv);
            v = b.ins().fmul(v, k);
        }
        let a = at4(b, y.0, yo);
        b.ins().store(flags(), v, a, 0);
    });
}

/// `arg_reduce_f32`: the index of the largest (`max`) or smallest element along the
/// middle axis, the first one unless `last`; NaN counts as the extreme.
pub fn arg_f32(b: &mut FunctionBuilder, p: &Axis, max: bool, last: bool, x: (Value, usize), y: (Value, usize)) {
    let Some(n) = p.outer.checked_mul(p.len).and_then(|v| v.checked_mul(p.inner)) else { return };
    if p.len == 0 || x.1 < n || y.1 < p.outer * p.inner {
        return;
    }
    let (best, bv) = (b.declare_var(types::I64), b.declare_var(types::F32));
    let inner = p.inner as i64;
    each_output(b, p, &mut |b, yo, xo| {
        let zero = b.ins().iconst(types::I64, 0);
        b.def_var(best, zero);
        let a = at4(b, x.0, xo);
        let first = b.ins().load(types::F32, flags(), a, 0);
        b.def_var(bv, first);
        if p.len > 1 {
            for_range(b, p.len as u64 - 1, |b, j0| {
                let j = b.ins().iadd_imm(j0, 1);
                let k = b.ins().imul_imm(j, inner);
                let k = b.ins().iadd(xo, k);
                let a = at4(b, x.0, k);
                let v = b.ins().load(types::F32, flags(), a, 0);
                let cur = b.use_var(bv);
                // better = bv NaN ? (last && v NaN) : v NaN ? true : (v ≷ bv || last && v == bv)
                let cur_nan = b.ins().fcmp(FloatCC::Unordered, cur, cur);
                let v_nan = b.ins().fcmp(FloatCC::Unordered, v, v);
                let cc = if max { FloatCC::GreaterThan } else { FloatCC::LessThan };
                let mut cmp = b.ins().fcmp(cc, v, cur);
                if last {
                    let eq = b.ins().fcmp(FloatCC::Equal, v, cur);
                    cmp = b.ins().bor(cmp, eq);
                }
                let num = b.ins().bor(v_nan, cmp);
                let on_nan = if last { v_nan } else { b.ins().iconst(types::I8, 0) };
                let better = b.ins().select(cur_nan, on_nan, num);
                let old = b.use_var(best);
                let nb = b.ins().select(better, j, old);
                let nv = b.ins().select(better, v, cur);
                b.def_var(best, nb);
                b.def_var(bv, nv);
            });
        }
        let r = b.use_var(best);
        let a = super::at(b, y.0, yo, 8);
        b.ins().store(flags(), r, a, 0);
    });
}

/// `reduce_f32` with operation `op` (not LogSumExp): nested loops over the kept axes,
/// then over the reduced ones, both in row-major order as the kernel's odometers.
pub fn reduce_f32(
    b: &mut FunctionBuilder,
    fns: &Scalars,
    p: &Reduce,
    op: ReduceOp,
    x: (Value, usize),
    y: (Value, usize),
) {
    if p.rank == 0 || p.rank > MAX_RANK {
        return;
    }
    let rank = p.rank;
    let (mut n_in, mut n_out) = (1usize, 1usize);
    for d in 0..rank {
        let Some(v) = n_in.checked_mul(p.shape[d]) else { return };
        n_in = v;
        if !p.reduce[d] {
            let Some(v) = n_out.checked_mul(p.shape[d]) else { return };
            n_out = v;
        }
    }
    if x.1 < n_in || y.1 < n_out || n_in == 0 {
        return;
    }
    let count = (n_in / n_out.max(1)) as f32;
    let mut stride = [0i64; MAX_RANK];
    let mut s = 1i64;
    for d in (0..rank).rev() {
        stride[d] = s * 4;
        s *= p.shape[d] as i64;
    }
    let kept: Vec<(usize, i64)> = (0..rank).filter(|&d| !p.reduce[d]).map(|d| (p.shape[d], stride[d])).collect();
    let reduced: Vec<(usize, i64)> = (0..rank).filter(|&d| p.reduce[d]).map(|d| (p.shape[d], stride[d])).collect();
    let acc = b.declare_var(types::F32);
    let out = b.declare_var(types::I64);
    let zero = b.ins().iconst(types::I64, 0);
    b.def_var(out, zero);
    let init = match op {
        ReduceOp::Max => f32::NEG_INFINITY,
        ReduceOp::Min => f32::INFINITY,
        ReduceOp::Prod => 1.0,
        _ => -0.0,
    };
    nest_axes(b, &kept, x.0, &mut |b, base| {
        let i = b.ins().f32const(init);
        b.def_var(acc, i);
        nest_axes(b, &reduced, base, &mut |b, a| {
            let v = b.ins().load(types::F32, flags(), a, 0);
            let m = b.use_var(acc);
            let next = match op {
                ReduceOp::Sum | ReduceOp::Mean | ReduceOp::LogSum => b.ins().fadd(m, v),
                ReduceOp::Prod => b.ins().fmul(m, v),
                ReduceOp::L1 => {
                    let a = b.ins().fabs(v);
                    b.ins().fadd(m, a)
                }
                ReduceOp::L2 | ReduceOp::SumSquare => {
                    let q = b.ins().fmul(v, v);
                    b.ins().fadd(m, q)
                }
                ReduceOp::Max | ReduceOp::Min => {
                    // The first NaN wins: m NaN ? m : v NaN ? v : (v ≷ m ? v : m).
                    let cc = if op == ReduceOp::Max { FloatCC::GreaterThan } else { FloatCC::LessThan };
                    let better = b.ins().fcmp(cc, v, m);
                    let v_nan = b.ins().fcmp(FloatCC::Unordered, v, v);
                    let c = b.ins().bor(better, v_nan);
                    let r = b.ins().select(c, v, m);
                    let m_nan = b.ins().fcmp(FloatCC::Unordered, m, m);
                    b.ins().select(m_nan, m, r)
                }
                ReduceOp::LogSumExp => unreachable!("LogSumExp is called, not emitted"),
            };
            b.def_var(acc, next);
        });
        let mut v = b.use_var(acc);
        match op {
            ReduceOp::Mean => {
                let c = b.ins().f32const(count);
                v = b.ins().fdiv(v, c);
            }
            ReduceOp::L2 => v = scalar::call(b, fns, "sqrt", v),
            ReduceOp::LogSum => v = scalar::call(b, fns, "ln", v),
            _ => {}
        }
        let o = b.use_var(out);
        let a = at4(b, y.0, o);
        b.ins().store(flags(), v, a, 0);
        let next = b.ins().iadd_imm(o, 1);
        b.def_var(out, next);
    });
}

/// Nested loops over `axes` (extent, byte stride), outermost first; `body` gets the
/// address reached.
fn nest_axes(
    b: &mut FunctionBuilder,
    axes: &[(usize, i64)],
    base: Value,
    body: &mut dyn FnMut(&mut FunctionBuilder, Value),
) {
    let Some((&(n, stride), rest)) = axes.split_first() else {
        return body(b, base);
    };
    if n == 1 {
        return nest_axes(b, rest, base, body);
    }
    for_range(b, n as u64, |b, i| {
        let a = super::at(b, base, i, stride);
        nest_axes(b, rest, a, body);
    });
}
