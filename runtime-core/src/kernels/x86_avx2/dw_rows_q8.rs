//! Signed 8-bit depthwise convolution row by row, 16 (or 8) channels per block: in
//! each output row the interior pixels (every tap inside the input) are computed
//! [`RUN`] at a time, each pair of taps' weights widened and interleaved once for
//! all of them; the pixels at the edges one at a time over the taps inside the
//! input. Products `(x − zp) · w` of two taps are summed by `vpmaddwd` (at most
//! 2 · 255 · 128 in magnitude, exact) into 32-bit accumulators, so the result is the
//! portable twin's whatever the order.

use super::q8::Requant;
use crate::kernels::Conv2d;
use core::arch::x86_64::*;

/// Interior pixels of a row computed together.
const RUN: usize = 4;

/// Most taps of a filter (as `conv::Window`).
const TAPS: usize = 64;

/// The operands of one channel block, as pointers at its first channel.
pub(super) struct Block<'a> {
    pub(super) p: &'a Conv2d,
    pub(super) x_zp: i32,
    /// Input at channel `c0`.
    pub(super) x: *const i8,
    /// Filters (`kH,kW,C`) at channel `c0`.
    pub(super) w: *const i8,
    /// Bias at channel `c0`, `None` without bias.
    pub(super) bias: Option<*const i32>,
    /// Output at channel `c0`.
    pub(super) y: *mut i8,
    /// The output stage of channels `c0..c0 + 8` and `c0 + 8..c0 + 16`.
    pub(super) rq: [Requant; 2],
}

/// Loads 16 bytes (or 8 when `!WIDE`, the upper lanes zero) widened to 16 bits.
#[inline(always)]
unsafe fn load<const WIDE: bool>(at: *const i8) -> __m256i {
    unsafe {
        if WIDE {
            _mm256_cvtepi8_epi16(_mm_loadu_si128(at as *const __m128i))
        } else {
            _mm256_cvtepi8_epi16(_mm_loadl_epi64(at as *const __m128i))
        }
    }
}

/// Loads a tap's weights like [`load`]; with `PAIRS`, the 8 weights at `at` twice
/// (for two pixels of an 8-channel layer).
#[inline(always)]
unsafe fn load_w<const WIDE: bool, const PAIRS: bool>(at: *const i8) -> __m256i {
    unsafe {
        if PAIRS {
            let w8 = _mm_loadl_epi64(at as *const __m128i);
            _mm256_cvtepi8_epi16(_mm_unpacklo_epi64(w8, w8))
        } else {
            load::<WIDE>(at)
        }
    }
}

