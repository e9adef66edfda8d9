//! Matrix products: ONNX Gemm (2-D, transposes, alpha/beta, broadcast C) and MatMul
//! (numpy semantics: 1-D promotion, broadcast batch axes), both with a fused clamp.

use super::activation::Act;
use super::util::{broadcast, expect_dtype, expect_float, f32s, f64s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, DType, Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::Bias;

/// `y = act(alpha · op(A) · op(B) + beta · C)` on 2-D A and B.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemm {
    /// A is stored transposed.
    pub trans_a: bool,
    /// B is stored transposed.
    pub trans_b: bool,
    /// Product scale.
    pub alpha: f32,
    /// C scale.
    pub beta: f32,
    /// Fused output clamp.
    pub act: Act,
}

/// How C broadcasts onto `[m, n]`.
pub fn bias_kind(c: Option<&[usize]>, m: usize, n: usize) -> OpResult<Bias> {
    let Some(c) = c else { return Ok(Bias::None) };
    let dims: Vec<usize> = c.to_vec();
    Ok(match dims.as_slice() {
        _ if numel(&dims) == 1 => Bias::Scalar,
        [x] | [1, x] if *x == n => Bias::PerColumn,
        [x, 1] if *x == m => Bias::PerRow,
        [a, b] if *a == m && *b == n => Bias::Full,
        _ => invalid!("C of shape {dims:?} does not broadcast to [{m}, {n}]"),
    })
}

impl Gemm {
    fn mnk(&self, a: &[usize], b: &[usize]) -> OpResult<(usize, usize, usize)> {
        if a.len() != 2 || b.len() != 2 {
            invalid!("Gemm needs 2-D operands, got {a:?} and {b:?}");
        }
        let (m, k) = if self.trans_a { (a[1], a[0]) } else { (a[0], a[1]) };
        let (k2, n) = if self.trans_b { (b[1], b[0]) } else { (b[0], b[1]) };
        if k != k2 {
            invalid!("inner dimensions differ: A {a:?} (trans {}) and B {b:?} (trans {})", self.trans_a, self.trans_b);
        }
        Ok((m, n, k))
    }
}

impl OpDef for Gemm {
    fn name(&self) -> &'static str {
        "gemm"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a = vec![("trans_a", self.trans_a.to_string()), ("trans_b", self.trans_b.to_string())];
        if self.alpha != 1.0 {
            a.push(("alpha", self.alpha.to_string()));
        }
        if self.beta != 1.0 {
            a.push(("beta", self.beta.to_string()));
        }
        if !self.act.is_none() {
            a.push(("act", self.act.text()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        expect_dtype(inputs, 0, DType::F32)?;
        expect_dtype(inputs, 1, DType::F32)?;
        let (m, n, _) = self.mnk(&req(inputs, 0)?.ty.shape, &req(inputs, 1)?.ty.shape)?;
        if let Some(Some(c)) = inputs.get(2) {
            bias_kind(Some(&c.ty.shape), m, n)?;
        }
        Ok(vec![TensorType::new(DType::F32, vec![m, n])])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (f32s(inputs, 0)?, f32s(inputs, 1)?);
        let (m, n, k) = self.mnk(&req(inputs, 0)?.ty.shape, &req(inputs, 1)?.ty.shape)?;
        let c = match inputs.get(2) {
            Some(Some(c)) => Some((f32s(inputs, 2)?, bias_kind(Some(&c.ty.shape), m, n)?)),
            _ => None,
        };
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for kk in 0..k {
                    let av = if self.trans_a { a[kk * m + i] } else { a[i * k + kk] };
                    let bv = if self.trans_b { b[j * k + kk] } else { b[kk * n + j] };
                    s += av as f64 * bv as f64;
                }
                let cv = match c {
                    None | Some((_, Bias::None)) => 0.0,
                    Some((c, Bias::Scalar)) => c[0],
                    Some((c, Bias::PerColumn)) => c[j],
                    Some((c, Bias::PerRow)) => c[i],
                    Some((c, Bias::Full)) => c[i * n + j],
                };
                y[i * n + j] = self.act.apply((self.alpha as f64 * s + self.beta as f64 * cv as f64) as f32);
            }
        }
        Ok(vec![Tensor::f32(vec![m, n], y)])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let (m, n, k) = self.mnk(&a.shape, &b.shape)?;
        let c = cx.inputs.get(2).and_then(|o| o.as_ref()).map(|o| o.ty.shape.as_slice());
        let p = tinyops_runtime::kernels::Gemm {
            batch: 1,
            m,
            n,
            k,
            trans_a: self.trans_a,
            trans_b: self.trans_b,
            batch_stride_a: 0,
            batch_stride_b: 0,
            alpha: self.alpha,
            beta: self.beta,
            bias: bias_kind(c, m, n)?,
        };
        let kernel = Kernel::GemmF32 { p, act: self.act.clamp() };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), cx.opt_in(2)], [Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(a)) = inputs.first() else {
            return 0;
        };
        let k = if self.trans_a { a.shape[0] } else { a.shape[1] };
        (outputs[0].numel() * k) as u64
    }
}

