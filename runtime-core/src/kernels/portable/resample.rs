//! Separable resampling with precomputed taps (ONNX Resize in every mode: nearest,
//! linear, cubic, antialiased; the compiler turns the coordinate transformation into
//! per-axis index and weight tables).

use crate::kernels::{Resample, MAX_RANK};

/// Marks an input coordinate outside the input in [`Resample`]'s index table.
pub const OUTSIDE: u32 = u32::MAX;

/// `y[o] = Σ over every combination of per-axis taps of Π weight · x[index]` (see
/// [`Resample`]).
pub fn resample_f32(p: &Resample, index: &[u32], weight: &[f32], x: &[f32], y: &mut [f32]) {
    if p.rank == 0 || p.rank > MAX_RANK {
        return;
    }
    let rank = p.rank;
    let mut total_in = 1usize;
    let mut total_out = 1usize;
    let mut stride = [0usize; MAX_RANK];
    for d in (0..rank).rev() {
        stride[d] = total_in;
        total_in = total_in.saturating_mul(p.input[d]);
        total_out = total_out.saturating_mul(p.output[d]);
        let need = p.start[d].saturating_add(p.output[d].saturating_mul(p.taps[d]));
        if p.taps[d] == 0 || index.len() < need || weight.len() < need {
            return;
        }
    }
    if x.len() < total_in || y.len() < total_out {
        return;
    }
    let mut o = [0usize; MAX_RANK];
    for out in y.iter_mut().take(total_out) {
        // The first entry of each axis' taps for this output coordinate.
        let mut base = [0usize; MAX_RANK];
        let mut outside = false;
        for d in 0..rank {
            base[d] = p.start[d] + o[d] * p.taps[d];
            if index.get(base[d]).is_none_or(|&i| i == OUTSIDE) {
                outside = true;
            }
        }
        *out = if outside {
            p.extrapolation
        } else {
            let mut k = [0usize; MAX_RANK];
            let mut acc = 0.0f32;
            'taps: loop {
                let (mut w, mut at) = (1.0f32, 0usize);
                for d in 0..rank {
                    let e = base[d] + k[d];
                    let (Some(&i), Some(&wt)) = (index.get(e), weight.get(e)) else { break 'taps };
                    w *= wt;
                    at += (i as usize).min(p.input[d].saturating_sub(1)) * stride[d];
                }
                acc += w * x.get(at).copied().unwrap_or(0.0);
                let mut d = rank;
                loop {
                    if d == 0 {
                        break 'taps;
                    }
                    d -= 1;
                    k[d] += 1;
                    if k[d] < p.taps[d] {
                        break;
                    }
                    k[d] = 0;
                }
            }
            acc
        };
        let mut d = rank;
        while d > 0 {
            d -= 1;
            o[d] += 1;
            if o[d] < p.output[d] {
                break;
            }
            o[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_upsampling_of_one_axis() {
        // [1, 3] → [1, 4] with two taps per output along axis 1; axis 0 is the identity.
        let mut input = [1; MAX_RANK];
        input[1] = 3;
        let mut output = [1; MAX_RANK];
        output[1] = 4;
        let mut taps = [1; MAX_RANK];
        taps[1] = 2;
        let mut start = [0; MAX_RANK];
        start[1] = 1;
        let p = Resample { rank: 2, input, output, taps, start, extrapolation: -1.0 };
        let index = [0, 0, 1, 0, 1, 1, 2, OUTSIDE, 2];
        let weight = [1.0, 1.0, 0.0, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0];
        let mut y = [0.0; 4];
        resample_f32(&p, &index, &weight, &[10.0, 20.0, 30.0], &mut y);
        assert_eq!(y, [10.0, 15.0, 25.0, -1.0]);
    }
}
