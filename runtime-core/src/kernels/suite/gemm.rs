//! GEMM checks: the float GEMM with every bias form, both transposes, batches with
//! shared or strided operands and random alpha/beta; the quantised fully-connected
//! kernels with per-column or single multipliers.

use super::harness::{
    clamp_of, close, exact, fill, head, head_mut, multipliers, qout, typical_shift, Int, Rng, Sci, Text, Verdict, Want,
    MAX_CH, N, SENTINEL, SLACK,
};
use super::reference;
use crate::kernels::{Bias, Clamp, Gemm};
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// Elements of A and B a float GEMM reads.
fn operand_lens(p: &Gemm) -> (usize, usize) {
    let last = p.batch.saturating_sub(1);
    (last * p.batch_stride_a + p.m * p.k, last * p.batch_stride_b + p.k * p.n)
}

/// A random float GEMM whose tensors fit the suite's buffers; with `plain`, a
/// fully-connected layer's (no transposes, `alpha = beta = 1`, no bias or one per
/// column) up to 150 columns wide, the form the x86 kernel vectorises.
fn geometry(rng: &mut Rng, plain: bool) -> Gemm {
    for _ in 0..64 {
        if plain {
            let (m, n) = (rng.dim(3), rng.range(1, 150));
            let p = Gemm {
                batch: rng.dim(2),
                m,
                n,
                k: rng.dim((N / n).max(1)),
                trans_a: false,
                trans_b: false,
                batch_stride_a: 0,
                batch_stride_b: 0,
                alpha: 1.0,
                beta: 1.0,
                bias: rng.pick(&[Bias::None, Bias::PerColumn], Bias::None),
            };
            let p =
                Gemm { batch_stride_a: p.m * p.k, batch_stride_b: if rng.chance(1, 2) { 0 } else { p.k * p.n }, ..p };
            let (na, nb) = operand_lens(&p);
            if na <= N && nb <= N && p.bias_len() <= N && p.batch * m * n <= N {
                return p;
            }
            continue;
        }
        let (batch, m, n, k) = (rng.dim(3), rng.dim(8), rng.dim(12), rng.dim(40));
        let stride = |rng: &mut Rng, len: usize| if batch > 1 && rng.chance(1, 3) { 0 } else { len + rng.below(3) };
        let p = Gemm {
            batch,
            m,
            n,
            k,
            trans_a: rng.chance(1, 2),
            trans_b: rng.chance(1, 2),
            batch_stride_a: stride(rng, m * k),
            batch_stride_b: stride(rng, k * n),
            alpha: rng.pick(&[1.0, 0.5, -1.25], 1.0) * if rng.chance(1, 4) { rng.float(0.1, 2.0) } else { 1.0 },
            beta: rng.pick(&[1.0, 0.0, 2.0], 1.0) * if rng.chance(1, 4) { rng.float(-2.0, 2.0) } else { 1.0 },
            bias: rng.pick(&[Bias::None, Bias::Scalar, Bias::PerColumn, Bias::PerRow, Bias::Full], Bias::None),
        };
        let (na, nb) = operand_lens(&p);
        if na <= N && nb <= N && p.bias_len() <= N && batch * m * n <= N {
            return p;
        }
    }
    Gemm {
        batch: 1,
        m: 1,
        n: 1,
        k: 1,
        trans_a: false,
        trans_b: false,
        batch_stride_a: 0,
        batch_stride_b: 0,
        alpha: 1.0,
        beta: 1.0,
        bias: Bias::None,
    }
}

/// `gemm_f32`: within the rounding bound of each output's sum.
pub(crate) fn gemm_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    gemm_f32_of(rng, geo, imp, want, false)
}

/// [`gemm_f32`] on fully-connected layers half of the time (see [`geometry`]).
#[allow(dead_code, reason = "used by the table's line for the AVX2 float GEMM")]
pub(crate) fn gemm_f32_wide<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let plain = rng.chance(1, 2);
    gemm_f32_of(rng, geo, imp, want, plain)
}

fn gemm_f32_of<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>, plain: bool) -> Verdict
where
    F: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Gemm, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let p = geometry(rng, plain);
    let act = clamp_of(rng);
    let (na, nb) = operand_lens(&p);
    let (mut a, mut b, mut c) = ([0.0f32; N], [0.0f32; N], [0.0f32; N]);
    fill(&mut a, || rng.float(-1.0, 1.0));
    fill(&mut b, || rng.float(-1.0, 1.0));
    fill(&mut c, || rng.float(-1.0, 1.0));
    let ny = p.batch * p.m * p.n + rng.below(SLACK + 1);
    let _ = write!(
        geo,
        "b{} m{} n{} k{} ta{} tb{} sa{} sb{} alpha{} beta{} {:?} act{},{}",
        p.batch,
        p.m,
        p.n,
        p.k,
        p.trans_a as u8,
        p.trans_b as u8,
        p.batch_stride_a,
        p.batch_stride_b,
        Sci(p.alpha),
        Sci(p.beta),
        p.bias,
        Sci(act.min),
        Sci(act.max)
    );
    let (a, b, c) = (head(&a, na), head(&b, nb), head(&c, p.bias_len()));

    let (mut got, mut exp, mut tol) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK], [0.0f32; N + SLACK]);
    imp(&p, act, a, b, c, head_mut(&mut got, ny));
    reference::gemm_f32(&p, act, a, b, c, &mut exp, &mut tol);
    if let Want::Twin(twin) = want {
        exp = [SENTINEL; N + SLACK];
        twin(&p, act, a, b, c, head_mut(&mut exp, ny));
        tol.iter_mut().for_each(|t| *t *= 2.0);
    }
    close("y", &got, &exp, |i, _| tol.get(i).copied().unwrap_or(0.0))
}

