use crate::kernels::{Bias, Clamp, Gemm};

/// Float (batched) GEMM: `y = alpha · op(A) · op(B) + beta · C`, then the clamp.
/// `c` is the bias operand (empty when `p.bias` is `Bias::None`).
pub fn gemm_f32(p: &Gemm, act: Clamp, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32]) {
    let (m, n, k) = (p.m, p.n, p.k);
    let a_last = (p.batch.saturating_sub(1)) * p.batch_stride_a + m * k;
    let b_last = (p.batch.saturating_sub(1)) * p.batch_stride_b + k * n;
    if p.batch == 0 || a.len() < a_last || b.len() < b_last || c.len() < p.bias_len() || y.len() < p.batch * m * n {
        return;
    }
    for t in 0..p.batch {
        let (Some(a), Some(b), Some(y)) = (
            a.get(t * p.batch_stride_a..t * p.batch_stride_a + m * k),
            b.get(t * p.batch_stride_b..t * p.batch_stride_b + k * n),
            y.get_mut(t * m * n..(t + 1) * m * n),
        ) else {
            return;
        };
        single(p, act, a, b, c, y);
    }
}

#[inline(always)]
fn single(p: &Gemm, act: Clamp, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32]) {
    let (m, n, k) = (p.m, p.n, p.k);
    for i in 0..m {
        let Some(row) = y.get_mut(i * n..(i + 1) * n) else {
            return;
        };
        match p.bias {
            Bias::None => row.iter_mut().for_each(|v| *v = 0.0),
            Bias::Scalar => {
                let v0 = p.beta * c.first().copied().unwrap_or(0.0);
                row.iter_mut().for_each(|v| *v = v0);
            }
            Bias::PerColumn => {
                for (v, &cv) in row.iter_mut().zip(c) {
                    *v = p.beta * cv;
                }
            }
            Bias::PerRow => {
                let v0 = p.beta * c.get(i).copied().unwrap_or(0.0);
                row.iter_mut().for_each(|v| *v = v0);
            }
            Bias::Full => {
                for (v, &cv) in row.iter_mut().zip(c.get(i * n..).unwrap_or(&[])) {
                    *v = p.beta * cv;
                }
            }
        }
        if p.trans_b {
            // B is n × k: each output is a dot product of two rows.
            for (j, v) in row.iter_mut().enumerate() {
                let Some(brow) = b.get(j * k..(j + 1) * k) else {
                    return;
                };
                let mut acc = 0.0f32;
                if p.trans_a {
                    for (kk, &bv) in brow.iter().enumerate() {
                        acc += a.get(kk * m + i).copied().unwrap_or(0.0) * bv;
                    }
                } else {
                    let Some(arow) = a.get(i * k..(i + 1) * k) else {
                        return;
                    };
                    acc = dot(arow, brow);
                }
                *v += p.alpha * acc;
            }
        } else {
            // B is k × n: accumulate scaled rows of B.
            for kk in 0..k {
                let av = if p.trans_a { a.get(kk * m + i) } else { a.get(i * k + kk) };
                let av = p.alpha * av.copied().unwrap_or(0.0);
                let Some(brow) = b.get(kk * n..(kk + 1) * n) else {
                    return;
                };
                for (v, &bv) in row.iter_mut().zip(brow) {
                    *v += av * bv;
                }
            }
        }
        if act != Clamp::NONE {
            row.iter_mut().for_each(|v| *v = act.apply(*v));
        }
    }
}

/// Dot product with eight independent accumulators (lets the optimiser vectorise).
#[inline(always)]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (Some(a), Some(b)) = (a.get(..n), b.get(..n)) else { return 0.0 };
    let (ac, at) = a.as_chunks::<8>();
    let (bc, bt) = b.as_chunks::<8>();
    let mut acc = [0.0f32; 8];
    for (ca, cb) in ac.iter().zip(bc) {
        for l in 0..8 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (&x, &y) in at.iter().zip(bt) {
        s += x * y;
    }
    s
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec;
    use std::vec::Vec;

    fn naive(p: &Gemm, a: &[f32], b: &[f32], c: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; p.batch * p.m * p.n];
        for t in 0..p.batch {
            for i in 0..p.m {
                for j in 0..p.n {
                    let mut s = 0.0;
                    for kk in 0..p.k {
                        let av = if p.trans_a {
                            a[t * p.batch_stride_a + kk * p.m + i]
                        } else {
                            a[t * p.batch_stride_a + i * p.k + kk]
                        };
                        let bv = if p.trans_b {
                            b[t * p.batch_stride_b + j * p.k + kk]
                        } else {
                            b[t * p.batch_stride_b + kk * p.n + j]
                        };
                        s += av * bv;
                    }
                    let cv = match p.bias {
                        Bias::None => 0.0,
                        Bias::Scalar => c[0],
                        Bias::PerColumn => c[j],
                        Bias::PerRow => c[i],
                        Bias::Full => c[i * p.n + j],
                    };
                    y[(t * p.m + i) * p.n + j] = p.alpha * s + p.beta * cv;
                }
            }
        }
        y
    }

    #[test]
    fn every_transpose_and_bias_form_matches_the_definition() {
        let (m, n, k) = (3, 5, 19);
        let a: Vec<f32> = (0..2 * m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..2 * k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let c: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.1).collect();
        let mut count = 0;
        for trans_a in [false, true] {
            for trans_b in [false, true] {
                for bias in [Bias::None, Bias::Scalar, Bias::PerColumn, Bias::PerRow, Bias::Full] {
                    for (batch, sa, sb) in [(1, 0, 0), (2, m * k, k * n), (2, 0, k * n)] {
                        let p = Gemm {
                            batch,
                            m,
                            n,
                            k,
                            trans_a,
                            trans_b,
                            batch_stride_a: sa,
                            batch_stride_b: sb,
                            alpha: 0.5,
                            beta: 2.0,
                            bias,
                        };
                        let mut y = vec![0.0; batch * m * n];
                        gemm_f32(&p, Clamp::NONE, &a, &b, &c, &mut y);
                        let want = naive(&p, &a, &b, &c);
                        for (x, e) in y.iter().zip(&want) {
                            assert!((x - e).abs() < 1e-4, "{p:?}: {x} vs {e}");
                        }
                        count += 1;
                    }
                }
            }
        }
        assert_eq!(count, 60);
    }
}
