//! The Helium instruction sequences the kernels use, one `asm!` each. Vector
//! registers are named explicitly (`q0`–`q3`) and declared clobbered.

use core::arch::asm;

/// Four dot products of `k` signed bytes: adds `Σ_i x[i] · w_j[i]` to `acc[j]` for the
/// four channels `j` of one block of [`arm_mve_conv2d_weights`]: per chunk of 16
/// inputs, one vector of inputs meets the four channels' vectors of weights
/// (`vmladava.s8`: 16 multiply-adds into a scalar each). The loop is tail-predicated
/// (`dlstp.8`/`letp`): the last chunk reads only the inputs and weights below `k`.
///
/// 10 instructions per 64 multiply-adds: five `vldrb`, four `vmladava`, `letp`.
///
/// [`arm_mve_conv2d_weights`]: crate::kernels::pack::arm_mve_conv2d_weights
///
/// # Safety
/// `x` must be valid for `k` bytes and `w` for `64 · ⌈k / 16⌉` bytes.
#[inline(always)]
pub unsafe fn dot4(x: *const i8, w: *const i8, k: usize, acc: [i32; 4]) -> [i32; 4] {
    let [mut a0, mut a1, mut a2, mut a3] = acc;
    // SAFETY: the loop reads `k` bytes from `x` and, per chunk of 16 inputs, the 64
    // bytes of weights (the last chunk predicated to `k`), as the caller guarantees;
    // it writes only registers. `vmladava` needs even accumulator registers.
    unsafe {
        asm!(
            "dlstp.8 lr, {k}",
            "2:",
            "vldrb.8 q0, [{x}], #16",
            "vldrb.8 q1, [{w}], #16",
            "vmladava.s8 r0, q0, q1",
            "vldrb.8 q2, [{w}], #16",
            "vmladava.s8 r2, q0, q2",
            "vldrb.8 q3, [{w}], #16",
            "vmladava.s8 r4, q0, q3",
            "vldrb.8 q1, [{w}], #16",
            "vmladava.s8 r8, q0, q1",
            "letp lr, 2b",
            k = in(reg) k,
            x = inout(reg) x => _,
            w = inout(reg) w => _,
            inout("r0") a0,
            inout("r2") a1,
            inout("r4") a2,
            inout("r8") a3,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            options(readonly, nostack),
        );
    }
    [a0, a1, a2, a3]
}

/// Every full block of 4 output channels of one pixel, in one loop: per block, the
/// four accumulators start from the table's biases, [`dot4`]'s loop runs over the `k`
/// inputs, and [`requant4`]'s output stage (with the table's multipliers, rounding
/// terms and negated shifts; the clamp `[lo, hi]` kept in `q5`, `q6`) stores the
/// block's 4 bytes at `y`, which then moves on by 4. `table` holds 16 words per
/// block: biases, multipliers, rounding terms, negated shifts.
///
/// 20 instructions per block around the dot products.
///
/// # Safety
/// `blocks ≥ 1`; `x` must be valid for `k` bytes, `w` for `blocks · 64 · ⌈k / 16⌉`
/// bytes, `table` for `16 · blocks` words (4-byte aligned) and `y` for `4 · blocks`
/// bytes.
#[inline(always)]
pub unsafe fn conv_row(
    x: *const i8,
    k: usize,
    w: *const i8,
    table: *const i32,
    blocks: usize,
    lo: i32,
    hi: i32,
    y: *mut i8,
) {
    // SAFETY: per block, reads `k` bytes at `x`, the block's weights and 16 table
    // words, writes 4 bytes at `y`; the caller guarantees all of it.
    unsafe {
        asm!(
            "vmov q7[2], q7[0], {xp}, {kk}",
            "vdup.32 q5, r0",
            "vdup.32 q6, r2",
            "3:",
            "ldrd r0, r2, [{t}]",
            "ldrd r4, r8, [{t}, #8]",
            "vmov {xp}, {kk}, q7[2], q7[0]",
            "dlstp.8 lr, {kk}",
            "2:",
            "vldrb.8 q0, [{xp}], #16",
            "vldrb.8 q1, [{w}], #16",
            "vmladava.s8 r0, q0, q1",
            "vldrb.8 q2, [{w}], #16",
            "vmladava.s8 r2, q0, q2",
            "vldrb.8 q3, [{w}], #16",
            "vmladava.s8 r4, q0, q3",
            "vldrb.8 q1, [{w}], #16",
            "vmladava.s8 r8, q0, q1",
            "letp lr, 2b",
            "vmov q0[2], q0[0], r0, r4",
            "vmov q0[3], q0[1], r2, r8",
            "vldrw.u32 q1, [{t}, #16]",
            "vmulh.s32 q0, q0, q1",
            "vldrw.u32 q1, [{t}, #32]",
            "vadd.i32 q0, q0, q1",
            "vldrw.u32 q1, [{t}, #48]",
            "vshl.s32 q0, q0, q1",
            "vmax.s32 q0, q0, q5",
            "vmin.s32 q0, q0, q6",
            "vstrb.32 q0, [r1], #4",
            "adds {t}, #64",
            "subs {n}, #1",
            "bne 3b",
            // Registers are tight: `x` and `k` arrive in the registers the loop
            // reloads them into, the clamp in two accumulators.
            xp = inout(reg) x => _,
            kk = inout(reg) k => _,
            w = inout(reg) w => _,
            t = inout(reg) table => _,
            n = inout(reg) blocks => _,
            inout("r1") y => _,
            inout("r0") lo => _,
            inout("r2") hi => _,
            out("r4") _,
            out("r8") _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            out("q5") _,
            out("q6") _,
            out("q7") _,
            options(nostack),
        );
    }
}

