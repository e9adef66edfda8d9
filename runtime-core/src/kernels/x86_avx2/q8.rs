//! Signed 8-bit convolutions: one group over packed 16-bit weights (`vpmaddwd`, 6
//! pixels × 16 channels per micro-kernel call, receptive fields widened into scratch),
//! and depthwise over `kH,kW,C` filters (32-bit products across channels). The
//! requantisation is the portable twin's, vectorised in 64 bits.

use super::conv::Pixel;
use super::dw_rows_q8::Block as RowBlock;
use super::tile::{array, tile_q16, tile_q16_fixed};
use crate::kernels::pack::round_to;
use crate::kernels::pack::x86_avx2::{block_width, conv_q8_scratch, conv_weights_q8_len, PIXELS, WIDE};
use crate::kernels::Conv2d;
use crate::quant::{requantize, QOut, Weight, Q8};
use core::arch::x86_64::*;

/// The output stage of 8 channels: multiplier and shift per lane, split into the
/// even and odd lanes' 64-bit halves.
#[derive(Clone, Copy)]
pub(crate) struct Requant {
    mult: __m256i,
    /// The odd lanes' multipliers in the even positions.
    mult_odd: __m256i,
    /// `2^(shift − 1)`: the rounding term, in the even and odd lanes' 64-bit halves.
    rnd_even: __m256i,
    rnd_odd: __m256i,
    /// True when every shift is at least 32 and `|zp| < 2^29`: then
    /// `|acc · mult / 2^shift| ≤ 2^30` and every result before the clamp fits in 32
    /// bits: the high halves of the rounded products merge into 32-bit lanes, shift
    /// by `shift − 32` there, and the stores' saturating packs and 8-bit clamp finish.
    narrow: bool,
    /// `shift − 32` per 32-bit lane, and the zero point (narrow form only).
    shift32: __m256i,
    zp32: __m256i,
    /// The shifts in 64-bit halves (wide form only).
    shift_even: __m256i,
    shift_odd: __m256i,
    /// `2^(62 − shift) − zp`: the offset shifted back out, the zero point in (wide
    /// form only).
    sub_even: __m256i,
    sub_odd: __m256i,
    /// The output range in 64-bit lanes (wide form only).
    min: __m256i,
    max: __m256i,
    /// The output range as bytes (the stores clamp with it).
    min8: __m128i,
    max8: __m128i,
}

/// `2^62`: added before the wide form's logical shift so the value is non-negative.
const OFFSET: i64 = 1 << 62;

