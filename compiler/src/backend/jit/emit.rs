//! Kernel families the JIT emits as shape-specialised cranelift loops instead of
//! calling the runtime: data movement (`copy`, `fill`, `copy_strided`, `gather` by
//! constant indices; [`gather`]: `gather_indexed` and `gather_elements`, indices as
//! data; [`scatter`]: `gather_nd`, `scatter_nd` and `scatter_elements`, every
//! reduction), the casts between plain numeric types and to and from booleans
//! ([`cast`]), `clamp_f32`, `binary_f32` for Add, Sub, Mul, Div, Max, Min and PRelu
//! (with its fused clamp), `binary_int` for Add, Sub, Mul, Max, Min and PRelu
//! (wrapping), the unary functions ([`unary`]: `unary_f32`, every function, and
//! `unary_int`), the reductions ([`reduce`]: `reduce_f32`, LogSumExp included,
//! `mean_axis_f32`, `max_axis_f32`, `arg_reduce_f32`, `softmax_f32`,
//! `log_softmax_f32`), pooling ([`pool`]: max and average, float and 8-bit, and
//! `mean_axis_q8`) and requantisation ([`quant`]). Each emitted loop computes exactly
//! what the portable kernel computes — the same IEEE operations in the same order,
//! the same integer rounding, element bits moved rather than converted, the
//! transcendental functions by calling the runtime's own scalar functions
//! ([`scalar`]) — and, like the kernel, does nothing when the operands disagree with
//! the parameters, decided here, at compile time, since every length is known.

mod cast;
mod gather;
mod pool;
mod quant;
mod reduce;
pub mod scalar;
mod scatter;
mod unary;

use super::{elem_bytes, int_type};
use crate::ir::DType;
use crate::lower::{Isa, Kernel, KernelCall, Operand};
use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, MemFlags, Value};
use cranelift_frontend::FunctionBuilder;
use tinyops_runtime::kernels::{BinaryOp, Broadcast, Clamp, Gather, Strided, MAX_RANK};

/// True when the call is emitted as loops rather than called.
pub fn emits(call: &KernelCall) -> bool {
    call.isa == Isa::Portable
        && match &call.kernel {
            Kernel::Copy { .. }
            | Kernel::Fill { .. }
            | Kernel::CopyStrided { .. }
            | Kernel::ClampF32 { .. }
            | Kernel::UnaryF32 { .. }
            | Kernel::MeanAxisF32 { .. }
            | Kernel::MaxAxisF32 { .. }
            | Kernel::ArgReduceF32 { .. }
            | Kernel::ReduceF32 { .. }
            | Kernel::SoftmaxF32 { .. }
            | Kernel::LogSoftmaxF32 { .. } => true,
            Kernel::AvgPool2dQ8 { x, y, p, .. } => {
                matches!(x, DType::I8 | DType::U8) && matches!(y, DType::I8 | DType::U8) && pool::emitted(p)
            }
            Kernel::MeanAxisQ8 { x, y, .. } => matches!(x, DType::I8 | DType::U8) && matches!(y, DType::I8 | DType::U8),
            Kernel::Cast { .. } | Kernel::CastToBool { .. } | Kernel::CastFromBool { .. } => {
                cast::emitted(&call.kernel)
            }
            Kernel::GatherNd { .. } | Kernel::ScatterNd { .. } | Kernel::ScatterElements { .. } => {
                scatter::emitted(call)
            }
            Kernel::MaxPool2dF32 { p } | Kernel::AvgPool2dF32 { p } => pool::emitted(p),
            Kernel::MaxPool2dQ8 { t, p } => matches!(t, DType::I8 | DType::U8) && pool::emitted(p),
            Kernel::UnaryInt { t, .. } => {
                matches!(
                    t,
                    DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32 | DType::U32 | DType::I64 | DType::U64
                )
            }
            Kernel::BinaryF32 { op, .. } => binary_emitted(*op),
            Kernel::BinaryInt { t, op, .. } => {
                plain(*t)
                    && !t.is_float()
                    && matches!(
                        op,
                        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Max | BinaryOp::Min | BinaryOp::PRelu
                    )
            }
            Kernel::Gather { t, indices, .. } => plain(*t) && indices.len() <= MAX_GATHER_UNROLL,
            Kernel::GatherIndexed { t, i, .. } => plain(*t) && gather::index_emitted(*i),
            Kernel::GatherElements { t, i, p } => {
                plain(*t) && gather::index_emitted(*i) && gather::elements_fit(p, call.reads[0].len)
            }
            Kernel::Quantize { p, scales, zps, .. } | Kernel::Dequantize { p, scales, zps, .. } => {
                quant::emitted(&call.kernel)
                    && scales.len() >= p.len
                    && zps.len() >= p.len
                    && quant::per_channel_fits(p, call.reads[0].len, call.writes[0].len)
            }
            Kernel::DequantizeI32 { p, scales } => {
                scales.len() >= p.len && quant::per_channel_fits(p, call.reads[0].len, call.writes[0].len)
            }
            Kernel::AddQ8 { .. } | Kernel::MulQ8 { .. } | Kernel::LookupQ8 { .. } => quant::emitted(&call.kernel),
            _ => false,
        }
}

