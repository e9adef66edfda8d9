//! Parameter structs: the geometry of one kernel call, emitted as constants by the
//! compiler. Every kernel validates its slices against these on entry.

/// Largest tensor rank the data-movement and broadcasting kernels handle.
pub const MAX_RANK: usize = 6;

/// A fused output clamp: `y = min(max(y, min), max)`. ReLU is `[0, inf]`, ReLU6 `[0, 6]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clamp {
    /// Lower bound.
    pub min: f32,
    /// Upper bound.
    pub max: f32,
}

impl Clamp {
    /// No clamping.
    pub const NONE: Clamp = Clamp { min: f32::NEG_INFINITY, max: f32::INFINITY };
    /// ReLU.
    pub const RELU: Clamp = Clamp { min: 0.0, max: f32::INFINITY };

    /// Applies the clamp: `min(max(v, min), max)`, so `max` wins when `min > max`
    /// (ONNX Clip); NaN passes through unchanged.
    #[inline(always)]
    pub fn apply(self, v: f32) -> f32 {
        let v = if v < self.min { self.min } else { v };
        if v > self.max {
            self.max
        } else {
            v
        }
    }
}

/// Deformable 2-D convolution ([`deform_conv_f32`](crate::kernels::portable::deform_conv_f32);
/// ONNX DeformConv), channels-first: input `N,C,H,W`, weights `O,C/groups,kH,kW`,
/// offsets `N, offset_groups·kH·kW·2, outH, outW` (a (row, column) shift per tap),
/// optional mask `N, offset_groups·kH·kW, outH, outW`, output `N,O,outH,outW`. `conv`
/// holds the geometry (its `groups` the channel groups).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeformConv {
    /// Sizes, strides, dilations, padding and channel groups.
    pub conv: Conv2d,
    /// Groups of input channels that share one set of offsets (and mask).
    pub offset_groups: usize,
}

/// Region-of-interest pooling with bilinear sampling
/// ([`roi_align_f32`](crate::kernels::portable::roi_align_f32); ONNX RoiAlign): input
/// `N,C,H,W`, boxes `R,4` as `(x1, y1, x2, y2)` in input coordinates times
/// `1 / spatial_scale`, batch indices `R`, output `R,C,out_h,out_w`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiAlign {
    /// Images in the input.
    pub batch: usize,
    /// Channels.
    pub channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Boxes.
    pub rois: usize,
    /// Output height per box.
    pub out_h: usize,
    /// Output width per box.
    pub out_w: usize,
    /// Samples per output cell along each axis; 0: `ceil(box extent / output extent)`.
    pub sampling_ratio: usize,
    /// Box coordinates times this are input coordinates.
    pub spatial_scale: f32,
    /// Shift the box by half a pixel (`half_pixel`; else `output_half_pixel`, which
    /// also keeps boxes at least 1 pixel wide and tall).
    pub half_pixel: bool,
    /// The maximum of the samples (else their mean).
    pub max: bool,
}

/// 2-D convolution over channels-last (`N,H,W,C`) input with `O,kH,kW,I/groups`
/// weights. 1-D convolutions use `in_h = out_h = k_h = 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub in_c: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels.
    pub out_c: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Kernel height.
    pub k_h: usize,
    /// Kernel width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Channel groups (`in_c` for depthwise).
    pub groups: usize,
}

impl Conv2d {
    /// Input elements.
    pub const fn input_len(&self) -> usize {
        self.batch * self.in_c * self.in_h * self.in_w
    }
    /// Weight elements (0 for zero groups, which [`Conv2d::is_valid`] rejects; a checked
    /// division leaves no panic path even where the optimiser cannot see that check).
    pub const fn weight_len(&self) -> usize {
        let cin_g = match self.in_c.checked_div(self.groups) {
            Some(c) => c,
            None => 0,
        };
        self.out_c * cin_g * self.k_h * self.k_w
    }
    /// Output elements.
    pub const fn output_len(&self) -> usize {
        self.batch * self.out_c * self.out_h * self.out_w
    }
    /// True for a 1×1 convolution with unit stride and no padding: every output pixel
    /// is a matrix-vector product of the same pixel's channels.
    pub const fn is_pointwise(&self) -> bool {
        self.k_h == 1
            && self.k_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
            && self.in_h == self.out_h
            && self.in_w == self.out_w
    }