impl Requant {
    /// Channels `c0..c0 + 8` (per-channel parameters when `per_channel`, else the
    /// first for all).
    #[inline(always)]
    pub(crate) fn new(out: &QOut, mult: &[i32], shift: &[i32], per_channel: bool, c0: usize) -> Requant {
        // SAFETY: the loads read `mult[c0..c0 + 8]` and `shift[c0..c0 + 8]`, checked to
        // exist; the rest is register arithmetic.
        unsafe {
            let (m, s) = match (mult.get(c0..c0 + 8), shift.get(c0..c0 + 8)) {
                // Eight channels' parameters: two vector loads (this runs once per
                // channel block and call, and in-place convolutions call per row).
                (Some(m), Some(s)) if per_channel => {
                    (_mm256_loadu_si256(m.as_ptr() as *const __m256i), _mm256_loadu_si256(s.as_ptr() as *const __m256i))
                }
                _ if !per_channel => (
                    _mm256_set1_epi32(mult.first().copied().unwrap_or(0)),
                    _mm256_set1_epi32(shift.first().copied().unwrap_or(1)),
                ),
                _ => {
                    let pick = |v: &[i32], j: usize, d: i32| v.get(c0 + j).copied().unwrap_or(d);
                    let m: [i32; 8] = core::array::from_fn(|j| pick(mult, j, 0));
                    let s: [i32; 8] = core::array::from_fn(|j| pick(shift, j, 1));
                    (_mm256_loadu_si256(m.as_ptr() as *const __m256i), _mm256_loadu_si256(s.as_ptr() as *const __m256i))
                }
            };
            let s = _mm256_min_epi32(_mm256_max_epi32(s, _mm256_set1_epi32(1)), _mm256_set1_epi32(62));
            // The even and odd lanes' shifts as 64-bit lanes (non-negative: zero-extended).
            let se = _mm256_and_si256(s, _mm256_set1_epi64x(0xffff_ffff));
            let so = _mm256_srli_epi64::<32>(s);
            let one = _mm256_set1_epi64x(1);
            let rnd = |s: __m256i| _mm256_sllv_epi64(one, _mm256_sub_epi64(s, one));
            let below_32 = _mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_set1_epi32(32), s));
            let narrow = below_32 == 0 && out.zp.unsigned_abs() < 1 << 29;
            let zero = _mm256_setzero_si256();
            let mut r = Requant {
                mult: m,
                mult_odd: _mm256_srli_epi64::<32>(m),
                rnd_even: rnd(se),
                rnd_odd: rnd(so),
                narrow,
                shift32: zero,
                zp32: zero,
                shift_even: zero,
                shift_odd: zero,
                sub_even: zero,
                sub_odd: zero,
                min: zero,
                max: zero,
                min8: _mm_set1_epi8(out.min.clamp(-128, 127) as i8),
                max8: _mm_set1_epi8(out.max.clamp(-128, 127) as i8),
            };
            // Only the form `apply` takes is prepared (in-place convolutions build
            // this per row).
            if narrow {
                r.shift32 = _mm256_sub_epi32(s, _mm256_set1_epi32(32));
                r.zp32 = _mm256_set1_epi32(out.zp);
            } else {
                let zp = _mm256_set1_epi64x(out.zp as i64);
                let sub = |s: __m256i| _mm256_sub_epi64(_mm256_srlv_epi64(_mm256_set1_epi64x(OFFSET), s), zp);
                (r.shift_even, r.shift_odd, r.sub_even, r.sub_odd) = (se, so, sub(se), sub(so));
                r.min = _mm256_set1_epi64x(out.min as i64);
                r.max = _mm256_set1_epi64x(out.max as i64);
            }
            r
        }
    }

    /// `round_half_up(acc · mult / 2^shift) + zp` per lane, to be clamped to the
    /// output range by [`Requant::store8`] or [`Requant::store16`] (lanes may lie
    /// outside it; in the wide form they are clamped already): with the stores, the
    /// portable `out.finish(requantize(acc, mult, shift))` (the i32 saturation in
    /// between cannot change a result clamped to 8 bits).
    #[inline(always)]
    pub(crate) fn apply(&self, acc: __m256i) -> __m256i {
        // SAFETY: register arithmetic.
        unsafe {
            let even = _mm256_mul_epi32(acc, self.mult);
            let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(acc), self.mult_odd);
            if self.narrow {
                // floor(v / 2^s) = floor(floor(v / 2^32) / 2^(s − 32)); floor(v / 2^32)
                // is the high half of v (|v| < 2^62, so it fits in 32 bits).
                let e = _mm256_add_epi64(even, self.rnd_even);
                let o = _mm256_add_epi64(odd, self.rnd_odd);
                let q = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(e), o);
                return _mm256_add_epi32(_mm256_srav_epi32(q, self.shift32), self.zp32);
            }
            let e = self.finish(_mm256_add_epi64(even, self.rnd_even), self.shift_even, self.sub_even);
            let o = self.finish(_mm256_add_epi64(odd, self.rnd_odd), self.shift_odd, self.sub_odd);
            _mm256_blend_epi32::<0b1010_1010>(e, _mm256_slli_epi64::<32>(o))
        }
    }

    /// Saturates [`Requant::apply`]'s lanes to bytes and clamps them to the output range.
    #[inline(always)]
    fn clamp8(&self, b: __m128i) -> __m128i {
        // SAFETY: register arithmetic.
        unsafe { _mm_min_epi8(_mm_max_epi8(b, self.min8), self.max8) }
    }

    /// Stores 8 lanes of [`Requant::apply`] as bytes, the first `n ≤ 8`.
    ///
    /// # Safety
    /// `to` must be writable for `n` bytes.
    #[inline(always)]
    pub(crate) unsafe fn store8(&self, v: __m256i, to: *mut i8, n: usize) {
        unsafe {
            let w = _mm256_packs_epi32(v, v);
            let b = _mm256_packs_epi16(w, w);
            // Bytes 0-3 sit in the low lane's first word, 4-7 in the high lane's.
            let b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4));
            let b = self.clamp8(_mm256_castsi256_si128(b));
            if n >= 8 {
                _mm_storel_epi64(to as *mut __m128i, b);
            } else {
                store_part(b, to, n);
            }
        }
    }

    /// Stores two vectors of [`Requant::apply`] (channels `0..8` in `a`, `8..16` in
    /// `b`, both of this output stage's range) as 16 bytes, the first `n ≤ 16`.
    ///
    /// # Safety
    /// `to` must be writable for `n` bytes.
    #[inline(always)]
    pub(crate) unsafe fn store16(&self, a: __m256i, b: __m256i, to: *mut i8, n: usize) {
        unsafe {
            // Words per 128-bit lane: a0-3 b0-3 | a4-7 b4-7; bytes likewise, twice.
            let w = _mm256_packs_epi32(a, b);
            let v = _mm256_packs_epi16(w, w);
            let v = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 4, 1, 5, 0, 4, 1, 5));
            let v = self.clamp8(_mm256_castsi256_si128(v));
            if n >= 16 {
                _mm_storeu_si128(to as *mut __m128i, v);
            } else {
                store_part(v, to, n);
            }
        }
    }

    /// One half: rounding, arithmetic shift (a logical shift of the value offset to
    /// be non-negative), zero point, clamp; 64-bit lanes.
    #[inline(always)]
    fn finish(&self, rounded: __m256i, shift: __m256i, sub: __m256i) -> __m256i {
        // SAFETY: register arithmetic.
        unsafe {
            // floor(v / 2^s) = (v + 2^62) / 2^s − 2^(62−s): the sum is non-negative as an
            // unsigned number (|v| < 2^62 + 2^61), so a logical shift is exact. (The
            // usual sign-flip form, `((v ^ m) >> s) ^ m`, came out wrong from rustc
            // 1.95's LLVM once the output stage's constants were inlined.) The
            // constants are added and subtracted once each, prepared per block.
            let v = _mm256_add_epi64(rounded, _mm256_set1_epi64x(OFFSET));
            let q = _mm256_sub_epi64(_mm256_srlv_epi64(v, shift), sub);
            let q = _mm256_blendv_epi8(q, self.min, _mm256_cmpgt_epi64(self.min, q));
            _mm256_blendv_epi8(q, self.max, _mm256_cmpgt_epi64(q, self.max))
        }
    }
}

