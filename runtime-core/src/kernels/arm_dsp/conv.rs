//! Quantised convolutions on the DSP extension, signed 8-bit activations and
//! weights, channels-last.
//!
//! **Convolution** (one group): two output pixels at a time, their receptive fields
//! copied ("im2col") as raw bytes — window positions in the padding hold the input
//! zero point — then widened to 16-bit pairs with `sxtb16`; two output channels at a
//! time read their weights as one stream ([`pack::interleave`], blocks of 2) and
//! `smlad` does two multiply-adds per instruction. The bias arrives with the zero
//! point folded in ([`pack::fold_zero_point`]), so raw inputs are multiplied as they
//! are: `bias − zp·Σw + Σ x·w = bias + Σ (x − zp)·w`, the padding contributing
//! `(zp − zp)·w = 0` as in the portable kernel. Results are bit-identical to it.
//!
//! **Depthwise convolution**: per output pixel, four channels per step; taps inside
//! the input use raw inputs against the zero-point-folded bias, and a pixel whose
//! window leaves the input adds `zp·w` back for the taps it skipped.

use super::insn::{
    conv_row, conv_row_paired, conv_row_paired_zp, depthwise_row, depthwise_taps, mac_2x2, smlad, sxtb16, sxtb16_ror8,
    word, DepthwiseRow, Row,
};
use super::requant;
use crate::kernels::pack::{
    arm_dsp_conv2d_bias_len, arm_dsp_conv2d_scratch, arm_dsp_conv2d_weights_len, arm_dsp_conv_form,
    arm_dsp_depthwise_bias_len, arm_dsp_depthwise_form, arm_dsp_depthwise_scratch, round4, round_to,
    ARM_DSP_GEMM_CHUNK, ARM_DSP_GEMM_STEP, ARM_DSP_ROW_WORDS as ROW_WORDS,
};
use crate::kernels::Conv2d;
use crate::quant::{QOut, Weight, Q8};

/// Calls `$kernel::<X, W, Y, FORM>` for the run-time form `$f`: every path in the list,
/// each with and without the `$bit` flag (the unspecialised kernels' dispatch to their
/// compile-time forms).
macro_rules! dispatch_form {
    ($kernel:ident, $f:expr, $bit:expr, [$($path:expr),*], $args:tt) => {
        $(
            if $f == $path {
                return $kernel::<X, W, Y, { $path }> $args;
            }
            if $f == $path | $bit {
                return $kernel::<X, W, Y, { $path | $bit }> $args;
            }
        )*
    };
}

/// Copies the receptive field of output pixel `(n, oy, ox)` into `row` (`K` bytes in
/// `kH,kW,C` order, padding as `zp`; the tail up to `round4(K)` zero).
#[inline(always)]
fn im2col(p: &Conv2d, x: &[i8], zp: i8, n: usize, oy: usize, ox: usize, row: &mut [i8]) {
    let c = p.in_c;
    let mut at = 0;
    for ky in 0..p.k_h {
        let iy = (oy * p.stride_h + ky * p.dil_h).checked_sub(p.pad_top).filter(|&v| v < p.in_h);
        for kx in 0..p.k_w {
            let ix = (ox * p.stride_w + kx * p.dil_w).checked_sub(p.pad_left).filter(|&v| v < p.in_w);
            let Some(dst) = row.get_mut(at..at + c) else { return };
            at += c;
            match (iy, ix) {
                (Some(iy), Some(ix)) => {
                    let from = ((n * p.in_h + iy) * p.in_w + ix) * c;
                    if let Some(src) = x.get(from..from + c) {
                        // A channel or three (first layers) without a `memcpy` call.
                        match (&mut *dst, src) {
                            ([d], [s]) => *d = *s,
                            ([d0, d1, d2], [s0, s1, s2]) => (*d0, *d1, *d2) = (*s0, *s1, *s2),
                            (d, s) => d.copy_from_slice(s),
                        }
                    }
                }
                _ => dst.iter_mut().for_each(|v| *v = zp),
            }
        }
    }
    row.iter_mut().skip(at).for_each(|v| *v = 0);
}

