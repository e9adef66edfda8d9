//! The emulator suite: `verify` of the MLPerf Tiny models as firmware in QEMU, through
//! the same code path as `tinyops verify --target T`: every int8 and fp32 model on
//! cortex-m4 (mps2-an386), every int8 model on cortex-m33 (mps2-an505), cortex-m55
//! (mps3-an547) and riscv32imac (virt). Outputs are judged exactly as on the host
//! (same tolerance, same int8 step criterion, same extra references).
//!
//! One firmware build per (model, target); `core` and the firmware's dependencies are
//! built once per target in the cache folder. Needs the cross tools `.ci/all-tests`
//! installs; fails with the install line without them.

mod common;

use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::Options;

fn check(id: &str, target: &str, machine: &str) {
    let opts = VerifyOptions {
        compile: Options { target: tinyops_targets::lookup(target).unwrap(), ..Options::default() },
        quiet: true,
        ..Default::default()
    };
    let t0 = std::time::Instant::now();
    let r = verify(&common::corpus().join(id), &opts).unwrap_or_else(|e| panic!("{id} on {target}: {e}"));
    print!("{}", r.to_text());
    println!("  ({id} on {target}: {:.1} s)", t0.elapsed().as_secs_f64());
    assert!(r.passed, "{id} failed on {target}:\n{}", r.to_text());
    assert_eq!(r.ran_on.as_deref(), Some(machine), "{id} must run on qemu {machine}");
    assert!(r.flash_bytes.is_some() && r.ram_bytes.is_some() && r.stack_bytes.is_some(), "{id}: footprint");
}

/// One module per target: a test per model, and the list of the models.
macro_rules! suite {
    ($module:ident, $target:literal on $machine:literal: $($id:ident),* $(,)?) => {
        mod $module {
            /// The models this target runs.
            pub const MODELS: &[&str] = &[$(stringify!($id)),*];
            $(
                #[test]
                fn $id() {
                    super::check(stringify!($id), $target, $machine);
                }
            )*
        }
    };
}

suite! { cortex_m4, "cortex-m4" on "mps2-an386":
    mlperf_ad_autoencoder_int8,
    mlperf_ic_resnet8_int8,
    mlperf_ic_resnet_large_int8,
    mlperf_kws_dscnn_int8,
    mlperf_sww_int8,
    mlperf_vww_mbv1_int8,
    mlperf_ad_autoencoder_fp32,
    mlperf_ic_resnet8_fp32,
    mlperf_ic_resnet_large_fp32,
    mlperf_kws_dscnn_fp32,
    mlperf_vww_mbv1_fp32,
}

suite! { cortex_m33, "cortex-m33" on "mps2-an505":
    mlperf_ad_autoencoder_int8,
    mlperf_ic_resnet8_int8,
    mlperf_ic_resnet_large_int8,
    mlperf_kws_dscnn_int8,
    mlperf_sww_int8,
    mlperf_vww_mbv1_int8,
}

suite! { cortex_m55, "cortex-m55" on "mps3-an547":
    mlperf_ad_autoencoder_int8,
    mlperf_ic_resnet8_int8,
    mlperf_ic_resnet_large_int8,
    mlperf_kws_dscnn_int8,
    mlperf_sww_int8,
    mlperf_vww_mbv1_int8,
}

suite! { riscv32imac, "riscv32imac" on "virt":
    mlperf_ad_autoencoder_int8,
    mlperf_ic_resnet8_int8,
    mlperf_ic_resnet_large_int8,
    mlperf_kws_dscnn_int8,
    mlperf_sww_int8,
    mlperf_vww_mbv1_int8,
}

/// The corpus models whose folder name matches `mlperf_*_<suffix>`.
fn corpus_models(suffix: &str) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(common::corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|id| id.starts_with("mlperf_") && id.ends_with(suffix))
        .collect();
    found.sort();
    found
}

fn sorted(models: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = models.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn every_mlperf_int8_and_fp32_model_is_in_the_suite() {
    let int8 = corpus_models("_int8");
    let mut all = [int8.clone(), corpus_models("_fp32")].concat();
    all.sort();
    assert!(int8.len() >= 6, "the corpus has the six MLPerf int8 models: {int8:?}");
    assert_eq!(sorted(cortex_m4::MODELS), all, "cortex-m4 runs every MLPerf int8 and fp32 model");
    assert_eq!(sorted(cortex_m33::MODELS), int8, "cortex-m33 runs every MLPerf int8 model");
    assert_eq!(sorted(cortex_m55::MODELS), int8, "cortex-m55 runs every MLPerf int8 model");
    assert_eq!(sorted(riscv32imac::MODELS), int8, "riscv32imac runs every MLPerf int8 model");
}
