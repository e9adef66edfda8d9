//! Quantised convolution on Helium, signed 8-bit activations and weights,
//! channels-last, one group.
//!
//! Per output pixel, the receptive field is either read in place (a 1×1 convolution
//! without padding: the pixel's channels are contiguous) or copied ("im2col") into
//! scratch as raw bytes, window positions in the padding holding the input zero
//! point. Then four output channels at a time: [`dot4`] runs one vector of 16 inputs
//! against the four channels' weights ([`pack::arm_mve_conv2d_weights`]), 64
//! multiply-adds per 10 instructions, and [`requant4`] requantises the four sums at
//! once. The bias arrives with the zero point folded in ([`pack::fold_zero_point`]), so
//! raw inputs are multiplied as they are: `bias − zp·Σw + Σ x·w = bias + Σ (x − zp)·w`,
//! the padding contributing `(zp − zp)·w = 0` as in the portable kernel. Results are
//! bit-identical to it.
//!
//! [`pack::arm_mve_conv2d_weights`]: crate::kernels::pack::arm_mve_conv2d_weights
//! [`pack::fold_zero_point`]: crate::kernels::pack::fold_zero_point

use super::insn::{conv_row, copy, copy_rows, depthwise_row, dot4, fill, requant4};
use crate::kernels::pack::arm_mve::{DW_TABLE, TABLE};
use crate::kernels::pack::{
    arm_mve_conv2d_scratch, arm_mve_conv2d_weights_len, arm_mve_depthwise_scratch, arm_mve_depthwise_weights_len,
    round4, round_to, ARM_MVE_CHUNK,
};
use crate::kernels::Conv2d;
use crate::quant::{requantize, QOut, Weight, Q8};

/// Copies the receptive field of output pixel `(n, oy, ox)` into `row` (`kH,kW,C`
/// order, padding as `zp`).
#[inline(always)]
fn im2col(p: &Conv2d, x: &[i8], zp: i8, n: usize, oy: usize, ox: usize, row: &mut [i8]) {
    let c = p.in_c;
    let ix0 = (ox * p.stride_w).checked_sub(p.pad_left);
    // The window's columns all inside the input and adjacent: each of its rows is
    // one run of `k_w · c` bytes of the input.
    let whole = p.dil_w == 1 && ix0.is_some_and(|v| v + p.k_w <= p.in_w);
    // The whole window inside the input: its rows are `k_h` runs `dil_h` input rows
    // apart, copied in one routine.
    let iy0 = (oy * p.stride_h).checked_sub(p.pad_top);
    if let (true, Some(iy0), Some(ix0)) = (whole, iy0, ix0) {
        let len = p.k_w * c;
        let stride = p.dil_h * p.in_w * c;
        let from = ((n * p.in_h + iy0) * p.in_w + ix0) * c;
        let last = p.k_h.saturating_sub(1);
        let inside = p.k_h > 0 && len > 0 && iy0 + last * p.dil_h < p.in_h;
        let (true, Some(dst), Some(src)) =
            (inside, row.get_mut(..p.k_h * len), x.get(from..from + last * stride + len))
        else {
            return im2col_rows(p, x, zp, n, oy, ox, row);
        };
        // SAFETY: `src` holds the `k_h ≥ 1` runs of `len ≥ 1` bytes `stride` apart,
        // `dst` their `k_h · len` bytes.
        unsafe { copy_rows(src.as_ptr(), stride, len, p.k_h, dst.as_mut_ptr()) };
        return;
    }
    im2col_rows(p, x, zp, n, oy, ox, row);
}

