//! The kernels a node can lower to: one variant per runtime kernel family, carrying
//! the typed parameter record the kernel takes besides its tensor operands.
//!
//! Parameter records are the runtime's own types (`tinyops_runtime::kernels::Conv2d`
//! and friends), so there is exactly one definition of what a kernel is told. A
//! [`Kernel`] says *what* to compute; which implementation computes it (portable,
//! Arm DSP, …) is chosen afterwards by [`super::select`], and how the call is written
//! down is a backend's business.

use crate::ir::{DType, Layout};
use tinyops_runtime::kernels::{
    Axis, BinaryOp, BitOp, Broadcast, Broadcast3, Clamp, CompareOp, Conv2d, Cumulative, DeformConv, FormatCast, Gather,
    GatherElements, Gemm, IndexNd, IntUnary, LayerNorm, LogicOp, Lstm, MlClassify, MlTransform, Nll, Pool2d, QAdd,
    QMul, Reduce, ReduceOp, Resample, RoiAlign, ScatterOp, Strided, SvmClassify, SvmKernel, TopK, TreeEnsemble, Trilu,
    UnaryFn,
};
use tinyops_runtime::quant::QOut;

/// One kernel invocation's parameters (tensor operands are separate: see
/// [`super::KernelCall`]).
///
/// Field names follow one convention: `p` is the runtime's parameter record, `act`
/// the fused clamp, `out` the quantised output stage, `q` the requantisation of a
/// binary op; single letters (`t`, `x`, `w`, `a`, `b`, `y`, `from`, `to`) are the
/// element types of the operands of those names, in the order of the runtime
/// function's type parameters; the rest are named as in the runtime signature.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq)]
pub enum Kernel {
    /// Float 2-D convolution (channels-last, weights `O,kH,kW,I/g`) with a fused clamp.
    /// Reads x, w, bias; writes y.
    Conv2dF32 { p: Conv2d, act: Clamp },
    /// Float depthwise convolution (channels-last). Reads x, w, bias; writes y.
    DepthwiseConv2dF32 { p: Conv2d, act: Clamp },
    /// Float deformable convolution (channels-first). Reads x, w, offset, bias, mask;
    /// writes y.
    DeformConvF32 { p: DeformConv },
    /// Float RoiAlign (channels-first). Reads x, rois, batch_indices (i64); writes y.
    RoiAlignF32 { p: RoiAlign },
    /// Float GEMM / batched MatMul with a fused clamp. Reads a, b, c; writes y.
    GemmF32 { p: Gemm, act: Clamp },
    /// Float broadcasting binary op with a fused clamp. Reads a, b; writes y.
    BinaryF32 { p: Broadcast, op: BinaryOp, act: Clamp },
    /// Integer broadcasting binary op (wrapping; division by zero gives 0). Reads a, b;
    /// writes y.
    BinaryInt { t: DType, p: Broadcast, op: BinaryOp },
    /// Integer bitwise function (and, or, xor, shifts) with broadcasting. Reads a, b;
    /// writes y.
    Bitwise { t: DType, p: Broadcast, op: BitOp },
    /// Running sum or product along an axis. Reads x; writes y.
    Cumulative { t: DType, p: Cumulative },
    /// Each element's bits read as another type of the same width. Reads x; writes y.
    BitCast { from: DType, to: DType },
    /// Separable resampling by per-axis tables of input indices and weights (Resize).
    /// Reads x; writes y.
    ResampleF32 { p: Resample, index: Vec<u32>, weight: Vec<f32> },
    /// ScatterElements with `i` indices. Reads data, indices, updates; writes y.
    ScatterElements { t: DType, i: DType, p: GatherElements, op: ScatterOp },
    /// ScatterND with `i` indices. Reads data, indices, updates; writes y.
    ScatterNd { t: DType, i: DType, p: IndexNd, op: ScatterOp },
    /// GatherND with `i` indices. Reads data, indices; writes y.
    GatherNd { t: DType, i: DType, p: IndexNd },
    /// The k largest or smallest elements along an axis and their indices. Reads x;
    /// writes values, indices (i64).
    TopK { t: DType, p: TopK },
    /// A packed tree ensemble with values of type `t` and indices of type `i`. Reads
    /// roots, feature, split, mode, child, leaf_start, target, weight, sets, base, x;
    /// writes y.
    TreeEnsemble { t: DType, i: DType, p: TreeEnsemble },
    /// A classifier's labels and probabilities from its scores. Reads labels, scores;
    /// writes label, probabilities.
    MlClassifyF32 { p: MlClassify },
    /// The post transform of classic-ML scores. Reads x; writes y.
    MlTransformF32 { p: MlTransform },
    /// SVM kernel values against support vectors. Reads sv, x; writes k.
    SvmKernelF32 { p: SvmKernel },
    /// One-against-one SVM votes and probabilities. Reads labels, prob_a, prob_b,
    /// decisions; writes label, scores, scratch.
    SvmClassifyF32 { p: SvmClassify },
    /// Integer unary function. Reads x; writes y.
    UnaryInt { t: DType, f: IntUnary },
    /// Float clamp. Reads x; writes y.
    ClampF32 { act: Clamp },
    /// Float unary function. Reads x; writes y.
    UnaryF32 { f: UnaryFn },
    /// Softmax along one axis. Reads x; writes y.
    SoftmaxF32 { p: Axis },
    /// Log-softmax along one axis. Reads x; writes y.
    LogSoftmaxF32 { p: Axis },
    /// `y = x · scale[c] + shift[c]` per channel. Reads scale, shift, x; writes y.
    ChannelAffineF32 { p: Axis },
    /// Float max pooling (channels-last). Reads x; writes y.
    MaxPool2dF32 { p: Pool2d },
    /// Float average pooling (channels-last). Reads x; writes y.
    AvgPool2dF32 { p: Pool2d },
    /// Float mean along the middle axis of `outer × len × inner` (global average
    /// pooling). Reads x; writes y.
    MeanAxisF32 { p: Axis },
    /// Float maximum along the middle axis (global max pooling). Reads x; writes y.
    MaxAxisF32 { p: Axis },
    /// Float LSTM over a sequence. Reads x, w, r, b, h0, c0, peepholes; writes y, y_h,
    /// y_c, scratch.
    LstmF32 { p: Lstm },
    /// Float reduction over some axes. Reads x; writes y.
    ReduceF32 { p: Reduce, op: ReduceOp },
    /// Unary function on floats of type `t` (f64), computed in that type. Reads x;
    /// writes y.
    UnaryFloat { t: DType, f: UnaryFn },
    /// Broadcasting binary op on floats of type `t` (f64). Reads a, b; writes y.
    BinaryFloat { t: DType, p: Broadcast, op: BinaryOp },
    /// Reduction over some axes of floats of type `t` (f64). Reads x; writes y.
    ReduceFloat { t: DType, p: Reduce, op: ReduceOp },
    /// Softmax (log-softmax when `log`) along one axis of floats of type `t` (f64).
    /// Reads x; writes y.
    SoftmaxFloat { t: DType, p: Axis, log: bool },
    /// GEMM / batched MatMul of floats of type `t` (f64). Reads a, b, c; writes y.
    GemmFloat { t: DType, p: Gemm },
    /// Index of the largest (`max`) or smallest float along an axis, the last among
    /// equals when `last`. Reads x; writes y (i64).
    ArgReduceF32 { p: Axis, max: bool, last: bool },
    /// Broadcasting comparison of any element type. Reads a, b; writes y (bool).
    Compare { t: DType, p: Broadcast, op: CompareOp },
    /// Broadcasting boolean function. Reads a, b; writes y.
    Logic { p: Broadcast, op: LogicOp },
    /// Boolean negation. Reads x; writes y.
    Not,
    /// IsNaN (`nan`) or IsInf of floats. Reads x; writes y (bool).
    ClassifyF32 { nan: bool, pos: bool, neg: bool },
    /// `y = c ? a : b` with three-way broadcasting. Reads c, a, b; writes y.
    Select { t: DType, p: Broadcast3 },
    /// Element type conversion between numbers. Reads x; writes y.
    Cast { from: DType, to: DType },
    /// Numbers to booleans (`x ≠ 0`). Reads x; writes y.
    CastToBool { from: DType },
    /// Booleans to numbers (0 or 1). Reads x; writes y.
    CastFromBool { to: DType },
    /// Half-precision bits (bfloat16 when `bf16`) to numbers. Reads x; writes y.
    CastFromHalf { bf16: bool, to: DType },
    /// Numbers to half-precision bits (bfloat16 when `bf16`). Reads x; writes y.
    CastToHalf { bf16: bool, from: DType },
    /// Conversion between number formats through f32 (8-/4-bit floats, 4-/2-bit
    /// integers, half and single floats); `x` and `y` are the element types. Reads x;
    /// writes y.
    CastFormat { x: DType, y: DType, p: FormatCast },
    /// Layer or RMS normalisation. Reads x, scale, bias; writes y, mean, inv_std.
    LayerNormF32 { p: LayerNorm },
    /// One triangle of each matrix kept, the rest zeroed. Reads x; writes y.
    Trilu { t: DType, p: Trilu },
    /// Negative log-likelihood (or softmax cross-entropy) loss with `i` targets. Reads
    /// x, target, weight; writes loss, log_prob.
    Nll { i: DType, p: Nll },
    /// Gather along an axis by `i` indices read at run time. Reads x, indices; writes y.
    GatherIndexed { t: DType, i: DType, p: Gather },
    /// GatherElements with `i` indices. Reads x, indices; writes y.
    GatherElements { t: DType, i: DType, p: GatherElements },
    /// Element copy. Reads x; writes y.
    Copy { t: DType },
    /// Fills with one value. Writes y.
    Fill { t: DType, value: f64 },
    /// Strided copy (transpose, slice, expand, concat and pad pieces). Reads x; writes y.
    CopyStrided { t: DType, p: Strided },
    /// Gathers slices along one axis by constant indices. Reads x; writes y.
    Gather { t: DType, p: Gather, indices: Vec<usize> },
    /// QuantizeLinear of floats. Reads x; writes y.
    Quantize { to: DType, p: Axis, scales: Vec<f32>, zps: Vec<i32> },
    /// QuantizeLinear of floats written through a strided copy (a transpose fused
    /// with the quantisation before it); the parameters are those of the destination's
    /// channel, `q` over the destination. Reads x; writes y.
    QuantizeStrided { to: DType, p: Strided, q: Axis, scales: Vec<f32>, zps: Vec<i32> },
    /// DequantizeLinear of 8-bit values. Reads x; writes y.
    Dequantize { from: DType, p: Axis, scales: Vec<f32>, zps: Vec<i32> },
    /// DequantizeLinear of i32 accumulators. Reads x; writes y.
    DequantizeI32 { p: Axis, scales: Vec<f32> },
    /// Quantised 2-D convolution (channels-last) with per-channel requantisation.
    /// Reads x, w, bias; writes scratch (one output pixel of i32), y.
    Conv2dQ8 { x: DType, w: DType, y: DType, p: Conv2d, x_zp: i32, out: QOut, mults: Vec<i32>, shifts: Vec<i32> },
    /// Quantised depthwise convolution (channels-last). Reads x, w, bias; writes
    /// scratch (one output pixel of i32), y.
    DepthwiseConv2dQ8 {
        x: DType,
        w: DType,
        y: DType,
        p: Conv2d,
        x_zp: i32,
        out: QOut,
        mults: Vec<i32>,
        shifts: Vec<i32>,
    },
    /// Integer convolution to raw i32 accumulators (ConvInteger). Reads x, w, bias; writes y.
    Conv2dQ8I32 { x: DType, w: DType, p: Conv2d, x_zp: i32 },
    /// Quantised fully-connected layer (weights stored `n × k`). Reads a, w, bias; writes
    /// scratch (what the implementation needs, none for the portable one), y.
    GemmQ8 { a: DType, w: DType, y: DType, p: Gemm, out: QOut, mults: Vec<i32>, shifts: Vec<i32> },
    /// Integer GEMM to raw i32 accumulators (MatMulInteger). Reads a, w, bias; writes y.
    GemmQ8I32 { a: DType, w: DType, p: Gemm, a_zp: i32 },
    /// Quantised broadcasting add. Reads a, b; writes y.
    AddQ8 { a: DType, b: DType, y: DType, p: Broadcast, q: QAdd, out: QOut },
    /// Quantised broadcasting multiply. Reads a, b; writes y.
    MulQ8 { a: DType, b: DType, y: DType, p: Broadcast, q: QMul, out: QOut },
    /// Quantised max pooling (same scale in and out). Reads x; writes y.
    MaxPool2dQ8 { t: DType, p: Pool2d },
    /// Quantised average pooling (channels-last). Reads x; writes scratch (one output
    /// pixel of i32), y.
    AvgPool2dQ8 { x: DType, y: DType, p: Pool2d, x_zp: i32, out: QOut, mult: i32, shift: u32 },
    /// Quantised mean along the middle axis (global average pooling). Reads x; writes y.
    MeanAxisQ8 { x: DType, y: DType, p: Axis, x_zp: i32, out: QOut, mult: i32, shift: u32 },
    /// Quantised softmax through an exponential table. Reads x; writes y.
    SoftmaxQ8 { x: DType, y: DType, p: Axis, exp_table: Vec<u32>, inv_scale_q16: u32, out: QOut },
    /// A 256-entry table lookup (any elementwise function of an 8-bit input). Reads x;
    /// writes y.
    LookupQ8 { x: DType, y: DType, table: Vec<i32> },
}

