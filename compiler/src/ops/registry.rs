//! The ONNX operator table: which (domain, op type) pairs import, from which opset,
//! and by which function. One line per ONNX op.

use super::int8::{conv as qconv, gemm as qgemm, qoperator as qop};
use super::ml::{linear, prep, svm, tree};
use super::{
    activation, attention, binary, bitwise, compose, compose_einsum, compose_grid as grid, compose_index as cindex,
    compose_norm as cnorm, compose_rnn as rnn, compose_spatial as spatial, conv, cumulative, gemm, index, layout,
    logic, loss, lstm, norm, pool, quant, quant_float, reduce, resize, sample, scatter, shape, signal, softmax, tfidf,
    topk, training, OpResult,
};
use crate::front::node::{Lowered, NodeCx};

/// How one ONNX op imports.
pub struct Entry {
    /// The operator domain (`ai.onnx` for the default one).
    pub domain: &'static str,
    /// The ONNX op type.
    pub op_type: &'static str,
    /// The first opset version the importer handles.
    pub since: i64,
    /// The last opset version it handles (`i64::MAX`: every later one).
    pub until: i64,
    /// The importer.
    pub import: fn(&NodeCx) -> OpResult<Lowered>,
    /// What is supported, for the README table.
    pub notes: &'static str,
}

/// The newest opset version of the default domain the importers know.
pub const MAX_OPSET: i64 = 28;

/// The newest opset version of the `ai.onnx.ml` domain the importers know.
pub const MAX_ML_OPSET: i64 = 5;

const fn e(op_type: &'static str, since: i64, import: fn(&NodeCx) -> OpResult<Lowered>, notes: &'static str) -> Entry {
    Entry { domain: "ai.onnx", op_type, since, until: MAX_OPSET, import, notes }
}

const fn ms(op_type: &'static str, import: fn(&NodeCx) -> OpResult<Lowered>, notes: &'static str) -> Entry {
    Entry { domain: "com.microsoft", op_type, since: 1, until: i64::MAX, import, notes }
}

const fn tr(op_type: &'static str, import: fn(&NodeCx) -> OpResult<Lowered>, notes: &'static str) -> Entry {
    Entry { domain: "ai.onnx.preview.training", op_type, since: 1, until: i64::MAX, import, notes }
}

const fn ml(
    op_type: &'static str,
    since: i64,
    until: i64,
    import: fn(&NodeCx) -> OpResult<Lowered>,
    notes: &'static str,
) -> Entry {
    Entry { domain: "ai.onnx.ml", op_type, since, until, import, notes }
}

impl Entry {
    /// The last supported opset as the op table writes it (`latest` for no bound).
    pub fn opsets_end(&self) -> String {
        if self.until == i64::MAX {
            "latest".into()
        } else {
            self.until.to_string()
        }
    }
}

