use super::gemm::dot;
use crate::kernels::Lstm;
use crate::math;

/// ONNX LSTM (layout 0). `w`: `[dirs, 4h, input]`, `r`: `[dirs, 4h, h]`, `bias`:
/// `[dirs, 8h]` or empty, `h0`/`c0`: `[dirs, batch, h]` or empty, `peep`: `[dirs, 3h]`
/// or empty. Outputs `y`: `[seq, dirs, batch, h]`, `y_h`/`y_c`: `[dirs, batch, h]`;
/// each may be empty when unused. `scratch` holds `p.scratch_len()` floats.
#[allow(clippy::too_many_arguments)]
pub fn lstm_f32(
    p: &Lstm,
    x: &[f32],
    w: &[f32],
    r: &[f32],
    bias: &[f32],
    h0: &[f32],
    c0: &[f32],
    peep: &[f32],
    y: &mut [f32],
    y_h: &mut [f32],
    y_c: &mut [f32],
    scratch: &mut [f32],
) {
    let (b, h, n_in, dirs) = (p.batch, p.hidden, p.input, p.directions);
    let state = dirs * b * h;
    let ok = (dirs == 1 || dirs == 2)
        && x.len() >= p.seq * b * n_in
        && w.len() >= dirs * 4 * h * n_in
        && r.len() >= dirs * 4 * h * h
        && (bias.is_empty() || bias.len() >= dirs * 8 * h)
        && (h0.is_empty() || h0.len() >= state)
        && (c0.is_empty() || c0.len() >= state)
        && (peep.is_empty() || peep.len() >= dirs * 3 * h)
        && (y.is_empty() || y.len() >= p.seq * state)
        && (y_h.is_empty() || y_h.len() >= state)
        && (y_c.is_empty() || y_c.len() >= state)
        && scratch.len() >= p.scratch_len();
    if !ok || h == 0 {
        return;
    }
    let Some((gates, rest)) = scratch.split_at_mut_checked(4 * b * h) else {
        return;
    };
    // Exactly b·h each: a longer scratch must not make the cell state longer, or its
    // copy into `y_c` would write past the direction's slots.
    let Some((hs, cs)) = rest.split_at_mut_checked(b * h) else {
        return;
    };
    let Some(cs) = cs.get_mut(..b * h) else {
        return;
    };
    for d in 0..dirs {
        let reverse = if dirs == 2 { d == 1 } else { p.reverse };
        let off = d * b * h;
        for (i, v) in hs.iter_mut().enumerate() {
            *v = h0.get(off + i).copied().unwrap_or(0.0);
        }
        for (i, v) in cs.iter_mut().enumerate() {
            *v = c0.get(off + i).copied().unwrap_or(0.0);
        }
        let (Some(wd), Some(rd)) =
            (w.get(d * 4 * h * n_in..(d + 1) * 4 * h * n_in), r.get(d * 4 * h * h..(d + 1) * 4 * h * h))
        else {
            return;
        };
        let bd = bias.get(d * 8 * h..(d + 1) * 8 * h).unwrap_or(&[]);
        let pd = peep.get(d * 3 * h..(d + 1) * 3 * h).unwrap_or(&[]);
        for step in 0..p.seq {
            let t = if reverse { p.seq - 1 - step } else { step };
            for bi in 0..b {
                let Some(xt) = x.get((t * b + bi) * n_in..(t * b + bi + 1) * n_in) else {
                    return;
                };
                let Some(hprev) = hs.get(bi * h..(bi + 1) * h) else {
                    return;
                };
                let Some(g) = gates.get_mut(bi * 4 * h..(bi + 1) * 4 * h) else {
                    return;
                };
                for (j, gv) in g.iter_mut().enumerate() {
                    let (Some(wr), Some(rr)) = (wd.get(j * n_in..(j + 1) * n_in), rd.get(j * h..(j + 1) * h)) else {
                        return;
                    };
                    let mut v = dot(xt, wr) + dot(hprev, rr);
                    if !bd.is_empty() {
                        v += bd.get(j).copied().unwrap_or(0.0) + bd.get(4 * h + j).copied().unwrap_or(0.0);
                    }
                    *gv = v;
                }
            }
            for bi in 0..b {
                for k in 0..h {
                    let clip = |v: f32| {
                        if p.clip > 0.0 {
                            // Not `f32::clamp`: its assertions would be panic paths.
                            if v < -p.clip {
                                -p.clip
                            } else if v > p.clip {
                                p.clip
                            } else {
                                v
                            }
                        } else {
                            v
                        }
                    };
                    let g = |gate: usize| gates.get(bi * 4 * h + gate * h + k).copied().unwrap_or(0.0);
                    let pe = |gate: usize| pd.get(gate * h + k).copied().unwrap_or(0.0);
                    let Some(c) = cs.get_mut(bi * h + k) else {
                        return;
                    };
                    let i_g = math::sigmoid(clip(g(0) + pe(0) * *c));
                    let f_g = if p.input_forget { 1.0 - i_g } else { math::sigmoid(clip(g(2) + pe(2) * *c)) };
                    let c_g = math::tanh(clip(g(3)));
                    *c = f_g * *c + i_g * c_g;
                    let o_g = math::sigmoid(clip(g(1) + pe(1) * *c));
                    let hv = o_g * math::tanh(*c);
                    if let Some(hv_out) = hs.get_mut(bi * h + k) {
                        *hv_out = hv;
                    }
                    if let Some(yv) = y.get_mut(((t * dirs + d) * b + bi) * h + k) {
                        *yv = hv;
                    }
                }
            }
        }
        for (i, &v) in hs.iter().enumerate() {
            if let Some(o) = y_h.get_mut(off + i) {
                *o = v;
            }
        }
        for (i, &v) in cs.iter().enumerate() {
            if let Some(o) = y_c.get_mut(off + i) {
                *o = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longer_scratch_and_outputs_are_not_written_past_the_state() {
        // Regression (found by the kernel suite): with more scratch than
        // `scratch_len()`, the cell state ran on into the spare scratch and its copy
        // wrote `y_c` past the direction's `batch × hidden` values.
        let p = Lstm {
            seq: 1,
            batch: 1,
            input: 1,
            hidden: 1,
            directions: 1,
            reverse: false,
            clip: 0.0,
            input_forget: false,
        };
        let (w, r) = ([0.5f32; 4], [0.25f32; 4]);
        let mut scratch = [9.0f32; 8];
        let (mut y_h, mut y_c) = ([-7.0f32; 3], [-7.0f32; 3]);
        lstm_f32(&p, &[1.0], &w, &r, &[], &[], &[], &[], &mut [], &mut y_h, &mut y_c, &mut scratch);
        // i = f = o = σ(0.5), c = σ(0.5)·tanh(0.5), h = σ(0.5)·tanh(c).
        let s = math::sigmoid(0.5);
        let c = s * math::tanh(0.5);
        assert_eq!(y_c, [c, -7.0, -7.0]);
        assert_eq!(y_h, [s * math::tanh(c), -7.0, -7.0]);
    }
}
