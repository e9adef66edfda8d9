//! Streamed mode of the convolutions: a producer and a consumer kernel fused by
//! `kernels::stream` (the producer's rows in a sliding window, the consumer one row
//! at a time), compared bit for bit with the same two kernels run unfused through a
//! whole intermediate tensor. A third of the cases stream straight into the output
//! ([`stream::stream_rows`]), a third add the result over a separate skip operand
//! ([`stream::stream_rows_into`]), a third over the producer's own input
//! ([`stream::stream_rows_over_input`], on shape-preserving pairs where it applies,
//! else over a separate skip), the epilogue being the portable add run through
//! `inplace::elementwise` as the compiler runs it.

use super::conv::{describe, geometry, weight_len, Groups};
use super::harness::{
    exact, fill, head, head_mut, multipliers, qout, typical_shift, Int, Rng, Text, Verdict, MAX_CH, N,
};
use crate::kernels::{inplace, portable, stream, BinaryOp, Broadcast, Clamp, Conv2d, QAdd};
use crate::quant::{QOut, Q8};
use core::fmt::Write;

/// The most elements of one consumer row the checks hold (the epilogue's row buffer).
const ROW: usize = 256;

/// How a case writes the consumer's rows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Into the consumer's output tensor.
    Plain,
    /// Added over a separate skip operand of the consumer's output shape.
    Skip,
    /// Added over the producer's input.
    OverInput,
}

/// A layer reading `h×w×cin`: `groups` chooses its grouping, `cout` its output
/// channels where the grouping leaves a choice, `same` a stride-1 odd window padded
/// to keep the height and width. `None` when it does not fit the suite's buffers.
fn layer(
    rng: &mut Rng,
    groups: Groups,
    (h, w, cin): (usize, usize, usize),
    cout: Option<usize>,
    same: bool,
) -> Option<Conv2d> {
    let depthwise = match groups {
        Groups::Depthwise | Groups::DepthwiseWide => true,
        Groups::One | Groups::OneWide | Groups::Stem | Groups::Winograd | Groups::Winograd2d => false,
        Groups::Any => rng.chance(1, 3),
    };
    let wide = matches!(groups, Groups::OneWide | Groups::DepthwiseWide);
    let out_c = match (depthwise, cout) {
        (true, Some(c)) if c != cin => return None,
        (true, _) => cin,
        (false, Some(c)) => c,
        (false, None) => rng.range(1, if wide { MAX_CH } else { 6 }),
    };
    let k = |rng: &mut Rng| if same { 1 + 2 * rng.below(2) } else { rng.range(1, 3) };
    let (k_h, k_w) = (k(rng), k(rng));
    let stride = |rng: &mut Rng| if same { 1 } else { rng.range(1, 2) };
    let (stride_h, stride_w) = (stride(rng), stride(rng));
    let pad = |rng: &mut Rng, k: usize| if same { (k - 1) / 2 } else { rng.below(k) };
    let (pad_top, pad_bottom, pad_left, pad_right) = (pad(rng, k_h), pad(rng, k_h), pad(rng, k_w), pad(rng, k_w));
    let (span_h, span_w) = (h + pad_top + pad_bottom, w + pad_left + pad_right);
    if span_h < k_h || span_w < k_w {
        return None;
    }
    let (Some(out_h), Some(out_w)) = ((span_h - k_h).checked_div(stride_h), (span_w - k_w).checked_div(stride_w))
    else {
        return None;
    };
    let p = Conv2d {
        batch: 1,
        in_c: cin,
        in_h: h,
        in_w: w,
        out_c,
        out_h: out_h + 1,
        out_w: out_w + 1,
        k_h,
        k_w,
        stride_h,
        stride_w,
        dil_h: 1,
        dil_w: 1,
        pad_top,
        pad_left,
        groups: if depthwise { cin } else { 1 },
    };
    let packed = crate::kernels::pack::round_to(p.out_c, 8) * (p.k_h * p.k_w * p.in_c + 1);
    let fits = p.input_len() <= N
        && p.output_len() <= N
        && weight_len(&p) <= N / 2
        && p.out_c <= MAX_CH
        && (!wide || packed <= N)
        && p.out_w * p.out_c <= ROW;
    fits.then_some(p)
}

