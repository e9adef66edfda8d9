//! Sampling grids as graphs of existing IR ops: AffineGrid (a constant base grid times
//! the transposed affine matrices) and GridSample (per spatial axis: coordinates
//! unnormalised, each tap's integer index and weight, the padding rule applied per
//! tap; then a run-time GatherElements per tap combination, weighted and summed).

use super::activation::{Act, Unary};
use super::binary::{BinKind, Binary};
use super::gemm::MatMul;
use super::index::GatherElements;
use super::layout::{Expand, Gather, Reshape, Transpose};
use super::logic::Compare;
use super::shape::Cast;
use super::{invalid, unsupported, Op, OpResult};
use crate::front::node::{Lowered, NodeCx, Src, SubNode};
use crate::ir::{DType, Data, Tensor};
use tinyops_runtime::kernels::CompareOp;
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
    fn add(&mut self, a: Src, v: f32) -> Src {
        self.bin(BinKind::Add, a, c(v))
    }
    fn mul(&mut self, a: Src, v: f32) -> Src {
        self.bin(BinKind::Mul, a, c(v))
    }
    fn unary(&mut self, f: UnaryFn, x: Src) -> Src {
        self.push(Unary { f }, vec![x])
    }
    fn clamp(&mut self, x: Src, lo: f32, hi: f32) -> Src {
        let x = self.bin(BinKind::Max, x, c(lo));
        self.bin(BinKind::Min, x, c(hi))
    }
    /// `x` reflected into `[lo, hi]` (the ONNX reference's rule); `lo` when the range is
    /// empty.
    fn reflect(&mut self, x: Src, lo: f32, hi: f32) -> Src {
        let range = hi - lo;
        if range <= 0.0 {
            let z = self.mul(x, 0.0);
            return self.add(z, lo);
        }
        // t = (x - lo) mod 2·range; x' = lo + range - |t - range|.
        let t = self.add(x, -lo);
        let q = self.mul(t.clone(), 1.0 / (2.0 * range));
        let q = self.unary(UnaryFn::Floor, q);
        let q = self.mul(q, 2.0 * range);
        let t = self.bin(BinKind::Sub, t, q);
        let t = self.add(t, -range);
        let t = self.unary(UnaryFn::Abs, t);
        let t = self.mul(t, -1.0);
        self.add(t, lo + range)
    }
}

fn c(v: f32) -> Src {
    Src::Const(Tensor::scalar(Data::F32(vec![v])))
}

/// Normalised positions of `n` samples in [-1, 1].
fn positions(n: usize, align_corners: bool) -> Vec<f32> {
    (0..n)
        .map(|i| {
            if align_corners {
                if n == 1 {
                    0.0
                } else {
                    -1.0 + 2.0 * i as f32 / (n - 1) as f32
                }
            } else {
                (2.0 * i as f32 + 1.0) / n as f32 - 1.0
            }
        })
        .collect()
}

/// AffineGrid (opset 20) with a constant size: `[x, y(, z), 1]` of every output
/// position times `thetaᵀ`.
pub fn import_affine_grid(cx: &NodeCx) -> OpResult<Lowered> {
    let Some(theta) = cx.input(0) else { invalid!("theta is required") };
    if theta.ty.dtype != DType::F32 {
        unsupported!("AffineGrid of {} tensors", theta.ty.dtype);
    }
    let Some(size) = cx.const_ints(1, "size")? else { invalid!("size is required") };
    let r = size.len().saturating_sub(2);
    if !(r == 2 || r == 3) || size.iter().any(|&s| s < 1) {
        invalid!("size {size:?} must be N,C,H,W or N,C,D,H,W");
    }
    let n = size[0] as usize;
    if theta.ty.shape != [n, r, r + 1] {
        invalid!("theta {:?} must be [{n}, {r}, {}]", theta.ty.shape, r + 1);
    }
    let align = cx.int("align_corners", 0)? != 0;
    let dims: Vec<usize> = size[2..].iter().map(|&s| s as usize).collect();
    let axes: Vec<Vec<f32>> = dims.iter().map(|&d| positions(d, align)).collect();
    // Rows in row-major order of the output positions; columns x, y(, z), 1 (x is the
    // last axis).
    let count: usize = dims.iter().product();
    let mut base = Vec::with_capacity(count * (r + 1));
    for p in 0..count {
        let mut rest = p;
        let mut idx = vec![0; r];
        for a in (0..r).rev() {
            idx[a] = rest % dims[a];
            rest /= dims[a];
        }
        for a in (0..r).rev() {
            base.push(axes[a][idx[a]]);
        }
        base.push(1.0);
    }
    let mut b = Builder::default();
    let tt = b.push(Transpose { perm: vec![0, 2, 1] }, vec![Src::In(0)]);
    let base = Src::Const(Tensor { shape: vec![count, r + 1], data: Data::F32(base) });
    let g = b.push(MatMul { act: Act::NONE }, vec![base, tt]);
    let mut shape = vec![n];
    shape.extend(&dims);
    shape.push(r);
    b.push(Reshape { shape }, vec![g]);
    Ok(Lowered::Nodes(b.nodes))
}

