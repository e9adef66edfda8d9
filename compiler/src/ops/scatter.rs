//! Scatters and N-D gathers by indices read at run time: ScatterElements (and the
//! older Scatter), ScatterND and GatherND.

use super::util::{axis, data, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{numel, strides, DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use tinyops_runtime::kernels::{GatherElements as GatherElementsParams, IndexNd, ScatterOp, MAX_RANK};

fn expect_index(t: &TensorType) -> OpResult<()> {
    if !matches!(t.dtype, DType::I32 | DType::I64) {
        invalid!("indices are {}, expected i32 or i64", t.dtype);
    }
    Ok(())
}

fn expect_arith(t: &TensorType, what: &str) -> OpResult<()> {
    if t.dtype == DType::Bool || t.dtype.is_half() || t.dtype.format_only() {
        unsupported!("{what} of {} tensors", t.dtype);
    }
    Ok(())
}

fn wrap(i: i64, len: usize) -> Option<usize> {
    let j = if i < 0 { i + len as i64 } else { i };
    (j >= 0 && (j as usize) < len).then_some(j as usize)
}

fn combine(op: ScatterOp, old: f64, new: f64) -> f64 {
    match op {
        ScatterOp::None => new,
        ScatterOp::Add => old + new,
        ScatterOp::Mul => old * new,
        ScatterOp::Max => old.max(new),
        ScatterOp::Min => old.min(new),
    }
}

fn reduction(cx: &NodeCx) -> OpResult<ScatterOp> {
    Ok(match cx.string("reduction", "none")?.as_str() {
        "none" => ScatterOp::None,
        "add" => ScatterOp::Add,
        "mul" => ScatterOp::Mul,
        "max" => ScatterOp::Max,
        "min" => ScatterOp::Min,
        r => invalid!("reduction `{r}`"),
    })
}

fn pad(v: &[usize]) -> [usize; MAX_RANK] {
    std::array::from_fn(|d| v.get(d).copied().unwrap_or(0))
}

/// ScatterElements along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterElements {
    /// The axis.
    pub axis: usize,
    /// How updates combine.
    pub op: ScatterOp,
}

impl OpDef for ScatterElements {
    fn name(&self) -> &'static str {
        "scatter_elements"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("axis", self.axis.to_string()), ("reduction", format!("{:?}", self.op))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, i, u) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty, req(inputs, 2)?.ty);
        expect_index(i)?;
        expect_arith(x, "ScatterElements")?;
        if i.shape != u.shape || i.rank() != x.rank() || self.axis >= x.rank() || u.dtype != x.dtype {
            invalid!("data {x}, indices {i} and updates {u} along axis {}", self.axis);
        }
        if x.rank() > MAX_RANK {
            unsupported!("ScatterElements of rank {}", x.rank());
        }
        Ok(vec![x.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, ind, upd) = (data(inputs, 0)?, data(inputs, 1)?, data(inputs, 2)?);
        let (xs, is) = (strides(&x.shape), strides(&ind.shape));
        let mut v: Vec<f64> = (0..x.numel()).map(|k| x.data.get_f64(k)).collect();
        for k in 0..ind.numel() {
            let Some(a) = wrap(ind.data.get_i64(k), x.shape[self.axis]) else { invalid!("index out of range") };
            let at: usize =
                (0..x.shape.len()).map(|d| if d == self.axis { a } else { (k / is[d]) % ind.shape[d] } * xs[d]).sum();
            v[at] = combine(self.op, v[at], upd.data.get_f64(k));
        }
        Ok(vec![Tensor { shape: x.shape.clone(), data: crate::ir::Data::F64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, i) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let p = GatherElementsParams {
            rank: x.rank(),
            shape: pad(&i.shape),
            data: pad(&strides(&x.shape)),
            axis: self.axis,
            axis_len: x.shape[self.axis],
        };
        let kernel = Kernel::ScatterElements { t: x.dtype, i: i.dtype, p, op: self.op };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), Slot::In(2)], [Slot::Out(0)])])
    }
}

/// ScatterElements (and Scatter, its older name).
pub fn import_scatter_elements(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("data is required") };
    Ok(Lowered::op(ScatterElements { axis: axis(cx.int("axis", 0)?, x.ty.rank())?, op: reduction(cx)? }, 3))
}