/// A producer and consumer pair for `mode` (which becomes [`Mode::Skip`] when the
/// pair drawn cannot add over the producer's input).
fn pair(rng: &mut Rng, pg: Groups, cg: Groups, mode: Mode) -> (Conv2d, Conv2d, Mode) {
    for _ in 0..64 {
        if mode == Mode::OverInput {
            let (h, w) = (rng.dim(9), rng.dim(12));
            let cin = rng.range(1, if matches!(pg, Groups::OneWide | Groups::DepthwiseWide) { MAX_CH } else { 6 });
            let Some(p) = layer(rng, pg, (h, w, cin), None, true) else { continue };
            let Some(c) = layer(rng, cg, (p.out_h, p.out_w, p.out_c), Some(cin), true) else { continue };
            let mode = if stream::stream_over_input_applies(&p, &c) { Mode::OverInput } else { Mode::Skip };
            return (p, c, mode);
        }
        let p = Conv2d { batch: 1, ..geometry(rng, pg) };
        if weight_len(&p) > N / 2 {
            continue;
        }
        if let Some(c) = layer(rng, cg, (p.out_h, p.out_w, p.out_c), None, false) {
            return (p, c, mode);
        }
    }
    let one = Conv2d {
        batch: 1,
        in_c: 1,
        in_h: 1,
        in_w: 1,
        out_c: 1,
        out_h: 1,
        out_w: 1,
        k_h: 1,
        k_w: 1,
        stride_h: 1,
        stride_w: 1,
        dil_h: 1,
        dil_w: 1,
        pad_top: 0,
        pad_left: 0,
        groups: 1,
    };
    (one, one, Mode::Plain)
}

fn draw_mode(rng: &mut Rng) -> Mode {
    match rng.below(3) {
        0 => Mode::Plain,
        1 => Mode::Skip,
        _ => Mode::OverInput,
    }
}

fn describe_pair(geo: &mut Text, p: &Conv2d, c: &Conv2d, mode: Mode) {
    describe(geo, p);
    let _ = write!(geo, " into ");
    describe(geo, c);
    let _ = write!(
        geo,
        " {}",
        match mode {
            Mode::Plain => "streamed",
            Mode::Skip => "streamed+skip",
            Mode::OverInput => "streamed+over-input",
        }
    );
}

/// The signature of a quantised convolution kernel (and of the suite's adapters).
pub(crate) trait QKernel<X, W>:
    Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X])
{
}
impl<X, W, F: Fn(&Conv2d, i32, &QOut, &[i32], &[i32], &[X], &[W], &[i32], &mut [i32], &mut [X])> QKernel<X, W> for F {}

/// One quantised layer's constants.
struct QLayer<W> {
    x_zp: i32,
    out: QOut,
    mult: [i32; MAX_CH],
    shift: [i32; MAX_CH],
    nm: usize,
    bias: [i32; MAX_CH],
    nb: usize,
    w: [W; N / 2],
}

impl<W: Int> QLayer<W> {
    fn draw<X: Int>(rng: &mut Rng, p: &Conv2d) -> Self {
        let mut l = QLayer {
            x_zp: rng.i32(X::LO, X::HI),
            out: qout::<X>(rng),
            mult: [0; MAX_CH],
            shift: [0; MAX_CH],
            nm: 0,
            bias: [0; MAX_CH],
            nb: 0,
            w: [W::of(0); N / 2],
        };
        let terms = p.in_c.checked_div(p.groups).unwrap_or(1) * p.k_h * p.k_w;
        l.nm = multipliers(rng, p.out_c, typical_shift(terms), &mut l.mult, &mut l.shift);
        fill(&mut l.w, || W::random(rng));
        fill(&mut l.bias, || rng.i32(-(1 << 14), 1 << 14));
        l.nb = if rng.chance(1, 4) { 0 } else { p.out_c };
        l
    }
    fn run<X>(&self, imp: &impl QKernel<X, W>, p: &Conv2d, x: &[X], y: &mut [X]) {
        let mut acc = [0i32; MAX_CH];
        imp(
            p,
            self.x_zp,
            &self.out,
            head(&self.mult, self.nm),
            head(&self.shift, self.nm),
            x,
            head(&self.w, weight_len(p)),
            head(&self.bias, self.nb),
            &mut acc,
            y,
        )
    }
}