/// Accumulators of a block of `M` pixels × `8V` channels, each starting from the
/// channels' bias (`bias` points at the block's first channel).
///
/// # Safety
/// `bias` must be readable for `8V` words.
#[inline(always)]
pub(crate) unsafe fn bias_block<const M: usize, const V: usize>(bias: *const i32) -> [[__m256i; V]; M] {
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); V]; M];
        for v in 0..V {
            let b = _mm256_loadu_si256(bias.add(8 * v) as *const __m256i);
            for a in acc.iter_mut() {
                a[v] = b;
            }
        }
        acc
    }
}

/// A convolution's output stage: what [`Requant::new`] reads for each block.
#[derive(Clone, Copy)]
pub(crate) struct Stage<'a> {
    pub(crate) out: &'a QOut,
    pub(crate) mult: &'a [i32],
    pub(crate) shift: &'a [i32],
    pub(crate) per_channel: bool,
}

impl Stage<'_> {
    /// Requantises the accumulators of pixels `i0..i0 + M` × channels `oc0..oc0 + 8V`
    /// (`V` is 1 or 2) and stores the live channels (`out_c − oc0`, at most `8V`) of
    /// each pixel's output row (`out_c` bytes from `y + pixel · out_c`).
    ///
    /// # Safety
    /// `y` must be writable for `(i0 + M) · out_c` bytes, and `oc0 < out_c`.
    #[inline(always)]
    pub(crate) unsafe fn store<const M: usize, const V: usize>(
        &self,
        acc: &[[__m256i; V]; M],
        y: *mut i8,
        i0: usize,
        out_c: usize,
        oc0: usize,
    ) {
        unsafe {
            let live = (out_c - oc0).min(8 * V);
            let rq0 = Requant::new(self.out, self.mult, self.shift, self.per_channel, oc0);
            if V == 2 {
                let rq1 = Requant::new(self.out, self.mult, self.shift, self.per_channel, oc0 + 8);
                for (m, a) in acc.iter().enumerate() {
                    rq0.store16(rq0.apply(a[0]), rq1.apply(a[V - 1]), y.add((i0 + m) * out_c + oc0), live);
                }
            } else {
                for (m, a) in acc.iter().enumerate() {
                    rq0.store8(rq0.apply(a[0]), y.add((i0 + m) * out_c + oc0), live);
                }
            }
        }
    }
}