/// Widens the raw receptive fields of pixels A and B (`round4(K)` bytes each) into
/// `cols`: per group of 4 inputs, A's `(x0,x2), (x1,x3)`, then B's.
/// Returns the sums of both fields.
#[inline(always)]
fn widen(raw_a: &[i8], raw_b: &[i8], cols: &mut [i32]) -> (i32, i32) {
    let (ra, rb) = (raw_a.as_chunks::<4>().0, raw_b.as_chunks::<4>().0);
    let (mut sa, mut sb) = (0, 0);
    for ((c, a), b) in cols.as_chunks_mut::<4>().0.iter_mut().zip(ra).zip(rb) {
        let (a, b) = (word(a), word(b));
        let (a02, a13, b02, b13) = (sxtb16(a), sxtb16_ror8(a), sxtb16(b), sxtb16_ror8(b));
        sa = smlad(a13, ONES, smlad(a02, ONES, sa));
        sb = smlad(b13, ONES, smlad(b02, ONES, sb));
        *c = [a02 as i32, a13 as i32, b02 as i32, b13 as i32];
    }
    (sa, sb)
}

/// Both halfwords set: `smlad(v, ONES, s)` adds `v`'s two halves to `s`.
const ONES: u32 = 0x0001_0001;

/// Widens the receptive field of output pixel `(n, oy, ox)` straight from the input
/// into its half of `cols` (`b` false: pixel A, true: pixel B), when the channel count is a
/// multiple of 4 (so every group of 4 inputs lies in one tap): per group, the words
/// `(x0,x2), (x1,x3)`; taps in the padding hold the widened zero point `zpw`.
/// Returns the field's sum.
#[inline(always)]
fn gather(p: &Conv2d, x: &[i8], zpw: u32, n: usize, oy: usize, ox: usize, cols: &mut [[u32; 4]], b: bool) -> i32 {
    let mut sum = 0;
    let c = p.in_c;
    let g = c / 4;
    let mut at = 0;
    for ky in 0..p.k_h {
        let iy = (oy * p.stride_h + ky * p.dil_h).checked_sub(p.pad_top).filter(|&v| v < p.in_h);
        for kx in 0..p.k_w {
            let ix = (ox * p.stride_w + kx * p.dil_w).checked_sub(p.pad_left).filter(|&v| v < p.in_w);
            let Some(dst) = cols.get_mut(at..at + g) else { return sum };
            at += g;
            let src = match (iy, ix) {
                (Some(iy), Some(ix)) => {
                    let from = ((n * p.in_h + iy) * p.in_w + ix) * c;
                    x.get(from..from + c)
                }
                _ => None,
            };
            match src {
                Some(src) => {
                    for (d, q) in dst.iter_mut().zip(src.as_chunks::<4>().0) {
                        let v = word(q);
                        let (v02, v13) = (sxtb16(v), sxtb16_ror8(v));
                        sum = smlad(v13, ONES, smlad(v02, ONES, sum));
                        set(d, b, v02, v13);
                    }
                }
                None => dst.iter_mut().for_each(|d| {
                    sum = smlad(zpw, ONES, smlad(zpw, ONES, sum));
                    set(d, b, zpw, zpw);
                }),
            }
        }
    }
    // Groups past the receptive field (padding to an even group count) are zero.
    cols.iter_mut().skip(at).for_each(|d| set(d, b, 0, 0));
    sum
}

/// Sets pixel A's (`b` false) or pixel B's two words of a group.
#[inline(always)]
fn set(d: &mut [u32; 4], b: bool, v02: u32, v13: u32) {
    if b {
        (d[2], d[3]) = (v02, v13);
    } else {
        (d[0], d[1]) = (v02, v13);
    }
}