/// [`im2col`] row by row of the window, for a window that reaches into the padding.
#[inline(always)]
fn im2col_rows(p: &Conv2d, x: &[i8], zp: i8, n: usize, oy: usize, ox: usize, row: &mut [i8]) {
    let c = p.in_c;
    let mut at = 0;
    let ix0 = (ox * p.stride_w).checked_sub(p.pad_left);
    let whole = p.dil_w == 1 && ix0.is_some_and(|v| v + p.k_w <= p.in_w);
    for ky in 0..p.k_h {
        let iy = (oy * p.stride_h + ky * p.dil_h).checked_sub(p.pad_top).filter(|&v| v < p.in_h);
        if let (true, Some(iy), Some(ix0)) = (whole, iy, ix0) {
            let len = p.k_w * c;
            let from = ((n * p.in_h + iy) * p.in_w + ix0) * c;
            let (Some(dst), Some(src)) = (row.get_mut(at..at + len), x.get(from..from + len)) else { return };
            // SAFETY: `src` and `dst` are `len` bytes each.
            unsafe { copy(src.as_ptr(), dst.as_mut_ptr(), len) };
            at += len;
            continue;
        }
        for kx in 0..p.k_w {
            let ix = (ox * p.stride_w + kx * p.dil_w).checked_sub(p.pad_left).filter(|&v| v < p.in_w);
            let Some(dst) = row.get_mut(at..at + c) else { return };
            at += c;
            let from = match (iy, ix) {
                (Some(iy), Some(ix)) => ((n * p.in_h + iy) * p.in_w + ix) * c,
                _ => usize::MAX,
            };
            match x.get(from..from.wrapping_add(c)) {
                // SAFETY: `src` and `dst` are `c` bytes each.
                Some(src) => unsafe { copy(src.as_ptr(), dst.as_mut_ptr(), c) },
                // SAFETY: `dst` is `c` bytes.
                None => unsafe { fill(dst.as_mut_ptr(), zp, c) },
            }
        }
    }
}

/// Quantised 2-D convolution, one group, i8 activations and weights: `w` from
/// [`pack::arm_mve_conv2d_weights`], `bias` with the zero point folded in (channels
/// padded to a multiple of 4; both by the compiler), `acc` scratch of
/// [`arm_mve_conv2d_scratch`] words. Other element types or grouped convolutions
/// leave `y` untouched (the compiler never chooses this kernel for them).
///
/// [`pack::arm_mve_conv2d_weights`]: crate::kernels::pack::arm_mve_conv2d_weights
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
    let c = p.out_c;
    if p.groups != 1
        || !p.is_valid()
        || k == 0
        || x.len() < p.input_len()
        || w.len() < arm_mve_conv2d_weights_len(p)
        || y.len() < p.output_len()
        || !(-128..=127).contains(&x_zp)
    {
        return;
    }
    let Some(layer) = Layer::new(k, c, w, bias, mult, shift, out) else { return };
    let Some(scratch) = acc.get_mut(..arm_mve_conv2d_scratch(p)) else { return };
    let Some(row) = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(scratch)).get_mut(..k) else { return };
    // A 1×1 convolution whose every pixel lies inside the input (no padding on any
    // side) reads each pixel's channels in place.
    let in_place = p.k_h == 1
        && p.k_w == 1
        && p.pad_top == 0
        && p.pad_left == 0
        && p.out_h.saturating_sub(1) * p.stride_h < p.in_h
        && p.out_w.saturating_sub(1) * p.stride_w < p.in_w;
    let zp = x_zp as i8;
    let pixels = p.out_h * p.out_w;
    // A 1×1 convolution of stride 1 over the whole input: every pixel's field is the
    // next `k` input bytes and its outputs the next `c` bytes, so the pixels run as one
    // flat loop (no position arithmetic per pixel).
    let flat = in_place && p.stride_h == 1 && p.stride_w == 1 && p.out_h == p.in_h && p.out_w == p.in_w;
    if flat {
        layer.consecutive(x, y, p.batch * pixels);
        return;
    }
    for n in 0..p.batch {
        for q in 0..pixels {
            // (`pixels > 0` implies `out_w > 0`; the checked forms keep the panic path out.)
            let (oy, ox) = (q.checked_div(p.out_w).unwrap_or(0), q.checked_rem(p.out_w).unwrap_or(0));
            let field: &[i8] = if in_place {
                let from = ((n * p.in_h + oy * p.stride_h) * p.in_w + ox * p.stride_w) * p.in_c;
                let Some(f) = x.get(from..from + k) else { return };
                f
            } else {
                im2col(p, x, zp, n, oy, ox, row);
                row
            };
            let at = (n * pixels + q) * c;
            let Some(yrow) = y.get_mut(at..at + c) else { return };
            layer.pixel(field, yrow);
        }
    }
}