/// The geometry of index tuples of length `k` (the last indices axis) into `data`,
/// after `batch_dims` shared leading axes.
fn index_nd(data: &[usize], indices: &[usize], batch_dims: usize) -> OpResult<IndexNd> {
    let Some(&k) = indices.last() else { invalid!("indices of rank 0") };
    if batch_dims >= indices.len() || batch_dims + k > data.len() || k == 0 || k > MAX_RANK {
        unsupported!("index tuples of {k} components into rank {} after {batch_dims} batch axes", data.len());
    }
    if data[..batch_dims] != indices[..batch_dims] {
        invalid!("batch axes of data {data:?} and indices {indices:?} differ");
    }
    let st = strides(data);
    Ok(IndexNd {
        batch: numel(&data[..batch_dims]),
        batch_stride: numel(&data[batch_dims..]),
        count: numel(&indices[batch_dims..indices.len() - 1]),
        k,
        dims: pad(&data[batch_dims..batch_dims + k]),
        strides: pad(&st[batch_dims..batch_dims + k]),
        slice: numel(&data[batch_dims + k..]),
    })
}

fn tuple_at(p: &IndexNd, ind: &Tensor, t: usize) -> Option<usize> {
    (0..p.k).try_fold(0usize, |at, c| Some(at + wrap(ind.data.get_i64(t * p.k + c), p.dims[c])? * p.strides[c]))
}

/// ScatterND.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterNd {
    /// How updates combine.
    pub op: ScatterOp,
}

impl OpDef for ScatterNd {
    fn name(&self) -> &'static str {
        "scatter_nd"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("reduction", format!("{:?}", self.op))]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, i, u) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty, req(inputs, 2)?.ty);
        expect_index(i)?;
        expect_arith(x, "ScatterND")?;
        let p = index_nd(&x.shape, &i.shape, 0)?;
        if u.numel() != p.count * p.slice || u.dtype != x.dtype {
            invalid!("updates {u} do not fit data {x} and indices {i}");
        }
        Ok(vec![x.clone()])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, ind, upd) = (data(inputs, 0)?, data(inputs, 1)?, data(inputs, 2)?);
        let p = index_nd(&x.shape, &ind.shape, 0)?;
        let mut v: Vec<f64> = (0..x.numel()).map(|k| x.data.get_f64(k)).collect();
        for t in 0..p.count {
            let Some(at) = tuple_at(&p, ind, t) else { invalid!("index out of range") };
            for e in 0..p.slice {
                v[at + e] = combine(self.op, v[at + e], upd.data.get_f64(t * p.slice + e));
            }
        }
        Ok(vec![Tensor { shape: x.shape.clone(), data: crate::ir::Data::F64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, i) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let p = index_nd(&x.shape, &i.shape, 0)?;
        let kernel = Kernel::ScatterNd { t: x.dtype, i: i.dtype, p, op: self.op };
        Ok(vec![invoke(kernel, [Slot::In(0), Slot::In(1), Slot::In(2)], [Slot::Out(0)])])
    }
}

/// ScatterND.
pub fn import_scatter_nd(cx: &NodeCx) -> OpResult<Lowered> {
    Ok(Lowered::op(ScatterNd { op: reduction(cx)? }, 3))
}

/// GatherND with `batch_dims` shared leading axes.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherNd {
    /// Leading axes data and indices share.
    pub batch_dims: usize,
}

impl OpDef for GatherNd {
    fn name(&self) -> &'static str {
        "gather_nd"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("batch_dims", self.batch_dims.to_string())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let (x, i) = (req(inputs, 0)?.ty, req(inputs, 1)?.ty);
        expect_index(i)?;
        let p = index_nd(&x.shape, &i.shape, self.batch_dims)?;
        let mut shape = i.shape[..i.rank() - 1].to_vec();
        shape.extend(&x.shape[self.batch_dims + p.k..]);
        Ok(vec![TensorType::new(x.dtype, shape)])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, ind) = (data(inputs, 0)?, data(inputs, 1)?);
        let p = index_nd(&x.shape, &ind.shape, self.batch_dims)?;
        let mut idx = Vec::with_capacity(out[0].numel());
        for b in 0..p.batch {
            for t in 0..p.count {
                let Some(at) = tuple_at(&p, ind, b * p.count + t) else { invalid!("index out of range") };
                idx.extend((0..p.slice).map(|e| b * p.batch_stride + at + e));
            }
        }
        Ok(vec![Tensor { shape: out[0].shape.clone(), data: x.data.gather(idx.into_iter()) }])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (x, i) = (cx.input(0)?.ty, cx.input(1)?.ty);
        let p = index_nd(&x.shape, &i.shape, self.batch_dims)?;
        Ok(vec![invoke(Kernel::GatherNd { t: x.dtype, i: i.dtype, p }, [Slot::In(0), Slot::In(1)], [Slot::Out(0)])])
    }
}

