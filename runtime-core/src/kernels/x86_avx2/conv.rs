//! Float convolutions: one group over packed weights (6 pixels × 16 channels per
//! micro-kernel call), and depthwise over `kH,kW,C` filters (32 channels of a pixel
//! per pass, vectors across channels).

use super::dw_rows::{short_f32, Block};
use super::tile::{array, tile_f32};
use crate::kernels::pack::round_to;
use crate::kernels::pack::x86_avx2::{block_width, conv_weights_f32_len_of, PIXELS, WIDE};
use crate::kernels::{Clamp, Conv2d};
use core::arch::x86_64::*;

/// Inputs a padded tap reads from [`ZEROS`] at a time.
const CHUNK: usize = 64;

/// What a padded tap multiplies: zeros.
static ZEROS: [f32; CHUNK] = [0.0; CHUNK];

/// Where an output pixel's window starts.
#[derive(Clone, Copy)]
pub(crate) struct Pixel {
    /// First input element of the pixel's batch row.
    pub(crate) base: usize,
    /// First input row and column of the window (negative in the padding).
    pub(crate) iy0: isize,
    pub(crate) ix0: isize,
}

impl Pixel {
    /// Output pixel `i` of the flattened `N,H,W` output.
    #[inline(always)]
    pub(crate) fn new(p: &Conv2d, i: usize) -> Pixel {
        let ox = i % p.out_w.max(1);
        let oy = (i / p.out_w.max(1)) % p.out_h.max(1);
        let n = i / (p.out_w * p.out_h).max(1);
        Pixel {
            base: n * p.in_h * p.in_w * p.in_c,
            iy0: (oy * p.stride_h) as isize - p.pad_top as isize,
            ix0: (ox * p.stride_w) as isize - p.pad_left as isize,
        }
    }

    /// Output pixels `i0..i0 + M` (one division for the first, then steps along the
    /// rows).
    #[inline(always)]
    pub(crate) fn run<const M: usize>(p: &Conv2d, i0: usize) -> [Pixel; M] {
        let w = p.out_w.max(1);
        let (mut ox, row) = (i0 % w, i0 / w);
        let mut oy = row % p.out_h.max(1);
        let mut n = row / p.out_h.max(1);
        array(Pixel { base: 0, iy0: 0, ix0: 0 }, |_| {
            let px = Pixel {
                base: n * p.in_h * p.in_w * p.in_c,
                iy0: (oy * p.stride_h) as isize - p.pad_top as isize,
                ix0: (ox * p.stride_w) as isize - p.pad_left as isize,
            };
            ox += 1;
            if ox == w {
                ox = 0;
                oy += 1;
                if oy == p.out_h {
                    oy = 0;
                    n += 1;
                }
            }
            px
        })
    }

    /// The input element where the window's row `ky` starts when every tap of that
    /// row is inside the input and the taps are adjacent (`dil_w = 1`): the row's
    /// `kW · C` inputs are then one contiguous run, as are its packed weights.
    #[inline(always)]
    pub(crate) fn row(&self, p: &Conv2d, ky: usize) -> Option<usize> {
        let iy = self.iy0 + (ky * p.dil_h) as isize;
        let last = self.ix0 + p.k_w as isize - 1;
        if p.dil_w != 1 || iy < 0 || iy >= p.in_h as isize || self.ix0 < 0 || last >= p.in_w as isize {
            None
        } else {
            Some(self.base + (iy as usize * p.in_w + self.ix0 as usize) * p.in_c)
        }
    }

    /// The input element where tap `(ky, kx)` reads its row of channels, `None` in the
    /// padding.
    #[inline(always)]
    pub(crate) fn tap(&self, p: &Conv2d, ky: usize, kx: usize) -> Option<usize> {
        let iy = self.iy0 + (ky * p.dil_h) as isize;
        let ix = self.ix0 + (kx * p.dil_w) as isize;
        if iy < 0 || ix < 0 || iy >= p.in_h as isize || ix >= p.in_w as isize {
            None
        } else {
            Some(self.base + (iy as usize * p.in_w + ix as usize) * p.in_c)
        }
    }
}

/// Clamps like [`Clamp::apply`] (NaN passes: `max`/`min` return their second operand
/// when either is NaN).
#[inline(always)]
pub(super) fn clamp8(v: __m256, lo: __m256, hi: __m256) -> __m256 {
    unsafe { _mm256_min_ps(hi, _mm256_max_ps(lo, v)) }
}