/// The element types the runtime's generic data-movement kernels are instantiated for
/// (the JIT emits no more than it could call).
fn plain(t: DType) -> bool {
    use DType as D;
    matches!(t, D::F32 | D::F64 | D::I8 | D::U8 | D::I16 | D::U16 | D::I32 | D::U32 | D::I64 | D::U64)
}

/// Most constant indices a `gather` is emitted for (its index loop is unrolled).
const MAX_GATHER_UNROLL: usize = 64;

/// The constant bytes an emitted call's loops read (placed by the engine after the
/// weights; empty for most families).
pub fn constants(call: &KernelCall) -> Vec<u8> {
    quant::constants(&call.kernel)
}

/// The runtime scalar functions an emitted call's loops call (see [`scalar`]).
pub fn scalars(call: &KernelCall) -> &'static [&'static str] {
    match &call.kernel {
        Kernel::UnaryF32 { f } => unary::scalars(*f),
        Kernel::ReduceF32 { op, .. } => reduce::scalars(*op),
        Kernel::SoftmaxF32 { .. } => &["exp"],
        Kernel::LogSoftmaxF32 { .. } => &["exp", "ln"],
        _ => &[],
    }
}

/// The float binary functions emitted as loops: those that are single IEEE operations
/// or comparisons (the others call libm-like routines of the runtime).
pub fn binary_emitted(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Max | BinaryOp::Min | BinaryOp::PRelu
    )
}

/// Memory flags of emitted accesses: in bounds by construction, maybe unaligned.
fn flags() -> MemFlags {
    MemFlags::new().with_notrap()
}

/// Emits `for i in 0..n { body(i) }` (nothing when `n` is 0); `i` is a 64-bit integer.
fn for_range(b: &mut FunctionBuilder, n: u64, mut body: impl FnMut(&mut FunctionBuilder, Value)) {
    match n {
        0 => {}
        1 => {
            let zero = b.ins().iconst(types::I64, 0);
            body(b, zero);
        }
        _ => {
            let header = b.create_block();
            let i = b.append_block_param(header, types::I64);
            let (inner, exit) = (b.create_block(), b.create_block());
            let zero = b.ins().iconst(types::I64, 0);
            b.ins().jump(header, &[BlockArg::Value(zero)]);
            b.switch_to_block(header);
            let more = b.ins().icmp_imm(IntCC::UnsignedLessThan, i, n as i64);
            b.ins().brif(more, inner, &[], exit, &[]);
            b.switch_to_block(inner);
            b.seal_block(inner);
            body(b, i);
            let next = b.ins().iadd_imm(i, 1);
            b.ins().jump(header, &[BlockArg::Value(next)]);
            b.seal_block(header);
            b.switch_to_block(exit);
            b.seal_block(exit);
        }
    }
}

/// `if cond { body }`.
fn if_then(b: &mut FunctionBuilder, cond: Value, body: impl FnOnce(&mut FunctionBuilder)) {
    let (then, merge) = (b.create_block(), b.create_block());
    b.ins().brif(cond, then, &[], merge, &[]);
    b.switch_to_block(then);
    b.seal_block(then);
    body(b);
    b.ins().jump(merge, &[]);
    b.switch_to_block(merge);
    b.seal_block(merge);
}

