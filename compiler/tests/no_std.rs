//! The generated code is `no_std`, allocation-free and panic-free: corpus models that
//! together use every kernel family (float and int8 convolution, GEMM, pooling,
//! softmax, LSTM, gather, quantise/dequantise, integer add and tables) are linked into
//! a `#![no_std]` staticlib with `panic = "abort"` and no allocator, whose panic
//! handler calls a symbol that exists nowhere. The staticlib is then linked into a C
//! program that calls every model's `run` and `self_test`: if any panic path were
//! reachable from either, the link would fail on that symbol (and every self-test
//! must pass). The same staticlib exports every runtime
//! kernel with parameters the C program supplies at run time, which proves the
//! kernels panic-free for any parameters, not only for the models' constants. The
//! program runs. A control build with a deliberate panic path must fail to link,
//! proving the check bites.

//!
//! The same proof holds on bare metal: five of the models (one of each kind) compiled
//! for cortex-m4 and the same every-kernel entry point are linked into a `thumbv7em-none-eabihf` firmware
//! (the driver's firmware crate builder: Debian's rustc, `build-std`, GNU ld,
//! opt-level 3 with LTO) whose panic handler calls the undefined symbol; its link must
//! succeed and the firmware must run in QEMU (every model's `self_test()` passing
//! there: integer outputs bit for bit, floats within tolerance), and the control must fail to link there
//! too. A target's code generation (32-bit `usize`, no hardware divide on some cores,
//! other inlining) can expose a panic path the host build folds away.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use tinyops_compiler::ir::DType;
use tinyops_compiler::{compile, Compilation, Options};

const MODELS: &[(&str, &str)] = &[
    ("mlperf_kws_dscnn_fp32", "kws"),
    ("torch_lenet5", "lenet"),
    ("torch_lstm_kws", "lstm"),
    ("mlperf_kws_dscnn_int8", "kws_int8"),
    ("mlperf_ic_resnet8_int8", "resnet8_int8"),
    ("torch_mobilenetv2_035_96_ortq_qop", "mbv2_qop"),
    ("torch_lenet5_ortq_qdq", "lenet_qdq"),
];

/// The models of the bare-metal proof: one of each kind of the host proof's (float,
/// LSTM, int8, QDQ, QOperator), the smaller ones. Every kernel is also linked there with
/// run-time parameters; the seven models together would add minutes of LTO (each
/// kernel call of a model is specialised for its constant parameters: 1 MB of code).
const BARE_METAL_MODELS: &[(&str, &str)] = &[
    ("torch_lenet5", "lenet"),
    ("torch_lstm_kws", "lstm"),
    ("mlperf_kws_dscnn_int8", "kws_int8"),
    ("torch_lenet5_ortq_qdq", "lenet_qdq"),
    ("torch_kws_conv1d_ortq_qop", "kws_conv1d_qop"),
];

/// Every kernel, with geometry and operands chosen by the C caller at run time, so the
/// optimiser can fold nothing: no kernel has a panic path for any parameters.
const EVERY_KERNEL: &str = r#"
use tinyops_runtime::kernels::portable as k;
use tinyops_runtime::kernels::*;
use tinyops_runtime::quant::QOut;

/// Takes the first `n` elements off `s` (an empty slice if there are fewer).
fn take<'a, T>(s: &mut &'a mut [T], n: usize) -> &'a mut [T] {
    match core::mem::take(s).split_at_mut_checked(n) {
        Some((a, b)) => {
            *s = b;
            a
        }
        None => &mut [],
    }
}

fn arr<const N: usize>(p: &[usize], at: usize) -> [usize; N] {
    core::array::from_fn(|i| p.get(at + i).copied().unwrap_or(0))
}