    /// True when the geometry is self-consistent.
    pub const fn is_valid(&self) -> bool {
        self.groups > 0
            && self.in_c.is_multiple_of(self.groups)
            && self.out_c.is_multiple_of(self.groups)
            && self.stride_h > 0
            && self.stride_w > 0
            && self.dil_h > 0
            && self.dil_w > 0
    }
}

/// How the C operand of a GEMM broadcasts onto the `m × n` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bias {
    /// No C operand.
    None,
    /// One value for every element.
    Scalar,
    /// One value per column (length `n`): the usual dense-layer bias.
    PerColumn,
    /// One value per row (length `m`).
    PerRow,
    /// A full `m × n` matrix.
    Full,
}

/// `y = alpha * op(A) * op(B) + beta * C`, row-major, for `batch` independent products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gemm {
    /// Independent products (1 for a plain GEMM).
    pub batch: usize,
    /// Rows of the result.
    pub m: usize,
    /// Columns of the result.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// A is stored `k × m` (transposed).
    pub trans_a: bool,
    /// B is stored `n × k` (transposed).
    pub trans_b: bool,
    /// Elements between consecutive A matrices (0 to reuse one A for every product).
    pub batch_stride_a: usize,
    /// Elements between consecutive B matrices (0 to reuse one B).
    pub batch_stride_b: usize,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of C.
    pub beta: f32,
    /// How C broadcasts (C is shared by every product).
    pub bias: Bias,
}

impl Gemm {
    /// Elements of C the kernel reads.
    pub const fn bias_len(&self) -> usize {
        match self.bias {
            Bias::None => 0,
            Bias::Scalar => 1,
            Bias::PerColumn => self.n,
            Bias::PerRow => self.m,
            Bias::Full => self.m * self.n,
        }
    }

    /// The 1×1 convolution this product is when A is stored `m × k` and B `n × k`
    /// (one product, not transposed A, transposed B): each of A's `m` rows a pixel
    /// of `k` channels (one row of `m` pixels), each of B's `n` rows an output
    /// channel's filter, so the result's `m × n` is the convolution's `N,H,W,C`
    /// output. Kernels that read a fully-connected layer as a convolution (the
    /// Helium one) and their packers describe the layer with it; it says nothing of
    /// the other layouts, which such kernels reject.
    pub const fn as_pointwise(&self) -> Conv2d {
        Conv2d {
            batch: 1,
            in_c: self.k,
            in_h: 1,
            in_w: self.m,
            out_c: self.n,
            out_h: 1,
            out_w: self.m,
            k_h: 1,
            k_w: 1,
            stride_h: 1,
            stride_w: 1,
            dil_h: 1,
            dil_w: 1,
            pad_top: 0,
            pad_left: 0,
            groups: 1,
        }
    }
}

/// Numpy broadcasting of two operands onto a dense output: per axis, the output
/// extent and each operand's stride in elements (0 where it broadcasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcast {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Output extents.
    pub shape: [usize; MAX_RANK],
    /// Strides of operand A.
    pub a: [usize; MAX_RANK],
    /// Strides of operand B.
    pub b: [usize; MAX_RANK],
}

impl Broadcast {
    /// `n` elements of two operands of the result's own shape, as one row: how
    /// [`super::inplace::elementwise`] calls a binary kernel on a chunk.
    pub const fn flat(n: usize) -> Broadcast {
        let mut shape = [1; MAX_RANK];
        let mut a = [0; MAX_RANK];
        shape[0] = n;
        a[0] = 1;
        Broadcast { rank: 1, shape, a, b: a }
    }
}

/// A 2-D pooling window over channels-last (`N,H,W,C`) input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2d {
    /// Batch size.
    pub batch: usize,
    /// Channels (pooled independently).
    pub channels: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Window height.
    pub k_h: usize,
    /// Window width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Vertical dilation.
    pub dil_h: usize,
    /// Horizontal dilation.
    pub dil_w: usize,
    /// Padding rows above.
    pub pad_top: usize,
    /// Padding columns left.
    pub pad_left: usize,
    /// Padding rows below.
    pub pad_bottom: usize,
    /// Padding columns right.
    pub pad_right: usize,
    /// Average pooling divides by the whole padded window, not only real elements.
    pub count_include_pad: bool,
}

/// A reduction or normalisation along one axis of a tensor viewed as
/// `outer × len × inner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    /// Product of the extents before the axis.
    pub outer: usize,
    /// Extent of the axis.
    pub len: usize,
    /// Product of the extents after the axis.
    pub inner: usize,
}

