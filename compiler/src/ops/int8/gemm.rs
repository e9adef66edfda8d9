//! Quantised fully-connected layer (QLinearMatMul, QGemm, fused DQ → MatMul/Gemm → Q,
//! MatMulInteger). Weights are stored `n × k` (pre-transposed) with their zero point
//! removed, and the input zero point is folded into the bias at compile time:
//! `Σ (a − za)·w = Σ a·w − za·Σ w`.

use super::conv::per_channel;
use super::requant::Multiplier;
use super::{out_stage, qout, QParam};
use crate::ir::{DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::Act;
use crate::ops::util::{data, req};
use crate::ops::{invalid, unsupported, Arg, OpDef, OpError, OpResult};
use tinyops_runtime::kernels::{Bias, Gemm};

/// Quantised `y = a · wᵀ + bias`. Inputs: a (i8/u8, `[…, k]`), w (i8, `[n, k]`),
/// bias (i32, `[n]`, includes `−a.zp · Σ_k w[j, k]`).
#[derive(Debug, Clone, PartialEq)]
pub struct QGemm {
    /// Input quantisation.
    pub a: QParam,
    /// Weight scales: one, or one per output column.
    pub w_scales: Vec<f32>,
    /// Output quantisation; `None` for raw i32 accumulators (MatMulInteger).
    pub y: Option<QParam>,
    /// Fused real-valued clamp.
    pub act: Act,
}

impl QGemm {
    fn multipliers(&self, n: usize) -> OpResult<Vec<Multiplier>> {
        super::channel_multipliers(self.a.scale, &self.w_scales, self.y.as_ref(), n)
    }

    fn dims(inputs: &[Option<Arg>]) -> OpResult<(usize, usize, usize, Vec<usize>)> {
        let (a, w) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        let (Some(&k), [n, k2]) = (a.shape.last(), w.shape.as_slice()) else {
            invalid!("qgemm takes a […, k] input and [n, k] weights, got {a} and {w}");
        };
        if k != *k2 || k == 0 {
            invalid!("inner dimensions differ: {a} × {w}ᵀ");
        }
        let mut out = a.shape.clone();
        *out.last_mut().expect("rank ≥ 1") = *n;
        Ok((a.numel() / k, *n, k, out))
    }
}

/// The constants of a quantised FC layer: weights `[n, k]` minus their zero points,
/// and the i32 bias with the input zero point folded in.
pub struct FcConsts {
    /// `[n, k]` i8.
    pub w: Tensor,
    /// `[n]` i32.
    pub bias: Tensor,
}

/// Lays out FC constants from weights given `[k, n]` (`trans_b = false`) or `[n, k]`,
/// their zero points (one or per column), a bias already at scale `sa · sw[j]`, and
/// the input zero point.
pub fn fc_consts(w: &Tensor, w_zps: &[i64], trans_b: bool, bias: Option<&[i64]>, a_zp: i32) -> OpResult<FcConsts> {
    let [r, c] = w.shape[..] else { invalid!("weights must be 2-D, are {:?}", w.shape) };
    let (k, n) = if trans_b { (c, r) } else { (r, c) };
    let mut wt: Vec<i64> = Vec::with_capacity(n * k);
    let mut bias_out = Vec::with_capacity(n);
    for j in 0..n {
        let zp = if w_zps.len() == 1 { w_zps[0] } else { w_zps[j] };
        let mut sum = 0i64;
        for kk in 0..k {
            let idx = if trans_b { j * k + kk } else { kk * n + j };
            let v = w.data.get_i64(idx) - zp;
            sum += v;
            wt.push(v);
        }
        let b = bias.map_or(0, |b| b[j]) - a_zp as i64 * sum;
        bias_out.push(i32::try_from(b).map_err(|_| OpError::Unsupported("bias overflows i32".into()))?);
    }
    Ok(FcConsts {
        w: Tensor { shape: vec![n, k], data: super::conv::narrow_weights(wt)? },
        bias: Tensor { shape: vec![n], data: Data::I32(bias_out) },
    })
}

impl OpDef for QGemm {
    fn name(&self) -> &'static str {
        "qgemm"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![
            ("a", self.a.text()),
            ("w_scales", super::scales_text(&self.w_scales, "per-column")),
            ("y", self.y.map_or("i32".into(), |y| y.text())),
        ];
        if !self.act.is_none() {
            a.push(("act", self.act.text()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (a, w) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        if a.dtype != self.a.dtype || !matches!(w.dtype, DType::I8 | DType::I16) {
            invalid!("qgemm takes {} input and i8/i16 weights, got {} and {}", self.a.dtype, a.dtype, w.dtype);
        }
        let (_, n, _, out) = Self::dims(inputs)?;
        if self.w_scales.len() != 1 && self.w_scales.len() != n {
            invalid!("{} weight scales for {n} columns", self.w_scales.len());
        }
        let b = req(inputs, 2)?.ty;
        if b.dtype != DType::I32 || b.shape != [n] {
            invalid!("bias must be i32[{n}], is {b}");
        }
        Ok(vec![match &self.y {
            Some(y) => y.ty(out),
            None => TensorType::new(DType::I32, out),
        }])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, w, b) = (data(inputs, 0)?, data(inputs, 1)?, data(inputs, 2)?);
        let (m, n, k, shape) = Self::dims(inputs)?;
        let mults = self.multipliers(n)?;
        let stage = self.y.map(|y| out_stage(&y, &self.act));
        let mut v = Vec::with_capacity(m * n);
        for i in 0..m {
            for j in 0..n {
                let mut acc = b.data.get_i64(j);
                for kk in 0..k {
                    acc += a.data.get_i64(i * k + kk) * w.data.get_i64(j * k + kk);
                }
                v.push(match stage {
                    Some((zp, lo, hi)) => (mults[j].apply(acc as i32) as i64 + zp as i64).clamp(lo as i64, hi as i64),
                    None => acc,
                });
            }
        }
        Ok(vec![Tensor { shape, data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, w) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let (n, k) = (w.shape[0], w.shape[1]);
        let p = Gemm {
            batch: 1,
            m: a.numel() / k.max(1),
            n,
            k,
            trans_a: false,
            trans_b: true,
            batch_stride_a: 0,
            batch_stride_b: 0,
            alpha: 1.0,
            beta: 1.0,
            bias: Bias::PerColumn,
        };
        let reads = [Slot::In(0), Slot::In(1), cx.opt_in(2)];
        let Some(yq) = &self.y else {
            let kernel = Kernel::GemmQ8I32 { a: self.a.dtype, w: w.dtype, p, a_zp: 0 };
            return Ok(vec![invoke(kernel, reads, [Slot::Out(0)])]);
        };
        let (mults, shifts) = per_channel(&self.multipliers(n)?);
        let kernel =
            Kernel::GemmQ8 { a: self.a.dtype, w: w.dtype, y: yq.dtype, p, out: qout(yq, &self.act), mults, shifts };
        Ok(vec![invoke(kernel, reads, [Slot::Scratch(DType::I32), Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(w)) = inputs.get(1) else {
            return 0;
        };
        outputs[0].numel() as u64 * w.shape.get(1).copied().unwrap_or(0) as u64
    }
}

/// MatMulInteger (raw accumulators): a, b (constant, 2-D), a_zero_point?, b_zero_point?.
pub fn import_matmul_integer(cx: &crate::front::node::NodeCx) -> OpResult<crate::front::node::Lowered> {
    use crate::front::node::{Lowered, Src, SubNode};
    let (Some(a), Some(b)) = (cx.input(0), cx.input(1)) else { invalid!("MatMulInteger needs A and B") };
    let Some(bt) = b.value else { return matmul_integer_in_f64(cx) };
    if bt.shape.len() != 2 {
        unsupported!("MatMulInteger with a {}-D B", bt.shape.len());
    }
    if !a.ty.dtype.is_quantised_int() {
        invalid!("MatMulInteger input must be i8 or u8, is {}", a.ty.dtype);
    }
    let a_zp = cx.const_ints(2, "a_zero_point")?.map_or(0, |v| v.first().copied().unwrap_or(0)) as i32;
    let b_zp = cx.const_ints(3, "b_zero_point")?.unwrap_or_else(|| vec![0]);
    let c = fc_consts(bt, &b_zp, false, None, a_zp)?;
    let op =
        QGemm { a: QParam { dtype: a.ty.dtype, scale: 1.0, zp: a_zp }, w_scales: vec![1.0], y: None, act: Act::NONE };
    Ok(Lowered::Nodes(vec![SubNode {
        op: op.into(),
        inputs: vec![Some(Src::In(0)), Some(Src::Const(c.w)), Some(Src::Const(c.bias))],
    }]))
}

/// MatMulInteger with a run-time B: the operands less their zero points in f64, an f64
/// MatMul, and the result as i32. Exact: each product of 8-bit values less their zero
/// points is below 2^16 in magnitude, so every partial sum of fewer than 2^37 of them
/// is an integer f64 holds exactly.
fn matmul_integer_in_f64(cx: &crate::front::node::NodeCx) -> OpResult<crate::front::node::Lowered> {
    use super::super::binary::{BinKind, Binary};
    use super::super::gemm::MatMul;
    use super::super::layout::Reshape;
    use super::super::shape::Cast;
    use crate::front::node::{Lowered, Src, SubNode};
    let (Some(a), Some(b)) = (cx.input(0), cx.input(1)) else { invalid!("MatMulInteger needs A and B") };
    for (name, t) in [("A", a.ty.dtype), ("B", b.ty.dtype)] {
        if !t.is_quantised_int() {
            invalid!("MatMulInteger {name} must be i8 or u8, is {t}");
        }
    }
    let mut nodes: Vec<SubNode> = Vec::new();
    let mut add = |op: crate::ops::Op, inputs: Vec<Src>| {
        nodes.push(SubNode { op, inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(nodes.len() - 1, 0)
    };
    let wide = |add: &mut dyn FnMut(crate::ops::Op, Vec<Src>) -> Src, x: Src| {
        add(Cast { to: DType::F64, saturate: true }.into(), vec![x])
    };
    let operand = |add: &mut dyn FnMut(crate::ops::Op, Vec<Src>) -> Src, i: usize, zp: usize| -> OpResult<Src> {
        let x = wide(add, Src::In(i));
        let Some(n) = cx.input(zp).map(|z| z.ty.numel()) else { return Ok(x) };
        let rows = if i == 0 { a.ty.shape.len().checked_sub(2).map(|r| a.ty.shape[r]) } else { None };
        let z = wide(add, Src::In(zp));
        // A per-row zero point of A ([M]) applies along A's rows.
        let z = match rows {
            Some(m) if n == m && m > 1 => add(Reshape { shape: vec![m, 1] }.into(), vec![z]),
            _ => z,
        };
        Ok(add(Binary { kind: BinKind::Sub, act: Act::NONE }.into(), vec![x, z]))
    };
    let xa = operand(&mut add, 0, 2)?;
    let xb = operand(&mut add, 1, 3)?;
    let y = add(MatMul { act: Act::NONE }.into(), vec![xa, xb]);
    let y = add(Cast { to: DType::I32, saturate: true }.into(), vec![y]);
    Ok(Lowered::Graph(nodes, vec![Some(y)]))
}