/// Float 2-D convolution with one group: weights packed by
/// [`crate::kernels::pack::x86_avx2::conv_weights_f32_of`] (3×3 layers that
/// [`crate::kernels::pack::x86_avx2::winograd`] takes transformed for the Winograd
/// path, any other as [`crate::kernels::pack::x86_avx2::conv_weights_f32`]), bias padded to a multiple of
/// 8 channels (the compiler supplies zeros when the model has none).
pub fn conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let k = p.k_h * p.k_w * p.in_c;
    if !p.is_valid()
        || p.groups != 1
        || x.len() < p.input_len()
        || w.len() < conv_weights_f32_len_of(p)
        || bias.len() < round_to(p.out_c, 8)
        || y.len() < p.output_len()
    {
        return;
    }
    // First layers of at most 8 channels run faster on their own path (12 pixels at
    // a time; VWW's 96×96 one took 16.1 µs over the band, 14.4 so), wider ones over
    // the band (ResNet-8's 32×32 3→16: 9.5 µs against 10.8).
    if (p.out_c <= 8 && super::stem::stem_f32(p, act, x, w, bias, y))
        || super::pointwise::pointwise_f32(p, act, x, w, bias, y)
        || super::wino2d::winograd2d_f32(p, act, x, w, bias, y)
        || super::wino::winograd_f32(p, act, x, w, bias, y)
        || super::band::band_f32(p, act, x, w, bias, y)
        || super::stem::stem_f32(p, act, x, w, bias, y)
    {
        return;
    }
    let pixels = p.batch * p.out_h * p.out_w;
    if k > 0 && p.k_w * p.in_c < SHORT_ROW && PIXELS.max(WIDE) * k <= GATHER {
        gathered_f32(p, act, x, w, bias, y, pixels);
    } else if p.out_c <= 8 {
        // One vector of channels: twice the pixels per micro-kernel call.
        run_f32::<WIDE>(p, act, x, w, bias, y, pixels);
    } else {
        run_f32::<PIXELS>(p, act, x, w, bias, y, pixels);
    }
}

/// [`conv2d_f32`]'s 1-D Winograd path alone, over weights packed by
/// [`crate::kernels::pack::x86_avx2::conv_weights_f32_winograd`], for the kernel
/// suite (the 2-D path takes every layer of the suite's size that the 1-D one
/// would). Output untouched when the path does not take `p` or a slice is short.
#[cfg(any(test, feature = "kernel-suite"))]
pub(crate) fn conv2d_f32_winograd_1d(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    if !p.is_valid()
        || x.len() < p.input_len()
        || w.len() < round_to(p.out_c, 8) * 12 * p.in_c
        || bias.len() < round_to(p.out_c, 8)
        || y.len() < p.output_len()
    {
        return;
    }
    super::wino::winograd_f32(p, act, x, w, bias, y);
}

/// Floats of the stack buffer that receptive fields are gathered into (4 KiB).
const GATHER: usize = 1024;

/// Layers whose filter rows (`kW·C` floats) are shorter than this gather the
/// receptive fields of each micro-kernel call (zeros in the padding) and run it
/// once over all `kH·kW·C` weights: a call per short row, or per tap at the edges,
/// costs more than the copy (KWS's first layer, `kW·C` = 4, ran 1.5× faster). Longer
/// rows are read in place (gathering VWW's first layer, 9, made it slower).
const SHORT_ROW: usize = 8;

/// [`conv2d_f32`] over gathered receptive fields (the caller checked that `WIDE`
/// of them fit in [`GATHER`] floats): every pixel, `M` at a time, then the rest in
/// blocks of 4, 2 and 1.
#[inline(never)]
fn gathered_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], pixels: usize) {
    let mut fields = [0.0f32; GATHER];
    let k = p.k_h * p.k_w * p.in_c;
    let mut i = 0;
    if p.out_c <= 8 {
        while i + WIDE <= pixels {
            gather_pixels::<WIDE>(p, act, x, w, bias, y, i, k, &mut fields);
            i += WIDE;
        }
    }
    while i + PIXELS <= pixels {
        gather_pixels::<PIXELS>(p, act, x, w, bias, y, i, k, &mut fields);
        i += PIXELS;
    }
    while i + 4 <= pixels {
        gather_pixels::<4>(p, act, x, w, bias, y, i, k, &mut fields);
        i += 4;
    }
    while i + 2 <= pixels {
        gather_pixels::<2>(p, act, x, w, bias, y, i, k, &mut fields);
        i += 2;
    }
    if i < pixels {
        gather_pixels::<1>(p, act, x, w, bias, y, i, k, &mut fields);
    }
}

