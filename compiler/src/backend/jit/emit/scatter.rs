//! N-D gathers and scatters by indices read at run time, as loops: `gather_nd`,
//! `scatter_nd` and `scatter_elements`, each update replacing its element or combined
//! with it as the kernel's `combine` (add and multiply wrapping for integers, the
//! larger or smaller by `>` / `<`, the old value kept on a tie or NaN). Indices are
//! i32 or i64, wrapped as the kernel's `wrap` (negative counts from the end; a tuple
//! with any component out of range gathers zeros, an update out of range is dropped).
//! A call is emitted only when every in-range index provably stays inside its
//! operands ([`nd_fits`], [`gather::elements_fit`]), so the loops test only the
//! indices, never an address.

use super::gather::{self, wrapped};
use super::{at, copy_bytes, flags, for_range, if_then, int_type, nest, plain};
use crate::ir::DType;
use crate::lower::{Kernel, KernelCall};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, InstBuilder, Type, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{GatherElements, IndexNd, ScatterOp, MAX_RANK};

/// True when the call is one this module emits, its operands fitting as the loops
/// need (reads, then writes, as the call lists them).
pub fn emitted(call: &KernelCall) -> bool {
    let len = |k: usize| call.reads.get(k).map_or(0, |o| o.len);
    let y = call.writes.first().map_or(0, |o| o.len);
    match &call.kernel {
        Kernel::GatherNd { t, i, p } => {
            plain(*t) && gather::index_emitted(*i) && nd_fits(p, len(0), len(1), None, Some(y))
        }
        Kernel::ScatterNd { t, i, p, .. } => {
            plain(*t) && gather::index_emitted(*i) && y >= len(0) && nd_fits(p, y, len(1), Some(len(2)), None)
        }
        Kernel::ScatterElements { t, i, p, .. } => {
            plain(*t) && gather::index_emitted(*i) && y >= len(0) && gather::elements_fit(p, y)
        }
        _ => false,
    }
}

/// True when an `IndexNd` walk stays in bounds: `k` in range, every index tuple
/// inside `indices`, every selected slice of every batch block inside `data`, and
/// the `batch · count` slices inside `updates` (a scatter's) and `y` (the gathered
/// output), when given.
fn nd_fits(p: &IndexNd, data: usize, indices: usize, updates: Option<usize>, y: Option<usize>) -> bool {
    if p.k == 0 || p.k > MAX_RANK {
        return false;
    }
    let fits = || -> Option<bool> {
        let tuples = p.batch.checked_mul(p.count)?;
        let slices = tuples.checked_mul(p.slice)?;
        let mut last = 0usize;
        for c in 0..p.k {
            last = last.checked_add(p.dims[c].saturating_sub(1).checked_mul(p.strides[c])?)?;
        }
        let end = p.batch.saturating_sub(1).checked_mul(p.batch_stride)?.checked_add(last)?.checked_add(p.slice)?;
        Some(
            indices >= tuples.checked_mul(p.k)?
                && (tuples == 0 || end <= data)
                && updates.is_none_or(|u| u >= slices)
                && y.is_none_or(|v| v >= slices),
        )
    };
    fits().unwrap_or(false)
}

/// The wrapped data offset (elements) of index tuple `tuple` and whether every
/// component was in range (the offset of the in-range components otherwise).
fn tuple_offset(b: &mut FunctionBuilder, p: &IndexNd, i: DType, idx: Value, tuple: Value) -> (Value, Value) {
    let isz = i.size() as i64;
    let first = b.ins().imul_imm(tuple, p.k as i64 * isz);
    let first = b.ins().iadd(idx, first);
    let mut off = b.ins().iconst(types::I64, 0);
    let mut ok = b.ins().iconst(types::I8, 1);
    for c in 0..p.k {
        let a = b.ins().iadd_imm(first, c as i64 * isz);
        let (w, in_range) = wrapped(b, i, a, p.dims[c]);
        let s = b.ins().imul_imm(w, p.strides[c] as i64);
        off = b.ins().iadd(off, s);
        ok = b.ins().band(ok, in_range);
    }
    (off, ok)
}

/// Visits every index tuple of an `IndexNd` walk: `body(tuple, slice start in the
/// data, in range)`.
fn each_tuple(
    b: &mut FunctionBuilder,
    p: &IndexNd,
    i: DType,
    idx: Value,
    body: &mut dyn FnMut(&mut FunctionBuilder, Value, Value, Value),
) {
    for_range(b, p.batch as u64, |b, bb| {
        for_range(b, p.count as u64, |b, t| {
            let tuple = b.ins().imul_imm(bb, p.count as i64);
            let tuple = b.ins().iadd(tuple, t);
            let (off, ok) = tuple_offset(b, p, i, idx, tuple);
            let start = b.ins().imul_imm(bb, p.batch_stride as i64);
            let start = b.ins().iadd(start, off);
            body(b, tuple, start, ok);
        });
    });
}

