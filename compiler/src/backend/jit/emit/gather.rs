//! Gathers whose indices are data, as loops: `gather_indexed` (ONNX Gather with a
//! run-time index tensor) and `gather_elements`, for i32 and i64 indices. An index is
//! wrapped as the kernel's `wrap_index` does (negative counts from the end); an index
//! out of range reads nothing and gives zero (the element type's default: all bits
//! clear), done with a select on an in-range address rather than a branch.

use super::{at, flags, for_range, int_type, nest};
use crate::ir::DType;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{Gather, GatherElements, MAX_RANK};

/// Index types the loops read.
pub fn index_emitted(i: DType) -> bool {
    matches!(i, DType::I32 | DType::I64)
}

/// Loads index `a` (i32 sign-extended, or i64) and wraps it into `0..len`: the wrapped
/// index (0 when out of range) and whether it was in range.
pub(super) fn wrapped(b: &mut FunctionBuilder, i: DType, a: Value, len: usize) -> (Value, Value) {
    let v = if i == DType::I32 {
        let v = b.ins().load(types::I32, flags(), a, 0);
        b.ins().sextend(types::I64, v)
    } else {
        b.ins().load(types::I64, flags(), a, 0)
    };
    let plus = b.ins().iadd_imm(v, len as i64);
    let neg = b.ins().icmp_imm(IntCC::SignedLessThan, v, 0);
    let w = b.ins().select(neg, plus, v);
    let lo = b.ins().icmp_imm(IntCC::SignedGreaterThanOrEqual, w, 0);
    let hi = b.ins().icmp_imm(IntCC::SignedLessThan, w, len as i64);
    let ok = b.ins().band(lo, hi);
    let zero = b.ins().iconst(types::I64, 0);
    (b.ins().select(ok, w, zero), ok)
}

/// `gather_indexed` with `n` indices of type `i` and elements of `es` bytes.
#[allow(clippy::too_many_arguments)]
pub fn indexed(
    b: &mut FunctionBuilder,
    p: &Gather,
    i: DType,
    es: u8,
    x: (Value, usize),
    idx: (Value, usize),
    y: (Value, usize),
) {
    let (outer, inner, n) = (p.outer, p.inner, idx.1);
    if x.1 < outer * p.axis_len * inner || y.1 < outer * n * inner {
        return;
    }
    let (ty, e) = (int_type(es), es as i64);
    let isz = i.size() as i64;
    for_range(b, outer as u64, |b, o| {
        for_range(b, n as u64, |b, j| {
            let ia = at(b, idx.0, j, isz);
            let (w, ok) = wrapped(b, i, ia, p.axis_len);
            // src = x + ((o·axis_len + w)·inner)·es; dst = y + ((o·n + j)·inner)·es
            let r = b.ins().imul_imm(o, p.axis_len as i64);
            let r = b.ins().iadd(r, w);
            let src = at(b, x.0, r, inner as i64 * e);
            let d = b.ins().imul_imm(o, n as i64);
            let d = b.ins().iadd(d, j);
            let dst = at(b, y.0, d, inner as i64 * e);
            let zero = b.ins().iconst(ty, 0);
            for_range(b, inner as u64, |b, k| {
                let s = at(b, src, k, e);
                let v = b.ins().load(ty, flags(), s, 0);
                let v = b.ins().select(ok, v, zero);
                let t = at(b, dst, k, e);
                b.ins().store(flags(), v, t, 0);
            });
        });
    });
}

/// True when every in-range index reads inside the data (the kernel's `x.get(off)`
/// never misses), so the loop needs no bounds test of its own.
pub fn elements_fit(p: &GatherElements, x_len: usize) -> bool {
    if p.rank == 0 || p.rank > MAX_RANK || p.axis >= p.rank || p.axis_len == 0 {
        return false;
    }
    let mut last = 0usize;
    for d in 0..p.rank {
        let n = if d == p.axis { p.axis_len } else { p.shape[d] };
        let Some(v) = n.saturating_sub(1).checked_mul(p.data[d]).and_then(|v| last.checked_add(v)) else {
            return false;
        };
        last = v;
    }
    last < x_len
}

/// The byte strides of a `GatherElements`-shaped walk over `p.shape` (elements of
/// `e` bytes, indices of `isz`): per axis, the data's stride (0 on `p.axis`, which the
/// body adds from the index), the dense indices' and the dense other operand's; and
/// the data's stride along `p.axis`. Gather and scatter by elements share it.
pub(super) fn element_strides(p: &GatherElements, e: i64, isz: i64) -> (Vec<[i64; 3]>, i64) {
    let rank = p.rank;
    let mut dense = [0usize; MAX_RANK];
    let mut run = 1;
    for d in (0..rank).rev() {
        dense[d] = run;
        run *= p.shape[d];
    }
    let strides = (0..rank)
        .map(|d| {
            let xs = if d == p.axis { 0 } else { p.data[d] as i64 * e };
            [xs, dense[d] as i64 * isz, dense[d] as i64 * e]
        })
        .collect();
    (strides, p.data[p.axis] as i64 * e)
}

/// `gather_elements` with indices of type `i` and elements of `es` bytes (callers
/// check [`elements_fit`]).
#[allow(clippy::too_many_arguments)]
pub fn elements(
    b: &mut FunctionBuilder,
    p: &GatherElements,
    i: DType,
    es: u8,
    x: Value,
    idx: (Value, usize),
    y: (Value, usize),
) {
    let rank = p.rank;
    let shape = &p.shape[..rank];
    let total = shape.iter().fold(1usize, |a, &n| a.saturating_mul(n));
    if idx.1 < total || y.1 < total {
        return;
    }
    let (ty, e, isz) = (int_type(es), es as i64, i.size() as i64);
    // Operands: the data (the gathered axis added in the body), the indices, the output.
    let (strides, axis_stride) = element_strides(p, e, isz);
    nest(b, shape, &strides, 0, [x, idx.0, y.0], &mut |b, [px, pi, py]| {
        let (w, ok) = wrapped(b, i, pi, p.axis_len);
        let s = at(b, px, w, axis_stride);
        let v = b.ins().load(ty, flags(), s, 0);
        let zero = b.ins().iconst(ty, 0);
        let v = b.ins().select(ok, v, zero);
        b.ins().store(flags(), v, py, 0);
    });
}
