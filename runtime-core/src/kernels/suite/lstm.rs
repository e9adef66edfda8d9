//! LSTM checks: forward, reverse and bidirectional sequences, with and without bias,
//! initial states, peepholes, clipping and coupled input-forget gates, each output
//! present or absent; scratch holds garbage on entry.

use super::harness::{close, fill, head, head_mut, rel_abs, Rng, Sci, Text, Verdict, Want, SENTINEL, SLACK};
use super::reference;
use crate::kernels::Lstm;
use core::fmt::Write;

/// Elements of the largest operand (`R`: 2 directions × 4·6 gates × 6 hidden).
const L: usize = 320;

/// Operand lengths of an LSTM: x, w, r, bias, state (h0/c0/y_h/y_c), peep, y.
struct Lens {
    x: usize,
    w: usize,
    r: usize,
    bias: usize,
    state: usize,
    peep: usize,
    y: usize,
}

fn lens(p: &Lstm) -> Lens {
    let (d, h) = (p.directions, p.hidden);
    Lens {
        x: p.seq * p.batch * p.input,
        w: d * 4 * h * p.input,
        r: d * 4 * h * h,
        bias: d * 8 * h,
        state: d * p.batch * h,
        peep: d * 3 * h,
        y: p.seq * d * p.batch * h,
    }
}

/// `lstm_f32`: every output within `1e-6 + 5e-6·|want|` of the f64 recurrence (errors
/// of a few ULP per gate compound over the sequence; observed below 1e-7).
#[allow(clippy::type_complexity)]
pub(crate) fn lstm_f32<F, G>(rng: &mut Rng, geo: &mut Text, imp: F, want: Want<G>) -> Verdict
where
    F: Fn(
        &Lstm,
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &mut [f32],
        &mut [f32],
        &mut [f32],
        &mut [f32],
    ),
    G: Fn(
        &Lstm,
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &[f32],
        &mut [f32],
        &mut [f32],
        &mut [f32],
        &mut [f32],
    ),
{
    let directions = rng.range(1, 2);
    let p = Lstm {
        seq: rng.dim(4),
        batch: rng.dim(2),
        input: rng.dim(5),
        hidden: rng.dim(6),
        directions,
        reverse: directions == 1 && rng.chance(1, 2),
        clip: if rng.chance(1, 3) { rng.float(0.5, 3.0) } else { 0.0 },
        input_forget: rng.chance(1, 4),
    };
    let n = lens(&p);
    let present = |rng: &mut Rng, len: usize| if rng.chance(2, 3) { len } else { 0 };
    let (nb, nh0, nc0, np) = (present(rng, n.bias), present(rng, n.state), present(rng, n.state), present(rng, n.peep));
    let (mut ny, mut nyh, mut nyc) = (present(rng, n.y), present(rng, n.state), present(rng, n.state));
    if ny + nyh + nyc == 0 {
        ny = n.y;
    }
    let _ = write!(
        geo,
        "seq{} b{} in{} h{} dirs{}{} clip{} coupled{} bias{} h0{} c0{} peep{} out{}{}{}",
        p.seq,
        p.batch,
        p.input,
        p.hidden,
        p.directions,
        if p.reverse { " rev" } else { "" },
        Sci(p.clip),
        p.input_forget as u8,
        (nb > 0) as u8,
        (nh0 > 0) as u8,
        (nc0 > 0) as u8,
        (np > 0) as u8,
        if ny > 0 { "y" } else { "-" },
        if nyh > 0 { "h" } else { "-" },
        if nyc > 0 { "c" } else { "-" },
    );
    // Outputs are handed over a little longer than needed when present.
    let slack = |rng: &mut Rng, len: usize| if len > 0 { len + rng.below(SLACK + 1) } else { 0 };
    (ny, nyh, nyc) = (slack(rng, ny), slack(rng, nyh), slack(rng, nyc));

    let mut ops = [[0.0f32; L]; 7];
    for op in ops.iter_mut() {
        fill(op, || rng.float(-1.0, 1.0));
    }
    let [x, w, r, bias, h0, c0, peep] = &ops;
    let (x, w, r) = (head(x, n.x), head(w, n.w), head(r, n.r));
    let (bias, h0, c0, peep) = (head(bias, nb), head(h0, nh0), head(c0, nc0), head(peep, np));
    let mut scratch = [0.0f32; L];
    fill(&mut scratch, || rng.float(-100.0, 100.0));
    let scratch_len = p.scratch_len() + rng.below(SLACK + 1);

    let mut got = [[SENTINEL; L]; 3];
    let mut exp = [[SENTINEL; L]; 3];
    {
        let [y, y_h, y_c] = &mut got;
        let (y, y_h, y_c) = (head_mut(y, ny), head_mut(y_h, nyh), head_mut(y_c, nyc));
        imp(&p, x, w, r, bias, h0, c0, peep, y, y_h, y_c, head_mut(&mut scratch, scratch_len));
    }
    {
        let [y, y_h, y_c] = &mut exp;
        let (y, y_h, y_c) = (head_mut(y, ny), head_mut(y_h, nyh), head_mut(y_c, nyc));
        match want {
            Want::Reference => reference::lstm_f32(&p, x, w, r, bias, h0, c0, peep, y, y_h, y_c),
            Want::Twin(twin) => {
                fill(&mut scratch, || rng.float(-100.0, 100.0));
                twin(&p, x, w, r, bias, h0, c0, peep, y, y_h, y_c, head_mut(&mut scratch, scratch_len))
            }
        }
    }
    let tol = || rel_abs(5e-6, 1e-6);
    let [gy, gh, gc] = &got;
    let [ey, eh, ec] = &exp;
    close("y", gy, ey, tol())?;
    close("y_h", gh, eh, tol())?;
    close("y_c", gc, ec, tol())
}
