//! The ONNX-ML operators (domain `ai.onnx.ml`): what scikit-learn models exported by
//! skl2onnx are made of. Tree ensembles (`tree.rs`) run as one kernel over arrays
//! packed at compile time; classifiers end in [`MlClassify`] (labels and
//! probabilities from scores, by onnxruntime's rules); support vector machines
//! (`svm.rs`) are a kernel-value step, a GEMM and (classifiers) a voting step; the
//! linear models and preprocessors (`linear.rs`, `prep.rs`) are compositions of
//! ordinary IR ops.
//!
//! String tensors (string class labels, string keys) are refused: generated code has
//! no strings. ZipMap's sequence of maps is compiled as the probability tensor it is
//! made from.

pub mod linear;
pub mod prep;
pub mod svm;
pub mod tree;

use super::util::{data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::NodeCx;
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::portable::{ml_classify_f32, ml_transform_f32};
use tinyops_runtime::kernels::{
    LabelRule, MlClassify as ClassifyParams, MlTransform as TransformParams, PostTransform,
};

/// A `post_transform` attribute: a string before ai.onnx.ml 5, an integer after.
pub fn post_transform(cx: &NodeCx) -> OpResult<PostTransform> {
    let name = if cx.has("post_transform") && cx.int("post_transform", 0).is_ok() {
        match cx.int("post_transform", 0)? {
            0 => "NONE",
            1 => "SOFTMAX",
            2 => "LOGISTIC",
            3 => "SOFTMAX_ZERO",
            4 => "PROBIT",
            v => invalid!("post_transform {v}"),
        }
        .to_string()
    } else {
        cx.string("post_transform", "NONE")?
    };
    Ok(match name.as_str() {
        "NONE" => PostTransform::None,
        "SOFTMAX" => PostTransform::Softmax,
        "LOGISTIC" => PostTransform::Logistic,
        "SOFTMAX_ZERO" => PostTransform::SoftmaxZero,
        "PROBIT" => PostTransform::Probit,
        other => invalid!("post_transform `{other}`"),
    })
}

/// The integer class labels (`classlabels_int64s` or `classlabels_ints`, by op); string
/// labels are refused.
pub fn class_labels(cx: &NodeCx, ints: &str, strings: &str) -> OpResult<Vec<i64>> {
    if cx.has(strings) {
        unsupported!("string tensors: string class labels (`{strings}`); only integer labels compile");
    }
    match cx.ints(ints)? {
        Some(v) if !v.is_empty() => Ok(v),
        _ => invalid!("`{ints}` is required"),
    }
}

/// Fails on every attribute whose name says it holds strings.
pub fn refuse_strings(cx: &NodeCx, names: &[&str]) -> OpResult<()> {
    for n in names {
        if cx.has(n) {
            unsupported!("string tensors (`{n}`)");
        }
    }
    Ok(())
}

/// A float-list attribute, or its `_as_tensor` twin (double precision), as f64.
pub fn floats_or_tensor(cx: &NodeCx, name: &str) -> OpResult<Option<Vec<f64>>> {
    if let Some(v) = cx.floats(name)? {
        return Ok(Some(v.into_iter().map(f64::from).collect()));
    }
    Ok(cx.tensor(&format!("{name}_as_tensor"))?.map(|t| (0..t.numel()).map(|i| t.data.get_f64(i)).collect()))
}

/// The input as a `rows × features` f32 matrix description: (rows, features).
pub fn matrix(x: &TensorType) -> OpResult<(usize, usize)> {
    match x.shape[..] {
        [n, f] => Ok((n, f)),
        [f] => Ok((1, f)),
        _ => unsupported!("an input of rank {} (1 or 2 is required)", x.rank()),
    }
}

pub(super) fn transform_name(p: PostTransform) -> &'static str {
    match p {
        PostTransform::None => "none",
        PostTransform::Logistic => "logistic",
        PostTransform::Softmax => "softmax",
        PostTransform::SoftmaxZero => "softmax_zero",
        PostTransform::Probit => "probit",
    }
}