/// What one pixel of a one-group convolution (or one row of a fully-connected layer)
/// needs, checked once per call by [`Layer::new`]: the packed weights, the bias
/// operand split into the folded bias and the vector output-stage table, the scalar
/// output stage's multipliers and shifts, and the sizes derived from them.
pub(super) struct Layer<'a> {
    /// Inputs per pixel (the receptive field, or a row of A).
    k: usize,
    /// Output channels (columns).
    c: usize,
    /// Blocks of 4 channels, the last possibly short.
    blocks: usize,
    /// Bytes of weights per block: 4 channels, `k` rounded to [`ARM_MVE_CHUNK`].
    block_bytes: usize,
    /// Weights in blocks of 4 channels ([`pack::arm_mve_conv2d_weights`]), at least
    /// `blocks · block_bytes` bytes.
    ///
    /// [`pack::arm_mve_conv2d_weights`]: crate::kernels::pack::arm_mve_conv2d_weights
    w: &'a [i8],
    /// The folded bias, channels rounded to 4.
    bias: &'a [i32],
    /// The vector output-stage table ([`TABLE`] words per block) when `vector`.
    table: &'a [i32],
    /// True when the output stage is the vector one (the table covers every block).
    vector: bool,
    /// True when `mult` and `shift` hold one pair per channel (else the first pair
    /// serves every channel).
    per_channel: bool,
    /// Multipliers of the scalar output stage.
    mult: &'a [i32],
    /// Shifts of the scalar output stage.
    shift: &'a [i32],
    /// The output's zero point and clamp.
    out: &'a QOut,
}

impl<'a> Layer<'a> {
    /// The layer of `c` channels over `k` inputs per pixel: `w` packed by
    /// [`pack::arm_mve_conv2d_weights`], `bias` the operand of
    /// [`pack::arm_mve::conv2d_bias`] (the folded bias, then the vector table when the
    /// compiler found the layer takes it: the operand is exactly `conv2d_bias_len`
    /// words, so a table's presence selects the vector path, and nothing is derived
    /// from `mult` and `shift` per call on it). `None` when the operands are too
    /// short or there is no multiplier.
    ///
    /// [`pack::arm_mve_conv2d_weights`]: crate::kernels::pack::arm_mve_conv2d_weights
    /// [`pack::arm_mve::conv2d_bias`]: crate::kernels::pack::arm_mve::conv2d_bias
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn new(
        k: usize,
        c: usize,
        w: &'a [i8],
        bias: &'a [i32],
        mult: &'a [i32],
        shift: &'a [i32],
        out: &'a QOut,
    ) -> Option<Self> {
        let blocks = c.div_ceil(4);
        let block_bytes = 4 * round_to(k, ARM_MVE_CHUNK);
        let (bias, table) = bias.split_at_checked(round4(c))?;
        if w.len() < blocks * block_bytes || mult.is_empty() || shift.is_empty() {
            return None;
        }
        let vector = out.min <= out.max && table.len() >= TABLE * blocks;
        let per_channel = mult.len() >= c && shift.len() >= c;
        Some(Layer { k, c, blocks, block_bytes, w, bias, table, vector, per_channel, mult, shift, out })
    }

    /// Computes `count` pixels whose fields are consecutive runs of `k` bytes of `x`
    /// and whose outputs consecutive runs of `c` bytes of `y` (a 1×1 convolution of
    /// stride 1 over its whole input; the rows of a fully-connected layer): one flat
    /// loop of [`conv_row`] calls when every block is full and the output stage
    /// vectorised, else [`Layer::pixel`] for each. Stops at the end of `x` or `y`.
    #[inline(always)]
    pub fn consecutive(&self, x: &[i8], y: &mut [i8], count: usize) {
        let (k, c) = (self.k, self.c);
        let (mut xi, mut yi) = (0, 0);
        if self.vector && c > 0 && c.is_multiple_of(4) {
            let (w, table, blocks, out) = (self.w, self.table, self.blocks, self.out);
            for _ in 0..count {
                let (Some(field), Some(yrow)) = (x.get(xi..xi + k), y.get_mut(yi..yi + c)) else { return };
                // SAFETY: `field` holds `k` bytes, `w` the weights of every block
                // (checked by `Layer::new`), `table` 16 words per block, `yrow` 4
                // bytes per block (c = 4·blocks).
                unsafe {
                    conv_row(field.as_ptr(), k, w.as_ptr(), table.as_ptr(), blocks, out.min, out.max, yrow.as_mut_ptr())
                };
                (xi, yi) = (xi + k, yi + c);
            }
            return;
        }
        for _ in 0..count {
            let (Some(field), Some(yrow)) = (x.get(xi..xi + k), y.get_mut(yi..yi + c)) else { return };
            self.pixel(field, yrow);
            (xi, yi) = (xi + k, yi + c);
        }
    }

