//! Attention (opset 23/24) as a small graph of IR ops, no kernel of its own: heads
//! split from 3-D inputs (Reshape, Transpose), the KV cache appended (Concat), groups of
//! query heads sharing a key/value head (Reshape, Expand), `Q·Kᵀ·scale` (MatMul, Mul),
//! the soft cap (`c·tanh(x/c)`), one additive bias from the mask, the causal frontier
//! and `nonpad_kv_seqlen` (Where, Less against constant index tables), Softmax with
//! fully masked rows set to zero (IsNaN, Where), `·V`, and the heads merged again.
//! Half-float inputs are computed in f32 and the outputs rounded back (Cast).

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::gemm::MatMul;
use super::layout::{Concat, Expand, Pad, Reshape, Transpose};
use super::logic::{Classify, Compare, Where};
use super::shape::Cast;
use super::softmax::Softmax;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::CompareOp;
use tinyops_runtime::kernels::UnaryFn;

/// The subgraph under construction.
#[derive(Default)]
struct Sub {
    nodes: Vec<SubNode>,
}

impl Sub {
    fn add(&mut self, op: impl Into<Op>, inputs: Vec<Src>) -> Src {
        self.nodes.push(SubNode { op: op.into(), inputs: inputs.into_iter().map(Some).collect() });
        Src::Node(self.nodes.len() - 1, 0)
    }
    fn bin(&mut self, kind: BinKind, a: Src, b: Src) -> Src {
        self.add(Binary { kind, act: Act::NONE }, vec![a, b])
    }
    fn reshape(&mut self, x: Src, shape: Vec<usize>) -> Src {
        self.add(Reshape { shape }, vec![x])
    }
    fn transpose(&mut self, x: Src, perm: Vec<usize>) -> Src {
        self.add(Transpose { perm }, vec![x])
    }
    fn cast(&mut self, x: Src, from: DType, to: DType) -> Src {
        if from == to {
            x
        } else {
            self.add(Cast { to, saturate: true }, vec![x])
        }
    }
}

