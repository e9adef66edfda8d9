//! Operators. Each op family has one file holding everything about it: the ONNX
//! import (attributes → typed op), shape and type inference, the reference
//! semantics used for constant folding and testing, and the lowering to kernel
//! invocations ([`crate::lower`]). Adding an op touches its family file and one line of
//! [`registry`].

pub mod registry;

pub mod activation;
pub mod attention;
pub mod binary;
pub mod bitwise;
pub mod compose;
pub mod compose_einsum;
pub mod compose_grid;
pub mod compose_index;
pub mod compose_norm;
pub mod compose_rnn;
pub mod compose_spatial;
pub mod conv;
pub mod cumulative;
pub mod gemm;
pub mod index;
pub mod int8;
pub mod layout;
pub mod logic;
pub mod loss;
pub mod lstm;
pub mod ml;
pub mod norm;
pub mod pool;
pub mod quant;
pub mod quant_float;
pub mod reduce;
pub mod resize;
pub mod sample;
pub mod scatter;
pub mod shape;
pub mod signal;
pub mod softmax;
pub mod tfidf;
pub mod topk;
pub mod training;

use crate::ir::{Tensor, TensorType};
use crate::lower::{Invocation, LowerCx};
use std::fmt;

/// An operand as an op sees it: its type, and its data when it is a constant.
#[derive(Debug, Clone, Copy)]
pub struct Arg<'a> {
    /// Static type.
    pub ty: &'a TensorType,
    /// Data, for constants (and always during evaluation).
    pub value: Option<&'a Tensor>,
}

/// Why an op rejects its operands or attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The node is inconsistent (wrong rank, mismatched shapes, bad attribute).
    Invalid(String),
    /// A legal use of the op that tinyops does not implement.
    Unsupported(String),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpError::Invalid(s) | OpError::Unsupported(s) => f.write_str(s),
        }
    }
}

/// Result of op methods.
pub type OpResult<T> = Result<T, OpError>;

/// Returns `OpError::Invalid` with a formatted message.
macro_rules! invalid {
    ($($t:tt)*) => { return Err($crate::ops::OpError::Invalid(format!($($t)*))) };
}
/// Returns `OpError::Unsupported` with a formatted message.
macro_rules! unsupported {
    ($($t:tt)*) => { return Err($crate::ops::OpError::Unsupported(format!($($t)*))) };
}
pub(crate) use {invalid, unsupported};

/// What every IR op provides.
pub trait OpDef: fmt::Debug {
    /// The name in IR text (`conv`, `gemm`, ...).
    fn name(&self) -> &'static str;

    /// Attributes for IR text, in a fixed order.
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![]
    }

    /// Output types from input types (and constant inputs' data).
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>>;

    /// Reference semantics: outputs from input data. Every input has `value` set.
    fn eval(&self, inputs: &[Option<Arg>], outputs: &[TensorType]) -> OpResult<Vec<Tensor>>;

    /// The kernel invocations that compute this node, naming operands by slot. The
    /// lowering resolves the slots, chooses each kernel's implementation for the
    /// target and checks every operand; ops know nothing of backends.
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>>;

    /// Multiply-accumulate operations per run (0 for ops without MACs).
    fn macs(&self, _inputs: &[Option<&TensorType>], _outputs: &[TensorType]) -> u64 {
        0
    }

    /// True when output 0 has exactly the bytes of input 0 (a reshape): the planner
    /// gives both one buffer and no code runs unless a copy is needed.
    fn is_view(&self) -> bool {
        false
    }

    /// False for ops that must not fold at import even on constant inputs
    /// (DequantizeLinear of weights: the quantisation pass needs to see them).
    fn folds_at_import(&self) -> bool {
        true
    }

    /// True when the outputs depend only on input types, not data (`Shape`), so the
    /// node folds to a constant even when its input is computed at run time.
    fn folds_from_types(&self) -> bool {
        false
    }
}

/// The kind of arithmetic a node performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// Integer kernels (quantised compute).
    Integer,
    /// Float kernels.
    Float,
    /// Data movement only (reshape, transpose, concat, …).
    Movement,
    /// Conversion between float and integer (QuantizeLinear, DequantizeLinear).
    Convert,
}

impl Arith {
    /// The word `inspect` prints.
    pub fn label(self) -> &'static str {
        match self {
            Arith::Integer => "int",
            Arith::Float => "float",
            Arith::Movement => "move",
            Arith::Convert => "convert",
        }
    }
}

