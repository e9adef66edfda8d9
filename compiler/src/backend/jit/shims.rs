//! The call table: how JIT-compiled code reaches the host build of the runtime's
//! kernels. Every kernel family the JIT does not emit as loops is called through an
//! `extern "C"` shim taking a pointer to the call's [`Kernel`] (which carries the
//! runtime's own parameter record and constant tables) and a pointer to its operands
//! as [`RawSlice`]s in signature order (reads, then writes). One generic shim per
//! family, instantiated for each element-type combination the runtime implements;
//! [`resolve`] picks the instantiation a call needs, so the table is written once, by
//! the macros below, and grows with the runtime rather than by hand.
//!
//! Only the implementation the lowering chose is ever called: a call whose ISA is not
//! [`Isa::Portable`] is refused by the engine before any code is built (the per-ISA
//! kernels of the host are compiled only into generated code built for them).

use crate::lower::{Isa, Kernel, KernelCall};
use tinyops_runtime::kernels::portable as k;

/// One operand as JIT code passes it: the first element and the element count.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RawSlice {
    /// Address of the first element (unused when `len` is 0).
    pub ptr: *mut u8,
    /// Number of elements.
    pub len: usize,
}

/// Bytes of one [`RawSlice`] in the operand block JIT code builds on its stack.
pub const RAW_SLICE_BYTES: u32 = std::mem::size_of::<RawSlice>() as u32;

/// The signature of every shim: the engine's kernel records, the index of the call's
/// own, its operands.
pub type Shim = unsafe extern "C" fn(kernels: *const Kernel, index: usize, ops: *const RawSlice);

/// Reads a call's operands in order.
struct Ops {
    next: *const RawSlice,
}

impl Ops {
    /// The next operand, read.
    ///
    /// # Safety
    /// The operand must be valid for reads of `len` elements of `T`, aligned, and not
    /// written while the slice lives (the lowering proves no step writes what it reads).
    unsafe fn r<'a, T>(&mut self) -> &'a [T] {
        // SAFETY: the caller's contract; one operand per call of `r`/`w`.
        let s = unsafe { *self.next };
        self.next = unsafe { self.next.add(1) };
        if s.len == 0 {
            return &[];
        }
        // SAFETY: as documented above.
        unsafe { std::slice::from_raw_parts(s.ptr as *const T, s.len) }
    }

    /// The next operand, written.
    ///
    /// # Safety
    /// As [`Ops::r`], for writes, and overlapping no other operand of the call.
    unsafe fn w<'a, T>(&mut self) -> &'a mut [T] {
        // SAFETY: the caller's contract.
        let s = unsafe { *self.next };
        self.next = unsafe { self.next.add(1) };
        if s.len == 0 {
            return &mut [];
        }
        // SAFETY: as documented above.
        unsafe { std::slice::from_raw_parts_mut(s.ptr as *mut T, s.len) }
    }
}

/// Defines one generic shim per family: `name<types>(fields) => runtime call`, where
/// the call's arguments are parameters taken from the kernel's fields, then `r` (an
/// operand read) and `w` (an operand written) in signature order.
macro_rules! shims {
    ($(
        $name:ident <$($t:ident : $bound:path),*> ($variant:ident { $($field:ident),* }) => $call:ident ($($arg:tt)*);
    )*) => {
        $(
            #[allow(non_snake_case, unused_variables)]
            unsafe extern "C" fn $name<$($t: $bound),*>(kernels: *const Kernel, index: usize, ops: *const RawSlice) {
                // SAFETY: the engine passes its records and the call's own index and operands.
                let kernel = unsafe { &*kernels.add(index) };
                let mut o = Ops { next: ops };
                if let Kernel::$variant { $($field,)* .. } = kernel {
                    // SAFETY: operands are resolved by the lowering: in bounds, aligned
                    // for their element type, reads never written by the same call.
                    unsafe { shims!(@call k::$call::<$($t),*>, o, [] $($arg)*) };
                }
            }
        )*
    };
    // Argument muncher: `r`/`w` take the next operand; anything else is an expression.
    (@call $f:path, $o:ident, [$($done:expr,)*] r $(, $($rest:tt)*)?) => {
        shims!(@call $f, $o, [$($done,)* $o.r(),] $($($rest)*)?)
    };
    (@call $f:path, $o:ident, [$($done:expr,)*] w $(, $($rest:tt)*)?) => {
        shims!(@call $f, $o, [$($done,)* $o.w(),] $($($rest)*)?)
    };
    (@call $f:path, $o:ident, [$($done:expr,)*] {$e:expr} $(, $($rest:tt)*)?) => {
        shims!(@call $f, $o, [$($done,)* $e,] $($($rest)*)?)
    };
    (@call $f:path, $o:ident, [$($done:expr,)*]) => {
        $f($($done),*)
    };
}