/// Computes every output channel of pixels A and B (rows `ya`, `yb`), two channels
/// at a time: `mac_2x2` over the widened columns, then the output stage. `PLAIN`: every
/// channel on the fast requantisation path and the full i8 clamp.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn channels<const PLAIN: bool>(
    cols: &[i32],
    words: &[u32],
    groups: usize,
    bias: &[i32],
    table: &[i32],
    out: &QOut,
    ya: &mut [i8],
    yb: &mut [i8],
) {
    let stage = |a: i32, ch: requant::Channel| {
        if PLAIN {
            requant::fast_full(a, ch, out.zp)
        } else {
            requant::general(a, ch, out)
        }
    };
    let block = 2 * groups;
    let (ya2, ya1) = ya.as_chunks_mut::<2>();
    let (yb2, yb1) = yb.as_chunks_mut::<2>();
    let pairs = bias.as_chunks::<2>().0.iter().zip(table.as_chunks::<6>().0);
    let mut at = 0;
    // Only pairs whose whole block of weights exists (`checked_div`: no panic path).
    let blocks = words.len().checked_div(block).unwrap_or(0);
    for ((a, b), (bp, t)) in ya2.iter_mut().zip(yb2.iter_mut()).zip(pairs).take(blocks) {
        // SAFETY: the caller checked `words` holds `block` words per channel pair and
        // `cols` 4·groups words (groups ≥ 1); both are word-aligned.
        let [a0, b0, a1, b1] = unsafe {
            mac_2x2(cols.as_ptr().cast(), words.as_ptr().wrapping_add(at), groups, [bp[0], bp[0], bp[1], bp[1]])
        };
        at += block;
        let (c0, c1) = (requant::Channel::of(&t[..3]), requant::Channel::of(&t[3..]));
        *a = [stage(a0, c0), stage(a1, c1)];
        *b = [stage(b0, c0), stage(b1, c1)];
    }
    // An odd channel count: the last pair's first channel.
    if let (Some(a), Some(b), Some(&bv), Some(t)) =
        (ya1.first_mut(), yb1.first_mut(), bias.get(2 * ya2.len()), table.get(6 * ya2.len()..6 * ya2.len() + 3))
    {
        if words.len() >= at + block {
            // SAFETY: as above, for the last block.
            let [a0, b0, _, _] =
                unsafe { mac_2x2(cols.as_ptr().cast(), words.as_ptr().wrapping_add(at), groups, [bv, bv, 0, 0]) };
            let c0 = requant::Channel::of(t);
            *a = stage(a0, c0);
            *b = stage(b0, c0);
        }
    }
}

/// Quantised 2-D convolution, one group, i8 activations and weights: `w` interleaved
/// in channel pairs, `bias` with the zero point folded in (both by the compiler),
/// `acc` scratch of [`arm_dsp_conv2d_scratch`] words. Other element types or grouped
/// convolutions leave `y` untouched (the compiler never chooses this kernel for them).
/// Takes the path [`arm_dsp_conv_form::of`] gives at run time; the compiler calls
/// [`conv2d_q8_form`] with the form instead, so that only that path is linked.
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
    use arm_dsp_conv_form::*;
    let f = of(p, mult, shift, out);
    dispatch_form!(
        conv2d_q8_form,
        f,
        DIRECT,
        [
            ROW | PAIRED | FOLD,
            ROW | PAIRED | FOLD | ODD,
            ROW | PAIRED,
            ROW | PAIRED | ODD,
            PAIRED,
            ROW | FOLD,
            ROW | FOLD | ODD,
            PLAIN,
            0
        ],
        (p, x_zp, out, mult, shift, x, w, bias, acc, y)
    );
}

