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

/// The compiler's side of the runtime's [`UnaryFn`]: the reference value it folds
/// constants with (std's f64 functions, rounded once to f32) and its name in the IR
/// text.
pub trait UnaryReference {
    /// The function at `v`, computed in f64 and rounded to f32.
    fn reference(self, v: f32) -> f32;
    /// The function's name with its parameters, as the IR text and errors show it.
    fn text(self) -> String;
}

impl UnaryReference for UnaryFn {
    fn reference(self, v: f32) -> f32 {
        let x = v as f64;
        (match self {
            UnaryFn::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            UnaryFn::Tanh => x.tanh(),
            UnaryFn::Exp => x.exp(),
            UnaryFn::Log => x.ln(),
            UnaryFn::Sqrt => x.sqrt(),
            UnaryFn::Neg => -x,
            UnaryFn::Abs => x.abs(),
            UnaryFn::Reciprocal => 1.0 / x,
            UnaryFn::LeakyRelu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * x
                }
            }
            UnaryFn::HardSigmoid(a, b) => (a as f64 * x + b as f64).clamp(0.0, 1.0),
            UnaryFn::HardSwish => x * (x / 6.0 + 0.5).clamp(0.0, 1.0),
            UnaryFn::Softplus => x.exp().ln_1p(),
            UnaryFn::Silu => x / (1.0 + (-x).exp()),
            UnaryFn::Sin => x.sin(),
            UnaryFn::Cos => x.cos(),
            UnaryFn::Tan => x.tan(),
            UnaryFn::Asin => x.asin(),
            UnaryFn::Acos => x.acos(),
            UnaryFn::Atan => x.atan(),
            UnaryFn::Sinh => x.sinh(),
            UnaryFn::Cosh => x.cosh(),
            UnaryFn::Asinh => x.asinh(),
            UnaryFn::Acosh => x.acosh(),
            UnaryFn::Atanh => x.atanh(),
            UnaryFn::Floor => x.floor(),
            UnaryFn::Ceil => x.ceil(),
            UnaryFn::Round => x.round_ties_even(),
            UnaryFn::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            }
            UnaryFn::Erf => erf64(x),
            UnaryFn::Softsign => x / (1.0 + x.abs()),
            UnaryFn::Mish => x * x.exp().ln_1p().tanh(),
            UnaryFn::Gelu => 0.5 * x * (1.0 + erf64(x / std::f64::consts::SQRT_2)),
            UnaryFn::GeluTanh => {
                0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
            }
            UnaryFn::Elu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * x.exp_m1()
                }
            }
            UnaryFn::Selu(a, g) => g as f64 * if x > 0.0 { x } else { a as f64 * x.exp_m1() },
            UnaryFn::Celu(a) => {
                if x >= 0.0 {
                    x
                } else {
                    a as f64 * (x / a as f64).exp_m1()
                }
            }
            UnaryFn::ThresholdedRelu(a) => {
                if x > a as f64 {
                    x
                } else {
                    0.0
                }
            }
            UnaryFn::Shrink(l, b) => {
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
            UnaryFn::LeakyRelu(a) => format!("leaky_relu({a})"),
            UnaryFn::HardSigmoid(a, b) => format!("hard_sigmoid({a},{b})"),
            UnaryFn::Elu(a) => format!("elu({a})"),
            UnaryFn::Selu(a, g) => format!("selu({a},{g})"),
            UnaryFn::Celu(a) => format!("celu({a})"),
            UnaryFn::ThresholdedRelu(a) => format!("thresholded_relu({a})"),
            UnaryFn::Shrink(l, b) => format!("shrink({l},{b})"),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

/// `y = f(x)` elementwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    /// The function.
    pub f: UnaryFn,
}

impl Unary {
    /// The integer version of the function, for Neg, Abs and Sign.
    fn int(&self) -> Option<IntUnary> {
        match self.f {
            UnaryFn::Neg => Some(IntUnary::Neg),
            UnaryFn::Abs => Some(IntUnary::Abs),
            UnaryFn::Sign => Some(IntUnary::Sign),
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
            let v: Vec<f64> = (0..x.numel()).map(|i| self.f.reference(x.data.get_f64(i) as f32) as f64).collect();
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
        Ok(vec![Tensor::f32(out[0].shape.clone(), x.iter().map(|&v| self.f.reference(v)).collect())])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let t = cx.input(0)?.ty.dtype;
        let kernel = match (t, self.int()) {
            (DType::F32, _) => Kernel::UnaryF32 { f: self.f },
            (DType::F64, _) => Kernel::UnaryFloat { t: DType::F64, f: self.f },
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
        "Sigmoid" => UnaryFn::Sigmoid,
        "Tanh" => UnaryFn::Tanh,
        "Exp" => UnaryFn::Exp,
        "Log" => UnaryFn::Log,
        "Sqrt" => UnaryFn::Sqrt,
        "Neg" => UnaryFn::Neg,
        "Abs" => UnaryFn::Abs,
        "Reciprocal" => UnaryFn::Reciprocal,
        "LeakyRelu" => UnaryFn::LeakyRelu(cx.float("alpha", 0.01)?),
        "HardSigmoid" => UnaryFn::HardSigmoid(cx.float("alpha", 0.2)?, cx.float("beta", 0.5)?),
        "HardSwish" => UnaryFn::HardSwish,
        "Softplus" => UnaryFn::Softplus,
        "Sin" => UnaryFn::Sin,
        "Cos" => UnaryFn::Cos,
        "Tan" => UnaryFn::Tan,
        "Asin" => UnaryFn::Asin,
        "Acos" => UnaryFn::Acos,
        "Atan" => UnaryFn::Atan,
        "Sinh" => UnaryFn::Sinh,
        "Cosh" => UnaryFn::Cosh,
        "Asinh" => UnaryFn::Asinh,
        "Acosh" => UnaryFn::Acosh,
        "Atanh" => UnaryFn::Atanh,
        "Floor" => UnaryFn::Floor,
        "Ceil" => UnaryFn::Ceil,
        "Round" => UnaryFn::Round,
        "Sign" => UnaryFn::Sign,
        "Erf" => UnaryFn::Erf,
        "Softsign" => UnaryFn::Softsign,
        "Mish" => UnaryFn::Mish,
        "Gelu" => match cx.string("approximate", "none")?.as_str() {
            "none" => UnaryFn::Gelu,
            "tanh" => UnaryFn::GeluTanh,
            other => super::invalid!("Gelu approximate `{other}` (none or tanh)"),
        },
        "Elu" => UnaryFn::Elu(cx.float("alpha", 1.0)?),
        "Selu" => UnaryFn::Selu(cx.float("alpha", 1.673_263_2)?, cx.float("gamma", 1.050_701)?),
        "Celu" => UnaryFn::Celu(cx.float("alpha", 1.0)?),
        "ThresholdedRelu" => UnaryFn::ThresholdedRelu(cx.float("alpha", 1.0)?),
        "Shrink" => UnaryFn::Shrink(cx.float("lambd", 0.5)?, cx.float("bias", 0.0)?),
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
