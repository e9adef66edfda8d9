//! Index-moving ONNX ops as graphs of existing IR ops: MaxUnpool (a scatter of the
//! values to their run-time flat indices in a zero tensor), Col2Im (a scatter-add of
//! the columns to constant image positions, then the padding cut off) and
//! ReverseSequence (a run-time GatherElements along time with indices from the
//! sequence lengths).

use super::activation::Act;
use super::binary::{BinKind, Binary};
use super::index::GatherElements;
use super::layout::{Expand, Pad, Reshape, Slice};
use super::logic::{Compare, Where};
use super::scatter::ScatterElements;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::{CompareOp, ScatterOp};

/// A sub-graph under construction: each pushed op gets the next index.
#[derive(Default)]
struct Builder {
    nodes: Vec<SubNode>,
}

impl Builder {
    fn push(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn reshape(&mut self, x: Src, shape: Vec<usize>) -> Src {
        self.push(Reshape { shape }, vec![x])
    }
}

fn zeros(dtype: DType, n: usize) -> Src {
    Src::Const(Tensor { shape: vec![n], data: Data::F64(vec![0.0; n]).cast(dtype) })
}

fn ints(cx: &NodeCx, name: &str, r: usize, default: i64) -> OpResult<Vec<usize>> {
    match cx.ints(name)? {
        None => Ok(vec![default as usize; r]),
        Some(v) if v.len() == r && v.iter().all(|&x| x >= 0) => Ok(v.iter().map(|&x| x as usize).collect()),
        Some(v) => invalid!("{name} {v:?} must have {r} non-negative entries"),
    }
}

/// MaxUnpool: zeros of the output shape with each value of X at its flat index.
pub fn import_max_unpool(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(i)) = (cx.input(0), cx.input(1)) else { invalid!("X and I are required") };
    let xs = x.ty.shape.clone();
    if i.ty.shape != xs || xs.len() < 3 {
        invalid!("X {xs:?} and indices {:?} must have one shape N,C,spatial…", i.ty.shape);
    }
    if xs.contains(&0) {
        invalid!("empty input {xs:?}");
    }
    let r = xs.len() - 2;
    let Some(kernel) = cx.ints("kernel_shape")? else { invalid!("kernel_shape is required") };
    if kernel.len() != r || kernel.iter().any(|&k| k < 1) {
        invalid!("kernel_shape {kernel:?} must have {r} positive entries");
    }
    let strides = ints(cx, "strides", r, 1)?;
    let pads = match cx.ints("pads")? {
        None => vec![0; 2 * r],
        Some(p) if p.len() == 2 * r && p.iter().all(|&v| v >= 0) => p.iter().map(|&v| v as usize).collect(),
        Some(p) => invalid!("pads {p:?} must have {} non-negative entries", 2 * r),
    };
    // The indices address the default output; a larger output_shape pads it at the end
    // (as the ONNX reference does).
    let mut inferred = xs[..2].to_vec();
    for a in 0..r {
        let full = (xs[a + 2] - 1) * strides[a] + kernel[a] as usize;
        if full < pads[a] + pads[a + r] {
            invalid!("pads {pads:?} exceed the output on axis {a}");
        }
        inferred.push(full - pads[a] - pads[a + r]);
    }
    let out: Vec<usize> = match cx.const_ints(2, "output_shape")? {
        Some(s) if s.len() == xs.len() && s.iter().zip(&inferred).all(|(&v, &i)| v >= i as i64) => {
            s.iter().map(|&v| v as usize).collect()
        }
        Some(s) => invalid!("output_shape {s:?} must have {} entries, none below {inferred:?}", xs.len()),
        None => inferred.clone(),
    };
    let (m, total) = (x.ty.numel(), inferred.iter().product());
    let mut b = Builder::default();
    let idx = b.reshape(Src::In(1), vec![m]);
    let val = b.reshape(Src::In(0), vec![m]);
    let y = b.push(ScatterElements { axis: 0, op: ScatterOp::None }, vec![zeros(x.ty.dtype, total), idx, val]);
    let y = b.reshape(y, inferred.clone());
    if out != inferred {
        let mut pads = vec![0; xs.len()];
        pads.extend(out.iter().zip(&inferred).map(|(o, i)| o - i));
        b.push(Pad { pads, value: 0.0 }, vec![y]);
    }
    Ok(Lowered::Nodes(b.nodes))
}