macro_rules! define_ops {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        /// An IR operation. Each variant's struct lives in its family module.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Op {
            $(
                #[allow(missing_docs)]
                $variant($ty),
            )*
        }

        impl Op {
            /// The op as its trait object, for the generic passes.
            pub fn def(&self) -> &dyn OpDef {
                match self {
                    $(Op::$variant(o) => o,)*
                }
            }
        }

        $(
            impl From<$ty> for Op {
                fn from(o: $ty) -> Op {
                    Op::$variant(o)
                }
            }
        )*
    };
}

define_ops! {
    Conv(conv::Conv),
    Gemm(gemm::Gemm),
    MatMul(gemm::MatMul),
    Binary(binary::Binary),
    Unary(activation::Unary),
    Clip(activation::Clip),
    Softmax(softmax::Softmax),
    Pool(pool::Pool),
    GlobalPool(pool::GlobalPool),
    BatchNorm(norm::BatchNorm),
    ChannelAffine(norm::ChannelAffine),
    Reshape(layout::Reshape),
    Transpose(layout::Transpose),
    Concat(layout::Concat),
    Pad(layout::Pad),
    Slice(layout::Slice),
    Gather(layout::Gather),
    Expand(layout::Expand),
    Shape(shape::ShapeOf),
    Cast(shape::Cast),
    ConstantOfShape(shape::ConstantOfShape),
    Range(shape::Range),
    Lstm(lstm::Lstm),
    LayerNorm(norm::LayerNorm),
    Loss(loss::Loss),
    GatherIndexed(index::GatherIndexed),
    GatherElements(index::GatherElements),
    Split(layout::Split),
    Trilu(layout::Trilu),
    Compare(logic::Compare),
    Logic(logic::Logic),
    Not(logic::Not),
    Where(logic::Where),
    Classify(logic::Classify),
    Reduce(reduce::Reduce),
    ArgReduce(reduce::ArgReduce),
    Dequantize(quant::Dequantize),
    Quantize(quant::Quantize),
    QConv(int8::conv::QConv),
    QGemm(int8::gemm::QGemm),
    QBinary(int8::binary::QBinary),
    QPool(int8::pool::QPool),
    QGlobalAvgPool(int8::pool::QGlobalAvgPool),
    QSoftmax(int8::softmax::QSoftmax),
    QTable(int8::table::QTable),
    Bitwise(bitwise::Bitwise),
    BitCast(bitwise::BitCast),
    Cumulative(cumulative::Cumulative),
    Resize(resize::Resize),
    DeformConv(sample::DeformConv),
    RoiAlign(sample::RoiAlign),
    ScatterElements(scatter::ScatterElements),
    ScatterNd(scatter::ScatterNd),
    GatherNd(scatter::GatherNd),
    TopK(topk::TopK),
    TreeEnsemble(ml::tree::TreeEnsemble),
    MlClassify(ml::MlClassify),
    MlTransform(ml::MlTransform),
    SvmKernel(ml::svm::SvmKernel),
    SvmClassify(ml::svm::SvmClassify),
}

impl Op {
    /// Shorthand for `self.def().name()`.
    pub fn name(&self) -> &'static str {
        self.def().name()
    }

    /// What kind of arithmetic the op does on these results, for `inspect` and
    /// `--require-int8`: data movement and conversions by op, compute by result type.
    /// A new data-movement op belongs in the first arm.
    pub fn arith(&self, outputs: &[TensorType]) -> Arith {
        match self {
            Op::Reshape(_)
            | Op::Transpose(_)
            | Op::Concat(_)
            | Op::Pad(_)
            | Op::Slice(_)
            | Op::Gather(_)
            | Op::Expand(_)
            | Op::Shape(_)
            | Op::Cast(_)
            | Op::ConstantOfShape(_)
            | Op::Range(_)
            | Op::Split(_)
            | Op::GatherIndexed(_)
            | Op::GatherElements(_)
            | Op::Trilu(_)
            | Op::BitCast(_)
            | Op::GatherNd(_) => Arith::Movement,
            Op::Quantize(_) | Op::Dequantize(_) => Arith::Convert,
            _ if outputs.iter().any(|t| t.dtype == crate::ir::DType::F32) => Arith::Float,
            _ => Arith::Integer,
        }
    }
}