fn f32_scalar(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

/// `[B, S, H·D]` → `[B, H, S, D]`.
fn split_heads(g: &mut Sub, x: Src, shape: &[usize], heads: usize) -> OpResult<(Src, [usize; 4])> {
    let (b, s, hd) = (shape[0], shape[1], shape[2]);
    if heads == 0 || hd % heads != 0 {
        invalid!("hidden size {hd} is not a multiple of the {heads} heads");
    }
    let d = hd / heads;
    let r = g.reshape(x, vec![b, s, heads, d]);
    Ok((g.transpose(r, vec![0, 2, 1, 3]), [b, heads, s, d]))
}

/// Attention (ai.onnx 23+): outputs `Y`, `present_key`, `present_value`,
/// `qk_matmul_output`.
pub fn import_attention(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(q), Some(k), Some(v)) = (cx.input(0), cx.input(1), cx.input(2)) else {
        invalid!("Q, K and V are required")
    };
    let dt = q.ty.dtype;
    if !(dt == DType::F32 || dt == DType::F64 || dt.is_half()) {
        unsupported!("Attention on {dt} tensors (f32 and f64, and f16/bf16 computed in f32)");
    }
    // The type computed in: f64 stays f64, the rest is computed in f32.
    let ct = if dt == DType::F64 { DType::F64 } else { DType::F32 };
    let scalar =
        |v: f32| if ct == DType::F64 { Src::Const(Tensor::scalar(Data::F64(vec![v as f64]))) } else { f32_scalar(v) };
    if k.ty.dtype != dt || v.ty.dtype != dt {
        invalid!("Q, K and V must have one element type");
    }
    let mode = cx.int("qk_matmul_output_mode", 0)?;
    if !(0..=3).contains(&mode) {
        invalid!("qk_matmul_output_mode {mode} (0 to 3)");
    }
    let softcap = cx.float("softcap", 0.0)?;
    let causal = cx.int("is_causal", 0)? != 0;
    let mut g = Sub::default();

    // Heads: every tensor to [B, H, S, D] in its own element type.
    let rank = q.ty.rank();
    let (q4, k4, v4, qs, ks, vs) = match rank {
        3 => {
            let hq = cx.int("q_num_heads", 0)?;
            let hkv = cx.int("kv_num_heads", 0)?;
            if hq <= 0 || hkv <= 0 {
                invalid!("3-D inputs need the q_num_heads and kv_num_heads attributes");
            }
            if k.ty.rank() != 3 || v.ty.rank() != 3 {
                invalid!("Q is 3-D but K or V is not");
            }
            let (q4, qs) = split_heads(&mut g, Src::In(0), &q.ty.shape, hq as usize)?;
            let (k4, ks) = split_heads(&mut g, Src::In(1), &k.ty.shape, hkv as usize)?;
            let (v4, vs) = split_heads(&mut g, Src::In(2), &v.ty.shape, hkv as usize)?;
            (q4, k4, v4, qs, ks, vs)
        }
        4 => {
            if k.ty.rank() != 4 || v.ty.rank() != 4 {
                invalid!("Q is 4-D but K or V is not");
            }
            let s4 = |s: &[usize]| [s[0], s[1], s[2], s[3]];
            (Src::In(0), Src::In(1), Src::In(2), s4(&q.ty.shape), s4(&k.ty.shape), s4(&v.ty.shape))
        }
        r => invalid!("Q must be 3-D or 4-D, is {r}-D"),
    };
    let [batch, hq, sq, d] = qs;
    let hkv = ks[1];
    let dv = vs[3];
    if ks[0] != batch || vs[0] != batch || vs[1] != hkv || ks[3] != d || vs[2] != ks[2] {
        invalid!("Q {:?}, K {:?} and V {:?} do not agree (as [batch, heads, sequence, head size])", qs, ks, vs);
    }
    if hkv == 0 || hq % hkv != 0 {
        invalid!("{hq} query heads are not a multiple of {hkv} key/value heads");
    }

    // KV cache.
    let past = (cx.input(4), cx.input(5));
    let (kc, vc, past_len) = match past {
        (Some(pk), Some(pv)) => {
            let (ps, pvs) = (&pk.ty.shape, &pv.ty.shape);
            if ps.len() != 4 || pvs.len() != 4 || ps[0] != batch || ps[1] != hkv || ps[3] != d || pvs[3] != dv {
                invalid!("past_key {ps:?} or past_value {pvs:?} does not match K {ks:?} and V {vs:?}");
            }
            if pk.ty.dtype != dt || pv.ty.dtype != dt {
                invalid!("past_key and past_value must have Q's element type");
            }
            let kc = g.add(Concat { axis: 2 }, vec![Src::In(4), k4]);
            let vc = g.add(Concat { axis: 2 }, vec![Src::In(5), v4]);
            (kc, vc, ps[2])
        }
        (None, None) => (k4, v4, 0),
        _ => invalid!("past_key and past_value must be given together"),
    };
    let total = past_len + ks[2];
    let present =
        (cx.node.output.get(1).is_some_and(|s| !s.is_empty()), cx.node.output.get(2).is_some_and(|s| !s.is_empty()));
    if (present.0 || present.1) && past_len == 0 && rank == 4 {
        unsupported!(
            "present_key/present_value without past_key/past_value (the present cache would be the K/V input itself)"
        );
    }

    // Compute in `ct`.
    let qf = g.cast(q4, dt, ct);
    let mut kf = g.cast(kc.clone(), dt, ct);
    let mut vf = g.cast(vc.clone(), dt, ct);
    if hq != hkv {
        let group = hq / hkv;
        let k5 = g.reshape(kf, vec![batch, hkv, 1, total, d]);
        let k5 = g.add(Expand { shape: vec![batch, hkv, group, total, d] }, vec![k5]);
        kf = g.reshape(k5, vec![batch, hq, total, d]);
        let v5 = g.reshape(vf, vec![batch, hkv, 1, total, dv]);
        let v5 = g.add(Expand { shape: vec![batch, hkv, group, total, dv] }, vec![v5]);
        vf = g.reshape(v5, vec![batch, hq, total, dv]);
    }
    let kt = g.transpose(kf, vec![0, 1, 3, 2]);
    let qk = g.add(MatMul { act: Act::NONE }, vec![qf, kt]);
    let scale = match cx.has("scale") {
        true => cx.float("scale", 1.0)?,
        false => 1.0 / (d as f32).sqrt(),
    };
    let mut s = g.bin(BinKind::Mul, qk, scalar(scale));
    let mut qk_out = (mode == 0).then(|| s.clone());
    if softcap > 0.0 {
        let x = g.bin(BinKind::Mul, s, scalar(1.0 / softcap));
        let t = g.add(Unary { f: UnaryFn::Tanh }, vec![x]);
        s = g.bin(BinKind::Mul, t, scalar(softcap));
    }
    if mode == 1 {
        qk_out = Some(s.clone());
    }

    // The additive bias: the mask, the causal frontier, the non-padded key lengths.
    let ninf = f32::NEG_INFINITY;
    if let Some(m) = cx.input(3) {
        let shape = &m.ty.shape;
        if shape.is_empty() || shape.len() > 4 {
            invalid!("attn_mask of rank {} (1 to 4)", shape.len());
        }
        let mut bias = match m.ty.dtype {
            DType::Bool => g.add(Where, vec![Src::In(3), scalar(0.0), scalar(ninf)]),
            t if t == dt => g.cast(Src::In(3), dt, ct),
            t => invalid!("attn_mask must be bool or Q's type, is {t}"),
        };
        let last = shape[shape.len() - 1];
        if last < total {
            // A shorter mask: the keys past its end are padding (`nonpad_kv_seqlen`).
            if cx.input(6).is_none() {
                invalid!("attn_mask covers {last} keys of {total}, and no nonpad_kv_seqlen says the rest are padding");
            }
            let mut pads = vec![0; 2 * shape.len()];
            pads[2 * shape.len() - 1] = total - last;
            bias = g.add(Pad { pads, value: ninf }, vec![bias]);
        } else if last != total {
            invalid!("attn_mask covers {last} keys, but there are {total}");
        }
        s = g.bin(BinKind::Add, s, bias);
    }
    match cx.input(6) {
        Some(n) => {
            if past_len > 0 {
                unsupported!("nonpad_kv_seqlen together with past_key/past_value");
            }
            if n.ty.shape != [batch] {
                invalid!("nonpad_kv_seqlen has shape {:?}, expected [{batch}]", n.ty.shape);
            }
            // Key j is allowed iff c[i][j] < nonpad[b]: c = j, or with the causal rule
            // (j ≤ i + nonpad − Sq) c = j − i + Sq − 1.
            let c: Vec<i64> = (0..sq)
                .flat_map(|i| {
                    (0..total).map(move |j| if causal { j as i64 - i as i64 + sq as i64 - 1 } else { j as i64 })
                })
                .collect();
            let table =
                g.cast(Src::Const(Tensor { shape: vec![sq, total], data: Data::I64(c) }), DType::I64, n.ty.dtype);
            let lens = g.reshape(Src::In(6), vec![batch, 1, 1, 1]);
            let allowed = g.add(Compare { op: CompareOp::Less }, vec![table, lens]);
            let bias = g.add(Where, vec![allowed, scalar(0.0), scalar(ninf)]);
            s = g.bin(BinKind::Add, s, bias);
        }
        None if causal => {
            // Bottom-right alignment: query i sees key j iff j ≤ i + past length.
            let v: Vec<f32> =
                (0..sq).flat_map(|i| (0..total).map(move |j| if j <= i + past_len { 0.0 } else { ninf })).collect();
            let mask = Tensor::f32(vec![sq, total], v);
            let mask =
                if ct == DType::F64 { Tensor { shape: mask.shape, data: mask.data.cast(DType::F64) } } else { mask };
            s = g.bin(BinKind::Add, s, Src::Const(mask));
        }
        None => {}
    }
    if mode == 2 {
        qk_out = Some(s.clone());
    }
    let p = g.add(Softmax { axis: 3, coerce_2d: false, log: false }, vec![s]);
    // A row with every key masked is all NaN after Softmax; its output is zero.
    let p = if ct == DType::F64 {
        // NaN is the one value unequal to itself.
        let number = g.add(Compare { op: CompareOp::Equal }, vec![p.clone(), p.clone()]);
        g.add(Where, vec![number, p, scalar(0.0)])
    } else {
        let nan = g.add(Classify { nan: true, pos: false, neg: false }, vec![p.clone()]);
        g.add(Where, vec![nan, scalar(0.0), p])
    };
    if mode == 3 {
        qk_out = Some(p.clone());
    }
    let y = g.add(MatMul { act: Act::NONE }, vec![p, vf]);
    let y = match rank {
        3 => {
            let t = g.transpose(y, vec![0, 2, 1, 3]);
            g.reshape(t, vec![batch, sq, hq * dv])
        }
        _ => y,
    };
    let y = g.cast(y, ct, dt);
    let want_qk = cx.node.output.get(3).is_some_and(|s| !s.is_empty());
    let qk_out = match (want_qk, qk_out) {
        (true, Some(x)) => Some(g.cast(x, ct, dt)),
        _ => None,
    };
    let outputs = vec![Some(y), present.0.then_some(kc), present.1.then_some(vc), qk_out];
    Ok(Lowered::Graph(g.nodes, outputs))
}