/// The bound of element types every kernel accepts.
trait Any: Copy + Default + 'static {}
impl<T: Copy + Default + 'static> Any for T {}

use k::{Accumulate, Bits, Float, FormatElem, Int, RawBits, Scalar, TreeIndex, TreeValue};
use tinyops_runtime::quant::{Weight, Q8};

shims! {
    conv2d_f32<>(Conv2dF32 { p, act }) => conv2d_f32({p}, {*act}, r, r, r, w);
    depthwise_conv2d_f32<>(DepthwiseConv2dF32 { p, act }) => depthwise_conv2d_f32({p}, {*act}, r, r, r, w);
    deform_conv_f32<>(DeformConvF32 { p }) => deform_conv_f32({p}, r, r, r, r, r, w);
    roi_align_f32<>(RoiAlignF32 { p }) => roi_align_f32({p}, r, r, r, w);
    gemm_f32<>(GemmF32 { p, act }) => gemm_f32({p}, {*act}, r, r, r, w);
    binary_f32<>(BinaryF32 { p, op, act }) => binary_f32({p}, {*op}, {*act}, r, r, w);
    binary_int<T: Int>(BinaryInt { p, op }) => binary_int({p}, {*op}, r, r, w);
    bitwise<T: Bits>(Bitwise { p, op }) => bitwise({p}, {*op}, r, r, w);
    cumulative<T: Accumulate>(Cumulative { p }) => cumulative({p}, r, w);
    bitcast<X: RawBits, Y: RawBits>(BitCast {}) => bitcast(r, w);
    resample_f32<>(ResampleF32 { p, index, weight }) => resample_f32({p}, {index}, {weight}, r, w);
    scatter_elements<T: ScatterElem, I: Scalar>(ScatterElements { p, op }) => scatter_elements({p}, {*op}, r, r, r, w);
    scatter_nd<T: ScatterElem, I: Scalar>(ScatterNd { p, op }) => scatter_nd({p}, {*op}, r, r, r, w);
    gather_nd<T: Any, I: Scalar>(GatherNd { p }) => gather_nd({p}, r, r, w);
    top_k<T: Scalar>(TopK { p }) => top_k({p}, r, w, w);
    tree_ensemble<T: TreeValue, I: TreeIndex>(TreeEnsemble { p }) =>
        tree_ensemble({p}, r, r, r, r, r, r, r, r, r, r, r, w);
    ml_classify_f32<>(MlClassifyF32 { p }) => ml_classify_f32({p}, r, r, w, w);
    ml_transform_f32<>(MlTransformF32 { p }) => ml_transform_f32({p}, r, w);
    svm_kernel_f32<>(SvmKernelF32 { p }) => svm_kernel_f32({p}, r, r, w);
    svm_classify_f32<>(SvmClassifyF32 { p }) => svm_classify_f32({p}, r, r, r, r, w, w, w);
    unary_int<T: Int>(UnaryInt { f }) => unary_int({*f}, r, w);
    clamp_f32<>(ClampF32 { act }) => clamp_f32({*act}, r, w);
    unary_f32<>(UnaryF32 { f }) => unary_f32({*f}, r, w);
    softmax_f32<>(SoftmaxF32 { p }) => softmax_f32({p}, r, w);
    log_softmax_f32<>(LogSoftmaxF32 { p }) => log_softmax_f32({p}, r, w);
    channel_affine_f32<>(ChannelAffineF32 { p }) => channel_affine_f32({p}, r, r, r, w);
    max_pool2d_f32<>(MaxPool2dF32 { p }) => max_pool2d_f32({p}, r, w);
    avg_pool2d_f32<>(AvgPool2dF32 { p }) => avg_pool2d_f32({p}, r, w);
    mean_axis_f32<>(MeanAxisF32 { p }) => mean_axis_f32({p}, r, w);
    max_axis_f32<>(MaxAxisF32 { p }) => max_axis_f32({p}, r, w);
    lstm_f32<>(LstmF32 { p }) => lstm_f32({p}, r, r, r, r, r, r, r, w, w, w, w);
    reduce_f32<>(ReduceF32 { p, op }) => reduce_f32({p}, {*op}, r, w);
    unary_float<T: Float>(UnaryFloat { f }) => unary_float({*f}, r, w);
    binary_float<T: Float>(BinaryFloat { p, op }) => binary_float({p}, {*op}, r, r, w);
    reduce_float<T: Float>(ReduceFloat { p, op }) => reduce_float({p}, {*op}, r, w);
    softmax_float<T: Float>(SoftmaxFloat { p, log }) => softmax_float({p}, {*log}, r, w);
    gemm_float<T: Float>(GemmFloat { p }) => gemm_float({p}, r, r, r, w);
    arg_reduce_f32<>(ArgReduceF32 { p, max, last }) => arg_reduce_f32({p}, {*max}, {*last}, r, w);
    compare<T: Scalar>(Compare { p, op }) => compare({p}, {*op}, r, r, w);
    logic<>(Logic { p, op }) => logic({p}, {*op}, r, r, w);
    not<>(Not {}) => not(r, w);
    classify_f32<>(ClassifyF32 { nan, pos, neg }) => classify_f32({*nan}, {*pos}, {*neg}, r, w);
    select<T: Any>(Select { p }) => select({p}, r, r, r, w);
    cast<X: Scalar, Y: Scalar>(Cast {}) => cast(r, w);
    cast_to_bool<X: Scalar>(CastToBool {}) => cast_to_bool(r, w);
    cast_from_bool<Y: Scalar>(CastFromBool {}) => cast_from_bool(r, w);
    cast_from_half<Y: Scalar>(CastFromHalf { bf16 }) => cast_from_half({*bf16}, r, w);
    cast_to_half<X: Scalar>(CastToHalf { bf16 }) => cast_to_half({*bf16}, r, w);
    cast_format<X: FormatElem, Y: FormatElem>(CastFormat { p }) => cast_format({p}, r, w);
    layer_norm_f32<>(LayerNormF32 { p }) => layer_norm_f32({p}, r, r, r, w, w, w);
    trilu<T: Any>(Trilu { p }) => trilu({p}, r, w);
    nll_loss<I: Scalar>(Nll { p }) => nll_loss({p}, r, r, r, w, w);
    gather_indexed<T: Any, I: Scalar>(GatherIndexed { p }) => gather_indexed({p}, r, r, w);
    gather_elements<T: Any, I: Scalar>(GatherElements { p }) => gather_elements({p}, r, r, w);
    copy<T: Any>(Copy {}) => copy(r, w);
    copy_strided<T: Any>(CopyStrided { p }) => copy_strided({p}, r, w);
    gather<T: Any>(Gather { p, indices }) => gather({p}, {indices}, r, w);
    quantize_f32<Y: Q8>(Quantize { p, scales, zps }) => quantize_f32({p}, {scales}, {zps}, r, w);
    quantize_strided_f32<Y: Q8>(QuantizeStrided { p, q, scales, zps }) =>
        quantize_strided_f32({p}, {q}, {scales}, {zps}, r, w);
    dequantize_f32<X: Q8>(Dequantize { p, scales, zps }) => dequantize_f32({p}, {scales}, {zps}, r, w);
    dequantize_i32<>(DequantizeI32 { p, scales }) => dequantize_i32({p}, {scales}, r, w);
    conv2d_q8<X: Q8, W: Weight, Y: Q8>(Conv2dQ8 { p, x_zp, out, mults, shifts }) =>
        conv2d_q8({p}, {*x_zp}, {out}, {mults}, {shifts}, r, r, r, w, w);
    depthwise_conv2d_q8<X: Q8, W: Weight, Y: Q8>(DepthwiseConv2dQ8 { p, x_zp, out, mults, shifts }) =>
        depthwise_conv2d_q8({p}, {*x_zp}, {out}, {mults}, {shifts}, r, r, r, w, w);
    conv2d_q8_i32<X: Q8, W: Weight>(Conv2dQ8I32 { p, x_zp }) => conv2d_q8_i32({p}, {*x_zp}, r, r, r, w);
    gemm_q8<X: Q8, W: Weight, Y: Q8>(GemmQ8 { p, out, mults, shifts }) =>
        gemm_q8({p}, {out}, {mults}, {shifts}, r, r, r, w, w);
    gemm_q8_i32<X: Q8, W: Weight>(GemmQ8I32 { p, a_zp }) => gemm_q8_i32({p}, {*a_zp}, r, r, r, w);
    add_q8<A: Q8, B: Q8, Y: Q8>(AddQ8 { p, q, out }) => add_q8({p}, {q}, {out}, r, r, w);
    mul_q8<A: Q8, B: Q8, Y: Q8>(MulQ8 { p, q, out }) => mul_q8({p}, {q}, {out}, r, r, w);
    max_pool2d_q8<T: Q8Ord>(MaxPool2dQ8 { p }) => max_pool2d_q8({p}, r, w);
    avg_pool2d_q8<X: Q8, Y: Q8>(AvgPool2dQ8 { p, x_zp, out, mult, shift }) =>
        avg_pool2d_q8({p}, {*x_zp}, {out}, {*mult}, {*shift}, r, w, w);
    mean_axis_q8<X: Q8, Y: Q8>(MeanAxisQ8 { p, x_zp, out, mult, shift }) =>
        mean_axis_q8({p}, {*x_zp}, {out}, {*mult}, {*shift}, r, w);
    softmax_q8<X: Q8, Y: Q8>(SoftmaxQ8 { p, exp_table, inv_scale_q16, out }) =>
        softmax_q8({p}, {exp_table}, {*inv_scale_q16}, {out}, r, w);
}