macro_rules! families {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A kernel family: a [`Kernel`] variant without its parameters, the key of the
        /// kernel registry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Family {
            $(
                #[allow(missing_docs)]
                $variant,
            )*
        }

        impl Family {
            /// Every family.
            pub const ALL: &'static [Family] = &[$(Family::$variant),*];

            /// The name of the runtime function every implementation of the family
            /// shares (one signature across ISAs).
            pub fn function(self) -> &'static str {
                match self {
                    $(Family::$variant => $name,)*
                }
            }
        }

        impl Kernel {
    /// Bytes of the constant tables the call carries in its parameters (per-channel
    /// requantisation multipliers and shifts, quantisation scales and zero points,
    /// lookup, exponential and resampling tables, constant gather indices), as the
    /// generated code declares them: flash beside the weights. `usize_bytes` is the
    /// target's pointer width (gather indices are `usize`). Scalars and shape records
    /// are not counted (they live in code or are folded into it).
    pub fn table_bytes(&self, usize_bytes: usize) -> usize {
        use Kernel::*;
        match self {
            ResampleF32 { index, weight, .. } => 4 * (index.len() + weight.len()),
            Gather { indices, .. } => usize_bytes * indices.len(),
            Quantize { scales, zps, .. } | QuantizeStrided { scales, zps, .. } | Dequantize { scales, zps, .. } => {
                4 * (scales.len() + zps.len())
            }
            DequantizeI32 { scales, .. } => 4 * scales.len(),
            Conv2dQ8 { mults, shifts, .. } | DepthwiseConv2dQ8 { mults, shifts, .. } | GemmQ8 { mults, shifts, .. } => {
                4 * (mults.len() + shifts.len())
            }
            SoftmaxQ8 { exp_table, .. } => 4 * exp_table.len(),
            LookupQ8 { table, .. } => 4 * table.len(),
            _ => 0,
        }
    }

            /// The family of this kernel.
            pub fn family(&self) -> Family {
                match self {
                    $(Kernel::$variant { .. } => Family::$variant,)*
                }
            }
        }
    };
}

