//! SVMRegressor and SVMClassifier (support-vector mode): the kernel function of each
//! input row with every support vector ([`SvmKernel`]), a GEMM with the dual
//! coefficients (for a classifier, one column per pair of classes, assembled at
//! compile time) plus `rho`, and for a classifier the vote and probability step
//! ([`SvmClassify`]).

use super::linear::{f32_rows, push_gemm};
use super::{class_labels, matrix, post_transform, MlTransform};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::logic::{Compare, Where};
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, OpDef, OpResult};
use tinyops_runtime::kernels::portable::{svm_classify_f32, svm_kernel_f32};
use tinyops_runtime::kernels::{
    CompareOp, PostTransform, SvmClassify as ClassifyParams, SvmKernel as KernelParams, SvmKernelKind,
};

/// Kernel values: input 0 the `rows × features` f32 inputs, input 1 the `vectors ×
/// features` support vectors (a constant); output `rows × vectors`.
#[derive(Debug, Clone, PartialEq)]
pub struct SvmKernel {
    /// The kernel function.
    pub kind: SvmKernelKind,
    /// γ.
    pub gamma: f32,
    /// The constant term.
    pub coef0: f32,
    /// The polynomial degree.
    pub degree: f32,
}

impl SvmKernel {
    fn params(&self, x: &TensorType, sv: &TensorType) -> OpResult<KernelParams> {
        let (rows, features) = matrix(x)?;
        let [vectors, f] = sv.shape[..] else { invalid!("support vectors of shape {sv}") };
        if f != features {
            invalid!("support vectors of {f} features for inputs of {features}");
        }
        Ok(KernelParams {
            rows,
            vectors,
            features,
            kind: self.kind,
            gamma: self.gamma,
            coef0: self.coef0,
            degree: self.degree,
        })
    }
}