/// The output stage of four channels, vectorised: `((acc · mult) >> 32) + rnd`,
/// shifted right arithmetically by `t` (`vmulh`, `vadd`, `vshl` by `−t`), clamped to
/// `[lo, hi]`, the low bytes stored at `y`. `table` holds four biases (unused here),
/// the four multipliers, the four rounding terms (`2^(t−1)` with the output zero
/// point folded in, `+ zp·2^t`) and the four negated shifts `−t`.
///
/// # Safety
/// `table` must be valid for 16 words, 4-byte aligned; `y` for 4 bytes.
#[inline(always)]
pub unsafe fn requant4(acc: [i32; 4], table: *const i32, lo: i32, hi: i32, y: *mut i8) {
    let [a0, a1, a2, a3] = acc;
    // SAFETY: reads 12 words at `table` and writes 4 bytes at `y`, as the caller
    // guarantees.
    unsafe {
        asm!(
            "vmov q0[2], q0[0], {a0}, {a2}",
            "vmov q0[3], q0[1], {a1}, {a3}",
            "vldrw.u32 q1, [{t}, #16]",
            "vmulh.s32 q0, q0, q1",
            "vldrw.u32 q1, [{t}, #32]",
            "vadd.i32 q0, q0, q1",
            "vldrw.u32 q1, [{t}, #48]",
            "vshl.s32 q0, q0, q1",
            "vdup.32 q1, {lo}",
            "vmax.s32 q0, q0, q1",
            "vdup.32 q1, {hi}",
            "vmin.s32 q0, q0, q1",
            "vstrb.32 q0, [r1]",
            a0 = in(reg) a0,
            a1 = in(reg) a1,
            a2 = in(reg) a2,
            a3 = in(reg) a3,
            t = in(reg) table,
            lo = in(reg) lo,
            hi = in(reg) hi,
            // The narrowing store takes a low register.
            in("r1") y,
            out("q0") _,
            out("q1") _,
            options(nostack),
        );
    }
}

