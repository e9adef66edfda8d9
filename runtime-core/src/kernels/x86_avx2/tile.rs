//! The micro-kernels: `M` pixels (rows) × `V` vectors of 8 output channels.

use core::arch::x86_64::*;

/// `[f(0), f(1), …, f(M − 1)]`, built by a loop that inlines (`core::array::from_fn`
/// was left as a call per micro-kernel block, 6 % of VWW's float run).
#[inline(always)]
pub(crate) fn array<T: Copy, const M: usize>(first: T, mut f: impl FnMut(usize) -> T) -> [T; M] {
    let mut a = [first; M];
    for (m, v) in a.iter_mut().enumerate() {
        *v = f(m);
    }
    a
}

/// Float tile: `acc[m][v] += Σ_k x[m][k] · w[k][8v..8v+8]` for `k < n`, with `w`
/// packed `[n][8·V]`.
///
/// # Safety
/// Every `xs[m]` must be readable for `n` floats and `w` for `n · 8 · V`.
#[inline(always)]
pub unsafe fn tile_f32<const M: usize, const V: usize>(
    acc: &mut [[__m256; V]; M],
    xs: &[*const f32; M],
    w: *const f32,
    n: usize,
) {
    unsafe {
        let mut a = *acc;
        let mut wp = w;
        for k in 0..n {
            let mut wv = [_mm256_setzero_ps(); V];
            for (v, r) in wv.iter_mut().enumerate() {
                *r = _mm256_loadu_ps(wp.add(8 * v));
            }
            for m in 0..M {
                let b = _mm256_broadcast_ss(&*xs[m].add(k));
                for v in 0..V {
                    a[m][v] = _mm256_fmadd_ps(b, wv[v], a[m][v]);
                }
            }
            wp = wp.add(8 * V);
        }
        *acc = a;
    }
}

/// Integer tile: `acc[m][v] += Σ_p pair(x[m][p]) · pair(w[p][8v..8v+8])` for
/// `p < pairs` with `vpmaddwd` (exact: 16-bit products summed in 32 bits); `xs[m]`
/// holds 16-bit input pairs as words, `w` 16-bit weight pairs packed `[pairs][8·V][2]`.
///
/// # Safety
/// Every `xs[m]` must be readable for `pairs` words and `w` for `pairs · 8 · V`.
#[inline(always)]
pub unsafe fn tile_q16<const M: usize, const V: usize>(
    acc: &mut [[__m256i; V]; M],
    xs: &[*const i32; M],
    w: *const i16,
    pairs: usize,
) {
    unsafe {
        let mut a = *acc;
        let mut wp = w;
        for k in 0..pairs {
            let mut wv = [_mm256_setzero_si256(); V];
            for (v, r) in wv.iter_mut().enumerate() {
                *r = _mm256_loadu_si256(wp.add(16 * v) as *const __m256i);
            }
            for m in 0..M {
                let b = _mm256_set1_epi32(*xs[m].add(k));
                for v in 0..V {
                    a[m][v] = _mm256_add_epi32(a[m][v], _mm256_madd_epi16(b, wv[v]));
                }
            }
            wp = wp.add(16 * V);
        }
        *acc = a;
    }
}

/// [`tile_q16`] over fields `WORDS` words apart from `x` (pixel `m`'s at
/// `x + m · WORDS`), all `WORDS` pairs: the inputs addressed from one pointer at
/// offsets known at compile time. With a pointer per pixel, LLVM kept the twelve
/// pointers of a 12-pixel tile on the stack and reloaded one per broadcast (the
/// first layers of VWW and KWS int8, whose fields are 14 and 20 words).
///
/// # Safety
/// `x` must be readable for `M · WORDS` words and `w` for `WORDS · 8 · V` pairs.
#[inline(always)]
pub unsafe fn tile_q16_fixed<const M: usize, const V: usize, const WORDS: usize>(
    acc: &mut [[__m256i; V]; M],
    x: *const i32,
    w: *const i16,
) {
    unsafe {
        let mut a = *acc;
        for k in 0..WORDS {
            let mut wv = [_mm256_setzero_si256(); V];
            for (v, r) in wv.iter_mut().enumerate() {
                *r = _mm256_loadu_si256(w.add(16 * (k * V + v)) as *const __m256i);
            }
            for m in 0..M {
                let b = _mm256_set1_epi32(*x.add(m * WORDS + k));
                for v in 0..V {
                    a[m][v] = _mm256_add_epi32(a[m][v], _mm256_madd_epi16(b, wv[v]));
                }
            }
        }
        *acc = a;
    }
}

/// [`tile_f32`] over rows `K` floats apart from `x` (pixel `m`'s at `x + m · K`), all
/// `K` of them: short pointwise layers' inputs addressed from one pointer at offsets
/// known at compile time, the loop unrolled.
///
/// # Safety
/// `x` must be readable for `M · K` floats and `w` for `K · 8 · V`.
#[inline(always)]
pub unsafe fn tile_f32_fixed<const M: usize, const V: usize, const K: usize>(
    acc: &mut [[__m256; V]; M],
    x: *const f32,
    w: *const f32,
) {
    unsafe {
        let mut a = *acc;
        for k in 0..K {
            let mut wv = [_mm256_setzero_ps(); V];
            for (v, r) in wv.iter_mut().enumerate() {
                *r = _mm256_loadu_ps(w.add(8 * (k * V + v)));
            }
            for m in 0..M {
                let b = _mm256_broadcast_ss(&*x.add(m * K + k));
                for v in 0..V {
                    a[m][v] = _mm256_fmadd_ps(b, wv[v], a[m][v]);
                }
            }
        }
        *acc = a;
    }
}