/// A strided copy: for every index of `shape`, `y[dst_offset + Σ i·dst] =
/// x[src_offset + Σ i·src]`. Transpose, slice, expand, concat and pad are all this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strided {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Extents of the copied block.
    pub shape: [usize; MAX_RANK],
    /// Source strides in elements (negative for reversed slices, 0 for broadcast).
    pub src: [isize; MAX_RANK],
    /// Source element of index 0.
    pub src_offset: usize,
    /// Destination strides in elements.
    pub dst: [usize; MAX_RANK],
    /// Destination element of index 0.
    pub dst_offset: usize,
}

/// Gathers whole slices along one axis: `y[o, j, i] = x[o, indices[j], i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gather {
    /// Product of extents before the axis.
    pub outer: usize,
    /// Extent of the gathered axis in the input.
    pub axis_len: usize,
    /// Product of extents after the axis.
    pub inner: usize,
}

/// A unary float function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryFn {
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// e^x.
    Exp,
    /// Natural logarithm.
    Log,
    /// Square root.
    Sqrt,
    /// −x.
    Neg,
    /// |x|.
    Abs,
    /// 1/x.
    Reciprocal,
    /// x if x ≥ 0 else alpha·x.
    LeakyRelu(f32),
    /// max(0, min(1, alpha·x + beta)).
    HardSigmoid(f32, f32),
    /// x · max(0, min(1, x/6 + 1/2)).
    HardSwish,
    /// ln(1 + e^x).
    Softplus,
    /// x · sigmoid(x).
    Silu,
    /// sin x.
    Sin,
    /// cos x.
    Cos,
    /// tan x.
    Tan,
    /// asin x.
    Asin,
    /// acos x.
    Acos,
    /// atan x.
    Atan,
    /// sinh x.
    Sinh,
    /// cosh x.
    Cosh,
    /// asinh x.
    Asinh,
    /// acosh x.
    Acosh,
    /// atanh x.
    Atanh,
    /// ⌊x⌋.
    Floor,
    /// ⌈x⌉.
    Ceil,
    /// x rounded to the nearest integer, halves to even.
    Round,
    /// −1, 0 or 1.
    Sign,
    /// The error function.
    Erf,
    /// x / (1 + |x|).
    Softsign,
    /// x · tanh(ln(1 + eˣ)).
    Mish,
    /// x · Φ(x) (exact, with erf).
    Gelu,
    /// x · Φ(x) by the tanh approximation.
    GeluTanh,
    /// x ≥ 0 ? x : α(eˣ − 1).
    Elu(f32),
    /// γ · (x > 0 ? x : α(eˣ − 1)) (alpha, gamma).
    Selu(f32, f32),
    /// max(0, x) + min(0, α(e^(x/α) − 1)).
    Celu(f32),
    /// x > α ? x : 0.
    ThresholdedRelu(f32),
    /// x < −λ ? x + bias : x > λ ? x − bias : 0 (lambda, bias).
    Shrink(f32, f32),
}

/// Long short-term memory over a whole sequence (ONNX `LSTM`, layout 0, gate order
/// i, o, f, c; activations sigmoid, tanh, tanh).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lstm {
    /// Time steps.
    pub seq: usize,
    /// Batch size.
    pub batch: usize,
    /// Input features.
    pub input: usize,
    /// Hidden units.
    pub hidden: usize,
    /// 1 (forward or reverse) or 2 (bidirectional).
    pub directions: usize,
    /// The single direction runs backwards in time.
    pub reverse: bool,
    /// Clip gate pre-activations to ±clip (0 for none).
    pub clip: f32,
    /// Couple input and forget gates (f = 1 − i).
    pub input_forget: bool,
}

impl Lstm {
    /// Scratch floats the kernel needs.
    pub const fn scratch_len(&self) -> usize {
        self.batch * self.hidden * 6
    }
}

impl Pool2d {
    /// Input elements.
    pub const fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.channels
    }
    /// Output elements.
    pub const fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.channels
    }
}

/// Requantisation of a quantised add: `y = zp + round((a − za)·ma + (b − zb)·mb) / 2^shift`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QAdd {
    /// Zero point of A.
    pub a_zp: i32,
    /// Zero point of B.
    pub b_zp: i32,
    /// Multiplier of A (`sa / sy · 2^shift`).
    pub a_mult: i32,
    /// Multiplier of B.
    pub b_mult: i32,
    /// Common shift (1..=62).
    pub shift: u32,
}