/// Copies `n` bytes from `src` to `dst`, 16 per instruction pair (tail-predicated).
///
/// # Safety
/// `src` must be valid for `n` bytes of reads, `dst` for `n` bytes of writes.
#[inline(always)]
pub unsafe fn copy(src: *const i8, dst: *mut i8, n: usize) {
    // SAFETY: reads `n` bytes at `src`, writes `n` at `dst` (the last vector
    // predicated to what is left), as the caller guarantees.
    unsafe {
        asm!(
            "dlstp.8 lr, {n}",
            "2:",
            "vldrb.8 q0, [{s}], #16",
            "vstrb.8 q0, [{d}], #16",
            "letp lr, 2b",
            n = in(reg) n,
            s = inout(reg) src => _,
            d = inout(reg) dst => _,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Copies `rows` runs of `len` bytes, `stride` bytes apart from `src` on, to
/// consecutive places at `dst` (a convolution window's rows into its receptive
/// field): per run, 16 bytes per instruction pair (tail-predicated), 10 instructions
/// for a run of at most 16 bytes.
///
/// # Safety
/// `rows ≥ 1`; `src + r · stride` must be valid for `len` bytes of reads for every
/// `r < rows`, `dst` for `rows · len` bytes of writes.
#[inline(always)]
pub unsafe fn copy_rows(src: *const i8, stride: usize, len: usize, rows: usize, dst: *mut i8) {
    // SAFETY: reads `len` bytes at each `src + r · stride`, writes `rows · len`
    // bytes at `dst` (each run's last vector predicated), as the caller guarantees.
    unsafe {
        asm!(
            "3:",
            "mov {s}, {src}",
            "mov {d}, {dst}",
            "dlstp.8 lr, {len}",
            "2:",
            "vldrb.8 q0, [{s}], #16",
            "vstrb.8 q0, [{d}], #16",
            "letp lr, 2b",
            "add {src}, {stride}",
            "add {dst}, {len}",
            "subs {rows}, #1",
            "bne 3b",
            src = inout(reg) src => _,
            dst = inout(reg) dst => _,
            rows = inout(reg) rows => _,
            stride = in(reg) stride,
            len = in(reg) len,
            s = out(reg) _,
            d = out(reg) _,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Fills `n` bytes at `dst` with `v`, 16 per instruction (tail-predicated).
///
/// # Safety
/// `dst` must be valid for `n` bytes of writes.
#[inline(always)]
pub unsafe fn fill(dst: *mut i8, v: i8, n: usize) {
    // SAFETY: writes `n` bytes at `dst` (the last vector predicated), as the caller
    // guarantees.
    unsafe {
        asm!(
            "vdup.8 q0, {v}",
            "dlstp.8 lr, {n}",
            "2:",
            "vstrb.8 q0, [{d}], #16",
            "letp lr, 2b",
            n = in(reg) n,
            v = in(reg) v as i32,
            d = inout(reg) dst => _,
            out("lr") _,
            out("q0") _,
            options(nostack),
        );
    }
}

/// Every full group of 8 channels of one depthwise output pixel, in one loop: per
/// group, two accumulator vectors (even and odd channels, 32-bit lanes) start from
/// the table's biases; per tap, the 8 input bytes at `x + offs[t]` and the tap's 8
/// weights, widened to 16-bit lanes, meet in `vmullb.s16`/`vmullt.s16`; then the
/// output stage of [`requant4`] on both vectors (the clamp `[lo, hi]` kept in `q6`,
/// `q3`), `vmovnb`/`vmovnt` interleave them back into channel order and the 8 bytes
/// are stored at `y`. `x` and `y` then move on by 8. `table` holds 32 words per group:
/// biases, multipliers, rounding terms and negated shifts, each as 4 even channels
/// then 4 odd ones.
///
/// 9 instructions per tap and 8 channels, about 30 per group around them.
///
/// # Safety
/// `groups ≥ 1`, `taps ≥ 1`; every `x + 8g + offs[t]` must be valid for 8 bytes for
/// each group `g < groups`, `offs` for `taps` words, `w` for `groups · taps · 8` bytes,
/// `table` for `32 · groups` words (4-byte aligned) and `y` for `8 · groups` bytes.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub unsafe fn depthwise_row(
    x: *const i8,
    offs: *const i32,
    taps: usize,
    w: *const i8,
    table: *const i32,
    groups: usize,
    lo: i32,
    hi: i32,
    y: *mut i8,
) {
    // SAFETY: reads and writes exactly what the caller guarantees valid.
    unsafe {
        asm!(
            "vmov q7[2], q7[0], {o}, {taps}",
            "vdup.32 q6, r0",
            "vdup.32 q3, r1",
            "mov r1, {w}",
            "3:",
            "vldrw.u32 q4, [{t}]",
            "vldrw.u32 q5, [{t}, #16]",
            "vmov {o}, {taps}, q7[2], q7[0]",
            "dls lr, {taps}",
            "2:",
            "ldr r0, [{o}], #4",
            "add r0, {x}",
            "vldrb.s16 q0, [r0]",
            "vldrb.s16 q1, [r1], #8",
            "vmullb.s16 q2, q0, q1",
            "vadd.i32 q4, q4, q2",
            "vmullt.s16 q2, q0, q1",
            "vadd.i32 q5, q5, q2",
            "le lr, 2b",
            "vldrw.u32 q1, [{t}, #32]",
            "vmulh.s32 q4, q4, q1",
            "vldrw.u32 q1, [{t}, #48]",
            "vmulh.s32 q5, q5, q1",
            "vldrw.u32 q1, [{t}, #64]",
            "vadd.i32 q4, q4, q1",
            "vldrw.u32 q1, [{t}, #80]",
            "vadd.i32 q5, q5, q1",
            "vldrw.u32 q1, [{t}, #96]",
            "vshl.s32 q4, q4, q1",
            "vldrw.u32 q1, [{t}, #112]",
            "vshl.s32 q5, q5, q1",
            "vmax.s32 q4, q4, q6",
            "vmax.s32 q5, q5, q6",
            "vmin.s32 q4, q4, q3",
            "vmin.s32 q5, q5, q3",
            "vmovnb.i32 q0, q4",
            "vmovnt.i32 q0, q5",
            "vstrb.16 q0, [r2], #8",
            "adds {x}, #8",
            "adds {t}, #128",
            "subs {n}, #1",
            "bne 3b",
            x = inout(reg) x => _,
            o = inout(reg) offs => _,
            taps = inout(reg) taps => _,
            t = inout(reg) table => _,
            n = inout(reg) groups => _,
            w = in(reg) w,
            // Widening loads and narrowing stores take low registers: the clamp
            // arrives in r0 (then the tap address) and r1 (then the weights).
            inout("r0") lo => _,
            inout("r1") hi => _,
            inout("r2") y => _,
            out("lr") _,
            out("q0") _,
            out("q1") _,
            out("q2") _,
            out("q3") _,
            out("q4") _,
            out("q5") _,
            out("q6") _,
            out("q7") _,
            options(nostack),
        );
    }
}
