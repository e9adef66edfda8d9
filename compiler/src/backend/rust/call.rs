//! One kernel call as Rust: `rt::kernels::<isa>::<function>::<types>(params…, reads…,
//! writes…)`. Parameter records print as the runtime's own struct literals; operands
//! as the expressions [`super`] binds for their places.

use super::tokens::{f32_lit, i32_lit, isize_array, usize_array, usize_lit};
use crate::ir::DType;
use crate::lower::{Kernel, KernelCall};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use tinyops_runtime::kernels::{
    Axis, Bias, BinaryOp, Broadcast, Broadcast3, Clamp, Conv2d, Gather, Gemm, LayerNorm, Lstm, Pool2d, QAdd, QMul,
    Reduce, ReduceOp, Strided, UnaryFn, MAX_RANK,
};
use tinyops_runtime::quant::QOut;

/// The Rust element type of an IR element type.
pub fn elem(d: DType) -> TokenStream {
    let id = format_ident!("{}", d.rust_type());
    quote!(#id)
}

fn clamp(c: Clamp) -> TokenStream {
    if c == Clamp::NONE {
        quote!(rt::kernels::Clamp::NONE)
    } else if c == Clamp::RELU {
        quote!(rt::kernels::Clamp::RELU)
    } else {
        let (lo, hi) = (f32_lit(c.min), f32_lit(c.max));
        quote!(rt::kernels::Clamp { min: #lo, max: #hi })
    }
}

fn conv2d(p: &Conv2d) -> TokenStream {
    let v = conv2d_value(p);
    quote!(&#v)
}

fn conv2d_value(p: &Conv2d) -> TokenStream {
    let Conv2d {
        batch,
        in_c,
        in_h,
        in_w,
        out_c,
        out_h,
        out_w,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dil_h,
        dil_w,
        pad_top,
        pad_left,
        groups,
    } = *p;
    quote! {
        rt::kernels::Conv2d {
            batch: #batch, in_c: #in_c, in_h: #in_h, in_w: #in_w, out_c: #out_c, out_h: #out_h, out_w: #out_w,
            k_h: #k_h, k_w: #k_w, stride_h: #stride_h, stride_w: #stride_w, dil_h: #dil_h, dil_w: #dil_w,
            pad_top: #pad_top, pad_left: #pad_left, groups: #groups,
        }
    }
}

fn gemm(p: &Gemm) -> TokenStream {
    let Gemm { batch, m, n, k, trans_a, trans_b, batch_stride_a, batch_stride_b, alpha, beta, bias } = *p;
    let (alpha, beta) = (f32_lit(alpha), f32_lit(beta));
    let bias = match bias {
        Bias::None => quote!(None),
        Bias::Scalar => quote!(Scalar),
        Bias::PerColumn => quote!(PerColumn),
        Bias::PerRow => quote!(PerRow),
        Bias::Full => quote!(Full),
    };
    quote! {
        &rt::kernels::Gemm {
            batch: #batch, m: #m, n: #n, k: #k, trans_a: #trans_a, trans_b: #trans_b,
            batch_stride_a: #batch_stride_a, batch_stride_b: #batch_stride_b, alpha: #alpha, beta: #beta,
            bias: rt::kernels::Bias::#bias,
        }
    }
}

fn broadcast(p: &Broadcast) -> TokenStream {
    let (rank, shape, a, b) =
        (p.rank, usize_array(&p.shape, MAX_RANK), usize_array(&p.a, MAX_RANK), usize_array(&p.b, MAX_RANK));
    quote!(&rt::kernels::Broadcast { rank: #rank, shape: #shape, a: #a, b: #b })
}

fn broadcast3(p: &Broadcast3) -> TokenStream {
    let rank = p.rank;
    let [shape, c, a, b] = [&p.shape, &p.c, &p.a, &p.b].map(|v| usize_array(v, MAX_RANK));
    quote!(&rt::kernels::Broadcast3 { rank: #rank, shape: #shape, c: #c, a: #a, b: #b })
}

/// `rt::kernels::<Enum>::<Variant>` for a runtime enum value printed with `Debug`.
fn variant(enum_name: &str, v: impl std::fmt::Debug) -> TokenStream {
    let (e, v) = (format_ident!("{}", enum_name), format_ident!("{}", format!("{v:?}")));
    quote!(rt::kernels::#e::#v)
}

fn pool2d(p: &Pool2d) -> TokenStream {
    let Pool2d {
        batch,
        channels,
        in_h,
        in_w,
        out_h,
        out_w,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dil_h,
        dil_w,
        pad_top,
        pad_left,
        pad_bottom,
        pad_right,
        count_include_pad,
    } = *p;
    quote! {
        &rt::kernels::Pool2d {
            batch: #batch, channels: #channels, in_h: #in_h, in_w: #in_w, out_h: #out_h, out_w: #out_w, k_h: #k_h, k_w: #k_w,
            stride_h: #stride_h, stride_w: #stride_w, dil_h: #dil_h, dil_w: #dil_w, pad_top: #pad_top,
            pad_left: #pad_left, pad_bottom: #pad_bottom, pad_right: #pad_right, count_include_pad: #count_include_pad,
        }
    }
}

fn axis(p: &Axis) -> TokenStream {
    let Axis { outer, len, inner } = *p;
    quote!(&rt::kernels::Axis { outer: #outer, len: #len, inner: #inner })
}

fn strided(p: &Strided) -> TokenStream {
    let (rank, so, dof) = (p.rank, p.src_offset, p.dst_offset);
    let (shape, src, dst) =
        (usize_array(&p.shape, MAX_RANK), isize_array(&p.src, MAX_RANK), usize_array(&p.dst, MAX_RANK));
    quote!(&rt::kernels::Strided { rank: #rank, shape: #shape, src: #src, src_offset: #so, dst: #dst, dst_offset: #dof })
}

fn reduce(p: &Reduce, op: ReduceOp) -> [TokenStream; 2] {
    let (rank, shape) = (p.rank, usize_array(&p.shape, MAX_RANK));
    let flags = p.reduce.iter();
    let op = format_ident!("{}", format!("{op:?}"));
    [
        quote!(&rt::kernels::Reduce { rank: #rank, shape: #shape, reduce: [#(#flags),*] }),
        quote!(rt::kernels::ReduceOp::#op),
    ]
}

fn gather(p: &Gather) -> TokenStream {
    let Gather { outer, axis_len, inner } = *p;
    quote!(&rt::kernels::Gather { outer: #outer, axis_len: #axis_len, inner: #inner })
}

fn lstm(p: &Lstm) -> TokenStream {
    let Lstm { seq, batch, input, hidden, directions, reverse, clip, input_forget } = *p;
    let clip = f32_lit(clip);
    quote! {
        &rt::kernels::Lstm {
            seq: #seq, batch: #batch, input: #input, hidden: #hidden, directions: #directions,
            reverse: #reverse, clip: #clip, input_forget: #input_forget,
        }
    }
}

fn qout(q: &QOut) -> TokenStream {
    let (zp, min, max) = (i32_lit(q.zp), i32_lit(q.min), i32_lit(q.max));
    quote!(&rt::quant::QOut { zp: #zp, min: #min, max: #max })
}

fn qadd(q: &QAdd) -> TokenStream {
    let (za, zb, ma, mb, s) = (i32_lit(q.a_zp), i32_lit(q.b_zp), i32_lit(q.a_mult), i32_lit(q.b_mult), q.shift);
    quote!(&rt::kernels::QAdd { a_zp: #za, b_zp: #zb, a_mult: #ma, b_mult: #mb, shift: #s })
}

fn qmul(q: &QMul) -> TokenStream {
    let (za, zb, m, s) = (i32_lit(q.a_zp), i32_lit(q.b_zp), i32_lit(q.mult), q.shift);
    quote!(&rt::kernels::QMul { a_zp: #za, b_zp: #zb, mult: #m, shift: #s })
}

fn unary(f: UnaryFn) -> TokenStream {
    let name = |f: UnaryFn| format_ident!("{}", format!("{f:?}").split('(').next().unwrap_or_default().to_string());
    let id = name(f);
    let args: Vec<TokenStream> = match f {
        UnaryFn::LeakyRelu(a) | UnaryFn::Elu(a) | UnaryFn::Celu(a) | UnaryFn::ThresholdedRelu(a) => vec![f32_lit(a)],
        UnaryFn::HardSigmoid(a, b) | UnaryFn::Selu(a, b) | UnaryFn::Shrink(a, b) => vec![f32_lit(a), f32_lit(b)],
        _ => vec![],
    };
    if args.is_empty() {
        quote!(rt::kernels::UnaryFn::#id)
    } else {
        quote!(rt::kernels::UnaryFn::#id(#(#args),*))
    }
}

fn binary(op: BinaryOp) -> TokenStream {
    let id = format_ident!("{}", format!("{op:?}"));
    quote!(rt::kernels::BinaryOp::#id)
}

fn i32s(v: &[i32]) -> TokenStream {
    let items = v.iter().map(|&x| i32_lit(x));
    quote!(&[#(#items),*])
}

fn f32s(v: &[f32]) -> TokenStream {
    let items = v.iter().map(|&x| f32_lit(x));
    quote!(&[#(#items),*])
}

/// A literal of element type `t` with value `v` (an integer for integer types).
fn scalar(t: DType, v: f64) -> TokenStream {
    match t {
        DType::F32 => f32_lit(v as f32),
        DType::F64 => {
            if v.is_finite() {
                let l = Literal::f64_suffixed(v.abs());
                if v < 0.0 || (v == 0.0 && v.is_sign_negative()) {
                    quote!(-#l)
                } else {
                    quote!(#l)
                }
            } else if v.is_nan() {
                quote!(f64::NAN)
            } else if v > 0.0 {
                quote!(f64::INFINITY)
            } else {
                quote!(f64::NEG_INFINITY)
            }
        }
        DType::F16 => {
            let l = Literal::u16_unsuffixed(tinyops_runtime::math::f32_to_f16(v as f32));
            quote!(#l)
        }
        DType::BF16 => {
            let l = Literal::u16_unsuffixed(tinyops_runtime::math::f32_to_bf16(v as f32));
            quote!(#l)
        }
        DType::Bool => {
            let b = Literal::u8_unsuffixed(u8::from(v != 0.0));
            quote!(#b)
        }
        _ => {
            let l = Literal::i64_unsuffixed((v as i64).abs());
            if v < 0.0 {
                quote!(-#l)
            } else {
                quote!(#l)
            }
        }
    }
}

fn gather_elements(p: &tinyops_runtime::kernels::GatherElements) -> TokenStream {
    let (rank, axis, len) = (p.rank, p.axis, p.axis_len);
    let (shape, data) = (usize_array(&p.shape, MAX_RANK), usize_array(&p.data, MAX_RANK));
    quote!(&rt::kernels::GatherElements { rank: #rank, shape: #shape, data: #data, axis: #axis, axis_len: #len })
}

fn index_nd(p: &tinyops_runtime::kernels::IndexNd) -> TokenStream {
    let tinyops_runtime::kernels::IndexNd { batch, batch_stride, count, k, slice, .. } = *p;
    let (dims, strides) = (usize_array(&p.dims, MAX_RANK), usize_array(&p.strides, MAX_RANK));
    quote!(&rt::kernels::IndexNd {
        batch: #batch, batch_stride: #batch_stride, count: #count, k: #k, dims: #dims, strides: #strides, slice: #slice
    })
}

/// The arguments a kernel takes before its tensor operands.
fn params(k: &Kernel) -> Vec<TokenStream> {
    use Kernel::*;
    match k {
        Conv2dF32 { p, act } | DepthwiseConv2dF32 { p, act } => vec![conv2d(p), clamp(*act)],
        DeformConvF32 { p } => {
            let (conv, groups) = (conv2d_value(&p.conv), p.offset_groups);
            vec![quote!(&rt::kernels::DeformConv { conv: #conv, offset_groups: #groups })]
        }
        RoiAlignF32 { p } => {
            let tinyops_runtime::kernels::RoiAlign {
                batch,
                channels,
                in_h,
                in_w,
                rois,
                out_h,
                out_w,
                sampling_ratio,
                spatial_scale,
                half_pixel,
                max,
            } = *p;
            let scale = f32_lit(spatial_scale);
            vec![quote!(&rt::kernels::RoiAlign {
                batch: #batch, channels: #channels, in_h: #in_h, in_w: #in_w, rois: #rois, out_h: #out_h,
                out_w: #out_w, sampling_ratio: #sampling_ratio, spatial_scale: #scale, half_pixel: #half_pixel,
                max: #max
            })]
        }
        GemmF32 { p, act } => vec![gemm(p), clamp(*act)],
        BinaryF32 { p, op, act } => vec![broadcast(p), binary(*op), clamp(*act)],
        BinaryInt { p, op, .. } => vec![broadcast(p), binary(*op)],
        UnaryInt { f, .. } => vec![variant("IntUnary", f)],
        Bitwise { p, op, .. } => vec![broadcast(p), variant("BitOp", op)],
        Cumulative { p, .. } => {
            let tinyops_runtime::kernels::Cumulative { outer, len, inner, product, exclusive, reverse } = *p;
            vec![quote!(&rt::kernels::Cumulative {
                outer: #outer, len: #len, inner: #inner, product: #product, exclusive: #exclusive, reverse: #reverse
            })]
        }
        BitCast { .. } => vec![],
        ResampleF32 { p, index, weight } => {
            let [input, output, taps, start] =
                [&p.input, &p.output, &p.taps, &p.start].map(|v| usize_array(v, MAX_RANK));
            let (rank, extrapolation) = (p.rank, f32_lit(p.extrapolation));
            let index = index.iter().map(|&i| Literal::u32_unsuffixed(i));
            vec![
                quote!(&rt::kernels::Resample {
                    rank: #rank, input: #input, output: #output, taps: #taps, start: #start, extrapolation: #extrapolation
                }),
                quote!(&[#(#index),*]),
                f32s(weight),
            ]
        }
        TreeEnsemble { p, .. } => {
            let tinyops_runtime::kernels::TreeEnsemble { rows, features, targets, trees, nodes, leaves, aggregate } =
                *p;
            let aggregate = variant("Aggregate", aggregate);
            vec![quote!(&rt::kernels::TreeEnsemble {
                rows: #rows, features: #features, targets: #targets, trees: #trees, nodes: #nodes, leaves: #leaves,
                aggregate: #aggregate
            })]
        }
        MlClassifyF32 { p } => {
            let tinyops_runtime::kernels::MlClassify { rows, columns, classes, post, rule, threshold } = *p;
            let (post, rule, threshold) =
                (variant("PostTransform", post), variant("LabelRule", rule), f32_lit(threshold));
            vec![quote!(&rt::kernels::MlClassify {
                rows: #rows, columns: #columns, classes: #classes, post: #post, rule: #rule, threshold: #threshold
            })]
        }
        MlTransformF32 { p } => {
            let tinyops_runtime::kernels::MlTransform { rows, columns, post } = *p;
            let post = variant("PostTransform", post);
            vec![quote!(&rt::kernels::MlTransform { rows: #rows, columns: #columns, post: #post })]
        }
        SvmKernelF32 { p } => {
            let tinyops_runtime::kernels::SvmKernel { rows, vectors, features, kind, gamma, coef0, degree } = *p;
            let (kind, gamma, coef0, degree) =
                (variant("SvmKernelKind", kind), f32_lit(gamma), f32_lit(coef0), f32_lit(degree));
            vec![quote!(&rt::kernels::SvmKernel {
                rows: #rows, vectors: #vectors, features: #features, kind: #kind, gamma: #gamma, coef0: #coef0, degree: #degree
            })]
        }
        SvmClassifyF32 { p } => {
            let tinyops_runtime::kernels::SvmClassify { rows, classes, probabilities, post } = *p;
            let post = variant("PostTransform", post);
            vec![quote!(&rt::kernels::SvmClassify {
                rows: #rows, classes: #classes, probabilities: #probabilities, post: #post
            })]
        }
        ClampF32 { act } => vec![clamp(*act)],
        UnaryF32 { f } => vec![unary(*f)],
        SoftmaxF32 { p } | LogSoftmaxF32 { p } | ChannelAffineF32 { p } | MeanAxisF32 { p } | MaxAxisF32 { p } => {
            vec![axis(p)]
        }
        MaxPool2dF32 { p } | AvgPool2dF32 { p } | MaxPool2dQ8 { p, .. } => vec![pool2d(p)],
        LstmF32 { p } => vec![lstm(p)],
        ReduceF32 { p, op } => reduce(p, *op).into(),
        UnaryFloat { f, .. } => vec![unary(*f)],
        BinaryFloat { p, op, .. } => vec![broadcast(p), binary(*op)],
        ReduceFloat { p, op, .. } => reduce(p, *op).into(),
        SoftmaxFloat { p, log, .. } => vec![axis(p), quote!(#log)],
        GemmFloat { p, .. } => vec![gemm(p)],
        ArgReduceF32 { p, max, last } => vec![axis(p), quote!(#max), quote!(#last)],
        Compare { p, op, .. } => vec![broadcast(p), variant("CompareOp", op)],
        Logic { p, op } => vec![broadcast(p), variant("LogicOp", op)],
        ClassifyF32 { nan, pos, neg } => vec![quote!(#nan), quote!(#pos), quote!(#neg)],
        Not | Cast { .. } | CastToBool { .. } | CastFromBool { .. } => vec![],
        CastFromHalf { bf16, .. } | CastToHalf { bf16, .. } => vec![quote!(#bf16)],
        CastFormat { p, .. } => {
            let (from, to, saturate) = (variant("Format", p.from), variant("Format", p.to), p.saturate);
            let round = variant("ExpRound", p.round);
            vec![quote!(&rt::kernels::FormatCast { from: #from, to: #to, saturate: #saturate, round: #round })]
        }
        Select { p, .. } => vec![broadcast3(p)],
        LayerNormF32 { p } => {
            let LayerNorm { outer, inner, epsilon, rms } = *p;
            let eps = f32_lit(epsilon);
            vec![quote!(&rt::kernels::LayerNorm { outer: #outer, inner: #inner, epsilon: #eps, rms: #rms })]
        }
        Trilu { p, .. } => {
            let tinyops_runtime::kernels::Trilu { batch, rows, cols, k, upper } = *p;
            let k = Literal::isize_unsuffixed(k.abs());
            let k = if p.k < 0 { quote!(-#k) } else { quote!(#k) };
            vec![quote!(&rt::kernels::Trilu { batch: #batch, rows: #rows, cols: #cols, k: #k, upper: #upper })]
        }
        Nll { p, .. } => {
            let tinyops_runtime::kernels::Nll { n, classes, inner, reduction, ignore_index, softmax } = *p;
            let reduction = variant("LossReduction", reduction);
            let ignore = match ignore_index {
                Some(i) => {
                    let l = Literal::i64_unsuffixed(i.unsigned_abs() as i64);
                    if i < 0 {
                        quote!(Some(-#l))
                    } else {
                        quote!(Some(#l))
                    }
                }
                None => quote!(None),
            };
            vec![quote!(&rt::kernels::Nll {
                n: #n, classes: #classes, inner: #inner, reduction: #reduction, ignore_index: #ignore, softmax: #softmax
            })]
        }
        GatherIndexed { p, .. } => vec![gather(p)],
        GatherElements { p, .. } => vec![gather_elements(p)],
        ScatterElements { p, op, .. } => vec![gather_elements(p), variant("ScatterOp", op)],
        ScatterNd { p, op, .. } => vec![index_nd(p), variant("ScatterOp", op)],
        GatherNd { p, .. } => vec![index_nd(p)],
        TopK { p, .. } => {
            let tinyops_runtime::kernels::TopK { outer, len, inner, k, largest } = *p;
            vec![quote!(&rt::kernels::TopK { outer: #outer, len: #len, inner: #inner, k: #k, largest: #largest })]
        }
        Copy { .. } => vec![],
        Fill { t, value } => vec![scalar(*t, *value)],
        CopyStrided { p, .. } => vec![strided(p)],
        Gather { p, indices, .. } => {
            let idx = indices.iter().map(|&i| usize_lit(i));
            vec![gather(p), quote!(&[#(#idx),*])]
        }
        Quantize { p, scales, zps, .. } | Dequantize { p, scales, zps, .. } => vec![axis(p), f32s(scales), i32s(zps)],
        QuantizeStrided { p, q, scales, zps, .. } => vec![strided(p), axis(q), f32s(scales), i32s(zps)],
        DequantizeI32 { p, scales } => vec![axis(p), f32s(scales)],
        Conv2dQ8 { p, x_zp, out, mults, shifts, .. } | DepthwiseConv2dQ8 { p, x_zp, out, mults, shifts, .. } => {
            vec![conv2d(p), i32_lit(*x_zp), qout(out), i32s(mults), i32s(shifts)]
        }
        Conv2dQ8I32 { p, x_zp, .. } => vec![conv2d(p), i32_lit(*x_zp)],
        GemmQ8 { p, out, mults, shifts, .. } => vec![gemm(p), qout(out), i32s(mults), i32s(shifts)],
        GemmQ8I32 { p, a_zp, .. } => vec![gemm(p), i32_lit(*a_zp)],
        AddQ8 { p, q, out, .. } => vec![broadcast(p), qadd(q), qout(out)],
        MulQ8 { p, q, out, .. } => vec![broadcast(p), qmul(q), qout(out)],
        AvgPool2dQ8 { p, x_zp, out, mult, shift, .. } => {
            vec![pool2d(p), i32_lit(*x_zp), qout(out), i32_lit(*mult), usize_lit(*shift as usize).into_token_stream()]
        }
        MeanAxisQ8 { p, x_zp, out, mult, shift, .. } => {
            vec![axis(p), i32_lit(*x_zp), qout(out), i32_lit(*mult), usize_lit(*shift as usize).into_token_stream()]
        }
        SoftmaxQ8 { p, exp_table, inv_scale_q16, out, .. } => {
            let table = exp_table.iter().map(|&v| Literal::u32_unsuffixed(v));
            let inv = Literal::u32_unsuffixed(*inv_scale_q16);
            vec![axis(p), quote!(&[#(#table),*]), quote!(#inv), qout(out)]
        }
        LookupQ8 { table, .. } => vec![i32s(table)],
    }
}

use quote::ToTokens;

/// The statement calling `call`, given the expressions of its operands (reads, then
/// writes, in signature order).
pub fn statement(call: &KernelCall, operands: Vec<TokenStream>) -> TokenStream {
    statement_with(call, params(&call.kernel), operands)
}

/// The parameter expressions of a kernel call, in signature order.
pub fn kernel_params(call: &KernelCall) -> Vec<TokenStream> {
    params(&call.kernel)
}

/// [`statement`] with the parameter expressions given (an in-place call passes the
/// runtime entry's per-piece geometry instead of the whole call's).
pub fn statement_with(call: &KernelCall, params: Vec<TokenStream>, operands: Vec<TokenStream>) -> TokenStream {
    let module = format_ident!("{}", call.isa.module());
    let family = call.kernel.family().function();
    let types = call.kernel.type_args().into_iter().map(elem);
    let (function, turbofish) = match call.form() {
        // A kernel with compile-time paths: its `_form` entry, the form last.
        Some(form) => {
            let form = Literal::u8_unsuffixed(form);
            (format_ident!("{family}_form"), quote!(::<#(#types,)* #form>))
        }
        None if call.kernel.type_args().is_empty() => (format_ident!("{family}"), quote!()),
        None => (format_ident!("{family}"), quote!(::<#(#types),*>)),
    };
    let args = params.into_iter().chain(operands);
    quote!(rt::kernels::#module::#function #turbofish(#(#args),*);)
}