/// A quantised producer `imp_p` streamed into a quantised consumer `imp_c`: exact
/// against the two run unfused.
pub(crate) fn q8_streamed<X, W, F, G>(
    rng: &mut Rng,
    geo: &mut Text,
    imp_p: F,
    pg: Groups,
    imp_c: G,
    cg: Groups,
) -> Verdict
where
    X: Int + Q8 + Default + crate::Pod,
    W: Int,
    F: QKernel<X, W>,
    G: QKernel<X, W>,
{
    let mode = draw_mode(rng);
    let (p, c, mode) = pair(rng, pg, cg, mode);
    describe_pair(geo, &p, &c, mode);
    let (lp, lc) = (QLayer::<W>::draw::<X>(rng, &p), QLayer::<W>::draw::<X>(rng, &c));
    let add =
        QAdd { a_zp: rng.i32(X::LO, X::HI), b_zp: rng.i32(X::LO, X::HI), a_mult: 1 << 30, b_mult: 1 << 30, shift: 31 };
    let add_out = qout::<X>(rng);
    let sentinel = X::random(rng);
    let (nx, ny) = (p.input_len(), c.output_len());
    let mut x = [sentinel; N];
    fill(head_mut(&mut x, nx), || X::random(rng));
    let mut skip = [sentinel; N];
    fill(head_mut(&mut skip, ny), || X::random(rng));
    if mode == Mode::OverInput {
        skip = x;
    }

    // Unfused: the whole intermediate tensor, then the consumer, then the add.
    let (mut mid, mut exp) = ([sentinel; N], [sentinel; N]);
    lp.run(&imp_p, &p, head(&x, nx), head_mut(&mut mid, p.output_len()));
    lc.run(&imp_c, &c, head(&mid, p.output_len()), head_mut(&mut exp, ny));
    if mode != Mode::Plain {
        let sum = Broadcast::flat(ny);
        mid = [sentinel; N];
        portable::add_q8::<X, X, X>(&sum, &add, &add_out, head(&exp, ny), head(&skip, ny), head_mut(&mut mid, ny));
        exp = mid;
    }

    // Streamed.
    // The intermediate tensor's buffer, free now, holds the window.
    let window = head_mut(&mut mid, stream::stream_window_len(&p, &c));
    let produce = |q: &Conv2d, x: &[X], y: &mut [X]| lp.run(&imp_p, q, x, y);
    let consume = |q: &Conv2d, x: &[X], y: &mut [X]| lc.run(&imp_c, q, x, y);
    let epilogue = |row: &[X], s: &mut [X]| {
        inplace::elementwise(s, row.len(), |at, b, y| {
            let a = row.get(at..at + b.len()).unwrap_or(&[]);
            portable::add_q8::<X, X, X>(&Broadcast::flat(b.len()), &add, &add_out, a, b, y)
        })
    };
    let got = streamed(mode, (&p, &c), (&mut x, nx), (&mut skip, ny), sentinel, window, produce, consume, epilogue);
    exact("y", got, &exp)
}

