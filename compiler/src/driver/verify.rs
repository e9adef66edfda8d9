//! `tinyops verify`: compile a model, build it, run it on the reference inputs and
//! compare with every reference present. On the host the model runs in a std
//! harness; on a bare-metal target it runs as firmware on the target's QEMU board
//! (never on the host in its place); a target without a board is built and measured
//! but reported as not run.

use super::compare::{compare, OutputCheck, Tolerance};
use super::firmware::{self, Firmware};
use super::progress::Step;
use super::testdata::{load_sets, read_npy, DataSet};
use super::toolchain::{self, CrossToolchain, Need};
use super::{cargo, harness};
use crate::error::{Error, Result};
use crate::ir::{Data, Tensor};
use crate::{compile, Compilation, Options};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tinyops_targets::Target;

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

/// The overall result of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Every output matches a reference in every data set.
    #[serde(rename = "PASS")]
    Pass,
    /// Some output matches no reference.
    #[serde(rename = "FAIL")]
    Fail,
    /// Built but not run: the target has no emulator board (exit code 3).
    #[serde(rename = "NOT RUN")]
    NotRun,
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The model file.
    pub model: String,
    /// The target.
    pub target: String,
    /// Where the model ran: `host`, or the QEMU machine (`mps2-an386`, …); `None` when
    /// it was built but not run.
    pub ran_on: Option<String>,
    /// PASS, FAIL or NOT RUN.
    pub verdict: Verdict,
    /// Why it did not run, when it did not.
    pub not_run_reason: Option<String>,
    /// Flash of the linked firmware image (bare-metal targets).
    pub flash_bytes: Option<u64>,
    /// Static RAM of the firmware image (`.data + .bss + .uninit`, arena included).
    pub ram_bytes: Option<u64>,
    /// Deepest stack use measured over the runs (emulated targets).
    pub stack_bytes: Option<u64>,
    /// `rustc -V` of the cross compiler that built the firmware.
    pub rustc: Option<String>,
    /// Arena bytes of the generated module.
    pub arena_bytes: usize,
    /// Weight bytes of the generated module.
    pub weight_bytes: usize,
    /// Per data set.
    pub sets: Vec<SetResult>,
    /// Every output passes against at least one reference in every set (false when
    /// not run).
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
    super::host_cpu::check(c.target)?;
    // Per target: host targets share the machine but not their generated code.
    let work =
        super::cache_dir().join("work").join(format!("{}-{}-{}", c.crate_name(), c.target.name, &c.sha256[..12]));
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
    let exe = cargo::build_release_bin(&hdir.join("Cargo.toml"), &bin, c.target.cpu)?;
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
    crate::golden::runtime_inputs(&c.graph, &c.declared_inputs, set)
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
    crate::golden::output_step(&c.graph, k)
}

/// The cross toolchain a target needs for `need`, checked before any work; `None`
/// on the host.
pub fn cross_toolchain(target: &Target, need: Need) -> Result<Option<CrossToolchain>> {
    if target.is_host() {
        return Ok(None);
    }
    toolchain::check(target, need).map(Some)
}

/// How the model ran.
struct Execution {
    /// Outputs per set; `None` when the target could not run it.
    outputs: Option<Vec<Vec<Tensor>>>,
    ran_on: Option<String>,
    firmware: Option<Firmware>,
    stack_bytes: Option<u64>,
    seconds_build: f64,
    seconds_run: f64,
}

fn run_on_host(c: &Compilation, inputs: &[&[Tensor]], quiet: bool) -> Result<Execution> {
    let t0 = std::time::Instant::now();
    let exe = build_harness(c, quiet)?;
    let seconds_build = t0.elapsed().as_secs_f64();
    let step = Step::start(format!("running {} data set(s) on the host", inputs.len()), quiet);
    let got = run_harness(&exe, c, inputs)?;
    Ok(Execution {
        outputs: Some(got),
        ran_on: Some("host".into()),
        firmware: None,
        stack_bytes: None,
        seconds_build,
        seconds_run: step.done(),
    })
}

fn run_as_firmware(c: &Compilation, inputs: &[&[Tensor]], tc: &CrossToolchain, quiet: bool) -> Result<Execution> {
    let fw = firmware::build(c, inputs, tc, quiet)?;
    let (Some(board), Some(qemu)) = (c.target.emulator, tc.qemu.as_deref()) else {
        return Ok(Execution {
            outputs: None,
            ran_on: None,
            seconds_build: fw.seconds,
            firmware: Some(fw),
            stack_bytes: None,
            seconds_run: 0.0,
        });
    };
    let step = Step::start(
        format!("running {} data set(s) on qemu {} ({})", inputs.len(), board.machine, c.target.name),
        quiet,
    );
    let (printed, _) = firmware::run(&fw, c, inputs.len(), qemu, None)?;
    Ok(Execution {
        outputs: Some(printed.outputs),
        ran_on: Some(board.machine.to_string()),
        stack_bytes: printed.stack_bytes.iter().copied().max(),
        seconds_build: fw.seconds,
        firmware: Some(fw),
        seconds_run: step.done(),
    })
}