#[no_mangle]
pub extern "C" fn every_kernel(sel: usize, p: *const usize, f: *mut f32, nf: usize, b: *mut u8, nb: usize, w: *mut i32, nw: usize) {
    // SAFETY: the C caller passes buffers of the stated lengths and 64 parameters.
    let (p, mut f, mut b, mut w) = unsafe {
        (
            core::slice::from_raw_parts(p, 64),
            core::slice::from_raw_parts_mut(f, nf),
            core::slice::from_raw_parts_mut(b, nb),
            core::slice::from_raw_parts_mut(w, nw),
        )
    };
    let (f0, f1, f2, f3) = (take(&mut f, p[0]), take(&mut f, p[1]), take(&mut f, p[2]), take(&mut f, p[3]));
    let (b0, b1, b2) = (take(&mut b, p[4]), take(&mut b, p[5]), take(&mut b, p[6]));
    let (w0, w1, w2, w3) = (take(&mut w, p[7]), take(&mut w, p[8]), take(&mut w, p[9]), take(&mut w, p[10]));
    let conv = Conv2d {
        batch: p[11], in_c: p[12], in_h: p[13], in_w: p[14], out_c: p[15], out_h: p[16], out_w: p[17], k_h: p[18],
        k_w: p[19], stride_h: p[20], stride_w: p[21], dil_h: p[22], dil_w: p[23], pad_top: p[24], pad_left: p[25],
        groups: p[26],
    };
    let bias = [Bias::None, Bias::Scalar, Bias::PerColumn, Bias::PerRow, Bias::Full][p[27] % 5];
    let gemm = Gemm {
        batch: p[11], m: p[12], n: p[13], k: p[14], trans_a: p[15] % 2 == 1, trans_b: p[16] % 2 == 1,
        batch_stride_a: p[17], batch_stride_b: p[18], alpha: f3.first().copied().unwrap_or(1.0), beta: 1.0, bias,
    };
    let pool = Pool2d {
        batch: p[11], channels: p[27], in_h: p[12], in_w: p[13], out_h: p[14], out_w: p[15], k_h: p[16], k_w: p[17], stride_h: p[18],
        stride_w: p[19], dil_h: p[20], dil_w: p[21], pad_top: p[22], pad_left: p[23], pad_bottom: p[24],
        pad_right: p[25], count_include_pad: p[26] % 2 == 1,
    };
    let bc = Broadcast { rank: p[28], shape: arr(p, 29), a: arr(p, 35), b: arr(p, 41) };
    let strided = Strided {
        rank: p[28], shape: arr(p, 29), src: arr::<6>(p, 35).map(|v| v as isize - 8), src_offset: p[47],
        dst: arr(p, 41), dst_offset: p[48],
    };
    let axis = Axis { outer: p[11], len: p[12], inner: p[13] };
    let lstm = Lstm {
        seq: p[11], batch: p[12], input: p[13], hidden: p[14], directions: p[15], reverse: p[16] % 2 == 1,
        clip: f3.first().copied().unwrap_or(0.0), input_forget: p[17] % 2 == 1,
    };
    let act = Clamp { min: f3.first().copied().unwrap_or(0.0), max: f3.get(1).copied().unwrap_or(6.0) };
    let out = QOut { zp: p[49] as i32, min: p[50] as i32, max: p[51] as i32 };
    let (z, m, s) = (p[52] as i32, p[53] as i32, p[54] as u32);
    let (i8a, i8b, i8c) = (tinyops_runtime::arena::cast_mut::<i8>(b0), tinyops_runtime::arena::cast_mut::<i8>(b1), tinyops_runtime::arena::cast_mut::<i8>(b2));
    let w16 = tinyops_runtime::arena::cast_mut::<i16>(take(&mut b, p[10]));
    let table8 = [0i8; 256];
    let tableu = [0u8; 256];
    let tablee = [1u32; 256];
    let idx = [p[55], p[56], p[57]];
    let qa = QAdd { a_zp: z, b_zp: z, a_mult: m, b_mult: m, shift: s };
    let qm = QMul { a_zp: z, b_zp: z, mult: m, shift: s };
    match sel {
        0 => k::conv2d_f32(&conv, act, f0, f1, f2, f3),
        1 => k::gemm_f32(&gemm, act, f0, f1, f2, f3),
        2 => k::binary_f32(&bc, BinaryOp::Add, act, f0, f1, f2),
        3 => k::binary_f32(&bc, BinaryOp::Sub, act, f0, f1, f2),
        4 => k::binary_f32(&bc, BinaryOp::Mul, act, f0, f1, f2),
        5 => k::binary_f32(&bc, BinaryOp::Div, act, f0, f1, f2),
        6 => k::binary_f32(&bc, BinaryOp::Pow, act, f0, f1, f2),
        7 => k::binary_f32(&bc, BinaryOp::Max, act, f0, f1, f2),
        8 => k::binary_f32(&bc, BinaryOp::Min, act, f0, f1, f2),
        9 => k::clamp_f32(act, f0, f1),
        10 => {
            let fs = [UnaryFn::Sigmoid, UnaryFn::Tanh, UnaryFn::Exp, UnaryFn::Log, UnaryFn::Sqrt, UnaryFn::Neg, UnaryFn::Abs,
                UnaryFn::Reciprocal, UnaryFn::LeakyRelu(act.min), UnaryFn::HardSigmoid(act.min, act.max), UnaryFn::HardSwish,
                UnaryFn::Softplus, UnaryFn::Silu, UnaryFn::Sin, UnaryFn::Cos, UnaryFn::Tan, UnaryFn::Asin, UnaryFn::Acos,
                UnaryFn::Atan, UnaryFn::Sinh, UnaryFn::Cosh, UnaryFn::Asinh, UnaryFn::Acosh, UnaryFn::Atanh, UnaryFn::Floor,
                UnaryFn::Ceil, UnaryFn::Round, UnaryFn::Sign, UnaryFn::Erf, UnaryFn::Softsign, UnaryFn::Mish, UnaryFn::Gelu,
                UnaryFn::GeluTanh, UnaryFn::Elu(act.min), UnaryFn::Selu(act.min, act.max), UnaryFn::Celu(act.max),
                UnaryFn::ThresholdedRelu(act.min), UnaryFn::Shrink(act.min, act.max)];
            k::unary_f32(fs[p[58] % fs.len()], f0, f1)
        }
        11 => k::softmax_f32(&axis, f0, f1),
        12 => k::log_softmax_f32(&axis, f0, f1),
        13 => k::channel_affine_f32(&axis, f0, f1, f2, f3),
        14 => k::max_pool2d_f32(&pool, f0, f1),
        15 => k::avg_pool2d_f32(&pool, f0, f1),
        16 => k::mean_axis_f32(&axis, f0, f1),
        17 => k::max_axis_f32(&axis, f0, f1),
        18 => k::copy(f0, f1),
        19 => k::fill(act.min, f0),
        20 => k::copy_strided(&strided, f0, f1),
        21 => k::copy_strided(&strided, &*i8a, i8b),
        22 => k::gather(&Gather { outer: p[11], axis_len: p[12], inner: p[13] }, &idx, f0, f1),
        23 => k::gather(&Gather { outer: p[11], axis_len: p[12], inner: p[13] }, &idx, &*i8a, i8b),
        24 => {
            let mut rest = f;
            let (x, wr, r, bi, h0, c0, pe) = (take(&mut rest, p[59]), take(&mut rest, p[60]), take(&mut rest, p[61]), take(&mut rest, p[62]), take(&mut rest, p[63]), take(&mut rest, p[0]), take(&mut rest, p[1]));
            let (y, yh, yc) = (take(&mut rest, p[2]), take(&mut rest, p[3]), take(&mut rest, p[4]));
            k::lstm_f32(&lstm, x, wr, r, bi, h0, c0, pe, y, yh, yc, rest)
        }
        25 => k::conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        26 => k::conv2d_q8::<u8, i16, u8>(&conv, z, &out, w1, w2, b0, w16, w0, w3, b2),
        27 => k::conv2d_q8_i32::<i8, i8>(&conv, z, i8a, i8b, w0, w1),
        28 => k::gemm_q8::<i8, i8, i8>(&gemm, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        29 => k::gemm_q8::<u8, i16, u8>(&gemm, &out, w1, w2, b0, w16, w0, w3, b2),
        30 => k::gemm_q8_i32::<u8, i8>(&gemm, z, b0, i8b, w0, w1),
        31 => k::add_q8::<i8, i8, i8>(&bc, &qa, &out, i8a, i8b, i8c),
        32 => k::add_q8::<u8, u8, u8>(&bc, &qa, &out, b0, b1, b2),
        33 => k::mul_q8::<i8, u8, i8>(&bc, &qm, &out, i8a, b1, i8c),
        34 => k::avg_pool2d_q8::<i8, u8>(&pool, z, &out, m, s, i8a, w0, b1),
        35 => k::mean_axis_q8::<u8, i8>(&axis, z, &out, m, s, b0, i8b),
        36 => k::max_pool2d_q8::<i8>(&pool, i8a, i8b),
        37 => k::max_pool2d_q8::<u8>(&pool, b0, b1),
        38 => k::softmax_q8::<i8, u8>(&axis, &tablee, m as u32, &out, i8a, b1),
        39 => k::lookup_q8::<i8, i8>(&table8, i8a, i8b),
        40 => k::lookup_q8::<u8, u8>(&tableu, b0, b1),
        41 => k::quantize_f32::<i8>(&axis, f0, w0, f1, i8a),
        42 => k::quantize_f32::<u8>(&axis, f0, w0, f1, b0),
        43 => k::dequantize_f32::<i8>(&axis, f0, w0, i8a, f1),
        44 => k::dequantize_f32::<u8>(&axis, f0, w0, b0, f1),
        45 => k::dequantize_i32(&axis, f0, w0, f1),
        72 => k::depthwise_conv2d_f32(&conv, act, f0, f1, f2, f3),
        73 => k::depthwise_conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        74 => k::depthwise_conv2d_q8::<u8, i16, u8>(&conv, z, &out, w1, w2, b0, w16, w0, w3, b2),
        // The Arm DSP kernels, on the bare-metal proof's cortex-m4 (absent on the host).
        #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
        88 => arm_dsp::conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
        89 => arm_dsp::depthwise_conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
        90 => arm_dsp::gemm_q8::<i8, i8, i8>(&gemm, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        #[cfg(all(target_arch = "arm", target_feature = "dsp"))]
        101 => arm_dsp::avg_pool2d_q8::<i8, i8>(&pool, z, &out, m, s, i8a, w0, i8b),
        // The Helium kernels, on the cortex-m55 proof.
        #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
        91 => arm_mve::conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
        92 => arm_mve::depthwise_conv2d_q8::<i8, i8, i8>(&conv, z, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        #[cfg(all(target_arch = "arm", target_feature = "mclass", target_feature = "neon"))]
        116 => arm_mve::gemm_q8::<i8, i8, i8>(&gemm, &out, w1, w2, i8a, i8b, w0, w3, i8c),
        46 => {
            let regions = [(p[11], p[12]), (p[13], p[14]), (p[15], p[16])];
            let (ro, [x, y, z]) = tinyops_runtime::arena::split(b0, regions);
            let v = ro.view::<f32>(p[17], p[18]);
            if let (Some(a), Some(b), Some(c)) = (x.first_mut(), y.first_mut(), z.first_mut()) {
                *a = v.len() as u8;
                *b = 1;
                *c = 2;
            }
        }
        47 => {
            let ops = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod, ReduceOp::L1,
                ReduceOp::L2, ReduceOp::LogSum, ReduceOp::LogSumExp, ReduceOp::SumSquare];
            let red = Reduce { rank: p[28], shape: arr(p, 29), reduce: arr::<6>(p, 35).map(|v| v % 2 == 1) };
            k::reduce_f32(&red, ops[p[58] % ops.len()], f0, f1)
        }
        48 => k::arg_reduce_f32(&axis, p[14] % 2 == 1, p[15] % 2 == 1, f0, tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[10]))),
        49 => {
            let ops = [CompareOp::Equal, CompareOp::Less, CompareOp::LessOrEqual, CompareOp::Greater, CompareOp::GreaterOrEqual];
            k::compare::<f32>(&bc, ops[p[58] % ops.len()], f0, f1, b0)
        }
        50 => k::compare::<i8>(&bc, CompareOp::Less, &*i8a, &*i8b, b2),
        51 => {
            let ops = [LogicOp::And, LogicOp::Or, LogicOp::Xor];
            k::logic(&bc, ops[p[58] % ops.len()], &*b0, &*b1, b2)
        }
        52 => k::not(&*b0, b1),
        53 => {
            let sel = Broadcast3 { rank: p[28], shape: arr(p, 29), c: arr(p, 35), a: arr(p, 41), b: arr(p, 47) };
            k::select::<f32>(&sel, &*b0, f0, f1, f2)
        }
        54 => k::cast::<f32, i8>(f0, i8a),
        55 => k::cast::<i64, f32>(&*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), f1),
        56 => k::cast_to_bool::<f32>(f0, b0),
        57 => k::cast_from_bool::<i32>(&*b0, w0),
        58 => {
            let ops = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min, BinaryOp::Mod, BinaryOp::Fmod, BinaryOp::PRelu];
            k::binary_int::<i8>(&bc, ops[p[58] % ops.len()], &*i8a, &*i8b, i8c)
        }
        59 => k::binary_int::<i32>(&bc, BinaryOp::Mod, &*w0, &*w1, w2),
        60 => k::binary_f32(&bc, BinaryOp::Mod, act, f0, f1, f2),
        61 => k::binary_f32(&bc, [BinaryOp::Fmod, BinaryOp::PRelu][p[58] % 2], act, f0, f1, f2),
        62 => {
            let fs = [IntUnary::Neg, IntUnary::Abs, IntUnary::Sign];
            k::unary_int::<i64>(fs[p[58] % fs.len()], &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])))
        }
        63 => {
            let t = Trilu { batch: p[11], rows: p[12], cols: p[13], k: p[14] as isize - 3, upper: p[15] % 2 == 1 };
            k::trilu::<f32>(&t, f0, f1)
        }
        64 => {
            let ln = LayerNorm { outer: p[11], inner: p[12], epsilon: act.max, rms: p[13] % 2 == 1 };
            let mut rest = f;
            let (x, s, bi, y, m, v) = (take(&mut rest, p[59]), take(&mut rest, p[60]), take(&mut rest, p[61]), take(&mut rest, p[62]), take(&mut rest, p[63]), take(&mut rest, p[0]));
            k::layer_norm_f32(&ln, x, s, bi, y, m, v)
        }
        65 => k::cast_from_half::<f32>(p[14] % 2 == 1, &*tinyops_runtime::arena::cast_mut::<u16>(take(&mut b, p[9])), f1),
        66 => k::cast_to_half::<f32>(p[14] % 2 == 1, f0, tinyops_runtime::arena::cast_mut::<u16>(take(&mut b, p[9]))),
        67 => k::cast::<f64, u64>(&*tinyops_runtime::arena::cast_mut::<f64>(take(&mut b, p[9])), tinyops_runtime::arena::cast_mut::<u64>(take(&mut b, p[8]))),
        68 => {
            let reds = [LossReduction::None, LossReduction::Sum, LossReduction::Mean];
            let nll = Nll { n: p[11], classes: p[12], inner: p[13], reduction: reds[p[14] % 3], ignore_index: Some(p[15] as i64 - 2), softmax: p[16] % 2 == 1 };
            let mut rest = f;
            let (x, wt, y, lp) = (take(&mut rest, p[59]), take(&mut rest, p[60]), take(&mut rest, p[61]), take(&mut rest, p[62]));
            k::nll_loss::<i64>(&nll, x, &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), wt, y, lp)
        }
        69 => k::gather_indexed::<f32, i64>(&Gather { outer: p[11], axis_len: p[12], inner: p[13] }, f0, &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), f1),
        70 => {
            let ge = GatherElements { rank: p[28], shape: arr(p, 29), data: arr(p, 35), axis: p[14], axis_len: p[12] };
            k::gather_elements::<f32, i32>(&ge, f0, &*w0, f1)
        }
        71 => k::classify_f32(p[14] % 2 == 1, p[15] % 2 == 1, p[16] % 2 == 1, f0, b0),
        75..=77 => {
            let fs = [Format::F32, Format::F16, Format::BF16, Format::F8E4M3FN, Format::F8E4M3FNUZ, Format::F8E5M2,
                Format::F8E5M2FNUZ, Format::F4E2M1, Format::F8E8M0, Format::I4, Format::U4, Format::I2, Format::U2];
            let rounds = [ExpRound::Up, ExpRound::Down, ExpRound::Nearest];
            let fc = FormatCast { from: fs[p[14] % fs.len()], to: fs[p[15] % fs.len()], saturate: p[16] % 2 == 1, round: rounds[p[17] % 3] };
            match sel {
                75 => k::cast_format::<f32, u8>(&fc, f0, b0),
                76 => k::cast_format::<u8, f32>(&fc, &*b0, f1),
                _ => k::cast_format::<u16, i8>(&fc, &*tinyops_runtime::arena::cast_mut::<u16>(take(&mut b, p[9])), i8a),
            }
        }
        78 => {
            let ops = [BitOp::And, BitOp::Or, BitOp::Xor, BitOp::ShiftLeft, BitOp::ShiftRight];
            k::bitwise::<i8>(&bc, ops[p[58] % ops.len()], &*i8a, &*i8b, i8c)
        }
        79 => k::bitwise::<u64>(&bc, BitOp::ShiftRight, &*tinyops_runtime::arena::cast_mut::<u64>(take(&mut b, p[9])), &*tinyops_runtime::arena::cast_mut::<u64>(take(&mut b, p[8])), tinyops_runtime::arena::cast_mut::<u64>(take(&mut b, p[7]))),
        80 => {
            let c = Cumulative { outer: p[11], len: p[12], inner: p[13], product: p[14] % 2 == 1, exclusive: p[15] % 2 == 1, reverse: p[16] % 2 == 1 };
            k::cumulative::<f32>(&c, f0, f1)
        }
        81 => k::cumulative::<i64>(&Cumulative { outer: p[11], len: p[12], inner: p[13], product: true, exclusive: false, reverse: true }, &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[8]))),
        82 => k::bitcast::<f32, i32>(f0, w0),
        83 => {
            let rs = Resample { rank: p[28], input: arr(p, 29), output: arr(p, 35), taps: arr(p, 41), start: arr(p, 47), extrapolation: act.min };
            let idx = tinyops_runtime::arena::cast_mut::<u32>(take(&mut b, p[9]));
            k::resample_f32(&rs, &*idx, f2, f0, f1)
        }
        84 | 85 => {
            let ge = GatherElements { rank: p[28], shape: arr(p, 29), data: arr(p, 35), axis: p[14], axis_len: p[12] };
            let ops = [ScatterOp::None, ScatterOp::Add, ScatterOp::Mul, ScatterOp::Max, ScatterOp::Min];
            let nd = IndexNd { batch: p[11], batch_stride: p[12], count: p[13], k: p[14], dims: arr(p, 29), strides: arr(p, 35), slice: p[15] };
            if sel == 84 {
                k::scatter_elements::<f32, i32>(&ge, ops[p[58] % ops.len()], f0, &*w0, f1, f2)
            } else {
                k::scatter_nd::<f32, i64>(&nd, ops[p[58] % ops.len()], f0, &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), f1, f2)
            }
        }
        86 => {
            let nd = IndexNd { batch: p[11], batch_stride: p[12], count: p[13], k: p[14], dims: arr(p, 29), strides: arr(p, 35), slice: p[15] };
            k::gather_nd::<f32, i32>(&nd, f0, &*w0, f1)
        }
        87 => {
            let tk = TopK { outer: p[11], len: p[12], inner: p[13], k: p[14], largest: p[15] % 2 == 1 };
            k::top_k::<f32>(&tk, f0, f1, tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])))
        }
        93 | 94 => {
            let aggregates = [Aggregate::Sum, Aggregate::Average, Aggregate::Min, Aggregate::Max];
            let te = TreeEnsemble {
                rows: p[11], features: p[12], targets: p[13], trees: p[14], nodes: p[15], leaves: p[16],
                aggregate: aggregates[p[58] % aggregates.len()],
            };
            let mode = take(&mut b, p[21]);
            if sel == 93 {
                let (f4, f5) = (take(&mut f, p[17]), take(&mut f, p[18]));
                let (r, fe, ch, ls, tg) = (take(&mut b, p[19]), take(&mut b, p[20]), take(&mut b, p[22]), take(&mut b, p[23]), take(&mut b, p[24]));
                k::tree_ensemble::<f32, u8>(&te, r, fe, f0, mode, ch, ls, tg, f1, f2, f3, f4, f5)
            } else {
                use tinyops_runtime::arena::cast_mut;
                let mut u = |n: usize| cast_mut::<u16>(take(&mut b, n));
                let (r, fe, ch, ls, tg) = (u(p[19]), u(p[20]), u(p[22]), u(p[23]), u(p[24]));
                let mut d = |n: usize| cast_mut::<f64>(take(&mut b, n));
                let (sp, wt, st, bs, x, y) = (d(p[25]), d(p[26]), d(p[27]), d(p[28]), d(p[29]), d(p[30]));
                k::tree_ensemble::<f64, u16>(&te, r, fe, sp, mode, ch, ls, tg, wt, st, bs, x, y)
            }
        }
        95 => {
            let posts = [PostTransform::None, PostTransform::Logistic, PostTransform::Softmax, PostTransform::SoftmaxZero, PostTransform::Probit];
            let rules = [LabelRule::ArgMax, LabelRule::SecondAbove, LabelRule::OneMinus, LabelRule::Negate];
            let mc = MlClassify {
                rows: p[11], columns: p[12], classes: p[13], post: posts[p[58] % posts.len()], rule: rules[p[59] % rules.len()],
                threshold: f3.first().copied().unwrap_or(0.5),
            };
            let labels = tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9]));
            k::ml_classify_f32(&mc, labels, f0, tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[10])), f1)
        }
        96 => {
            let posts = [PostTransform::None, PostTransform::Logistic, PostTransform::Softmax, PostTransform::SoftmaxZero, PostTransform::Probit];
            k::ml_transform_f32(&MlTransform { rows: p[11], columns: p[12], post: posts[p[58] % posts.len()] }, f0, f1)
        }
        97 => {
            let kinds = [SvmKernelKind::Linear, SvmKernelKind::Poly, SvmKernelKind::Rbf, SvmKernelKind::Sigmoid];
            let sk = SvmKernel {
                rows: p[11], vectors: p[12], features: p[13], kind: kinds[p[58] % kinds.len()],
                gamma: f3.first().copied().unwrap_or(0.1), coef0: f3.get(1).copied().unwrap_or(0.0), degree: f3.get(2).copied().unwrap_or(3.0),
            };
            k::svm_kernel_f32(&sk, f0, f1, f2)
        }
        98 => {
            let posts = [PostTransform::None, PostTransform::Logistic, PostTransform::Softmax, PostTransform::SoftmaxZero, PostTransform::Probit];
            let sc = SvmClassify { rows: p[11], classes: p[12], probabilities: p[13] % 2 == 1, post: posts[p[58] % posts.len()] };
            let labels = tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9]));
            let scratch = take(&mut f, p[17]);
            k::svm_classify_f32(&sc, labels, f0, f1, f2, tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[10])), f3, scratch)
        }
        99 => tinyops_runtime::kernels::inplace::conv_rows::<i8>(&conv, i8a, p[55], p[56], |q, x, y| {
            k::conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, w3, y)
        }),
        100 => tinyops_runtime::kernels::inplace::elementwise::<i8>(i8a, p[55], |i, x, y| {
            k::add_q8::<i8, i8, i8>(&Broadcast::flat(x.len()), &qa, &out, x, i8b.get(i..i + x.len()).unwrap_or(&[]), y)
        }),
        107 => tinyops_runtime::kernels::inplace::conv_rows::<f32>(&conv, f0, p[55], p[56], |q, x, y| {
            k::conv2d_f32(q, act, x, f1, f2, y)
        }),
        108 => tinyops_runtime::kernels::inplace::conv_rows::<f32>(&conv, f0, p[55], p[56], |q, x, y| {
            k::depthwise_conv2d_f32(q, act, x, f1, f2, y)
        }),
        109 => {
            let ops = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min, BinaryOp::Mod, BinaryOp::Fmod, BinaryOp::PRelu];
            let op = ops[p[58] % ops.len()];
            tinyops_runtime::kernels::inplace::elementwise::<f32>(f0, p[55], |i, x, y| {
                k::binary_f32(&Broadcast::flat(x.len()), op, act, x, f1.get(i..i + x.len()).unwrap_or(&[]), y)
            })
        }
        // The streamed pairs of `kernels::stream`: the consumer reads the producer's
        // output geometry (its own drawn from the same run-time values).
        112..=114 => {
            use tinyops_runtime::kernels::{inplace, stream};
            let c2 = Conv2d {
                in_c: conv.out_c, in_h: conv.out_h, in_w: conv.out_w, out_c: p[57], out_h: p[58], out_w: p[59],
                ..conv
            };
            let acc2 = take(&mut w, p[60]);
            match sel {
                112 => {
                    let win = tinyops_runtime::arena::cast_mut::<i8>(take(&mut b, p[61]));
                    stream::stream_rows::<i8>(
                        &conv, &c2, &*i8a, win, i8c,
                        |q, x, y| k::conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, w3, y),
                        |q, x, y| k::depthwise_conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, acc2, y),
                    )
                }
                113 => {
                    let win = tinyops_runtime::arena::cast_mut::<i8>(take(&mut b, p[61]));
                    let row = tinyops_runtime::arena::cast_mut::<i8>(take(&mut b, p[62]));
                    stream::stream_rows_over_input::<i8>(
                        &conv, &c2, i8a, win, row,
                        |q, x, y| k::conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, w3, y),
                        |q, x, y| k::conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, acc2, y),
                        |r, s| inplace::elementwise::<i8>(s, r.len(), |i, x, y| {
                            k::add_q8::<i8, i8, i8>(&Broadcast::flat(x.len()), &qa, &out, r.get(i..i + x.len()).unwrap_or(&[]), x, y)
                        }),
                    )
                }
                _ => {
                    let (win, row) = (take(&mut f, p[61]), take(&mut f, p[62]));
                    stream::stream_rows_into::<f32>(
                        &conv, &c2, &*f0, win, row, f3,
                        |q, x, y| k::conv2d_f32(q, act, x, f1, f2, y),
                        |q, x, y| k::depthwise_conv2d_f32(q, act, x, f1, f2, y),
                        |r, s| inplace::elementwise::<f32>(s, r.len(), |i, x, y| {
                            k::binary_f32(&Broadcast::flat(x.len()), BinaryOp::Add, act, r.get(i..i + x.len()).unwrap_or(&[]), x, y)
                        }),
                    )
                }
            }
        }
        // The float kernels generic over the element type, in f64.
        102..=106 => {
            use tinyops_runtime::arena::cast_mut;
            let mut d = |n: usize| cast_mut::<f64>(take(&mut b, n));
            let (d0, d1, d2, d3) = (d(p[59]), d(p[60]), d(p[61]), d(p[62]));
            match sel {
                102 => {
                    let fs = [UnaryFn::Sigmoid, UnaryFn::Tanh, UnaryFn::Exp, UnaryFn::Log, UnaryFn::Sqrt, UnaryFn::Neg, UnaryFn::Abs,
                        UnaryFn::Reciprocal, UnaryFn::LeakyRelu(act.min), UnaryFn::HardSigmoid(act.min, act.max), UnaryFn::HardSwish,
                        UnaryFn::Softplus, UnaryFn::Silu, UnaryFn::Sin, UnaryFn::Cos, UnaryFn::Tan, UnaryFn::Asin, UnaryFn::Acos,
                        UnaryFn::Atan, UnaryFn::Sinh, UnaryFn::Cosh, UnaryFn::Asinh, UnaryFn::Acosh, UnaryFn::Atanh, UnaryFn::Floor,
                        UnaryFn::Ceil, UnaryFn::Round, UnaryFn::Sign, UnaryFn::Erf, UnaryFn::Softsign, UnaryFn::Mish, UnaryFn::Gelu,
                        UnaryFn::GeluTanh, UnaryFn::Elu(act.min), UnaryFn::Selu(act.min, act.max), UnaryFn::Celu(act.max),
                        UnaryFn::ThresholdedRelu(act.min), UnaryFn::Shrink(act.min, act.max)];
                    k::unary_float::<f64>(fs[p[58] % fs.len()], d0, d1)
                }
                103 => {
                    let ops = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min, BinaryOp::Mod, BinaryOp::Fmod, BinaryOp::PRelu];
                    k::binary_float::<f64>(&bc, ops[p[58] % ops.len()], d0, d1, d2)
                }
                104 => {
                    let ops = [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max, ReduceOp::Min, ReduceOp::Prod, ReduceOp::L1,
                        ReduceOp::L2, ReduceOp::LogSum, ReduceOp::LogSumExp, ReduceOp::SumSquare];
                    let red = Reduce { rank: p[28], shape: arr(p, 29), reduce: arr::<6>(p, 35).map(|v| v % 2 == 1) };
                    k::reduce_float::<f64>(&red, ops[p[58] % ops.len()], d0, d1)
                }
                105 => k::softmax_float::<f64>(&axis, p[14] % 2 == 1, d0, d1),
                _ => k::gemm_float::<f64>(&gemm, d0, d1, d2, d3),
            }
        }
        110 => {
            let mut rest = f;
            let (mask, y) = (take(&mut rest, p[59]), take(&mut rest, p[60]));
            k::deform_conv_f32(&DeformConv { conv, offset_groups: p[28] }, f0, f1, f2, f3, mask, y)
        }
        111 => {
            let roi = RoiAlign {
                batch: p[11], channels: p[12], in_h: p[13], in_w: p[14], rois: p[15], out_h: p[16], out_w: p[17],
                sampling_ratio: p[18], spatial_scale: f3.first().copied().unwrap_or(1.0), half_pixel: p[19] % 2 == 1,
                max: p[20] % 2 == 1,
            };
            k::roi_align_f32(&roi, f0, f1, &*tinyops_runtime::arena::cast_mut::<i64>(take(&mut b, p[9])), f2)
        }
        115 => {
            let plan = tinyops_runtime::kernels::inplace::Rows::new(&conv);
            tinyops_runtime::kernels::inplace::conv_rows_planned::<i8>(&plan, i8a, p[55], p[56], |q, x, y| {
                k::conv2d_q8::<i8, i8, i8>(q, z, &out, w1, w2, x, i8b, w0, w3, y)
            })
        }
        117 if p[58] % 2 == 0 => k::quantize_strided_f32::<i8>(&strided, &axis, f0, w0, f1, i8a),
        117 => k::quantize_strided_f32::<u8>(&strided, &axis, f0, w0, f1, b0),
        _ => {}
    }
}
"#;

