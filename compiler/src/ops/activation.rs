//! Elementwise activations: the clamp family (Relu, Clip) and unary float functions
//! (Sigmoid, Tanh, Exp, Log, Sqrt, Neg, Abs, Reciprocal, LeakyRelu, HardSigmoid,
//! HardSwish, Softplus). Identity and Dropout import as plain forwarding.

use super::util::{expect_dtype, f32s, req};
use super::{Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx, Src};
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Clamp, IntUnary, UnaryFn};

/// A clamp of the output, on its own (Relu, Clip) or fused into a producer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Act {
    /// Lower bound (−∞ for none).
    pub min: f32,
    /// Upper bound (+∞ for none).
    pub max: f32,
}

impl Act {
    /// No clamp.
    pub const NONE: Act = Act { min: f32::NEG_INFINITY, max: f32::INFINITY };
    /// ReLU.
    pub const RELU: Act = Act { min: 0.0, max: f32::INFINITY };

    /// True when this clamps nothing.
    pub fn is_none(&self) -> bool {
        *self == Act::NONE
    }

    /// Applies the clamp: `min(max(v, min), max)` (`max` wins when `min > max`, as in
    /// ONNX Clip; NaN passes through).
    pub fn apply(&self, v: f32) -> f32 {
        self.clamp().apply(v)
    }

    /// The clamp equal to `self` followed by `next`, if it is one clamp.
    pub fn then(&self, next: &Act) -> Option<Act> {
        let a = Act { min: self.min.max(next.min), max: self.max.min(next.max) };
        (a.min <= a.max).then_some(a)
    }

    /// IR text: `relu`, `relu6`, `clamp(lo,hi)`.
    pub fn text(&self) -> String {
        if *self == Act::RELU {
            "relu".into()
        } else if *self == (Act { min: 0.0, max: 6.0 }) {
            "relu6".into()
        } else {
            format!("clamp({},{})", self.min, self.max)
        }
    }

    /// The runtime's clamp parameter.
    pub fn clamp(&self) -> Clamp {
        Clamp { min: self.min, max: self.max }
    }
}

/// `y = clamp(x)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// The bounds.
    pub act: Act,
}