/// Col2Im: every column element added at its (padded) image position, then the
/// padding cut off.
pub fn import_col2im(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let (Some(image), Some(block)) = (cx.const_ints(1, "image_shape")?, cx.const_ints(2, "block_shape")?) else {
        invalid!("image_shape and block_shape are required")
    };
    let r = image.len();
    if r == 0 || block.len() != r || image.iter().chain(&block).any(|&v| v < 1) {
        invalid!("image_shape {image:?} and block_shape {block:?} must be positive and of one length");
    }
    let (image, block): (Vec<usize>, Vec<usize>) =
        (image.iter().map(|&v| v as usize).collect(), block.iter().map(|&v| v as usize).collect());
    let (dil, strides) = (ints(cx, "dilations", r, 1)?, ints(cx, "strides", r, 1)?);
    let pads = match cx.ints("pads")? {
        None => vec![0; 2 * r],
        Some(p) if p.len() == 2 * r && p.iter().all(|&v| v >= 0) => p.iter().map(|&v| v as usize).collect(),
        Some(p) => invalid!("pads {p:?} must have {} non-negative entries", 2 * r),
    };
    if dil.contains(&0) || strides.contains(&0) {
        invalid!("dilations {dil:?} and strides {strides:?} must be positive");
    }
    let xs = x.ty.shape.clone();
    let k: usize = block.iter().product();
    let [n, ck, l] = xs[..] else { invalid!("input {xs:?} must be N, C·∏block, L") };
    if ck % k != 0 {
        invalid!("input {xs:?}: {ck} is not a multiple of ∏block_shape = {k}");
    }
    let c = ck / k;
    let padded: Vec<usize> = (0..r).map(|a| image[a] + pads[a] + pads[a + r]).collect();
    let mut blocks = vec![];
    for a in 0..r {
        let span = dil[a] * (block[a] - 1) + 1;
        if padded[a] < span {
            invalid!("block {block:?} larger than the padded image {padded:?}");
        }
        blocks.push((padded[a] - span) / strides[a] + 1);
    }
    if blocks.iter().product::<usize>() != l {
        invalid!("input has {l} blocks but the geometry gives {blocks:?}");
    }
    // Padded-image position of (block offset kk, block index ll), row-major.
    let unravel = |mut v: usize, dims: &[usize]| {
        let mut o = vec![0; dims.len()];
        for a in (0..dims.len()).rev() {
            o[a] = v % dims[a];
            v /= dims[a];
        }
        o
    };
    let mut pos = Vec::with_capacity(k * l);
    for kk in 0..k {
        let ko = unravel(kk, &block);
        for ll in 0..l {
            let lo = unravel(ll, &blocks);
            let mut flat = 0;
            for a in 0..r {
                flat = flat * padded[a] + lo[a] * strides[a] + ko[a] * dil[a];
            }
            pos.push(flat as i64);
        }
    }
    let plane: usize = padded.iter().product();
    let idx = Src::Const(Tensor { shape: vec![1, 1, k * l], data: Data::I64(pos) });
    let mut b = Builder::default();
    let idx = b.push(Expand { shape: vec![n, c, k * l] }, vec![idx]);
    let upd = b.reshape(Src::In(0), vec![n, c, k * l]);
    let base =
        Src::Const(Tensor { shape: vec![n, c, plane], data: Data::F64(vec![0.0; n * c * plane]).cast(x.ty.dtype) });
    let y = b.push(ScatterElements { axis: 2, op: ScatterOp::Add }, vec![base, idx, upd]);
    let mut full = vec![n, c];
    full.extend(&padded);
    let y = b.reshape(y, full);
    if pads.iter().any(|&p| p > 0) {
        let mut starts = vec![0, 0];
        starts.extend(&pads[..r]);
        let mut counts = vec![n, c];
        counts.extend(&image);
        b.push(Slice { starts, steps: vec![1; r + 2], counts }, vec![y]);
    }
    Ok(Lowered::Nodes(b.nodes))
}

