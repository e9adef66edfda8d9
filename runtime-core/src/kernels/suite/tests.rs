//! Host tests of the suite: every kernel passes on a fixed seed within the stack budget,
//! cases are reproducible, and the suite fails when a kernel is wrong.

extern crate std;

use super::harness::{Rng, Text, Want};
use super::{conv, copy, elementwise, entry, gemm, pool, run, run_entries, CaseResult, Entry, Num};
use crate::kernels::{portable, Broadcast, Clamp, Conv2d, Gemm, Pool2d, QAdd, QMul};
use crate::quant::QOut;
use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, println};

const SEED: u64 = 0x7153_0b5e_5eed;
/// Cases per kernel: enough to meet every edge the generators aim at (1-sized
/// extents, full-padding windows, depthwise and 1-D convolutions, every bias form,
/// unary function and binary operation) several times over.
const CASES: u32 = 1000;
/// The stack budget the module docs state (the suite overflows 32 KiB and fits in 40 KiB
/// on x86-64, in the test and release profiles). Builds with the x86-64 AVX2 kernels
/// get 128 KiB: their float convolution keeps up to 56 KiB of padded and transformed
/// input rows on the stack (a host-only kernel; no firmware runs it).
const STACK: usize =
    if cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")) { 128 } else { 64 } * 1024;

/// `TINYOPS_SUITE_SEED` and `TINYOPS_SUITE_CASES` override the seed and the cases per
/// kernel, for a longer soak (`TINYOPS_SUITE_CASES=20000 cargo test --release -p
/// tinyops-runtime every_kernel`).
fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

#[test]
fn every_kernel_matches_its_reference_within_the_stack_budget() {
    let (seed, cases) = (setting("TINYOPS_SUITE_SEED", SEED), setting("TINYOPS_SUITE_CASES", CASES as u64) as u32);
    let started = std::time::Instant::now();
    // The suite runs on a thread with the stated stack: exceeding it would abort.
    let worker = std::thread::Builder::new().stack_size(STACK).spawn(move || {
        let mut per_kernel: BTreeMap<&'static str, u32> = BTreeMap::new();
        let mut failures: Vec<String> = Vec::new();
        let summary = run(seed, cases, &mut |r: &CaseResult| {
            *per_kernel.entry(r.kernel).or_default() += 1;
            if !r.passed() && failures.len() < 20 {
                failures.push(r.to_string());
            }
        });
        (summary, per_kernel, failures)
    });
    let (summary, per_kernel, failures) = worker.expect("spawn").join().expect("suite thread");
    println!("kernel suite, seed {seed:#x}, {cases} cases per kernel: {summary} in {:.2?}", started.elapsed());
    // Per-ISA twins compiled in for this build (e.g. `x86_avx2` with
    // `-C target-cpu=x86-64-v3`), for the drivers that run the suite with such flags.
    let twins = super::kernels().filter(|n| !n.starts_with("portable::")).count();
    println!("per-ISA twins in this build: {twins}");
    for f in &failures {
        println!("  {f}");
    }
    assert!(failures.is_empty(), "{} failing cases", summary.failed);
    assert_eq!(summary.failed, 0);
    assert_eq!(summary.kernels as usize, super::kernels().count());
    for name in super::kernels() {
        let ran = per_kernel.get(name).copied().unwrap_or(0);
        assert!(ran >= cases, "{name} ran {ran} cases, expected {cases}");
    }
    assert_eq!(summary.passed, cases * summary.kernels);
}

#[test]
fn a_case_is_reproducible_from_seed_kernel_and_number() {
    let record = |filter: &str| {
        let mut lines = Vec::new();
        super::run_matching(7, 5, filter, &mut |r: &CaseResult| lines.push(format!("{} {}", r.kernel, r.geometry)));
        lines
    };
    let all = record("");
    let one = record("portable::conv2d_q8<u8,i16,u8>");
    assert_eq!(one.len(), 5);
    assert!(one.iter().all(|l| all.contains(l)), "the same case draws the same geometry");
    assert_eq!(all, record(""));
}

// ------------------------------------------------------------------ the suite can fail