/// `if cond { then } else { other }`.
fn if_else(
    b: &mut FunctionBuilder,
    cond: Value,
    then: impl FnOnce(&mut FunctionBuilder),
    other: impl FnOnce(&mut FunctionBuilder),
) {
    let (t, e, merge) = (b.create_block(), b.create_block(), b.create_block());
    b.ins().brif(cond, t, &[], e, &[]);
    b.switch_to_block(t);
    b.seal_block(t);
    then(b);
    b.ins().jump(merge, &[]);
    b.switch_to_block(e);
    b.seal_block(e);
    other(b);
    b.ins().jump(merge, &[]);
    b.switch_to_block(merge);
    b.seal_block(merge);
}

/// `base + index · scale` as an address.
fn at(b: &mut FunctionBuilder, base: Value, index: Value, scale: i64) -> Value {
    let off = b.ins().imul_imm(index, scale);
    b.ins().iadd(base, off)
}

/// Copies `bytes` bytes from `src` to `dst` (non-overlapping): 8 bytes a turn, then
/// the tail byte by byte.
fn copy_bytes(b: &mut FunctionBuilder, src: Value, dst: Value, bytes: u64) {
    for_range(b, bytes / 8, |b, i| {
        let (s, d) = (at(b, src, i, 8), at(b, dst, i, 8));
        let v = b.ins().load(types::I64, flags(), s, 0);
        b.ins().store(flags(), v, d, 0);
    });
    let done = (bytes / 8 * 8) as i32;
    for k in 0..(bytes % 8) as i32 {
        let v = b.ins().load(types::I8, flags(), src, done + k);
        b.ins().store(flags(), v, dst, done + k);
    }
}