    /// Computes one pixel's `c` outputs into `yrow` from its `k` inputs `field`: the
    /// full blocks of 4 channels in one [`conv_row`] when the output stage is
    /// vectorised, the others (and a short last block) one [`dot4`] each. Shorter
    /// slices leave `yrow` untouched.
    #[inline(always)]
    pub fn pixel(&self, field: &[i8], yrow: &mut [i8]) {
        let Layer { k, c, blocks, block_bytes, w, bias, table, vector, per_channel, mult, shift, out } = *self;
        let (Some(field), Some(yrow)) = (field.get(..k), yrow.get_mut(..c)) else { return };
        let (y4, y1) = yrow.as_chunks_mut::<4>();
        // The full blocks in one call when the output stage is vectorised.
        let done = if vector && !y4.is_empty() {
            // SAFETY: `field` holds `k` bytes, `w` the weights of every block
            // (checked above), `table` 16 words per block, `y4` 4 bytes per full block.
            unsafe {
                conv_row(
                    field.as_ptr(),
                    k,
                    w.as_ptr(),
                    table.as_ptr(),
                    y4.len(),
                    out.min,
                    out.max,
                    y4.as_mut_ptr().cast(),
                )
            };
            y4.len()
        } else {
            0
        };
        for b in done..blocks {
            let (Some(bq), tq) = (bias.as_chunks::<4>().0.get(b), table.as_chunks::<TABLE>().0.get(b)) else {
                return;
            };
            let Some(wb) = w.get(b * block_bytes..(b + 1) * block_bytes) else { return };
            // SAFETY: `field` holds `k` bytes and `wb` the block's 64·⌈k/16⌉.
            let a = unsafe { dot4(field.as_ptr(), wb.as_ptr(), k, *bq) };
            let mut last = [0i8; 4];
            let dst: &mut [i8] = match y4.get_mut(b) {
                Some(d) => d,
                None => &mut last,
            };
            if let (true, Some(tq)) = (vector, tq) {
                // SAFETY: `tq` is 12 aligned words and `dst` at least 4 bytes.
                unsafe { requant4(a, tq.as_ptr(), out.min, out.max, dst.as_mut_ptr()) };
            } else {
                for (j, v) in dst.iter_mut().enumerate() {
                    let i = if per_channel { 4 * b + j } else { 0 };
                    let (m, s) = (mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1));
                    *v = out.finish(requantize(a[j], m, s as u32)) as i8;
                }
            }
            if b == y4.len() {
                y1.iter_mut().zip(last).for_each(|(v, l)| *v = l);
            }
        }
    }
}