/// `conv2d_q8` with one output element off by one.
#[allow(clippy::too_many_arguments)]
fn conv_off_by_one(
    p: &Conv2d,
    x_zp: i32,
    out: &QOut,
    mult: &[i32],
    shift: &[i32],
    x: &[i8],
    w: &[i8],
    bias: &[i32],
    acc: &mut [i32],
    y: &mut [i8],
) {
    portable::conv2d_q8(p, x_zp, out, mult, shift, x, w, bias, acc, y);
    if let Some(v) = y.get_mut(p.output_len() - 1) {
        *v = v.wrapping_add(1);
    }
}

/// `gemm_f32` with one element off by 0.01.
fn gemm_slightly_off(p: &Gemm, act: Clamp, a: &[f32], b: &[f32], c: &[f32], y: &mut [f32]) {
    portable::gemm_f32(p, act, a, b, c, y);
    if let Some(v) = y.first_mut() {
        *v += 0.01;
    }
}

/// `copy` that also writes one element past the copied ones.
fn copy_one_too_many(x: &[f32], y: &mut [f32]) {
    portable::copy(x, y);
    if let Some(v) = y.get_mut(x.len()) {
        *v = 0.0;
    }
}

const BROKEN: &[Entry] = &[
    entry!(conv::conv2d_q8, "broken conv2d_q8 vs reference", conv_off_by_one),
    entry!(conv::conv2d_q8, "broken conv2d_q8 vs twin", conv_off_by_one, twin = portable::conv2d_q8::<i8, i8, i8>),
    entry!(gemm::gemm_f32, "broken gemm_f32 vs reference", gemm_slightly_off),
    entry!(gemm::gemm_f32, "broken gemm_f32 vs twin", gemm_slightly_off, twin = portable::gemm_f32),
    entry!(copy::copy, "broken copy vs reference", copy_one_too_many),
];

#[test]
fn a_wrong_kernel_fails_against_the_reference_and_against_its_twin() {
    let mut fails: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut first: BTreeMap<&'static str, String> = BTreeMap::new();
    let summary = run_entries(BROKEN, SEED, 40, "", &mut |r: &CaseResult| {
        if let Some(m) = r.mismatch {
            *fails.entry(r.kernel).or_default() += 1;
            first.entry(r.kernel).or_insert_with(|| r.to_string());
            if r.kernel.contains("conv2d_q8") {
                assert!(matches!((m.got, m.want), (Num::Int(g), Num::Int(w)) if g == (w as i8).wrapping_add(1) as i64));
            }
        }
    });
    for line in first.values() {
        println!("{line}");
    }
    assert_eq!(summary.kernels, 5);
    // Every case of the corrupted integer convolution has an output to corrupt.
    assert_eq!(fails.get("broken conv2d_q8 vs reference"), Some(&40));
    assert_eq!(fails.get("broken conv2d_q8 vs twin"), Some(&40));
    // An error of 0.01 is far outside the float tolerance (at most about 5e-4 here).
    assert_eq!(fails.get("broken gemm_f32 vs reference"), Some(&40));
    assert_eq!(fails.get("broken gemm_f32 vs twin"), Some(&40));
    // The write past the copy lands in the slack when the output is longer.
    assert!(fails.get("broken copy vs reference").is_some_and(|&n| n >= 10));
}

#[test]
fn a_kernel_checked_against_itself_as_twin_passes() {
    const SELF: &[Entry] = &[
        entry!(
            conv::conv2d_q8,
            "conv2d_q8 twin",
            portable::conv2d_q8::<u8, i16, u8>,
            twin = portable::conv2d_q8::<u8, i16, u8>
        ),
        entry!(gemm::gemm_f32, "gemm_f32 twin", portable::gemm_f32, twin = portable::gemm_f32),
    ];
    let summary = run_entries(SELF, SEED, 40, "", &mut |r: &CaseResult| assert!(r.passed(), "{r}"));
    assert_eq!((summary.passed, summary.failed), (80, 0));
}

// ------------------------------------------------------------------ the cases are meaningful