/// Numpy matrix product with an optional fused bias (per output column) and clamp.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMul {
    /// Fused output clamp.
    pub act: Act,
}

/// Shapes of a numpy matmul: (batch shape, m, n, k, a batch shape, b batch shape).
struct Mm {
    batch: Vec<usize>,
    m: usize,
    n: usize,
    k: usize,
    a_batch: Vec<usize>,
    b_batch: Vec<usize>,
    out: Vec<usize>,
}

fn matmul_shapes(a: &[usize], b: &[usize]) -> OpResult<Mm> {
    if a.is_empty() || b.is_empty() {
        invalid!("MatMul operands must have rank ≥ 1");
    }
    let a2: Vec<usize> = if a.len() == 1 { vec![1, a[0]] } else { a.to_vec() };
    let b2: Vec<usize> = if b.len() == 1 { vec![b[0], 1] } else { b.to_vec() };
    let (m, k) = (a2[a2.len() - 2], a2[a2.len() - 1]);
    let (k2, n) = (b2[b2.len() - 2], b2[b2.len() - 1]);
    if k != k2 {
        invalid!("inner dimensions differ: {a:?} × {b:?}");
    }
    let a_batch = a2[..a2.len() - 2].to_vec();
    let b_batch = b2[..b2.len() - 2].to_vec();
    let batch = broadcast(&a_batch, &b_batch)?;
    let mut out = batch.clone();
    if a.len() > 1 {
        out.push(m);
    }
    if b.len() > 1 {
        out.push(n);
    }
    Ok(Mm { batch, m, n, k, a_batch, b_batch, out })
}

impl OpDef for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        if self.act.is_none() {
            vec![]
        } else {
            vec![("act", self.act.text())]
        }
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let t = expect_float(inputs, 0)?;
        expect_dtype(inputs, 1, t)?;
        let mm = matmul_shapes(&req(inputs, 0)?.ty.shape, &req(inputs, 1)?.ty.shape)?;
        if let Some(Some(c)) = inputs.get(2) {
            if numel(&c.ty.shape) != mm.n {
                invalid!("fused bias of shape {:?} must have {} elements", c.ty.shape, mm.n);
            }
        }
        Ok(vec![TensorType::new(t, mm.out)])
    }
    fn eval(&self, inputs: &[Option<Arg>], _: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (a, b) = (f64s(inputs, 0)?, f64s(inputs, 1)?);
        let mm = matmul_shapes(&req(inputs, 0)?.ty.shape, &req(inputs, 1)?.ty.shape)?;
        let bias = match inputs.get(2) {
            Some(Some(_)) => Some(f64s(inputs, 2)?),
            _ => None,
        };
        let bias = bias.as_deref();
        let nb = numel(&mm.batch);
        let ia = super::util::broadcast_index(&mm.a_batch, &mm.batch);
        let ib = super::util::broadcast_index(&mm.b_batch, &mm.batch);
        let (m, n, k) = (mm.m, mm.n, mm.k);
        let mut y = vec![0f64; nb * m * n];
        for t in 0..nb {
            let (ao, bo) = (ia[t] * m * k, ib[t] * k * n);
            for i in 0..m {
                for j in 0..n {
                    let mut s = bias.map_or(0.0, |bv| bv[j]);
                    for kk in 0..k {
                        s += a[ao + i * k + kk] * b[bo + kk * n + j];
                    }
                    y[(t * m + i) * n + j] = s;
                }
            }
        }
        let data = match req(inputs, 0)?.ty.dtype {
            DType::F32 => Data::F32(y.iter().map(|&v| self.act.apply(v as f32)).collect()),
            _ => Data::F64(y),
        };
        Ok(vec![Tensor { shape: mm.out, data }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (a, b) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let mm = matmul_shapes(&a.shape, &b.shape)?;
        let (nb_a, nb_b, nb) = (numel(&mm.a_batch), numel(&mm.b_batch), numel(&mm.batch));
        // A batch of A against one B is a single taller product.
        let (batch, m, sa, sb) = if nb_b == 1 {
            (1, nb * mm.m, 0, 0)
        } else if (nb_a == 1 || mm.a_batch == mm.batch) && mm.b_batch == mm.batch {
            (nb, mm.m, if nb_a == 1 { 0 } else { mm.m * mm.k }, mm.k * mm.n)
        } else {
            unsupported!("MatMul whose batch axes {:?} and {:?} broadcast against each other", mm.a_batch, mm.b_batch);
        };
        let p = tinyops_runtime::kernels::Gemm {
            batch,
            m,
            n: mm.n,
            k: mm.k,
            trans_a: false,
            trans_b: false,
            batch_stride_a: sa,
            batch_stride_b: sb,
            alpha: 1.0,
            beta: 1.0,
            bias: if cx.has_input(2) { Bias::PerColumn } else { Bias::None },
        };
        let kernel = match a.dtype {
            DType::F64 if self.act.is_none() => Kernel::GemmFloat { t: DType::F64, p },
            DType::F64 => unsupported!("MatMul of f64 tensors with a fused clamp"),
            _ => Kernel::GemmF32 { p, act: self.act.clamp() },
        };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), cx.opt_in(2)], [Slot::Out(0)])])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], outputs: &[TensorType]) -> u64 {
        let Some(Some(a)) = inputs.first() else {
            return 0;
        };
        (outputs[0].numel() * a.shape.last().copied().unwrap_or(1)) as u64
    }
}

