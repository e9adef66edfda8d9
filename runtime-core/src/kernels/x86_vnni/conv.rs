//! The signed 8-bit convolution with one group: the receptive fields of 12 output
//! pixels copied into scratch as unsigned bytes (`x + 128`, taps in the padding
//! `zp + 128`), then 12 pixels × 16 channels per micro-kernel call over weights
//! packed `[K/4][16][4]` ([`crate::kernels::pack::x86_vnni`]). The bias has
//! `(zp + 128) · Σ w` folded out at compile time, so the sums equal the portable
//! twin's `Σ (x − zp) · w` exactly (wrapping in 32 bits alike); the output stage is
//! the AVX2 kernel's.

use crate::kernels::pack::round_to;
use crate::kernels::pack::x86_avx2::block_width;
use crate::kernels::pack::x86_vnni::{conv_q8_scratch, conv_weights_len, padded_image, row_words, PIXELS};
use crate::kernels::x86_avx2::{array, bias_block, inside_taps, Pixel, Stage};
use crate::kernels::Conv2d;
use crate::quant::{QOut, Weight, Q8};
use core::arch::x86_64::*;

/// Quantised 2-D convolution with one group, i8 activations, weights and output:
/// weights packed by [`crate::kernels::pack::x86_vnni::conv_weights`], the bias with
/// [`crate::kernels::pack::x86_vnni::folded_zero_point`] folded in (padded to a
/// multiple of 8 channels), `acc` scratch of
/// [`crate::kernels::pack::x86_vnni::conv_q8_scratch`] words (with fewer, but at
/// least the receptive fields', the input is not copied with its padding: the same
/// results, with border checks). Other element types
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
    if !p.is_valid()
        || p.groups != 1
        || x.len() < p.input_len()
        || w.len() < conv_weights_len(p.out_c, p.k_h, p.k_w * p.in_c)
        || bias.len() < round_to(p.out_c, 8)
        || y.len() < p.output_len()
        || acc.len() < PIXELS * p.k_h * row_words(p.k_w * p.in_c)
        || mult.is_empty()
        || shift.is_empty()
    {
        return;
    }
    let per_channel = mult.len() >= p.out_c && shift.len() >= p.out_c;
    // Padding reads as the zero point, offset like every input.
    let pad = (x_zp as i8 as u8 ^ 0x80) as i8;
    let words = p.k_h * row_words(p.k_w * p.in_c);
    // Checked splits throughout: the unchecked ones keep a panic path (the no-panic
    // proof found it).
    let Some((fields, image)) = acc.split_at_mut_checked(PIXELS * words) else { return };
    // The padded copy needs its words too: a call given only the fields' (a band of
    // rows of a streamed layer, whose whole input was too large to copy, can take a
    // copy of its own) reads its windows with border checks instead.
    let copy = padded_image(p).filter(|_| fields.len() + image.len() >= conv_q8_scratch(p));
    let Some((h, wd)) = copy else {
        let direct = direct(p, false);
        let cx = Conv { p, pad, out, mult, shift, per_channel, x, w, bias, words, direct };
        return cx.run(fields, y);
    };
    // The input with its padding written out: the same convolution over it has none.
    // SAFETY: `image` holds `round_to(batch·h·w·C, 4) / 4 + 1` words (`acc` was
    // checked against the scratch size, which counts them); bytes alias no other
    // borrow.
    let image = unsafe { core::slice::from_raw_parts_mut(image.as_mut_ptr() as *mut i8, image.len() * 4) };
    let n = p.batch * h * wd * p.in_c;
    let Some((copy, spare)) = image.split_at_mut_checked(n).filter(|(_, spare)| spare.len() >= 4) else { return };
    write_padded(p, x, x_zp as i8, h, wd, copy);
    // The spare bytes a last word may read past the copy (zero weights meet them).
    spare.fill(0);
    let q = Conv2d { in_h: h, in_w: wd, pad_top: 0, pad_left: 0, ..*p };
    let direct = direct(&q, true);
    let cx = Conv { p: &q, pad, out, mult, shift, per_channel, x: &*image, w, bias, words, direct };
    cx.run(fields, y);
}

