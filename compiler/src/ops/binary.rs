//! Elementwise binary ops with numpy broadcasting: Add, Sub, Mul, Div, Pow, Max, Min.
//! Integer operands (shape arithmetic) fold at compile time; float ones run with an
//! optional fused output clamp.

use super::activation::Act;
use super::util::{broadcast, broadcast_index, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{strides, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{BinaryOp, Broadcast, MAX_RANK};

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinKind {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// a^b
    Pow,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// a mod b, sign of b (Mod, fmod = 0)
    Mod,
    /// a mod b, sign of a (Mod, fmod = 1)
    Fmod,
    /// a < 0 ? a·b : a (PRelu)
    PRelu,
}

impl BinKind {
    fn f64(self, a: f64, b: f64) -> f64 {
        match self {
            BinKind::Add => a + b,
            BinKind::Sub => a - b,
            BinKind::Mul => a * b,
            BinKind::Div => a / b,
            BinKind::Pow => a.powf(b),
            BinKind::Max => a.max(b),
            BinKind::Min => a.min(b),
            BinKind::Mod => {
                let r = a % b;
                if r != 0.0 && (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                }
            }
            BinKind::Fmod => a % b,
            BinKind::PRelu => {
                if a < 0.0 {
                    a * b
                } else {
                    a
                }
            }
        }
    }

    fn i64(self, a: i64, b: i64) -> Option<i64> {
        match self {
            BinKind::Add => a.checked_add(b),
            BinKind::Sub => a.checked_sub(b),
            BinKind::Mul => a.checked_mul(b),
            BinKind::Div => a.checked_div(b),
            BinKind::Pow => u32::try_from(b).ok().and_then(|e| a.checked_pow(e)),
            BinKind::Max => Some(a.max(b)),
            BinKind::Min => Some(a.min(b)),
            BinKind::Mod => a.checked_rem(b).map(|r| if r != 0 && (r < 0) != (b < 0) { r + b } else { r }),
            BinKind::Fmod => a.checked_rem(b),
            BinKind::PRelu => Some(if a < 0 { a.wrapping_mul(b) } else { a }),
        }
    }

    /// The runtime's function parameter.
    pub fn op(self) -> BinaryOp {
        match self {
            BinKind::Add => BinaryOp::Add,
            BinKind::Sub => BinaryOp::Sub,
            BinKind::Mul => BinaryOp::Mul,
            BinKind::Div => BinaryOp::Div,
            BinKind::Pow => BinaryOp::Pow,
            BinKind::Max => BinaryOp::Max,
            BinKind::Min => BinaryOp::Min,
            BinKind::Mod => BinaryOp::Mod,
            BinKind::Fmod => BinaryOp::Fmod,
            BinKind::PRelu => BinaryOp::PRelu,
        }
    }
}

/// `y = act(a ∘ b)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// The function.
    pub kind: BinKind,
    /// Fused output clamp.
    pub act: Act,
}

impl OpDef for Binary {
    fn name(&self) -> &'static str {
        match self.kind {
            BinKind::Add => "add",
            BinKind::Sub => "sub",
            BinKind::Mul => "mul",
            BinKind::Div => "div",
            BinKind::Pow => "pow",
            BinKind::Max => "max",
            BinKind::Min => "min",
            BinKind::Mod => "mod",
            BinKind::Fmod => "fmod",
            BinKind::PRelu => "prelu",
        }
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        if self.act.is_none() {
            vec![]
        } else {
            vec![("act", self.act.text())]
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (a, b) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if a.dtype != b.dtype && self.kind != BinKind::Pow {
            invalid!("operands have different element types {} and {}", a.dtype, b.dtype);
        }
        if a.dtype == DType::Bool {
            invalid!("arithmetic on bool tensors");
        }
        Ok(vec![TensorType::new(a.dtype, broadcast(&a.shape, &b.shape)?)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (data(inputs, 0)?, data(inputs, 1)?);
        let shape = out[0].shape.clone();
        let ia = broadcast_index(&a.shape, &shape);
        let ib = broadcast_index(&b.shape, &shape);
        let data = match out[0].dtype {
            DType::F32 => Data::F32(
                ia.iter()
                    .zip(&ib)
                    .map(|(&i, &j)| self.act.apply(self.kind.f64(a.data.get_f64(i), b.data.get_f64(j)) as f32))
                    .collect(),
            ),
            d if d.is_float() => Data::F64(
                ia.iter().zip(&ib).map(|(&i, &j)| self.kind.f64(a.data.get_f64(i), b.data.get_f64(j))).collect(),
            )
            .cast(d),
            _ if out[0].dtype != DType::Bool => {
                let v: Option<Vec<i64>> =
                    ia.iter().zip(&ib).map(|(&i, &j)| self.kind.i64(a.data.get_i64(i), b.data.get_i64(j))).collect();
                let Some(v) = v else { invalid!("integer overflow or division by zero while folding") };
                // Results wrap to the element type, as the run-time kernel's do.
                Data::I64(v).cast(out[0].dtype)
            }
            _ => invalid!("arithmetic on bool tensors"),
        };
        Ok(vec![Tensor { shape, data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b, y) = (cx.input(0)?.ty, cx.input(1)?.ty, cx.output(0)?);
        if a.dtype != b.dtype {
            unsupported!("{} of {} by {} computed at run time", self.name(), a.dtype, b.dtype);
        }
        let p = coalesce(&a.shape, &b.shape, &y.shape)?.params();
        let kernel = match y.dtype {
            DType::F32 => Kernel::BinaryF32 { p, op: self.kind.op(), act: self.act.clamp() },
            DType::F64 if self.act.is_none() => Kernel::BinaryFloat { t: DType::F64, p, op: self.kind.op() },
            t if !t.is_float() && t != DType::Bool && self.act.is_none() => {
                Kernel::BinaryInt { t, p, op: self.kind.op() }
            }
            t if !t.is_float() => unsupported!("{} on {t} tensors with a fused clamp", self.name()),
            t => unsupported!("{} on {t} tensors computed at run time", self.name()),
        };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// A broadcast with the fewest axes: extents and per-operand strides.
#[derive(Debug, PartialEq)]
pub struct Coalesced {
    /// Output extents.
    pub shape: Vec<usize>,
    /// Strides of A.
    pub a: Vec<usize>,
    /// Strides of B.
    pub b: Vec<usize>,
}

impl Coalesced {
    /// The runtime's broadcast parameter (at most [`MAX_RANK`] axes, checked by
    /// [`coalesce`]).
    pub fn params(&self) -> Broadcast {
        let pad = |v: &[usize]| -> [usize; MAX_RANK] { std::array::from_fn(|i| v.get(i).copied().unwrap_or(0)) };
        Broadcast { rank: self.shape.len(), shape: pad(&self.shape), a: pad(&self.a), b: pad(&self.b) }
    }
}

/// Merges adjacent axes that both operands traverse contiguously (or both broadcast),
/// and drops unit axes, so the kernel's inner loop is as long as possible.
pub fn coalesce(a: &[usize], b: &[usize], out: &[usize]) -> OpResult<Coalesced> {
    let r = out.len();
    let stride_in = |s: &[usize]| -> Vec<usize> {
        let st = strides(s);
        (0..r)
            .map(|d| {
                let off = r - s.len();
                if d < off || s[d - off] == 1 {
                    0
                } else {
                    st[d - off]
                }
            })
            .collect()
    };
    let (sa, sb) = (stride_in(a), stride_in(b));
    let mut c = Coalesced { shape: vec![], a: vec![], b: vec![] };
    for d in 0..r {
        if out[d] == 1 {
            continue;
        }
        if let (Some(&n), Some(&pa), Some(&pb)) = (c.shape.last(), c.a.last(), c.b.last()) {
            if pa == sa[d] * out[d] && pb == sb[d] * out[d] {
                let i = c.shape.len() - 1;
                c.shape[i] = n * out[d];
                c.a[i] = sa[d];
                c.b[i] = sb[d];
                continue;
            }
        }
        c.shape.push(out[d]);
        c.a.push(sa[d]);
        c.b.push(sb[d]);
    }
    if c.shape.is_empty() {
        c = Coalesced { shape: vec![1], a: vec![0], b: vec![0] };
    }
    if c.shape.len() > MAX_RANK {
        unsupported!(
            "broadcasting {a:?} with {b:?} needs {} axes after merging; at most {MAX_RANK} are supported",
            c.shape.len()
        );
    }
    Ok(c)
}

/// Add, Sub, Mul, Div, Pow, Mod; Max, Min, Sum and Mean with any number of operands
/// (a chain of binary nodes; Mean divides the sum by the count).
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    use crate::front::node::{Src, SubNode};
    let kind = match cx.node.op_type.as_str() {
        "Add" | "Sum" | "Mean" => BinKind::Add,
        "Sub" => BinKind::Sub,
        "Mul" => BinKind::Mul,
        "Div" => BinKind::Div,
        "Pow" => BinKind::Pow,
        "Max" => BinKind::Max,
        "Min" => BinKind::Min,
        "Mod" if cx.int("fmod", 0)? != 0 => BinKind::Fmod,
        "Mod" => BinKind::Mod,
        "PRelu" => BinKind::PRelu,
        other => unsupported!("{other} is not a binary op"),
    };
    if cx.opset < 7 && cx.int("broadcast", 0)? != 0 && cx.has("axis") {
        // Legacy broadcasting: B's axes line up with A's from `axis` on.
        use crate::front::node::{Src, SubNode};
        let (Some(a), Some(b)) = (cx.input(0), cx.input(1)) else { invalid!("{} needs two operands", cx.node.op_type) };
        let at = super::util::axis(cx.int("axis", 0)?, a.ty.rank())?;
        if at + b.ty.rank() > a.ty.rank() {
            invalid!("B of rank {} does not fit A of rank {} from axis {at}", b.ty.rank(), a.ty.rank());
        }
        let mut shape = b.ty.shape.clone();
        shape.resize(a.ty.rank() - at, 1);
        return Ok(Lowered::Nodes(vec![
            SubNode { op: super::layout::Reshape { shape }.into(), inputs: vec![Some(Src::In(1))] },
            SubNode {
                op: Binary { kind, act: Act::NONE }.into(),
                inputs: vec![Some(Src::In(0)), Some(Src::Node(0, 0))],
            },
        ]));
    }
    let variadic = matches!(cx.node.op_type.as_str(), "Max" | "Min" | "Sum" | "Mean");
    let n = cx.n_inputs();
    if !variadic && n != 2 {
        invalid!("{} takes two operands, not {n}", cx.node.op_type);
    }
    if n == 0 || (0..n).any(|i| cx.input(i).is_none()) {
        invalid!("{} needs every operand", cx.node.op_type);
    }
    let op = || Binary { kind, act: Act::NONE };
    if let (BinKind::Pow, Some(a), Some(b)) = (kind, cx.input(0), cx.input(1)) {
        if a.ty.dtype != b.ty.dtype && a.value.is_none() {
            return pow_mixed(a.ty.dtype, b.ty.dtype);
        }
    }
    let mut subs: Vec<SubNode> = vec![];
    for i in 1..n {
        let first = if i == 1 { Src::In(0) } else { Src::Node(i - 2, 0) };
        subs.push(SubNode { op: op().into(), inputs: vec![Some(first), Some(Src::In(i))] });
    }
    if cx.node.op_type == "Mean" {
        let Some(x) = cx.input(0) else { invalid!("input 0 is required") };
        if x.ty.dtype != DType::F32 {
            unsupported!("Mean of {} tensors", x.ty.dtype);
        }
        let count = Tensor::scalar(Data::F32(vec![n as f32]));
        let sum = if n == 1 { Src::In(0) } else { Src::Node(n - 2, 0) };
        subs.push(SubNode {
            op: Binary { kind: BinKind::Div, act: Act::NONE }.into(),
            inputs: vec![Some(sum), Some(Src::Const(count))],
        });
    }
    Ok(match subs.len() {
        0 => Lowered::Forward(0),
        1 if n == 2 => Lowered::op(op(), 2),
        _ => Lowered::Nodes(subs),
    })
}

/// Pow of a base and an exponent of different types, computed in f32: the exponent
/// cast to f32, and an integer base cast to f32 and the result back (truncating, as
/// the ONNX reference's cast of its float power does).
fn pow_mixed(base: DType, exp: DType) -> OpResult<Lowered> {
    use super::shape::Cast;
    use crate::front::node::{Src, SubNode};
    let int = |t: DType| !t.is_float() && t != DType::Bool && !t.format_only();
    if !(base == DType::F32 || (int(base) && exp == DType::F32)) || !(exp == DType::F32 || int(exp)) {
        unsupported!("Pow of {base} by {exp}");
    }
    let to_f32 = |src: Src| SubNode { op: Cast { to: DType::F32, saturate: true }.into(), inputs: vec![Some(src)] };
    let pow = |a: Src, b: Src| SubNode {
        op: Binary { kind: BinKind::Pow, act: Act::NONE }.into(),
        inputs: vec![Some(a), Some(b)],
    };
    Ok(Lowered::Nodes(if base == DType::F32 {
        vec![to_f32(Src::In(1)), pow(Src::In(0), Src::Node(0, 0))]
    } else {
        vec![
            to_f32(Src::In(0)),
            pow(Src::Node(0, 0), Src::In(1)),
            SubNode { op: Cast { to: base, saturate: true }.into(), inputs: vec![Some(Src::Node(1, 0))] },
        ]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalescing_merges_contiguous_and_broadcast_axes() {
        // Per-channel bias [C,1,1] onto [1,C,H,W]: two axes.
        let c = coalesce(&[1, 8, 5, 5], &[8, 1, 1], &[1, 8, 5, 5]).unwrap();
        assert_eq!(c, Coalesced { shape: vec![8, 25], a: vec![25, 1], b: vec![1, 0] });
        // Same shapes: one axis.
        let c = coalesce(&[2, 3, 4], &[2, 3, 4], &[2, 3, 4]).unwrap();
        assert_eq!(c.shape, vec![24]);
        // Scalar.
        let c = coalesce(&[2, 3], &[], &[2, 3]).unwrap();
        assert_eq!(c, Coalesced { shape: vec![6], a: vec![1], b: vec![0] });
    }
}
