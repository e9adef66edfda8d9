//! `tinyops verify`: compile a model, build it with the host harness, run it on the
//! reference inputs and compare with every reference present.

use super::compare::{compare, OutputCheck, Tolerance};
use super::progress::Step;
use super::testdata::{load_sets, read_npy, DataSet};
use super::{cargo, harness};
use crate::error::{Error, Result};
use crate::ir::{Data, Tensor};
use crate::{compile, Compilation, Options};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Options of a verification.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Compilation options.
    pub compile: Options,
    /// Folder holding `test_data_set_*` (default: the model's folder).
    pub data: Option<PathBuf>,
    /// Float tolerance.
    pub tolerance: Tolerance,
    /// No progress lines.
    pub quiet: bool,
}

/// Results for one data set.
#[derive(Debug, Clone, Serialize)]
pub struct SetResult {
    /// Folder name.
    pub name: String,
    /// One check per output and reference.
    pub checks: Vec<OutputCheck>,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The model file.
    pub model: String,
    /// The target.
    pub target: String,
    /// Arena bytes of the generated module.
    pub arena_bytes: usize,
    /// Weight bytes of the generated module.
    pub weight_bytes: usize,
    /// Per data set.
    pub sets: Vec<SetResult>,
    /// Every output passes against at least one reference in every set.
    pub passed: bool,
    /// Seconds spent compiling, building and running.
    pub seconds: [f64; 3],
}

/// The model file for a path that is either the file or its folder.
pub fn resolve_model(path: &Path) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let default = path.join("model.onnx");
    if default.exists() {
        return Ok(default);
    }
    let onnx: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::io(path, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
        .collect();
    match onnx.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Options(format!("{} contains no .onnx file", path.display()))),
        _ => Err(Error::Options(format!("{} contains several .onnx files; name one", path.display()))),
    }
}

/// Writes the model crate and its harness under the cache; builds; returns the binary.
pub fn build_harness(c: &Compilation, quiet: bool) -> Result<PathBuf> {
    let work = super::cache_dir().join("work").join(format!("{}-{}", c.crate_name(), &c.sha256[..12]));
    let model_dir = work.join("model");
    c.write_crate(&model_dir, None)?;
    let bin = format!("tinyops-harness-{}", c.crate_name());
    let hdir = work.join("harness");
    let toml = harness::cargo_toml(&bin, &c.crate_name(), &model_dir.display().to_string());
    std::fs::create_dir_all(hdir.join("src")).map_err(|e| Error::io(&hdir, e))?;
    for (p, s) in [(hdir.join("Cargo.toml"), toml), (hdir.join("src/main.rs"), harness::main_rs(c))] {
        if std::fs::read_to_string(&p).ok().as_deref() != Some(s.as_str()) {
            std::fs::write(&p, s).map_err(|e| Error::io(&p, e))?;
        }
    }
    let step = Step::start(
        format!("building the generated crate (cargo build --release, target dir {})", cargo::target_dir().display()),
        quiet,
    );
    let exe = cargo::build_release_bin(&hdir.join("Cargo.toml"), &bin)?;
    step.done();
    Ok(exe)
}

/// Serialises input sets in the harness wire format.
pub fn encode_sets(sets: &[&[Tensor]]) -> Vec<u8> {
    let mut b = (sets.len() as u32).to_le_bytes().to_vec();
    for s in sets {
        for t in *s {
            b.extend(t.data.to_le_bytes());
        }
    }
    b
}