/// Requantisation of a quantised product: `y = zp + requant((a − za)(b − zb), mult, shift)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QMul {
    /// Zero point of A.
    pub a_zp: i32,
    /// Zero point of B.
    pub b_zp: i32,
    /// Multiplier of the product (`sa · sb / sy`).
    pub mult: i32,
    /// Its shift.
    pub shift: u32,
}

/// A binary float function of [`binary_f32`](crate::kernels::portable::binary_f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// a + b.
    Add,
    /// a − b.
    Sub,
    /// a · b.
    Mul,
    /// a / b.
    Div,
    /// a^b.
    Pow,
    /// max(a, b) (NaN-propagating).
    Max,
    /// min(a, b) (NaN-propagating).
    Min,
    /// a mod b with the sign of b (Python's `%`; ONNX Mod with fmod = 0).
    Mod,
    /// a mod b with the sign of a (C's `fmod`; ONNX Mod with fmod = 1).
    Fmod,
    /// a < 0 ? a · b : a (ONNX PRelu, b the slope).
    PRelu,
}

/// A reduction over some axes of a tensor: `shape` holds the input extents (after
/// merging neighbouring axes that are both reduced or both kept) and `reduce` marks
/// the reduced ones. The output holds one element per index of the kept axes, in
/// row-major order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reduce {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Input extents.
    pub shape: [usize; MAX_RANK],
    /// Which axes are reduced.
    pub reduce: [bool; MAX_RANK],
}

/// What a [`Reduce`] computes over each set of reduced elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// Σ x.
    Sum,
    /// Σ x / n.
    Mean,
    /// max x (NaN-propagating).
    Max,
    /// min x (NaN-propagating).
    Min,
    /// Π x.
    Prod,
    /// Σ |x|.
    L1,
    /// √(Σ x²).
    L2,
    /// ln Σ x.
    LogSum,
    /// ln Σ eˣ (computed stably).
    LogSumExp,
    /// Σ x².
    SumSquare,
}

/// An integer unary function of [`unary_int`](crate::kernels::portable::unary_int).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntUnary {
    /// −x (wrapping).
    Neg,
    /// |x| (wrapping).
    Abs,
    /// −1, 0 or 1.
    Sign,
}

/// A comparison of [`compare`](crate::kernels::portable::compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// a = b.
    Equal,
    /// a < b.
    Less,
    /// a ≤ b.
    LessOrEqual,
    /// a > b.
    Greater,
    /// a ≥ b.
    GreaterOrEqual,
}

/// A boolean function of [`logic`](crate::kernels::portable::logic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicOp {
    /// a ∧ b.
    And,
    /// a ∨ b.
    Or,
    /// a ⊕ b.
    Xor,
}

/// Numpy broadcasting of three operands onto a dense output (`Where`): per axis, the
/// output extent and each operand's stride in elements (0 where it broadcasts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcast3 {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Output extents.
    pub shape: [usize; MAX_RANK],
    /// Strides of the condition.
    pub c: [usize; MAX_RANK],
    /// Strides of the value taken where the condition holds.
    pub a: [usize; MAX_RANK],
    /// Strides of the value taken elsewhere.
    pub b: [usize; MAX_RANK],
}

/// The triangle of each `rows × cols` matrix that [`trilu`](crate::kernels::portable::trilu)
/// keeps: elements with `col − row ≥ k` (upper) or `col − row ≤ k` (lower).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trilu {
    /// Matrices.
    pub batch: usize,
    /// Rows of each.
    pub rows: usize,
    /// Columns of each.
    pub cols: usize,
    /// Diagonal offset.
    pub k: isize,
    /// Keep the upper triangle (else the lower).
    pub upper: bool,
}

/// Layer (or RMS) normalisation of each of `outer` rows of `inner` elements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNorm {
    /// Rows normalised independently.
    pub outer: usize,
    /// Elements per row.
    pub inner: usize,
    /// ε added to the variance (or mean square).
    pub epsilon: f32,
    /// RMS normalisation: no mean subtracted.
    pub rms: bool,
}

/// How a loss combines its per-element values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossReduction {
    /// One loss per element.
    None,
    /// Their sum.
    Sum,
    /// Their weighted mean (divided by the sum of the weights used).
    Mean,
}

