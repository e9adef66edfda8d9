//! The `build.rs` interface end to end: `Builder` writes a module into a folder, a
//! crate `include!`s it, builds, runs the demo input and matches onnxruntime.

mod common;

use std::path::PathBuf;
use tinyops_compiler::build::Builder;
use tinyops_compiler::driver::testdata::load_sets;

#[test]
fn a_crate_includes_the_generated_module_and_gets_the_reference_result() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo");
    let dir = common::tempdir("build-script");
    let rs = Builder::new(demo.join("model.onnx"))
        .target("host")
        .module_name("demo")
        .out_dir(dir.join("src"))
        .generate()
        .unwrap();
    assert_eq!(rs, dir.join("src/demo.rs"));
    assert!(dir.join("src/demo.weights").read_dir().unwrap().count() > 0, "weight files beside the module");

    let sets = load_sets(&demo).unwrap();
    let input: Vec<String> = sets[0].inputs[0].data.to_f32_vec().iter().map(|v| format!("{v:?}")).collect();
    let runtime = tinyops_compiler::runtime_path().canonicalize().unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"uses-demo\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n\
             tinyops-runtime = {{ path = {:?} }}\n\n[workspace]\n",
            runtime.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "mod demo {{ include!(\"demo.rs\"); }}\n\
             fn main() {{\n    let input: [f32; 256] = [{}];\n    let mut output = [0f32; 10];\n    \
             let mut arena = demo::Arena::new();\n    demo::Model::new(&mut arena).run(&input, &mut output);\n    \
             for v in output {{ println!(\"{{v:?}}\"); }}\n}}\n",
            input.join(", ")
        ),
    )
    .unwrap();
    let out = tinyops_compiler::driver::cargo::cargo()
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(tinyops_compiler::driver::cargo::target_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Vec<f32> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.parse().unwrap()).collect();
    let want = sets[0].outputs[0].data.to_f32_vec();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-4 + 1e-4 * w.abs(), "{got:?} vs {want:?}");
    }
}
