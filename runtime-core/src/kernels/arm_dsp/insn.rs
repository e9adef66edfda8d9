//! The Armv7E-M DSP instructions the kernels use, one `asm!` each (the Rust
//! intrinsics for them are unstable). Each is pure and touches no memory, so LLVM
//! schedules and allocates registers around them freely.

use core::arch::asm;

/// Two signed 16-bit multiplies added to an accumulator:
/// `acc + a.lo·b.lo + a.hi·b.hi`.
#[inline(always)]
pub fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("smlad {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, c = in(reg) acc,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Bytes 0 and 2 of `a`, sign-extended into the low and high halfwords.
#[inline(always)]
pub fn sxtb16(a: u32) -> u32 {
    let r: u32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("sxtb16 {r}, {a}", r = lateout(reg) r, a = in(reg) a, options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Bytes 1 and 3 of `a`, sign-extended into the low and high halfwords.
#[inline(always)]
pub fn sxtb16_ror8(a: u32) -> u32 {
    let r: u32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("sxtb16 {r}, {a}, ror #8", r = lateout(reg) r, a = in(reg) a,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// `acc` plus bytes 0 and 2 of `a`, sign-extended, in two independent 16-bit lanes
/// (low and high halfword; each lane wraps on its own).
#[inline(always)]
pub fn sxtab16(acc: u32, a: u32) -> u32 {
    let r: u32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("sxtab16 {r}, {c}, {a}", r = lateout(reg) r, c = in(reg) acc, a = in(reg) a,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// `acc` plus bytes 1 and 3 of `a`, sign-extended, in two independent 16-bit lanes.
#[inline(always)]
pub fn sxtab16_ror8(acc: u32, a: u32) -> u32 {
    let r: u32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("sxtab16 {r}, {c}, {a}, ror #8", r = lateout(reg) r, c = in(reg) acc, a = in(reg) a,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Four bytes as a little-endian word (one unaligned `ldr` on Armv7E-M).
#[inline(always)]
pub fn word(b: &[i8; 4]) -> u32 {
    u32::from_le_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8])
}

/// Two output pixels × two output channels: adds `Σ_g cols[g]·w[g]` to the four
/// accumulators `[a0, b0, a1, b1]` (pixel A channel 0, pixel B channel 0, pixel A
/// channel 1, pixel B channel 1). `cols` holds, per group of 4 inputs, pixel A's
/// `(x0,x2), (x1,x3)` and pixel B's, as widened by `sxtb16`; `w` holds, per group,
/// channel 0's 4 weights then channel 1's (one word each). `groups ≥ 1`.
///
/// 17 instructions per 16 multiply-adds: three `ldrd`, four `sxtb16`, eight `smlad`,
/// the loop test.
///
/// # Safety
/// `cols` must be valid for `4 · groups` words and `w` for `2 · groups` words, both
/// 4-byte aligned.
#[inline(always)]
pub unsafe fn mac_2x2(cols: *const u32, w: *const u32, groups: usize, acc: [i32; 4]) -> [i32; 4] {
    let [mut a0, mut b0, mut a1, mut b1] = acc;
    // SAFETY: the loop reads `4 · groups` words from `cols` and `2 · groups` from `w`,
    // which the caller guarantees; it writes only registers.
    unsafe {
        asm!(
            "2:",
            "ldrd {x0}, {x1}, [{c}], #8",
            "ldrd {w0}, {w1}, [{w}], #8",
            "sxtb16 {t0}, {w0}",
            "sxtb16 {w0}, {w0}, ror #8",
            "sxtb16 {t1}, {w1}",
            "sxtb16 {w1}, {w1}, ror #8",
            "smlad {a0}, {x0}, {t0}, {a0}",
            "smlad {a0}, {x1}, {w0}, {a0}",
            "smlad {a1}, {x0}, {t1}, {a1}",
            "smlad {a1}, {x1}, {w1}, {a1}",
            "ldrd {x0}, {x1}, [{c}], #8",
            "smlad {b0}, {x0}, {t0}, {b0}",
            "smlad {b0}, {x1}, {w0}, {b0}",
            "smlad {b1}, {x0}, {t1}, {b1}",
            "smlad {b1}, {x1}, {w1}, {b1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            c = inout(reg) cols => _,
            w = inout(reg) w => _,
            n = inout(reg) groups => _,
            a0 = inout(reg) a0,
            b0 = inout(reg) b0,
            a1 = inout(reg) a1,
            b1 = inout(reg) b1,
            x0 = out(reg) _,
            x1 = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            t0 = out(reg) _,
            t1 = out(reg) _,
            options(readonly, nostack),
        );
    }
    [a0, b0, a1, b1]
}

/// One output pixel, four channels of a depthwise convolution, every tap inside the
/// input: for each tap `t`, the input word at `x + offs[t]` (four channels) meets the
/// tap's widened weights (`(w0, w2), (w1, w3)`, two words) in four 16-bit MACs, the
/// accumulators `[a0, a1, a2, a3]` staying in registers. `taps ≥ 1`.
///
/// 11 instructions per tap: the offset, the input word, the weights (`ldrd`), two
/// `sxtb16`, four `smlabb`/`smlatt`, the loop test.
///
/// # Safety
/// `offs` must be valid for `taps` words, `w` for `2 · taps` words (4-byte aligned),
/// and every `x + offs[t]` for 4 bytes.
#[inline(always)]
pub unsafe fn depthwise_taps(x: *const i8, offs: *const i32, w: *const u32, taps: usize, acc: [i32; 4]) -> [i32; 4] {
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: reads exactly what the caller guarantees valid; writes only registers.
    unsafe {
        asm!(
            "2:",
            "ldr {v}, [{o}], #4",
            "ldr {v}, [{x}, {v}]",
            "ldrd {w0}, {w1}, [{w}], #8",
            "sxtb16 {x02}, {v}",
            "sxtb16 {v}, {v}, ror #8",
            "smlabb {a0}, {x02}, {w0}, {a0}",
            "smlatt {a2}, {x02}, {w0}, {a2}",
            "smlabb {a1}, {v}, {w1}, {a1}",
            "smlatt {a3}, {v}, {w1}, {a3}",
            "subs {n}, {n}, #1",
            "bne 2b",
            x = in(reg) x,
            o = inout(reg) offs => _,
            w = inout(reg) w => _,
            n = inout(reg) taps => _,
            a0 = inout(reg) a0,
            a1 = inout(reg) a1,
            a2 = inout(reg) a2,
            a3 = inout(reg) a3,
            v = out(reg) _,
            x02 = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            options(readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}

/// Two column pairs of a fully-connected layer (weights packed by
/// [`pack::arm_dsp_gemm_weights`]): for each group of 4 inputs (two per iteration),
/// the widened inputs `(x0,x2), (x1,x3)` meet each pair's two words raw (`smlad`:
/// `256·w(odd) + u(even)` per halfword) and through `uxtb16` (`u(even)`), into the
/// accumulators `[e0, r0, e1, r1]` (`e`: `Σ x·u(even)`, `r`: `256·Σ x·w(odd) + e`).
///
/// 15 instructions per 16 multiply-adds: `ldrd` of the inputs and of each pair's
/// words, four `uxtb16`, eight `smlad`; the loop test once per two groups.
///
/// [`pack::arm_dsp_gemm_weights`]: crate::kernels::pack::arm_dsp_gemm_weights
///
/// # Safety
/// `cols` must be valid for `4 · iterations` words and `w` for `8 · iterations`
/// words, both 4-byte aligned; `iterations ≥ 1`.
#[inline(always)]
pub unsafe fn gemm_pairs(cols: *const u32, w: *const u32, iterations: usize, acc: [i32; 4]) -> [i32; 4] {
    let [mut e0, mut r0, mut e1, mut r1] = acc;
    // SAFETY: reads exactly what the caller guarantees valid; writes only registers.
    unsafe {
        asm!(
            "2:",
            "ldrd {x0}, {x1}, [{c}], #8",
            "ldrd {w0}, {w1}, [{w}], #8",
            "uxtb16 {u}, {w0}",
            "smlad {r0}, {x0}, {w0}, {r0}",
            "smlad {e0}, {x0}, {u}, {e0}",
            "uxtb16 {u}, {w1}",
            "smlad {r0}, {x1}, {w1}, {r0}",
            "smlad {e0}, {x1}, {u}, {e0}",
            "ldrd {w0}, {w1}, [{w}], #8",
            "uxtb16 {u}, {w0}",
            "smlad {r1}, {x0}, {w0}, {r1}",
            "smlad {e1}, {x0}, {u}, {e1}",
            "uxtb16 {u}, {w1}",
            "smlad {r1}, {x1}, {w1}, {r1}",
            "smlad {e1}, {x1}, {u}, {e1}",
            "ldrd {x0}, {x1}, [{c}], #8",
            "ldrd {w0}, {w1}, [{w}], #8",
            "uxtb16 {u}, {w0}",
            "smlad {r0}, {x0}, {w0}, {r0}",
            "smlad {e0}, {x0}, {u}, {e0}",
            "uxtb16 {u}, {w1}",
            "smlad {r0}, {x1}, {w1}, {r0}",
            "smlad {e0}, {x1}, {u}, {e0}",
            "ldrd {w0}, {w1}, [{w}], #8",
            "uxtb16 {u}, {w0}",
            "smlad {r1}, {x0}, {w0}, {r1}",
            "smlad {e1}, {x0}, {u}, {e1}",
            "uxtb16 {u}, {w1}",
            "smlad {r1}, {x1}, {w1}, {r1}",
            "smlad {e1}, {x1}, {u}, {e1}",
            "subs {n}, {n}, #1",
            "bne 2b",
            c = inout(reg) cols => _,
            w = inout(reg) w => _,
            n = inout(reg) iterations => _,
            e0 = inout(reg) e0,
            r0 = inout(reg) r0,
            e1 = inout(reg) e1,
            r1 = inout(reg) r1,
            x0 = out(reg) _,
            x1 = out(reg) _,
            w0 = out(reg) _,
            w1 = out(reg) _,
            u = out(reg) _,
            options(readonly, nostack),
        );
    }
    [e0, r0, e1, r1]
}

/// The output stage of four outputs sharing one requantisation, clamped to the full
/// i8 range: `ssat((acc·mult >> 32) + rnd) >> t, 8)` stored at `y[0..4]`, where `rnd`
/// already holds the output zero point (`rnd + (zp << t)`: [`requant::Folded`]). Four
/// instructions per output.
///
/// [`requant::Folded`]: super::requant::Folded
#[inline(always)]
pub fn requant4_full(acc: [i32; 4], mult: i32, rnd: i32, t: i32, y: &mut [i8; 4]) {
    let [a0, a1, a2, a3] = acc;
    // SAFETY: writes the four bytes of `y`; register arithmetic otherwise.
    unsafe {
        asm!(
            "smmla {a0}, {a0}, {m}, {r}",
            "smmla {a1}, {a1}, {m}, {r}",
            "smmla {a2}, {a2}, {m}, {r}",
            "smmla {a3}, {a3}, {m}, {r}",
            "asrs {a0}, {a0}, {t}",
            "asrs {a1}, {a1}, {t}",
            "asrs {a2}, {a2}, {t}",
            "asrs {a3}, {a3}, {t}",
            "ssat {a0}, #8, {a0}",
            "ssat {a1}, #8, {a1}",
            "ssat {a2}, #8, {a2}",
            "ssat {a3}, #8, {a3}",
            "strb {a0}, [{y}]",
            "strb {a1}, [{y}, #1]",
            "strb {a2}, [{y}, #2]",
            "strb {a3}, [{y}, #3]",
            a0 = inout(reg) a0 => _,
            a1 = inout(reg) a1 => _,
            a2 = inout(reg) a2 => _,
            a3 = inout(reg) a3 => _,
            m = in(reg) mult,
            r = in(reg) rnd,
            t = in(reg) t,
            y = in(reg) y.as_mut_ptr(),
            options(nostack),
        );
    }
}

/// What [`conv_row`] reads: one pixel pair's widened receptive fields and every full
/// channel pair's weights and output stage.
#[repr(C)]
pub struct Row {
    /// Widened receptive fields, per group of 4 inputs pixel A's `(x0,x2), (x1,x3)`
    /// then pixel B's (`4 · groups` words).
    pub cols: *const u32,
    /// Groups of 4 inputs (≥ 1).
    pub groups: usize,
    /// Weights interleaved in channel pairs (`2 · groups` words per pair).
    pub w: *const u32,
    /// Per channel pair: `bias0, bias1`, then `mult, rnd, t` of each channel (8 words;
    /// `rnd` with the output zero point folded in, see [`super::requant::Folded`]).
    pub table: *const i32,
    /// Pixel A's outputs (`2 · pairs` bytes).
    pub ya: *mut i8,
    /// Pixel B's outputs (`2 · pairs` bytes).
    pub yb: *mut i8,
    /// Channel pairs (≥ 1).
    pub pairs: usize,
    /// `128 · Σ x` over pixel A's receptive field ([`conv_row_paired`] only).
    pub s128a: i32,
    /// `128 · Σ x` over pixel B's receptive field ([`conv_row_paired`] only).
    pub s128b: i32,
    /// The output zero point ([`conv_row_paired_zp`] only).
    pub zp: i32,
}

/// Every full channel pair of two output pixels: per pair, the accumulators start at
/// the biases, the [`mac_2x2`] loop runs over the groups, and the output stage
/// (`smmla`, `asr`, `ssat`) stores the four bytes; nothing leaves registers but the
/// three pointers parked on the stack around the inner loop. Per pair: 26
/// instructions beside the 17 per group.
///
/// # Safety
/// `row` must describe valid, 4-byte aligned memory as its fields say, with
/// `groups ≥ 1` and `pairs ≥ 1`, and `ya`/`yb` writable for `2 · pairs` bytes.
#[inline(never)]
pub unsafe fn conv_row(row: *const Row) {
    // r0, r1: inputs (then mult, rnd); r2-r5: weights and their halves (then t, the
    // table, ya, yb); r6-r9: accumulators A0, B0, A1, B1; r10: cols; r11: group
    // counter; r12: weights; lr: pair counter. [sp]: cols, groups.
    // SAFETY: the caller guarantees what the routine reads and writes; it saves and
    // restores on the stack every register it uses beyond r0-r3 and r12.
    unsafe {
        core::arch::asm!(
            "push {{r4-r11, lr}}",
            "sub sp, sp, #8",
            "ldrd r1, r2, [r0, #0]",
            "strd r1, r2, [sp]",
            "ldrd r12, r3, [r0, #8]",
            "ldrd r4, r5, [r0, #16]",
            "ldr lr, [r0, #24]",
            "1:",
            "ldrd r6, r8, [r3], #8",
            "mov r7, r6",
            "mov r9, r8",
            "push {{r3, r4, r5}}",
            "ldrd r10, r11, [sp, #12]",
            "2:",
            "ldrd r0, r1, [r10], #8",
            "ldrd r2, r3, [r12], #8",
            "sxtb16 r4, r2",
            "sxtb16 r2, r2, ror #8",
            "sxtb16 r5, r3",
            "sxtb16 r3, r3, ror #8",
            "smlad r6, r0, r4, r6",
            "smlad r6, r1, r2, r6",
            "smlad r8, r0, r5, r8",
            "smlad r8, r1, r3, r8",
            "ldrd r0, r1, [r10], #8",
            "smlad r7, r0, r4, r7",
            "smlad r7, r1, r2, r7",
            "smlad r9, r0, r5, r9",
            "smlad r9, r1, r3, r9",
            "subs r11, r11, #1",
            "bne 2b",
            "pop {{r3, r4, r5}}",
            "ldm r3!, {{r0, r1, r2}}",
            "smmla r6, r6, r0, r1",
            "smmla r7, r7, r0, r1",
            "asrs r6, r6, r2",
            "asrs r7, r7, r2",
            "ssat r6, #8, r6",
            "ssat r7, #8, r7",
            "strb r6, [r4], #1",
            "strb r7, [r5], #1",
            "ldm r3!, {{r0, r1, r2}}",
            "smmla r8, r8, r0, r1",
            "smmla r9, r9, r0, r1",
            "asrs r8, r8, r2",
            "asrs r9, r9, r2",
            "ssat r8, #8, r8",
            "ssat r9, #8, r9",
            "strb r8, [r4], #1",
            "strb r9, [r5], #1",
            "subs lr, lr, #1",
            "bne 1b",
            "add sp, sp, #8",
            "pop {{r4-r11, lr}}",
            inout("r0") row => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
        );
    }
}

/// What [`depthwise_row`] reads: one output pixel's window and every full group of
/// four channels' weights and output stage.
#[repr(C)]
pub struct DepthwiseRow {
    /// The window's first element for channel 0 (each tap's input at `x + offs[t]`).
    pub x: *const i8,
    /// Per tap, its byte offset from `x` (`taps` words).
    pub offs: *const i32,
    /// Taps (≥ 1).
    pub taps: usize,
    /// Groups of four channels (≥ 1).
    pub groups: usize,
    /// Widened weights, `2 · taps` words per group (see [`depthwise_taps`]).
    pub w: *const u32,
    /// Per group: the four biases, then `mult, rnd, t` of each channel (16 words;
    /// `rnd` with the output zero point folded in).
    pub table: *const i32,
    /// The pixel's outputs (`4 · groups` bytes).
    pub y: *mut i8,
}

/// Every full group of four channels of one depthwise output pixel: per group, the
/// accumulators start at the biases (`ldm`), the [`depthwise_taps`] loop runs, and
/// the output stage (`smmla`, `asr`, `ssat`) stores four bytes. Per group: 27
/// instructions beside the 11 per tap.
///
/// # Safety
/// `row` must describe valid memory as its fields say (`offs`, `w` and `table`
/// 4-byte aligned), every `x + 4g + offs[t]` readable for 4 bytes, `taps ≥ 1`,
/// `groups ≥ 1`, and `y` writable for `4 · groups` bytes.
#[inline(never)]
pub unsafe fn depthwise_row(row: *const DepthwiseRow) {
    // r0-r3: input word, its halves, weights (then mult, rnd, t); r4-r7: the four
    // accumulators; r8: the group's window; r9: offsets; r10: weights; r11: tap
    // counter; r12: table; lr: outputs. [sp]: offs, taps, the table's end (16
    // words per group).
    // SAFETY: the caller guarantees what the routine reads and writes; it saves and
    // restores on the stack every register it uses beyond r0-r3 and r12.
    unsafe {
        core::arch::asm!(
            "push {{r4-r11, lr}}",
            "sub sp, sp, #12",
            "ldrd r8, r1, [r0, #0]",
            "ldrd r2, r3, [r0, #8]",
            "strd r1, r2, [sp]",
            "ldrd r10, r12, [r0, #16]",
            "add r3, r12, r3, lsl #6",
            "str r3, [sp, #8]",
            "ldr lr, [r0, #24]",
            "1:",
            "ldm r12!, {{r4, r5, r6, r7}}",
            "ldrd r9, r11, [sp]",
            "2:",
            "ldr r0, [r9], #4",
            "ldr r0, [r8, r0]",
            "ldrd r2, r3, [r10], #8",
            "sxtb16 r1, r0",
            "sxtb16 r0, r0, ror #8",
            "smlabb r4, r1, r2, r4",
            "smlatt r6, r1, r2, r6",
            "smlabb r5, r0, r3, r5",
            "smlatt r7, r0, r3, r7",
            "subs r11, r11, #1",
            "bne 2b",
            "ldm r12!, {{r0, r1, r2}}",
            "smmla r4, r4, r0, r1",
            "asrs r4, r4, r2",
            "ssat r4, #8, r4",
            "strb r4, [lr], #1",
            "ldm r12!, {{r0, r1, r2}}",
            "smmla r5, r5, r0, r1",
            "asrs r5, r5, r2",
            "ssat r5, #8, r5",
            "strb r5, [lr], #1",
            "ldm r12!, {{r0, r1, r2}}",
            "smmla r6, r6, r0, r1",
            "asrs r6, r6, r2",
            "ssat r6, #8, r6",
            "strb r6, [lr], #1",
            "ldm r12!, {{r0, r1, r2}}",
            "smmla r7, r7, r0, r1",
            "asrs r7, r7, r2",
            "ssat r7, #8, r7",
            "strb r7, [lr], #1",
            "add r8, r8, #4",
            "ldr r11, [sp, #8]",
            "cmp r12, r11",
            "bne 1b",
            "add sp, sp, #12",
            "pop {{r4-r11, lr}}",
            inout("r0") row => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
        );
    }
}

/// The body of [`conv_row_paired`] and [`conv_row_paired_zp`]; `$zp` holds the
/// instructions after each output's shift (none, or adding the zero point in r10).
macro_rules! conv_row_paired_asm {
    ($row:expr $(, $zp:literal)?) => {
        core::arch::asm!(
            "push {{r4-r11, lr}}",
            "sub sp, sp, #24",
            "ldrd r1, r2, [r0, #0]",
            "lsrs r2, r2, #1",
            "strd r1, r2, [sp]",
            "ldrd r1, r2, [r0, #28]",
            "strd r1, r2, [sp, #8]",
            "ldr r1, [r0, #36]",
            "str r1, [sp, #16]",
            "ldrd r12, r3, [r0, #8]",
            "ldrd r4, r5, [r0, #16]",
            "ldr lr, [r0, #24]",
            "1:",
            "ldrd r0, r2, [r3], #8",
            "push {{r2, r3, r4, r5}}",
            "ldrd r10, r11, [sp, #16]",
            "ldrd r4, r5, [sp, #24]",
            "sub r6, r0, r4",
            "sub r7, r0, r5",
            "mov r8, r6",
            "mov r9, r7",
            "2:",
            "ldrd r0, r1, [r10], #8",
            "ldrd r2, r3, [r12], #8",
            "uxtb16 r4, r2",
            "uxtb16 r5, r3",
            "smlad r6, r0, r4, r6",
            "smlad r8, r0, r2, r8",
            "smlad r6, r1, r5, r6",
            "smlad r8, r1, r3, r8",
            "ldrd r0, r1, [r10], #8",
            "smlad r7, r0, r4, r7",
            "smlad r9, r0, r2, r9",
            "smlad r7, r1, r5, r7",
            "smlad r9, r1, r3, r9",
            "ldrd r0, r1, [r10], #8",
            "ldrd r2, r3, [r12], #8",
            "uxtb16 r4, r2",
            "uxtb16 r5, r3",
            "smlad r6, r0, r4, r6",
            "smlad r8, r0, r2, r8",
            "smlad r6, r1, r5, r6",
            "smlad r8, r1, r3, r8",
            "ldrd r0, r1, [r10], #8",
            "smlad r7, r0, r4, r7",
            "smlad r9, r0, r2, r9",
            "smlad r7, r1, r5, r7",
            "smlad r9, r1, r3, r9",
            "subs r11, r11, #1",
            "bne 2b",
            "pop {{r2, r3, r4, r5}}",
            "ldr r10, [sp, #16]",
            "sub r8, r8, r6",
            "sub r9, r9, r7",
            "add r8, r2, r8, asr #8",
            "add r9, r2, r9, asr #8",
            "ldm r3!, {{r0, r1, r2}}",
            "smmla r6, r6, r0, r1",
            "smmla r7, r7, r0, r1",
            "asrs r6, r6, r2",
            "asrs r7, r7, r2",
            $(concat!($zp, " r6, r6, r10"), concat!($zp, " r7, r7, r10"),)?
            "ssat r6, #8, r6",
            "ssat r7, #8, r7",
            "strb r6, [r4], #1",
            "strb r7, [r5], #1",
            "ldm r3!, {{r0, r1, r2}}",
            "smmla r8, r8, r0, r1",
            "smmla r9, r9, r0, r1",
            "asrs r8, r8, r2",
            "asrs r9, r9, r2",
            $(concat!($zp, " r8, r8, r10"), concat!($zp, " r9, r9, r10"),)?
            "ssat r8, #8, r8",
            "ssat r9, #8, r9",
            "strb r8, [r4], #1",
            "strb r9, [r5], #1",
            "subs lr, lr, #1",
            "bne 1b",
            "add sp, sp, #24",
            "pop {{r4-r11, lr}}",
            inout("r0") $row => _,
            out("r1") _,
            out("r2") _,
            out("r3") _,
            out("r12") _,
        )
    };
}

/// [`conv_row`] over weights in [`pack::paired_words`] form (blocks of 2 channels):
/// per group of 4 inputs and pixel, `smlad` of the inputs against each weight word
/// raw and through `uxtb16` gives both channels (`e = Σ x·u(c0)`, `r = e + 256·Σ x·w(c1)`);
/// the accumulators start at `e = r = bias0 − 128·Σ x`, so `e` ends at channel 0's sum
/// and `bias1 + (r − e) >> 8` is channel 1's. Two groups per iteration: 14
/// instructions per 16 multiply-adds, 34 per channel pair besides. `groups` must be
/// even and the receptive field at most [`pack::ARM_DSP_GEMM_CHUNK`] groups; the
/// table's `rnd` holds the output zero point.
///
/// [`pack::paired_words`]: crate::kernels::pack::paired_words
/// [`pack::ARM_DSP_GEMM_CHUNK`]: crate::kernels::pack::ARM_DSP_GEMM_CHUNK
///
/// # Safety
/// As [`conv_row`], with `groups ≥ 2` even and `table` 8 words per pair.
#[inline(never)]
pub unsafe fn conv_row_paired(row: *const Row) {
    // r0, r1: inputs (then mult, rnd); r2, r3: weight words (then bias1 / t, the
    // table); r4, r5: their uxtb16 (then ya, yb); r6-r9: accumulators eA, eB, rA, rB;
    // r10: cols (then the zero point); r11: iteration counter; r12: weights; lr: pair
    // counter. [sp]: cols, iterations, 128·ΣxA, 128·ΣxB, zero point.
    // SAFETY: as `conv_row`.
    unsafe { conv_row_paired_asm!(row) }
}

/// [`conv_row_paired`] for a table whose `rnd` lacks the output zero point (it
/// would overflow there): the zero point (`Row::zp`) is added after the shift, one
/// instruction more per output.
///
/// # Safety
/// As [`conv_row_paired`].
#[inline(never)]
pub unsafe fn conv_row_paired_zp(row: *const Row) {
    // SAFETY: as `conv_row`.
    unsafe { conv_row_paired_asm!(row, "add") }
}