/// The x86-64 kernels with run-time parameters, for the x86 proofs (each compiled only
/// with its module's features, like the module).
const EVERY_X86_KERNEL: &str = r#"
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma"))]
#[no_mangle]
pub extern "C" fn every_x86_kernel(sel: usize, p: *const usize, f: *mut f32, nf: usize, b: *mut u8, nb: usize, w: *mut i32, nw: usize) {
    use tinyops_runtime::kernels::x86_avx2 as x;
    // SAFETY: the C caller passes buffers of the stated lengths and 64 parameters.
    let (p, mut f, mut b, mut w) = unsafe {
        (
            core::slice::from_raw_parts(p, 64),
            core::slice::from_raw_parts_mut(f, nf),
            core::slice::from_raw_parts_mut(b, nb),
            core::slice::from_raw_parts_mut(w, nw),
        )
    };
    let (f0, f1, f2, f3) = (take(&mut f, p[0]), take(&mut f, p[1]), take(&mut f, p[2]), take(&mut f, p[3]));
    let (b0, b1, b2) = (take(&mut b, p[4]), take(&mut b, p[5]), take(&mut b, p[6]));
    let (w0, w1) = (take(&mut w, p[7]), take(&mut w, p[8]));
    let conv = Conv2d {
        batch: p[11], in_c: p[12], in_h: p[13], in_w: p[14], out_c: p[15], out_h: p[16], out_w: p[17], k_h: p[18],
        k_w: p[19], stride_h: p[20], stride_w: p[21], dil_h: p[22], dil_w: p[23], pad_top: p[24], pad_left: p[25],
        groups: p[26],
    };
    let act = Clamp { min: f3.first().copied().unwrap_or(0.0), max: f3.get(1).copied().unwrap_or(6.0) };
    let bias = if p[28] % 2 == 0 { Bias::None } else { Bias::PerColumn };
    let gemm = Gemm {
        batch: p[11], m: p[12], n: p[13], k: p[14], trans_a: p[15] % 2 == 1, trans_b: p[16] % 2 == 1,
        batch_stride_a: p[17], batch_stride_b: p[18], alpha: f3.first().copied().unwrap_or(1.0), beta: 1.0, bias,
    };
    let out = QOut { zp: p[49] as i32, min: p[50] as i32, max: p[51] as i32 };
    let (z, m, s) = (p[52] as i32, [p[53] as i32], [p[54] as i32]);
    let (i8a, i8b, i8c) = (tinyops_runtime::arena::cast_mut::<i8>(b0), tinyops_runtime::arena::cast_mut::<i8>(b1), tinyops_runtime::arena::cast_mut::<i8>(b2));
    match sel {
        0 => x::conv2d_f32(&conv, act, f0, f1, f2, f3),
        1 => x::depthwise_conv2d_f32(&conv, act, f0, f1, f2, f3),
        2 => x::conv2d_q8::<i8, i8, i8>(&conv, z, &out, &m, &s, i8a, i8b, w0, w1, i8c),
        3 => x::depthwise_conv2d_q8::<i8, i8, i8>(&conv, z, &out, &m, &s, i8a, i8b, w0, w1, i8c),
        5 => x::gemm_f32(&gemm, act, f0, f1, f2, f3),
        #[cfg(all(target_feature = "avx512bw", target_feature = "avx512vl", target_feature = "avx512vnni"))]
        4 => tinyops_runtime::kernels::x86_vnni::conv2d_q8::<i8, i8, i8>(&conv, z, &out, &m, &s, i8a, i8b, w0, w1, i8c),
        _ => {}
    }
}
"#;

