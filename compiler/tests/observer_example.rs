//! The example firmware `targets/examples/observer-cortex-m4`: its observer times
//! every layer of the demo model with SysTick under QEMU's `-icount shift=0` and prints
//! per-layer instruction counts. Built and run with the README's command; the sum of
//! its layers must be within 2 % of `tinyops bench`'s instruction count for the same
//! model and target, and its layers are printed beside `bench --steps`'s (the count
//! of the project's QEMU plugin between markers around each step).
//!
//! Cost: one small firmware build (the demo model; `core` and the macro's build of the
//! compiler are shared with the other cortex-m4 example) and two bench firmware builds:
//! 4.9 s measured in a full `cargo test --workspace` with them cached, 231 s measured
//! with the macro's compiler to rebuild after a compiler change. Needs the cross
//! tools `.ci/all-tests` installs; fails with the install line without them.

use std::path::Path;
use std::process::Output;
use tinyops_compiler::driver::bench::{bench, BenchOptions};
use tinyops_compiler::driver::firmware::{cross_cargo, target_cache};
use tinyops_compiler::driver::toolchain::{self, Need};
use tinyops_compiler::Options;

const EXAMPLE: &str = "../targets/examples/observer-cortex-m4";

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// One `layer …` line of the firmware: (op, instructions, node).
fn layers(stdout: &str) -> Vec<(String, u64, String)> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("layer "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // step op ticks "ticks" instructions "instructions" node
            assert!(f.len() >= 6 && f[3] == "ticks" && f[5] == "instructions", "unexpected line `{l}`");
            (f[1].to_string(), f[4].parse().unwrap(), f.get(6).unwrap_or(&"").to_string())
        })
        .collect()
}

#[test]
fn observer_example_counts_layers_within_2_percent_of_bench() {
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let tc = toolchain::check(t, Need::Measure).unwrap_or_else(|e| panic!("{e}"));
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(EXAMPLE).canonicalize().unwrap();
    let config = std::fs::read_to_string(example.join(".cargo/config.toml")).unwrap();
    assert!(config.contains("-machine mps2-an386 -icount shift=0 "), "the runner must use -icount:\n{config}");

    // The README's command, sharing the cortex-m4 firmware target folder, under a
    // watchdog that ends QEMU too if the firmware hangs.
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
    let build = cargo(&["build", "--release", "--locked"]);
    assert!(build.status.success(), "the example does not build:\n{}", text(&build));
    let run = cargo(&["run", "--release", "--locked", "--quiet"]);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "the example failed:\n{}", text(&run));
    let ours = layers(&stdout);

    // bench: the whole inference, and step by step.
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/model.onnx");
    let opts = BenchOptions {
        compile: Options { target: t, ..Options::default() },
        quiet: true,
        steps: true,
        ..BenchOptions::default()
    };
    let b = bench(&demo, &opts).unwrap();
    let total = b.instructions.unwrap();
    let sum: u64 = ours.iter().map(|l| l.1).sum();

    println!("{:>4}  {:<14}  {:>12}  {:>12}  node", "step", "op", "observer", "bench --steps");
    for (i, s) in b.steps.iter().enumerate() {
        let o = ours.get(i).map(|l| l.1.to_string()).unwrap_or_else(|| "-".into());
        println!("{i:>4}  {:<14}  {o:>12}  {:>12}  {}", s.op, s.instructions, s.node);
    }
    let steps_sum: u64 = b.steps.iter().map(|s| s.instructions).sum();
    let diff = (sum as f64 - total as f64) / total as f64;
    println!("observer sum {sum}, bench total {total} ({:+.2}%), bench --steps sum {steps_sum}", 100.0 * diff);
    assert_eq!(ours.len(), b.steps.len(), "one observed layer per step of the program:\n{stdout}");
    for (o, s) in ours.iter().zip(&b.steps) {
        assert_eq!(o.0, s.op, "the observer sees the program's ops in order");
        assert_eq!(o.2, s.node.split_whitespace().next().unwrap_or(""), "and their node names");
    }
    assert!(diff.abs() <= 0.02, "the observer's sum {sum} is not within 2 % of bench's {total}:\n{stdout}");
}