families! {
    Conv2dF32 => "conv2d_f32",
    DepthwiseConv2dF32 => "depthwise_conv2d_f32",
    DeformConvF32 => "deform_conv_f32",
    RoiAlignF32 => "roi_align_f32",
    GemmF32 => "gemm_f32",
    BinaryF32 => "binary_f32",
    BinaryInt => "binary_int",
    UnaryInt => "unary_int",
    Bitwise => "bitwise",
    Cumulative => "cumulative",
    BitCast => "bitcast",
    ResampleF32 => "resample_f32",
    ScatterElements => "scatter_elements",
    ScatterNd => "scatter_nd",
    GatherNd => "gather_nd",
    TopK => "top_k",
    TreeEnsemble => "tree_ensemble",
    MlClassifyF32 => "ml_classify_f32",
    MlTransformF32 => "ml_transform_f32",
    SvmKernelF32 => "svm_kernel_f32",
    SvmClassifyF32 => "svm_classify_f32",
    ClampF32 => "clamp_f32",
    UnaryF32 => "unary_f32",
    SoftmaxF32 => "softmax_f32",
    LogSoftmaxF32 => "log_softmax_f32",
    ChannelAffineF32 => "channel_affine_f32",
    MaxPool2dF32 => "max_pool2d_f32",
    AvgPool2dF32 => "avg_pool2d_f32",
    MeanAxisF32 => "mean_axis_f32",
    MaxAxisF32 => "max_axis_f32",
    LstmF32 => "lstm_f32",
    ReduceF32 => "reduce_f32",
    UnaryFloat => "unary_float",
    BinaryFloat => "binary_float",
    ReduceFloat => "reduce_float",
    SoftmaxFloat => "softmax_float",
    GemmFloat => "gemm_float",
    ArgReduceF32 => "arg_reduce_f32",
    Compare => "compare",
    Logic => "logic",
    Not => "not",
    ClassifyF32 => "classify_f32",
    Select => "select",
    Cast => "cast",
    CastToBool => "cast_to_bool",
    CastFromBool => "cast_from_bool",
    CastFromHalf => "cast_from_half",
    CastToHalf => "cast_to_half",
    CastFormat => "cast_format",
    LayerNormF32 => "layer_norm_f32",
    Trilu => "trilu",
    Nll => "nll_loss",
    GatherIndexed => "gather_indexed",
    GatherElements => "gather_elements",
    Copy => "copy",
    Fill => "fill",
    CopyStrided => "copy_strided",
    Gather => "gather",
    Quantize => "quantize_f32",
    QuantizeStrided => "quantize_strided_f32",
    Dequantize => "dequantize_f32",
    DequantizeI32 => "dequantize_i32",
    Conv2dQ8 => "conv2d_q8",
    DepthwiseConv2dQ8 => "depthwise_conv2d_q8",
    Conv2dQ8I32 => "conv2d_q8_i32",
    GemmQ8 => "gemm_q8",
    GemmQ8I32 => "gemm_q8_i32",
    AddQ8 => "add_q8",
    MulQ8 => "mul_q8",
    MaxPool2dQ8 => "max_pool2d_q8",
    AvgPool2dQ8 => "avg_pool2d_q8",
    MeanAxisQ8 => "mean_axis_q8",
    SoftmaxQ8 => "softmax_q8",
    LookupQ8 => "lookup_q8",
}