/// True when the micro-kernel can read every receptive field in place, a filter row
/// at a time (`kW·C` bytes rounded up to words: the bytes past a row meet zero
/// weights): every window inside the input, adjacent taps (`dil_w = 1`), and the
/// words readable: filter rows of whole words (`kW·C` a multiple of 4 bytes), or
/// `spare` bytes after the input (the padded copy has them). Otherwise the fields are
/// copied into scratch first. Copying costs more than its
/// bytes suggest: the micro-kernel's 4-byte broadcasts then read what wider stores
/// have just written (a pointwise 64 → 64 layer over 125 pixels took 10.1 µs so,
/// 5.1 µs in place).
fn direct(p: &Conv2d, spare: bool) -> bool {
    let h = (p.out_h.saturating_sub(1) * p.stride_h).saturating_add(p.k_h.saturating_sub(1) * p.dil_h) + 1;
    let w = (p.out_w.saturating_sub(1) * p.stride_w).saturating_add(p.k_w - 1) + 1;
    p.dil_w == 1
        && (spare || (p.k_w * p.in_c).is_multiple_of(4))
        && p.k_w > 0
        && p.pad_top == 0
        && p.pad_left == 0
        && h <= p.in_h
        && w <= p.in_w
}

/// `x` with `zp` around it: `h × w` pixels of `C` per batch, input row `iy` at row
/// `iy + pad_top`, column `ix` at `ix + pad_left` (the rows and columns past the input
/// that windows reach are padding too).
fn write_padded(p: &Conv2d, x: &[i8], zp: i8, h: usize, w: usize, image: &mut [i8]) {
    let c = p.in_c;
    // The columns of the copy that read the input.
    let lo = p.pad_left.min(w);
    let hi = (p.pad_left + p.in_w).min(w).max(lo);
    for (r, row) in image.chunks_exact_mut((w * c).max(1)).enumerate() {
        let (n, ry) = (r / h.max(1), r % h.max(1));
        let src = ry
            .checked_sub(p.pad_top)
            .filter(|&iy| iy < p.in_h)
            .and_then(|iy| x.get(((n * p.in_h + iy) * p.in_w) * c..).and_then(|s| s.get(..(hi - lo) * c)));
        match src {
            Some(s) => {
                let Some((left, rest)) = row.split_at_mut_checked(lo * c) else { continue };
                left.fill(zp);
                let Some((mid, right)) = rest.split_at_mut_checked(s.len().min(rest.len())) else { continue };
                for (d, v) in mid.iter_mut().zip(s) {
                    *d = *v;
                }
                right.fill(zp);
            }
            None => row.fill(zp),
        }
    }
}

impl Conv<'_> {
    /// Every pixel, [`PIXELS`] at a time, then the rest.
    #[inline(always)]
    fn run(&self, fields: &mut [i32], y: &mut [i8]) {
        let p = self.p;
        let pixels = p.batch * p.out_h * p.out_w;
        let mut i = 0;
        while i + PIXELS <= pixels {
            self.pixels::<PIXELS>(fields, y, i);
            i += PIXELS;
        }
        // Fewer than PIXELS left: blocks of 4, 2 and 1.
        while i + 4 <= pixels {
            self.pixels::<4>(fields, y, i);
            i += 4;
        }
        while i + 2 <= pixels {
            self.pixels::<2>(fields, y, i);
            i += 2;
        }
        if i < pixels {
            self.pixels::<1>(fields, y, i);
        }
    }
}

/// What every block of the convolution reads.
struct Conv<'a> {
    p: &'a Conv2d,
    /// The zero point as an offset byte (what a tap in the padding reads).
    pad: i8,
    out: &'a QOut,
    mult: &'a [i32],
    shift: &'a [i32],
    per_channel: bool,
    x: &'a [i8],
    w: &'a [i8],
    bias: &'a [i32],
    /// Words (4 bytes) of a receptive field: `kH` filter rows of `kW·C` bytes, each
    /// rounded up to words.
    words: usize,
    /// Whether the fields are read in place ([`direct`]).
    direct: bool,
}