/// How many selectors `every_x86_kernel` has (4, the VNNI kernel, only with AVX-512
/// VNNI).
const X86_KERNELS: usize = 6;

/// How many selectors `every_kernel` has (88–90 and 101, the Arm DSP kernels, only on
/// a DSP target; 91–92 and 116, the Helium kernels, only on an MVE target; 99–100 and 107–109,
/// the in-place entries of `kernels::inplace` around a portable kernel; 102–106 the
/// float kernels generic over the element type, in f64; 110–111 the bilinear sampling
/// kernels; 112–114 the streamed pairs of `kernels::stream`; 115 `inplace::conv_rows_planned`
/// with a plan built at run time; 117 `quantize_strided_f32`).
const KERNELS: usize = 118;

const CONTROL: &str = r#"
#[no_mangle]
pub extern "C" fn control(input: &[f32; 490], i: usize) -> f32 {
    input[i]
}
"#;

fn c_type(d: DType) -> &'static str {
    match d {
        DType::F32 => "float",
        DType::I8 => "signed char",
        DType::U8 => "unsigned char",
        other => panic!("no C type for {other}"),
    }
}

/// The proof crate, its Cargo.toml dependencies and the C program calling every model.
fn sources(models: &[(Compilation, &str)], control: bool, x86: bool) -> (String, String, String) {
    let mut lib = String::from(
        r#"#![no_std]
use core::panic::PanicInfo;

extern "C" {
    /// Defined nowhere: referencing it makes the final link fail.
    fn tinyops_panic_is_reachable() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never runs; the link fails first if this is reachable.
    unsafe { tinyops_panic_is_reachable() }
}
"#,
    );
    lib.push_str(EVERY_KERNEL);
    if x86 {
        lib.push_str(EVERY_X86_KERNEL);
    }
    let mut deps = String::from("tinyops-runtime = { path = \"RUNTIME\" }\n")
        .replace("RUNTIME", &tinyops_compiler::runtime_path().canonicalize().unwrap().display().to_string());
    let mut c = String::from(
        "#include <stdio.h>\n\
         void every_kernel(unsigned long, const unsigned long*, float*, unsigned long, unsigned char*, unsigned long, int*, unsigned long);\n",
    );
    // Parameters come from the C side at run time: the staticlib is compiled without
    // knowing them, so every kernel is proven panic-free for any parameters.
    let mut calls = format!(
        "    {{ static unsigned long p[64]; static float f[4096]; static unsigned char b[4096]; static int w[4096];\n      \
         for (int i = 0; i < 64; i++) p[i] = (unsigned long)(i % 5 + 1);\n      \
         for (unsigned long s = 0; s < {KERNELS}; s++) every_kernel(s, p, f, 4096, b, 4096, w, 4096);\n      \
         printf(\"every kernel ran\\n\"); }}\n"
    );
    if x86 {
        c.push_str("void every_x86_kernel(unsigned long, const unsigned long*, float*, unsigned long, unsigned char*, unsigned long, int*, unsigned long);\n");
        write!(
            calls,
            "    {{ static unsigned long p[64]; static float f[4096]; static unsigned char b[4096]; static int w[4096];\n      \
             for (int i = 0; i < 64; i++) p[i] = (unsigned long)(i % 5 + 1);\n      \
             for (unsigned long s = 0; s < {X86_KERNELS}; s++) every_x86_kernel(s, p, f, 4096, b, 4096, w, 4096);\n      \
             printf(\"every x86 kernel ran\\n\"); }}\n"
        )
        .unwrap();
    }
    for (comp, name) in models {
        let g = &comp.graph;
        assert_eq!((g.inputs().len(), g.outputs().len()), (1, 1), "{name}: one input and one output expected");
        let (i, o) = (g.ty(g.inputs()[0]), g.ty(g.outputs()[0]));
        let (it, ot) = (i.dtype.rust_type(), o.dtype.rust_type());
        let (ni, no) = (i.numel(), o.numel());
        writeln!(deps, "{name} = {{ package = \"{}\", path = \"../{name}\" }}", comp.crate_name()).unwrap();
        writeln!(
            lib,
            "#[no_mangle]\npub extern \"C\" fn {name}_run(input: &[{it}; {ni}], output: &mut [{ot}; {no}]) {{\n    \
             let mut arena = {name}::Arena::new();\n    {name}::Model::new(&mut arena).run(input, output);\n}}\n\
             #[no_mangle]\npub extern \"C\" fn {name}_self_test() -> u8 {{\n    \
             let mut arena = {name}::Arena::new();\n    {name}::Model::new(&mut arena).self_test().passed() as u8\n}}"
        )
        .unwrap();
        writeln!(c, "void {name}_run(const {}*, {}*);", c_type(i.dtype), c_type(o.dtype)).unwrap();
        writeln!(c, "unsigned char {name}_self_test(void);").unwrap();
        writeln!(
            calls,
            "    {{ static {} in[{ni}]; static {} out[{no}]; for (int i = 0; i < {ni}; i++) in[i] = ({})(i % 7); {name}_run(in, out); printf(\"{name} %f self-test %d\\n\", (double)out[0], {name}_self_test()); }}",
            c_type(i.dtype), c_type(o.dtype), c_type(i.dtype)
        )
        .unwrap();
    }
    if control {
        lib.push_str(CONTROL);
        c.push_str("float control(const float*, unsigned long);\n");
        calls.push_str("    { static float in[490]; printf(\"%f\\n\", control(in, (unsigned long)in[0])); }\n");
    }
    write!(c, "int main(void) {{\n{calls}    printf(\"ok\\n\");\n    return 0;\n}}\n").unwrap();
    (lib, deps, c)
}

