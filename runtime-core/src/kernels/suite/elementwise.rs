//! Elementwise checks: float binary operations with random numpy broadcasting (ranks
//! 1 to 6, operands broadcast per axis or whole, dense or strided views), clamps,
//! every unary function with its special inputs (±0, ±∞, NaN, overflow edges), and
//! the quantised add and multiply.

use super::harness::{
    clamp_of, close, exact, fill, head, head_mut, qout, rel_abs, Int, Rng, Sci, Text, Verdict, Want, N, SENTINEL, SLACK,
};
use super::reference;
use crate::kernels::{inplace, BinaryOp, Broadcast, Clamp, QAdd, QMul, UnaryFn, MAX_RANK};
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// Strides of one operand over `shape[..rank]`: row-major over its own extents, 0 on
/// the axes where it broadcasts (every axis for a scalar), and sometimes the strides
/// of a larger tensor it is a view of. Returns them with the elements it spans.
fn operand(rng: &mut Rng, rank: usize, shape: &[usize; MAX_RANK]) -> ([usize; MAX_RANK], usize) {
    let scalar = rng.chance(1, 8);
    let view = rng.chance(1, 5);
    let mut strides = [0usize; MAX_RANK];
    let (mut step, mut last) = (1usize, 0usize);
    for (&s, st) in shape.iter().zip(strides.iter_mut()).take(rank).rev() {
        if scalar || rng.chance(1, 3) {
            continue;
        }
        *st = step;
        last += (s - 1) * step;
        step *= s + if view { rng.below(2) } else { 0 };
    }
    (strides, last + 1)
}

/// A random broadcast whose operands fit the suite's buffers, with both operands' lengths.
pub(super) fn broadcast(rng: &mut Rng) -> (Broadcast, usize, usize) {
    for _ in 0..64 {
        let rank = rng.range(1, MAX_RANK);
        let mut shape = [0usize; MAX_RANK];
        fill(head_mut(&mut shape, rank), || rng.dim(if rank > 3 { 3 } else { 7 }));
        if shape.iter().take(rank).product::<usize>() > N {
            continue;
        }
        let ((a, na), (b, nb)) = (operand(rng, rank, &shape), operand(rng, rank, &shape));
        if na <= N && nb <= N {
            return (Broadcast { rank, shape, a, b }, na, nb);
        }
    }
    (Broadcast { rank: 1, shape: [1; MAX_RANK], a: [0; MAX_RANK], b: [0; MAX_RANK] }, 1, 1)
}

pub(super) fn total(p: &Broadcast) -> usize {
    p.shape.iter().take(p.rank).product()
}

pub(super) fn describe(geo: &mut Text, p: &Broadcast) {
    let r = p.rank;
    let _ = write!(geo, "shape{:?} a{:?} b{:?}", head(&p.shape, r), head(&p.a, r), head(&p.b, r));
}

