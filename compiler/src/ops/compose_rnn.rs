//! Recurrent layers as graphs of existing IR ops, unrolled over the (static) sequence:
//! RNN and GRU in every direction and layout with the default activations, and LSTM
//! in batch-first layout (layout 1) as transposes around the LSTM op.

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::gemm::MatMul;
use super::layout::{Concat, Gather, Reshape, Slice, Transpose};
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::UnaryFn;

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
    fn bin(&mut self, kind: BinKind, a: Src, b: Src) -> Src {
        self.push(Binary { kind, act: Act::NONE }, vec![a, b])
    }
    fn unary(&mut self, f: UnaryFn, x: Src) -> Src {
        self.push(Unary { f }, vec![x])
    }
    fn reshape(&mut self, x: Src, shape: Vec<usize>) -> Src {
        self.push(Reshape { shape }, vec![x])
    }
    fn transpose(&mut self, x: Src, perm: Vec<usize>) -> Src {
        self.push(Transpose { perm }, vec![x])
    }
    /// Element `i` of axis 0, that axis dropped.
    fn pick(&mut self, x: Src, i: usize) -> Src {
        self.push(Gather { axis: 0, indices: vec![i], indices_shape: vec![] }, vec![x])
    }
    /// Columns `from .. from + n` of the last axis of a `[rows, cols]` matrix.
    fn cols(&mut self, x: Src, rows: usize, from: usize, n: usize) -> Src {
        self.push(Slice { starts: vec![0, from], steps: vec![1, 1], counts: vec![rows, n] }, vec![x])
    }
    fn concat(&mut self, parts: Vec<Src>, axis: usize) -> Src {
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap_or(Src::In(0));
        }
        self.push(Concat { axis }, parts)
    }
}

fn zeros(shape: Vec<usize>) -> Src {
    let n = shape.iter().product();
    Src::Const(Tensor { shape, data: Data::F32(vec![0.0; n]) })
}

fn one() -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![1.0])))
}

/// What RNN, GRU and LSTM share at import.
struct Common {
    hidden: usize,
    dirs: Vec<bool>,
    batch_first: bool,
    seq: usize,
    batch: usize,
}

fn common(cx: &NodeCx, defaults: &[&str]) -> OpResult<Common> {
    let hidden = cx.int("hidden_size", 0)?;
    if hidden <= 0 {
        invalid!("hidden_size is required and must be positive");
    }
    for i in [0, 1, 2, 3, 5] {
        if let Some(a) = cx.input(i) {
            if a.ty.dtype != DType::F32 {
                unsupported!("{} of {} tensors", cx.node.op_type, a.ty.dtype);
            }
        }
    }
    let dirs = match cx.string("direction", "forward")?.as_str() {
        "forward" => vec![false],
        "reverse" => vec![true],
        "bidirectional" => vec![false, true],
        other => invalid!("unknown direction `{other}`"),
    };
    let batch_first = cx.int("layout", 0)? != 0;
    if let Some(acts) = cx.strings("activations")? {
        let ok = acts.chunks(defaults.len()).all(|c| c.iter().map(String::as_str).eq(defaults.iter().copied()));
        if !ok {
            unsupported!("{} activations {acts:?} (only the default {defaults:?})", cx.node.op_type);
        }
    }
    if cx.float("clip", 0.0)? != 0.0 {
        unsupported!("{} clip", cx.node.op_type);
    }
    let Some(x) = cx.input(0) else { invalid!("X is required") };
    let [a, b, _] = x.ty.shape[..] else { invalid!("X must have rank 3, got {:?}", x.ty.shape) };
    let (seq, batch) = if batch_first { (b, a) } else { (a, b) };
    if let Some(lens) = cx.input(4) {
        match lens.value {
            Some(t) if t.data.to_i64_vec().iter().all(|&l| l == seq as i64) => {}
            _ => unsupported!("sequence_lens shorter than the sequence (or not constant)"),
        }
    }
    Ok(Common { hidden: hidden as usize, dirs, batch_first, seq, batch })
}

/// One gate set's weights for direction `d`: `Wᵀ [I, G·H]`, `Rᵀ [H, G·H]`, and the
/// two bias halves `[G·H]` (absent bias: none).
struct DirWeights {
    wt: Src,
    rt: Src,
    wb: Option<Src>,
    rb: Option<Src>,
}

fn dir_weights(b: &mut Builder, cx: &NodeCx, d: usize, gh: usize) -> DirWeights {
    let w = b.pick(Src::In(1), d);
    let wt = b.transpose(w, vec![1, 0]);
    let r = b.pick(Src::In(2), d);
    let rt = b.transpose(r, vec![1, 0]);
    let (wb, rb) = if cx.input(3).is_some() {
        let bias = b.pick(Src::In(3), d);
        let bias = b.reshape(bias, vec![2, gh]);
        (Some(b.pick(bias.clone(), 0)), Some(b.pick(bias, 1)))
    } else {
        (None, None)
    };
    DirWeights { wt, rt, wb, rb }
}

fn add_opt(b: &mut Builder, x: Src, bias: &Option<Src>) -> Src {
    match bias {
        Some(v) => b.bin(BinKind::Add, x, v.clone()),
        None => x,
    }
}