/// ONNX Gemm.
pub fn import_gemm(cx: &NodeCx) -> OpResult<Lowered> {
    let g = Gemm {
        trans_a: cx.int("transA", 0)? != 0,
        trans_b: cx.int("transB", 0)? != 0,
        alpha: cx.float("alpha", 1.0)?,
        beta: cx.float("beta", 1.0)?,
        act: Act::NONE,
    };
    if cx.opset < 7 && cx.has("broadcast") && cx.int("broadcast", 0)? == 0 {
        if let Some(c) = cx.input(2) {
            if c.ty.rank() != 2 {
                unsupported!("Gemm-6 without broadcast and a C of rank {}", c.ty.rank());
            }
        }
    }
    Ok(Lowered::op(g, cx.n_inputs().min(3)))
}

/// ONNX MatMul. Batch axes that broadcast against each other (`[3,1]` against `[1,2]`)
/// are expanded to the common batch first (Expand), so the kernel sees one batch.
pub fn import_matmul(cx: &NodeCx) -> OpResult<Lowered> {
    use crate::front::node::{Src, SubNode};
    let (Some(a), Some(b)) = (cx.input(0), cx.input(1)) else { return Ok(Lowered::op(MatMul { act: Act::NONE }, 2)) };
    let mm = matmul_shapes(&a.ty.shape, &b.ty.shape)?;
    let (nb_a, nb_b) = (numel(&mm.a_batch), numel(&mm.b_batch));
    let kernel_batches = nb_b == 1 || ((nb_a == 1 || mm.a_batch == mm.batch) && mm.b_batch == mm.batch);
    if kernel_batches || a.ty.rank() < 3 || b.ty.rank() < 3 {
        return Ok(Lowered::op(MatMul { act: Act::NONE }, 2));
    }
    let mut nodes = Vec::new();
    let mut expand = |i: usize, own: &[usize], tail: [usize; 2]| {
        if own == mm.batch.as_slice() {
            return Src::In(i);
        }
        let shape = mm.batch.iter().copied().chain(tail).collect();
        nodes.push(SubNode { op: super::layout::Expand { shape }.into(), inputs: vec![Some(Src::In(i))] });
        Src::Node(nodes.len() - 1, 0)
    };
    let ea = expand(0, &mm.a_batch, [mm.m, mm.k]);
    let eb = expand(1, &mm.b_batch, [mm.k, mm.n]);
    nodes.push(SubNode { op: MatMul { act: Act::NONE }.into(), inputs: vec![Some(ea), Some(eb)] });
    let y = Src::Node(nodes.len() - 1, 0);
    Ok(Lowered::Graph(nodes, vec![Some(y)]))
}