impl Kernel {
    /// The element types the kernel is instantiated for, in the order of the runtime
    /// function's type parameters (empty for float-only kernels).
    pub fn type_args(&self) -> Vec<DType> {
        use Kernel::*;
        match self {
            GatherIndexed { t, i, .. }
            | GatherElements { t, i, .. }
            | ScatterElements { t, i, .. }
            | ScatterNd { t, i, .. }
            | GatherNd { t, i, .. }
            | TreeEnsemble { t, i, .. } => vec![*t, *i],
            Nll { i: t, .. }
            | Trilu { t, .. }
            | Compare { t, .. }
            | Select { t, .. }
            | BinaryInt { t, .. }
            | Bitwise { t, .. }
            | Cumulative { t, .. }
            | TopK { t, .. }
            | UnaryFloat { t, .. }
            | BinaryFloat { t, .. }
            | ReduceFloat { t, .. }
            | SoftmaxFloat { t, .. }
            | GemmFloat { t, .. }
            | UnaryInt { t, .. } => {
                vec![*t]
            }
            Cast { from, to } | CastFormat { x: from, y: to, .. } | BitCast { from, to } => vec![*from, *to],
            CastToBool { from: t }
            | CastFromBool { to: t }
            | CastFromHalf { to: t, .. }
            | CastToHalf { from: t, .. } => {
                vec![*t]
            }
            Copy { t } | Fill { t, .. } | CopyStrided { t, .. } | Gather { t, .. } | MaxPool2dQ8 { t, .. } => vec![*t],
            Quantize { to, .. } | QuantizeStrided { to, .. } => vec![*to],
            Dequantize { from, .. } => vec![*from],
            Conv2dQ8 { x, w, y, .. } | DepthwiseConv2dQ8 { x, w, y, .. } => vec![*x, *w, *y],
            Conv2dQ8I32 { x, w, .. } => vec![*x, *w],
            GemmQ8 { a, w, y, .. } => vec![*a, *w, *y],
            GemmQ8I32 { a, w, .. } => vec![*a, *w],
            AddQ8 { a, b, y, .. } | MulQ8 { a, b, y, .. } => vec![*a, *b, *y],
            AvgPool2dQ8 { x, y, .. } | MeanAxisQ8 { x, y, .. } | SoftmaxQ8 { x, y, .. } | LookupQ8 { x, y, .. } => {
                vec![*x, *y]
            }
            Conv2dF32 { .. }
            | DepthwiseConv2dF32 { .. }
            | GemmF32 { .. }
            | BinaryF32 { .. }
            | ClampF32 { .. }
            | UnaryF32 { .. }
            | SoftmaxF32 { .. }
            | LogSoftmaxF32 { .. }
            | ChannelAffineF32 { .. }
            | MaxPool2dF32 { .. }
            | AvgPool2dF32 { .. }
            | MeanAxisF32 { .. }
            | MaxAxisF32 { .. }
            | LstmF32 { .. }
            | ReduceF32 { .. }
            | LayerNormF32 { .. }
            | Logic { .. }
            | Not
            | ClassifyF32 { .. }
            | ArgReduceF32 { .. }
            | DequantizeI32 { .. }
            | MlClassifyF32 { .. }
            | MlTransformF32 { .. }
            | SvmKernelF32 { .. }
            | SvmClassifyF32 { .. }
            | DeformConvF32 { .. }
            | RoiAlignF32 { .. }
            | ResampleF32 { .. } => vec![],
        }
    }

    /// The layout a spatial kernel reads and writes its activations in (`None` for
    /// kernels to which layout means nothing).
    pub fn layout(&self) -> Option<Layout> {
        use Kernel::*;
        match self {
            Conv2dF32 { .. }
            | DepthwiseConv2dF32 { .. }
            | Conv2dQ8 { .. }
            | DepthwiseConv2dQ8 { .. }
            | Conv2dQ8I32 { .. }
            | MaxPool2dF32 { .. }
            | AvgPool2dF32 { .. }
            | MaxPool2dQ8 { .. }
            | AvgPool2dQ8 { .. } => Some(Layout::ChannelsLast),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_names_a_distinct_runtime_function() {
        let mut names: Vec<&str> = Family::ALL.iter().map(|f| f.function()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
