//! Comparisons and boolean logic: Equal, Less, LessOrEqual, Greater, GreaterOrEqual
//! (any element type, bool result), And, Or, Xor, Not, and Where (selection), all with
//! numpy broadcasting; IsNaN and IsInf.

use super::binary::coalesce;
use super::util::{broadcast, broadcast_index, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpError, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{strides, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{Broadcast3, CompareOp, LogicOp, MAX_RANK};

/// Element `i` of `d` compared exactly: integers as i64, floats as f64.
fn cmp_elems(a: &Data, i: usize, b: &Data, j: usize) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Data::U64(x), Data::U64(y)) => Some(x[i].cmp(&y[j])),
        _ if a.dtype().is_float() || b.dtype().is_float() => a.get_f64(i).partial_cmp(&b.get_f64(j)),
        _ => Some(a.get_i64(i).cmp(&b.get_i64(j))),
    }
}

/// `y = a ∘ b`, a bool tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Compare {
    /// The comparison.
    pub op: CompareOp,
}

impl OpDef for Compare {
    fn name(&self) -> &'static str {
        match self.op {
            CompareOp::Equal => "equal",
            CompareOp::Less => "less",
            CompareOp::LessOrEqual => "less_or_equal",
            CompareOp::Greater => "greater",
            CompareOp::GreaterOrEqual => "greater_or_equal",
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if a.dtype != b.dtype {
            invalid!("operands have different element types {} and {}", a.dtype, b.dtype);
        }
        Ok(vec![TensorType::new(DType::Bool, broadcast(&a.shape, &b.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        use std::cmp::Ordering::*;
        let (a, b) = (data(inputs, 0)?, data(inputs, 1)?);
        let shape = out[0].shape.clone();
        let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
        let v = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| {
                let o = cmp_elems(&a.data, i, &b.data, j);
                match self.op {
                    CompareOp::Equal => o == Some(Equal),
                    CompareOp::Less => o == Some(Less),
                    CompareOp::LessOrEqual => matches!(o, Some(Less | Equal)),
                    CompareOp::Greater => o == Some(Greater),
                    CompareOp::GreaterOrEqual => matches!(o, Some(Greater | Equal)),
                }
            })
            .collect();
        Ok(vec![Tensor { shape, data: Data::Bool(v) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.output(0)?);
        if a.dtype.is_half() {
            unsupported!("{} of {} tensors computed at run time", self.name(), a.dtype);
        }
        let p = coalesce(&a.shape, &b.shape, &y.shape)?.params();
        Ok(vec![invoke(Kernel::Compare { t: a.dtype, p, op: self.op }, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// Equal, Less, LessOrEqual, Greater, GreaterOrEqual.
pub fn import_compare(cx: &NodeCx) -> OpResult<Lowered> {
    let op = match cx.node.op_type.as_str() {
        "Equal" => CompareOp::Equal,
        "Less" => CompareOp::Less,
        "LessOrEqual" => CompareOp::LessOrEqual,
        "Greater" => CompareOp::Greater,
        "GreaterOrEqual" => CompareOp::GreaterOrEqual,
        other => unsupported!("{other} is not a comparison"),
    };
    if cx.opset < 7 && cx.has("broadcast") {
        unsupported!("legacy (opset < 7) broadcasting attributes");
    }
    Ok(Lowered::op(Compare { op }, 2))
}

/// `y = a ∘ b` on bool tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct Logic {
    /// The function.
    pub op: LogicOp,
}

fn expect_bool(inputs: &[Option<Arg>], n: usize) -> OpResult<()> {
    for i in 0..n {
        let t = req(inputs, i)?.ty;
        if t.dtype != DType::Bool {
            invalid!("input {i} is {}, expected bool", t.dtype);
        }
    }
    Ok(())
}

impl OpDef for Logic {
    fn name(&self) -> &'static str {
        match self.op {
            LogicOp::And => "and",
            LogicOp::Or => "or",
            LogicOp::Xor => "xor",
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_bool(inputs, 2)?;
        let (a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        Ok(vec![TensorType::new(DType::Bool, broadcast(&a.shape, &b.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (data(inputs, 0)?, data(inputs, 1)?);
        let shape = out[0].shape.clone();
        let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
        let v = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| {
                let (x, z) = (a.data.get_i64(i) != 0, b.data.get_i64(j) != 0);
                match self.op {
                    LogicOp::And => x && z,
                    LogicOp::Or => x || z,
                    LogicOp::Xor => x != z,
                }
            })
            .collect();
        Ok(vec![Tensor { shape, data: Data::Bool(v) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.output(0)?);
        let p = coalesce(&a.shape, &b.shape, &y.shape)?.params();
        Ok(vec![invoke(Kernel::Logic { p, op: self.op }, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// And, Or, Xor.
pub fn import_logic(cx: &NodeCx) -> OpResult<Lowered> {
    let op = match cx.node.op_type.as_str() {
        "And" => LogicOp::And,
        "Or" => LogicOp::Or,
        "Xor" => LogicOp::Xor,
        other => unsupported!("{other} is not a boolean function"),
    };
    if cx.opset < 7 && cx.has("broadcast") {
        unsupported!("legacy (opset < 7) broadcasting attributes");
    }
    Ok(Lowered::op(Logic { op }, 2))
}

/// `y = ¬x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Not;

impl OpDef for Not {
    fn name(&self) -> &'static str {
        "not"
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_bool(inputs, 1)?;
        Ok(vec![req(inputs, 0)?.ty.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let v = (0..x.numel()).map(|i| x.data.get_i64(i) == 0).collect();
        Ok(vec![Tensor { shape: x.shape.clone(), data: Data::Bool(v) }])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        Ok(vec![invoke(Kernel::Not, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// Not.
pub fn import_not(_: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(Not, 1))
}

/// `y = c ? a : b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Where;

/// Strides of an operand of shape `s` broadcast onto `out` (0 where it broadcasts).
fn strides_onto(s: &[usize], out: &[usize]) -> [usize; MAX_RANK] {
    let st = strides(s);
    let off = out.len() - s.len();
    std::array::from_fn(|d| if d < off || d >= out.len() || s[d - off] == 1 { 0 } else { st[d - off] })
}

impl OpDef for Where {
    fn name(&self) -> &'static str {
        "where"
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (c, a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty, req(inputs, 2)?.ty);
        if c.dtype != DType::Bool {
            invalid!("the condition is {}, expected bool", c.dtype);
        }
        if a.dtype != b.dtype {
            invalid!("operands have different element types {} and {}", a.dtype, b.dtype);
        }
        let shape = broadcast(&c.shape, &broadcast(&a.shape, &b.shape)?)?;
        Ok(vec![TensorType::new(a.dtype, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (c, a, b) = (data(inputs, 0)?, data(inputs, 1)?, data(inputs, 2)?);
        let shape = out[0].shape.clone();
        let (ic, ia, ib) =
            (broadcast_index(&c.shape, &shape), broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
        let picks: Vec<(bool, usize)> =
            (0..ic.len()).map(|k| if c.data.get_i64(ic[k]) != 0 { (true, ia[k]) } else { (false, ib[k]) }).collect();
        let data = pick(&a.data, &b.data, &picks).ok_or_else(|| OpError::Invalid("operand types differ".into()))?;
        Ok(vec![Tensor { shape, data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (c, a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.input(2)?.ty, cx.output(0)?);
        let out: Vec<usize> = if y.shape.is_empty() { vec![1] } else { y.shape.clone() };
        if out.len() > MAX_RANK {
            unsupported!("Where on rank {} (at most {MAX_RANK})", out.len());
        }
        let p = Broadcast3 {
            rank: out.len(),
            shape: std::array::from_fn(|d| out.get(d).copied().unwrap_or(0)),
            c: strides_onto(&c.shape, &out),
            a: strides_onto(&a.shape, &out),
            b: strides_onto(&b.shape, &out),
        };
        Ok(vec![invoke(Kernel::Select { t: a.dtype, p }, [Slot::In(0), Slot::In(1), Slot::In(2)], [Slot::Out(0)])])
    }
}

/// `picks[k] = (from_x, i)`: element `i` of `x` or of `z`, for two same-typed vectors.
fn pick(x: &Data, z: &Data, picks: &[(bool, usize)]) -> Option<Data> {
    macro_rules! pick {
        ($($v:ident),*) => {
            match (x, z) {
                $((Data::$v(a), Data::$v(b)) => {
                    Some(Data::$v(picks.iter().map(|&(t, i)| if t { a[i] } else { b[i] }).collect()))
                })*
                _ => None,
            }
        };
    }
    pick!(F32, I8, U8, I16, I32, I64, Bool)
}

/// Where.
pub fn import_where(_: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(Where, 3))
}

/// IsNaN (`nan`) or IsInf (`pos`, `neg`: which infinities count): a bool tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Classify {
    /// IsNaN.
    pub nan: bool,
    /// +∞ counts (IsInf).
    pub pos: bool,
    /// −∞ counts (IsInf).
    pub neg: bool,
}

impl Classify {
    fn test(&self, v: f64) -> bool {
        if self.nan {
            v.is_nan()
        } else {
            (self.pos && v == f64::INFINITY) || (self.neg && v == f64::NEG_INFINITY)
        }
    }
}

impl OpDef for Classify {
    fn name(&self) -> &'static str {
        if self.nan {
            "is_nan"
        } else {
            "is_inf"
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        if self.nan {
            vec![]
        } else {
            vec![("positive", self.pos.to_string()), ("negative", self.neg.to_string())]
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if !x.dtype.is_float() {
            invalid!("{} of {} tensors", self.name(), x.dtype);
        }
        Ok(vec![TensorType::new(DType::Bool, x.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let v = (0..x.numel()).map(|i| self.test(x.data.get_f64(i))).collect();
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: Data::Bool(v) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        if x.dtype != DType::F32 {
            unsupported!("{} of {} tensors computed at run time", self.name(), x.dtype);
        }
        let kernel = Kernel::ClassifyF32 { nan: self.nan, pos: self.pos, neg: self.neg };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// IsNaN and IsInf.
pub fn import_classify(cx: &NodeCx) -> OpResult<Lowered> {
    let nan = cx.node.op_type == "IsNaN";
    let (pos, neg) = (cx.int("detect_positive", 1)? != 0, cx.int("detect_negative", 1)? != 0);
    Ok(Lowered::op(Classify { nan, pos, neg }, 1))
}