/// Emits the call's loops; `ops` are its operands (reads, then writes) with their
/// addresses; `fns` the scalar functions declared for [`scalars`]; `consts` the address
/// of the call's [`constants`], when it has any.
pub fn emit(
    b: &mut FunctionBuilder,
    call: &KernelCall,
    ops: &[(Value, Operand)],
    fns: &scalar::Scalars,
    consts: Option<Value>,
) {
    let xy = || ((ops[0].0, ops[0].1.len), (ops[1].0, ops[1].1.len));
    let zero = |b: &mut FunctionBuilder| b.ins().iconst(types::I64, 0);
    match &call.kernel {
        Kernel::Copy { t } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            if yo.len >= xo.len {
                copy_bytes(b, x, y, (xo.len * t.size()) as u64);
            }
        }
        Kernel::Fill { t, value } => {
            let (y, yo) = ops[0];
            let bytes = elem_bytes(*t);
            let bits = fill_bits(*t, *value) & (u64::MAX >> (64 - 8 * u32::from(bytes)));
            let ty = int_type(bytes);
            let v = b.ins().iconst(ty, bits as i64);
            for_range(b, yo.len as u64, |b, i| {
                let d = at(b, y, i, bytes as i64);
                b.ins().store(flags(), v, d, 0);
            });
        }
        Kernel::CopyStrided { t, p } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            if strided_fits(p, xo.len, yo.len) {
                let so = b.ins().iconst(types::I64, p.src_offset as i64);
                let dof = b.ins().iconst(types::I64, p.dst_offset as i64);
                strided(b, p, elem_bytes(*t), x, y, 0, so, dof);
            }
        }
        Kernel::ClampF32 { act } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            clamp(b, *act, x, y, xo.len.min(yo.len) as u64);
        }
        Kernel::BinaryF32 { p, op, act } => {
            let ((a, ao), (bb, bo), (y, yo)) = (ops[0], ops[1], ops[2]);
            if broadcast_fits(p, ao.len, bo.len, yo.len) {
                binary(b, p, *op, *act, [a, bb, y]);
            }
        }
        Kernel::UnaryF32 { f } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            unary::unary_f32(b, fns, *f, x, y, xo.len.min(yo.len) as u64);
        }
        Kernel::UnaryInt { t, f } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            unary::unary_int(b, *t, *f, x, y, xo.len.min(yo.len) as u64);
        }
        Kernel::MeanAxisF32 { p } => {
            let (x, y) = xy();
            reduce::axis_f32(b, p, false, x, y);
        }
        Kernel::MaxAxisF32 { p } => {
            let (x, y) = xy();
            reduce::axis_f32(b, p, true, x, y);
        }
        Kernel::ArgReduceF32 { p, max, last } => {
            let (x, y) = xy();
            reduce::arg_f32(b, p, *max, *last, x, y);
        }
        Kernel::ReduceF32 { p, op } => {
            let (x, y) = xy();
            reduce::reduce_f32(b, fns, p, *op, x, y);
        }
        Kernel::MaxPool2dF32 { p } => {
            let (x, y) = xy();
            pool::max_pool(b, p, pool::Elem::F32, x, y);
        }
        Kernel::MaxPool2dQ8 { t, p } => {
            let (x, y) = xy();
            let e = if *t == DType::I8 { pool::Elem::I8 } else { pool::Elem::U8 };
            pool::max_pool(b, p, e, x, y);
        }
        Kernel::AvgPool2dF32 { p } => {
            let (x, y) = xy();
            pool::avg_pool_f32(b, p, x, y);
        }
        Kernel::Gather { t, p, indices } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            gather(b, p, indices, t.size() as u64, (x, xo.len), (y, yo.len));
        }
        Kernel::BinaryInt { t, p, op } => {
            let ((a, ao), (bb, bo), (y, yo)) = (ops[0], ops[1], ops[2]);
            if broadcast_fits(p, ao.len, bo.len, yo.len) {
                binary_int(b, p, *op, *t, [a, bb, y]);
            }
        }
        Kernel::GatherIndexed { t, i, p } => {
            let x = (ops[0].0, ops[0].1.len);
            let idx = (ops[1].0, ops[1].1.len);
            let y = (ops[2].0, ops[2].1.len);
            gather::indexed(b, p, *i, elem_bytes(*t), x, idx, y);
        }
        Kernel::GatherElements { t, i, p } => {
            let idx = (ops[1].0, ops[1].1.len);
            let y = (ops[2].0, ops[2].1.len);
            gather::elements(b, p, *i, elem_bytes(*t), ops[0].0, idx, y);
        }
        Kernel::Quantize { to, p, .. } => {
            let c = consts.unwrap_or_else(|| zero(b));
            quant::quantize(b, *to, p, c, ops[0].0, ops[1].0);
        }
        Kernel::Dequantize { from, p, .. } => {
            let c = consts.unwrap_or_else(|| zero(b));
            quant::dequantize(b, Some(*from), p, c, ops[0].0, ops[1].0);
        }
        Kernel::DequantizeI32 { p, .. } => {
            let c = consts.unwrap_or_else(|| zero(b));
            quant::dequantize(b, None, p, c, ops[0].0, ops[1].0);
        }
        Kernel::AddQ8 { a, b: bt, y, p, q, out } => {
            let base = [(ops[0].0, ops[0].1.len), (ops[1].0, ops[1].1.len), (ops[2].0, ops[2].1.len)];
            quant::binary_q8(b, p, quant::QBinary::Add(q), out, [*a, *bt, *y], base);
        }
        Kernel::MulQ8 { a, b: bt, y, p, q, out } => {
            let base = [(ops[0].0, ops[0].1.len), (ops[1].0, ops[1].1.len), (ops[2].0, ops[2].1.len)];
            quant::binary_q8(b, p, quant::QBinary::Mul(q), out, [*a, *bt, *y], base);
        }
        Kernel::LookupQ8 { x, table, .. } => {
            let ((xv, xo), (yv, yo)) = (ops[0], ops[1]);
            let c = consts.unwrap_or_else(|| zero(b));
            quant::lookup(b, *x, table.len(), c, xv, yv, xo.len.min(yo.len) as u64);
        }
        Kernel::SoftmaxF32 { p } | Kernel::LogSoftmaxF32 { p } => {
            let (x, y) = xy();
            reduce::softmax(b, fns, p, matches!(call.kernel, Kernel::LogSoftmaxF32 { .. }), x, y);
        }
        Kernel::AvgPool2dQ8 { x: xt, p, x_zp, out, mult, shift, .. } => {
            let q = pool::QAvg { x_zp: *x_zp, out, mult: *mult, shift: *shift };
            let (x, acc, y) = ((ops[0].0, ops[0].1.len), (ops[1].0, ops[1].1.len), (ops[2].0, ops[2].1.len));
            pool::avg_pool_q8(b, p, q, *xt == DType::I8, x, acc, y);
        }
        Kernel::MeanAxisQ8 { x: xt, p, x_zp, out, mult, shift, .. } => {
            let q = pool::QAvg { x_zp: *x_zp, out, mult: *mult, shift: *shift };
            let (x, y) = xy();
            pool::mean_axis_q8(b, p, q, *xt == DType::I8, x, y);
        }
        Kernel::Cast { from, to } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            let n = xo.len.min(yo.len) as u64;
            if from == to {
                copy_bytes(b, x, y, n * from.size() as u64);
            } else {
                cast::cast(b, *from, *to, x, y, n);
            }
        }
        Kernel::CastToBool { from } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            cast::cast_to_bool(b, *from, x, y, xo.len.min(yo.len) as u64);
        }
        Kernel::CastFromBool { to } => {
            let ((x, xo), (y, yo)) = (ops[0], ops[1]);
            cast::cast_from_bool(b, *to, x, y, xo.len.min(yo.len) as u64);
        }
        Kernel::GatherNd { t, i, p } => {
            scatter::gather_nd(b, p, *i, elem_bytes(*t), ops[0].0, ops[1].0, ops[2].0);
        }
        Kernel::ScatterNd { t, i, p, op } => {
            let data = (ops[0].0, ops[0].1.len);
            scatter::scatter_nd(b, p, *op, *t, *i, data, ops[1].0, ops[2].0, ops[3].0);
        }
        Kernel::ScatterElements { t, i, p, op } => {
            let (data, idx, upd) = ((ops[0].0, ops[0].1.len), (ops[1].0, ops[1].1.len), (ops[2].0, ops[2].1.len));
            scatter::scatter_elements(b, p, *op, *t, *i, data, idx, upd, ops[3].0);
        }
        other => unreachable!("{:?} is not emitted", other.family()),
    }
}