/// FlexAttention (ai.onnx.preview 1) without modifier subgraphs: scaled dot-product
/// attention over 4-D inputs, as [`import_attention`] builds it.
pub fn import_flex_attention(cx: &NodeCx) -> OpResult<Lowered> {
    // With modifier subgraphs the front end imports it (`front::control`).
    for sub in ["score_mod", "prob_mod"] {
        if cx.has(sub) {
            unsupported!("FlexAttention with a {sub} subgraph outside the front end");
        }
    }
    if cx.input(0).is_some_and(|q| q.ty.rank() != 4) {
        invalid!("FlexAttention takes 4-D Q, K and V");
    }
    if cx.n_inputs() > 3 {
        invalid!("FlexAttention has three inputs, the node gives {}", cx.n_inputs());
    }
    import_attention(cx)
}

/// The recurrence of LinearAttention.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    Linear,
    Gated,
    Delta,
    GatedDelta,
}

/// LinearAttention (ai.onnx 27): the recurrence unrolled over the (static) sequence,
/// each step a few element-wise ops and small matrix products on the state
/// `[B, H_kv, d_k, d_v]`; query heads of a group share their key/value head's state.
pub fn import_linear_attention(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(q), Some(k), Some(v)) = (cx.input(0), cx.input(1), cx.input(2)) else {
        invalid!("query, key and value are required")
    };
    let dt = q.ty.dtype;
    if !(dt == DType::F32 || dt.is_half()) {
        unsupported!("LinearAttention on {dt} tensors (f32, and f16/bf16 computed in f32)");
    }
    let rule = match cx.string("update_rule", "gated_delta")?.as_str() {
        "linear" => Rule::Linear,
        "gated" => Rule::Gated,
        "delta" => Rule::Delta,
        "gated_delta" => Rule::GatedDelta,
        r => invalid!("update_rule `{r}` (linear, gated, delta, gated_delta)"),
    };
    let (hq, hkv) = (cx.int("q_num_heads", 0)?, cx.int("kv_num_heads", 0)?);
    if hq <= 0 || hkv <= 0 || hq % hkv != 0 {
        invalid!("q_num_heads {hq} must be a positive multiple of kv_num_heads {hkv}");
    }
    let (hq, hkv) = (hq as usize, hkv as usize);
    for x in [q, k, v] {
        if x.ty.rank() != 3 || x.ty.dtype != dt {
            invalid!("query, key and value must be 3-D of one element type");
        }
    }
    let (b, t) = (q.ty.shape[0], q.ty.shape[1]);
    if k.ty.shape[..2] != [b, t] || v.ty.shape[..2] != [b, t] {
        invalid!("query, key and value must agree in batch and sequence length");
    }
    if q.ty.shape[2] % hq != 0 || k.ty.shape[2] % hkv != 0 || v.ty.shape[2] % hkv != 0 {
        invalid!("packed sizes are not multiples of the head counts");
    }
    let (dk, dv) = (q.ty.shape[2] / hq, v.ty.shape[2] / hkv);
    if k.ty.shape[2] / hkv != dk {
        invalid!("key head size {} differs from query head size {dk}", k.ty.shape[2] / hkv);
    }
    let group = hq / hkv;
    let scale = match cx.float("scale", 0.0)? {
        0.0 => 1.0 / (dk as f32).sqrt(),
        s => s,
    };
    let gated = matches!(rule, Rule::Gated | Rule::GatedDelta);
    let delta = matches!(rule, Rule::Delta | Rule::GatedDelta);
    let decay = match (gated, cx.input(4)) {
        (false, _) => None,
        (true, None) => invalid!("the {rule:?} rule needs the decay input"),
        (true, Some(a)) => {
            let w = a.ty.shape.get(2).copied().unwrap_or(0);
            if a.ty.rank() != 3 || a.ty.shape[..2] != [b, t] || (w != hkv * dk && w != hkv) || a.ty.dtype != dt {
                invalid!("decay has shape {:?}; expected [{b}, {t}, {}] or [{b}, {t}, {hkv}]", a.ty.shape, hkv * dk);
            }
            Some(w == hkv * dk)
        }
    };
    let beta = match (delta, cx.input(5)) {
        (false, _) => None,
        (true, None) => invalid!("the {rule:?} rule needs the beta input"),
        (true, Some(a)) => {
            let w = a.ty.shape.get(2).copied().unwrap_or(0);
            if a.ty.rank() != 3 || a.ty.shape[..2] != [b, t] || (w != hkv && w != 1) || a.ty.dtype != dt {
                invalid!("beta has shape {:?}; expected [{b}, {t}, {hkv}] or [{b}, {t}, 1]", a.ty.shape);
            }
            Some(w)
        }
    };

    let mut g = Sub::default();
    let f = DType::F32;
    let step = |g: &mut Sub, slot: usize, width: usize, i: usize, shape: Vec<usize>| -> Src {
        let s = g.add(
            super::layout::Slice { starts: vec![0, i, 0], steps: vec![1, 1, 1], counts: vec![b, 1, width] },
            vec![Src::In(slot)],
        );
        let s = g.cast(s, dt, f);
        g.reshape(s, shape)
    };
    let mut state = match cx.input(3) {
        Some(p) => {
            if p.ty.shape != [b, hkv, dk, dv] || p.ty.dtype != dt {
                invalid!("past_state has shape {:?}; expected [{b}, {hkv}, {dk}, {dv}]", p.ty.shape);
            }
            Some(g.cast(Src::In(3), dt, f))
        }
        None => None,
    };
    let mut outs = vec![];
    for i in 0..t {
        let qt = step(&mut g, 0, hq * dk, i, vec![b, hkv, group, dk]);
        let kc = step(&mut g, 1, hkv * dk, i, vec![b, hkv, dk, 1]);
        let vt = step(&mut g, 2, hkv * dv, i, vec![b, hkv, 1, dv]);
        // The decayed previous state.
        let prev = match (state.take(), decay) {
            (None, _) => None,
            (Some(s), None) => Some(s),
            (Some(s), Some(per_key)) => {
                let shape = if per_key { vec![b, hkv, dk, 1] } else { vec![b, hkv, 1, 1] };
                let width = if per_key { hkv * dk } else { hkv };
                let gt = step(&mut g, 4, width, i, shape);
                let e = g.add(Unary { f: UnaryFn::Exp }, vec![gt]);
                Some(g.bin(BinKind::Mul, s, e))
            }
        };
        let u = match (beta, &prev) {
            (None, _) => vt,
            (Some(w), prev) => {
                let bt = step(&mut g, 5, w, i, if w == 1 { vec![b, 1, 1, 1] } else { vec![b, hkv, 1, 1] });
                let resid = match prev {
                    None => vt,
                    Some(s) => {
                        let kr = g.reshape(kc.clone(), vec![b, hkv, 1, dk]);
                        let pred = g.add(MatMul { act: Act::NONE }, vec![kr, s.clone()]);
                        g.bin(BinKind::Sub, vt, pred)
                    }
                };
                g.bin(BinKind::Mul, resid, bt)
            }
        };
        let outer = g.add(MatMul { act: Act::NONE }, vec![kc, u]);
        let s = match prev {
            None => outer,
            Some(p) => g.bin(BinKind::Add, p, outer),
        };
        let o = g.add(MatMul { act: Act::NONE }, vec![qt, s.clone()]);
        let o = g.bin(BinKind::Mul, o, f32_scalar(scale));
        outs.push(g.reshape(o, vec![b, 1, hq * dv]));
        state = Some(s);
    }
    let Some(state) = state else { invalid!("LinearAttention over an empty sequence") };
    let y = if outs.len() == 1 { outs.pop().unwrap_or(state.clone()) } else { g.add(Concat { axis: 1 }, outs) };
    let y = g.cast(y, f, dt);
    let present = g.cast(state, f, dt);
    Ok(Lowered::Graph(g.nodes, vec![Some(y), Some(present)]))
}

