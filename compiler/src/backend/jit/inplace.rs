//! In-place calls in the JIT: a call whose result overlaps its own dead input
//! ([`KernelCall::in_place`]) runs exactly as the Rust backend prints it — the
//! runtime's `kernels::inplace` entry of its [`Overlap`] over ONE `&mut [T]` spanning
//! both operands ([`InPlaceCall::span`]), the portable kernel called on the disjoint
//! pieces that entry cuts from it. No shim ever receives two overlapping slices.
//!
//! The shims here take the same operand block as every other shim (reads, then
//! writes, each a [`RawSlice`]); the overlapped pair's two slices are only used for
//! their addresses and lengths, from which the span and the two element offsets in it
//! are computed. Which read is overlapped is part of the shim's instantiation (`READ`),
//! so the block stays the one [`super::shims`] defines.

use super::shims::{RawSlice, Shim};
use crate::lower::{InPlaceCall, Kernel, KernelCall, Overlap, Place};
use tinyops_runtime::kernels::inplace;
use tinyops_runtime::kernels::portable as k;
use tinyops_runtime::kernels::Broadcast;
use tinyops_runtime::quant::{Weight, Q8};
use tinyops_runtime::Pod;

/// The operands of a call, as the engine laid them out.
///
/// # Safety
/// `ops` points to the call's operand block: `reads + writes` valid [`RawSlice`]s.
unsafe fn block<'a>(ops: *const RawSlice, n: usize) -> &'a [RawSlice] {
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ops, n) }
}

/// A read operand outside the span.
///
/// # Safety
/// As [`super::shims`]' reads: valid, aligned, not written by this call (the lowering
/// checks reads against writes, [`check`] the span against every other operand).
unsafe fn r<'a, T>(s: RawSlice) -> &'a [T] {
    if s.len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(s.ptr as *const T, s.len) }
}

/// A written operand outside the span.
///
/// # Safety
/// As [`r`], for writes, overlapping no other operand of the call.
unsafe fn w<'a, T>(s: RawSlice) -> &'a mut [T] {
    if s.len == 0 {
        return &mut [];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts_mut(s.ptr as *mut T, s.len) }
}

/// The one buffer over an overlapped pair `x` (read) and `y` (written), both of `T`,
/// with the element offsets of `x` and `y` in it.
///
/// # Safety
/// Both lie in the arena, aligned for `T`; the bytes between their lowest start and
/// highest end belong to this pair alone during the call ([`check`]).
unsafe fn span<'a, T>(x: RawSlice, y: RawSlice) -> (&'a mut [T], usize, usize) {
    let size = std::mem::size_of::<T>();
    let (xa, ya) = (x.ptr as usize, y.ptr as usize);
    let lo = xa.min(ya);
    let hi = (xa + x.len * size).max(ya + y.len * size);
    // SAFETY: the caller's contract; `lo` is one of the two aligned starts.
    let buf = unsafe { std::slice::from_raw_parts_mut(lo as *mut T, (hi - lo) / size) };
    (buf, (xa - lo) / size, (ya - lo) / size)
}

/// Quantised convolutions one output row at a time (`inplace::conv_rows`): reads
/// `x, w, bias`, writes `acc, y`; `y` over `x`.
macro_rules! conv_rows_q8 {
    ($name:ident, $variant:ident, $kernel:ident) => {
        unsafe extern "C" fn $name<T: Q8 + Pod, W: Weight>(kernels: *const Kernel, index: usize, ops: *const RawSlice) {
            // SAFETY: the engine passes its records and the call's own index and operands.
            let kernel = unsafe { &*kernels.add(index) };
            let Kernel::$variant { p, x_zp, out, mults, shifts, .. } = kernel else { return };
            // SAFETY: the block has the call's five operands; see `span`, `r`, `w`.
            let [x, wt, bias, acc, y] = (unsafe { block(ops, 5) }) else { return };
            let (wt, bias, acc) = unsafe { (r::<W>(*wt), r::<i32>(*bias), w::<i32>(*acc)) };
            let (buf, x_at, y_at) = unsafe { span::<T>(*x, *y) };
            inplace::conv_rows::<T>(p, buf, x_at, y_at, |q, x, y| {
                k::$kernel::<T, W, T>(q, *x_zp, out, mults, shifts, x, wt, bias, acc, y)
            });
        }
    };
}

conv_rows_q8!(conv2d_q8_rows, Conv2dQ8, conv2d_q8);
conv_rows_q8!(depthwise_conv2d_q8_rows, DepthwiseConv2dQ8, depthwise_conv2d_q8);