/// [`conv2d_q8`] for layers of form `FORM` (from [`arm_dsp_conv_form::of`], computed by the
/// compiler): only that path is compiled. Parameters of another form leave `y`
/// untouched. Whether the output zero point folds ([`arm_dsp_conv_form::FOLD`]) is
/// decided at run time: it only picks the whole-row routine, so a form with and
/// without it share one copy of the code (flash; the choice costs a branch per pair
/// of pixels).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn conv2d_q8_form<X: Q8, W: Weight, Y: Q8, const FORM: u8>(
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
    use arm_dsp_conv_form::*;
    let (paths, fold) = (FORM & !FOLD, FORM & FOLD != 0);
    // (`FORM & !FOLD` cannot be a const argument on stable Rust: one arm per form,
    // decided at compile time.)
    macro_rules! paths {
        ($($path:expr),*) => {
            $(
                if paths == $path {
                    return conv2d_q8_paths::<X, W, Y, { $path }>(p, x_zp, out, mult, shift, x, w, bias, acc, y, fold);
                }
                if paths == $path | DIRECT {
                    return conv2d_q8_paths::<X, W, Y, { $path | DIRECT }>(
                        p, x_zp, out, mult, shift, x, w, bias, acc, y, fold,
                    );
                }
            )*
        };
    }
    paths!(ROW | PAIRED, ROW | PAIRED | ODD, PAIRED, ROW, ROW | ODD, PLAIN, 0);
}

