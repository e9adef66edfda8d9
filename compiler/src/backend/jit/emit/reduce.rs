//! Reductions as loops: `mean_axis_f32` and `max_axis_f32` (global pooling),
//! `arg_reduce_f32`, `reduce_f32` for every operation (LogSumExp in the kernel's one
//! pass, rescaling the running sum when the maximum grows), and `softmax_f32` /
//! `log_softmax_f32`. Each folds its elements in the kernel's order from the kernel's
//! starting value (`Iterator::sum` starts at −0.0, `product` at 1.0, the softmax sum at
//! +0.0), calling the runtime's own `exp` and `ln`, so the results are the kernel's bit
//! for bit.

use super::scalar::{self, Scalars};
use super::{flags, for_range, if_else, if_then};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::{FunctionBuilder, Variable};
use tinyops_runtime::kernels::{Axis, Reduce, ReduceOp, MAX_RANK};

/// The scalar functions a `reduce_f32` operation calls.
pub fn scalars(op: ReduceOp) -> &'static [&'static str] {
    match op {
        ReduceOp::L2 => &["sqrt"],
        ReduceOp::LogSum => &["ln"],
        ReduceOp::LogSumExp => &["exp", "ln"],
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
    let lse = (op == ReduceOp::LogSumExp).then(|| LogSumExp::declare(b));
    nest_axes(b, &kept, x.0, &mut |b, base| {
        let v = match &lse {
            Some(l) => {
                l.start(b);
                nest_axes(b, &reduced, base, &mut |b, a| {
                    let v = b.ins().load(types::F32, flags(), a, 0);
                    l.step(b, fns, v);
                });
                l.finish(b, fns)
            }
            None => fold(b, fns, op, acc, init, count, &reduced, base),
        };
        let o = b.use_var(out);
        let a = at4(b, y.0, o);
        b.ins().store(flags(), v, a, 0);
        let next = b.ins().iadd_imm(o, 1);
        b.def_var(out, next);
    });
}

/// One output of `reduce_f32` (not LogSumExp): `acc` from `init`, folded over the
/// reduced axes from `base`, then finished (Mean divides by `count`, L2 takes the
/// square root, LogSum the logarithm).
#[allow(clippy::too_many_arguments)]
fn fold(
    b: &mut FunctionBuilder,
    fns: &Scalars,
    op: ReduceOp,
    acc: Variable,
    init: f32,
    count: f32,
    reduced: &[(usize, i64)],
    base: Value,
) -> Value {
    let i = b.ins().f32const(init);
    b.def_var(acc, i);
    nest_axes(b, reduced, base, &mut |b, a| {
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
            ReduceOp::LogSumExp => unreachable!("LogSumExp is folded by `LogSumExp`"),
        };
        b.def_var(acc, next);
    });
    let v = b.use_var(acc);
    match op {
        ReduceOp::Mean => {
            let c = b.ins().f32const(count);
            b.ins().fdiv(v, c)
        }
        ReduceOp::L2 => scalar::call(b, fns, "sqrt", v),
        ReduceOp::LogSum => scalar::call(b, fns, "ln", v),
        _ => v,
    }
}

/// The state of the kernel's one-pass `log_sum_exp`: the running maximum and sum, and
/// the first NaN met (which ends the fold and is the result).
struct LogSumExp {
    max: Variable,
    sum: Variable,
    /// 1 once a NaN was met.
    done: Variable,
    nan: Variable,
}

impl LogSumExp {
    fn declare(b: &mut FunctionBuilder) -> LogSumExp {
        LogSumExp {
            max: b.declare_var(types::F32),
            sum: b.declare_var(types::F32),
            done: b.declare_var(types::I8),
            nan: b.declare_var(types::F32),
        }
    }

    /// `max = −∞, sum = 0.0`.
    fn start(&self, b: &mut FunctionBuilder) {
        let (m, z) = (b.ins().f32const(f32::NEG_INFINITY), b.ins().f32const(0.0));
        let d = b.ins().iconst(types::I8, 0);
        b.def_var(self.max, m);
        b.def_var(self.sum, z);
        b.def_var(self.nan, z);
        b.def_var(self.done, d);
    }