/// One tap along one axis: its integer position (as f32), weight, and whether it
/// counts (zeros padding), each shaped like the grid without its last axis.
struct Tap {
    index: Src,
    weight: Option<Src>,
    valid: Option<Src>,
}

/// GridSample (opsets 16–22): nearest, linear and cubic modes, zeros, border and
/// reflection padding, 2-D and 3-D.
pub fn import_grid_sample(cx: &NodeCx) -> OpResult<Lowered> {
    let (Some(x), Some(grid)) = (cx.input(0), cx.input(1)) else { invalid!("X and grid are required") };
    if x.ty.dtype != DType::F32 || grid.ty.dtype != DType::F32 {
        unsupported!("GridSample of {} data and a {} grid", x.ty.dtype, grid.ty.dtype);
    }
    let (xs, gs) = (x.ty.shape.clone(), grid.ty.shape.clone());
    let r = xs.len().saturating_sub(2);
    if !(r == 2 || r == 3) || gs.len() != r + 2 || gs[0] != xs[0] || gs[r + 1] != r {
        invalid!("X {xs:?} and grid {gs:?} must be N,C,spatial… and N,spatial…,{r}");
    }
    let mode = cx.string("mode", if cx.opset < 20 { "bilinear" } else { "linear" })?;
    let mode = match mode.as_str() {
        "bilinear" | "linear" => "linear",
        "bicubic" | "cubic" => "cubic",
        "nearest" => "nearest",
        m => invalid!("mode `{m}`"),
    };
    let padding = cx.string("padding_mode", "zeros")?;
    if !matches!(padding.as_str(), "zeros" | "border" | "reflection") {
        invalid!("padding_mode `{padding}`");
    }
    let align = cx.int("align_corners", 0)? != 0;
    let (n, ch) = (xs[0], xs[1]);
    let out_sp: Vec<usize> = gs[1..=r].to_vec();
    let points: usize = out_sp.iter().product();
    let mut b = Builder::default();
    // Per spatial axis a (x is the grid's component 0 and the input's last axis).
    let mut per_axis: Vec<Vec<Tap>> = vec![];
    for a in 0..r {
        let len = xs[2 + a];
        let comp = r - 1 - a;
        let g = b.push(Gather { axis: r + 1, indices: vec![comp], indices_shape: vec![] }, vec![Src::In(1)]);
        let g = b.push(Reshape { shape: vec![n, 1, points] }, vec![g]);
        // Unnormalise.
        let lf = len as f32;
        let mut p = if align {
            let t = b.add(g, 1.0);
            b.mul(t, (lf - 1.0) / 2.0)
        } else {
            let t = b.add(g, 1.0);
            let t = b.mul(t, lf / 2.0);
            b.add(t, -0.5)
        };
        let (lo, hi) = if align { (0.0, lf - 1.0) } else { (-0.5, lf - 0.5) };
        match padding.as_str() {
            "border" => p = b.clamp(p, 0.0, lf - 1.0),
            "reflection" => p = b.reflect(p, lo, hi),
            _ => {}
        }
        let mut taps = vec![];
        match mode {
            "nearest" => taps.push((b.unary(UnaryFn::Round, p), None)),
            "linear" => {
                let f = b.unary(UnaryFn::Floor, p.clone());
                let t = b.bin(BinKind::Sub, p, f.clone());
                let one_minus = b.mul(t.clone(), -1.0);
                let one_minus = b.add(one_minus, 1.0);
                let f1 = b.add(f.clone(), 1.0);
                taps.push((f, Some(one_minus)));
                taps.push((f1, Some(t)));
            }
            _ => {
                let f = b.unary(UnaryFn::Floor, p.clone());
                let t = b.bin(BinKind::Sub, p, f.clone());
                for (k, w) in cubic_weights(&mut b, t).into_iter().enumerate() {
                    let i = b.add(f.clone(), k as f32 - 1.0);
                    taps.push((i, Some(w)));
                }
            }
        }
        // The padding rule per tap index.
        let taps = taps
            .into_iter()
            .map(|(i, weight)| {
                let (index, valid) = match padding.as_str() {
                    "zeros" => {
                        let cl = b.clamp(i.clone(), 0.0, lf - 1.0);
                        let eq = b.push(Compare { op: CompareOp::Equal }, vec![cl.clone(), i]);
                        let v = b.push(Cast { to: DType::F32, saturate: true }, vec![eq]);
                        (cl, Some(v))
                    }
                    "border" => (b.clamp(i, 0.0, lf - 1.0), None),
                    _ => {
                        let rf = b.reflect(i, lo, hi);
                        // The reference truncates the reflected position to an integer.
                        let rf = b.push(Cast { to: DType::I64, saturate: true }, vec![rf]);
                        let rf = b.push(Cast { to: DType::F32, saturate: true }, vec![rf]);
                        (b.clamp(rf, 0.0, lf - 1.0), None)
                    }
                };
                Tap { index, weight, valid }
            })
            .collect();
        per_axis.push(taps);
    }
    let plane: usize = xs[2..].iter().product();
    let flat_x = b.push(Reshape { shape: vec![n, ch, plane] }, vec![Src::In(0)]);
    let mut total: Option<Src> = None;
    let counts: Vec<usize> = per_axis.iter().map(Vec::len).collect();
    let combos: usize = counts.iter().product();
    for k in 0..combos {
        let mut rest = k;
        let mut pick = vec![0; r];
        for a in (0..r).rev() {
            pick[a] = rest % counts[a];
            rest /= counts[a];
        }
        // Flat index Σ index_a · stride_a, and the product of weights and masks.
        let (mut flat, mut factor): (Option<Src>, Option<Src>) = (None, None);
        let mut stride = 1;
        for a in (0..r).rev() {
            let tap = &per_axis[a][pick[a]];
            let term = if stride == 1 { tap.index.clone() } else { b.mul(tap.index.clone(), stride as f32) };
            flat = Some(match flat {
                None => term,
                Some(f) => b.bin(BinKind::Add, f, term),
            });
            for m in [&tap.weight, &tap.valid].into_iter().flatten() {
                factor = Some(match factor {
                    None => m.clone(),
                    Some(f) => b.bin(BinKind::Mul, f, m.clone()),
                });
            }
            stride *= xs[2 + a];
        }
        let Some(flat) = flat else { invalid!("no spatial axes") };
        let idx = b.push(Cast { to: DType::I64, saturate: true }, vec![flat]);
        let idx = b.push(Expand { shape: vec![n, ch, points] }, vec![idx]);
        let v = b.push(GatherElements { axis: 2 }, vec![flat_x.clone(), idx]);
        let v = match factor {
            Some(f) => b.bin(BinKind::Mul, v, f),
            None => v,
        };
        total = Some(match total {
            None => v,
            Some(t) => b.bin(BinKind::Add, t, v),
        });
    }
    let Some(total) = total else { invalid!("no taps") };
    let mut shape = vec![n, ch];
    shape.extend(&out_sp);
    b.push(Reshape { shape }, vec![total]);
    Ok(Lowered::Nodes(b.nodes))
}