/// Float convolutions one output row at a time (`inplace::conv_rows`): reads
/// `x, w, bias`, writes `y`; `y` over `x`.
macro_rules! conv_rows_f32 {
    ($name:ident, $variant:ident, $kernel:ident) => {
        unsafe extern "C" fn $name(kernels: *const Kernel, index: usize, ops: *const RawSlice) {
            // SAFETY: the engine passes its records and the call's own index and operands.
            let kernel = unsafe { &*kernels.add(index) };
            let Kernel::$variant { p, act } = kernel else { return };
            // SAFETY: the block has the call's four operands; see `span`, `r`.
            let [x, wt, bias, y] = (unsafe { block(ops, 4) }) else { return };
            let (wt, bias) = unsafe { (r::<f32>(*wt), r::<f32>(*bias)) };
            let (buf, x_at, y_at) = unsafe { span::<f32>(*x, *y) };
            inplace::conv_rows::<f32>(p, buf, x_at, y_at, |q, x, y| k::$kernel(q, *act, x, wt, bias, y));
        }
    };
}

conv_rows_f32!(conv2d_f32_rows, Conv2dF32, conv2d_f32);
conv_rows_f32!(depthwise_conv2d_f32_rows, DepthwiseConv2dF32, depthwise_conv2d_f32);

/// Quantised addition in chunks (`inplace::elementwise`): reads `a, b`, writes `y`
/// exactly over read `READ`; `O` is the other read's element type.
unsafe extern "C" fn add_q8_elementwise<T: Q8 + Pod + Default, O: Q8, const READ: usize>(
    kernels: *const Kernel,
    index: usize,
    ops: *const RawSlice,
) {
    // SAFETY: the engine passes its records and the call's own index and operands.
    let kernel = unsafe { &*kernels.add(index) };
    let Kernel::AddQ8 { q, out, .. } = kernel else { return };
    // SAFETY: the block has the call's three operands; see `span`, `r`.
    let [a, b, y] = (unsafe { block(ops, 3) }) else { return };
    let (x, other) = if READ == 0 { (*a, *b) } else { (*b, *a) };
    let other = unsafe { r::<O>(other) };
    let n = y.len;
    let (buf, _, _) = unsafe { span::<T>(x, *y) };
    inplace::elementwise::<T>(buf, n, |i, x, y| {
        let o = other.get(i..i + x.len()).unwrap_or(&[]);
        let p = Broadcast::flat(x.len());
        if READ == 0 {
            k::add_q8::<T, O, T>(&p, q, out, x, o, y)
        } else {
            k::add_q8::<O, T, T>(&p, q, out, o, x, y)
        }
    });
}

/// A float binary operation in chunks (`inplace::elementwise`): reads `a, b`, writes
/// `y` exactly over read `READ`.
unsafe extern "C" fn binary_f32_elementwise<const READ: usize>(
    kernels: *const Kernel,
    index: usize,
    ops: *const RawSlice,
) {
    // SAFETY: the engine passes its records and the call's own index and operands.
    let kernel = unsafe { &*kernels.add(index) };
    let Kernel::BinaryF32 { op, act, .. } = kernel else { return };
    // SAFETY: the block has the call's three operands; see `span`, `r`.
    let [a, b, y] = (unsafe { block(ops, 3) }) else { return };
    let (x, other) = if READ == 0 { (*a, *b) } else { (*b, *a) };
    let other = unsafe { r::<f32>(other) };
    let n = y.len;
    let (buf, _, _) = unsafe { span::<f32>(x, *y) };
    inplace::elementwise::<f32>(buf, n, |i, x, y| {
        let o = other.get(i..i + x.len()).unwrap_or(&[]);
        let p = Broadcast::flat(x.len());
        if READ == 0 {
            k::binary_f32(&p, *op, *act, x, o, y)
        } else {
            k::binary_f32(&p, *op, *act, o, x, y)
        }
    });
}

/// Picks the Rust type of a quantised element type.
macro_rules! q8 {
    ($d:expr, |$T:ident| $body:expr) => {
        match $d.rust_type() {
            "i8" => {
                type $T = i8;
                $body
            }
            "u8" => {
                type $T = u8;
                $body
            }
            _ => None,
        }
    };
}