/// Helpers shared by op implementations.
pub(crate) mod util {
    use super::{Arg, OpError, OpResult};
    use crate::ir::{DType, Tensor, TensorType};

    /// The required input `i`.
    pub fn req<'a>(inputs: &'a [Option<Arg<'a>>], i: usize) -> OpResult<&'a Arg<'a>> {
        match inputs.get(i) {
            Some(Some(a)) => Ok(a),
            _ => Err(OpError::Invalid(format!("input {i} is required"))),
        }
    }

    /// The data of input `i` (present during evaluation).
    pub fn data<'a>(inputs: &'a [Option<Arg<'a>>], i: usize) -> OpResult<&'a Tensor> {
        req(inputs, i)?.value.ok_or_else(|| OpError::Invalid(format!("input {i} has no data")))
    }

    /// The f32 data of input `i`.
    pub fn f32s<'a>(inputs: &'a [Option<Arg<'a>>], i: usize) -> OpResult<&'a [f32]> {
        let t = data(inputs, i)?;
        t.as_f32().ok_or_else(|| OpError::Invalid(format!("input {i} is {}, expected f32", t.dtype())))
    }

    /// The element type of input `i`, which must be f32 or f64 (the float types the
    /// kernels compute in without widening).
    pub fn expect_float(inputs: &[Option<Arg>], i: usize) -> OpResult<DType> {
        let a = req(inputs, i)?;
        if !matches!(a.ty.dtype, DType::F32 | DType::F64) {
            return Err(OpError::Invalid(format!("input {i} has element type {}, expected f32 or f64", a.ty.dtype)));
        }
        Ok(a.ty.dtype)
    }

    /// The data of input `i` read as f64 (any number type).
    pub fn f64s(inputs: &[Option<Arg>], i: usize) -> OpResult<Vec<f64>> {
        let t = data(inputs, i)?;
        Ok((0..t.numel()).map(|k| t.data.get_f64(k)).collect())
    }

    /// Fails unless input `i` has the given element type.
    pub fn expect_dtype(inputs: &[Option<Arg>], i: usize, dtype: DType) -> OpResult<()> {
        let a = req(inputs, i)?;
        if a.ty.dtype != dtype {
            return Err(OpError::Invalid(format!("input {i} has element type {}, expected {dtype}", a.ty.dtype)));
        }
        Ok(())
    }

    /// Resolves a possibly negative axis against a rank.
    pub fn axis(axis: i64, rank: usize) -> OpResult<usize> {
        let r = rank as i64;
        if axis < -r || axis >= r {
            invalid!("axis {axis} is out of range for rank {rank}");
        }
        Ok(if axis < 0 { (axis + r) as usize } else { axis as usize })
    }

    /// Numpy-style broadcast of two shapes.
    pub fn broadcast(a: &[usize], b: &[usize]) -> OpResult<Vec<usize>> {
        let n = a.len().max(b.len());
        let mut out = vec![0; n];
        for i in 0..n {
            let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            out[i] = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                invalid!("shapes {a:?} and {b:?} do not broadcast");
            };
        }
        Ok(out)
    }

    /// For each output element index, the index into an input of shape `src` that is
    /// broadcast to `dst` (numpy rules).
    pub fn broadcast_index(src: &[usize], dst: &[usize]) -> Vec<usize> {
        let n = crate::ir::numel(dst);
        let offset = dst.len() - src.len();
        let sstr = crate::ir::strides(src);
        let mut out = Vec::with_capacity(n);
        let mut idx = vec![0usize; dst.len()];
        for _ in 0..n {
            let mut s = 0;
            for (k, &st) in sstr.iter().enumerate() {
                if src[k] != 1 {
                    s += idx[k + offset] * st;
                }
            }
            out.push(s);
            for d in (0..dst.len()).rev() {
                idx[d] += 1;
                if idx[d] < dst[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        out
    }

    /// A type like `t` with another shape (quantisation kept).
    pub fn reshaped(t: &TensorType, shape: Vec<usize>) -> TensorType {
        TensorType { dtype: t.dtype, shape, quant: t.quant.clone() }
    }

    /// Renders a list for IR text.
    pub fn list<T: std::fmt::Display>(v: &[T]) -> String {
        let items: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        format!("[{}]", items.join(","))
    }
}