/// The `lookup_q8` shim: its table arrives as `i32`s and is narrowed to the output
/// type once, on the stack, as the Rust backend's literal does at compile time.
unsafe extern "C" fn lookup_q8<X: Q8, Y: Q8 + TryFrom<i32> + Default>(
    kernels: *const Kernel,
    index: usize,
    ops: *const RawSlice,
) {
    // SAFETY: the engine passes its records and the call's own index and operands.
    let kernel = unsafe { &*kernels.add(index) };
    let mut o = Ops { next: ops };
    if let Kernel::LookupQ8 { table, .. } = kernel {
        let mut narrow = [Y::default(); 256];
        for (n, &v) in narrow.iter_mut().zip(table) {
            *n = Y::try_from(v).unwrap_or_default();
        }
        let t = &narrow[..table.len().min(256)];
        // SAFETY: as in the other shims.
        unsafe { k::lookup_q8::<X, Y>(t, o.r(), o.w()) };
    }
}

/// The `fill` shim: the runtime's `fill` on the unsigned type of the element's width,
/// with the bits the Rust backend's literal has.
unsafe extern "C" fn fill<U: Copy + TryFrom<u64>>(kernels: *const Kernel, index: usize, ops: *const RawSlice) {
    // SAFETY: the engine passes its records and the call's own index and operands.
    let kernel = unsafe { &*kernels.add(index) };
    let mut o = Ops { next: ops };
    if let Kernel::Fill { t, value } = kernel {
        if let Ok(v) = U::try_from(super::emit::fill_bits(*t, *value) & (u64::MAX >> (64 - 8 * t.size()))) {
            // SAFETY: as in the other shims.
            unsafe { k::fill::<U>(v, o.w()) };
        }
    }
}