/// ReverseSequence: along `time_axis`, position `t < len[b]` reads `len[b] - 1 - t`,
/// the rest reads itself.
pub fn import_reverse_sequence(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(lens)) = (cx.input(0), cx.input(1)) else { invalid!("input and sequence_lens are required") };
    let xs = x.ty.shape.clone();
    if xs.len() < 2 {
        invalid!("input {xs:?} must have rank 2 or more");
    }
    let (ba, ta) = (cx.int("batch_axis", 1)?, cx.int("time_axis", 0)?);
    if !matches!((ba, ta), (0, 1) | (1, 0)) {
        invalid!("batch_axis {ba} and time_axis {ta} must be 0 and 1");
    }
    let (ba, ta) = (ba as usize, ta as usize);
    if lens.ty.shape != [xs[ba]] {
        invalid!("sequence_lens {:?} must be [{}]", lens.ty.shape, xs[ba]);
    }
    if lens.ty.dtype != DType::I64 {
        unsupported!("sequence_lens of {}", lens.ty.dtype);
    }
    let r = xs.len();
    let mut tshape = vec![1; r];
    tshape[ta] = xs[ta];
    let iota = Src::Const(Tensor { shape: tshape, data: Data::I64((0..xs[ta] as i64).collect()) });
    let mut bshape = vec![1; r];
    bshape[ba] = xs[ba];
    let mut b = Builder::default();
    let len = b.reshape(Src::In(1), bshape);
    let sub = |kind| Binary { kind, act: Act::NONE };
    let rev = b.push(sub(BinKind::Sub), vec![len.clone(), iota.clone()]);
    let one = Src::Const(Tensor::scalar(Data::I64(vec![1])));
    let rev = b.push(sub(BinKind::Sub), vec![rev, one]);
    let inside = b.push(Compare { op: CompareOp::Less }, vec![iota.clone(), len]);
    let idx = b.push(Where, vec![inside, rev, iota]);
    let idx = b.push(Expand { shape: xs.clone() }, vec![idx]);
    b.push(GatherElements { axis: ta }, vec![Src::In(0), idx]);
    Ok(Lowered::Nodes(b.nodes))
}

/// Compress with a constant condition (it fixes the output's shape, so a static
/// module needs it at compile time): a Gather of the selected positions along `axis`,
/// or of the flattened input without one. Positions past the condition's end are
/// dropped, as ONNX specifies.
pub fn import_compress(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    let Some(cond) = cx.const_input(1, "the condition")? else { invalid!("condition is required") };
    if cond.shape.len() != 1 {
        invalid!("the condition must be 1-D, got shape {:?}", cond.shape);
    }
    let (axis, len) = if cx.has("axis") {
        let a = cx.int("axis", 0)?;
        let r = x.ty.rank() as i64;
        if a < -r || a >= r {
            invalid!("axis {a} is out of range for rank {r}");
        }
        let a = if a < 0 { a + r } else { a } as usize;
        (Some(a), x.ty.shape[a])
    } else {
        (None, x.ty.numel())
    };
    if cond.numel() > len {
        invalid!("the condition has {} entries but the axis has only {len}", cond.numel());
    }
    let indices: Vec<usize> = (0..cond.numel()).filter(|&i| cond.data.get_f64(i) != 0.0).collect();
    if indices.is_empty() {
        unsupported!("a condition that selects nothing (an empty output)");
    }
    let gather = super::layout::Gather { axis: axis.unwrap_or(0), indices_shape: vec![indices.len()], indices };
    let mut b = Builder::default();
    let src = match axis {
        Some(_) => Src::In(0),
        None => b.reshape(Src::In(0), vec![len]),
    };
    b.push(gather, vec![src]);
    Ok(Lowered::Nodes(b.nodes))
}