/// Stores the first `n ≤ 16` bytes of `v`.
///
/// # Safety
/// `to` must be writable for `n` bytes.
#[inline(always)]
unsafe fn store_part(v: __m128i, to: *mut i8, n: usize) {
    unsafe {
        let mut bytes = [0i8; 16];
        _mm_storeu_si128(bytes.as_mut_ptr() as *mut __m128i, v);
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), to, n.min(16));
    }
}

/// Quantised 2-D convolution with one group, i8 activations, weights and output:
/// weights packed by [`crate::kernels::pack::x86_avx2::conv_weights_q8`], the input
/// zero point folded into `bias` (padded to a multiple of 8 channels; padding then
/// reads as the zero point), `acc` scratch of
/// [`crate::kernels::pack::x86_avx2::conv_q8_scratch`] words. Other element types
/// leave the output untouched (the compiler never chooses this kernel for them).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let k = p.k_h * p.k_w * p.in_c;
    let k2 = round_to(k, 2);
    if !p.is_valid()
        || p.groups != 1
        || x.len() < p.input_len()
        || w.len() < conv_weights_q8_len(p.out_c, k)
        || bias.len() < round_to(p.out_c, 8)
        || y.len() < p.output_len()
        || acc.len() < conv_q8_scratch(p)
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    let per_channel = mult.len() >= p.out_c && shift.len() >= p.out_c;
    let pixels = p.batch * p.out_h * p.out_w;
    let cx = Q8Conv { p, x_zp, out, mult, shift, per_channel, x, w, bias, k2 };
    if p.out_c <= 8 {
        // One vector of channels: twice the pixels per micro-kernel call.
        cx.run::<WIDE>(acc, y, pixels);
    } else {
        cx.run::<PIXELS>(acc, y, pixels);
    }
}

/// What every block of the 8-bit convolution reads.
struct Q8Conv<'a> {
    p: &'a Conv2d,
    x_zp: i32,
    out: &'a QOut,
    mult: &'a [i32],
    shift: &'a [i32],
    per_channel: bool,
    x: &'a [i8],
    w: &'a [i8],
    bias: &'a [i32],
    k2: usize,
}