/// [`conv2d_q8_form`] for the paths `PATHS` (a form without
/// [`arm_dsp_conv_form::FOLD`]), `fold` saying whether that bit is set.
#[allow(clippy::too_many_arguments)]
fn conv2d_q8_paths<X: Q8, W: Weight, Y: Q8, const PATHS: u8>(
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
    fold: bool,
) {
    let (Some(x), Some(w), Some(y)) = (X::as_i8(x), W::as_i8(w), Y::as_i8_mut(y)) else { return };
    let form = PATHS | if fold { arm_dsp_conv_form::FOLD } else { 0 };
    let (direct, paired, row) = (
        PATHS & arm_dsp_conv_form::DIRECT != 0,
        PATHS & arm_dsp_conv_form::PAIRED != 0,
        PATHS & arm_dsp_conv_form::ROW != 0,
    );
    let (plain, odd) = (PATHS & arm_dsp_conv_form::PLAIN != 0, PATHS & arm_dsp_conv_form::ODD != 0);
    let k = p.k_h * p.k_w * p.in_c;
    let k4 = round4(k);
    let k8 = round_to(k, ARM_DSP_GEMM_STEP);
    let pairs = p.out_c.div_ceil(2);
    if p.groups != 1
        || !p.is_valid()
        || k == 0
        || x.len() < p.input_len()
        || w.len() < arm_dsp_conv2d_weights_len(p, paired)
        || y.len() < p.output_len()
        || mult.is_empty()
        || shift.is_empty()
        || !(-128..=127).contains(&x_zp)
        || !conv_form_fits(p, form)
    {
        return;
    }
    // The folded bias, then the output-stage table the compiler computed for this
    // form (`pack::arm_dsp_conv2d_bias`); nothing is derived from `mult` and `shift`
    // per call, so a layer run a row at a time pays no set-up per row.
    let Some((bias, table)) = bias.get(..arm_dsp_conv2d_bias_len(p, form)).and_then(|b| b.split_at_checked(2 * pairs))
    else {
        return;
    };
    let Some(scratch) = acc.get_mut(..arm_dsp_conv2d_scratch(p)) else { return };
    // Checked splits: a scratch too short for these parameters leaves `y` untouched.
    let Some((cols, rest)) = scratch.split_at_mut_checked(k8) else { return };
    let Some((raw, spare)) = rest.split_at_mut_checked(k8 / 2) else { return };
    let raw = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(raw));
    let Some((raw_a, raw_b)) = raw.get_mut(..2 * k8).and_then(|r| r.split_at_mut_checked(k8)) else { return };
    let Some(spare) = crate::arena::cast_mut::<i8>(crate::arena::as_bytes_mut(spare)).get_mut(..p.out_c) else {
        return;
    };
    // The weights as words; the compiler aligns every weight to 16 bytes.
    let words = crate::arena::cast::<u32>(crate::arena::as_bytes(w));
    let (Some(words), Some(bias)) = (words.get(..arm_dsp_conv2d_weights_len(p, paired) / 4), bias.get(..pairs * 2))
    else {
        return;
    };
    // The whole-row path: every channel's output stage takes the form `row_stage`
    // gives (checked above with the form), and one asm routine computes all full
    // channel pairs per call.
    let full_pairs = p.out_c / 2;
    // Groups of 4 inputs the kernels run over: the paired form pads to an even count.
    let groups = if paired { k8 / 4 } else { k4 / 4 };
    let zp = x_zp as i8;
    let zpw = (zp as i16 as u16 as u32) * 0x0001_0001;
    let pixels = p.out_h * p.out_w;
    let c = p.out_c;
    for n in 0..p.batch {
        let mut pa = 0;
        while pa < pixels {
            let two = pa + 1 < pixels;
            // (`pixels > 0` implies `out_w > 0`; the checked forms keep the panic path out.)
            let at_pixel = |q: usize| (q.checked_div(p.out_w).unwrap_or(0), q.checked_rem(p.out_w).unwrap_or(0));
            let (oy, ox) = at_pixel(pa);
            // The widened fields and their sums (for the paired form).
            let (sa, sb) = if direct {
                let cw = crate::arena::cast_mut::<u32>(crate::arena::as_bytes_mut(cols)).as_chunks_mut::<4>().0;
                let sa = gather(p, x, zpw, n, oy, ox, cw, false);
                let sb = if two {
                    let (oy, ox) = at_pixel(pa + 1);
                    gather(p, x, zpw, n, oy, ox, cw, true)
                } else {
                    0
                };
                (sa, sb)
            } else {
                im2col(p, x, zp, n, oy, ox, raw_a);
                if two {
                    let (oy, ox) = at_pixel(pa + 1);
                    im2col(p, x, zp, n, oy, ox, raw_b);
                }
                widen(raw_a, raw_b, cols)
            };
            let at = (n * pixels + pa) * c;
            let (ya, yb) = if two {
                let Some(rows) = y.get_mut(at..at + 2 * c) else { return };
                let Some(halves) = rows.split_at_mut_checked(c) else { return };
                halves
            } else {
                let Some(row) = y.get_mut(at..at + c) else { return };
                (row, &mut *spare)
            };
            if paired {
                if row {
                    let mut r = Row {
                        cols: cols.as_ptr().cast(),
                        groups,
                        w: words.as_ptr(),
                        table: table.as_ptr(),
                        ya: ya.as_mut_ptr(),
                        yb: yb.as_mut_ptr(),
                        pairs: full_pairs,
                        s128a: sa << 7,
                        s128b: sb << 7,
                        zp: out.zp,
                    };
                    let routine = if fold { conv_row_paired } else { conv_row_paired_zp };
                    // SAFETY: `cols` holds 4·groups words (groups ≥ 2, even), `words`
                    // 2·groups per channel pair and `table` 8 per pair (all
                    // word-aligned); `ya` and `yb` hold `c ≥ 2·full_pairs ≥ 2` bytes.
                    unsafe { routine(&r) };
                    if odd {
                        // The last pair (its second channel is padding) into a spare pair.
                        let mut last = [0i8; 4];
                        r.w = words.as_ptr().wrapping_add(2 * groups * full_pairs);
                        r.table = table.as_ptr().wrapping_add(ROW_WORDS * full_pairs);
                        r.ya = last.as_mut_ptr();
                        r.yb = last.as_mut_ptr().wrapping_add(2);
                        r.pairs = 1;
                        if words.len() >= 2 * groups * (full_pairs + 1) && table.len() >= ROW_WORDS * (full_pairs + 1) {
                            // SAFETY: as above, for the last pair, whose weights and
                            // table row were just checked; `last` holds 4 bytes.
                            unsafe { routine(&r) };
                        }
                        if let (Some(a), Some(b)) = (ya.last_mut(), yb.get_mut(c - 1)) {
                            (*a, *b) = (last[0], last[2]);
                        }
                    }
                } else {
                    paired_general(cols, words, groups, bias, mult, shift, out, ya, yb);
                }
            } else if row {
                let r = Row {
                    cols: cols.as_ptr().cast(),
                    groups,
                    w: words.as_ptr(),
                    table: table.as_ptr(),
                    ya: ya.as_mut_ptr(),
                    yb: yb.as_mut_ptr(),
                    pairs: full_pairs,
                    s128a: 0,
                    s128b: 0,
                    zp: 0,
                };
                // SAFETY: `cols` holds 4·groups words (groups ≥ 1), `words` 2·groups
                // per channel pair and `table` 8 per full pair (all word-aligned);
                // `ya` and `yb` hold `c ≥ 2·full_pairs ≥ 2` bytes.
                unsafe { conv_row(&r) };
                if odd {
                    last_channel(cols, words, groups, bias, mult, shift, out, ya, yb);
                }
            } else if plain {
                channels::<true>(cols, words, groups, bias, table, out, ya, yb);
            } else {
                channels::<false>(cols, words, groups, bias, table, out, ya, yb);
            }
            pa += 2;
        }
    }
}