/// Negative log-likelihood loss over `n × classes × inner` scores (ONNX
/// NegativeLogLikelihoodLoss; with `softmax`, SoftmaxCrossEntropyLoss, which first
/// takes the log-softmax over the classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nll {
    /// Batch.
    pub n: usize,
    /// Classes.
    pub classes: usize,
    /// Elements per class and batch item (product of the extra axes).
    pub inner: usize,
    /// How the losses combine.
    pub reduction: LossReduction,
    /// A target value that contributes nothing, if any.
    pub ignore_index: Option<i64>,
    /// Take the log-softmax of the scores first.
    pub softmax: bool,
}

/// GatherElements: the output (shape `shape`, the indices' shape) takes, at every
/// index, the data element at the same index except along `axis`, where the index
/// tensor says which. `data` holds the data's strides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatherElements {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Extents of the indices and the output.
    pub shape: [usize; MAX_RANK],
    /// Strides of the data, in elements.
    pub data: [usize; MAX_RANK],
    /// The gathered axis.
    pub axis: usize,
    /// Extent of the data along it.
    pub axis_len: usize,
}

/// A number format [`cast_format`](crate::kernels::portable::cast_format) converts
/// between, through f32. The 8- and 4-bit floats are their bits in a `u8` (one
/// element per byte); the 4- and 2-bit integers are their value in an `i8` or `u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// IEEE single precision (`f32`).
    F32,
    /// IEEE half precision, as its 16 bits (`u16`).
    F16,
    /// bfloat16, as its 16 bits (`u16`).
    BF16,
    /// 8-bit float, 4 exponent and 3 mantissa bits, bias 7, no infinities, NaN 0x7F/0xFF.
    F8E4M3FN,
    /// 8-bit float, 4 exponent and 3 mantissa bits, bias 8, no infinities or −0, NaN 0x80.
    F8E4M3FNUZ,
    /// 8-bit float, 5 exponent and 2 mantissa bits, bias 15, IEEE infinities and NaNs.
    F8E5M2,
    /// 8-bit float, 5 exponent and 2 mantissa bits, bias 16, no infinities or −0, NaN 0x80.
    F8E5M2FNUZ,
    /// 4-bit float, 2 exponent and 1 mantissa bit, bias 1, no infinities or NaN.
    F4E2M1,
    /// 8-bit power of two (OCP MX E8M0): 8 exponent bits, bias 127, no sign, mantissa
    /// or zero; 0xFF is NaN.
    F8E8M0,
    /// Signed 4-bit integer (`i8` holding −8..=7).
    I4,
    /// Unsigned 4-bit integer (`u8` holding 0..=15).
    U4,
    /// Signed 2-bit integer (`i8` holding −2..=1).
    I2,
    /// Unsigned 2-bit integer (`u8` holding 0..=3).
    U2,
}

/// A conversion between two [`Format`]s: floats round to nearest even (to E8M0 as
/// `round` says); values beyond the target's largest finite one become it when
/// `saturate` (ONNX Cast's default), else infinity or NaN as the target has them;
/// floats to the small integers truncate toward zero and keep the low bits (two's
/// complement wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatCast {
    /// The source format.
    pub from: Format,
    /// The target format.
    pub to: Format,
    /// Clamp overflow to the largest finite value.
    pub saturate: bool,
    /// How a value rounds to [`Format::F8E8M0`] (the other formats ignore it).
    pub round: ExpRound,
}

/// How a float rounds to a power of two ([`Format::F8E8M0`]; ONNX Cast's `round_mode`),
/// judged on its f32 bits: the sign is dropped and the exponent field kept or raised by
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpRound {
    /// Up when any mantissa bit is set (ONNX's default).
    Up,
    /// Always down (the exponent field as it is).
    Down,
    /// Up when the mantissa's top bit is set and a lower bit is set or the value is
    /// normal (ONNX's `nearest`).
    Nearest,
}

/// A bitwise function of [`bitwise`](crate::kernels::portable::bitwise) on integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// a & b.
    And,
    /// a | b.
    Or,
    /// a ^ b.
    Xor,
    /// a << b (0 once b reaches the width).
    ShiftLeft,
    /// a >> b, logical for unsigned and arithmetic for signed types (0, or −1 for a
    /// negative signed a, once b reaches the width).
    ShiftRight,
}