/// Output pixels `i0..i0 + M`: their receptive fields gathered into `fields`, then
/// one micro-kernel call per channel block over all `k` weights, in filter order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gather_pixels<const M: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    i0: usize,
    k: usize,
    fields: &mut [f32; GATHER],
) {
    if M * k > GATHER {
        return;
    }
    let px: [Pixel; M] = Pixel::run(p, i0);
    for (m, q) in px.iter().enumerate() {
        if let Some(to) = fields.get_mut(m * k..(m + 1) * k) {
            gather_f32(p, x, q, to);
        }
    }
    let mut oc0 = 0;
    while oc0 < p.out_c {
        let width = block_width(p.out_c, oc0);
        // SAFETY: `fields` holds `M` rows of `k` (checked above); the entry checks
        // cover the packed weights, the padded bias and the output rows (see
        // `block_f32`).
        unsafe {
            if width == 16 {
                let mut acc = bias_acc::<M, 2>(bias, oc0);
                let xs = array(fields.as_ptr(), |m| fields.as_ptr().add(m * k));
                tile_f32::<M, 2>(&mut acc, &xs, w.as_ptr().add(oc0 * k), k);
                store_f32(p, act, y, &acc, i0, oc0);
            } else {
                let mut acc = bias_acc::<M, 1>(bias, oc0);
                let xs = array(fields.as_ptr(), |m| fields.as_ptr().add(m * k));
                tile_f32::<M, 1>(&mut acc, &xs, w.as_ptr().add(oc0 * k), k);
                store_f32(p, act, y, &acc, i0, oc0);
            }
        }
        oc0 += width;
    }
}

/// One pixel's receptive field, `kH·kW·C` floats in filter order, zeros in the
/// padding.
#[inline(always)]
fn gather_f32(p: &Conv2d, x: &[f32], q: &Pixel, to: &mut [f32]) {
    let c = p.in_c;
    let run = p.k_w * c;
    if run == 0 {
        return;
    }
    for (ky, row) in to.chunks_exact_mut(run).enumerate() {
        if let Some(s) = q.row(p, ky).and_then(|o| x.get(o..o + run)) {
            copy_f32(s, row);
            continue;
        }
        // Taps by index, not `chunks_exact_mut(c)`: its zero-size check stays in the
        // code even after the test above (the no-panic proof found it).
        for kx in 0..p.k_w {
            let Some(tap) = row.get_mut(kx * c..kx * c + c) else { break };
            match q.tap(p, ky, kx).and_then(|o| x.get(o..o + c)) {
                Some(s) => copy_f32(s, tap),
                None => zero_f32(tap),
            }
        }
    }
}

/// Copies `min(from.len(), to.len())` floats (short runs: a `memcpy` call costs more
/// than the copy, and masked AVX stores are slow on AMD cores).
#[inline(always)]
fn copy_f32(from: &[f32], to: &mut [f32]) {
    let n = from.len().min(to.len());
    // SAFETY: `n` floats are readable from `from` and writable to `to`.
    unsafe { copy_run(from.as_ptr(), to.as_mut_ptr(), n) }
}

/// Zeroes `to` (as [`copy_f32`] from zeros).
#[inline(always)]
fn zero_f32(to: &mut [f32]) {
    let (n, tp) = (to.len(), to.as_mut_ptr());
    let mut i = 0;
    while i < n {
        let m = CHUNK.min(n - i);
        // SAFETY: `m ≤ CHUNK` zeros are readable, and `i + m ≤ n` floats writable.
        unsafe { copy_run(ZEROS.as_ptr(), tp.add(i), m) };
        i += m;
    }
}

/// Copies `n` floats: 8 at a time, then 4, 2 and 1.
///
/// # Safety
/// `from` must be readable and `to` writable for `n` floats.
#[inline(always)]
pub(super) unsafe fn copy_run(from: *const f32, to: *mut f32, n: usize) {
    unsafe {
        let mut i = 0;
        while i + 8 <= n {
            _mm256_storeu_ps(to.add(i), _mm256_loadu_ps(from.add(i)));
            i += 8;
        }
        if i + 4 <= n {
            _mm_storeu_ps(to.add(i), _mm_loadu_ps(from.add(i)));
            i += 4;
        }
        if i + 2 <= n {
            _mm_storel_epi64(to.add(i) as *mut __m128i, _mm_loadl_epi64(from.add(i) as *const __m128i));
            i += 2;
        }
        if i < n {
            *to.add(i) = *from.add(i);
        }
    }
}