/// Every supported op.
pub static OPS: &[Entry] = &[
    e("Abs", 6, activation::import_unary, ""),
    e("Add", 6, binary::import, "numpy broadcasting; fused bias/clamp"),
    e("And", 7, logic::import_logic, "numpy broadcasting"),
    e("ArgMax", 1, reduce::import_arg, "select_last_index"),
    e("ArgMin", 1, reduce::import_arg, "select_last_index"),
    e("AveragePool", 1, pool::import_pool, "1-D/2-D/3-D (3-D as two 2-D pools), pads, ceil_mode, count_include_pad"),
    e(
        "BatchNormalization",
        6,
        norm::import_batch_norm,
        "folded into the preceding Conv or a per-channel affine; run-time statistics and training mode (14+) as arithmetic",
    ),
    e("BitCast", 26, bitwise::import_bitcast, "between types of one width"),
    e("BitShift", 11, bitwise::import, "unsigned and (opset 28) signed integers"),
    e("BitwiseAnd", 18, bitwise::import, "integers; numpy broadcasting"),
    e("BitwiseNot", 18, bitwise::import, "integers"),
    e("BitwiseOr", 18, bitwise::import, "integers; numpy broadcasting"),
    e("BitwiseXor", 18, bitwise::import, "integers; numpy broadcasting"),
    e("Cast", 6, shape::import_cast, "between every numeric type and bool; f16/bf16 through f32; float8 (E8M0: round_mode up)"),
    e("CastLike", 15, shape::import_cast_like, "as Cast"),
    e("Clip", 6, activation::import_clip, "min/max as attributes (<11) or constant inputs; integers (12+)"),
    e("Compress", 9, cindex::import_compress, "constant condition (it fixes the output shape); as a Gather"),
    e("Concat", 4, layout::import_concat, ""),
    e("Constant", 1, shape::import_constant, "tensor, scalar and list forms"),
    e("ConstantOfShape", 9, shape::import_constant_of_shape, "folded at compile time"),
    e("Conv", 1, conv::import, "1-D/2-D, groups/depthwise, auto_pad, strides, dilations"),
    e("ConvInteger", 10, qconv::import_conv_integer, "int8/uint8 input; constant weights: integer kernel; run-time weights: in f32 (exact up to 258 taps); i32 result"),
    e("CumProd", 26, cumulative::import, "exclusive, reverse; floats and integers"),
    e("CumSum", 11, cumulative::import, "exclusive, reverse; floats and integers"),
    e("DequantizeLinear", 10, quant::import_dequantize, "per-tensor/per-axis; folded on constants"),
    e("Div", 6, binary::import, ""),
    e("Dropout", 7, activation::import_identity, "inference (identity)"),
    e("Equal", 7, logic::import_compare, "any element type; numpy broadcasting"),
    e("EyeLike", 9, compose::import_eye_like, "a constant (static shapes)"),
    e("Exp", 6, activation::import_unary, ""),
    e("Expand", 8, layout::import_expand, "constant target shape"),
    e("Flatten", 1, layout::import_flatten, "a view"),
    e("Gather", 1, layout::import_gather, "constant or run-time indices"),
    e("GatherND", 11, scatter::import_gather_nd, "run-time indices; batch_dims"),
    e("GatherElements", 11, index::import_gather_elements, "run-time indices"),
    e("Gemm", 6, gemm::import_gemm, "alpha, beta, transA/B, broadcast C"),
    e("GlobalAveragePool", 1, pool::import_global, ""),
    e("GlobalMaxPool", 1, pool::import_global, ""),
    e("Greater", 7, logic::import_compare, "any element type; numpy broadcasting"),
    e("GreaterOrEqual", 12, logic::import_compare, "any element type; numpy broadcasting"),
    e("Einsum", 12, compose_einsum::import_einsum, "f32 and f64; as Transpose, diagonal Gathers, ReduceSum and batched MatMul"),
    e("Hardmax", 13, compose::import_hardmax, "f32; as ArgMax, Equal and Cast"),
    e("HardSigmoid", 6, activation::import_unary, ""),
    e("HardSwish", 14, activation::import_unary, ""),
    e("Identity", 1, activation::import_identity, ""),
    e(
        "If",
        1,
        crate::front::control::import_in_front,
        "constant condition: the taken branch only; run-time condition: both branches and a Where (outputs of one type)",
    ),
    e("IsInf", 10, logic::import_classify, "detect_positive, detect_negative"),
    e("IsNaN", 9, logic::import_classify, ""),
    e("LayerNormalization", 17, norm::import_layer_norm, "f32; Mean and InvStdDev outputs"),
    e("LeakyRelu", 6, activation::import_unary, ""),
    e("Less", 7, logic::import_compare, "any element type; numpy broadcasting"),
    e("LessOrEqual", 12, logic::import_compare, "any element type; numpy broadcasting"),
    e("Log", 6, activation::import_unary, ""),
    e("LogSoftmax", 1, softmax::import, ""),
    e("LpNormalization", 1, compose::import_lp_normalization, "p = 1 or 2; as ReduceL1/L2 and Div"),
    e("LpPool", 2, compose::import_lp_pool, "1-D/2-D; as |x|^p, a zero-padded average pool and ^(1/p)"),
    e("LSTM", 7, lstm::import, "forward/reverse/bidirectional, default activations, layouts 0 and 1"),
    e("MatMul", 1, gemm::import_matmul, "numpy batching; fused bias/clamp"),
    e("MatMulInteger", 10, qgemm::import_matmul_integer, "constant 2-D B: integer kernel; run-time B: in f64 (exact); i32 result"),
    e("Det", 11, compose::import_det, "f32 and f64 matrices up to 4×4; the Leibniz sum as Gather, Mul, Add, Sub"),
    e("Max", 6, binary::import, "any number of operands; integers too"),
    e("MaxPool", 1, pool::import_pool, "1-D/2-D/3-D (3-D as two 2-D pools); Indices (f32) as a running max over taps"),
    e("Mean", 6, binary::import, "any number of operands"),
    e("Min", 6, binary::import, "any number of operands; integers too"),
    e("Mod", 10, binary::import, "fmod 0 and 1; integers and floats"),
    e("Mul", 6, binary::import, ""),
    e("Neg", 6, activation::import_unary, ""),
    e("NegativeLogLikelihoodLoss", 12, loss::import, "f32 scores; weights, ignore_index, every reduction"),
    e("Not", 1, logic::import_not, ""),
    e("OneHot", 9, compose::import_one_hot, "constant depth; run-time indices and values"),
    e("Or", 7, logic::import_logic, "numpy broadcasting"),
    e("PRelu", 7, binary::import, "slope broadcast onto X; integers too"),
    e("Pad", 2, layout::import_pad, "constant mode; edge, reflect and wrap as constant-index gathers"),
    e("QLinearConv", 10, qop::import_qlinear_conv, "integer kernel; per-channel weights"),
    e("QLinearMatMul", 10, qop::import_qlinear_matmul, "integer kernel; constant B"),
    e("Pow", 1, binary::import, ""),
    e("QuantizeLinear", 10, quant::import_quantize, "per-tensor/per-axis; folded on constants"),
    e("Range", 11, shape::import_range, "folded at compile time"),
    e("Reciprocal", 6, activation::import_unary, ""),
    e("ReduceL1", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceL2", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceLogSum", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceLogSumExp", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceMax", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceMean", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceMin", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceProd", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceSum", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e("ReduceSumSquare", 1, reduce::import_reduce, "any axes; keepdims, noop_with_empty_axes"),
    e(
        "Resize",
        11,
        resize::import,
        "f32; nearest/linear/cubic, antialias, every coordinate mode, axes, aspect-ratio policy",
    ),
    e("RMSNormalization", 23, norm::import_layer_norm, "f32"),
    e("Relu", 6, activation::import_relu, "fused into producers"),
    e("Reshape", 5, layout::import_reshape, "a view; 0 and -1"),
    e("Scatter", 9, scatter::import_scatter_elements, "as ScatterElements"),
    e("ScatterElements", 11, scatter::import_scatter_elements, "run-time indices; every reduction"),
    e("ScatterND", 11, scatter::import_scatter_nd, "run-time indices; every reduction"),
    e(
        "Scan",
        8,
        crate::front::control::import_in_front,
        "unrolled over the static sequence; both directions, any axes; opset 8 without sequence_lens",
    ),
    e("Shape", 1, shape::import_shape, "folded (static shapes)"),
    e("Sigmoid", 6, activation::import_unary, ""),
    e("Size", 1, shape::import_size, "a constant (static shapes)"),
    e("Slice", 1, layout::import_slice, "constant starts/ends/axes/steps"),
    e("Softmax", 1, softmax::import, "pre-13 2-D coercion and per-axis"),
    e("SoftmaxCrossEntropyLoss", 12, loss::import, "f32 scores; weights, ignore_index, log_prob output"),
    e("Softplus", 1, activation::import_unary, ""),
    e("Sqrt", 6, activation::import_unary, ""),
    e("Squeeze", 1, layout::import_squeeze, "a view"),
    e("Split", 2, layout::import_split, "sizes, num_outputs or equal parts"),
    e("Sub", 6, binary::import, ""),
    e("Sum", 6, binary::import, "any number of operands"),
    e("SwiGLU", 28, compose::import_swiglu, "f32; as Swish and Mul"),
    e("Swish", 24, compose::import_swish, "f32; as Mul, Sigmoid and Mul"),
    e("Tanh", 6, activation::import_unary, ""),
    e("TopK", 10, topk::import, "constant k; largest/smallest; always sorted"),
    e("Transpose", 1, layout::import_transpose, ""),
    e("Trilu", 14, layout::import_trilu, "any element type"),
    e("Unsqueeze", 1, layout::import_unsqueeze, "a view"),
    e("Where", 9, logic::import_where, "numpy broadcasting of all three operands"),
    e("Xor", 7, logic::import_logic, "numpy broadcasting"),
    e("Acos", 7, activation::import_unary, "f32"),
    e("Acosh", 9, activation::import_unary, "f32"),
    e("Asin", 7, activation::import_unary, "f32"),
    e("Asinh", 9, activation::import_unary, "f32"),
    e("Atan", 7, activation::import_unary, "f32"),
    e("Atanh", 9, activation::import_unary, "f32"),
    e("Ceil", 6, activation::import_unary, "f32"),
    e("Celu", 12, activation::import_unary, "f32"),
    e("Cos", 7, activation::import_unary, "f32"),
    e("Cosh", 9, activation::import_unary, "f32"),
    e("Elu", 6, activation::import_unary, "f32"),
    e("Erf", 9, activation::import_unary, "f32"),
    e("Floor", 6, activation::import_unary, "f32"),
    e("Gelu", 20, activation::import_unary, "f32"),
    e("Mish", 18, activation::import_unary, "f32"),
    e("Round", 11, activation::import_unary, "f32"),
    e("Selu", 6, activation::import_unary, "f32"),
    e("Shrink", 9, activation::import_unary, "f32"),
    e("Sign", 9, activation::import_unary, "f32"),
    e("Sin", 7, activation::import_unary, "f32"),
    e("Sinh", 9, activation::import_unary, "f32"),
    e("Softsign", 1, activation::import_unary, "f32"),
    e("Tan", 7, activation::import_unary, "f32"),
    e("ThresholdedRelu", 10, activation::import_unary, "f32"),
    ml("ArrayFeatureExtractor", 1, MAX_ML_OPSET, prep::import_array_feature_extractor, "constant or run-time indices"),
    ml("Binarizer", 1, MAX_ML_OPSET, prep::import_binarizer, "as Greater and Cast"),
    ml("Imputer", 1, MAX_ML_OPSET, prep::import_imputer, "f32 and i64; NaN or a value replaced; as Where"),
    ml(
        "LabelEncoder",
        1,
        MAX_ML_OPSET,
        prep::import_label_encoder,
        "numeric keys and values (string ones: unsupported)",
    ),
    ml("LinearClassifier", 1, MAX_ML_OPSET, linear::import_classifier, "integer labels; onnxruntime's binary rule"),
    ml("LinearRegressor", 1, MAX_ML_OPSET, linear::import_regressor, "as Gemm; post transforms"),
    ml("Normalizer", 1, MAX_ML_OPSET, prep::import_normalizer, "MAX, L1, L2; rows of norm 0 kept"),
    ml("OneHotEncoder", 1, MAX_ML_OPSET, prep::import_one_hot_encoder, "integer categories; unknown values give zeros"),
    ml("SVMClassifier", 1, MAX_ML_OPSET, svm::import_classifier, "every kernel; votes; Platt probabilities coupled"),
    ml("SVMRegressor", 1, MAX_ML_OPSET, svm::import_regressor, "every kernel; linear mode; one_class"),
    ml("Scaler", 1, MAX_ML_OPSET, prep::import_scaler, "as Sub and Mul"),
    ml(
        "TreeEnsemble",
        5,
        MAX_ML_OPSET,
        tree::import_ensemble,
        "f32/f64; every mode incl. MEMBER, missing tracks, aggregates, post transforms",
    ),
    ml(
        "TreeEnsembleClassifier",
        1,
        4,
        tree::import_classifier,
        "packed arrays, no recursion; integer labels; onnxruntime's binary rules",
    ),
    ml(
        "TreeEnsembleRegressor",
        1,
        4,
        tree::import_regressor,
        "packed arrays, no recursion; every aggregate and post transform",
    ),
    ml(
        "ZipMap",
        1,
        MAX_ML_OPSET,
        prep::import_zip_map,
        "the probability tensor (rows × classes), not a sequence of maps",
    ),
    e("CausalConvWithState", 27, spatial::import_causal_conv_with_state, "f32, f16 (computed in f32); as Concat, depthwise Conv, Slice"),
    e("CenterCropPad", 18, spatial::import_center_crop_pad, "constant shape; as Slice and Pad"),
    e("ConvTranspose", 1, spatial::import_conv_transpose, "1-D/2-D/3-D; as zero insertion, Pad and Conv (3-D: one 2-D Conv per depth tap)"),
    e("DepthToSpace", 1, spatial::import_depth_to_space, "DCR and CRD; as Reshape and Transpose"),
    e("SpaceToDepth", 1, spatial::import_space_to_depth, "as Reshape and Transpose"),
    e("Tile", 6, spatial::import_tile, "constant repeats; as Reshape and Expand"),
    e("Upsample", 7, spatial::import_upsample, "nearest, whole-number scales; as Reshape and Expand"),
    e("GroupNormalization", 21, cnorm::import_group_norm, "f32; per-channel scale (opset 21); as ReduceMean and arithmetic"),
    e("InstanceNormalization", 6, cnorm::import_instance_norm, "f32; as ReduceMean and arithmetic"),
    e(
        "Loop",
        1,
        crate::front::control::import_in_front,
        "constant trip count and conditions (folded per iteration); unrolled, scan outputs stacked",
    ),
    e("LRN", 1, cnorm::import_lrn, "f32; the channel window sum as an average pool"),
    e("MeanVarianceNormalization", 9, cnorm::import_mvn, "f32; as ReduceMean and arithmetic"),
    e("GRU", 7, rnn::import_gru, "f32; unrolled; every direction and layout, linear_before_reset, default activations"),
    e("RNN", 7, rnn::import_rnn, "f32; unrolled; every direction and layout, default activation"),
    e("AffineGrid", 20, grid::import_affine_grid, "f32; constant size; 2-D and 3-D; as a constant grid times thetaᵀ"),
    e("DeformConv", 19, sample::import_deform_conv, "f32; 2-D; groups, offset groups, optional mask and bias; one kernel"),
    e("RoiAlign", 10, sample::import_roi_align, "f32; avg and max; half_pixel and output_half_pixel; one kernel"),
    e("GridSample", 16, grid::import_grid_sample, "f32; 2-D/3-D; every mode and padding; as run-time gathers of taps"),
    e("Col2Im", 18, cindex::import_col2im, "constant image and block shapes; as a scatter-add and Slice"),
    e("MaxUnpool", 9, cindex::import_max_unpool, "as a run-time scatter into zeros"),
    e("ReverseSequence", 10, cindex::import_reverse_sequence, "run-time lengths; as a run-time GatherElements"),
    ms("QGemm", qop::import_qgemm, "integer kernel; alpha = 1"),
    ms("QLinearAdd", qop::import_qlinear_binary, "integer kernel, broadcasting"),
    ms("QLinearAveragePool", qop::import_qlinear_average_pool, "integer kernel; channels_last = 0"),
    ms("QLinearConcat", qop::import_qlinear_concat, "integer copies, requantised by table"),
    ms("QLinearGlobalAveragePool", qop::import_qlinear_global_average_pool, "integer kernel; channels_last = 0"),
    ms("QLinearLeakyRelu", qop::import_qlinear_activation, "table lookup"),
    ms("QLinearMul", qop::import_qlinear_binary, "integer kernel, broadcasting"),
    ms("QLinearSigmoid", qop::import_qlinear_activation, "table lookup"),
    ms("QLinearSoftmax", qop::import_qlinear_softmax, "integer kernel"),
    e(
        "Attention",
        23,
        attention::import_attention,
        "3-D/4-D, GQA/MQA, KV cache, masks, causal, nonpad_kv_seqlen, softcap, every qk output mode; f64; f16/bf16 in f32",
    ),
    e(
        "RotaryEmbedding",
        23,
        attention::import_rotary_embedding,
        "3-D/4-D, position_ids at run time, interleaved, partial rotary_embedding_dim; as Slice, Gather, Mul, Add, Concat",
    ),
    e(
        "LinearAttention",
        27,
        attention::import_linear_attention,
        "every update rule, GQA/MQA, per-key and per-head decay; unrolled over the sequence; f16/bf16 in f32",
    ),
    e(
        "DynamicQuantizeLinear",
        11,
        quant_float::import_dynamic_quantize,
        "u8 with run-time scale and zero point, as float ops",
    ),
    e("HannWindow", 17, signal::import_window, "constant size; folded to a constant"),
    e("HammingWindow", 17, signal::import_window, "constant size; folded to a constant"),
    e("BlackmanWindow", 17, signal::import_window, "constant size; folded to a constant"),
    e("MelWeightMatrix", 17, signal::import_mel_weight_matrix, "constant parameters; folded to a constant"),
    e(
        "DFT",
        17,
        signal::import_dft,
        "forward, inverse, one-sided, irfft; constant dft_length and axis; as matrix products",
    ),
    e(
        "STFT",
        17,
        signal::import_stft,
        "real signals; constant frame step and length; optional window; as matrix products",
    ),
    e(
        "TfIdfVectorizer",
        9,
        tfidf::import_tfidf,
        "i32/i64 tokens (no string pools); TF, IDF, TFIDF; as gathers, comparisons and a matrix product",
    ),
    tr("Adagrad", training::import_adagrad, "f32; run-time R and T"),
    tr("Adam", training::import_adam, "f32; run-time R and T (bias correction)"),
    tr("Momentum", training::import_momentum, "f32; standard and Nesterov; run-time R and T"),
    e("TensorScatter", 24, scatter::import_tensor_scatter, "linear and circular; run-time write indices"),
    Entry {
        domain: "ai.onnx.preview",
        op_type: "FlexAttention",
        since: 1,
        until: i64::MAX,
        import: attention::import_flex_attention,
        notes: "f16/bf16 in f32; f64; score_mod/prob_mod subgraphs imported in place (f32, equal head counts)",
    },
];

/// Operands that the ONNX spec makes inputs but that act like attributes: they fix an
/// output's shape or parameterise the op (most were attributes in earlier opsets), and
/// a model normally gives them as constants. The ONNX node tests often feed them as
/// graph inputs; `tinyops conformance` freezes a graph input into a constant only when
/// every use of it is one of these slots. Data, weights and quantisation parameters are
/// never listed: they run as real run-time operands. By (op type, input slots).
pub static ATTRIBUTE_INPUTS: &[(&str, &[usize])] = &[
    ("AffineGrid", &[1]),      // size
    ("BlackmanWindow", &[0]),  // size
    ("CenterCropPad", &[1]),   // shape
    ("Clip", &[1, 2]),         // min, max (attributes before opset 11)
    ("Col2Im", &[1, 2]),       // image_shape, block_shape
    ("Compress", &[1]),        // condition (fixes the output shape)
    ("ConstantOfShape", &[0]), // shape
    ("CumProd", &[1]),         // axis
    ("CumSum", &[1]),          // axis
    ("DFT", &[1, 2]),          // dft_length, axis
    ("Dropout", &[1, 2]),      // ratio, training_mode
    ("Expand", &[1]),          // shape
    ("HammingWindow", &[0]),   // size
    ("HannWindow", &[0]),      // size
    ("Loop", &[0, 1]),         // trip count and first condition (they fix the iterations)
    ("MaxUnpool", &[2]),       // output_shape
    ("MelWeightMatrix", &[0, 1, 2, 3, 4]),
    ("NonMaxSuppression", &[2, 3, 4]), // max boxes per class, IoU and score thresholds
    ("OneHot", &[1]),                  // depth
    ("Pad", &[1, 2, 3]),               // pads, constant_value, axes
    ("Range", &[0, 1, 2]),             // start, limit, delta
    ("ReduceL1", &[1]),                // axes, for every Reduce*
    ("ReduceL2", &[1]),
    ("ReduceLogSum", &[1]),
    ("ReduceLogSumExp", &[1]),
    ("ReduceMax", &[1]),
    ("ReduceMean", &[1]),
    ("ReduceMin", &[1]),
    ("ReduceProd", &[1]),
    ("ReduceSum", &[1]),
    ("ReduceSumSquare", &[1]),
    ("Reshape", &[1]),        // shape
    ("Resize", &[1, 2, 3]),   // roi, scales, sizes
    ("Slice", &[1, 2, 3, 4]), // starts, ends, axes, steps
    ("Split", &[1]),          // split
    ("SplitToSequence", &[1]),
    ("Squeeze", &[1]),   // axes
    ("STFT", &[1, 3]),   // frame_step, frame_length
    ("Tile", &[1]),      // repeats
    ("TopK", &[1]),      // k
    ("Trilu", &[1]),     // k
    ("Unsqueeze", &[1]), // axes
    ("Upsample", &[1]),  // scales
];

/// Ops whose output size depends on the values of their data, which a static,
/// allocation-free module cannot hold: by op type, the reason given for them.
pub static DATA_DEPENDENT: &[(&str, &str)] = &[
    ("NonMaxSuppression", "the number of selected boxes"),
    ("NonZero", "the number of non-zero elements"),
    ("Unique", "the number of distinct values"),
];

/// Why an op of the default domain cannot be compiled statically, if it is one of
/// [`DATA_DEPENDENT`].
pub fn data_dependent(op_type: &str) -> Option<String> {
    DATA_DEPENDENT.iter().find(|(op, _)| *op == op_type).map(|(_, what)| {
        format!(
            "output size depends on the data ({what}); a static, allocation-free module needs every shape at compile time"
        )
    })
}

/// The attribute-like input slots of an op of the default domain ([`ATTRIBUTE_INPUTS`]).
pub fn attribute_inputs(op_type: &str) -> &'static [usize] {
    ATTRIBUTE_INPUTS.iter().find(|(op, _)| *op == op_type).map_or(&[], |(_, s)| s)
}

/// Whether an op is supported.
pub enum Support {
    /// Yes, by this entry.
    Yes(&'static Entry),
    /// The op is known but not at this opset; the string names the supported range.
    Opset(String),
    /// Not at all.
    No,
}

/// Looks up an op by domain, type and the model's opset for that domain.
pub fn lookup(domain: &str, op_type: &str, opset: i64) -> Support {
    let mut known = None;
    for e in OPS.iter().filter(|e| e.domain == domain && e.op_type == op_type) {
        if opset >= e.since && opset <= e.until {
            return Support::Yes(e);
        }
        known = Some(format!("{}–{}", e.since, e.opsets_end()));
    }
    match known {
        Some(r) => Support::Opset(r),
        None => Support::No,
    }
}