/// `binary_f32`: exact for `+ − × ÷`, max, min and PRelu (one rounding each, like the
/// f64 reference rounded to f32) and for both remainders; within 3e-6 relative for `Pow`.
pub(crate) fn binary_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Broadcast, BinaryOp, Clamp, &[f32], &[f32], &mut [f32]),
    G: Fn(&Broadcast, BinaryOp, Clamp, &[f32], &[f32], &mut [f32]),
{
    use BinaryOp::*;
    let (p, na, nb) = broadcast(rng);
    let op = rng.pick(&[Add, Sub, Mul, Div, Pow, Max, Min, Mod, Fmod, PRelu], Add);
    let act = if rng.chance(1, 2) { Clamp::NONE } else { clamp_of(rng) };
    let integral_powers = rng.chance(1, 2);
    let (mut a, mut b) = ([0.0f32; N], [0.0f32; N]);
    fill(&mut a, || match op {
        Pow if !integral_powers => rng.float(0.0, 4.0),
        Pow => rng.float(-3.0, 3.0),
        Max | Min if rng.chance(1, 32) => f32::NAN,
        _ => rng.float(-4.0, 4.0),
    });
    fill(&mut b, || match op {
        Pow if integral_powers => rng.i32(-4, 4) as f32,
        Pow => rng.float(-3.0, 3.0),
        Div | Mod | Fmod if rng.chance(1, 50) => 0.0,
        Div | Mod | Fmod => rng.pick(&[-1.0, 1.0], 1.0) * rng.float(0.25, 4.0),
        Max | Min if rng.chance(1, 32) => f32::NAN,
        _ => rng.float(-4.0, 4.0),
    });
    let ny = total(&p) + rng.below(SLACK + 1);
    describe(geo, &p);
    let _ = write!(geo, " {:?} act{},{}", op, Sci(act.min), Sci(act.max));
    let (a, b) = (head(&a, na), head(&b, nb));

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(&p, op, act, a, b, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::binary_f32(&p, op, act, a, b, &mut exp),
        Want::Twin(twin) => twin(&p, op, act, a, b, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(if op == Pow { 3e-6 } else { 0.0 }, 0.0))
}

/// `clamp_f32`: exact, NaN passing through.
pub(crate) fn clamp_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(Clamp, &[f32], &mut [f32]),
    G: Fn(Clamp, &[f32], &mut [f32]),
{
    let act = clamp_of(rng);
    let n = rng.range(0, N);
    let mut x = [0.0f32; N];
    fill(&mut x, || if rng.chance(1, 32) { f32::NAN } else { rng.float(-3.0, 8.0) });
    let ny = n + rng.below(SLACK + 1);
    let _ = write!(geo, "n{} act{},{}", n, Sci(act.min), Sci(act.max));
    let x = head(&x, n);

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(act, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::clamp_f32(act, x, &mut exp),
        Want::Twin(twin) => twin(act, x, head_mut(&mut exp, ny)),
    }
    close("y", &got, &exp, rel_abs(0.0, 0.0))
}

/// Inputs every unary function sees now and then: zeros, infinities, NaN, subnormals
/// and the edges of f32 overflow and underflow of `exp`.
const SPECIAL: [f32; 14] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e-40,
    -1e-40,
    88.7,
    88.72,
    88.7228,
    -87.3,
    -87.34,
    -103.0,
    -1.0,
];