impl OpDef for Clip {
    fn name(&self) -> &'static str {
        "clip"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("act", self.act.text())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        Ok(vec![req(inputs, 0)?.ty.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = f32s(inputs, 0)?;
        Ok(vec![Tensor::f32(out[0].shape.clone(), x.iter().map(|&v| self.act.apply(v)).collect())])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        Ok(vec![invoke(Kernel::ClampF32 { act: self.act.clamp() }, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// A unary float function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryKind {
    /// 1/(1+e^−x).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// e^x.
    Exp,
    /// ln x.
    Log,
    /// √x.
    Sqrt,
    /// −x.
    Neg,
    /// |x|.
    Abs,
    /// 1/x.
    Reciprocal,
    /// x ≥ 0 ? x : αx.
    LeakyRelu(f32),
    /// clamp(αx + β, 0, 1).
    HardSigmoid(f32, f32),
    /// x · clamp(x/6 + 1/2, 0, 1).
    HardSwish,
    /// ln(1 + e^x).
    Softplus,
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
    /// Nearest integer, halves to even.
    Round,
    /// −1, 0 or 1.
    Sign,
    /// erf x.
    Erf,
    /// x / (1 + |x|).
    Softsign,
    /// x · tanh(softplus(x)).
    Mish,
    /// x · Φ(x).
    Gelu,
    /// x · Φ(x), tanh approximation.
    GeluTanh,
    /// x ≥ 0 ? x : α(eˣ − 1).
    Elu(f32),
    /// γ(x > 0 ? x : α(eˣ − 1)).
    Selu(f32, f32),
    /// max(0, x) + min(0, α(e^(x/α) − 1)).
    Celu(f32),
    /// x > α ? x : 0.
    ThresholdedRelu(f32),
    /// Shrink with λ and bias.
    Shrink(f32, f32),
}

/// erf in f64 (std has none): series below 2.5, continued fraction of erfc above.
fn erf64(x: f64) -> f64 {
    let a = x.abs();
    let r = if a < 2.5 {
        let (mut term, mut sum) = (a, a);
        for n in 1..60 {
            term *= -a * a / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        let mut f = 0.0;
        for k in (1..80).rev() {
            f = (k as f64 * 0.5) / (a + f);
        }
        1.0 - (-a * a).exp() / (a + f) / std::f64::consts::PI.sqrt()
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

impl UnaryKind {
    /// Reference value (f64 internally).
    pub fn apply(self, v: f32) -> f32 {
        let x = v as f64;
        (match self {
            UnaryKind::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryKind::Tanh => x.tanh(),
            UnaryKind::Exp => x.exp(),
            UnaryKind::Log => x.ln(),
            UnaryKind::Sqrt => x.sqrt(),
            UnaryKind::Neg => -x,
            UnaryKind::Abs => x.abs(),
            UnaryKind::Reciprocal => 1.0 / x,
            UnaryKind::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * x
                }
            }
            UnaryKind::HardSigmoid(a, b) => (a as f64 * x + b as f64).clamp(0.0, 1.0),
            UnaryKind::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            UnaryKind::Softplus => x.exp().ln_1p(),
            UnaryKind::Sin => x.sin(),
            UnaryKind::Cos => x.cos(),
            UnaryKind::Tan => x.tan(),
            UnaryKind::Asin => x.asin(),
            UnaryKind::Acos => x.acos(),
            UnaryKind::Atan => x.atan(),
            UnaryKind::Sinh => x.sinh(),
            UnaryKind::Cosh => x.cosh(),
            UnaryKind::Asinh => x.asinh(),
            UnaryKind::Acosh => x.acosh(),
            UnaryKind::Atanh => x.atanh(),
            UnaryKind::Floor => x.floor(),
            UnaryKind::Ceil => x.ceil(),
            UnaryKind::Round => x.round_ties_even(),
            UnaryKind::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            }
            UnaryKind::Erf => erf64(x),
            UnaryKind::Softsign => x / (1.0 + x.abs()),
            UnaryKind::Mish => x * x.exp().ln_1p().tanh(),
            UnaryKind::Gelu => 0.5 * x * (1.0 + erf64(x / std::f64::consts::SQRT_2)),
            UnaryKind::GeluTanh => {
                0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
            }
            UnaryKind::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * x.exp_m1()
                }
            }
            UnaryKind::Selu(a, g) => g as f64 * if x > 0.0 { x } else { a as f64 * x.exp_m1() },
            UnaryKind::Celu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * (x / a as f64).exp_m1()
                }
            }
            UnaryKind::ThresholdedRelu(a) => {
                if x > a as f64 {
                    x
                } else {
                    0.0
                }
            }
            UnaryKind::Shrink(l, b) => {
                let (l, b) = (l as f64, b as f64);
                if x < -l {
                    x + b
                } else if x > l {
                    x - b
                } else {
                    0.0
                }
            }
        }) as f32
    }

    fn text(self) -> String {
        match self {
            UnaryKind::LeakyRelu(a) => format!("leaky_relu({a})"),
            UnaryKind::HardSigmoid(a, b) => format!("hard_sigmoid({a},{b})"),
            UnaryKind::Elu(a) => format!("elu({a})"),
            UnaryKind::Selu(a, g) => format!("selu({a},{g})"),
            UnaryKind::Celu(a) => format!("celu({a})"),
            UnaryKind::ThresholdedRelu(a) => format!("thresholded_relu({a})"),
            UnaryKind::Shrink(l, b) => format!("shrink({l},{b})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }

    /// The runtime's function parameter.
    pub fn function(self) -> UnaryFn {
        match self {
            UnaryKind::Sigmoid => UnaryFn::Sigmoid,
            UnaryKind::Tanh => UnaryFn::Tanh,
            UnaryKind::Exp => UnaryFn::Exp,
            UnaryKind::Log => UnaryFn::Log,
            UnaryKind::Sqrt => UnaryFn::Sqrt,
            UnaryKind::Neg => UnaryFn::Neg,
            UnaryKind::Abs => UnaryFn::Abs,
            UnaryKind::Reciprocal => UnaryFn::Reciprocal,
            UnaryKind::LeakyRelu(a) => UnaryFn::LeakyRelu(a),
            UnaryKind::HardSigmoid(a, b) => UnaryFn::HardSigmoid(a, b),
            UnaryKind::HardSwish => UnaryFn::HardSwish,
            UnaryKind::Softplus => UnaryFn::Softplus,
            UnaryKind::Sin => UnaryFn::Sin,
            UnaryKind::Cos => UnaryFn::Cos,
            UnaryKind::Tan => UnaryFn::Tan,
            UnaryKind::Asin => UnaryFn::Asin,
            UnaryKind::Acos => UnaryFn::Acos,
            UnaryKind::Atan => UnaryFn::Atan,
            UnaryKind::Sinh => UnaryFn::Sinh,
            UnaryKind::Cosh => UnaryFn::Cosh,
            UnaryKind::Asinh => UnaryFn::Asinh,
            UnaryKind::Acosh => UnaryFn::Acosh,
            UnaryKind::Atanh => UnaryFn::Atanh,
            UnaryKind::Floor => UnaryFn::Floor,
            UnaryKind::Ceil => UnaryFn::Ceil,
            UnaryKind::Round => UnaryFn::Round,
            UnaryKind::Sign => UnaryFn::Sign,
            UnaryKind::Erf => UnaryFn::Erf,
            UnaryKind::Softsign => UnaryFn::Softsign,
            UnaryKind::Mish => UnaryFn::Mish,
            UnaryKind::Gelu => UnaryFn::Gelu,
            UnaryKind::GeluTanh => UnaryFn::GeluTanh,
            UnaryKind::Elu(a) => UnaryFn::Elu(a),
            UnaryKind::Selu(a, g) => UnaryFn::Selu(a, g),
            UnaryKind::Celu(a) => UnaryFn::Celu(a),
            UnaryKind::ThresholdedRelu(a) => UnaryFn::ThresholdedRelu(a),
            UnaryKind::Shrink(l, b) => UnaryFn::Shrink(l, b),
        }
    }
}

/// `y = f(x)` elementwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    /// The function.
    pub f: UnaryKind,
}

impl Unary {
    /// The integer version of the function, for Neg, Abs and Sign.
    fn int(&self) -> Option<IntUnary> {
        match self.f {
            UnaryKind::Neg => Some(IntUnary::Neg),
            UnaryKind::Abs => Some(IntUnary::Abs),
            UnaryKind::Sign => Some(IntUnary::Sign),
            _ => None,
        }
    }
}

impl OpDef for Unary {
    fn name(&self) -> &'static str {
        "unary"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("f", self.f.text())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let t = req(inputs, 0)?.ty;
        if t.dtype == DType::Bool || (!t.dtype.is_float() && self.int().is_none()) {
            super::invalid!("{} of {} tensors", self.f.text(), t.dtype);
        }
        Ok(vec![t.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = super::util::data(inputs, 0)?;
        if x.dtype().is_float() && x.dtype() != DType::F32 {
            // Other float types fold through f64 with the f32 reference function.
            let v: Vec<f64> = (0..x.numel()).map(|i| self.f.apply(x.data.get_f64(i) as f32) as f64).collect();
            return Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::F64(v).cast(x.dtype()) }]);
        }
        if let (Some(f), false) = (self.int(), x.dtype() == DType::F32) {
            let v: Vec<i64> = (0..x.numel())
                .map(|i| {
                    let v = x.data.get_i64(i);
                    match f {
                        IntUnary::Neg => v.wrapping_neg(),
                        IntUnary::Abs => v.wrapping_abs(),
                        IntUnary::Sign => v.signum(),
                    }
                })
                .collect();
            return Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::I64(v).cast(x.dtype()) }]);
        }
        let x = f32s(inputs, 0)?;
        Ok(vec![Tensor::f32(out[0].shape.clone(), x.iter().map(|&v| self.f.apply(v)).collect())])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let t = cx.input(0)?.ty.dtype;
        let kernel = match (t, self.int()) {
            (DType::F32, _) => Kernel::UnaryF32 { f: self.f.function() },
            (DType::F64, _) => Kernel::UnaryFloat { t: DType::F64, f: self.f.function() },
            (t, Some(f)) if !t.is_float() => Kernel::UnaryInt { t, f },
            (t, _) => super::unsupported!("{} of {t} tensors computed at run time", self.f.text()),
        };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Relu.