/// `gather` by constant indices: per outer index, one block copy per index.
fn gather(b: &mut FunctionBuilder, p: &Gather, indices: &[usize], es: u64, x: (Value, usize), y: (Value, usize)) {
    let (outer, inner, n) = (p.outer, p.inner, indices.len());
    if x.1 < outer * p.axis_len * inner || y.1 < outer * n * inner || indices.iter().any(|&i| i >= p.axis_len) {
        return;
    }
    let row = inner as u64 * es;
    for_range(b, outer as u64, |b, o| {
        let xs = at(b, x.0, o, (p.axis_len as u64 * row) as i64);
        let ys = at(b, y.0, o, (n as u64 * row) as i64);
        for (j, &i) in indices.iter().enumerate() {
            let src = b.ins().iadd_imm(xs, (i as u64 * row) as i64);
            let dst = b.ins().iadd_imm(ys, (j as u64 * row) as i64);
            copy_bytes(b, src, dst, row);
        }
    });
}

/// The little-endian bits `fill` stores for `value` as type `t` (the value the Rust
/// backend prints as the literal).
pub(super) fn fill_bits(t: crate::ir::DType, value: f64) -> u64 {
    use crate::ir::DType;
    match t {
        DType::F32 => (value as f32).to_bits() as u64,
        DType::F64 => value.to_bits(),
        DType::F16 => tinyops_runtime::math::f32_to_f16(value as f32) as u64,
        DType::BF16 => tinyops_runtime::math::f32_to_bf16(value as f32) as u64,
        DType::Bool => u64::from(value != 0.0),
        _ => value as i64 as u64,
    }
}

/// The portable `copy_strided`'s precondition: the block fits both operands.
fn strided_fits(p: &Strided, x_len: usize, y_len: usize) -> bool {
    if p.rank == 0 || p.rank > MAX_RANK || p.shape[..p.rank].contains(&0) {
        return false;
    }
    let (mut lo, mut hi) = (p.src_offset as isize, p.src_offset as isize);
    let mut dhi = p.dst_offset;
    for d in 0..p.rank {
        let span = p.shape[d] as isize - 1;
        if p.src[d] >= 0 {
            hi += span * p.src[d];
        } else {
            lo += span * p.src[d];
        }
        dhi += (p.shape[d] - 1) * p.dst[d];
    }
    lo >= 0 && (hi as usize) < x_len && dhi < y_len
}