/// Runs a harness binary on input sets; returns outputs per set.
pub fn run_harness(exe: &Path, c: &Compilation, sets: &[&[Tensor]]) -> Result<Vec<Vec<Tensor>>> {
    let fail = |detail: String| Error::Driver { step: format!("running {}", exe.display()), detail };
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let input = encode_sets(sets);
    let mut stdin = child.stdin.take().ok_or_else(|| fail("no stdin".into()))?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(fail(format!("exit status {}: {}", out.status, String::from_utf8_lossy(&out.stderr))));
    }
    let g = &c.graph;
    let mut bytes: &[u8] = &out.stdout;
    let mut result = vec![];
    for _ in 0..sets.len() {
        let mut outs = vec![];
        for &o in g.outputs() {
            let ty = g.ty(o);
            let n = ty.bytes();
            if bytes.len() < n {
                return Err(fail("the harness wrote fewer bytes than the outputs need".into()));
            }
            let data = Data::from_le_bytes(ty.dtype, &bytes[..n]).ok_or_else(|| fail("partial element".into()))?;
            bytes = &bytes[n..];
            outs.push(Tensor { shape: ty.shape.clone(), data });
        }
        result.push(outs);
    }
    Ok(result)
}

/// The inputs of a data set that the compiled model takes at run time: the set holds
/// one per declared graph input; frozen ones are compiled in and dropped here. Fails
/// when the set does not fit the model.
pub fn runtime_inputs(c: &Compilation, set: &DataSet) -> Result<Vec<Tensor>> {
    let g = &c.graph;
    let bad = |detail: String| Error::Driver { step: format!("reading {}", set.name), detail };
    if set.inputs.len() != c.declared_inputs.len() || set.outputs.len() != g.outputs().len() {
        return Err(bad(format!(
            "it has {} inputs and {} outputs; the model has {} and {}",
            set.inputs.len(),
            set.outputs.len(),
            c.declared_inputs.len(),
            g.outputs().len()
        )));
    }
    let mut kept = vec![];
    for (t, name) in set.inputs.iter().zip(&c.declared_inputs) {
        if g.inputs().iter().any(|&v| &g.value(v).name == name) {
            kept.push(t.clone());
        }
    }
    if kept.len() != g.inputs().len() {
        return Err(bad(format!(
            "{} of its inputs are run-time inputs; the model takes {}",
            kept.len(),
            g.inputs().len()
        )));
    }
    for (i, (t, &v)) in kept.iter().zip(g.inputs()).enumerate() {
        let ty = g.ty(v);
        if t.dtype() != ty.dtype || t.numel() != ty.numel() {
            return Err(bad(format!("input {i} is {}{:?} but the model takes {ty}", t.dtype(), t.shape)));
        }
    }
    Ok(kept)
}

/// Extra references shipped beside the model (onnxruntime optimised, TFLite).
fn extra_references(dir: &Path, n_out: usize) -> Vec<(String, Vec<Tensor>)> {
    let mut refs = vec![];
    let ort: Option<Vec<Tensor>> =
        (0..n_out).map(|k| read_npy(&dir.join(format!("output_{k}_ort_optimized.npy"))).ok()).collect();
    if let Some(t) = ort {
        refs.push(("onnxruntime-optimised".to_string(), t));
    }
    let tfl: Option<Vec<Tensor>> =
        (0..n_out).map(|k| read_npy(&dir.join(format!("outputs_tflite/output_{k}.npy"))).ok()).collect();
    if let Some(t) = tfl {
        refs.push(("tflite".to_string(), t));
    }
    refs
}

/// The quantisation step of float output `k` when a per-tensor DequantizeLinear
/// produces it (through data movement at most).
pub fn output_step(c: &Compilation, k: usize) -> Option<f64> {
    let g = &c.graph;
    let mut v = g.outputs()[k];
    loop {
        let n = g.producer(v)?;
        let nd = g.node(n);
        match &nd.op {
            crate::ops::Op::Dequantize(_) => {
                let s = g.const_of(nd.inputs.get(1).copied().flatten()?)?;
                return (s.numel() == 1).then(|| s.data.get_f64(0));
            }
            op if op.def().is_view() => v = nd.inputs[0]?,
            _ => return None,
        }
    }
}

