//! `tinyops verify`: compile a model, build it, run it on the reference inputs and
//! compare with every reference present. On the host the model runs in a std
//! harness; on a bare-metal target it runs as firmware on the target's QEMU board
//! (never on the host in its place); a target without a board is built and measured
//! but reported as not run.

use super::compare::{compare, OutputCheck, Tolerance};
use super::engine::{self, ElementDiff, EngineChoice};
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
    /// Which engine runs the model on the host (the Rust backend by default).
    pub engine: EngineChoice,
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
    /// The arena of the JIT's own plan, when the model streams groups the JIT does
    /// not run and the JIT ran (`--engine jit|both`).
    pub jit_arena_bytes: Option<usize>,
    /// Row-streamed groups of the generated module's plan.
    pub streamed_groups: usize,
    /// Weight bytes of the generated module.
    pub weight_bytes: usize,
    /// Per data set.
    pub sets: Vec<SetResult>,
    /// Every output passes against at least one reference in every set (false when
    /// not run).
    pub passed: bool,
    /// Seconds spent compiling, building and running.
    pub seconds: [f64; 3],
    /// The engine that ran the model.
    pub engine: EngineChoice,
    /// With `--engine both`: per data set and output, the elements where the Rust
    /// backend and the JIT disagree (empty lists: identical within the rule).
    pub engine_diffs: Vec<EngineDiff>,
    /// With `--engine both`: the JIT's own check against the references (the sets
    /// above are the Rust backend's).
    pub jit_sets: Vec<SetResult>,
    /// With `--engine both` and a difference: where it starts (see
    /// [`engine::locate`]).
    pub divergence: Option<String>,
}

/// How the two engines' values of one output of one data set compare.
#[derive(Debug, Clone, Serialize)]
pub struct EngineDiff {
    /// Data set.
    pub set: String,
    /// Output name.
    pub output: String,
    /// Elements compared.
    pub elements: usize,
    /// Elements beyond the rule (integers: any difference; floats: beyond 4 ULP and
    /// 1e-6 absolute).
    pub differing: usize,
    /// The first differing elements (at most 20).
    pub first: Vec<ElementDiff>,
    /// Largest ULP distance of a float output (all elements).
    pub max_ulps: Option<u64>,
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
    let toml = harness::cargo_toml(
        &bin,
        &c.crate_name(),
        &model_dir.display().to_string(),
        &super::firmware::runtime_dependency(&[])?,
    );
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
    let exe = cargo::build_release_bin(&hdir.join("Cargo.toml"), &bin, c.target)?;
    step.done();
    Ok(exe)
}

/// Runs a harness binary with `--trace` on one input set; returns, per step, the bytes
/// of every operand it wrote (in [`harness::trace_writes`] order) as after that step.
pub fn trace_harness(exe: &Path, c: &Compilation, inputs: &[Tensor]) -> Result<Vec<Vec<Vec<u8>>>> {
    let fail = |detail: String| Error::Driver { step: format!("running {} --trace", exe.display()), detail };
    let mut child = Command::new(exe)
        .arg("--trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let input = encode_sets(&[inputs]);
    let mut stdin = child.stdin.take().ok_or_else(|| fail("no stdin".into()))?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(fail(format!("exit status {}: {}", out.status, String::from_utf8_lossy(&out.stderr))));
    }
    let mut bytes: &[u8] = &out.stdout;
    let mut steps = vec![];
    for step in harness::trace_writes(&c.program) {
        let mut got = vec![];
        for (_, _, n) in step {
            if bytes.len() < n {
                return Err(fail("the harness traced fewer bytes than the steps write".into()));
            }
            got.push(bytes[..n].to_vec());
            bytes = &bytes[n..];
        }
        steps.push(got);
    }
    if !bytes.is_empty() {
        return Err(fail(format!("the harness traced {} bytes more than the steps write", bytes.len())));
    }
    Ok(steps)
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
    /// The arena of the JIT's own plan, when it ran one (see
    /// [`crate::Compilation::jit_program`]).
    jit_arena: Option<usize>,
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
        jit_arena: None,
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
            jit_arena: None,
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
        jit_arena: None,
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
    if opts.engine != EngineChoice::Rust && cross.is_some() {
        return Err(Error::Options(format!(
            "--engine {}: the JIT runs on this machine; target `{}` runs only as firmware",
            if opts.engine == EngineChoice::Jit { "jit" } else { "both" },
            target.name
        )));
    }
    let mut jit_outputs = None;
    let run = match (&cross, opts.engine) {
        (None, EngineChoice::Rust) => run_on_host(&c, &inputs, opts.quiet)?,
        (None, EngineChoice::Jit) => run_on_jit(&c, &inputs, opts.quiet)?,
        (None, EngineChoice::Both) => {
            // Each side's failure to run is named as that side's.
            let jit = run_on_jit(&c, &inputs, opts.quiet).map_err(|e| side_error("the JIT engine", e))?;
            let rust = run_on_host(&c, &inputs, opts.quiet).map_err(|e| side_error("the Rust backend", e))?;
            jit_outputs = jit.outputs;
            Execution {
                jit_arena: jit.jit_arena,
                seconds_build: rust.seconds_build + jit.seconds_build,
                seconds_run: rust.seconds_run + jit.seconds_run,
                ..rust
            }
        }
        (Some(tc), _) => run_as_firmware(&c, &inputs, tc, opts.quiet)?,
    };
    let mut engine_diffs = vec![];
    let mut jit_sets = vec![];
    let mut divergence = None;
    let (results, passed, verdict, not_run_reason) = match &run.outputs {
        Some(got) => {
            let (results, mut passed) = check_outputs(&c, &sets, got, &data_dir, opts.tolerance);
            if let Some(jit) = &jit_outputs {
                let (r, p) = check_outputs(&c, &sets, jit, &data_dir, opts.tolerance);
                jit_sets = r;
                engine_diffs = diff_engines(&c, &sets, got, jit);
                passed &= p && engine_diffs.iter().all(|d| d.differing == 0);
                if let Some(d) = engine_diffs.iter().find(|d| d.differing > 0) {
                    let set = sets.iter().position(|s| s.name == d.set).unwrap_or(0);
                    divergence = Some(engine::locate(&c, inputs[set], opts.quiet)?);
                }
            }
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
        jit_arena_bytes: run.jit_arena,
        streamed_groups: c.plan.streams.len(),
        weight_bytes: c.program.weight_bytes(),
        sets: results,
        passed,
        seconds: [t_compile, run.seconds_build, run.seconds_run],
        engine: opts.engine,
        engine_diffs,
        jit_sets,
        divergence,
    })
}