/// Nested loops of a strided copy from axis `d` on; `so`/`dof` are the element offsets
/// reached by the outer axes.
#[allow(clippy::too_many_arguments)]
fn strided(b: &mut FunctionBuilder, p: &Strided, es: u8, x: Value, y: Value, d: usize, so: Value, dof: Value) {
    let es64 = es as i64;
    let last = p.rank - 1;
    if d == last {
        let (n, ss, ds) = (p.shape[d] as u64, p.src[d] as i64, p.dst[d] as i64);
        let src = at(b, x, so, es64);
        let dst = at(b, y, dof, es64);
        if ss == 1 && ds == 1 {
            copy_bytes(b, src, dst, n * es as u64);
        } else {
            let ty = int_type(es);
            for_range(b, n, |b, i| {
                let s = at(b, src, i, ss * es64);
                let t = at(b, dst, i, ds * es64);
                let v = b.ins().load(ty, flags(), s, 0);
                b.ins().store(flags(), v, t, 0);
            });
        }
        return;
    }
    if p.shape[d] == 1 {
        return strided(b, p, es, x, y, d + 1, so, dof);
    }
    let (ss, ds) = (p.src[d] as i64, p.dst[d] as i64);
    for_range(b, p.shape[d] as u64, |b, i| {
        let s = b.ins().imul_imm(i, ss);
        let s = b.ins().iadd(so, s);
        let t = b.ins().imul_imm(i, ds);
        let t = b.ins().iadd(dof, t);
        strided(b, p, es, x, y, d + 1, s, t);
    });
}

/// `y[i] = act.apply(x[i])` for `n` elements.
fn clamp(b: &mut FunctionBuilder, act: Clamp, x: Value, y: Value, n: u64) {
    let lo = b.ins().f32const(act.min);
    let hi = b.ins().f32const(act.max);
    for_range(b, n, |b, i| {
        let s = at(b, x, i, 4);
        let v = b.ins().load(types::F32, flags(), s, 0);
        let v = clamp_value(b, act, lo, hi, v);
        let t = at(b, y, i, 4);
        b.ins().store(flags(), v, t, 0);
    });
}

/// The portable `broadcast_map`'s precondition: every operand long enough.
fn broadcast_fits(p: &Broadcast, a_len: usize, b_len: usize, y_len: usize) -> bool {
    if p.rank == 0 || p.rank > MAX_RANK {
        return false;
    }
    let total: usize = p.shape[..p.rank].iter().product();
    let extent = |s: &[usize; MAX_RANK]| (0..p.rank).map(|d| p.shape[d].saturating_sub(1) * s[d]).sum::<usize>() + 1;
    total != 0 && y_len >= total && a_len >= extent(&p.a) && b_len >= extent(&p.b)
}

/// Loops over `shape` from axis `d` on, each of the `N` operands advancing by its own
/// strides (in bytes); `body` gets the operands' addresses at each index.
fn nest<const N: usize>(
    b: &mut FunctionBuilder,
    shape: &[usize],
    strides: &[[i64; N]],
    d: usize,
    at_: [Value; N],
    body: &mut dyn FnMut(&mut FunctionBuilder, [Value; N]),
) {
    if d == shape.len() {
        return body(b, at_);
    }
    if shape[d] == 1 {
        return nest(b, shape, strides, d + 1, at_, body);
    }
    for_range(b, shape[d] as u64, |b, i| {
        let mut next = at_;
        for (k, v) in next.iter_mut().enumerate() {
            if strides[d][k] != 0 {
                *v = at(b, *v, i, strides[d][k]);
            }
        }
        nest(b, shape, strides, d + 1, next, body);
    });
}