pub fn import_relu(_: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(Clip { act: Act::RELU }, 1))
}

/// Clip: bounds are attributes before opset 11 and constant inputs from 11 on.
pub fn import_clip(cx: &NodeCx) -> OpResult<Lowered> {
    if cx.opset >= 12 && cx.input(0).is_some_and(|x| x.ty.dtype != crate::ir::DType::F32) {
        return super::compose::import_clip_int(cx);
    }
    let act = if cx.opset < 11 {
        Act { min: cx.float("min", f32::NEG_INFINITY)?, max: cx.float("max", f32::INFINITY)? }
    } else {
        Act {
            min: cx.const_f32(1, "the lower bound")?.unwrap_or(f32::NEG_INFINITY),
            max: cx.const_f32(2, "the upper bound")?.unwrap_or(f32::INFINITY),
        }
    };
    Ok(Lowered::op(Clip { act }, 1))
}

/// Every single-function unary op.
pub fn import_unary(cx: &NodeCx) -> OpResult<Lowered> {
    let f = match cx.node.op_type.as_str() {
        "Sigmoid" => UnaryKind::Sigmoid,
        "Tanh" => UnaryKind::Tanh,
        "Exp" => UnaryKind::Exp,
        "Log" => UnaryKind::Log,
        "Sqrt" => UnaryKind::Sqrt,
        "Neg" => UnaryKind::Neg,
        "Abs" => UnaryKind::Abs,
        "Reciprocal" => UnaryKind::Reciprocal,
        "LeakyRelu" => UnaryKind::LeakyRelu(cx.float("alpha", 0.01)?),
        "HardSigmoid" => UnaryKind::HardSigmoid(cx.float("alpha", 0.2)?, cx.float("beta", 0.5)?),
        "HardSwish" => UnaryKind::HardSwish,
        "Softplus" => UnaryKind::Softplus,
        "Sin" => UnaryKind::Sin,
        "Cos" => UnaryKind::Cos,
        "Tan" => UnaryKind::Tan,
        "Asin" => UnaryKind::Asin,
        "Acos" => UnaryKind::Acos,
        "Atan" => UnaryKind::Atan,
        "Sinh" => UnaryKind::Sinh,
        "Cosh" => UnaryKind::Cosh,
        "Asinh" => UnaryKind::Asinh,
        "Acosh" => UnaryKind::Acosh,
        "Atanh" => UnaryKind::Atanh,
        "Floor" => UnaryKind::Floor,
        "Ceil" => UnaryKind::Ceil,
        "Round" => UnaryKind::Round,
        "Sign" => UnaryKind::Sign,
        "Erf" => UnaryKind::Erf,
        "Softsign" => UnaryKind::Softsign,
        "Mish" => UnaryKind::Mish,
        "Gelu" => match cx.string("approximate", "none")?.as_str() {
            "none" => UnaryKind::Gelu,
            "tanh" => UnaryKind::GeluTanh,
            other => super::invalid!("Gelu approximate `{other}` (none or tanh)"),
        },
        "Elu" => UnaryKind::Elu(cx.float("alpha", 1.0)?),
        "Selu" => UnaryKind::Selu(cx.float("alpha", 1.673_263_2)?, cx.float("gamma", 1.050_701)?),
        "Celu" => UnaryKind::Celu(cx.float("alpha", 1.0)?),
        "ThresholdedRelu" => UnaryKind::ThresholdedRelu(cx.float("alpha", 1.0)?),
        "Shrink" => UnaryKind::Shrink(cx.float("lambd", 0.5)?, cx.float("bias", 0.0)?),
        other => super::unsupported!("{other} is not a unary function"),
    };
    Ok(Lowered::op(Unary { f }, 1))
}