/// `unary_f32`: exact for `Neg`, `Abs`, `Reciprocal` and `LeakyRelu`; within
/// `1e-6 + 1e-6·|want|` for `HardSigmoid` and `HardSwish` (two or three roundings);
/// within `5e-7 + 2e-6·|want|` for the transcendental functions.
pub(crate) fn unary_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(UnaryFn, &[f32], &mut [f32]),
    G: Fn(UnaryFn, &[f32], &mut [f32]),
{
    use UnaryFn::*;
    let alpha = rng.pick(&[0.01, 0.1, 0.2, 1.0 / 6.0], 0.1) * if rng.chance(1, 3) { rng.float(0.5, 2.0) } else { 1.0 };
    let beta = rng.pick(&[0.5, 0.0], 0.5) + if rng.chance(1, 3) { rng.float(-0.5, 0.5) } else { 0.0 };
    let fs = [
        Sigmoid,
        Tanh,
        Exp,
        Log,
        Sqrt,
        Neg,
        Abs,
        Reciprocal,
        LeakyRelu(alpha),
        HardSigmoid(alpha, beta),
        HardSwish,
        Softplus,
        Silu,
        Sin,
        Cos,
        Tan,
        Asin,
        Acos,
        Atan,
        Sinh,
        Cosh,
        Asinh,
        Acosh,
        Atanh,
        Floor,
        Ceil,
        Round,
        Sign,
        Erf,
        Softsign,
        Mish,
        Gelu,
        GeluTanh,
        Elu(alpha),
        Selu(alpha, beta),
        Celu(alpha),
        ThresholdedRelu(beta),
        Shrink(alpha, beta),
    ];
    let f = rng.pick(&fs, Neg);
    let (lo, hi) = match f {
        Exp => (-20.0, 20.0),
        Log | Sqrt => (0.0, 1000.0),
        Reciprocal => (-8.0, 8.0),
        Asin | Acos | Atanh => (-1.0, 1.0),
        Acosh => (1.0, 1000.0),
        Sinh | Cosh => (-20.0, 20.0),
        _ => (-12.0, 12.0),
    };
    let n = rng.range(0, N);
    let mut x = [0.0f32; N];
    fill(&mut x, || if rng.chance(1, 16) { rng.pick(&SPECIAL, 0.0) } else { rng.float(lo, hi) });
    let ny = n + rng.below(SLACK + 1);
    let _ = write!(geo, "n{} ", n);
    let _ = match f {
        LeakyRelu(a) => write!(geo, "LeakyRelu({})", Sci(a)),
        HardSigmoid(a, b) => write!(geo, "HardSigmoid({}, {})", Sci(a), Sci(b)),
        Sigmoid => write!(geo, "Sigmoid"),
        Tanh => write!(geo, "Tanh"),
        Exp => write!(geo, "Exp"),
        Log => write!(geo, "Log"),
        Sqrt => write!(geo, "Sqrt"),
        Neg => write!(geo, "Neg"),
        Abs => write!(geo, "Abs"),
        Reciprocal => write!(geo, "Reciprocal"),
        HardSwish => write!(geo, "HardSwish"),
        Softplus => write!(geo, "Softplus"),
        Silu => write!(geo, "Silu"),
        Elu(a) => write!(geo, "Elu({})", Sci(a)),
        Selu(a, g) => write!(geo, "Selu({}, {})", Sci(a), Sci(g)),
        Celu(a) => write!(geo, "Celu({})", Sci(a)),
        ThresholdedRelu(a) => write!(geo, "ThresholdedRelu({})", Sci(a)),
        Shrink(l, b) => write!(geo, "Shrink({}, {})", Sci(l), Sci(b)),
        Sin => write!(geo, "Sin"),
        Cos => write!(geo, "Cos"),
        Tan => write!(geo, "Tan"),
        Asin => write!(geo, "Asin"),
        Acos => write!(geo, "Acos"),
        Atan => write!(geo, "Atan"),
        Sinh => write!(geo, "Sinh"),
        Cosh => write!(geo, "Cosh"),
        Asinh => write!(geo, "Asinh"),
        Acosh => write!(geo, "Acosh"),
        Atanh => write!(geo, "Atanh"),
        Floor => write!(geo, "Floor"),
        Ceil => write!(geo, "Ceil"),
        Round => write!(geo, "Round"),
        Sign => write!(geo, "Sign"),
        Erf => write!(geo, "Erf"),
        Softsign => write!(geo, "Softsign"),
        Mish => write!(geo, "Mish"),
        Gelu => write!(geo, "Gelu"),
        GeluTanh => write!(geo, "GeluTanh"),
    };
    let x = head(&x, n);

    let (mut got, mut exp) = ([SENTINEL; N + SLACK], [SENTINEL; N + SLACK]);
    imp(f, x, head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::unary_f32(f, x, &mut exp),
        Want::Twin(twin) => twin(f, x, head_mut(&mut exp, ny)),
    }
    let (rel, abs) = match f {
        Neg | Abs | Reciprocal | LeakyRelu(_) | Floor | Ceil | Round | Sign | ThresholdedRelu(_) => (0.0, 0.0),
        HardSigmoid(..) | HardSwish => (1e-6, 1e-6),
        _ => (2e-6, 5e-7),
    };
    close("y", &got, &exp, rel_abs(rel, abs))
}

/// The random operands of a quantised binary operation.
struct QBinary<A, B> {
    p: Broadcast,
    a: [A; N],
    b: [B; N],
    na: usize,
    nb: usize,
}

impl<A: Int, B: Int> QBinary<A, B> {
    fn draw(rng: &mut Rng, geo: &mut Text) -> Self {
        let (p, na, nb) = broadcast(rng);
        let mut q = QBinary { p, a: [A::of(0); N], b: [B::of(0); N], na, nb };
        fill(&mut q.a, || A::random(rng));
        fill(&mut q.b, || B::random(rng));
        describe(geo, &p);
        q
    }
    fn a(&self) -> &[A] {
        head(&self.a, self.na)
    }
    fn b(&self) -> &[B] {
        head(&self.b, self.nb)
    }
}

