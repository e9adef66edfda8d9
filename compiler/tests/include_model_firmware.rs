//! The example firmware `targets/examples/include-model-cortex-m4`: `include_model!`
//! compiles the demo model into a Cortex-M4 firmware with RAM and flash budgets. It is
//! built and run with exactly the command the README gives (`RUSTC_BOOTSTRAP=1 cargo
//! run --release` in its folder; its `.cargo/config.toml` runs the image on QEMU's
//! mps2-an386), and must print the class onnxruntime predicts for the demo's
//! reference input. Its cross configuration must agree with the one tinyops writes for
//! its own cortex-m4 firmware.
//!
//! Needs the cross tools `.ci/all-tests` installs; fails with the install line without
//! them.

use std::path::Path;
use std::process::Output;
use tinyops_compiler::driver::firmware::{cross_cargo, source, target_cache};
use tinyops_compiler::driver::testdata::read_pb;
use tinyops_compiler::driver::toolchain::{self, Need};

const EXAMPLE: &str = "../targets/examples/include-model-cortex-m4";

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn include_model_example_runs_on_cortex_m4_in_qemu_and_predicts_the_reference_class() {
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let tc = toolchain::check(t, Need::Run).unwrap_or_else(|e| panic!("{e}"));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE).canonicalize().unwrap();

    // The example's cross build is the one tinyops uses for cortex-m4 firmware.
    let config = std::fs::read_to_string(example.join(".cargo/config.toml")).unwrap();
    let ours = source::config_toml(t, t.triple.unwrap(), "/usr/bin/rustc", "/usr/bin/rustdoc", tc.linker, tc.link_args);
    for line in ours.lines().filter(|l| l.contains(" = ") && !l.starts_with('#')) {
        assert!(config.lines().any(|l| l == line), "the example's config lacks `{line}`:\n{config}");
    }
    let board = t.emulator.unwrap();
    assert!(config.contains(&format!("runner = \"{} -machine {} ", board.program, board.machine)), "{config}");

    // The README's command, in the example's folder, sharing the cortex-m4 firmware
    // target folder (so `core` is compiled once). `--locked`: the committed Cargo.lock
    // is complete (after a dependency change, refresh it with `cargo update -w` there).
    // Built first, then run under a watchdog that ends QEMU too if the firmware hangs.
    let cargo = |args: &[&str]| {
        let mut c = cross_cargo(&tc, &example);
        c.env("CARGO_TARGET_DIR", target_cache(t).join("target"));
        let mut cmd = std::process::Command::new("timeout");
        cmd.args(["--kill-after=5", "900"]).arg(c.get_program()).args(args).current_dir(&example);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.output().expect("running cargo")
    };
    let t0 = std::time::Instant::now();
    let build = cargo(&["build", "--release", "--locked"]);
    assert!(build.status.success(), "the example does not build:\n{}", text(&build));
    let built = t0.elapsed().as_secs_f64();
    let run = cargo(&["run", "--release", "--locked", "--quiet"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("{stdout}(built in {built:.1} s, ran in {:.1} s)", t0.elapsed().as_secs_f64() - built);
    assert!(run.status.success(), "the example failed:\n{}", text(&run));

    // The class onnxruntime predicts, read independently of the firmware.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/test_data_set_0");
    let reference = read_pb(&demo.join("output_0.pb")).unwrap();
    let probs = reference.as_f32().unwrap();
    let class = (0..probs.len()).fold(0, |best, i| if probs[i] > probs[best] { i } else { best });
    assert!(stdout.starts_with("tinyops demo model on cortex-m4: arena "), "{stdout}");
    assert!(stdout.contains(&format!("\npredicted class: {class}\n")), "expected class {class}:\n{stdout}");
    assert!(stdout.contains(&format!("\nreference class: {class} (onnxruntime)")), "{stdout}");
    assert!(stdout.contains("\nself-test PASS\n"), "the module's self-test failed on the device:\n{stdout}");
    assert!(stdout.contains("\nmanifest "), "{stdout}");
    assert!(stdout.ends_with("\nmatch\n"), "{stdout}");
}