/// A float producer `imp_p` streamed into a float consumer `imp_c`, the epilogue the
/// portable float add: bit for bit against the two run unfused (each output pixel is
/// the same sum in the same order either way; layers of the AVX2 2-D Winograd path,
/// which the compiler does not stream, are not drawn).
pub(crate) fn f32_streamed<F, G>(rng: &mut Rng, geo: &mut Text, imp_p: F, pg: Groups, imp_c: G, cg: Groups) -> Verdict
where
    F: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
    G: Fn(&Conv2d, Clamp, &[f32], &[f32], &[f32], &mut [f32]),
{
    let mode = draw_mode(rng);
    let (mut p, mut c, mut mode) = pair(rng, pg, cg, mode);
    // No layer the AVX2 kernel's 2-D Winograd path takes: its tiles of two output
    // rows round a row problem's sums otherwise than the whole layer's, and the
    // compiler never streams such a layer (`lower::stream`).
    let wino2d = crate::kernels::pack::x86_avx2::winograd2d;
    for _ in 0..64 {
        if !wino2d(&p) && !wino2d(&c) {
            break;
        }
        let again = draw_mode(rng);
        (p, c, mode) = pair(rng, pg, cg, again);
    }
    describe_pair(geo, &p, &c, mode);
    let act = |rng: &mut Rng| if rng.chance(1, 2) { Clamp::NONE } else { super::harness::clamp_of(rng) };
    let (act_p, act_c, act_add) = (act(rng), act(rng), act(rng));
    let mut w = [0.0f32; N];
    fill(&mut w, || rng.float(-1.0, 1.0));
    let (wp, wc) = w.split_at(N / 2);
    let (wp, wc) = (head(wp, weight_len(&p)), head(wc, weight_len(&c)));
    let mut bias = [0.0f32; 2 * MAX_CH];
    fill(&mut bias, || rng.float(-1.0, 1.0));
    let (bp, bc) = bias.split_at(MAX_CH);
    let (bp, bc) = (head(bp, p.out_c), head(bc, c.out_c));
    let sentinel = super::harness::SENTINEL;
    let (nx, ny) = (p.input_len(), c.output_len());
    let mut x = [sentinel; N];
    fill(head_mut(&mut x, nx), || rng.float(-1.0, 1.0));
    let mut skip = [sentinel; N];
    fill(head_mut(&mut skip, ny), || rng.float(-1.0, 1.0));
    if mode == Mode::OverInput {
        skip = x;
    }

    let (mut mid, mut exp) = ([sentinel; N], [sentinel; N]);
    imp_p(&p, act_p, head(&x, nx), wp, bp, head_mut(&mut mid, p.output_len()));
    imp_c(&c, act_c, head(&mid, p.output_len()), wc, bc, head_mut(&mut exp, ny));
    if mode != Mode::Plain {
        mid = [sentinel; N];
        portable::binary_f32(
            &Broadcast::flat(ny),
            BinaryOp::Add,
            act_add,
            head(&exp, ny),
            head(&skip, ny),
            head_mut(&mut mid, ny),
        );
        exp = mid;
    }

    // The intermediate tensor's buffer, free now, holds the window.
    let window = head_mut(&mut mid, stream::stream_window_len(&p, &c));
    let produce = |q: &Conv2d, x: &[f32], y: &mut [f32]| imp_p(q, act_p, x, wp, bp, y);
    let consume = |q: &Conv2d, x: &[f32], y: &mut [f32]| imp_c(q, act_c, x, wc, bc, y);
    let epilogue = |row: &[f32], s: &mut [f32]| {
        inplace::elementwise(s, row.len(), |at, b, y| {
            let a = row.get(at..at + b.len()).unwrap_or(&[]);
            portable::binary_f32(&Broadcast::flat(b.len()), BinaryOp::Add, act_add, a, b, y)
        })
    };
    let got = streamed(mode, (&p, &c), (&mut x, nx), (&mut skip, ny), sentinel, window, produce, consume, epilogue);
    exact("y", got, &exp)
}

/// Runs the pair streamed in `mode`, through the entry of [`stream`] that mode
/// exercises, for any element type: into `skip` (refilled with `sentinel` for the
/// plain entry), over it, or over the producer's input `x`. Returns the buffer the
/// result lands in.
#[allow(clippy::too_many_arguments)]
fn streamed<'a, T: crate::Pod>(
    mode: Mode,
    (p, c): (&Conv2d, &Conv2d),
    (x, nx): (&'a mut [T; N], usize),
    (skip, ny): (&'a mut [T; N], usize),
    sentinel: T,
    window: &mut [T],
    produce: impl FnMut(&Conv2d, &[T], &mut [T]),
    consume: impl FnMut(&Conv2d, &[T], &mut [T]),
    epilogue: impl FnMut(&[T], &mut [T]),
) -> &'a [T] {
    let mut row = [sentinel; ROW];
    match mode {
        Mode::Plain => {
            *skip = [sentinel; N];
            stream::stream_rows(p, c, head(x, nx), window, head_mut(skip, ny), produce, consume);
            skip
        }
        Mode::Skip => {
            stream::stream_rows_into(
                p,
                c,
                head(x, nx),
                window,
                &mut row,
                head_mut(skip, ny),
                produce,
                consume,
                epilogue,
            );
            skip
        }
        Mode::OverInput => {
            stream::stream_rows_over_input(p, c, head_mut(x, nx), window, &mut row, produce, consume, epilogue);
            x
        }
    }
}