/// Every channel of two pixels from [`pack::paired_words`] weights, in plain Rust,
/// with the general output stage: the rare case of an output stage that does not
/// fold (say, a clamp narrower than i8).
///
/// [`pack::paired_words`]: crate::kernels::pack::paired_words
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn paired_general(
    cols: &[i32],
    words: &[u32],
    groups: usize,
    bias: &[i32],
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    ya: &mut [i8],
    yb: &mut [i8],
) {
    let c = ya.len();
    let per_channel = mult.len() >= c && shift.len() >= c;
    let cols = cols.as_chunks::<4>().0;
    for (ch, (a, b)) in ya.iter_mut().zip(yb.iter_mut()).enumerate() {
        let (q, odd) = (ch / 2, ch % 2);
        let (mut sa, mut sb) = (bias.get(ch).copied().unwrap_or(0), bias.get(ch).copied().unwrap_or(0));
        for (g, x) in cols.iter().enumerate().take(groups) {
            for h in 0..2 {
                let wv = words.get((q * groups + g) * 2 + h).copied().unwrap_or(0).to_le_bytes();
                // Inputs 4g+h and 4g+h+2: the low and high halves of word h.
                for j in 0..2 {
                    let byte = wv.get(2 * j + odd).copied().unwrap_or(0);
                    let wt = if odd == 0 { (byte ^ 0x80) as i8 } else { byte as i8 } as i32;
                    let half = |v: i32| if j == 0 { v as i16 } else { (v >> 16) as i16 } as i32;
                    sa = sa.wrapping_add(half(x[h]).wrapping_mul(wt));
                    sb = sb.wrapping_add(half(x[2 + h]).wrapping_mul(wt));
                }
            }
        }
        let i = if per_channel { ch } else { 0 };
        let rc = requant::Channel::new(mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1));
        *a = requant::general(sa, rc, out);
        *b = requant::general(sb, rc, out);
    }
}

/// What a form says about a convolution's shape holds (the input channel multiple
/// of 4 for direct fields, at least one full channel pair for the whole-row path, an
/// odd channel count exactly when it says so, a receptive field of one chunk for
/// paired weights): the checks that keep every path's reads in bounds. The output
/// stage is the table's, so a form whose output-stage bits do not match the constants
/// gives wrong numbers but never reads out of bounds; the compiler computes both from
/// [`arm_dsp_conv_form::of`].
const fn conv_form_fits(p: &Conv2d, form: u8) -> bool {
    use arm_dsp_conv_form::*;
    let (row, paired) = (form & ROW != 0, form & PAIRED != 0);
    (form & DIRECT != 0) == p.in_c.is_multiple_of(4)
        && (!row || p.out_c / 2 > 0)
        && (form & ODD != 0) == (row && p.out_c % 2 == 1)
        && (form & FOLD == 0 || row)
        && (form & PLAIN == 0 || !(row || paired))
        && (!paired || round_to(p.k_h * p.k_w * p.in_c, ARM_DSP_GEMM_STEP) <= 4 * ARM_DSP_GEMM_CHUNK)
}