/// The elements scatter kernels accept.
trait ScatterElem: Accumulate + PartialOrd {}
impl<T: Accumulate + PartialOrd> ScatterElem for T {}

/// The elements quantised max pooling accepts.
trait Q8Ord: Q8 + PartialOrd {}
impl<T: Q8 + PartialOrd> Q8Ord for T {}

/// Picks the Rust type of an IR element type from a list, binding it to `$T` in
/// `$body`; `None` when the type is not in the list.
macro_rules! pick {
    ($d:expr, [$($t:ident),*], |$T:ident| $body:expr) => {
        match $d.rust_type() {
            $(stringify!($t) => {
                #[allow(dead_code)]
                type $T = $t;
                $body
            })*
            _ => None,
        }
    };
}

/// Shorthand lists of the element types each trait is implemented for.
macro_rules! with {
    (all, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [f32, f64, i8, u8, i16, u16, i32, u32, i64, u64], |$T| $b)
    };
    (int, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [i8, u8, i16, u16, i32, u32, i64, u64], |$T| $b)
    };
    (q8, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [i8, u8], |$T| $b)
    };
    (weight, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [i8, i16], |$T| $b)
    };
    (float, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [f32, f64], |$T| $b)
    };
    (format, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [f32, u16, u8, i8], |$T| $b)
    };
    (tree_index, $d:expr, |$T:ident| $b:expr) => {
        pick!($d, [u8, u16, u32], |$T| $b)
    };
}

