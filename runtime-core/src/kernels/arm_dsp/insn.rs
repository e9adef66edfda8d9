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

/// `acc + a.lo·b.lo` (signed 16-bit halves).
#[inline(always)]
pub fn smlabb(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("smlabb {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, c = in(reg) acc,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// `acc + a.hi·b.hi` (signed 16-bit halves).
#[inline(always)]
pub fn smlatt(a: u32, b: u32, acc: i32) -> i32 {
    let r: i32;
    // SAFETY: register-only arithmetic.
    unsafe {
        asm!("smlatt {r}, {a}, {b}, {c}", r = lateout(reg) r, a = in(reg) a, b = in(reg) b, c = in(reg) acc,
             options(pure, nomem, nostack, preserves_flags));
    }
    r
}

/// Four bytes as a little-endian word (one unaligned `ldr` on Armv7E-M).
#[inline(always)]
pub fn word(b: &[i8; 4]) -> u32 {
    u32::from_le_bytes([b[0] as u8, b[1] as u8, b[2] as u8, b[3] as u8])
}
