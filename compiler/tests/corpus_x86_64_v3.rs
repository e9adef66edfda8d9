//! The `x86-64-v3` target (AVX2/FMA kernels) on the models its latency is measured on
//! (every MLPerf Tiny fp32 and int8 model and `torch_mobilenetv2_035_96`):
//! `tinyops verify` against the corpus references, as on `host`, and the generated
//! code against the reference evaluator on seeded random inputs — integer models bit
//! for bit (the portable kernels agree with the evaluator bit for bit too, see
//! `second_opinion.rs`, so the integer results are unchanged), float models within
//! rounding. Needs a machine with AVX2 and FMA: it says so and fails elsewhere.

mod common;

use tinyops_compiler::driver::verify::{build_harness, run_harness, verify, VerifyOptions};
use tinyops_compiler::ir::{DType, Data, Tensor};
use tinyops_compiler::{compile, eval, Options};

fn target() -> &'static tinyops_targets::Target {
    assert!(
        tinyops_compiler::driver::host_cpu::check(tinyops_targets::lookup("x86-64-v3").unwrap()).is_ok(),
        "this suite runs x86-64-v3 code: the machine needs AVX2 and FMA"
    );
    tinyops_targets::lookup("x86-64-v3").unwrap()
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

fn check(id: &str) {
    let t = target();
    let dir = common::corpus().join(id);
    let opts =
        VerifyOptions { quiet: true, compile: Options { target: t, ..Options::default() }, ..Default::default() };
    let r = verify(&dir, &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    print!("{}", r.to_text());
    assert!(r.passed, "{id} failed on x86-64-v3:\n{}", r.to_text());

    let c = compile(&dir.join("model.onnx"), &opts.compile).unwrap();
    let lib = &c.generated.code;
    for k in ["portable::conv2d_f32", "portable::depthwise_conv2d_", "portable::conv2d_q8"] {
        assert!(!lib.contains(k), "{id}: a convolution still calls {k}");
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
                _ => assert_eq!(a.data, b.data, "{id} set {set} output {k}: x86-64-v3 code and the evaluator differ"),
            }
        }
    }
}

macro_rules! x86_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

x86_tests! {
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
}

/// The runtime's kernel suite built with `-C target-cpu=x86-64-v3`, so that its table
/// holds the AVX2/FMA kernels checked against their portable twins (a plain `cargo
/// test -p tinyops-runtime` builds for baseline x86-64, without them).
#[test]
fn kernel_suite_checks_the_avx2_kernels_against_their_twins() {
    target();
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("cpu-x86-64-v3");
    let out = tinyops_compiler::driver::cargo::cargo()
        .args(["test", "--release", "-p", "tinyops-runtime", "--lib", "every_kernel", "--manifest-path"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-core/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir)
        .args(["--config", "build.rustflags=[\"-C\", \"target-cpu=x86-64-v3\"]", "--", "--nocapture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    print!("{stdout}");
    assert!(stdout.contains(", 0 failed in "), "{stdout}");
    assert!(
        stdout.contains("per-ISA twins in this build: 10\n"),
        "the four x86_avx2 kernels (the float convolution twice: any layer, and the first layers' path), the in-place runs of its two quantised convolutions and its three streamed pairs are not in the suite:\n{stdout}"
    );
}