/// A running sum or product along the middle axis of `outer × len × inner`
/// ([`cumulative`](crate::kernels::portable::cumulative); ONNX CumSum and CumProd).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cumulative {
    /// Product of the extents before the axis.
    pub outer: usize,
    /// Extent of the axis.
    pub len: usize,
    /// Product of the extents after the axis.
    pub inner: usize,
    /// A running product (else a sum).
    pub product: bool,
    /// Each element leaves itself out (the first holds the identity).
    pub exclusive: bool,
    /// Run from the end of the axis toward its start.
    pub reverse: bool,
}

/// A separable resampling ([`resample_f32`](crate::kernels::portable::resample_f32);
/// ONNX Resize): along each axis `d`, output coordinate `o` reads `taps[d]` input
/// coordinates with weights, listed at `start[d] + o·taps[d] + k` of the kernel's index
/// and weight tables. An index of `u32::MAX` marks a coordinate outside the input
/// (`tf_crop_and_resize`): the output element is `extrapolation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resample {
    /// Axes in use (1..=MAX_RANK).
    pub rank: usize,
    /// Input extents.
    pub input: [usize; MAX_RANK],
    /// Output extents.
    pub output: [usize; MAX_RANK],
    /// Taps per output coordinate, per axis.
    pub taps: [usize; MAX_RANK],
    /// Where each axis' entries start in the tables.
    pub start: [usize; MAX_RANK],
    /// The value of elements outside the input.
    pub extrapolation: f32,
}

/// How a scatter combines an update with the element it lands on (ONNX `reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScatterOp {
    /// Replace it.
    None,
    /// Add to it.
    Add,
    /// Multiply it.
    Mul,
    /// Keep the larger.
    Max,
    /// Keep the smaller.
    Min,
}

/// The geometry of GatherND and ScatterND: `batch` blocks of `batch_stride` data
/// elements, each addressed by `count` index tuples of `k` components (data extents
/// `dims`, strides `strides` within the block); each tuple selects `slice` contiguous
/// elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexNd {
    /// Batch blocks.
    pub batch: usize,
    /// Data elements per batch block.
    pub batch_stride: usize,
    /// Index tuples per batch block.
    pub count: usize,
    /// Components per tuple (1..=MAX_RANK).
    pub k: usize,
    /// Data extents of the indexed axes.
    pub dims: [usize; MAX_RANK],
    /// Data strides of the indexed axes.
    pub strides: [usize; MAX_RANK],
    /// Elements each tuple selects.
    pub slice: usize,
}

/// The `k` largest (or smallest) elements along the middle axis of
/// `outer × len × inner` ([`top_k`](crate::kernels::portable::top_k); ONNX TopK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopK {
    /// Product of the extents before the axis.
    pub outer: usize,
    /// Extent of the axis.
    pub len: usize,
    /// Product of the extents after the axis.
    pub inner: usize,
    /// Elements kept per slice (at most `len`).
    pub k: usize,
    /// The largest (else the smallest).
    pub largest: bool,
}

/// How a tree ensemble combines the leaf values its trees reach, per target (ONNX-ML
/// `aggregate_function`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    /// The sum.
    Sum,
    /// The sum divided by the number of trees.
    Average,
    /// The smallest.
    Min,
    /// The largest.
    Max,
}

/// The bits of a tree node's mode byte ([`tree_ensemble`](crate::kernels::portable::tree_ensemble)):
/// the comparison in the low three bits, then flags.
pub mod tree_node {
    /// `x ≤ split` goes to the true child.
    pub const LEQ: u8 = 0;
    /// `x < split`.
    pub const LT: u8 = 1;
    /// `x ≥ split`.
    pub const GTE: u8 = 2;
    /// `x > split`.
    pub const GT: u8 = 3;
    /// `x = split`.
    pub const EQ: u8 = 4;
    /// `x ≠ split`.
    pub const NEQ: u8 = 5;
    /// `x` is one of a set: the node's split is the set's offset in the sets array,
    /// which holds the set's length and then its values.
    pub const MEMBER: u8 = 6;
    /// The bits holding the comparison.
    pub const COMPARISON: u8 = 7;
    /// A missing value (NaN) goes to the true child.
    pub const MISSING_TRUE: u8 = 8;
    /// The true child is a leaf (else a node).
    pub const TRUE_LEAF: u8 = 16;
    /// The false child is a leaf.
    pub const FALSE_LEAF: u8 = 32;
}