fn build_proof(dir: &Path, models: &[(Compilation, &str)], control: bool) -> std::process::Output {
    build_proof_for(dir, models, control, None)
}

/// [`build_proof`] with a host target's `-C target-cpu` and `-C target-feature` flags
/// (the x86 proofs add the x86 kernels).
fn build_proof_for(
    dir: &Path,
    models: &[(Compilation, &str)],
    control: bool,
    host: Option<&tinyops_targets::Target>,
) -> std::process::Output {
    let (lib, deps, main_c) = sources(models, control, host.is_some());
    std::fs::create_dir_all(dir.join("proof/src")).unwrap();
    std::fs::write(dir.join("proof/src/lib.rs"), lib).unwrap();
    std::fs::write(
        dir.join("proof/Cargo.toml"),
        format!(
            "[package]\nname = \"nostd-proof\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[lib]\ncrate-type = [\"staticlib\"]\n\
             [dependencies]\n{deps}[profile.release]\npanic = \"abort\"\nlto = true\ncodegen-units = 1\n[workspace]\n"
        ),
    )
    .unwrap();
    let mut cargo = tinyops_compiler::driver::cargo::cargo();
    if let Some(t) = host {
        let flags: Vec<String> =
            tinyops_compiler::driver::cargo::host_rustflags(t).iter().map(|f| format!("\"{f}\"")).collect();
        cargo.arg("--config").arg(format!("build.rustflags=[{}]", flags.join(", ")));
    }
    let out = cargo
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("proof/Cargo.toml"))
        .arg("--target-dir")
        .arg(dir.join("target"))
        .output()
        .unwrap();
    assert!(out.status.success(), "the no_std staticlib does not build:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(dir.join("main.c"), main_c).unwrap();
    Command::new("cc")
        .arg("-O2")
        .arg(dir.join("main.c"))
        .arg(dir.join("target/release/libnostd_proof.a"))
        .arg("-Wl,--gc-sections")
        .arg("-o")
        .arg(dir.join("proof_bin"))
        .output()
        .unwrap()
}