/// Share of a quantised kernel's outputs strictly inside the output clamp, over `cases`
/// cases: requantisation rounding is only exercised where outputs do not saturate.
fn unsaturated_share<R>(cases: u32, mut case: impl FnMut(&mut Rng, &mut Text, &dyn Fn(&QOut, &[i8])) -> R) -> f64 {
    let counts = std::cell::Cell::new((0usize, 0usize));
    let tally = |out: &QOut, y: &[i8]| {
        let inside = y.iter().filter(|&&v| (v as i32) > out.min && (v as i32) < out.max).count();
        let (a, b) = counts.get();
        counts.set((a + inside, b + y.len()));
    };
    for c in 0..cases {
        let mut rng = Rng::new(SEED ^ c as u64);
        case(&mut rng, &mut Text::new(), &tally);
    }
    let (inside, all) = counts.get();
    inside as f64 / all.max(1) as f64
}

#[test]
fn most_requantised_outputs_do_not_saturate() {
    let conv = unsaturated_share(200, |rng, geo, tally| {
        let imp = |p: &Conv2d,
                   zp,
                   out: &QOut,
                   m: &[i32],
                   s: &[i32],
                   x: &[i8],
                   w: &[i8],
                   b: &[i32],
                   acc: &mut [i32],
                   y: &mut [i8]| {
            portable::conv2d_q8(p, zp, out, m, s, x, w, b, acc, y);
            tally(out, &y[..p.output_len()]);
        };
        conv::conv2d_q8(rng, geo, imp, Want::reference_for(&imp))
    });
    let fc = unsaturated_share(200, |rng, geo, tally| {
        let imp = |p: &Gemm,
                   out: &QOut,
                   m: &[i32],
                   s: &[i32],
                   a: &[i8],
                   w: &[i8],
                   b: &[i32],
                   acc: &mut [i32],
                   y: &mut [i8]| {
            portable::gemm_q8(p, out, m, s, a, w, b, acc, y);
            tally(out, &y[..p.m * p.n]);
        };
        gemm::gemm_q8(rng, geo, imp, Want::reference_for(&imp))
    });
    let add = unsaturated_share(200, |rng, geo, tally| {
        let imp = |p: &Broadcast, q: &QAdd, out: &QOut, a: &[i8], b: &[i8], y: &mut [i8]| {
            portable::add_q8(p, q, out, a, b, y);
            tally(out, &y[..p.shape[..p.rank].iter().product()]);
        };
        elementwise::add_q8(rng, geo, imp, Want::reference_for(&imp))
    });
    let mul = unsaturated_share(200, |rng, geo, tally| {
        let imp = |p: &Broadcast, q: &QMul, out: &QOut, a: &[i8], b: &[i8], y: &mut [i8]| {
            portable::mul_q8(p, q, out, a, b, y);
            tally(out, &y[..p.shape[..p.rank].iter().product()]);
        };
        elementwise::mul_q8(rng, geo, imp, Want::reference_for(&imp))
    });
    let avg = unsaturated_share(200, |rng, geo, tally| {
        let imp = |p: &Pool2d, zp, out: &QOut, m, s, x: &[i8], acc: &mut [i32], y: &mut [i8]| {
            portable::avg_pool2d_q8(p, zp, out, m, s, x, acc, y);
            tally(out, &y[..p.output_len()]);
        };
        pool::avg_pool2d_q8(rng, geo, imp, Want::reference_for(&imp))
    });
    let shares = [("conv2d_q8", conv), ("gemm_q8", fc), ("add_q8", add), ("mul_q8", mul), ("avg_pool2d_q8", avg)];
    println!("unsaturated outputs: {shares:.2?}");
    for (kernel, share) in shares {
        assert!(share > 0.4, "{kernel}: only {share:.2} of the outputs are inside the clamp");
    }
}

#[test]
fn floats_in_reports_are_formatted_without_core_float_formatting() {
    use super::harness::Sci;
    let cases: [(f32, &str); 10] = [
        (0.5, "5e-1"),
        (6.0, "6"),
        (-0.945_260_05, "-9.45260048e-1"),
        (1e-2, "9.99999978e-3"),
        (123.25, "1.2325e2"),
        (f32::MAX, "3.40282347e38"),
        (1e-45, "1.40129846e-45"),
        (-0.0, "-0"),
        (f32::NEG_INFINITY, "-inf"),
        (f32::NAN, "NaN"),
    ];
    for (v, text) in cases {
        assert_eq!(Sci(v).to_string(), text);
        // Nine significant digits identify every f32.
        if v.is_finite() {
            assert_eq!(text.parse::<f32>().ok(), Some(v), "{text}");
        }
    }
}