/// RotaryEmbedding (ai.onnx 23): the input as `[B, S, H, D]` (Transpose of 4-D
/// `[B, H, S, D]`, Reshape of 3-D `[B, S, H·D]`), its first `rotary_embedding_dim`
/// features rotated in pairs — halves, or even and odd features when `interleaved` —
/// by the cos/sin caches (gathered at `position_ids` when given), the rest passed
/// through (Slice, Mul, Sub, Add, Concat), and the result in the input's shape again.
pub fn import_rotary_embedding(cx: &NodeCx) -> OpResult<Lowered> {
    use super::index::GatherIndexed;
    use super::layout::{Gather, Slice};
    let (Some(x), Some(cos), Some(sin)) = (cx.input(0), cx.input(1), cx.input(2)) else {
        invalid!("input, cos_cache and sin_cache are required")
    };
    let interleaved = cx.int("interleaved", 0)? != 0;
    let mut g = Sub::default();
    let (x4, [b, s, h, d]) = match x.ty.rank() {
        4 => {
            let sh = &x.ty.shape;
            (g.transpose(Src::In(0), vec![0, 2, 1, 3]), [sh[0], sh[2], sh[1], sh[3]])
        }
        3 => {
            let heads = cx.int("num_heads", 0)?;
            let sh = &x.ty.shape;
            if heads <= 0 || sh[2] % heads as usize != 0 {
                invalid!("a 3-D input needs num_heads dividing its hidden size {}", sh[2]);
            }
            let (h, d) = (heads as usize, sh[2] / heads as usize);
            (g.reshape(Src::In(0), vec![sh[0], sh[1], h, d]), [sh[0], sh[1], h, d])
        }
        r => invalid!("input must be 3-D or 4-D, is {r}-D"),
    };
    let rot = match cx.int("rotary_embedding_dim", 0)? {
        0 => d,
        r if r < 0 || r as usize > d || r % 2 != 0 => invalid!("rotary_embedding_dim {r} (even, at most {d})"),
        r => r as usize,
    };
    let half = rot / 2;
    // The caches as [B, S, 1, rot/2].
    let cache = |g: &mut Sub, i: usize, shape: &[usize]| -> OpResult<Src> {
        let c = match cx.input(3) {
            Some(p) => {
                if shape.len() != 2 || p.ty.shape != [b, s] {
                    invalid!(
                        "caches {shape:?} with position_ids {:?} (expected [max_position, {half}] and [{b}, {s}])",
                        p.ty.shape
                    );
                }
                g.add(GatherIndexed { axis: 0 }, vec![Src::In(i), Src::In(3)])
            }
            None => Src::In(i),
        };
        let want = if cx.input(3).is_some() { vec![shape[0], half] } else { vec![b, s, half] };
        if shape != want.as_slice() {
            invalid!("cache of shape {shape:?}, expected {want:?}");
        }
        Ok(g.reshape(c, vec![b, s, 1, half]))
    };
    let (cos, sin) = (cache(&mut g, 1, &cos.ty.shape)?, cache(&mut g, 2, &sin.ty.shape)?);
    let window = |g: &mut Sub, x: Src, start: usize, count: usize| {
        g.add(Slice { starts: vec![0, 0, 0, start], steps: vec![1; 4], counts: vec![b, s, h, count] }, vec![x])
    };
    let (x1, x2) = if interleaved {
        let pick = |g: &mut Sub, first: usize| {
            let indices = (0..half).map(|k| 2 * k + first).collect();
            g.add(Gather { axis: 3, indices, indices_shape: vec![half] }, vec![x4.clone()])
        };
        (pick(&mut g, 0), pick(&mut g, 1))
    } else {
        (window(&mut g, x4.clone(), 0, half), window(&mut g, x4.clone(), half, half))
    };
    let (c1, s2) = (g.bin(BinKind::Mul, cos.clone(), x1.clone()), g.bin(BinKind::Mul, sin.clone(), x2.clone()));
    let real = g.bin(BinKind::Sub, c1, s2);
    let (s1, c2) = (g.bin(BinKind::Mul, sin, x1), g.bin(BinKind::Mul, cos, x2));
    let imag = g.bin(BinKind::Add, s1, c2);
    let rotated = if interleaved {
        let r5 = g.reshape(real, vec![b, s, h, half, 1]);
        let i5 = g.reshape(imag, vec![b, s, h, half, 1]);
        let pairs = g.add(Concat { axis: 4 }, vec![r5, i5]);
        g.reshape(pairs, vec![b, s, h, rot])
    } else {
        g.add(Concat { axis: 3 }, vec![real, imag])
    };
    let y = if rot < d {
        let rest = window(&mut g, x4, rot, d - rot);
        g.add(Concat { axis: 3 }, vec![rotated, rest])
    } else {
        rotated
    };
    let y = match x.ty.rank() {
        4 => g.transpose(y, vec![0, 2, 1, 3]),
        _ => g.reshape(y, x.ty.shape.clone()),
    };
    Ok(Lowered::Graph(g.nodes, vec![Some(y)]))
}