/// A shift in `1..=62`, mostly within `typical`.
fn shift(rng: &mut Rng, typical: (u32, u32)) -> u32 {
    if rng.chance(1, 8) {
        rng.range(1, 62) as u32
    } else {
        rng.range(typical.0 as usize, typical.1 as usize) as u32
    }
}

/// `add_q8`: exact.
pub(crate) fn add_q8<A, B, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    A: Int + Q8,
    B: Int + Q8,
    Y: Int + Q8,
    F: Fn(&Broadcast, &QAdd, &QOut, &[A], &[B], &mut [Y]),
    G: Fn(&Broadcast, &QAdd, &QOut, &[A], &[B], &mut [Y]),
{
    let v = QBinary::<A, B>::draw(rng, geo);
    // The larger multiplier is normalised, the other one shares its shift.
    let big = rng.i32(1 << 30, i32::MAX);
    let small = (big as f32 * rng.float(0.0, 1.0)) as i32;
    let (a_mult, b_mult) = if rng.chance(1, 2) { (big, small) } else { (small, big) };
    let q =
        QAdd { a_zp: rng.i32(A::LO, A::HI), b_zp: rng.i32(B::LO, B::HI), a_mult, b_mult, shift: shift(rng, (27, 34)) };
    let out = qout::<Y>(rng);
    let ny = total(&v.p) + rng.below(SLACK + 1);
    let _ = write!(geo, " {:?} out{},{},{}", q, out.zp, out.min, out.max);

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&v.p, &q, &out, v.a(), v.b(), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::add_q8(&v.p, &q, &out, v.a(), v.b(), &mut exp),
        Want::Twin(twin) => twin(&v.p, &q, &out, v.a(), v.b(), head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// `mul_q8`: exact.
pub(crate) fn mul_q8<A, B, Y, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    A: Int + Q8,
    B: Int + Q8,
    Y: Int + Q8,
    F: Fn(&Broadcast, &QMul, &QOut, &[A], &[B], &mut [Y]),
    G: Fn(&Broadcast, &QMul, &QOut, &[A], &[B], &mut [Y]),
{
    let v = QBinary::<A, B>::draw(rng, geo);
    let mult = if rng.chance(1, 50) { 0 } else { rng.i32(1 << 30, i32::MAX) };
    let q = QMul { a_zp: rng.i32(A::LO, A::HI), b_zp: rng.i32(B::LO, B::HI), mult, shift: shift(rng, (36, 42)) };
    let out = qout::<Y>(rng);
    let ny = total(&v.p) + rng.below(SLACK + 1);
    let _ = write!(geo, " {:?} out{},{},{}", q, out.zp, out.min, out.max);

    let sentinel = Y::random(rng);
    let (mut got, mut exp) = ([sentinel; N + SLACK], [sentinel; N + SLACK]);
    imp(&v.p, &q, &out, v.a(), v.b(), head_mut(&mut got, ny));
    match want {
        Want::Reference => reference::mul_q8(&v.p, &q, &out, v.a(), v.b(), &mut exp),
        Want::Twin(twin) => twin(&v.p, &q, &out, v.a(), v.b(), head_mut(&mut exp, ny)),
    }
    exact("y", &got, &exp)
}

/// In-place mode of `add_q8`: two operands of the result's shape, the result written
/// over one of them (drawn at random) by [`inplace::elementwise`], compared exactly
/// with the expectation computed in separate buffers.
pub(crate) fn add_q8_in_place<T, F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    T: Int + Q8 + Default + crate::Pod,
    F: Fn(&Broadcast, &QAdd, &QOut, &[T], &[T], &mut [T]),
    G: Fn(&Broadcast, &QAdd, &QOut, &[T], &[T], &mut [T]),
{
    let n = rng.range(1, N);
    let (mut a, mut b) = ([T::of(0); N], [T::of(0); N]);
    fill(&mut a, || T::random(rng));
    fill(&mut b, || T::random(rng));
    let (a, b) = (head(&a, n), head(&b, n));
    let big = rng.i32(1 << 30, i32::MAX);
    let small = (big as f32 * rng.float(0.0, 1.0)) as i32;
    let (a_mult, b_mult) = if rng.chance(1, 2) { (big, small) } else { (small, big) };
    let q =
        QAdd { a_zp: rng.i32(T::LO, T::HI), b_zp: rng.i32(T::LO, T::HI), a_mult, b_mult, shift: shift(rng, (27, 34)) };
    let out = qout::<T>(rng);
    let over_a = rng.chance(1, 2);
    let _ = write!(
        geo,
        "n{n} {:?} out{},{},{} in-place over {}",
        q,
        out.zp,
        out.min,
        out.max,
        if over_a { 'a' } else { 'b' }
    );
    let p = Broadcast::flat(n);
    let sentinel = T::random(rng);
    let mut exp = [sentinel; N];
    match want {
        Want::Reference => reference::add_q8(&p, &q, &out, a, b, &mut exp),
        Want::Twin(twin) => twin(&p, &q, &out, a, b, head_mut(&mut exp, n)),
    }
    let mut buf = [sentinel; N];
    let other = if over_a { b } else { a };
    for (d, &v) in buf.iter_mut().zip(if over_a { a } else { b }) {
        *d = v;
    }
    inplace::elementwise(&mut buf, n, |start, x, y| {
        let o = other.get(start..start + x.len()).unwrap_or(&[]);
        let p = Broadcast::flat(x.len());
        if over_a {
            imp(&p, &q, &out, x, o, y)
        } else {
            imp(&p, &q, &out, o, x, y)
        }
    });
    exact("y", head(&buf, n), head(&exp, n))
}

/// In-place mode of `binary_f32`: two operands of the result's shape, the result
/// written over one of them (drawn at random) by [`inplace::elementwise`], compared
/// with the expectation computed in separate buffers (as `binary_f32` compares).
pub(crate) fn binary_f32_in_place<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(&Broadcast, BinaryOp, Clamp, &[f32], &[f32], &mut [f32]),
    G: Fn(&Broadcast, BinaryOp, Clamp, &[f32], &[f32], &mut [f32]),
{
    use BinaryOp::*;
    let n = rng.range(1, N);
    let op = rng.pick(&[Add, Sub, Mul, Div, Max, Min, PRelu], Add);
    let act = if rng.chance(1, 2) { Clamp::NONE } else { clamp_of(rng) };
    let (mut a, mut b) = ([0.0f32; N], [0.0f32; N]);
    fill(&mut a, || rng.float(-4.0, 4.0));
    fill(&mut b, || match op {
        Div => rng.pick(&[-1.0, 1.0], 1.0) * rng.float(0.25, 4.0),
        _ => rng.float(-4.0, 4.0),
    });
    let (a, b) = (head(&a, n), head(&b, n));
    let over_a = rng.chance(1, 2);
    let _ = write!(
        geo,
        "n{n} {:?} act{},{} in-place over {}",
        op,
        Sci(act.min),
        Sci(act.max),
        if over_a { 'a' } else { 'b' }
    );
    let p = Broadcast::flat(n);
    let mut exp = [SENTINEL; N];
    match want {
        Want::Reference => reference::binary_f32(&p, op, act, a, b, &mut exp),
        Want::Twin(twin) => twin(&p, op, act, a, b, head_mut(&mut exp, n)),
    }
    let mut buf = [SENTINEL; N];
    let other = if over_a { b } else { a };
    for (d, &v) in buf.iter_mut().zip(if over_a { a } else { b }) {
        *d = v;
    }
    inplace::elementwise(&mut buf, n, |start, x, y| {
        let o = other.get(start..start + x.len()).unwrap_or(&[]);
        let p = Broadcast::flat(x.len());
        if over_a {
            imp(&p, op, act, x, o, y)
        } else {
            imp(&p, op, act, o, x, y)
        }
    });
    close("y", head(&buf, n), head(&exp, n), rel_abs(0.0, 0.0))
}