impl Q8Conv<'_> {
    /// Every pixel, `M` at a time, then the rest.
    #[inline(always)]
    fn run<const M: usize>(&self, acc: &mut [i32], y: &mut [i8], pixels: usize) {
        let mut i = 0;
        while i + M <= pixels {
            self.pixels::<M>(acc, y, i);
            i += M;
        }
        // Fewer than M left: blocks of 4, 2 and 1.
        while i + 4 <= pixels {
            self.pixels::<4>(acc, y, i);
            i += 4;
        }
        while i + 2 <= pixels {
            self.pixels::<2>(acc, y, i);
            i += 2;
        }
        if i < pixels {
            self.pixels::<1>(acc, y, i);
        }
    }

    /// Output pixels `i0..i0 + M`: their receptive fields widened into `fields`
    /// (`M` rows of `k2 / 2` words), then every channel block.
    #[inline(always)]
    fn pixels<const M: usize>(&self, fields: &mut [i32], y: &mut [i8], i0: usize) {
        let p = self.p;
        let words = self.k2 / 2;
        let px: [Pixel; M] = Pixel::run(p, i0);
        for (m, &px) in px.iter().enumerate() {
            let Some(row) = fields.get_mut(m * words..(m + 1) * words) else { return };
            self.widen(px, row);
        }
        let mut oc0 = 0;
        while oc0 < p.out_c {
            let width = block_width(p.out_c, oc0);
            if width == 16 {
                self.block::<M, 2>(fields, y, i0, oc0);
            } else {
                self.block::<M, 1>(fields, y, i0, oc0);
            }
            oc0 += width;
        }
    }

    /// One receptive field as 16-bit pairs (taps in the padding read the zero point;
    /// an odd last element pairs with a zero weight).
    #[inline(always)]
    fn widen(&self, px: Pixel, row: &mut [i32]) {
        let p = self.p;
        let c = p.in_c;
        let zp = self.x_zp as i16;
        if row.len() * 2 < self.k2 {
            return;
        }
        let dst = row.as_mut_ptr() as *mut i16;
        // SAFETY: `row` holds `k2 ≥ kH·kW·C` 16-bit slots (checked above); `e` counts
        // the elements written, at most `kH·kW·C`, plus one for an odd count.
        unsafe {
            let mut e = 0usize;
            for ky in 0..p.k_h {
                let run = p.k_w * c;
                if let Some(s) = px.row(p, ky).and_then(|o| self.x.get(o..o + run)) {
                    widen_run(s.as_ptr(), dst.add(e), run);
                    e += run;
                    continue;
                }
                // A filter row with dense taps (dilation 1): the zero point for the
                // taps in the padding, one run for those inside (VWW's and KWS's first
                // layers have many pixels at the edges).
                let iy = px.iy0 + (ky * p.dil_h) as isize;
                if iy < 0 || iy >= p.in_h as isize {
                    fill_run(zp, dst.add(e), run);
                    e += run;
                    continue;
                }
                let (lo, hi) = super::dw_rows::inside_taps(px.ix0, p.k_w, p.dil_w, p.in_w);
                let inside = px.tap(p, ky, lo).and_then(|o| self.x.get(o..o + (hi - lo) * c));
                if let (1, Some(s)) = (p.dil_w, inside) {
                    fill_run(zp, dst.add(e), lo * c);
                    widen_run(s.as_ptr(), dst.add(e + lo * c), (hi - lo) * c);
                    fill_run(zp, dst.add(e + hi * c), (p.k_w - hi) * c);
                    e += run;
                    continue;
                }
                for kx in 0..p.k_w {
                    match px.tap(p, ky, kx).and_then(|o| self.x.get(o..o + c)) {
                        Some(s) => widen_run(s.as_ptr(), dst.add(e), c),
                        None => fill_run(zp, dst.add(e), c),
                    }
                    e += c;
                }
            }
            if e < self.k2 {
                *dst.add(e) = 0;
            }
        }
    }

    /// Pixels `i0..i0 + M` × channels `oc0..oc0 + 8V`.
    #[inline(always)]
    fn block<const M: usize, const V: usize>(&self, fields: &[i32], y: &mut [i8], i0: usize, oc0: usize) {
        let p = self.p;
        let words = self.k2 / 2;
        if fields.len() < M * words {
            return;
        }
        // SAFETY: `fields` holds M rows of `words` (checked above); the packed weights
        // hold `round_to(out_c, 8) · k2` 16-bit values (checked on entry) and block
        // `oc0` starts at `oc0 · k2`; the padded bias covers `oc0 + 8V`; stores stay
        // within each pixel's output row.
        unsafe {
            let mut acc = bias_block::<M, V>(self.bias.as_ptr().add(oc0));
            let wb = (self.w.as_ptr() as *const i16).add(oc0 * self.k2);
            // The full blocks of first layers with fields of 14 or 20 words (3×3×3,
            // 10×4×1) at offsets known at compile time; the rest through a pointer
            // per pixel.
            match words {
                14 if M >= PIXELS => tile_q16_fixed::<M, V, 14>(&mut acc, fields.as_ptr(), wb),
                20 if M >= PIXELS => tile_q16_fixed::<M, V, 20>(&mut acc, fields.as_ptr(), wb),
                _ => {
                    let xs = array(fields.as_ptr(), |m| fields.as_ptr().add(m * words));
                    tile_q16::<M, V>(&mut acc, &xs, wb, words);
                }
            }
            let stage = Stage { out: self.out, mult: self.mult, shift: self.shift, per_channel: self.per_channel };
            stage.store(&acc, y.as_mut_ptr(), i0, p.out_c, oc0);
        }
    }
}

/// Widens `n` bytes to 16 bits: 16 at a time, then 8, 4, and one by one (short
/// runs: the per-element loop cost as much as the micro-kernel on VWW's first
/// layers).
///
/// # Safety
/// `from` must be readable for `n` bytes, `to` writable for `n` 16-bit values.
#[inline(always)]
unsafe fn widen_run(from: *const i8, to: *mut i16, n: usize) {
    unsafe {
        let mut i = 0;
        while i + 16 <= n {
            let v = _mm256_cvtepi8_epi16(_mm_loadu_si128(from.add(i) as *const __m128i));
            _mm256_storeu_si256(to.add(i) as *mut __m256i, v);
            i += 16;
        }
        if i + 8 <= n {
            let v = _mm_cvtepi8_epi16(_mm_loadl_epi64(from.add(i) as *const __m128i));
            _mm_storeu_si128(to.add(i) as *mut __m128i, v);
            i += 8;
        }
        if i + 4 <= n {
            let word = core::ptr::read_unaligned(from.add(i) as *const i32);
            _mm_storel_epi64(to.add(i) as *mut __m128i, _mm_cvtepi8_epi16(_mm_cvtsi32_si128(word)));
            i += 4;
        }
        while i < n {
            *to.add(i) = *from.add(i) as i16;
            i += 1;
        }
    }
}