/// The last channel of an odd channel count, for both pixels (the whole-row path,
/// weights interleaved).
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn last_channel(
    cols: &[i32],
    words: &[u32],
    groups: usize,
    bias: &[i32],
    mult: &[i32],
    shift: &[i32],
    out: &QOut,
    ya: &mut [i8],
    yb: &mut [i8],
) {
    let c = ya.len();
    let at = (c - 1) * groups;
    let per_channel = mult.len() >= c && shift.len() >= c;
    let i = if per_channel { c - 1 } else { 0 };
    let ch = requant::Channel::new(mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1));
    if let (Some(&bv), true, Some(a), Some(b)) =
        (bias.get(c - 1), words.len() >= at + 2 * groups, ya.last_mut(), yb.get_mut(c - 1))
    {
        // SAFETY: `words` holds the last pair's 2·groups words from `at`, `cols`
        // 4·groups words (checked by the caller); both word-aligned.
        let [a0, b0, _, _] =
            unsafe { mac_2x2(cols.as_ptr().cast(), words.as_ptr().wrapping_add(at), groups, [bv, bv, 0, 0]) };
        *a = requant::general(a0, ch, out);
        *b = requant::general(b0, ch, out);
    }
}

/// Quantised depthwise convolution (`groups = in_c = out_c`), i8, weights widened to
/// 16 bits by [`pack::arm_dsp_depthwise_weights`] (as bytes), `bias` with the zero
/// point folded in over all taps (`bias − zp·Σ_taps w`, channels padded to a multiple
/// of 4); `acc` is scratch of [`arm_dsp_depthwise_scratch`] words. Per output pixel
/// and group of four channels the accumulators stay in registers across the taps. A
/// tap in the padding reads a row of zero points instead of the input (putting back
/// what the folded bias took out), so every pixel runs the same loop.
///
/// [`pack::arm_dsp_depthwise_weights`]: crate::kernels::pack::arm_dsp_depthwise_weights
/// [`arm_dsp_depthwise_scratch`]: crate::kernels::pack::arm_dsp_depthwise_scratch
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
    use arm_dsp_depthwise_form::*;
    let f = of(p, mult, shift, out);
    dispatch_form!(depthwise_conv2d_q8_form, f, TAIL, [ROW, PLAIN, 0], (p, x_zp, out, mult, shift, x, w, bias, acc, y));
}