/// Compares outputs with the references of each set: the data set's own
/// (onnxruntime, op by op) and, with a single set, the extra ones shipped beside it.
fn check_outputs(
    c: &Compilation,
    sets: &[DataSet],
    got: &[Vec<Tensor>],
    data_dir: &Path,
    tol: Tolerance,
) -> (Vec<SetResult>, bool) {
    let extra = if sets.len() == 1 { extra_references(data_dir, c.graph.outputs().len()) } else { vec![] };
    let mut results = vec![];
    let mut passed = true;
    for (set, outs) in sets.iter().zip(got) {
        let mut checks = vec![];
        for (k, out) in outs.iter().enumerate() {
            let name = c.graph.value(c.graph.outputs()[k]).name.clone();
            let step = output_step(c, k);
            let mut refs = vec![("onnxruntime".to_string(), &set.outputs[k])];
            for (label, ts) in &extra {
                refs.push((label.clone(), &ts[k]));
            }
            // Float outputs must match the primary (op-by-op onnxruntime) reference;
            // quantised outputs may match any reference (there is no single bit-exact one).
            let integer = !out.dtype().is_float() || step.is_some();
            let mut ok = false;
            for (i, (label, want)) in refs.into_iter().enumerate() {
                let chk = compare(&name, &label, out, want, tol, step);
                ok |= chk.passed && (integer || i == 0);
                checks.push(chk);
            }
            passed &= ok;
        }
        results.push(SetResult { name: set.name.clone(), checks });
    }
    (results, passed)
}

/// Verifies a model (file or folder) on `opts.compile.target`.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<VerifyReport> {
    let target = opts.compile.target;
    let need = if target.emulator.is_some() { Need::Run } else { Need::Build };
    let cross = cross_toolchain(target, need)?;
    let model = resolve_model(path)?;
    let data_dir = opts.data.clone().unwrap_or_else(|| model.parent().unwrap_or(Path::new(".")).to_path_buf());
    let step = Step::start(format!("compiling {} for {}", model.display(), target.name), opts.quiet);
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
    let inputs: Vec<&[Tensor]> = inputs.iter().map(Vec::as_slice).collect();
    let run = match &cross {
        None => run_on_host(&c, &inputs, opts.quiet)?,
        Some(tc) => run_as_firmware(&c, &inputs, tc, opts.quiet)?,
    };
    let (results, passed, verdict, not_run_reason) = match &run.outputs {
        Some(got) => {
            let (results, passed) = check_outputs(&c, &sets, got, &data_dir, opts.tolerance);
            (results, passed, if passed { Verdict::Pass } else { Verdict::Fail }, None)
        }
        None => (vec![], false, Verdict::NotRun, Some(format!("no emulator board for {}", target.name))),
    };
    let fp = run.firmware.as_ref().map(|f| &f.footprint);
    Ok(VerifyReport {
        model: model.display().to_string(),
        target: c.target.name.to_string(),
        ran_on: run.ran_on,
        verdict,
        not_run_reason,
        flash_bytes: fp.map(|f| f.flash_bytes),
        ram_bytes: fp.map(|f| f.ram_bytes),
        stack_bytes: run.stack_bytes,
        rustc: run.firmware.as_ref().map(|f| f.rustc_version.clone()),
        arena_bytes: c.plan.arena_bytes,
        weight_bytes: c.program.weight_bytes(),
        sets: results,
        passed,
        seconds: [t_compile, run.seconds_build, run.seconds_run],
    })
}

impl VerifyReport {
    /// Where the model ran, for people: `ran on host`, `ran on qemu mps2-an386
    /// (cortex-m4)`, `built only, not run`.
    pub fn ran_on_text(&self) -> String {
        match &self.ran_on {
            Some(h) if h == "host" => "ran on host".into(),
            Some(machine) => format!("ran on qemu {machine} ({})", self.target),
            None => "built only, not run".into(),
        }
    }

    /// The human-readable report, ending in `PASS`, `FAIL` or `NOT RUN: …`.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} for {}: {} (arena {} B, weights {} B)\n",
            self.model,
            self.target,
            self.ran_on_text(),
            self.arena_bytes,
            self.weight_bytes
        );
        if let (Some(flash), Some(ram)) = (self.flash_bytes, self.ram_bytes) {
            let stack = self.stack_bytes.map(|b| format!(" + {b} B stack (measured)")).unwrap_or_default();
            s.push_str(&format!(
                "  firmware: flash {flash} B, RAM {ram} B static{stack}; built by {}\n",
                self.rustc.as_deref().unwrap_or("?")
            ));
        }
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
        match self.verdict {
            Verdict::Pass => s.push_str("PASS\n"),
            Verdict::Fail => s.push_str("FAIL\n"),
            Verdict::NotRun => {
                s.push_str(&format!("NOT RUN: {}\n", self.not_run_reason.as_deref().unwrap_or("not run")))
            }
        }
        s
    }
}