/// Identity, and Dropout at inference: the output is the input.
pub fn import_identity(cx: &NodeCx) -> OpResult<Lowered> {
    if cx.node.op_type == "Dropout" {
        // training_mode (opset 12+): random dropping is not inference; only a constant
        // false makes the node an identity.
        match cx.input(2) {
            None => {}
            Some(a) => match a.value {
                Some(t) if t.numel() == 1 && t.data.get_f64(0) == 0.0 => {}
                Some(_)
                    if cx
                        .input(1)
                        .and_then(|r| r.value)
                        .is_some_and(|r| r.numel() == 1 && r.data.get_f64(0) == 0.0) => {}
                Some(_) => super::unsupported!("Dropout in training mode with a non-zero ratio (random masking)"),
                None => super::unsupported!("Dropout with a run-time training_mode"),
            },
        }
        if cx.node.output.get(1).is_some_and(|m| !m.is_empty()) {
            // Nothing is dropped, so the mask is all true (a constant of the input's shape).
            let Some(x) = cx.input(0) else { super::invalid!("input 0 is required") };
            let n = x.ty.shape.iter().product();
            let mask = Tensor { shape: x.ty.shape.clone(), data: Data::Bool(vec![true; n]) };
            return Ok(Lowered::Graph(vec![], vec![Some(Src::In(0)), Some(Src::Const(mask))]));
        }
    }
    Ok(Lowered::Forward(0))
}