/// The in-place shim of a call, with a name for the IR's legend
/// (`inplace::conv_rows(portable::conv2d_q8<i8,i8>)`,
/// `inplace::elementwise(portable::binary_f32<f32>) over read 1`); an error saying why
/// when the JIT has no in-place shim for it (the engine then refuses the model by
/// name). The engine keys shims by this name, so it names every instantiation apart:
/// an element-wise shim's overlapped read is part of it.
pub fn resolve(call: &KernelCall, ip: InPlaceCall) -> Result<(String, Shim), String> {
    let kernel = &call.kernel;
    let types = kernel.type_args().iter().map(|t| t.rust_type()).collect::<Vec<_>>().join(",");
    let (entry, over) = match ip.overlap {
        Overlap::ConvRows => ("conv_rows", String::new()),
        Overlap::Elementwise => ("elementwise", format!(" over read {}", ip.read)),
    };
    let name = format!("inplace::{entry}({}::{}<{types}>){over}", call.isa.module(), kernel.family().function());
    check(call, ip).map_err(|why| format!("{name}: {why}"))?;
    let s = |f: Shim| Some(f);
    let shim = match (ip.overlap, kernel) {
        (Overlap::ConvRows, Kernel::Conv2dQ8 { x, w, y, .. }) if x == y && ip.read == 0 && ip.write == 1 => {
            q8!(x, |T| match w.rust_type() {
                "i8" => s(conv2d_q8_rows::<T, i8>),
                "i16" => s(conv2d_q8_rows::<T, i16>),
                _ => None,
            })
        }
        (Overlap::ConvRows, Kernel::DepthwiseConv2dQ8 { x, w, y, .. }) if x == y && ip.read == 0 && ip.write == 1 => {
            q8!(x, |T| match w.rust_type() {
                "i8" => s(depthwise_conv2d_q8_rows::<T, i8>),
                "i16" => s(depthwise_conv2d_q8_rows::<T, i16>),
                _ => None,
            })
        }
        (Overlap::ConvRows, Kernel::Conv2dF32 { .. }) if ip.read == 0 && ip.write == 0 => s(conv2d_f32_rows),
        (Overlap::ConvRows, Kernel::DepthwiseConv2dF32 { .. }) if ip.read == 0 && ip.write == 0 => {
            s(depthwise_conv2d_f32_rows)
        }
        (Overlap::Elementwise, Kernel::BinaryF32 { .. }) if ip.write == 0 => match ip.read {
            0 => s(binary_f32_elementwise::<0>),
            1 => s(binary_f32_elementwise::<1>),
            _ => None,
        },
        (Overlap::Elementwise, Kernel::AddQ8 { a, b, y, .. }) if ip.write == 0 => match ip.read {
            0 if a == y => q8!(a, |T| q8!(b, |O| s(add_q8_elementwise::<T, O, 0>))),
            1 if b == y => q8!(b, |T| q8!(a, |O| s(add_q8_elementwise::<T, O, 1>))),
            _ => None,
        },
        _ => None,
    };
    shim.map(|f| (name.clone(), f)).ok_or_else(|| format!("{name}: the JIT has no in-place shim for this call"))
}

/// What the shims rely on beyond the lowering's own check: the call runs the portable
/// kernel, its overlapped pair is in the arena with one element type, no other operand
/// of the call touches the pair's span, and an element-wise call's other reads have the
/// result's length (they are cut in the same chunks).
fn check(call: &KernelCall, ip: InPlaceCall) -> Result<(), String> {
    if call.isa != crate::lower::Isa::Portable {
        return Err(format!(
            "the JIT calls only the host's portable kernels; the lowering chose the {} implementation",
            call.isa
        ));
    }
    let (Some(x), Some(y)) = (call.reads.get(ip.read), call.writes.get(ip.write)) else {
        return Err("an in-place call names a missing operand".into());
    };
    let (lo, hi) = ip.span(call).ok_or("an in-place pair outside the arena")?;
    if x.dtype != y.dtype {
        return Err("an in-place pair of two element types".into());
    }
    let reads = call.reads.iter().enumerate().filter(|&(k, _)| k != ip.read).map(|(_, o)| (o, true));
    let writes = call.writes.iter().enumerate().filter(|&(k, _)| k != ip.write).map(|(_, o)| (o, false));
    for (o, read) in reads.chain(writes) {
        if let Place::Arena { offset } = o.place {
            if o.bytes() > 0 && offset < hi && lo < offset + o.bytes() {
                return Err(format!("an operand at arena offset {offset} overlaps the in-place span [{lo}, {hi})"));
            }
        }
        if ip.overlap == Overlap::Elementwise && read && o.len != y.len {
            return Err("an element-wise in-place call with a broadcast operand".into());
        }
    }
    Ok(())
}