/// A tree ensemble packed as arrays ([`tree_ensemble`](crate::kernels::portable::tree_ensemble);
/// ONNX-ML TreeEnsemble, TreeEnsembleRegressor/Classifier): `rows × features` inputs
/// give `rows × targets` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeEnsemble {
    /// Input rows.
    pub rows: usize,
    /// Features per row.
    pub features: usize,
    /// Scores per row.
    pub targets: usize,
    /// Trees (one root each).
    pub trees: usize,
    /// Branch nodes of all trees.
    pub nodes: usize,
    /// Leaves of all trees.
    pub leaves: usize,
    /// How the trees' values combine.
    pub aggregate: Aggregate,
}

/// The transform ONNX-ML classifiers and regressors apply to their scores
/// (`post_transform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    /// None.
    None,
    /// `1 / (1 + e^-s)` per score.
    Logistic,
    /// Softmax over a row.
    Softmax,
    /// Softmax over a row in which zeros stay zero.
    SoftmaxZero,
    /// `√2 · erfinv(2s − 1)` per score (onnxruntime's erfinv approximation).
    Probit,
}

/// How a classifier picks its label from a row of scores and what it writes as
/// probabilities ([`ml_classify_f32`](crate::kernels::portable::ml_classify_f32)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRule {
    /// The label of the first largest score; the scores, transformed, are the
    /// probabilities.
    ArgMax,
    /// Two score columns: `labels[1]` when the second exceeds the threshold, else
    /// `labels[0]`; both transformed are the probabilities.
    SecondAbove,
    /// One score `s`: `labels[1]` when it exceeds the threshold, else `labels[0]`;
    /// the probabilities are `[1 − s, s]`.
    OneMinus,
    /// One score `s`: `labels[1]` when it exceeds the threshold, else `labels[0]`;
    /// the probabilities are `[σ(−s), σ(s)]` with a logistic transform, else `[−s, s]`.
    Negate,
}

/// A classifier's last step: labels and probabilities from scores
/// ([`ml_classify_f32`](crate::kernels::portable::ml_classify_f32)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlClassify {
    /// Rows.
    pub rows: usize,
    /// Score columns read per row (1 for the one-score rules).
    pub columns: usize,
    /// Classes: probability columns written per row, and labels.
    pub classes: usize,
    /// The transform of the scores.
    pub post: PostTransform,
    /// How the label is chosen.
    pub rule: LabelRule,
    /// The threshold of the binary rules.
    pub threshold: f32,
}

/// A post transform of `rows × columns` scores
/// ([`ml_transform_f32`](crate::kernels::portable::ml_transform_f32)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlTransform {
    /// Rows.
    pub rows: usize,
    /// Scores per row.
    pub columns: usize,
    /// The transform.
    pub post: PostTransform,
}

/// The kernel function of a support vector machine (ONNX-ML `kernel_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvmKernelKind {
    /// `x·v`.
    Linear,
    /// `(γ x·v + c)^degree`.
    Poly,
    /// `e^(−γ ‖x − v‖²)`.
    Rbf,
    /// `tanh(γ x·v + c)`.
    Sigmoid,
}

/// Kernel values of `rows` inputs against `vectors` support vectors of `features`
/// each ([`svm_kernel_f32`](crate::kernels::portable::svm_kernel_f32)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SvmKernel {
    /// Input rows.
    pub rows: usize,
    /// Support vectors.
    pub vectors: usize,
    /// Features per row and vector.
    pub features: usize,
    /// The kernel function.
    pub kind: SvmKernelKind,
    /// γ.
    pub gamma: f32,
    /// The constant term c.
    pub coef0: f32,
    /// The degree of the polynomial kernel.
    pub degree: f32,
}

/// A one-against-one SVM classifier's last step: votes, probabilities and labels from
/// the `classes·(classes−1)/2` pairwise decision values of each row
/// ([`svm_classify_f32`](crate::kernels::portable::svm_classify_f32)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvmClassify {
    /// Rows.
    pub rows: usize,
    /// Classes.
    pub classes: usize,
    /// Probabilities by Platt scaling (`prob_a`, `prob_b`) and pairwise coupling;
    /// else the decision values are the scores.
    pub probabilities: bool,
    /// The transform of the scores.
    pub post: PostTransform,
}

impl SvmClassify {
    /// Score columns written per row.
    pub const fn columns(&self) -> usize {
        if self.probabilities || self.classes == 2 {
            self.classes
        } else {
            self.classes * (self.classes.saturating_sub(1)) / 2
        }
    }
}