impl Conv<'_> {
    /// Output pixels `i0..i0 + M`: their receptive fields offset into `fields` (`M`
    /// rows of `words`), then every channel block.
    #[inline(always)]
    fn pixels<const M: usize>(&self, fields: &mut [i32], y: &mut [i8], i0: usize) {
        let p = self.p;
        if self.direct {
            // Window `m` starts inside the input (`direct`): its first row's bytes.
            let px: [Pixel; M] = Pixel::run(p, i0);
            let xs = array(self.x.as_ptr() as *const i32, |m| {
                let at = px[m].base + (px[m].iy0.max(0) as usize * p.in_w + px[m].ix0.max(0) as usize) * p.in_c;
                // SAFETY: within `x`: the window lies inside the input (`direct`), whose
                // length the entry checked.
                unsafe { self.x.as_ptr().add(at) as *const i32 }
            });
            return self.blocks::<M, true>(&xs, y, i0);
        }
        let px: [Pixel; M] = Pixel::run(p, i0);
        for (m, &px) in px.iter().enumerate() {
            let Some(row) = fields.get_mut(m * self.words..(m + 1) * self.words) else { return };
            self.field(px, row);
        }
        if fields.len() < M * self.words {
            return;
        }
        // SAFETY: `fields` holds M rows of `words` (checked above).
        let xs = array(fields.as_ptr(), |m| unsafe { fields.as_ptr().add(m * self.words) });
        self.blocks::<M, false>(&xs, y, i0);
    }

    /// Every channel block of pixels `i0..i0 + M`, whose inputs start at `xs[m]`:
    /// `words` offset bytes in scratch, or with `FLIP` the window's first row in the
    /// input (raw bytes, read a filter row at a time).
    #[inline(always)]
    fn blocks<const M: usize, const FLIP: bool>(&self, xs: &[*const i32; M], y: &mut [i8], i0: usize) {
        let p = self.p;
        let mut oc0 = 0;
        while oc0 < p.out_c {
            let width = block_width(p.out_c, oc0);
            if width == 16 {
                self.block::<M, 2, FLIP>(xs, y, i0, oc0);
            } else {
                self.block::<M, 1, FLIP>(xs, y, i0, oc0);
            }
            oc0 += width;
        }
    }

    /// One receptive field as offset bytes in filter order, each filter row padded to
    /// whole words (taps in the padding read the zero point; the bytes past a row meet
    /// zero weights and are zeroed).
    #[inline(always)]
    fn field(&self, px: Pixel, row: &mut [i32]) {
        let p = self.p;
        let c = p.in_c;
        let run = p.k_w * c;
        let rw = 4 * row_words(run);
        if row.len() * 4 < p.k_h * rw {
            return;
        }
        let dst = row.as_mut_ptr() as *mut i8;
        // SAFETY: `row` holds `kH` filter rows of `rw ≥ kW·C` bytes (checked above);
        // filter row `ky` is written at `ky · rw`, `run` bytes and then zeros.
        unsafe {
            for ky in 0..p.k_h {
                let d = dst.add(ky * rw);
                fill_run(0, d.add(run), rw - run);
                if let Some(s) = px.row(p, ky).and_then(|o| self.x.get(o..o + run)) {
                    flip_run(s.as_ptr(), d, run);
                    continue;
                }
                let iy = px.iy0 + (ky * p.dil_h) as isize;
                if iy < 0 || iy >= p.in_h as isize {
                    fill_run(self.pad, d, run);
                    continue;
                }
                let (lo, hi) = inside_taps(px.ix0, p.k_w, p.dil_w, p.in_w);
                let inside = px.tap(p, ky, lo).and_then(|o| self.x.get(o..o + (hi - lo) * c));
                if let (1, Some(s)) = (p.dil_w, inside) {
                    fill_run(self.pad, d, lo * c);
                    flip_run(s.as_ptr(), d.add(lo * c), (hi - lo) * c);
                    fill_run(self.pad, d.add(hi * c), (p.k_w - hi) * c);
                    continue;
                }
                for kx in 0..p.k_w {
                    match px.tap(p, ky, kx).and_then(|o| self.x.get(o..o + c)) {
                        Some(s) => flip_run(s.as_ptr(), d.add(kx * c), c),
                        None => fill_run(self.pad, d.add(kx * c), c),
                    }
                }
            }
        }
    }

    /// Pixels `i0..i0 + M` × channels `oc0..oc0 + 8V`.
    #[inline(always)]
    fn block<const M: usize, const V: usize, const FLIP: bool>(
        &self,
        xs: &[*const i32; M],
        y: &mut [i8],
        i0: usize,
        oc0: usize,
    ) {
        let p = self.p;
        let words = self.words;
        // SAFETY: each `xs[m]` is readable for `words` words (the callers'); the packed weights
        // hold `round_to(out_c, 8) · 4 · words` bytes (checked on entry) and block
        // `oc0` starts at `oc0 · 4 · words`; the padded bias covers `oc0 + 8V`; stores
        // stay within each pixel's output row.
        unsafe {
            let mut acc = bias_block::<M, V>(self.bias.as_ptr().add(oc0));
            let wb = self.w.as_ptr().add(oc0 * 4 * words);
            if FLIP {
                // In place, a filter row at a time.
                let run = row_words(p.k_w * p.in_c);
                let stride = p.dil_h * p.in_w * p.in_c;
                for ky in 0..p.k_h {
                    let rows = array(xs[0], |m| (xs[m] as *const i8).add(ky * stride) as *const i32);
                    tile::<M, V, true>(&mut acc, &rows, wb.add(ky * run * 32 * V), run);
                }
            } else {
                tile::<M, V, false>(&mut acc, xs, wb, words);
            }
            let stage = Stage { out: self.out, mult: self.mult, shift: self.shift, per_channel: self.per_channel };
            stage.store(&acc, y.as_mut_ptr(), i0, p.out_c, oc0);
        }
    }
}