/// An error of one side of `--engine both`, saying which side.
fn side_error(side: &str, e: Error) -> Error {
    Error::Driver { step: format!("running the model with {side}"), detail: e.to_string() }
}

fn run_on_jit(c: &Compilation, inputs: &[&[Tensor]], quiet: bool) -> Result<Execution> {
    let step = Step::start(format!("running {} data set(s) in the JIT engine", inputs.len()), quiet);
    let (build, outputs, own_arena) = engine::run_jit(c, inputs)?;
    let total = step.done();
    Ok(Execution {
        jit_arena: own_arena,
        outputs: Some(outputs),
        ran_on: Some("host".into()),
        firmware: None,
        stack_bytes: None,
        seconds_build: build,
        seconds_run: (total - build).max(0.0),
    })
}

/// Every output of every set, Rust backend against JIT.
fn diff_engines(c: &Compilation, sets: &[DataSet], rust: &[Vec<Tensor>], jit: &[Vec<Tensor>]) -> Vec<EngineDiff> {
    let mut out = vec![];
    for ((set, r), j) in sets.iter().zip(rust).zip(jit) {
        for (k, (a, b)) in r.iter().zip(j).enumerate() {
            let d = engine::diff(a, b);
            let max_ulps = match (&a.data, &b.data) {
                (crate::ir::Data::F32(x), crate::ir::Data::F32(y)) => {
                    x.iter().zip(y).map(|(&p, &q)| engine::ulps_f32(p, q)).max()
                }
                (crate::ir::Data::F64(x), crate::ir::Data::F64(y)) => {
                    x.iter().zip(y).map(|(&p, &q)| engine::ulps_f64(p, q)).max()
                }
                _ => None,
            };
            out.push(EngineDiff {
                set: set.name.clone(),
                output: c.graph.value(c.graph.outputs()[k]).name.clone(),
                elements: a.data.len(),
                differing: d.len(),
                first: d.into_iter().take(20).collect(),
                max_ulps,
            });
        }
    }
    out
}

impl VerifyReport {
    /// Where the model ran, for people: `ran on host`, `ran on qemu mps2-an386
    /// (cortex-m4)`, `built only, not run`.
    pub fn ran_on_text(&self) -> String {
        match &self.ran_on {
            Some(h) if h == "host" => match self.engine {
                EngineChoice::Rust => "ran on host".into(),
                EngineChoice::Jit => "ran on host in the JIT engine".into(),
                EngineChoice::Both => "ran on host with the Rust backend and the JIT engine".into(),
            },
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
        if let Some(a) = self.jit_arena_bytes {
            s.push_str(&format!(
                "  the JIT does not run the {} row-streamed group(s): it ran its own plan without streaming (arena {a} B)\n",
                self.streamed_groups
            ));
        }
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
        if self.engine == EngineChoice::Both {
            for set in &self.jit_sets {
                for c in &set.checks {
                    let verdict = if c.passed { "ok" } else { "MISMATCH" };
                    s.push_str(&format!(
                        "  jit: {} output `{}` vs {}: max abs {:.3e}, max rel {:.3e}  {verdict}\n",
                        set.name, c.name, c.reference, c.max_abs, c.max_rel
                    ));
                }
            }
            for d in &self.engine_diffs {
                let ulps = d.max_ulps.map(|u| format!(", max {u} ULP")).unwrap_or_default();
                if d.differing == 0 {
                    s.push_str(&format!(
                        "  rust vs jit: {} output `{}`: {} elements agree{ulps}\n",
                        d.set, d.output, d.elements
                    ));
                } else {
                    s.push_str(&format!(
                        "  rust vs jit: {} output `{}`: {} of {} elements DIFFER{ulps}\n",
                        d.set, d.output, d.differing, d.elements
                    ));
                    for e in &d.first {
                        let u = e.ulps.map(|u| format!(" ({u} ULP)")).unwrap_or_default();
                        s.push_str(&format!("    element {}: rust {}, jit {}{u}\n", e.index, e.rust, e.jit));
                    }
                }
            }
        }
        if let Some(d) = &self.divergence {
            s.push_str(&format!("  where the engines part: {d}\n"));
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
