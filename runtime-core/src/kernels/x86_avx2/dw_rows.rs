//! Float depthwise convolution row by row: in each output row, the pixels whose
//! every tap is inside the input (the interior) are computed `R` at a time (8 vectors of accumulators), each
//! tap's weights loaded once for all of them; the pixels at the edges one at a
//! time, skipping the taps in the padding. Per output channel the sum runs from the
//! bias over the taps in filter order, one fused multiply-add each, as in
//! `depthwise_conv2d_f32`'s other paths.

use super::conv::clamp8;
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;

/// The operands of one channel block, as pointers at its first channel.
pub(super) struct Block<'a> {
    pub(super) p: &'a Conv2d,
    pub(super) act: Clamp,
    /// Input at channel `c0`.
    pub(super) x: *const f32,
    /// Filters (`kH,kW,C`) at channel `c0`.
    pub(super) w: *const f32,
    /// Bias at channel `c0`, `None` without bias.
    pub(super) bias: Option<*const f32>,
    /// Output at channel `c0`.
    pub(super) y: *mut f32,
}

/// The output columns `ox_lo..ox_hi` whose windows lie wholly inside the input's
/// width: `ox · sW ≥ pad_left` and `ox · sW − pad_left + ext_w < in_w` (both
/// depthwise row kernels, float and int8, walk rows this way).
pub(super) fn interior_columns(p: &Conv2d) -> (usize, usize) {
    let ext_w = p.k_w.saturating_sub(1) * p.dil_w;
    // `max(1)`: a valid geometry has a stride of at least 1, and no division may panic.
    let sw = p.stride_w.max(1);
    let ox_lo = p.pad_left.div_ceil(sw).min(p.out_w);
    let ox_hi = match (p.in_w + p.pad_left).checked_sub(ext_w + 1) {
        Some(last) => (last / sw + 1).min(p.out_w),
        None => 0,
    };
    (ox_lo, ox_hi.max(ox_lo))
}

impl Block<'_> {
    /// Channels `c0..c0 + 8V` of every output pixel, interior pixels `R` at a time.
    ///
    /// # Safety
    /// The geometry must be valid and depthwise (`groups = in_c = out_c`), the
    /// pointers at channel `c0` of slices holding the whole input, filters, bias (if
    /// any) and output, with `c0 + 8V ≤ in_c`.
    #[inline(always)]
    pub(super) unsafe fn rows<const V: usize, const R: usize>(&self) {
        let p = self.p;
        let ext_h = p.k_h.saturating_sub(1) * p.dil_h;
        let (ox_lo, ox_hi) = interior_columns(p);
        unsafe {
            let mut b0 = [_mm256_setzero_ps(); V];
            if let Some(b) = self.bias {
                for (v, r) in b0.iter_mut().enumerate() {
                    *r = _mm256_loadu_ps(b.add(8 * v));
                }
            }
            for n in 0..p.batch {
                for oy in 0..p.out_h {
                    let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                    let inside = iy0 >= 0 && iy0 as usize + ext_h < p.in_h;
                    let row = (n * p.out_h + oy) * p.out_w;
                    if !inside {
                        for ox in 0..p.out_w {
                            self.edge::<V>(&b0, n, iy0, ox, row + ox);
                        }
                        continue;
                    }
                    for ox in (0..ox_lo).chain(ox_hi..p.out_w) {
                        self.edge::<V>(&b0, n, iy0, ox, row + ox);
                    }
                    let mut ox = ox_lo;
                    while ox + R <= ox_hi {
                        self.interior::<R, V>(&b0, n, iy0 as usize, ox, row + ox);
                        ox += R;
                    }
                    while ox < ox_hi {
                        self.interior::<1, V>(&b0, n, iy0 as usize, ox, row + ox);
                        ox += 1;
                    }
                }
            }
        }
    }

    /// Interior pixels `ox..ox + M` of a row whose taps start at input row `iy0`;
    /// `at` is the first one's output pixel.
    #[inline(always)]
    unsafe fn interior<const M: usize, const V: usize>(
        &self,
        b0: &[__m256; V],
        n: usize,
        iy0: usize,
        ox: usize,
        at: usize,
    ) {
        let p = self.p;
        let c = p.in_c;
        let step = p.stride_w * c;
        unsafe {
            let mut acc = [*b0; M];
            let first = ((n * p.in_h + iy0) * p.in_w + ox * p.stride_w - p.pad_left) * c;
            for ky in 0..p.k_h {
                let row = first + ky * p.dil_h * p.in_w * c;
                for kx in 0..p.k_w {
                    let xt = self.x.add(row + kx * p.dil_w * c);
                    let wt = self.w.add((ky * p.k_w + kx) * c);
                    let wv: [__m256; V] = core::array::from_fn(|v| _mm256_loadu_ps(wt.add(8 * v)));
                    for (m, a) in acc.iter_mut().enumerate() {
                        for v in 0..V {
                            a[v] = _mm256_fmadd_ps(_mm256_loadu_ps(xt.add(m * step + 8 * v)), wv[v], a[v]);
                        }
                    }
                }
            }
            self.store::<M, V>(&acc, at);
        }
    }

    /// One pixel at the edge: taps in the padding skipped.
    #[inline(always)]
    unsafe fn edge<const V: usize>(&self, b0: &[__m256; V], n: usize, iy0: isize, ox: usize, at: usize) {
        let p = self.p;
        let c = p.in_c;
        let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
        unsafe {
            let mut acc = [*b0; 1];
            for ky in 0..p.k_h {
                let iy = iy0 + (ky * p.dil_h) as isize;
                if iy < 0 || iy >= p.in_h as isize {
                    continue;
                }
                for kx in 0..p.k_w {
                    let ix = ix0 + (kx * p.dil_w) as isize;
                    if ix < 0 || ix >= p.in_w as isize {
                        continue;
                    }
                    let xt = self.x.add(((n * p.in_h + iy as usize) * p.in_w + ix as usize) * c);
                    let wt = self.w.add((ky * p.k_w + kx) * c);
                    for v in 0..V {
                        acc[0][v] =
                            _mm256_fmadd_ps(_mm256_loadu_ps(xt.add(8 * v)), _mm256_loadu_ps(wt.add(8 * v)), acc[0][v]);
                    }
                }
            }
            self.store::<1, V>(&acc, at);
        }
    }

    /// Clamps and stores output pixels `at..at + M`.
    #[inline(always)]
    unsafe fn store<const M: usize, const V: usize>(&self, acc: &[[__m256; V]; M], at: usize) {
        let c = self.p.in_c;
        unsafe {
            let (lo, hi) = (_mm256_set1_ps(self.act.min), _mm256_set1_ps(self.act.max));
            for (m, a) in acc.iter().enumerate() {
                let to = self.y.add((at + m) * c);
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(to.add(8 * v), clamp8(r, lo, hi));
                }
            }
        }
    }
}
