//! The x86-64 host targets on the models their latency is measured on: `x86-64-v3`
//! (AVX2/FMA kernels) on every MLPerf Tiny fp32 and int8 model and
//! `torch_mobilenetv2_035_96`, and `x86-64-v4-vnni` (its VNNI 8-bit convolution, AVX2
//! elsewhere) on every MLPerf int8 model, the only ones whose kernels differ from
//! `x86-64-v3`'s: `tinyops verify` against the corpus references, as on `host`, and
//! the generated code against the reference evaluator on seeded random inputs —
//! integer models bit for bit (the portable kernels agree with the evaluator bit for
//! bit too, see `second_opinion.rs`, so the integer results are unchanged), float
//! models within rounding. Needs a machine with the target's features (AVX2 and FMA;
//! AVX-512 VNNI for the second): it says so and fails elsewhere.

mod common;

use tinyops_compiler::driver::verify::{build_harness, run_harness, verify, VerifyOptions};
use tinyops_compiler::ir::{DType, Data, Tensor};
use tinyops_compiler::{compile, eval, Options};

fn target(name: &str) -> &'static tinyops_targets::Target {
    let t = tinyops_targets::lookup(name).unwrap();
    assert!(
        tinyops_compiler::driver::host_cpu::check(t).is_ok(),
        "this suite runs {name} code: the machine needs {:?}",
        t.features
    );
    t
}

fn random_input(dtype: DType, shape: &[usize], seed: &mut u64) -> Tensor {
    let mut next = || {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    };
    let n: usize = shape.iter().product();
    let data = match dtype {
        DType::F32 => Data::F32((0..n).map(|_| (next() % 20001) as f32 / 10000.0 - 1.0).collect()),
        DType::I8 => Data::I8((0..n).map(|_| next() as u8 as i8).collect()),
        other => panic!("no random inputs for {other}"),
    };
    Tensor { shape: shape.to_vec(), data }
}

/// `id` on target `name`, whose generated code must call `kernel` (when given).
fn check(id: &str, name: &str, kernel: Option<&str>) {
    let t = target(name);
    let dir = common::corpus().join(id);
    let opts =
        VerifyOptions { quiet: true, compile: Options { target: t, ..Options::default() }, ..Default::default() };
    let r = verify(&dir, &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    print!("{}", r.to_text());
    assert!(r.passed, "{id} failed on {name}:\n{}", r.to_text());

    let c = compile(&dir.join("model.onnx"), &opts.compile).unwrap();
    let lib = &c.generated.code;
    for k in ["portable::conv2d_f32", "portable::depthwise_conv2d_", "portable::conv2d_q8"] {
        assert!(!lib.contains(k), "{id}: a convolution still calls {k}");
    }
    if let Some(k) = kernel {
        assert!(lib.contains(k), "{id}: no call of {k} on {name}");
    }
    let exe = build_harness(&c, true).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let inputs: Vec<Vec<Tensor>> = (0..2)
        .map(|_| {
            c.graph
                .inputs()
                .iter()
                .map(|&v| random_input(c.graph.ty(v).dtype, &c.graph.ty(v).shape, &mut seed))
                .collect()
        })
        .collect();
    let refs: Vec<&[Tensor]> = inputs.iter().map(Vec::as_slice).collect();
    let got = run_harness(&exe, &c, &refs).unwrap();
    for (set, (ins, outs)) in inputs.iter().zip(&got).enumerate() {
        let want = eval::run(&c.graph, ins).unwrap();
        for (k, (a, b)) in outs.iter().zip(&want).enumerate() {
            match (&a.data, &b.data) {
                (Data::F32(x), Data::F32(y)) => {
                    for (i, (p, q)) in x.iter().zip(y).enumerate() {
                        assert!((p - q).abs() <= 1e-4 + 1e-4 * q.abs(), "{id} set {set} output {k}[{i}]: {p} vs {q}");
                    }
                }
                _ => assert_eq!(a.data, b.data, "{id} set {set} output {k}: {name} code and the evaluator differ"),
            }
        }
    }
}

macro_rules! x86_tests {
    ($module:ident, $target:literal, $kernel:expr, [$($name:ident),* $(,)?]) => {
        mod $module {
            $(
                #[test]
                fn $name() {
                    super::check(stringify!($name), $target, $kernel);
                }
            )*
        }
    };
}

x86_tests!(
    x86_64_v3,
    "x86-64-v3",
    None,
    [
        mlperf_ad_autoencoder_fp32,
        mlperf_ic_resnet8_fp32,
        mlperf_ic_resnet_large_fp32,
        mlperf_kws_dscnn_fp32,
        mlperf_vww_mbv1_fp32,
        torch_mobilenetv2_035_96,
        mlperf_ad_autoencoder_int8,
        mlperf_ic_resnet8_int8,
        mlperf_ic_resnet_large_int8,
        mlperf_kws_dscnn_int8,
        mlperf_sww_int8,
        mlperf_vww_mbv1_int8,
    ]
);

// The autoencoder has no convolution: the VNNI kernel has nothing to take there.
x86_tests!(
    x86_64_v4_vnni,
    "x86-64-v4-vnni",
    Some("x86_vnni::conv2d_q8"),
    [mlperf_ic_resnet8_int8, mlperf_ic_resnet_large_int8, mlperf_kws_dscnn_int8, mlperf_sww_int8, mlperf_vww_mbv1_int8,]
);

/// The runtime's kernel suite built with a host target's flags, so that its table
/// holds that target's kernels checked against their portable twins (a plain `cargo
/// test -p tinyops-runtime` builds for baseline x86-64, without them); `twins` is how
/// many per-ISA lines the build must have.
fn kernel_suite(name: &str, twins: usize) {
    let t = target(name);
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join(format!("cpu-{name}"));
    let flags: Vec<String> =
        tinyops_compiler::driver::cargo::host_rustflags(t).iter().map(|f| format!("\"{f}\"")).collect();
    let out = tinyops_compiler::driver::cargo::cargo()
        .args(["test", "--release", "-p", "tinyops-runtime", "--lib", "every_kernel", "--manifest-path"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-core/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .args(["--config", &format!("build.rustflags=[{}]", flags.join(", ")), "--", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    print!("{stdout}");
    assert!(stdout.contains(", 0 failed in "), "{stdout}");
    assert!(stdout.contains(&format!("per-ISA twins in this build: {twins}\n")), "{stdout}");
}

/// The AVX2/FMA kernels: the five x86_avx2 kernels (the float convolution four
/// times: any layer, the first layers' path, the 1-D and the 2-D Winograd paths), the
/// in-place runs of its two quantised convolutions and its three streamed pairs.
#[test]
fn kernel_suite_checks_the_avx2_kernels_against_their_twins() {
    kernel_suite("x86-64-v3", 13);
}

/// With AVX-512 VNNI, the same thirteen and the VNNI convolution: with the scratch it asks
/// for, with scratch for its receptive fields only, and streamed into the AVX2
/// depthwise one.
#[test]
fn kernel_suite_checks_the_vnni_kernel_against_its_twin() {
    kernel_suite("x86-64-v4-vnni", 16);
}