/// Verifies a model (file or folder).
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<VerifyReport> {
    let model = resolve_model(path)?;
    let data_dir = opts.data.clone().unwrap_or_else(|| model.parent().unwrap_or(Path::new(".")).to_path_buf());
    let step = Step::start(format!("compiling {}", model.display()), opts.quiet);
    let c = compile(&model, &opts.compile)?;
    let t_compile = step.done();
    let sets = load_sets(&data_dir)?;
    if sets.is_empty() {
        return Err(Error::Driver {
            step: "reading reference data".into(),
            detail: format!("no test_data_set_* folders in {}", data_dir.display()),
        });
    }
    let inputs: Vec<Vec<Tensor>> = sets.iter().map(|s| runtime_inputs(&c, s)).collect::<Result<_>>()?;
    let t0 = std::time::Instant::now();
    let exe = build_harness(&c, opts.quiet)?;
    let t_build = t0.elapsed().as_secs_f64();
    let step = Step::start(format!("running {} data set(s)", sets.len()), opts.quiet);
    let inputs: Vec<&[Tensor]> = inputs.iter().map(Vec::as_slice).collect();
    let got = run_harness(&exe, &c, &inputs)?;
    let t_run = step.done();
    let extra = if sets.len() == 1 { extra_references(&data_dir, c.graph.outputs().len()) } else { vec![] };
    let mut results = vec![];
    let mut passed = true;
    for (set, outs) in sets.iter().zip(&got) {
        let mut checks = vec![];
        for (k, out) in outs.iter().enumerate() {
            let name = c.graph.value(c.graph.outputs()[k]).name.clone();
            let step = output_step(&c, k);
            let mut refs = vec![("onnxruntime".to_string(), &set.outputs[k])];
            for (label, ts) in &extra {
                refs.push((label.clone(), &ts[k]));
            }
            // Float outputs must match the primary (op-by-op onnxruntime) reference;
            // quantised outputs may match any reference (there is no single bit-exact one).
            let integer = !out.dtype().is_float() || step.is_some();
            let mut ok = false;
            for (i, (label, want)) in refs.into_iter().enumerate() {
                let chk = compare(&name, &label, out, want, opts.tolerance, step);
                ok |= chk.passed && (integer || i == 0);
                checks.push(chk);
            }
            passed &= ok;
        }
        results.push(SetResult { name: set.name.clone(), checks });
    }
    Ok(VerifyReport {
        model: model.display().to_string(),
        target: c.target.name.to_string(),
        arena_bytes: c.plan.arena_bytes,
        weight_bytes: c.program.weight_bytes(),
        sets: results,
        passed,
        seconds: [t_compile, t_build, t_run],
    })
}

impl VerifyReport {
    /// The human-readable report, ending in `PASS` or `FAIL`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} on {} (arena {} B, weights {} B)\n",
            self.model, self.target, self.arena_bytes, self.weight_bytes
        );
        for set in &self.sets {
            for c in &set.checks {
                let verdict = if c.passed { "ok" } else { "MISMATCH" };
                s.push_str(&format!(
                    "  {} output `{}` vs {}: max abs {:.3e}, max rel {:.3e}, argmax {}/{}",
                    set.name, c.name, c.reference, c.max_abs, c.max_rel, c.argmax.0, c.argmax.1
                ));
                if let Some(h) = c.step_histogram {
                    s.push_str(&format!(
                        ", steps 0:{} 1:{} 2:{} 3:{} 4-7:{} 8-15:{} ≥16:{}",
                        h[0], h[1], h[2], h[3], h[4], h[5], h[6]
                    ));
                } else if c.outside_tolerance > 0 {
                    s.push_str(&format!(", {} of {} outside tolerance", c.outside_tolerance, c.elements));
                }
                s.push_str(&format!("  {verdict}\n"));
            }
        }
        s.push_str(if self.passed { "PASS\n" } else { "FAIL\n" });
        s
    }
}