impl Block<'_> {
    /// Channels `c0..c0 + 16` (`WIDE`) or `c0..c0 + 8` of every output pixel.
    ///
    /// # Safety
    /// The geometry must be valid and depthwise (`groups = in_c = out_c`) with at
    /// most [`TAPS`] taps, the pointers at channel `c0` of slices holding the whole
    /// input, filters, bias (if any) and output, with `c0 + 16 ≤ in_c` (`WIDE`) or
    /// `c0 + 8 ≤ in_c`.
    #[inline(always)]
    pub(super) unsafe fn rows<const WIDE: bool>(&self) {
        let p = self.p;
        let ext_h = p.k_h.saturating_sub(1) * p.dil_h;
        let (ox_lo, ox_hi) = super::dw_rows::interior_columns(p);
        // Input offsets of the taps from the first, in filter order.
        let mut rel = [0usize; TAPS];
        let mut taps = 0;
        for ky in 0..p.k_h {
            for kx in 0..p.k_w {
                if let Some(r) = rel.get_mut(taps) {
                    *r = (ky * p.dil_h * p.in_w + kx * p.dil_w) * p.in_c;
                    taps += 1;
                }
            }
        }
        let win = (&rel, taps);
        unsafe {
            let mut b0 = [_mm256_setzero_si256(); 2];
            if let Some(b) = self.bias {
                b0[0] = _mm256_loadu_si256(b as *const __m256i);
                if WIDE {
                    b0[1] = _mm256_loadu_si256(b.add(8) as *const __m256i);
                }
            }
            // Layers of exactly 8 channels at stride 1: two adjacent pixels are 16
            // adjacent bytes of the input and of the output, computed as one block of
            // 16 "channels" (the 8 filters, biases and output stages twice), so no
            // lane idles.
            let pairs = !WIDE && p.in_c == 8 && p.stride_w == 1;
            let b2 = [b0[0], b0[0]];
            for n in 0..p.batch {
                for oy in 0..p.out_h {
                    let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                    let inside = iy0 >= 0 && iy0 as usize + ext_h < p.in_h;
                    let row = (n * p.out_h + oy) * p.out_w;
                    if !inside {
                        for ox in 0..p.out_w {
                            self.edge::<WIDE>(&b0, n, iy0, ox, row + ox);
                        }
                        continue;
                    }
                    for ox in (0..ox_lo).chain(ox_hi..p.out_w) {
                        self.edge::<WIDE>(&b0, n, iy0, ox, row + ox);
                    }
                    let mut ox = ox_lo;
                    if pairs {
                        while ox + 2 * RUN <= ox_hi {
                            self.interior::<RUN, true, true>(&b2, win, n, iy0 as usize, ox, row + ox);
                            ox += 2 * RUN;
                        }
                        while ox + 2 <= ox_hi {
                            self.interior::<1, true, true>(&b2, win, n, iy0 as usize, ox, row + ox);
                            ox += 2;
                        }
                    }
                    while ox + RUN <= ox_hi {
                        self.interior::<RUN, WIDE, false>(&b0, win, n, iy0 as usize, ox, row + ox);
                        ox += RUN;
                    }
                    if ox + 2 <= ox_hi {
                        self.interior::<2, WIDE, false>(&b0, win, n, iy0 as usize, ox, row + ox);
                        ox += 2;
                    }
                    if ox < ox_hi {
                        self.interior::<1, WIDE, false>(&b0, win, n, iy0 as usize, ox, row + ox);
                    }
                }
            }
        }
    }

    /// Interior pixels `ox..ox + M` of a row whose taps start at input row `iy0`
    /// (`win`: the taps' input offsets from the first, and their count); `at` is the
    /// first pixel's output pixel.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn interior<const M: usize, const WIDE: bool, const PAIRS: bool>(
        &self,
        b0: &[__m256i; 2],
        win: (&[usize; TAPS], usize),
        n: usize,
        iy0: usize,
        ox: usize,
        at: usize,
    ) {
        let p = self.p;
        let c = p.in_c;
        // With `PAIRS`, "pixel" `m` is output pixels `2m` and `2m + 1` (8 channels each).
        let per = if PAIRS { 2 } else { 1 };
        let step = per * p.stride_w * c;
        let first = ((n * p.in_h + iy0) * p.in_w + ox * p.stride_w - p.pad_left) * c;
        let (rel, taps) = win;
        let taps = taps.min(TAPS);
        unsafe {
            let zp = _mm256_set1_epi16(self.x_zp as i16);
            let mut lo = [_mm256_setzero_si256(); M];
            let mut hi = [_mm256_setzero_si256(); M];
            let mut t = 0;
            while t < taps {
                let a0 = first + rel[t];
                let w0 = load_w::<WIDE, PAIRS>(self.w.add(t * c));
                let (a1, w1) = if t + 1 < taps {
                    (Some(first + rel[t + 1]), load_w::<WIDE, PAIRS>(self.w.add((t + 1) * c)))
                } else {
                    (None, _mm256_setzero_si256())
                };
                let (wl, wh) = (_mm256_unpacklo_epi16(w0, w1), _mm256_unpackhi_epi16(w0, w1));
                for m in 0..M {
                    let x0 = _mm256_sub_epi16(load::<WIDE>(self.x.add(a0 + m * step)), zp);
                    let x1 = match a1 {
                        Some(a1) => _mm256_sub_epi16(load::<WIDE>(self.x.add(a1 + m * step)), zp),
                        None => _mm256_setzero_si256(),
                    };
                    lo[m] = _mm256_add_epi32(lo[m], _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), wl));
                    hi[m] = _mm256_add_epi32(hi[m], _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), wh));
                }
                t += 2;
            }
            for m in 0..M {
                self.store::<WIDE, PAIRS>(b0, lo[m], hi[m], at + per * m);
            }
        }
    }

    /// One pixel at the edge: taps in the padding skipped, the others paired in
    /// filter order.
    #[inline(always)]
    unsafe fn edge<const WIDE: bool>(&self, b0: &[__m256i; 2], n: usize, iy0: isize, ox: usize, at: usize) {
        let p = self.p;
        let c = p.in_c;
        let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
        unsafe {
            let zp = _mm256_set1_epi16(self.x_zp as i16);
            let (mut lo, mut hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            let mut pair = |x0: __m256i, w0: __m256i, x1: __m256i, w1: __m256i| {
                lo = _mm256_add_epi32(
                    lo,
                    _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_unpacklo_epi16(w0, w1)),
                );
                hi = _mm256_add_epi32(
                    hi,
                    _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_unpackhi_epi16(w0, w1)),
                );
            };
            let mut pending = None;
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
                    let xv = load::<WIDE>(self.x.add(((n * p.in_h + iy as usize) * p.in_w + ix as usize) * c));
                    let xv = _mm256_sub_epi16(xv, zp);
                    let wv = load::<WIDE>(self.w.add((ky * p.k_w + kx) * c));
                    match pending.take() {
                        None => pending = Some((xv, wv)),
                        Some((x0, w0)) => pair(x0, w0, xv, wv),
                    }
                }
            }
            if let Some((x0, w0)) = pending {
                pair(x0, w0, _mm256_setzero_si256(), _mm256_setzero_si256());
            }
            self.store::<WIDE, false>(b0, lo, hi, at);
        }
    }

    /// Adds the bias, requantises and stores output pixel `at` from accumulators in
    /// `vpunpck` order (lo: channels 0-3 and 8-11, hi: 4-7 and 12-15).
    #[inline(always)]
    unsafe fn store<const WIDE: bool, const PAIRS: bool>(
        &self,
        b0: &[__m256i; 2],
        lo: __m256i,
        hi: __m256i,
        at: usize,
    ) {
        unsafe {
            let to = self.y.add(at * self.p.in_c);
            let a0 = _mm256_add_epi32(b0[0], _mm256_permute2x128_si256::<0x20>(lo, hi));
            if WIDE {
                let a1 = _mm256_add_epi32(b0[1], _mm256_permute2x128_si256::<0x31>(lo, hi));
                // Pairs of 8-channel pixels: the second half is the same channels.
                let rq1 = if PAIRS { &self.rq[0] } else { &self.rq[1] };
                self.rq[0].store16(self.rq[0].apply(a0), rq1.apply(a1), to, 16);
            } else {
                self.rq[0].store8(self.rq[0].apply(a0), to, 8);
            }
        }
    }
}