/// Quantised depthwise convolution (`groups = in_c = out_c`), i8, weights from
/// [`pack::arm_mve_depthwise_weights`], `bias` with the zero point folded in over all
/// taps (`bias − zp·Σ_taps w`, channels padded to a multiple of 8); `acc` is scratch
/// of [`arm_mve_depthwise_scratch`] words. Per output pixel, eight channels at a time
/// in 16-bit lanes ([`depthwise_row`]), the accumulators staying in vector registers
/// across the taps. A tap in the padding reads a row of zero points instead of the
/// input (putting back what the folded bias took out), so every pixel runs the same
/// loop. Channels past the last full group of 8, and output stages the vector form
/// does not cover, take a scalar path with the same arithmetic as the portable twin.
///
/// [`pack::arm_mve_depthwise_weights`]: crate::kernels::pack::arm_mve_depthwise_weights
/// [`arm_mve_depthwise_scratch`]: crate::kernels::pack::arm_mve_depthwise_scratch
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
    acc: &mut [i32],
    y: &mut [Y],
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let c = p.in_c;
    let c8 = round_to(c, 8);
    let taps = p.k_h * p.k_w;
    if p.groups != c
        || p.out_c != c
        || c == 0
        || taps == 0
        || !p.is_valid()
        || x.len() < p.input_len()
        || w.len() < arm_mve_depthwise_weights_len(c, taps)
        || y.len() < p.output_len()
        || mult.is_empty()
        || shift.is_empty()
        || !(-128..=127).contains(&x_zp)
    {
        return;
    }
    let Some(scratch) = acc.get_mut(..arm_mve_depthwise_scratch(p)) else { return };
    // Checked splits: a scratch too short for these parameters leaves `y` untouched.
    let Some((inner, rest)) = scratch.split_at_mut_checked(taps) else { return };
    let Some((edge, zrow)) = rest.split_at_mut_checked(taps) else { return };
    let full = c / 8;
    // The folded bias, then the vector output-stage table when the compiler found the
    // layer takes it (`pack::arm_mve::depthwise_bias`).
    let Some((bias, table)) = bias.split_at_checked(c8) else { return };
    let vector = full > 0 && out.min <= out.max && table.len() >= DW_TABLE * full;
    let per_channel = mult.len() >= c && shift.len() >= c;
    let zrow = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(zrow));
    zrow.iter_mut().for_each(|v| *v = x_zp as i8);
    // Tap `t` is at row `t / k_w`, column `t % k_w` of the window (`taps > 0` implies
    // `k_w > 0`; the checked forms keep the panic path out).
    let tap = |t: usize| (t.checked_div(p.k_w).unwrap_or(0), t.checked_rem(p.k_w).unwrap_or(0));
    // Input offset of each tap from the window's first element, in bytes.
    for (t, o) in inner.iter_mut().enumerate() {
        let (ty, tx) = tap(t);
        *o = ((ty * p.dil_h * p.in_w + tx * p.dil_w) * c) as i32;
    }
    let (ext_h, ext_w) = ((p.k_h - 1) * p.dil_h, (p.k_w - 1) * p.dil_w);
    for n in 0..p.batch {
        for oy in 0..p.out_h {
            let iy0 = (oy * p.stride_h) as isize - p.pad_top as isize;
            for ox in 0..p.out_w {
                let ix0 = (ox * p.stride_w) as isize - p.pad_left as isize;
                let inside = iy0 >= 0 && ix0 >= 0 && iy0 as usize + ext_h < p.in_h && ix0 as usize + ext_w < p.in_w;
                // The window's first element (possibly outside the input).
                let base = ((n as isize * p.in_h as isize + iy0) * p.in_w as isize + ix0) * c as isize;
                let origin = x.as_ptr().wrapping_offset(base);
                let offs: &[i32] = if inside {
                    inner
                } else {
                    // Taps in the padding point at the zero-point row instead: from
                    // this window's origin, the row is `zrow − origin` bytes away.
                    let to_zeros = (zrow.as_ptr() as isize).wrapping_sub(origin as isize) as i32;
                    for (t, (o, &i)) in edge.iter_mut().zip(inner.iter()).enumerate() {
                        let (ty, tx) = tap(t);
                        let (iy, ix) = (iy0 + (ty * p.dil_h) as isize, ix0 + (tx * p.dil_w) as isize);
                        let ok = iy >= 0 && ix >= 0 && (iy as usize) < p.in_h && (ix as usize) < p.in_w;
                        *o = if ok { i } else { to_zeros };
                    }
                    edge
                };
                let at = ((n * p.out_h + oy) * p.out_w + ox) * c;
                let Some(yrow) = y.get_mut(at..at + c) else { return };
                let done = if vector {
                    // SAFETY: every `origin + 8g + offs[t]` is 8 readable bytes for a
                    // full group `g`: inside the input (the tap is inside it and the
                    // group's channels exist) or inside the zero-point row (c8 bytes);
                    // `offs` has `taps` words, `w` 8·taps bytes per group (checked
                    // above), `table` 32 words per full group, `yrow` 8 bytes per one.
                    unsafe {
                        depthwise_row(
                            origin,
                            offs.as_ptr(),
                            taps,
                            w.as_ptr(),
                            table.as_ptr(),
                            full,
                            out.min,
                            out.max,
                            yrow.as_mut_ptr(),
                        )
                    };
                    8 * full
                } else {
                    0
                };
                // The other channels one at a time.
                for (ch, v) in yrow.iter_mut().enumerate().skip(done) {
                    let mut a = bias.get(ch).copied().unwrap_or(0);
                    for (t, &off) in offs.iter().enumerate() {
                        let wv = w.get(((ch / 8) * taps + t) * 8 + ch % 8).copied().unwrap_or(0) as i32;
                        // SAFETY: as above, for one byte of channel `ch` (or of the row).
                        let xv = unsafe { origin.wrapping_add(ch).wrapping_offset(off as isize).read() } as i32;
                        a += xv * wv;
                    }
                    let i = if per_channel { ch } else { 0 };
                    let (m, s) = (mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1));
                    *v = out.finish(requantize(a, m, s as u32)) as i8;
                }
            }
        }
    }
}