#[test]
fn generated_code_links_into_a_no_std_panic_free_staticlib_and_runs() {
    let dir = common::tempdir("no-std-proof");
    let corpus = common::corpus();
    let mut models = vec![];
    for &(id, name) in MODELS {
        let c = compile(&corpus.join(id).join("model.onnx"), &Options::default()).unwrap();
        c.write_crate(&dir.join(name), None).unwrap();
        let lib = std::fs::read_to_string(dir.join(name).join("src/lib.rs")).unwrap();
        assert!(lib.contains("#![no_std]") && lib.contains("#![forbid(unsafe_code)]"));
        assert!(
            !lib.contains("static mut") && !lib.contains("alloc::"),
            "{id}: mutable statics or alloc in generated code"
        );
        models.push((c, name));
    }

    let link = build_proof(&dir, &models, false);
    assert!(
        link.status.success(),
        "linking failed; a panic path is reachable from `run` if the error names tinyops_panic_is_reachable:\n{}",
        String::from_utf8_lossy(&link.stderr)
    );
    let run = Command::new(dir.join("proof_bin")).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert_eq!(stdout.lines().count(), MODELS.len() + 2, "{stdout}");
    assert!(stdout.contains("every kernel ran"), "{stdout}");
    assert!(stdout.ends_with("ok\n"), "{stdout}");
    for &(_, name) in MODELS {
        assert!(stdout.lines().any(|l| l.starts_with(name) && l.ends_with("self-test 1")), "{name}: {stdout}");
    }

    // Control: one indexing panic path, called from main, must make the same link fail.
    let control = build_proof(&dir, &models, true);
    let stderr = String::from_utf8_lossy(&control.stderr);
    assert!(
        !control.status.success() && stderr.contains("tinyops_panic_is_reachable"),
        "the control build linked; the check is toothless:\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same proof for the `x86-64-v3` target: models whose convolutions (float and
/// int8, dense and depthwise) run on the AVX2/FMA kernels, and those kernels with
/// run-time parameters, built with `-C target-cpu=x86-64-v3`. This machine must have
/// the features (the proof runs the program).
#[test]
fn x86_64_v3_code_links_into_a_no_std_panic_free_staticlib_and_runs() {
    x86_proof(
        "x86-64-v3",
        &[("mlperf_kws_dscnn_fp32", "kws"), ("mlperf_kws_dscnn_int8", "kws_int8")],
        &["x86_avx2::conv2d_", "x86_avx2::depthwise_conv2d_"],
    );
}

/// The same proof for `x86-64-v4-vnni`: KWS int8, whose convolutions run on the VNNI
/// kernel (depthwise on the AVX2 one), and every x86 kernel with run-time parameters,
/// the VNNI one included, built with that target's flags.
#[test]
fn x86_64_v4_vnni_code_links_into_a_no_std_panic_free_staticlib_and_runs() {
    x86_proof(
        "x86-64-v4-vnni",
        &[("mlperf_kws_dscnn_int8", "kws_int8")],
        &["x86_vnni::conv2d_q8", "x86_avx2::depthwise_conv2d_"],
    );
}

/// The x86 proof on `target` over `models` (corpus id, crate name), each of whose
/// generated code must call every kernel in `calls`.
fn x86_proof(target: &str, models: &[(&str, &str)], calls: &[&str]) {
    let target = tinyops_targets::lookup(target).unwrap();
    assert!(
        tinyops_compiler::driver::host_cpu::check(target).is_ok(),
        "this proof runs {} code and needs a machine with {:?}",
        target.name,
        target.features
    );
    let dir = common::tempdir(&format!("no-std-proof-{}", target.name));
    let corpus = common::corpus();
    let mut compiled = vec![];
    for &(id, name) in models {
        let c = compile(&corpus.join(id).join("model.onnx"), &Options { target, ..Options::default() }).unwrap();
        c.write_crate(&dir.join(name), None).unwrap();
        let lib = std::fs::read_to_string(dir.join(name).join("src/lib.rs")).unwrap();
        for k in calls {
            assert!(lib.contains(k), "{id}: no {k} call");
        }
        compiled.push((c, name));
    }
    let link = build_proof_for(&dir, &compiled, false, Some(target));
    assert!(
        link.status.success(),
        "linking failed; a panic path is reachable from `run` if the error names tinyops_panic_is_reachable:\n{}",
        String::from_utf8_lossy(&link.stderr)
    );
    let run = Command::new(dir.join("proof_bin")).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}");
    assert!(stdout.contains("every x86 kernel ran") && stdout.ends_with("ok\n"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------------ on bare metal

/// The bare-metal proof firmware: the panic handler, every kernel, one runner per model,
/// and a `main` that calls them all with data the optimiser cannot know. It prints
/// without `core::fmt` (whose float formatting and semihosting's `println!` have
/// panic paths of their own), as hex checksums of each model's output.
fn firmware_main(target: &str, models: &[(Compilation, &str)], control: bool) -> String {
    let t = tinyops_targets::lookup(target).unwrap();
    let mut s = String::from(
        r#"//! The no-panic proof on bare metal (written by compiler/tests/no_std.rs).
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr::read_volatile;

extern "C" {
    /// Defined nowhere: referencing it makes the final link fail.
    fn tinyops_panic_is_reachable() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never runs; the link fails first if this is reachable.
    unsafe { tinyops_panic_is_reachable() }
}

/// The kernels' parameters and selector count, read with volatile loads: the optimiser
/// cannot know them, so every kernel is proven for any parameters, as on the host.
static PARAMS: [usize; 64] = {
    let mut p = [0usize; 64];
    let mut i = 0;
    while i < 64 {
        p[i] = i % 5 + 1;
        i += 1;
    }
    p
};
static SELECTORS: usize = KERNELS;

/// Writes `text` on semihosting's stdout (failures ignored; nothing can panic).
fn out(text: &[u8]) {
    use semihosting::io::Write as _;
    if let Ok(mut o) = semihosting::io::stdout() {
        let _ = o.write(text);
    }
}

/// Writes `text`, then `value` in hex, then a newline.
fn out_hex(text: &[u8], value: u32) {
    let mut hex = *b" 0x00000000\n";
    for (i, digit) in hex.iter_mut().skip(3).take(8).rev().enumerate() {
        *digit = b"0123456789abcdef".get(((value >> (4 * i)) & 15) as usize).copied().unwrap_or(b'?');
    }
    out(text);
    out(&hex);
}

/// An output element as bits, for the checksum.
trait Bits: Copy {
    fn bits(self) -> u32;
}
impl Bits for f32 {
    fn bits(self) -> u32 {
        self.to_bits()
    }
}
impl Bits for i8 {
    fn bits(self) -> u32 {
        self as u8 as u32
    }
}
impl Bits for u8 {
    fn bits(self) -> u32 {
        self as u32
    }
}

/// FNV-1a over the elements' bits.
fn checksum<T: Bits>(values: &[T]) -> u32 {
    values.iter().fold(0x811c_9dc5, |h, v| (h ^ v.bits()).wrapping_mul(0x0100_0193))
}
"#,
    );
    s.push_str(&format!("const KERNELS: usize = {KERNELS};\n"));
    s.push_str(EVERY_KERNEL);
    s.push_str(&tinyops_compiler::driver::firmware::source::support(t.arch));
    let mut calls = String::new();
    for (comp, name) in models {
        let g = &comp.graph;
        let (i, o) = (g.ty(g.inputs()[0]), g.ty(g.outputs()[0]));
        let (it, ot, ni, no) = (i.dtype.rust_type(), o.dtype.rust_type(), i.numel(), o.numel());
        let zero = |t: &str| if t == "f32" { "0.0" } else { "0" };
        writeln!(
            s,
            "\nstatic IN_{upper}: [{it}; {ni}] = [{zi}; {ni}];\n\
             #[inline(never)]\nfn {name}_run(input: &[{it}; {ni}], output: &mut [{ot}; {no}]) {{\n    \
             let mut arena = {name}::Arena::new();\n    {name}::Model::new(&mut arena).run(input, output);\n}}\n\
             #[inline(never)]\nfn {name}_self_test() -> u32 {{\n    \
             let mut arena = {name}::Arena::new();\n    {name}::Model::new(&mut arena).self_test().passed() as u32\n}}",
            upper = name.to_uppercase(),
            zi = zero(it),
        )
        .unwrap();
        writeln!(
            calls,
            "    {{\n        // SAFETY: a valid, aligned static.\n        \
             let input = unsafe {{ read_volatile(&IN_{upper}) }};\n        \
             let mut output = [{zo}; {no}];\n        {name}_run(&input, &mut output);\n        \
             out_hex(b\"{name}\", checksum(&output));\n        \
             out_hex(b\"{name} self-test\", {name}_self_test());\n    }}",
            upper = name.to_uppercase(),
            zo = zero(ot),
        )
        .unwrap();
    }
    if control {
        s.push_str(CONTROL);
        s.push_str("static CONTROL_INDEX: usize = 0;\nstatic CONTROL_INPUT: [f32; 490] = [0.0; 490];\n");
        calls.push_str(
            "    // SAFETY: valid, aligned statics.\n    \
             let (input, i) = unsafe { (read_volatile(&CONTROL_INPUT), read_volatile(&CONTROL_INDEX)) };\n    \
             out_hex(b\"control\", control(&input, i).to_bits());\n",
        );
    }
    write!(
        s,
        r#"
#[entry]
fn main() -> ! {{
    paint_stack();
    {{
        // SAFETY: valid, aligned statics.
        let (p, n) = unsafe {{ (read_volatile(&PARAMS), read_volatile(&SELECTORS)) }};
        let (mut f, mut b, mut w) = ([0f32; 4096], [0u8; 4096], [0i32; 4096]);
        for sel in 0..n {{
            every_kernel(sel, p.as_ptr(), f.as_mut_ptr(), 4096, b.as_mut_ptr(), 4096, w.as_mut_ptr(), 4096);
        }}
        out(b"every kernel ran\n");
    }}
{calls}    out_hex(b"stack bytes", stack_used() as u32);
    out(b"ok\n");
    semihosting::process::exit(0)
}}
"#
    )
    .unwrap();
    s
}

/// Writes and cross-builds a bare-metal proof firmware for `target` in `dir`.
fn build_bare_metal_proof(
    target: &str,
    dir: &Path,
    package: &str,
    models: &[(Compilation, &str)],
    control: bool,
    tc: &tinyops_compiler::driver::toolchain::CrossToolchain,
) -> tinyops_compiler::Result<tinyops_compiler::driver::firmware::Built> {
    use tinyops_compiler::driver::firmware::{build_crate, runtime_dependency, CrateSpec};
    let mut deps = runtime_dependency(&[])?;
    for (comp, name) in models {
        writeln!(deps, "{name} = {{ package = \"{}\", path = \"../{name}\" }}", comp.crate_name()).unwrap();
    }
    let spec = CrateSpec {
        target: tinyops_targets::lookup(target).unwrap(),
        dir: dir.join(package),
        package: package.into(),
        description: "the no-panic link proof of generated code and every kernel".into(),
        dependencies: deps,
        main_rs: firmware_main(target, models, control),
        own_panic_handler: true,
        files: vec![],
    };
    build_crate(&spec, tc, true)
}

#[test]
fn generated_code_links_into_bare_metal_firmware_without_a_panic_path_and_runs() {
    use tinyops_compiler::driver::{qemu, toolchain};
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let tc = toolchain::check(t, toolchain::Need::Run).unwrap_or_else(|e| panic!("{e}"));
    let dir = common::tempdir("no-panic-bare-metal");
    let corpus = common::corpus();
    let opts = Options { target: t, ..Options::default() };
    let mut models = vec![];
    for &(id, name) in BARE_METAL_MODELS {
        let c = compile(&corpus.join(id).join("model.onnx"), &opts).unwrap();
        assert_eq!((c.graph.inputs().len(), c.graph.outputs().len()), (1, 1), "{id}");
        c.write_crate(&dir.join(name), None).unwrap();
        models.push((c, name));
    }

    let t0 = std::time::Instant::now();
    let fw =
        build_bare_metal_proof("cortex-m4", &dir, "tinyops-no-panic-proof", &models, false, &tc).unwrap_or_else(|e| {
            panic!(
            "the proof firmware did not link; a panic path is reachable if this names tinyops_panic_is_reachable:\n{e}"
        )
        });
    println!("bare-metal proof firmware built in {:.1} s: {}", t0.elapsed().as_secs_f64(), fw.footprint.to_text());
    let run = qemu::run(t, tc.qemu.as_deref().unwrap(), &fw.elf, None).unwrap();
    let out = &run.stdout;
    println!("{out}");
    assert!(out.starts_with("every kernel ran\n"), "{out}");
    for &(_, name) in BARE_METAL_MODELS {
        assert!(out.lines().any(|l| l.starts_with(&format!("{name} 0x"))), "{name} did not run:\n{out}");
    }
    for &(_, name) in BARE_METAL_MODELS {
        let pass = format!("{name} self-test 0x00000001");
        assert!(out.lines().any(|l| l == pass), "{name}: self_test() did not pass in QEMU:\n{out}");
    }
    assert!(out.ends_with("ok\n") && out.lines().count() == 2 * BARE_METAL_MODELS.len() + 3, "{out}");

    // Control: the same build with one indexing panic path called from main must fail to
    // link. (Without the models: the mechanism is what is checked, and a second link of
    // all seven models would cost minutes.)
    let err =
        build_bare_metal_proof("cortex-m4", &dir, "tinyops-no-panic-control", &[], true, &tc).map(|_| ()).unwrap_err();
    let err = err.to_string();
    assert!(
        err.contains("undefined reference to `tinyops_panic_is_reachable'"),
        "the control firmware linked or failed otherwise; the check is toothless:\n{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same proof on cortex-m55, whose build has the Helium kernels: every kernel
/// with run-time parameters (the Helium ones among them) and the int8 KWS model
/// compiled for cortex-m55 (its convolutions on `arm_mve`) link without a panic path
/// and run in QEMU. One model only: the kernels' run-time-parameter calls are the
/// proof; the model shows the generated calls link too (about a minute).
#[test]
fn helium_code_links_into_bare_metal_firmware_without_a_panic_path_and_runs() {
    use tinyops_compiler::driver::{qemu, toolchain};
    let t = tinyops_targets::lookup("cortex-m55").unwrap();
    let tc = toolchain::check(t, toolchain::Need::Run).unwrap_or_else(|e| panic!("{e}"));
    let dir = common::tempdir("no-panic-helium");
    let opts = Options { target: t, ..Options::default() };
    let c = compile(&common::corpus().join("mlperf_kws_dscnn_int8").join("model.onnx"), &opts).unwrap();
    assert!(c.generated.code.contains("arm_mve::conv2d_q8"), "the model's convolutions run on Helium");
    c.write_crate(&dir.join("kws_int8"), None).unwrap();
    let models = vec![(c, "kws_int8")];
    let fw = build_bare_metal_proof("cortex-m55", &dir, "tinyops-no-panic-helium", &models, false, &tc)
        .unwrap_or_else(|e| panic!("the cortex-m55 proof firmware did not link:\n{e}"));
    let run = qemu::run(t, tc.qemu.as_deref().unwrap(), &fw.elf, None).unwrap();
    let out = &run.stdout;
    println!("{out}");
    assert!(out.starts_with("every kernel ran\n"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("kws_int8 0x")), "{out}");
    assert!(
        out.lines().any(|l| l == "kws_int8 self-test 0x00000001"),
        "self_test() did not pass on cortex-m55:\n{out}"
    );
    // kernels, the model's output, its self-test, the measured stack, ok.
    assert!(out.ends_with("ok\n") && out.lines().count() == 5, "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
