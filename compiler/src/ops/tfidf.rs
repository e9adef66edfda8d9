//! TfIdfVectorizer on integer tokens, as a graph of existing IR ops: n-gram counts by
//! constant-index gathers of the (static-length) rows compared with the pool, then
//! mapped to output columns by a constant 0/1 matrix and weighted. String pools and
//! inputs are refused (generated code holds numbers only).
//!
//! The counting rule is the ONNX reference's: a pool n-gram of length `n` within
//! `[min_gram_length, max_gram_length]` is counted at every start position and every
//! skip distance `d` in `1..=max_skip_count + 1` (unigrams only at `d = 1`) where the
//! tokens at `start + k·d` equal the gram's.

use super::activation::Act;
use super::binary::{BinKind, Binary};
use super::gemm::MatMul;
use super::layout::{Concat, Gather, Reshape};
use super::logic::Compare;
use super::reduce::Reduce;
use super::shape::Cast;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::{CompareOp, ReduceOp};

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
}

fn f32_const(shape: Vec<usize>, v: Vec<f32>) -> Src {
    Src::Const(Tensor { shape, data: Data::F32(v) })
}

/// TfIdfVectorizer (opset 9) on i32/i64 tokens of shape `[C]` or `[B, C]`.
pub fn import_tfidf(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(x) = cx.input(0) else { invalid!("input is required") };
    if cx.has("pool_strings") {
        unsupported!("a pool of strings (string tensors); generated code holds numbers only");
    }
    if !matches!(x.ty.dtype, DType::I32 | DType::I64) {
        unsupported!("TfIdfVectorizer on {} (i32 and i64 tokens)", x.ty.dtype);
    }
    let (rows, len) = match x.ty.shape[..] {
        [c] => (None, c),
        [b, c] => (Some(b), c),
        _ => invalid!("input of rank {} (1 or 2 is required)", x.ty.rank()),
    };
    let min_n = cx.int("min_gram_length", 1)?;
    let max_n = cx.int("max_gram_length", 1)?;
    let max_skip = cx.int("max_skip_count", 0)?;
    if min_n < 1 || max_n < min_n || max_skip < 0 || max_n > 64 || max_skip > 1024 {
        invalid!("gram lengths {min_n}..={max_n} and max_skip_count {max_skip} are out of range");
    }
    let mode = cx.string("mode", "")?;
    if !matches!(mode.as_str(), "TF" | "IDF" | "TFIDF") {
        invalid!("mode `{mode}` (TF, IDF or TFIDF)");
    }
    let pool = cx.ints("pool_int64s")?.unwrap_or_default();
    let counts = cx.ints("ngram_counts")?.unwrap_or_default();
    let indexes = cx.ints("ngram_indexes")?.unwrap_or_default();
    // The pool's grams, by length: (length, tokens of each gram).
    let mut groups: Vec<(usize, Vec<Vec<i64>>)> = vec![];
    for (i, &start) in counts.iter().enumerate() {
        let end = counts.get(i + 1).copied().unwrap_or(pool.len() as i64);
        let n = i + 1;
        if start < 0 || end < start || end as usize > pool.len() || !((end - start) as usize).is_multiple_of(n) {
            invalid!("ngram_counts {counts:?} do not split a pool of {} tokens into n-grams", pool.len());
        }
        let grams = pool[start as usize..end as usize].chunks(n).map(<[i64]>::to_vec).collect();
        groups.push((n, grams));
    }
    let n_grams: usize = groups.iter().map(|(_, g)| g.len()).sum();
    if n_grams == 0 || indexes.len() != n_grams {
        invalid!("{} ngram_indexes for {n_grams} pool n-grams", indexes.len());
    }
    if indexes.iter().any(|&i| !(0..1 << 20).contains(&i)) {
        invalid!("ngram_indexes must be between 0 and 2^20");
    }
    let width = indexes.iter().copied().max().unwrap_or(0) as usize + 1;
    let weights = cx.floats("weights")?;
    if weights.as_ref().is_some_and(|w| !w.is_empty() && w.len() != width) {
        invalid!("{} weights for {width} output columns", weights.as_ref().map_or(0, Vec::len));
    }
    let b = rows.unwrap_or(1);
    let mut bld = Builder::default();
    let rows_in = bld.push(Reshape { shape: vec![b, len] }, vec![Src::In(0)]);
    let mut columns = vec![];
    for (n, grams) in &groups {
        let g = grams.len();
        if g == 0 {
            continue;
        }
        let counted = (min_n as usize..=max_n as usize).contains(n);
        let mut total: Option<Src> = None;
        let skips = if *n == 1 { 1 } else { max_skip as usize + 1 };
        for d in 1..=skips {
            let span = (n - 1) * d;
            if !counted || span >= len {
                continue;
            }
            let starts = len - span;
            let indices: Vec<usize> = (0..starts).flat_map(|i| (0..*n).map(move |k| i + k * d)).collect();
            let taken = bld.push(Gather { axis: 1, indices, indices_shape: vec![starts, *n] }, vec![rows_in.clone()]);
            let taken = bld.push(Reshape { shape: vec![b, starts, 1, *n] }, vec![taken]);
            let pool_t = Tensor { shape: vec![g, *n], data: Data::I64(grams.concat()).cast(x.ty.dtype) };
            let eq = bld.push(Compare { op: CompareOp::Equal }, vec![taken, Src::Const(pool_t)]);
            let eq = bld.push(Cast { to: DType::F32, saturate: true }, vec![eq]);
            let all = bld.push(Reduce { op: ReduceOp::Min, axes: vec![3], keepdims: false }, vec![eq]);
            let found = bld.push(Reduce { op: ReduceOp::Sum, axes: vec![1], keepdims: false }, vec![all]);
            total = Some(match total {
                None => found,
                Some(t) => bld.bin(BinKind::Add, t, found),
            });
        }
        columns.push(total.unwrap_or_else(|| f32_const(vec![b, g], vec![0.0; b * g])));
    }
    let freq = if columns.len() == 1 { columns.remove(0) } else { bld.push(Concat { axis: 1 }, columns) };
    let mut map = vec![0f32; n_grams * width];
    for (j, &o) in indexes.iter().enumerate() {
        map[j * width + o as usize] = 1.0;
    }
    let mut y = bld.push(MatMul { act: Act::NONE }, vec![freq, f32_const(vec![n_grams, width], map)]);
    let w = weights.filter(|w| !w.is_empty());
    if mode == "IDF" {
        y = bld.bin(BinKind::Min, y, f32_const(vec![], vec![1.0]));
    }
    if let (Some(w), "IDF" | "TFIDF") = (w, mode.as_str()) {
        y = bld.bin(BinKind::Mul, y, f32_const(vec![width], w));
    }
    let out_shape = match rows {
        Some(b) => vec![b, width],
        None => vec![width],
    };
    bld.push(Reshape { shape: out_shape }, vec![y]);
    Ok(Lowered::Nodes(bld.nodes))
}