/// The random operands of a quantised fully-connected layer (`w` is `n × k`).
struct Fc<X, W> {
    p: Gemm,
    a: [X; N],
    w: [W; N],
    bias: [i32; MAX_CH],
}

impl<X: Int, W: Int> Fc<X, W> {
    fn draw(rng: &mut Rng, geo: &mut Text) -> Self {
        let (mut m, mut n, mut k) = (1, 1, 1);
        // One case in four is a long row feeding few columns (up to `N` inputs), which
        // kernels may work through in slices (the Arm DSP one past 128 inputs).
        let long = rng.chance(1, 4);
        for _ in 0..64 {
            (m, n, k) = if long {
                let (m, n) = (rng.dim(2), rng.dim(4));
                (m, n, rng.dim(N / m.max(n)))
            } else {
                (rng.dim(8), rng.dim(MAX_CH), rng.dim(64))
            };
            if m * k <= N && n * k <= N && m * n <= N {
                break;
            }
            (m, n, k) = (1, 1, 1);
        }
        let p = Gemm {
            batch: 1,
            m,
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
        let mut f = Fc { p, a: [X::of(0); N], w: [W::of(0); N], bias: [0; MAX_CH] };
        fill(&mut f.a, || X::random(rng));
        fill(&mut f.w, || W::random(rng));
        fill(&mut f.bias, || rng.i32(-(1 << 14), 1 << 14));
        let _ = write!(geo, "m{} n{} k{}", m, n, k);
        f
    }
    fn a(&self) -> &[X] {
        head(&self.a, self.p.m * self.p.k)
    }
    fn w(&self) -> &[W] {
        head(&self.w, self.p.n * self.p.k)
    }
}

/// `gemm_q8`: exact.
pub(crate) fn gemm_q8<X, W, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    Y: Int + Q8,
    F: Fn(&Gemm, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
    G: Fn(&Gemm, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [Y]),
{
    let f = Fc::<X, W>::draw(rng, geo);
    let p = f.p;
    let out = qout::<Y>(rng);
    let (mut mult, mut shift) = ([0i32; MAX_CH], [0i32; MAX_CH]);
    let nm = multipliers(rng, p.n, typical_shift(p.k), &mut mult, &mut shift);
    let (mult, shift, bias) = (head(&mult, nm), head(&shift, nm), head(&f.bias, p.n));
    let ny = p.m * p.n + rng.below(SLACK + 1);
    let _ = write!(
        geo,
        " out{},{},{} m{}x{}>>{}",
        out.zp,
        out.min,
        out.max,
        nm,
        mult.first().unwrap_or(&0),
        shift.first().unwrap_or(&0)
    );

    let sentinel = Y::random(rng);
    let (mut got, mut exp, mut acc) = ([sentinel; N + SLACK], [sentinel; N + SLACK], [0i32; MAX_CH]);
    imp(&p, &out, mult, shift, f.a(), f.w(), bias, &mut acc, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::gemm_q8(&p, &out, mult, shift, f.a(), f.w(), bias, &mut exp),
        Want::Twin(twin) => twin(&p, &out, mult, shift, f.a(), f.w(), bias, &mut acc, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `gemm_q8_i32` (MatMulInteger): exact.
pub(crate) fn gemm_q8_i32<X, W, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    X: Int + Q8,
    W: Int + Into<i32>,
    F: Fn(&Gemm, i32, &[X], &[W], &[i32], &mut [i32]),
    G: Fn(&Gemm, i32, &[X], &[W], &[i32], &mut [i32]),
{
    let f = Fc::<X, W>::draw(rng, geo);
    let p = f.p;
    let a_zp = rng.i32(X::LO, X::HI);
    let bias = head(&f.bias, if rng.chance(1, 4) { 0 } else { p.n });
    let ny = p.m * p.n + rng.below(SLACK + 1);
    let _ = write!(geo, " azp{} bias{}", a_zp, bias.len());

    let sentinel = rng.i32(i32::MIN, i32::MAX);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&p, a_zp, f.a(), f.w(), bias, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::gemm_q8_i32(&p, a_zp, f.a(), f.w(), bias, &mut exp),
        Want::Twin(twin) => twin(&p, a_zp, f.a(), f.w(), bias, head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}