/// A classifier's last step: input 0 the class labels (i64 constant), input 1 the
/// `rows × columns` scores; outputs the labels (i64, `rows`) and the probabilities
/// (f32, `rows × classes`).
#[derive(Debug, Clone, PartialEq)]
pub struct MlClassify {
    /// Classes.
    pub classes: usize,
    /// The transform of the scores.
    pub post: PostTransform,
    /// How the label is chosen.
    pub rule: LabelRule,
    /// The threshold of the binary rules.
    pub threshold: f32,
}

impl MlClassify {
    fn params(&self, scores: &TensorType) -> OpResult<ClassifyParams> {
        let (rows, columns) = matrix(scores)?;
        Ok(ClassifyParams {
            rows,
            columns,
            classes: self.classes,
            post: self.post,
            rule: self.rule,
            threshold: self.threshold,
        })
    }
}

impl OpDef for MlClassify {
    fn name(&self) -> &'static str {
        "ml_classify"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("classes", self.classes.to_string()),
            ("post", transform_name(self.post).into()),
            ("rule", format!("{:?}", self.rule)),
            ("threshold", self.threshold.to_string()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (labels, s) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if labels.dtype != DType::I64 || labels.numel() < self.classes || s.dtype != DType::F32 {
            invalid!("ml_classify of {labels} labels and {s} scores");
        }
        let p = self.params(s)?;
        let ok = match self.rule {
            LabelRule::ArgMax => p.columns == p.classes,
            LabelRule::SecondAbove => p.columns == 2 && p.classes == 2,
            LabelRule::OneMinus | LabelRule::Negate => {
                p.columns == 1 && p.classes == 2 && self.post != PostTransform::Probit
            }
        };
        if !ok {
            invalid!("{:?} with {} score columns for {} classes", self.rule, p.columns, p.classes);
        }
        Ok(vec![TensorType::new(DType::I64, vec![p.rows]), TensorType::new(DType::F32, vec![p.rows, p.classes])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (labels, s) = (data(inputs, 0)?, data(inputs, 1)?);
        let p = self.params(&s.ty())?;
        let (mut l, mut pr) = (vec![0i64; p.rows], vec![0f32; p.rows * p.classes]);
        ml_classify_f32(&p, &labels.data.to_i64_vec(), &s.data.to_f32_vec(), &mut l, &mut pr);
        Ok(vec![
            Tensor { shape: out[0].shape.clone(), data: Data::I64(l) },
            Tensor { shape: out[1].shape.clone(), data: Data::F32(pr) },
        ])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = self.params(cx.input(1)?.ty)?;
        Ok(vec![invoke(Kernel::MlClassifyF32 { p }, [Slot::In(0), Slot::In(1)], [Slot::Out(0), Slot::Out(1)])])
    }
}

/// A post transform of `rows × columns` f32 scores (only the probit for one column,
/// as onnxruntime's regressors).
#[derive(Debug, Clone, PartialEq)]
pub struct MlTransform {
    /// The transform.
    pub post: PostTransform,
}

impl OpDef for MlTransform {
    fn name(&self) -> &'static str {
        "ml_transform"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("post", transform_name(self.post).into())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != DType::F32 {
            unsupported!("post transforms of {} scores", x.dtype);
        }
        matrix(x)?;
        Ok(vec![x.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let (rows, columns) = matrix(&x.ty())?;
        let mut y = vec![0f32; x.numel()];
        ml_transform_f32(&TransformParams { rows, columns, post: self.post }, &x.data.to_f32_vec(), &mut y);
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F32(y) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (rows, columns) = matrix(cx.input(0)?.ty)?;
        let p = TransformParams { rows, columns, post: self.post };
        Ok(vec![invoke(Kernel::MlTransformF32 { p }, [Slot::In(0)], [Slot::Out(0)])])
    }
}