/// RNN and GRU: `cell(b, weights, xw_t, h) -> h` unrolled over time per direction.
fn unroll(
    cx: &NodeCx,
    c: &Common,
    gates: usize,
    mut cell: impl FnMut(&mut Builder, &DirWeights, Src, Src) -> Src,
) -> OpResult<Lowered> {
    let (h, bsz, t_len) = (c.hidden, c.batch, c.seq);
    let gh = gates * h;
    let mut b = Builder::default();
    let x = if c.batch_first { b.transpose(Src::In(0), vec![1, 0, 2]) } else { Src::In(0) };
    let (mut ys, mut lasts) = (vec![], vec![]);
    for (d, &reverse) in c.dirs.iter().enumerate() {
        let wts = dir_weights(&mut b, cx, d, gh);
        let xw = b.push(MatMul { act: Act::NONE }, vec![x.clone(), wts.wt.clone()]);
        let xw = add_opt(&mut b, xw, &wts.wb);
        let mut hcur = match cx.input(5) {
            Some(_) => {
                let h0 = if c.batch_first { b.transpose(Src::In(5), vec![1, 0, 2]) } else { Src::In(5) };
                b.pick(h0, d)
            }
            None => zeros(vec![bsz, h]),
        };
        let mut steps = vec![None; t_len];
        for k in 0..t_len {
            let t = if reverse { t_len - 1 - k } else { k };
            let xt = b.pick(xw.clone(), t);
            hcur = cell(&mut b, &wts, xt, hcur);
            steps[t] = Some(b.reshape(hcur.clone(), vec![1, 1, bsz, h]));
        }
        ys.push(b.concat(steps.into_iter().flatten().collect(), 0));
        lasts.push(b.reshape(hcur, vec![1, bsz, h]));
    }
    let mut y = b.concat(ys, 1);
    let mut y_h = b.concat(lasts, 0);
    if c.batch_first {
        y = b.transpose(y, vec![2, 0, 1, 3]);
        y_h = b.transpose(y_h, vec![1, 0, 2]);
    }
    Ok(Lowered::Graph(b.nodes, vec![Some(y), Some(y_h)]))
}

/// RNN: `h = tanh(x·Wᵀ + h·Rᵀ + Wb + Rb)`.
pub fn import_rnn(cx: &NodeCx) -> OpResult<Lowered> {
    let c = common(cx, &["Tanh"])?;
    unroll(cx, &c, 1, |b, w, xt, h| {
        let hr = b.push(MatMul { act: Act::NONE }, vec![h, w.rt.clone()]);
        let s = b.bin(BinKind::Add, xt, hr);
        let s = add_opt(b, s, &w.rb);
        b.unary(UnaryFn::Tanh, s)
    })
}

/// GRU (gates z, r, h): `h' = (1 - z) ⊙ ĥ + z ⊙ h`, with `linear_before_reset`.
pub fn import_gru(cx: &NodeCx) -> OpResult<Lowered> {
    let c = common(cx, &["Sigmoid", "Tanh"])?;
    let (hid, bsz) = (c.hidden, c.batch);
    let lbr = cx.int("linear_before_reset", 0)? != 0;
    unroll(cx, &c, 3, |b, w, xt, h| {
        let hr = b.push(MatMul { act: Act::NONE }, vec![h.clone(), w.rt.clone()]);
        let hr = add_opt(b, hr, &w.rb);
        let sum = b.bin(BinKind::Add, xt.clone(), hr.clone());
        let zr = b.unary(UnaryFn::Sigmoid, sum);
        let z = b.cols(zr.clone(), bsz, 0, hid);
        let r = b.cols(zr, bsz, hid, hid);
        let xh = b.cols(xt, bsz, 2 * hid, hid);
        let rh = if lbr {
            let hh = b.cols(hr, bsz, 2 * hid, hid);
            b.bin(BinKind::Mul, r, hh)
        } else {
            let gated = b.bin(BinKind::Mul, r, h.clone());
            let rt_h = b.cols(w.rt.clone(), hid, 2 * hid, hid);
            let m = b.push(MatMul { act: Act::NONE }, vec![gated, rt_h]);
            match &w.rb {
                Some(rb) => {
                    let rbh =
                        b.push(Slice { starts: vec![2 * hid], steps: vec![1], counts: vec![hid] }, vec![rb.clone()]);
                    b.bin(BinKind::Add, m, rbh)
                }
                None => m,
            }
        };
        let pre = b.bin(BinKind::Add, xh, rh);
        let cand = b.unary(UnaryFn::Tanh, pre);
        let keep = b.bin(BinKind::Sub, one(), z.clone());
        let a = b.bin(BinKind::Mul, keep, cand);
        let zh = b.bin(BinKind::Mul, z, h);
        b.bin(BinKind::Add, a, zh)
    })
}

/// LSTM in batch-first layout: X and the initial states transposed to sequence-first,
/// the LSTM op, and its three outputs transposed back.
pub fn lstm_batch_first(cx: &NodeCx, lstm: super::lstm::Lstm) -> OpResult<Lowered> {
    let mut b = Builder::default();
    let mut ins: Vec<Option<Src>> = vec![Some(b.transpose(Src::In(0), vec![1, 0, 2]))];
    for slot in 1..8 {
        ins.push(match (slot, cx.input(slot)) {
            (4, _) | (_, None) => None,
            (5 | 6, Some(_)) => Some(b.transpose(Src::In(slot), vec![1, 0, 2])),
            (_, Some(_)) => Some(Src::In(slot)),
        });
    }
    b.nodes.push(SubNode { op: lstm.into(), inputs: ins });
    let at = b.nodes.len() - 1;
    let y = b.transpose(Src::Node(at, 0), vec![2, 0, 1, 3]);
    let y_h = b.transpose(Src::Node(at, 1), vec![1, 0, 2]);
    let y_c = b.transpose(Src::Node(at, 2), vec![1, 0, 2]);
    Ok(Lowered::Graph(b.nodes, vec![Some(y), Some(y_h), Some(y_c)]))
}