/// The four cubic-convolution weights (A = -0.75) of taps at -1, 0, 1, 2 from the
/// floor, for the fraction `t`.
fn cubic_weights(b: &mut Builder, t: Src) -> Vec<Src> {
    const A: f32 = -0.75;
    // Near taps (|d| ≤ 1): ((A+2)|d| - (A+3))|d|² + 1; far taps (1 < |d| < 2):
    // ((A|d| - 5A)|d| + 8A)|d| - 4A.
    let near = |b: &mut Builder, d: Src| {
        let p = b.mul(d.clone(), A + 2.0);
        let p = b.add(p, -(A + 3.0));
        let p = b.bin(BinKind::Mul, p, d.clone());
        let p = b.bin(BinKind::Mul, p, d);
        b.add(p, 1.0)
    };
    let far = |b: &mut Builder, d: Src| {
        let p = b.mul(d.clone(), A);
        let p = b.add(p, -5.0 * A);
        let p = b.bin(BinKind::Mul, p, d.clone());
        let p = b.add(p, 8.0 * A);
        let p = b.bin(BinKind::Mul, p, d);
        b.add(p, -4.0 * A)
    };
    let d0 = b.add(t.clone(), 1.0);
    let w0 = far(b, d0);
    let w1 = near(b, t.clone());
    let m = b.mul(t.clone(), -1.0);
    let d2 = b.add(m, 1.0);
    let w2 = near(b, d2);
    let m = b.mul(t, -1.0);
    let d3 = b.add(m, 2.0);
    let w3 = far(b, d3);
    vec![w0, w1, w2, w3]
}