/// `gather_nd` of elements of `es` bytes (callers check [`emitted`]): each tuple's
/// slice, or zeros for a tuple out of range.
pub fn gather_nd(b: &mut FunctionBuilder, p: &IndexNd, i: DType, es: u8, data: Value, idx: Value, y: Value) {
    let bytes = p.slice as u64 * es as u64;
    each_tuple(b, p, i, idx, &mut |b, tuple, start, ok| {
        let src = at(b, data, start, es as i64);
        let dst = at(b, y, tuple, bytes as i64);
        // A tuple out of range still points inside the data (its components are 0):
        // read, then keep zeros instead.
        for_range(b, bytes / 8, |b, k| {
            let (s, d) = (at(b, src, k, 8), at(b, dst, k, 8));
            let v = b.ins().load(types::I64, flags(), s, 0);
            let zero = b.ins().iconst(types::I64, 0);
            let v = b.ins().select(ok, v, zero);
            b.ins().store(flags(), v, d, 0);
        });
        let done = (bytes / 8 * 8) as i32;
        for k in 0..(bytes % 8) as i32 {
            let v = b.ins().load(types::I8, flags(), src, done + k);
            let zero = b.ins().iconst(types::I8, 0);
            let v = b.ins().select(ok, v, zero);
            b.ins().store(flags(), v, dst, done + k);
        }
    });
}

/// `scatter_nd` of elements of type `t` (callers check [`emitted`]): `y = data`, then
/// each in-range tuple's update slice combined by `op` into its slice of `y`, in
/// order (copied as a block when it replaces).
#[allow(clippy::too_many_arguments)]
pub fn scatter_nd(
    b: &mut FunctionBuilder,
    p: &IndexNd,
    op: ScatterOp,
    t: DType,
    i: DType,
    data: (Value, usize),
    idx: Value,
    updates: Value,
    y: Value,
) {
    let es = t.size() as i64;
    copy_bytes(b, data.0, y, data.1 as u64 * es as u64);
    let bytes = p.slice as u64 * es as u64;
    each_tuple(b, p, i, idx, &mut |b, tuple, start, ok| {
        if_then(b, ok, |b| {
            let src = at(b, updates, tuple, bytes as i64);
            let dst = at(b, y, start, es);
            if op == ScatterOp::None {
                copy_bytes(b, src, dst, bytes);
            } else {
                for_range(b, p.slice as u64, |b, e| {
                    let (s, d) = (at(b, src, e, es), at(b, dst, e, es));
                    let u = b.ins().load(ty(t), flags(), s, 0);
                    let old = b.ins().load(ty(t), flags(), d, 0);
                    let v = combine(b, op, t, old, u);
                    b.ins().store(flags(), v, d, 0);
                });
            }
        });
    });
}

/// The cranelift type of an element of `t` (a plain type).
fn ty(t: DType) -> Type {
    match t {
        DType::F32 => types::F32,
        DType::F64 => types::F64,
        _ => int_type(t.size() as u8),
    }
}

/// The kernel's `combine(op, old, new)` on elements of type `t`.
fn combine(b: &mut FunctionBuilder, op: ScatterOp, t: DType, old: Value, new: Value) -> Value {
    let float = t.is_float();
    let signed = matches!(t, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    match op {
        ScatterOp::None => new,
        ScatterOp::Add if float => b.ins().fadd(old, new),
        ScatterOp::Add => b.ins().iadd(old, new),
        ScatterOp::Mul if float => b.ins().fmul(old, new),
        ScatterOp::Mul => b.ins().imul(old, new),
        ScatterOp::Max | ScatterOp::Min => {
            let max = op == ScatterOp::Max;
            let better = if float {
                b.ins().fcmp(if max { FloatCC::GreaterThan } else { FloatCC::LessThan }, new, old)
            } else {
                let cc = match (max, signed) {
                    (true, true) => IntCC::SignedGreaterThan,
                    (true, false) => IntCC::UnsignedGreaterThan,
                    (false, true) => IntCC::SignedLessThan,
                    (false, false) => IntCC::UnsignedLessThan,
                };
                b.ins().icmp(cc, new, old)
            };
            b.ins().select(better, new, old)
        }
    }
}

/// `scatter_elements` of elements of type `t` (callers check [`emitted`]): `y = data`,
/// then each update combined by `op` into the element at its own position off the
/// axis and its index along it, in order; an index out of range drops its update.
#[allow(clippy::too_many_arguments)]
pub fn scatter_elements(
    b: &mut FunctionBuilder,
    p: &GatherElements,
    op: ScatterOp,
    t: DType,
    i: DType,
    data: (Value, usize),
    idx: (Value, usize),
    updates: (Value, usize),
    y: Value,
) {
    let rank = p.rank;
    let shape = &p.shape[..rank];
    let total = shape.iter().fold(1usize, |a, &n| a.saturating_mul(n));
    if idx.1 < total || updates.1 < total {
        return;
    }
    let (e, isz) = (t.size() as i64, i.size() as i64);
    copy_bytes(b, data.0, y, data.1 as u64 * e as u64);
    // Operands: the output (the scattered axis added in the body), indices, updates.
    let (strides, axis_stride) = gather::element_strides(p, e, isz);
    nest(b, shape, &strides, 0, [y, idx.0, updates.0], &mut |b, [py, pi, pu]| {
        let (w, ok) = wrapped(b, i, pi, p.axis_len);
        if_then(b, ok, |b| {
            let u = b.ins().load(ty(t), flags(), pu, 0);
            let d = at(b, py, w, axis_stride);
            let v = if op == ScatterOp::None {
                u
            } else {
                let old = b.ins().load(ty(t), flags(), d, 0);
                combine(b, op, t, old, u)
            };
            b.ins().store(flags(), v, d, 0);
        });
    });
}
