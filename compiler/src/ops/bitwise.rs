//! Bitwise ops on integers with numpy broadcasting: BitwiseAnd, BitwiseOr, BitwiseXor,
//! BitwiseNot (Xor with all ones) and BitShift.

use super::binary::coalesce;
use super::util::{broadcast, broadcast_index, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::BitOp;

/// `y = a ∘ b` bitwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Bitwise {
    /// The function.
    pub op: BitOp,
}

fn is_int(d: DType) -> bool {
    matches!(d, DType::I8 | DType::U8 | DType::I16 | DType::U16 | DType::I32 | DType::U32 | DType::I64 | DType::U64)
}

/// The function on two elements of a type `bits` wide (signed when `signed`), as the
/// bit patterns i64 holds; the result wraps to the type when cast back.
fn apply(op: BitOp, a: i64, b: i64, bits: u32, signed: bool) -> i64 {
    let past = b < 0 || b >= bits as i64;
    match op {
        BitOp::And => a & b,
        BitOp::Or => a | b,
        BitOp::Xor => a ^ b,
        BitOp::ShiftLeft if past => 0,
        BitOp::ShiftLeft => a << b,
        BitOp::ShiftRight if signed => a >> if past { 63 } else { b },
        BitOp::ShiftRight if past => 0,
        BitOp::ShiftRight => {
            let mask = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
            ((a as u64 & mask) >> b) as i64
        }
    }
}

impl OpDef for Bitwise {
    fn name(&self) -> &'static str {
        match self.op {
            BitOp::And => "bit_and",
            BitOp::Or => "bit_or",
            BitOp::Xor => "bit_xor",
            BitOp::ShiftLeft => "shift_left",
            BitOp::ShiftRight => "shift_right",
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if a.dtype != b.dtype {
            invalid!("operands have different element types {} and {}", a.dtype, b.dtype);
        }
        if !is_int(a.dtype) {
            invalid!("{} of {} tensors (integers only)", self.name(), a.dtype);
        }
        Ok(vec![TensorType::new(a.dtype, broadcast(&a.shape, &b.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (data(inputs, 0)?, data(inputs, 1)?);
        let shape = out[0].shape.clone();
        let (ia, ib) = (broadcast_index(&a.shape, &shape), broadcast_index(&b.shape, &shape));
        let d = out[0].dtype;
        let (bits, signed) = ((d.size() * 8) as u32, matches!(d, DType::I8 | DType::I16 | DType::I32 | DType::I64));
        let v = ia.iter().zip(&ib).map(|(&i, &j)| apply(self.op, a.data.get_i64(i), b.data.get_i64(j), bits, signed));
        Ok(vec![Tensor { shape, data: Data::I64(v.collect()).cast(d) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.output(0)?);
        let p = coalesce(&a.shape, &b.shape, &y.shape)?.params();
        Ok(vec![invoke(Kernel::Bitwise { t: y.dtype, p, op: self.op }, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// BitwiseAnd, BitwiseOr, BitwiseXor, BitShift; BitwiseNot as Xor with all ones.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let op = match cx.node.op_type.as_str() {
        "BitwiseAnd" => BitOp::And,
        "BitwiseOr" => BitOp::Or,
        "BitwiseXor" | "BitwiseNot" => BitOp::Xor,
        "BitShift" => match cx.string("direction", "")?.as_str() {
            "LEFT" => BitOp::ShiftLeft,
            "RIGHT" => BitOp::ShiftRight,
            d => invalid!("BitShift direction `{d}` (LEFT or RIGHT)"),
        },
        other => unsupported!("{other} is not a bitwise op"),
    };
    if cx.node.op_type == "BitwiseNot" {
        let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
        let ones = Tensor::scalar(Data::I64(vec![-1])).data.cast(x.ty.dtype);
        return Ok(Lowered::Nodes(vec![SubNode {
            op: Bitwise { op }.into(),
            inputs: vec![Some(Src::In(0)), Some(Src::Const(Tensor::scalar(ones)))],
        }]));
    }
    if cx.input(0).is_none() || cx.input(1).is_none() {
        invalid!("{} needs two operands", cx.node.op_type);
    }
    Ok(Lowered::op(Bitwise { op }, 2))
}

/// The bits of each element read as another type of the same width (BitCast).
#[derive(Debug, Clone, PartialEq)]
pub struct BitCast {
    /// The target type.
    pub to: DType,
}

impl OpDef for BitCast {
    fn name(&self) -> &'static str {
        "bitcast"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("to", self.to.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype.size() != self.to.size() || x.dtype.packed_bits().is_some() || self.to.packed_bits().is_some() {
            unsupported!("BitCast from {} to {} (types of one width only)", x.dtype, self.to);
        }
        Ok(vec![TensorType::new(self.to, x.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let Some(d) = Data::from_le_bytes(self.to, &x.data.to_le_bytes()) else {
            invalid!("BitCast of a partial element")
        };
        Ok(vec![Tensor { shape: x.shape.clone(), data: d }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let x = cx.input(0)?.ty;
        Ok(vec![invoke(Kernel::BitCast { from: x.dtype, to: self.to }, [Slot::In(0)], [Slot::Out(0)])])
    }
}

/// BitCast to the `to` type of the same width.
pub fn import_bitcast(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
    let to = crate::front::tensor::dtype_of(cx.int("to", 0)? as i32)
        .map_err(|t| super::OpError::Unsupported(format!("BitCast to {t}")))?;
    if to == x.ty.dtype {
        return Ok(Lowered::Forward(0));
    }
    Ok(Lowered::op(BitCast { to }, 1))
}