/// Writes `v` to `n` 16-bit slots, 16 at a time, then one by one.
///
/// # Safety
/// `to` must be writable for `n` 16-bit values.
#[inline(always)]
unsafe fn fill_run(v: i16, to: *mut i16, n: usize) {
    unsafe {
        let splat = _mm256_set1_epi16(v);
        let mut i = 0;
        while i + 16 <= n {
            _mm256_storeu_si256(to.add(i) as *mut __m256i, splat);
            i += 16;
        }
        while i < n {
            *to.add(i) = v;
            i += 1;
        }
    }
}

/// Quantised depthwise convolution, i8 activations, weights (`kH,kW,C`, as the
/// portable twin reads them) and output; `acc` is unused scratch (the portable
/// twin's). Taps in the padding are skipped, as in the twin. Channels in blocks of 16
/// or 8 (one output stage prepared per block), every pixel per block.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d_q8<X: Q8, W: Weight, Y: Q8>(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[X],
    w: &[W],
    bias: &[i32],
    _acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let c = p.in_c;
    if !p.is_valid()
        || p.groups != c
        || p.out_c != c
        || x.len() < p.input_len()
        || w.len() < p.weight_len()
        || y.len() < p.output_len()
        || !(bias.is_empty() || bias.len() >= c)
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    let per_channel = mult.len() >= c && shift.len() >= c;
    let dw = Depthwise { p, x_zp, out, mult, shift, per_channel, x, w, bias };
    let mut c0 = 0;
    if p.k_h * p.k_w <= 64 {
        let yp = y.as_mut_ptr();
        let rq = |c0: usize| Requant::new(out, mult, shift, per_channel, c0);
        // SAFETY: the checks above cover the geometry (at most 64 taps), the input,
        // filters, bias and output slices; each block starts at channel `c0` with
        // `c0 + 16 ≤ c` (wide) or `c0 + 8 ≤ c`.
        unsafe {
            let block = |c0: usize| RowBlock {
                p,
                x_zp,
                x: x.as_ptr().add(c0),
                w: w.as_ptr().add(c0),
                bias: if bias.is_empty() { None } else { Some(bias.as_ptr().add(c0)) },
                y: yp.add(c0),
                rq: [rq(c0), rq(c0 + 8)],
            };
            let folded = super::dw_rows_q8::folds(p, x_zp);
            while c0 + 16 <= c {
                if folded {
                    block(c0).rows_folded();
                } else {
                    block(c0).rows::<true>();
                }
                c0 += 16;
            }
            while c0 + 8 <= c {
                block(c0).rows::<false>();
                c0 += 8;
            }
        }
    }
    if c0 < c {
        dw.scalar(y, c0);
    }
}

/// What every block of the 8-bit depthwise convolution reads.
struct Depthwise<'a> {
    p: &'a Conv2d,
    x_zp: i32,
    out: &'a QOut,
    mult: &'a [i32],
    shift: &'a [i32],
    per_channel: bool,
    x: &'a [i8],
    w: &'a [i8],
    bias: &'a [i32],
}

impl Depthwise<'_> {
    /// Channels `c0..` of every pixel, one at a time (the portable arithmetic).
    fn scalar(&self, y: &mut [i8], c0: usize) {
        let (p, c) = (self.p, self.p.in_c);
        let pixels = p.batch * p.out_h * p.out_w;
        for i in 0..pixels {
            let px = Pixel::new(p, i);
            for ch in c0..c {
                let mut a = self.bias.get(ch).copied().unwrap_or(0);
                for ky in 0..p.k_h {
                    for kx in 0..p.k_w {
                        if let Some(o) = px.tap(p, ky, kx) {
                            let xv = self.x.get(o + ch).copied().unwrap_or(0) as i32;
                            let wv = self.w.get((ky * p.k_w + kx) * c + ch).copied().unwrap_or(0) as i32;
                            a += (xv - self.x_zp) * wv;
                        }
                    }
                }
                let k = if self.per_channel { ch } else { 0 };
                let (m, s) = (self.mult.get(k).copied().unwrap_or(0), self.shift.get(k).copied().unwrap_or(1));
                if let Some(o) = y.get_mut(i * c + ch) {
                    *o = self.out.finish(requantize(a, m, s as u32)) as i8;
                }
            }
        }
    }
}