/// The micro-kernel: `acc[m][v] += Σ_q quad(x[m][q]) · quad(w[q][8v..8v+8])` for
/// `q < words` with `vpdpbusd` (unsigned input bytes times signed weights, four
/// products per 32-bit lane, summed exactly); `w` packed `[words][8·V][4]`.
///
/// With `FLIP`, the inputs are raw signed bytes, offset as they are broadcast.
///
/// # Safety
/// Every `xs[m]` must be readable for `words` words and `w` for `words · 32 · V` bytes.
#[inline(always)]
unsafe fn tile<const M: usize, const V: usize, const FLIP: bool>(
    acc: &mut [[__m256i; V]; M],
    xs: &[*const i32; M],
    w: *const i8,
    words: usize,
) {
    unsafe {
        let mut a = *acc;
        let mut wp = w;
        for q in 0..words {
            let mut wv = [_mm256_setzero_si256(); V];
            for (v, r) in wv.iter_mut().enumerate() {
                *r = _mm256_loadu_si256(wp.add(32 * v) as *const __m256i);
            }
            for m in 0..M {
                let mut b = _mm256_set1_epi32(core::ptr::read_unaligned(xs[m].add(q)));
                if FLIP {
                    b = _mm256_xor_si256(b, _mm256_set1_epi8(-128));
                }
                for v in 0..V {
                    a[m][v] = _mm256_dpbusd_epi32(a[m][v], b, wv[v]);
                }
            }
            wp = wp.add(32 * V);
        }
        *acc = a;
    }
}

/// Copies `n` input bytes offset to unsigned (`x + 128`, a flip of the sign bit): 32
/// at a time, then 16, 4, and one by one.
///
/// # Safety
/// `from` must be readable and `to` writable for `n` bytes.
#[inline(always)]
unsafe fn flip_run(from: *const i8, to: *mut i8, n: usize) {
    unsafe {
        let mut i = 0;
        let sign = _mm256_set1_epi8(-128);
        while i + 32 <= n {
            let v = _mm256_loadu_si256(from.add(i) as *const __m256i);
            _mm256_storeu_si256(to.add(i) as *mut __m256i, _mm256_xor_si256(v, sign));
            i += 32;
        }
        if i + 16 <= n {
            let v = _mm_loadu_si128(from.add(i) as *const __m128i);
            _mm_storeu_si128(to.add(i) as *mut __m128i, _mm_xor_si128(v, _mm256_castsi256_si128(sign)));
            i += 16;
        }
        while i + 4 <= n {
            let word = core::ptr::read_unaligned(from.add(i) as *const u32);
            core::ptr::write_unaligned(to.add(i) as *mut u32, word ^ 0x8080_8080);
            i += 4;
        }
        while i < n {
            *to.add(i) = *from.add(i) ^ -128;
            i += 1;
        }
    }
}

/// Writes `v` to `n` bytes, 32 at a time, then one by one.
///
/// # Safety
/// `to` must be writable for `n` bytes.
#[inline(always)]
unsafe fn fill_run(v: i8, to: *mut i8, n: usize) {
    unsafe {
        let splat = _mm256_set1_epi8(v);
        let mut i = 0;
        while i + 32 <= n {
            _mm256_storeu_si256(to.add(i) as *mut __m256i, splat);
            i += 32;
        }
        while i < n {
            *to.add(i) = v;
            i += 1;
        }
    }
}