/// GatherND.
pub fn import_gather_nd(cx: &NodeCx) -> OpResult<Lowered> {
    let b = cx.int("batch_dims", 0)?;
    if b < 0 {
        invalid!("batch_dims {b}");
    }
    Ok(Lowered::op(GatherNd { batch_dims: b as usize }, 2))
}

/// TensorScatter (opset 24): `update` written into a copy of `past_cache` along the
/// sequence `axis`, at run-time positions `write_indices[b] + s` (modulo the cache
/// length in `circular` mode) — a ScatterElements whose indices are built from
/// `write_indices` and a constant ramp.
pub fn import_tensor_scatter(cx: &NodeCx) -> OpResult<Lowered> {
    use super::activation::Act;
    use super::binary::{BinKind, Binary};
    use super::layout::{Expand, Reshape};
    use crate::front::node::{Src, SubNode};
    use crate::ir::Data;
    let (Some(past), Some(update)) = (cx.input(0), cx.input(1)) else { invalid!("past_cache and update are required") };
    let rank = past.ty.rank();
    if rank < 2 || update.ty.rank() != rank {
        invalid!("past_cache {:?} and update {:?} must have one rank of at least 2", past.ty.shape, update.ty.shape);
    }
    let a = axis(cx.int("axis", -2)?, rank)?;
    if a == 0 {
        invalid!("the sequence axis cannot be the batch axis");
    }
    let (cache_len, len) = (past.ty.shape[a], update.ty.shape[a]);
    if (0..rank).any(|d| d != a && past.ty.shape[d] != update.ty.shape[d]) || len > cache_len {
        invalid!("update {:?} does not fit past_cache {:?} on axis {a}", update.ty.shape, past.ty.shape);
    }
    let circular = match cx.string("mode", "linear")?.as_str() {
        "linear" => false,
        "circular" => true,
        m => invalid!("mode `{m}` (linear or circular)"),
    };
    let node = |op: super::Op, inputs: Vec<Src>| SubNode { op, inputs: inputs.into_iter().map(Some).collect() };
    let mut ramp_shape = vec![1; rank];
    ramp_shape[a] = len;
    let ramp = Src::Const(Tensor { shape: ramp_shape, data: Data::I64((0..len as i64).collect()) });
    let mut nodes = vec![];
    let positions = match cx.input(2) {
        None => ramp,
        Some(w) => {
            if w.ty.shape != [past.ty.shape[0]] {
                invalid!("write_indices has shape {:?}, expected [{}]", w.ty.shape, past.ty.shape[0]);
            }
            let mut ws = vec![1; rank];
            ws[0] = past.ty.shape[0];
            nodes.push(node(super::shape::Cast { to: DType::I64, saturate: true }.into(), vec![Src::In(2)]));
            nodes.push(node(Reshape { shape: ws }.into(), vec![Src::Node(0, 0)]));
            nodes.push(node(Binary { kind: BinKind::Add, act: Act::NONE }.into(), vec![Src::Node(1, 0), ramp]));
            Src::Node(2, 0)
        }
    };
    let positions = if circular {
        let m = Src::Const(Tensor::scalar(Data::I64(vec![cache_len as i64])));
        nodes.push(node(Binary { kind: BinKind::Mod, act: Act::NONE }.into(), vec![positions, m]));
        Src::Node(nodes.len() - 1, 0)
    } else {
        positions
    };
    nodes.push(node(Expand { shape: update.ty.shape.clone() }.into(), vec![positions]));
    let idx = Src::Node(nodes.len() - 1, 0);
    nodes.push(node(ScatterElements { axis: a, op: ScatterOp::None }.into(), vec![Src::In(0), idx, Src::In(1)]));
    Ok(Lowered::Nodes(nodes))
}
