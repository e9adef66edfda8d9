//! The quantised fully-connected layer on the DSP extension: i8 activations and
//! weights, four output columns at a time against one row of activations widened to
//! 16-bit pairs once; the weights of the four columns come as one stream
//! ([`pack::interleave`], blocks of 4), two multiply-adds per `smlad`. The compiler
//! has already folded the input zero point into the bias, as for the portable kernel;
//! results are bit-identical to it.
//!
//! [`pack::interleave`]: crate::kernels::pack::interleave

use super::insn::{smlad, sxtb16, sxtb16_ror8, word};
use crate::kernels::pack::round4;
use crate::kernels::{Bias, Gemm};
use crate::quant::{requantize_fast, QOut, Weight, Q8};

/// Quantised fully-connected layer `y[i, j] = requant(bias[j] + Σ_k a[i, k] · w[j, k])`
/// (one product, B transposed, bias per column), i8, `w` interleaved in blocks of four
/// columns, `bias` padded to a multiple of four; `acc` scratch of [`arm_dsp_gemm_scratch`](crate::kernels::pack::arm_dsp_gemm_scratch)
/// words. Other element types or layouts leave `y` untouched (the compiler never
/// chooses this kernel for them).
#[allow(clippy::too_many_arguments)]
pub fn gemm_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Gemm,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    a: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(a), Some(w), Some(y)) = (X::as_i8(a), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let (m, n, k) = (p.m, p.n, p.k);
    let k4 = round4(k);
    let blocks = n.div_ceil(4);
    if p.batch != 1
        || p.trans_a
        || !p.trans_b
        || p.bias != Bias::PerColumn
        || k == 0
        || a.len() < m * k
        || w.len() < blocks * 4 * k4
        || bias.len() < blocks * 4
        || y.len() < m * n
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    let Some(cols) = acc.get_mut(..k4 / 2) else { return };
    let per_column = mult.len() >= n && shift.len() >= n;
    for i in 0..m {
        let Some(arow) = a.get(i * k..(i + 1) * k) else { return };
        // Widen: per 4 inputs, (x0, x2) and (x1, x3); a short last group is zero-padded.
        let (full, rest) = arow.as_chunks::<4>();
        let mut tail = [0i8; 4];
        tail.iter_mut().zip(rest).for_each(|(t, &v)| *t = v);
        let groups = full.iter().chain(core::iter::once(&tail).take(usize::from(!rest.is_empty())));
        for (c, g) in cols.as_chunks_mut::<2>().0.iter_mut().zip(groups) {
            let v = word(g);
            *c = [sxtb16(v) as i32, sxtb16_ror8(v) as i32];
        }
        for (b, bb) in bias.as_chunks::<4>().0.iter().enumerate().take(blocks) {
            let Some(wb) = w.get(b * 4 * k4..(b + 1) * 4 * k4) else { return };
            let mut s = *bb;
            for (c, q) in cols.as_chunks::<2>().0.iter().zip(wb.as_chunks::<16>().0) {
                let (x02, x13) = (c[0] as u32, c[1] as u32);
                let [q0, q1, q2, q3, q4, q5, q6, q7, q8, q9, q10, q11, q12, q13, q14, q15] = *q;
                let ws = [
                    word(&[q0, q1, q2, q3]),
                    word(&[q4, q5, q6, q7]),
                    word(&[q8, q9, q10, q11]),
                    word(&[q12, q13, q14, q15]),
                ];
                for (acc, wv) in s.iter_mut().zip(ws) {
                    *acc = smlad(x13, sxtb16_ror8(wv), smlad(x02, sxtb16(wv), *acc));
                }
            }
            for (jj, &v) in s.iter().enumerate() {
                let j = b * 4 + jj;
                let c = if per_column { j } else { 0 };
                let (mm, sh) = (mult.get(c).copied().unwrap_or(0), shift.get(c).copied().unwrap_or(1));
                if let (true, Some(o)) = (j < n, y.get_mut(i * n + j)) {
                    *o = out.finish(requantize_fast(v, mm, sh)) as i8;
                }
            }
        }
    }
}