/// [`depthwise_conv2d_q8`] for layers of form `FORM` (from
/// [`arm_dsp_depthwise_form::of`], computed by the compiler): only that path is
/// compiled. Parameters of another form leave `y` untouched.
#[allow(clippy::too_many_arguments)]
pub fn depthwise_conv2d_q8_form<X: Q8, W: Weight, Y: Q8, const FORM: u8>(
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
    let c4 = round4(c);
    let taps = p.k_h * p.k_w;
    if p.groups != c
        || p.out_c != c
        || c == 0
        || taps == 0
        || !p.is_valid()
        || x.len() < p.input_len()
        || w.len() < c4 * taps * 2
        || y.len() < p.output_len()
        || mult.is_empty()
        || shift.is_empty()
        || !(-128..=127).contains(&x_zp)
        || (FORM & arm_dsp_depthwise_form::TAIL != 0) != !c.is_multiple_of(4)
        || (FORM & arm_dsp_depthwise_form::ROW != 0 && c < 4)
    {
        return;
    }
    // The folded bias, then the output-stage table the compiler computed for this
    // form (`pack::arm_dsp_depthwise_bias`).
    let Some((bias, table)) = bias.get(..arm_dsp_depthwise_bias_len(p, FORM)).and_then(|b| b.split_at_checked(c4))
    else {
        return;
    };
    let (row, plain, tail) = (
        FORM & arm_dsp_depthwise_form::ROW != 0,
        FORM & arm_dsp_depthwise_form::PLAIN != 0,
        FORM & arm_dsp_depthwise_form::TAIL != 0,
    );
    let Some(scratch) = acc.get_mut(..arm_dsp_depthwise_scratch(p)) else { return };
    // Checked splits: a scratch too short for these parameters leaves `y` untouched.
    let Some((inner, rest)) = scratch.split_at_mut_checked(taps) else { return };
    let Some((edge, zrow)) = rest.split_at_mut_checked(taps) else { return };
    // The whole-pixel path: every channel's output stage folds, and `depthwise_row`
    // computes all full groups of four channels in one call.
    let full = c / 4;
    let channel = |ch: usize| {
        if row {
            let i = if mult.len() >= c && shift.len() >= c { ch } else { 0 };
            requant::Channel::new(mult.get(i).copied().unwrap_or(0), shift.get(i).copied().unwrap_or(1))
        } else {
            requant::Channel::of(table.get(3 * ch..3 * ch + 3).unwrap_or(&[]))
        }
    };
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
    let words = crate::arena::cast::<u32>(crate::arena::as_bytes(w));
    let Some(words) = words.get(..c4 * taps / 2) else { return };
    let (ext_h, ext_w) = ((p.k_h - 1) * p.dil_h, (p.k_w - 1) * p.dil_w);
    let stage = |a: i32, ch: requant::Channel| {
        if plain {
            requant::fast_full(a, ch, out.zp)
        } else {
            requant::general(a, ch, out)
        }
    };
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
                let (y4, y1) = yrow.as_chunks_mut::<4>();
                let groups = bias.as_chunks::<4>().0.iter().zip(table.as_chunks::<12>().0);
                if row {
                    let r = DepthwiseRow {
                        x: origin,
                        offs: offs.as_ptr(),
                        taps,
                        groups: full,
                        w: words.as_ptr(),
                        table: table.as_ptr(),
                        y: y4.as_mut_ptr().cast(),
                    };
                    // SAFETY: as for `depthwise_taps` below, for every full group;
                    // `words` holds 2·taps words per group, `table` 16, `y4` 4 bytes.
                    unsafe { depthwise_row(&r) };
                }
                for (g, (yq, (bq, tq))) in y4.iter_mut().zip(groups).enumerate().take(if row { 0 } else { full }) {
                    let Some(wg) = words.get(2 * taps * g..2 * taps * (g + 1)) else { break };
                    // SAFETY: every `origin + 4g + offs[t]` is 4 readable bytes: inside
                    // the input (the tap is inside it, and channels 4g..4g+4 of a full
                    // group exist) or inside the zero-point row (c4 bytes); `offs` has
                    // `taps` words and `wg` 2·taps, word-aligned.
                    let a =
                        unsafe { depthwise_taps(origin.wrapping_add(4 * g), offs.as_ptr(), wg.as_ptr(), taps, *bq) };
                    for (j, v) in yq.iter_mut().enumerate() {
                        *v = stage(a[j], requant::Channel::of(&tq[3 * j..3 * j + 3]));
                    }
                }
                // Channels past the last full group, one at a time.
                let full = y4.len();
                for (j, v) in y1.iter_mut().enumerate().take(if tail { 3 } else { 0 }) {
                    let ch = 4 * full + j;
                    let mut a = bias.get(ch).copied().unwrap_or(0);
                    for (t, &off) in offs.iter().enumerate() {
                        let wv = words.get((full * taps + t) * 2 + (j & 1)).copied().unwrap_or(0);
                        let wv = if j & 2 == 0 { wv as i16 } else { (wv >> 16) as i16 } as i32;
                        // SAFETY: as above, for one byte of channel `ch` (or of the row).
                        let xv = unsafe { origin.wrapping_add(ch).wrapping_offset(off as isize).read() } as i32;
                        a += xv * wv;
                    }
                    *v = if row { requant::general(a, channel(ch), out) } else { stage(a, channel(ch)) };
                }
            }
        }
    }
}