/// `y = act(op(a, b))` over a broadcast: the function as `binary_f32`'s `BinaryFn`
/// computes it, then the clamp.
fn binary(b: &mut FunctionBuilder, p: &Broadcast, op: BinaryOp, act: Clamp, base: [Value; 3]) {
    let rank = p.rank;
    let shape = &p.shape[..rank];
    // Dense output strides, in elements.
    let mut ys = [0usize; MAX_RANK];
    let mut run = 1;
    for d in (0..rank).rev() {
        ys[d] = run;
        run *= shape[d];
    }
    let strides: Vec<[i64; 3]> = (0..rank).map(|d| [p.a[d] as i64 * 4, p.b[d] as i64 * 4, ys[d] as i64 * 4]).collect();
    let lo = b.ins().f32const(act.min);
    let hi = b.ins().f32const(act.max);
    nest(b, shape, &strides, 0, base, &mut |b, [pa, pb, py]| {
        let x = b.ins().load(types::F32, flags(), pa, 0);
        let z = b.ins().load(types::F32, flags(), pb, 0);
        let v = match op {
            BinaryOp::Add => b.ins().fadd(x, z),
            BinaryOp::Sub => b.ins().fsub(x, z),
            BinaryOp::Mul => b.ins().fmul(x, z),
            BinaryOp::Div => b.ins().fdiv(x, z),
            BinaryOp::Max | BinaryOp::Min => {
                // `a.is_nan() || a >= b ? a : b` (≤ for Min).
                let cc = if op == BinaryOp::Max { FloatCC::GreaterThanOrEqual } else { FloatCC::LessThanOrEqual };
                let nan = b.ins().fcmp(FloatCC::Unordered, x, x);
                let keep = b.ins().fcmp(cc, x, z);
                let c = b.ins().bor(nan, keep);
                b.ins().select(c, x, z)
            }
            BinaryOp::PRelu => {
                let zero = b.ins().f32const(0.0);
                let neg = b.ins().fcmp(FloatCC::LessThan, x, zero);
                let m = b.ins().fmul(x, z);
                b.ins().select(neg, m, x)
            }
            other => unreachable!("{other:?} is not emitted"),
        };
        let v = clamp_value(b, act, lo, hi, v);
        b.ins().store(flags(), v, py, 0);
    });
}

/// `y = op(a, b)` on integers of type `t` over a broadcast, wrapping as `binary_int`'s
/// `Int` methods: Add, Sub, Mul, Max, Min and PRelu.
fn binary_int(b: &mut FunctionBuilder, p: &Broadcast, op: BinaryOp, t: DType, base: [Value; 3]) {
    let rank = p.rank;
    let shape = &p.shape[..rank];
    let es = t.size() as i64;
    let ty = int_type(t.size() as u8);
    let signed = matches!(t, DType::I8 | DType::I16 | DType::I32 | DType::I64);
    let mut ys = [0usize; MAX_RANK];
    let mut run = 1;
    for d in (0..rank).rev() {
        ys[d] = run;
        run *= shape[d];
    }
    let strides: Vec<[i64; 3]> =
        (0..rank).map(|d| [p.a[d] as i64 * es, p.b[d] as i64 * es, ys[d] as i64 * es]).collect();
    nest(b, shape, &strides, 0, base, &mut |b, [pa, pb, py]| {
        let x = b.ins().load(ty, flags(), pa, 0);
        let z = b.ins().load(ty, flags(), pb, 0);
        let v = match op {
            BinaryOp::Add => b.ins().iadd(x, z),
            BinaryOp::Sub => b.ins().isub(x, z),
            BinaryOp::Mul => b.ins().imul(x, z),
            BinaryOp::Max if signed => b.ins().smax(x, z),
            BinaryOp::Max => b.ins().umax(x, z),
            BinaryOp::Min if signed => b.ins().smin(x, z),
            BinaryOp::Min => b.ins().umin(x, z),
            BinaryOp::PRelu if signed => {
                // x < 0 ? x·s : x
                let m = b.ins().imul(x, z);
                let neg = b.ins().icmp_imm(IntCC::SignedLessThan, x, 0);
                b.ins().select(neg, m, x)
            }
            BinaryOp::PRelu => x,
            other => unreachable!("{other:?} on integers is not emitted"),
        };
        b.ins().store(flags(), v, py, 0);
    });
}

/// `act.apply(v)`: below `min` gives `min`, then above `max` gives `max`; NaN stays.
fn clamp_value(b: &mut FunctionBuilder, act: Clamp, lo: Value, hi: Value, v: Value) -> Value {
    let v = if act.min == f32::NEG_INFINITY {
        v
    } else {
        let below = b.ins().fcmp(FloatCC::LessThan, v, lo);
        b.ins().select(below, lo, v)
    };
    if act.max == f32::INFINITY {
        v
    } else {
        let above = b.ins().fcmp(FloatCC::GreaterThan, v, hi);
        b.ins().select(above, hi, v)
    }
}