/// Most filter rows of [`Block::rows_folded`].
const FOLDED_ROWS: usize = 8;

/// Whether [`Block::rows_folded`] takes a geometry: filters 3 taps wide, at most
/// [`FOLDED_ROWS`] high, and a zero point that fits in 16 bits.
pub(super) fn folds(p: &Conv2d, x_zp: i32) -> bool {
    p.k_w == 3 && p.k_h <= FOLDED_ROWS && i16::try_from(x_zp).is_ok()
}

impl Block<'_> {
    /// Channels `c0..c0 + 16` of every output pixel of a filter 3 taps wide, the zero
    /// point folded out of the products: `Σ (x − zp) · w = Σ x̃ · w − zp · Σ w`,
    /// where `x̃` is the input inside and `zp` in the padding. Every pixel then runs
    /// the same code (no edge path): per filter row inside the input, taps 0 and 1 as
    /// one `vpmaddwd` pair and tap 2 with a zero weight, a column in the padding
    /// loaded as the zero point (columns are checked only for pixels at the left or
    /// right edge); a filter row wholly in the padding is skipped and its `zp · Σ w`
    /// added back to the bias of that output row. The filters' tap pairs are
    /// widened and interleaved once per block. The sums are the portable twin's
    /// modulo 2^32 (wrapping 32-bit arithmetic), so the results are identical.
    ///
    /// # Safety
    /// As [`Block::rows`] with `WIDE`, and [`folds`] must hold.
    #[inline(always)]
    pub(super) unsafe fn rows_folded(&self) {
        let p = self.p;
        let c = p.in_c;
        if p.k_w != 3 || p.k_h > FOLDED_ROWS {
            return;
        }
        unsafe {
            let zero = _mm256_setzero_si256();
            // Per filter row: taps 0 and 1 interleaved, tap 2 with zeros, in `vpunpck`
            // order; and `zp · Σ_kx w` in channel order.
            let mut wp = [[zero; 4]; FOLDED_ROWS];
            let mut zrow = [[zero; 2]; FOLDED_ROWS];
            let zp32 = _mm256_set1_epi32(self.x_zp);
            let mut bias = [zero; 2];
            if let Some(b) = self.bias {
                bias = [_mm256_loadu_si256(b as *const __m256i), _mm256_loadu_si256(b.add(8) as *const __m256i)];
            }
            for (ky, (wr, zr)) in wp.iter_mut().zip(zrow.iter_mut()).enumerate().take(p.k_h) {
                let at = |kx: usize| self.w.add((ky * 3 + kx) * c);
                let mut sum = [zero; 2];
                for kx in 0..3 {
                    let lo = _mm256_cvtepi8_epi32(_mm_loadl_epi64(at(kx) as *const __m128i));
                    let hi = _mm256_cvtepi8_epi32(_mm_loadl_epi64(at(kx).add(8) as *const __m128i));
                    sum = [_mm256_add_epi32(sum[0], lo), _mm256_add_epi32(sum[1], hi)];
                }
                *zr = [_mm256_mullo_epi32(sum[0], zp32), _mm256_mullo_epi32(sum[1], zp32)];
                bias = [_mm256_sub_epi32(bias[0], zr[0]), _mm256_sub_epi32(bias[1], zr[1])];
                let (w0, w1, w2) = (load::<true>(at(0)), load::<true>(at(1)), load::<true>(at(2)));
                *wr = [
                    _mm256_unpacklo_epi16(w0, w1),
                    _mm256_unpackhi_epi16(w0, w1),
                    _mm256_unpacklo_epi16(w2, zero),
                    _mm256_unpackhi_epi16(w2, zero),
                ];
            }
            let zpv = _mm256_set1_epi16(self.x_zp as i16);
            let (ox_lo, ox_hi) = super::dw_rows::interior_columns(p);
            let dw = p.dil_w * c;
            for n in 0..p.batch {
                for oy in 0..p.out_h {
                    let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
                    let (ky_lo, ky_hi) = super::dw_rows::inside_taps(iy0, p.k_h, p.dil_h, p.in_h);
                    let mut b = bias;
                    for (ky, z) in zrow.iter().enumerate().take(p.k_h) {
                        if ky < ky_lo || ky >= ky_hi {
                            b = [_mm256_add_epi32(b[0], z[0]), _mm256_add_epi32(b[1], z[1])];
                        }
                    }
                    let rows = wp.get(ky_lo..ky_hi).unwrap_or(&[]);
                    // The first inside filter row's input row.
                    let top = (iy0 + (ky_lo * p.dil_h) as isize).max(0) as usize;
                    let row0 = self.x.add((n * p.in_h + top) * p.in_w * c);
                    let step = p.dil_h * p.in_w * c;
                    let out = (n * p.out_h + oy) * p.out_w;
                    for ox in 0..p.out_w {
                        let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
                        let (mut lo, mut hi) = (zero, zero);
                        let mut tap = |x0: __m256i, x1: __m256i, x2: __m256i, w: &[__m256i; 4]| {
                            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), w[0]));
                            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), w[1]));
                            lo = _mm256_add_epi32(lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x2, zero), w[2]));
                            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x2, zero), w[3]));
                        };
                        if ox >= ox_lo && ox < ox_hi {
                            let mut at = row0.add(ix0 as usize * c);
                            for w in rows {
                                tap(load::<true>(at), load::<true>(at.add(dw)), load::<true>(at.add(2 * dw)), w);
                                at = at.add(step);
                            }
                        } else {
                            let col = |row: *const i8, kx: usize| -> __m256i {
                                let ix = ix0 + (kx * p.dil_w) as isize;
                                if ix >= 0 && (ix as usize) < p.in_w {
                                    load::<true>(row.add(ix as usize * c))
                                } else {
                                    zpv
                                }
                            };
                            let mut row = row0;
                            for w in rows {
                                tap(col(row, 0), col(row, 1), col(row, 2), w);
                                row = row.add(step);
                            }
                        }
                        self.store::<true, false>(&b, lo, hi, out + ox);
                    }
                }
            }
        }
    }
}