/// Accumulators starting from the bias of channels `oc0..oc0 + 8V`.
///
/// # Safety
/// `bias` must hold `oc0 + 8V` floats.
#[inline(always)]
pub(super) unsafe fn bias_acc<const M: usize, const V: usize>(bias: &[f32], oc0: usize) -> [[__m256; V]; M] {
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; M];
        for v in 0..V {
            let b = _mm256_loadu_ps(bias.as_ptr().add(oc0 + 8 * v));
            for a in acc.iter_mut() {
                a[v] = b;
            }
        }
        acc
    }
}

/// Clamps and stores pixels `i0..i0 + M` × channels `oc0..` (those below `out_c`).
///
/// # Safety
/// `y` must hold the output rows of pixels `i0..i0 + M` (`out_c` floats each).
#[inline(always)]
pub(super) unsafe fn store_f32<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    y: &mut [f32],
    acc: &[[__m256; V]; M],
    i0: usize,
    oc0: usize,
) {
    unsafe {
        let (lo, hi) = (_mm256_set1_ps(act.min), _mm256_set1_ps(act.max));
        let live = (p.out_c - oc0).min(8 * V);
        for (m, a) in acc.iter().enumerate() {
            let row = y.as_mut_ptr().add((i0 + m) * p.out_c + oc0);
            if live == 8 * V {
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(row.add(8 * v), clamp8(r, lo, hi));
                }
            } else {
                let mut tmp = [0.0f32; 16];
                for (v, &r) in a.iter().enumerate() {
                    _mm256_storeu_ps(tmp.as_mut_ptr().add(8 * v), clamp8(r, lo, hi));
                }
                core::ptr::copy_nonoverlapping(tmp.as_ptr(), row, live);
            }
        }
    }
}

/// Every pixel, `M` at a time, then the rest in blocks of 4, 2 and 1.
#[inline(always)]
fn run_f32<const M: usize>(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], pixels: usize) {
    let mut i = 0;
    while i + M <= pixels {
        pixels_f32::<M>(p, act, x, w, bias, y, i);
        i += M;
    }
    while i + 4 <= pixels {
        pixels_f32::<4>(p, act, x, w, bias, y, i);
        i += 4;
    }
    while i + 2 <= pixels {
        pixels_f32::<2>(p, act, x, w, bias, y, i);
        i += 2;
    }
    if i < pixels {
        pixels_f32::<1>(p, act, x, w, bias, y, i);
    }
}

/// Output pixels `i0..i0 + M`, every channel block.
#[inline(always)]
pub(super) fn pixels_f32<const M: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    i0: usize,
) {
    let px: [Pixel; M] = Pixel::run(p, i0);
    let k = p.k_h * p.k_w * p.in_c;
    let mut oc0 = 0;
    while oc0 < p.out_c {
        let width = block_width(p.out_c, oc0);
        if width == 16 {
            block_f32::<M, 2>(p, act, x, w, bias, y, &px, i0, oc0, k);
        } else {
            block_f32::<M, 1>(p, act, x, w, bias, y, &px, i0, oc0, k);
        }
        oc0 += width;
    }
}

/// Pixels `i0..i0 + M` × channels `oc0..oc0 + 8V`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn block_f32<const M: usize, const V: usize>(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    px: &[Pixel; M],
    i0: usize,
    oc0: usize,
    k: usize,
) {
    // SAFETY: the entry checks cover the packed weights (`oc0 · k + k · 8V` is within
    // `round_to(out_c, 8) · k`), the padded bias (`oc0 + 8V ≤ round_to(out_c, 8)`), and
    // the input (`Pixel::tap` gives only rows inside it, `in_c` long); stores stay in
    // the output row of each pixel.
    unsafe {
        let mut acc = bias_acc::<M, V>(bias, oc0);
        let wb = w.as_ptr().add(oc0 * k);
        let c = p.in_c;
        for ky in 0..p.k_h {
            let rows: [Option<usize>; M] = array(None, |m| px[m].row(p, ky));
            if rows.iter().all(Option::is_some) {
                let xs = array(x.as_ptr(), |m| x.as_ptr().add(rows[m].unwrap_or(0)));
                tile_f32::<M, V>(&mut acc, &xs, wb.add(ky * p.k_w * c * 8 * V), p.k_w * c);
                continue;
            }
            for kx in 0..p.k_w {
                let at: [Option<usize>; M] = array(None, |m| px[m].tap(p, ky, kx));
                let wt = wb.add((ky * p.k_w + kx) * c * 8 * V);
                if at.iter().all(Option::is_some) {
                    let xs = array(x.as_ptr(), |m| x.as_ptr().add(at[m].unwrap_or(0)));
                    tile_f32::<M, V>(&mut acc, &xs, wt, c);
                } else if at.iter().any(Option::is_some) {
                    let mut c0 = 0;
                    while c0 < c {
                        let n = CHUNK.min(c - c0);
                        let xs = array(ZEROS.as_ptr(), |m| match at[m] {
                            Some(o) => x.as_ptr().add(o + c0),
                            None => ZEROS.as_ptr(),
                        });
                        tile_f32::<M, V>(&mut acc, &xs, wt.add(c0 * 8 * V), n);
                        c0 += n;
                    }
                }
            }
        }
        store_f32::<M, V>(p, act, y, &acc, i0, oc0);
    }
}