/// The shim of a call, with a name for the IR (`portable::conv2d_q8<i8,i8,i8>`); an
/// error naming the family and types when the runtime has no such instantiation.
pub fn resolve(call: &KernelCall) -> Result<(String, Shim), String> {
    let kernel = &call.kernel;
    let types = kernel.type_args();
    let name = format!(
        "{}::{}<{}>",
        call.isa.module(),
        kernel.family().function(),
        types.iter().map(|t| t.rust_type()).collect::<Vec<_>>().join(",")
    );
    if call.isa != Isa::Portable {
        return Err(format!(
            "{name}: the JIT calls only the host's portable kernels; the lowering chose the {} implementation",
            call.isa
        ));
    }
    match shim_of(kernel) {
        Some(Some(s)) => Ok((name, s)),
        Some(None) => Err(format!("{name}: the runtime has no such instantiation")),
        None => Err(format!("{name}: kernel family `{:?}` is not in the JIT's call table yet", kernel.family())),
    }
}

/// The shim of a kernel: `None` for a family the table does not list (a variant added
/// to [`Kernel`] after this table), `Some(None)` for element types the runtime lacks.
fn shim_of(kernel: &Kernel) -> Option<Option<Shim>> {
    use Kernel as K;
    let s = |f: Shim| Some(f);
    Some(match kernel {
        K::Conv2dF32 { .. } => s(conv2d_f32),
        K::DepthwiseConv2dF32 { .. } => s(depthwise_conv2d_f32),
        K::DeformConvF32 { .. } => s(deform_conv_f32),
        K::RoiAlignF32 { .. } => s(roi_align_f32),
        K::GemmF32 { .. } => s(gemm_f32),
        K::BinaryF32 { .. } => s(binary_f32),
        K::BinaryInt { t, .. } => with!(int, t, |T| s(binary_int::<T>)),
        K::Bitwise { t, .. } => with!(int, t, |T| s(bitwise::<T>)),
        K::Cumulative { t, .. } => with!(all, t, |T| s(cumulative::<T>)),
        K::BitCast { from, to } => with!(all, from, |X| with!(all, to, |Y| s(bitcast::<X, Y>))),
        K::ResampleF32 { .. } => s(resample_f32),
        K::ScatterElements { t, i, .. } => with!(all, t, |T| with!(all, i, |I| s(scatter_elements::<T, I>))),
        K::ScatterNd { t, i, .. } => with!(all, t, |T| with!(all, i, |I| s(scatter_nd::<T, I>))),
        K::GatherNd { t, i, .. } => with!(all, t, |T| with!(all, i, |I| s(gather_nd::<T, I>))),
        K::TopK { t, .. } => with!(all, t, |T| s(top_k::<T>)),
        K::TreeEnsemble { t, i, .. } => {
            with!(float, t, |T| with!(tree_index, i, |I| s(tree_ensemble::<T, I>)))
        }
        K::MlClassifyF32 { .. } => s(ml_classify_f32),
        K::MlTransformF32 { .. } => s(ml_transform_f32),
        K::SvmKernelF32 { .. } => s(svm_kernel_f32),
        K::SvmClassifyF32 { .. } => s(svm_classify_f32),
        K::UnaryInt { t, .. } => with!(int, t, |T| s(unary_int::<T>)),
        K::ClampF32 { .. } => s(clamp_f32),
        K::UnaryF32 { .. } => s(unary_f32),
        K::SoftmaxF32 { .. } => s(softmax_f32),
        K::LogSoftmaxF32 { .. } => s(log_softmax_f32),
        K::ChannelAffineF32 { .. } => s(channel_affine_f32),
        K::MaxPool2dF32 { .. } => s(max_pool2d_f32),
        K::AvgPool2dF32 { .. } => s(avg_pool2d_f32),
        K::MeanAxisF32 { .. } => s(mean_axis_f32),
        K::MaxAxisF32 { .. } => s(max_axis_f32),
        K::LstmF32 { .. } => s(lstm_f32),
        K::ReduceF32 { .. } => s(reduce_f32),
        K::UnaryFloat { t, .. } => with!(float, t, |T| s(unary_float::<T>)),
        K::BinaryFloat { t, .. } => with!(float, t, |T| s(binary_float::<T>)),
        K::ReduceFloat { t, .. } => with!(float, t, |T| s(reduce_float::<T>)),
        K::SoftmaxFloat { t, .. } => with!(float, t, |T| s(softmax_float::<T>)),
        K::GemmFloat { t, .. } => with!(float, t, |T| s(gemm_float::<T>)),
        K::ArgReduceF32 { .. } => s(arg_reduce_f32),
        K::Compare { t, .. } => with!(all, t, |T| s(compare::<T>)),
        K::Logic { .. } => s(logic),
        K::Not => s(not),
        K::ClassifyF32 { .. } => s(classify_f32),
        K::Select { t, .. } => with!(all, t, |T| s(select::<T>)),
        K::Cast { from, to } => with!(all, from, |X| with!(all, to, |Y| s(cast::<X, Y>))),
        K::CastToBool { from } => with!(all, from, |X| s(cast_to_bool::<X>)),
        K::CastFromBool { to } => with!(all, to, |Y| s(cast_from_bool::<Y>)),
        K::CastFromHalf { to, .. } => with!(all, to, |Y| s(cast_from_half::<Y>)),
        K::CastToHalf { from, .. } => with!(all, from, |X| s(cast_to_half::<X>)),
        K::CastFormat { x, y, .. } => with!(format, x, |X| with!(format, y, |Y| s(cast_format::<X, Y>))),
        K::LayerNormF32 { .. } => s(layer_norm_f32),
        K::Trilu { t, .. } => with!(all, t, |T| s(trilu::<T>)),
        K::Nll { i, .. } => with!(all, i, |I| s(nll_loss::<I>)),
        K::GatherIndexed { t, i, .. } => with!(all, t, |T| with!(all, i, |I| s(gather_indexed::<T, I>))),
        K::GatherElements { t, i, .. } => with!(all, t, |T| with!(all, i, |I| s(gather_elements::<T, I>))),
        K::Copy { t } => with!(all, t, |T| s(copy::<T>)),
        K::Fill { t, .. } => match t.size() {
            1 => s(fill::<u8>),
            2 => s(fill::<u16>),
            4 => s(fill::<u32>),
            8 => s(fill::<u64>),
            _ => None,
        },
        K::CopyStrided { t, .. } => with!(all, t, |T| s(copy_strided::<T>)),
        K::Gather { t, .. } => with!(all, t, |T| s(gather::<T>)),
        K::Quantize { to, .. } => with!(q8, to, |Y| s(quantize_f32::<Y>)),
        K::QuantizeStrided { to, .. } => with!(q8, to, |Y| s(quantize_strided_f32::<Y>)),
        K::Dequantize { from, .. } => with!(q8, from, |X| s(dequantize_f32::<X>)),
        K::DequantizeI32 { .. } => s(dequantize_i32),
        K::Conv2dQ8 { x, w, y, .. } => {
            with!(q8, x, |X| with!(weight, w, |W| with!(q8, y, |Y| s(conv2d_q8::<X, W, Y>))))
        }
        K::DepthwiseConv2dQ8 { x, w, y, .. } => {
            with!(q8, x, |X| with!(weight, w, |W| with!(q8, y, |Y| s(depthwise_conv2d_q8::<X, W, Y>))))
        }
        K::Conv2dQ8I32 { x, w, .. } => with!(q8, x, |X| with!(weight, w, |W| s(conv2d_q8_i32::<X, W>))),
        K::GemmQ8 { a, w, y, .. } => {
            with!(q8, a, |X| with!(weight, w, |W| with!(q8, y, |Y| s(gemm_q8::<X, W, Y>))))
        }
        K::GemmQ8I32 { a, w, .. } => with!(q8, a, |X| with!(weight, w, |W| s(gemm_q8_i32::<X, W>))),
        K::AddQ8 { a, b, y, .. } => with!(q8, a, |A| with!(q8, b, |B| with!(q8, y, |Y| s(add_q8::<A, B, Y>)))),
        K::MulQ8 { a, b, y, .. } => with!(q8, a, |A| with!(q8, b, |B| with!(q8, y, |Y| s(mul_q8::<A, B, Y>)))),
        K::MaxPool2dQ8 { t, .. } => with!(q8, t, |T| s(max_pool2d_q8::<T>)),
        K::AvgPool2dQ8 { x, y, .. } => with!(q8, x, |X| with!(q8, y, |Y| s(avg_pool2d_q8::<X, Y>))),
        K::MeanAxisQ8 { x, y, .. } => with!(q8, x, |X| with!(q8, y, |Y| s(mean_axis_q8::<X, Y>))),
        K::SoftmaxQ8 { x, y, .. } => with!(q8, x, |X| with!(q8, y, |Y| s(softmax_q8::<X, Y>))),
        K::LookupQ8 { x, y, .. } => with!(q8, x, |X| with!(q8, y, |Y| s(lookup_q8::<X, Y>))),
        // A family added to `Kernel` after this table: refused by name, not a build error.
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}