    /// One element `v`: a NaN ends the fold; a new maximum rescales the sum by
    /// `exp(old − v)` (the sum restarts at 0 from −∞); then `sum += exp(v − max)` (0
    /// while the maximum is −∞).
    fn step(&self, b: &mut FunctionBuilder, fns: &Scalars, v: Value) {
        let done = b.use_var(self.done);
        let go = b.ins().icmp_imm(IntCC::Equal, done, 0);
        if_then(b, go, |b| {
            let nan = b.ins().fcmp(FloatCC::Unordered, v, v);
            if_else(
                b,
                nan,
                |b| {
                    let one = b.ins().iconst(types::I8, 1);
                    b.def_var(self.done, one);
                    b.def_var(self.nan, v);
                },
                |b| {
                    let ninf = b.ins().f32const(f32::NEG_INFINITY);
                    let zero = b.ins().f32const(0.0);
                    let m = b.use_var(self.max);
                    let grows = b.ins().fcmp(FloatCC::GreaterThan, v, m);
                    if_then(b, grows, |b| {
                        let s = b.use_var(self.sum);
                        let from_ninf = b.ins().fcmp(FloatCC::Equal, m, ninf);
                        if_else(
                            b,
                            from_ninf,
                            |b| b.def_var(self.sum, zero),
                            |b| {
                                let d = b.ins().fsub(m, v);
                                let e = scalar::call(b, fns, "exp", d);
                                let s = b.ins().fmul(s, e);
                                b.def_var(self.sum, s);
                            },
                        );
                        b.def_var(self.max, v);
                    });
                    let m = b.use_var(self.max);
                    let from_ninf = b.ins().fcmp(FloatCC::Equal, m, ninf);
                    if_else(
                        b,
                        from_ninf,
                        |b| {
                            let s = b.use_var(self.sum);
                            let s = b.ins().fadd(s, zero);
                            b.def_var(self.sum, s);
                        },
                        |b| {
                            let d = b.ins().fsub(v, m);
                            let e = scalar::call(b, fns, "exp", d);
                            let s = b.use_var(self.sum);
                            let s = b.ins().fadd(s, e);
                            b.def_var(self.sum, s);
                        },
                    );
                },
            );
        });
    }

    /// The NaN met, else an infinite maximum as it is, else `max + ln(sum)`.
    fn finish(&self, b: &mut FunctionBuilder, fns: &Scalars) -> Value {
        let r = b.declare_var(types::F32);
        let done = b.use_var(self.done);
        let m = b.use_var(self.max);
        if_else(
            b,
            done,
            |b| {
                let n = b.use_var(self.nan);
                b.def_var(r, n);
            },
            |b| {
                let a = b.ins().fabs(m);
                let inf = b.ins().f32const(f32::INFINITY);
                let infinite = b.ins().fcmp(FloatCC::Equal, a, inf);
                if_else(
                    b,
                    infinite,
                    |b| b.def_var(r, m),
                    |b| {
                        let s = b.use_var(self.sum);
                        let l = scalar::call(b, fns, "ln", s);
                        let v = b.ins().fadd(m, l);
                        b.def_var(r, v);
                    },
                );
            },
        );
        b.use_var(r)
    }
}

/// `softmax_f32` (`log: false`) or `log_softmax_f32` along the middle axis of
/// `outer × len × inner`: the maximum (NaN never wins), `y = exp(x − max)` summed from
/// +0.0, then `y · (1 / sum)`, or `x − max − ln(sum)`.
pub fn softmax(b: &mut FunctionBuilder, fns: &Scalars, p: &Axis, log: bool, x: (Value, usize), y: (Value, usize)) {
    let Some(n) = p.outer.checked_mul(p.len).and_then(|v| v.checked_mul(p.inner)) else { return };
    if p.len == 0 || p.inner == 0 || x.1 < n || y.1 < n {
        return;
    }
    let (max, sum) = (b.declare_var(types::F32), b.declare_var(types::F32));
    let inner = p.inner as i64;
    each_output(b, p, &mut |b, _, xo| {
        let along = |b: &mut FunctionBuilder, base: Value, j: Value| {
            let k = b.ins().imul_imm(j, inner);
            let k = b.ins().iadd(xo, k);
            at4(b, base, k)
        };
        let m = b.ins().f32const(f32::NEG_INFINITY);
        b.def_var(max, m);
        for_range(b, p.len as u64, |b, j| {
            let a = along(b, x.0, j);
            let v = b.ins().load(types::F32, flags(), a, 0);
            let m = b.use_var(max);
            let gt = b.ins().fcmp(FloatCC::GreaterThan, v, m);
            let m = b.ins().select(gt, v, m);
            b.def_var(max, m);
        });
        let z = b.ins().f32const(0.0);
        b.def_var(sum, z);
        let m = b.use_var(max);
        for_range(b, p.len as u64, |b, j| {
            let (xa, ya) = (along(b, x.0, j), along(b, y.0, j));
            let v = b.ins().load(types::F32, flags(), xa, 0);
            let d = b.ins().fsub(v, m);
            let e = scalar::call(b, fns, "exp", d);
            b.ins().store(flags(), e, ya, 0);
            let s = b.use_var(sum);
            let s = b.ins().fadd(s, e);
            b.def_var(sum, s);
        });
        let s = b.use_var(sum);
        if log {
            let ls = scalar::call(b, fns, "ln", s);
            for_range(b, p.len as u64, |b, j| {
                let (xa, ya) = (along(b, x.0, j), along(b, y.0, j));
                let v = b.ins().load(types::F32, flags(), xa, 0);
                let d = b.ins().fsub(v, m);
                let r = b.ins().fsub(d, ls);
                b.ins().store(flags(), r, ya, 0);
            });
        } else {
            let one = b.ins().f32const(1.0);
            let inv = b.ins().fdiv(one, s);
            for_range(b, p.len as u64, |b, j| {
                let ya = along(b, y.0, j);
                let e = b.ins().load(types::F32, flags(), ya, 0);
                let r = b.ins().fmul(e, inv);
                b.ins().store(flags(), r, ya, 0);
            });
        }
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