/// Float depthwise convolution (`groups = in_c = out_c`), weights `kH,kW,C` as the
/// portable twin reads them. Rows of 2 to 6 pixels a whole row at a time, channels in
/// blocks of 16 or 8; otherwise channels in blocks of 32, 16 or 8, row by row
/// ([`super::dw_rows`]); the rest one at a time.
pub fn depthwise_conv2d_f32(p: &Conv2d, act: Clamp, x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32]) {
    let c = p.in_c;
    if !p.is_valid()
        || p.groups != c
        || p.out_c != c
        || x.len() < p.input_len()
        || w.len() < p.weight_len()
        || y.len() < p.output_len()
        || !(bias.is_empty() || bias.len() >= c)
    {
        return;
    }
    let mut c0;
    // SAFETY: the checks above cover the geometry, the input, filters, bias and
    // output slices; each block starts at channel `c0` with `c0 + 8V ≤ c`.
    unsafe {
        let yp = y.as_mut_ptr();
        let block = |c0: usize| Block {
            p,
            act,
            x: x.as_ptr().add(c0),
            w: w.as_ptr().add(c0),
            bias: if bias.is_empty() { None } else { Some(bias.as_ptr().add(c0)) },
            y: yp.add(c0),
        };
        // Rows of 2 to 6 pixels: whole rows at once, 16 channels (8 for the rest).
        c0 = short_f32(p, act, x.as_ptr(), w.as_ptr(), if bias.is_empty() { None } else { Some(bias.as_ptr()) }, yp);
        while c0 + 32 <= c {
            block(c0).rows::<4, 3, 0>();
            c0 += 32;
        }
        while c0 + 16 <= c {
            block(c0).rows::<2, 4, 0>();
            c0 += 16;
        }
        // 8 channels: the step between pixels known at compile time at stride 1 or 2
        // (with it in a register, eight pixel offsets spilled to the stack: VWW's
        // 48×48×8 layer ran at 12 GMAC/s).
        // (`S = sW · C`: a layer of exactly 8 channels, none done yet.)
        match (c, c0, p.stride_w) {
            (8, 0, 1) => {
                block(0).rows::<1, 8, 8>();
                c0 = 8;
            }
            (8, 0, 2) => {
                block(0).rows::<1, 8, 16>();
                c0 = 8;
            }
            _ => {
                while c0 + 8 <= c {
                    block(c0).rows::<1, 8, 0>();
                    c0 += 8;
                }
            }
        }
    }
    if c0 < c {
        for i in 0..p.batch * p.out_h * p.out_w {
            depthwise_pixel_scalar(p, act, x, w, bias, y, &Pixel::new(p, i), i * c, c0);
        }
    }
}

/// Channels `c0..` of one output pixel, one at a time (the portable twin's arithmetic).
#[allow(clippy::too_many_arguments)]
fn depthwise_pixel_scalar(
    p: &Conv2d,
    act: Clamp,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    y: &mut [f32],
    px: &Pixel,
    row: usize,
    c0: usize,
) {
    let c = p.in_c;
    for ch in c0..c {
        let mut v = bias.get(ch).copied().unwrap_or(0.0);
        let mut t = 0;
        for ky in 0..p.k_h {
            for kx in 0..p.k_w {
                if let Some(o) = px.tap(p, ky, kx) {
                    v += x.get(o + ch).copied().unwrap_or(0.0) * w.get(t * c + ch).copied().unwrap_or(0.0);
                }
                t += 1;
            }
        }
        if let Some(o) = y.get_mut(row + ch) {
            *o = act.apply(v);
        }
    }
}