impl OpDef for SvmKernel {
    fn name(&self) -> &'static str {
        "svm_kernel"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("kind", format!("{:?}", self.kind).to_lowercase()),
            ("gamma", self.gamma.to_string()),
            ("coef0", self.coef0.to_string()),
            ("degree", self.degree.to_string()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, sv) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if x.dtype != DType::F32 || sv.dtype != DType::F32 {
            invalid!("svm_kernel of {x} and {sv}");
        }
        let p = self.params(x, sv)?;
        Ok(vec![TensorType::new(DType::F32, vec![p.rows, p.vectors])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, sv) = (data(inputs, 0)?, data(inputs, 1)?);
        let p = self.params(&x.ty(), &sv.ty())?;
        let mut k = vec![0f32; p.rows * p.vectors];
        svm_kernel_f32(&p, &sv.data.to_f32_vec(), &x.data.to_f32_vec(), &mut k);
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F32(k) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = self.params(cx.input(0)?.ty, cx.input(1)?.ty)?;
        Ok(vec![invoke(Kernel::SvmKernelF32 { p }, [Slot::In(1), Slot::In(0)], [Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], _: &[TensorType]) -> u64 {
        match (inputs.first(), inputs.get(1)) {
            (Some(Some(x)), Some(Some(sv))) => (x.numel() * sv.shape.first().copied().unwrap_or(0)) as u64,
            _ => 0,
        }
    }
}

/// The vote and probability step of a one-against-one classifier: inputs the class
/// labels (i64), `prob_a`, `prob_b` (one per pair; unused without probabilities) and
/// the `rows × pairs` decision values; outputs the labels and the scores.
#[derive(Debug, Clone, PartialEq)]
pub struct SvmClassify {
    /// Classes.
    pub classes: usize,
    /// Platt probabilities, coupled.
    pub probabilities: bool,
    /// The transform of the scores.
    pub post: PostTransform,
}

impl SvmClassify {
    fn params(&self, d: &TensorType) -> OpResult<ClassifyParams> {
        let (rows, pairs) = matrix(d)?;
        if pairs != self.classes * (self.classes - 1) / 2 {
            invalid!("{pairs} decision values for {} classes", self.classes);
        }
        Ok(ClassifyParams { rows, classes: self.classes, probabilities: self.probabilities, post: self.post })
    }
}

impl OpDef for SvmClassify {
    fn name(&self) -> &'static str {
        "svm_classify"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("classes", self.classes.to_string()),
            ("probabilities", self.probabilities.to_string()),
            ("post", super::transform_name(self.post).into()),
        ]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let d = req(inputs, 3)?.ty;
        if self.classes < 2 || d.dtype != DType::F32 {
            invalid!("svm_classify of {} classes and {d} decisions", self.classes);
        }
        let p = self.params(d)?;
        Ok(vec![TensorType::new(DType::I64, vec![p.rows]), TensorType::new(DType::F32, vec![p.rows, p.columns()])])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let d = data(inputs, 3)?;
        let p = self.params(&d.ty())?;
        let v = |i: usize| -> OpResult<Vec<f32>> { Ok(data(inputs, i)?.data.to_f32_vec()) };
        let (mut l, mut s) = (vec![0i64; p.rows], vec![0f32; p.rows * p.columns()]);
        let mut scratch = vec![0f32; p.classes * p.classes + p.classes];
        let labels = data(inputs, 0)?.data.to_i64_vec();
        svm_classify_f32(&p, &labels, &v(1)?, &v(2)?, &v(3)?, &mut l, &mut s, &mut scratch);
        Ok(vec![
            Tensor { shape: out[0].shape.clone(), data: Data::I64(l) },
            Tensor { shape: out[1].shape.clone(), data: Data::F32(s) },
        ])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let p = self.params(cx.input(3)?.ty)?;
        Ok(vec![invoke(
            Kernel::SvmClassifyF32 { p },
            [Slot::In(0), Slot::In(1), Slot::In(2), Slot::In(3)],
            [Slot::Out(0), Slot::Out(1), Slot::Scratch(DType::F32)],
        )])
    }
}

/// The kernel attributes: type and `[γ, coef0, degree]`.
fn kernel_of(cx: &NodeCx) -> OpResult<SvmKernel> {
    let kind = match cx.string("kernel_type", "LINEAR")?.as_str() {
        "LINEAR" => SvmKernelKind::Linear,
        "POLY" => SvmKernelKind::Poly,
        "RBF" => SvmKernelKind::Rbf,
        "SIGMOID" => SvmKernelKind::Sigmoid,
        other => invalid!("kernel_type `{other}`"),
    };
    let kp = cx.floats("kernel_params")?.unwrap_or_default();
    let at = |i: usize, d: f32| kp.get(i).copied().unwrap_or(d);
    Ok(SvmKernel { kind, gamma: at(0, 0.0), coef0: at(1, 0.0), degree: at(2, 0.0) })
}

/// The support vectors as a `vectors × features` constant.
fn support_vectors(cx: &NodeCx, vectors: usize, features: usize) -> OpResult<Tensor> {
    let sv = cx.floats("support_vectors")?.unwrap_or_default();
    if sv.len() != vectors * features {
        invalid!("{} support-vector values for {vectors} vectors of {features} features", sv.len());
    }
    Ok(Tensor::f32(vec![vectors, features], sv))
}

/// SVMRegressor: `Σ coefficients·K(x, v) + rho` (or, without support vectors,
/// `x·coefficients + rho`), then the probit if asked; `one_class` gives ±1.
pub fn import_regressor(cx: &NodeCx) -> OpResult<Lowered> {
    let mut nodes = vec![];
    let (x, features) = f32_rows(cx, &mut nodes)?;
    let coef = cx.floats("coefficients")?.unwrap_or_default();
    let vectors = usize::try_from(cx.int("n_supports", 0)?).unwrap_or(0);
    let rho = cx.floats("rho")?.unwrap_or_default();
    let Some(&rho) = rho.first() else { invalid!("`rho` is required") };
    let rho = Tensor::f32(vec![1], vec![rho]);
    let g = if vectors > 0 {
        if coef.len() != vectors {
            invalid!("{} coefficients for {vectors} support vectors", coef.len());
        }
        nodes.push(SubNode {
            op: kernel_of(cx)?.into(),
            inputs: vec![Some(x), Some(Src::Const(support_vectors(cx, vectors, features)?))],
        });
        let k = Src::Node(nodes.len() - 1, 0);
        push_gemm(&mut nodes, k, Tensor::f32(vec![1, vectors], coef), Some(rho))
    } else {
        if coef.len() != features {
            invalid!("{} coefficients for {features} features", coef.len());
        }
        push_gemm(&mut nodes, x, Tensor::f32(vec![1, features], coef), Some(rho))
    };
    let mut last = g;
    if post_transform(cx)? == PostTransform::Probit {
        nodes.push(SubNode {
            op: MlTransform { post: PostTransform::Probit }.into(),
            inputs: vec![Some(Src::Node(g, 0))],
        });
        last = nodes.len() - 1;
    }
    if cx.int("one_class", 0)? != 0 {
        let f = |v: f32| Some(Src::Const(Tensor::scalar(Data::F32(vec![v]))));
        nodes.push(SubNode {
            op: Compare { op: CompareOp::Greater }.into(),
            inputs: vec![Some(Src::Node(last, 0)), f(0.0)],
        });
        nodes.push(SubNode { op: Where.into(), inputs: vec![Some(Src::Node(nodes.len() - 1, 0)), f(1.0), f(-1.0)] });
    }
    Ok(Lowered::Nodes(nodes))
}

/// SVMClassifier with support vectors: one decision value per pair of classes, the
/// label of the class with most votes, and Platt probabilities coupled across pairs
/// when `prob_a`/`prob_b` are given (else the decision values).
pub fn import_classifier(cx: &NodeCx) -> OpResult<Lowered> {
    let labels = class_labels(cx, "classlabels_ints", "classlabels_strings")?;
    let c = labels.len();
    let coef = cx.floats("coefficients")?.unwrap_or_default();
    let mut per_class = vec![];
    for v in cx.ints("vectors_per_class")?.unwrap_or_default() {
        match usize::try_from(v) {
            Ok(v) if v <= coef.len() => per_class.push(v),
            _ => invalid!("vectors_per_class holds {v} for {} coefficients", coef.len()),
        }
    }
    let vectors: usize = per_class.iter().sum();
    if vectors == 0 {
        unsupported!("SVMClassifier without support vectors (linear mode)");
    }
    if per_class.len() != c || c < 2 {
        invalid!("{} vectors_per_class entries for {c} classes", per_class.len());
    }
    let mut nodes = vec![];
    let (x, features) = f32_rows(cx, &mut nodes)?;
    if Some(coef.len()) != (c - 1).checked_mul(vectors) {
        invalid!("{} coefficients for {c} classes and {vectors} support vectors", coef.len());
    }
    let pairs = c * (c - 1) / 2;
    if pairs.saturating_mul(vectors).saturating_mul(4) > crate::ir::MAX_TENSOR_BYTES {
        unsupported!("{c} classes of {vectors} support vectors (the pairwise weights exceed the tensor limit)");
    }
    let rho = cx.floats("rho")?.unwrap_or_default();
    if rho.len() < pairs {
        invalid!("{} rho values for {pairs} pairs of classes", rho.len());
    }
    let (a, b) = (cx.floats("prob_a")?.unwrap_or_default(), cx.floats("prob_b")?.unwrap_or_default());
    let probabilities = !a.is_empty();
    if probabilities && (a.len() < pairs || b.len() < pairs) {
        invalid!("prob_a/prob_b hold {}/{} values for {pairs} pairs", a.len(), b.len());
    }
    let post = post_transform(cx)?;
    if !probabilities && c == 2 && post != PostTransform::None {
        unsupported!("{post:?} for two classes without probabilities");
    }
    // Decision weights, `pairs × vectors` (a GEMM with B transposed): for the pair
    // (i, j), class i's vectors weighted by coefficient row j − 1, class j's by row i.
    let start: Vec<usize> = per_class.iter().scan(0, |s, &n| Some(std::mem::replace(s, *s + n))).collect();
    let mut w = vec![0f32; pairs * vectors];
    let mut p = 0;
    for i in 0..c {
        for j in i + 1..c {
            for v in start[i]..start[i] + per_class[i] {
                w[p * vectors + v] = coef[(j - 1) * vectors + v];
            }
            for v in start[j]..start[j] + per_class[j] {
                w[p * vectors + v] = coef[i * vectors + v];
            }
            p += 1;
        }
    }
    nodes.push(SubNode {
        op: kernel_of(cx)?.into(),
        inputs: vec![Some(x), Some(Src::Const(support_vectors(cx, vectors, features)?))],
    });
    let k = Src::Node(nodes.len() - 1, 0);
    let g = push_gemm(
        &mut nodes,
        k,
        Tensor::f32(vec![pairs, vectors], w),
        Some(Tensor::f32(vec![pairs], rho[..pairs].to_vec())),
    );
    let pad = |v: Vec<f32>| Tensor::f32(vec![v.len().max(1)], if v.is_empty() { vec![0.0] } else { v });
    nodes.push(SubNode {
        op: SvmClassify { classes: c, probabilities, post }.into(),
        inputs: vec![
            Some(Src::Const(Tensor { shape: vec![c], data: Data::I64(labels) })),
            Some(Src::Const(pad(a))),
            Some(Src::Const(pad(b))),
            Some(Src::Node(g, 0)),
        ],
    });
    Ok(Lowered::Nodes(nodes))
}
