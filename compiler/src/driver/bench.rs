//! `tinyops bench`: what one inference costs.
//!
//! - On the host: wall-clock latency (median, p10, p90) of the host harness, and, when
//!   `python3 -c 'import onnxruntime'` works, onnxruntime's single-threaded median on
//!   the same input, timed in alternating batches within the same run so that machine
//!   noise affects both alike.
//! - On an emulated target: the instructions one inference executes in QEMU (counted
//!   between the firmware's markers by the project's TCG plugin; two runs must agree),
//!   flash and RAM of the linked image, the arena and the measured stack.
//! - On a build-only target: flash and RAM; no instruction count, with the reason.

use super::progress::Step;
use super::testdata::load_sets;
use super::toolchain::{self, Need};
use super::verify::{build_harness, encode_sets, resolve_model};
use super::{firmware, qemu};
use crate::error::{Error, Result};
use crate::ir::{DType, Tensor};
use crate::{compile, Compilation, Options};
use serde::Serialize;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Options of a benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Compilation options (the target among them).
    pub compile: Options,
    /// Folder holding `test_data_set_*` (default: the model's folder); set 0 is timed.
    pub data: Option<PathBuf>,
    /// Timed runs on the host (split into batches). Emulated targets always run twice.
    pub runs: usize,
    /// No progress lines.
    pub quiet: bool,
    /// Also measure every step: its instructions on emulated targets, its median
    /// latency on the host.
    pub steps: bool,
    /// Time onnxruntime beside tinyops on the host when it is installed (`fleet` does
    /// not: it measures tinyops only).
    pub onnxruntime: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            compile: Options::default(),
            data: None,
            runs: 200,
            quiet: false,
            steps: false,
            onnxruntime: true,
        }
    }
}

/// The instructions of one step of the model (one scheduled node's kernel calls).
#[derive(Debug, Clone, Serialize)]
pub struct StepCount {
    /// Position in the program.
    pub step: usize,
    /// The IR op.
    pub op: String,
    /// The node's ONNX name.
    pub node: String,
    /// The kernels it calls, as `isa::function`.
    pub kernels: Vec<String>,
    /// Instructions it executed (data set 0).
    pub instructions: u64,
}

/// The latency of one step of the model on the host.
#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    /// Position in the program.
    pub step: usize,
    /// The IR op.
    pub op: String,
    /// The node's ONNX name.
    pub node: String,
    /// The kernels it calls, as `isa::function`.
    pub kernels: Vec<String>,
    /// Median nanoseconds of the step (data set 0), timed through `run_observed`.
    pub median_ns: u64,
}

/// The outcome of `bench`. Figures that were not measured are `None`, with the reason
/// in the matching `…_note`.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The model file.
    pub model: String,
    /// The target.
    pub target: String,
    /// `host`, the QEMU machine, or `None` when the target has no board.
    pub ran_on: Option<String>,
    /// Instructions one inference executes (data set 0), on emulated targets.
    pub instructions: Option<u64>,
    /// Instructions per data set embedded in the firmware.
    pub instructions_per_set: Vec<u64>,
    /// Why `instructions` is `None`.
    pub instructions_note: Option<String>,
    /// Flash of the linked firmware image.
    pub flash_bytes: Option<u64>,
    /// Of the flash, the executable sections (instructions), read from the image.
    pub code_bytes: Option<u64>,
    /// Static RAM of the firmware image (arena included, stack excluded).
    pub ram_bytes: Option<u64>,
    /// Arena bytes of the generated module.
    pub arena_bytes: usize,
    /// Multiply-accumulates of one inference (as `inspect` counts them).
    pub macs: u64,
    /// Bytes of the model's weights in flash, as the chosen kernels packed them.
    pub weight_bytes: u64,
    /// Bytes of the constant tables the kernel calls declare (requantisation
    /// multipliers and shifts, lookup tables, …), beside the weights. An upper bound of
    /// what the image keeps: the linker drops a table no kernel path reads, and the
    /// optimiser may fold one into code.
    pub table_bytes: u64,
    /// Bytes of the reference inputs the measuring firmware embeds in flash (its test
    /// data, not part of the model; bare-metal targets).
    pub test_input_bytes: Option<u64>,
    /// Deepest stack use measured while running data set 0 (emulated targets).
    pub stack_bytes: Option<u64>,
    /// Median latency in nanoseconds (host).
    pub median_ns: Option<u64>,
    /// 10th-percentile latency (host).
    pub p10_ns: Option<u64>,
    /// 90th-percentile latency (host).
    pub p90_ns: Option<u64>,
    /// Timed runs (host), or QEMU runs (emulated).
    pub runs: usize,
    /// onnxruntime's single-threaded median latency, timed in the same run (host).
    pub onnxruntime_median_ns: Option<u64>,
    /// onnxruntime's version, or why it was not measured.
    pub onnxruntime_note: String,
    /// `rustc -V` of the compiler that built what was measured.
    pub rustc: String,
    /// Instructions per step, with `--steps` (a firmware of its own whose markers
    /// bracket each step; their sum leaves out only the glue between steps).
    pub steps: Vec<StepCount>,
    /// Median latency per step, with `--steps` on the host (a separate run of the
    /// harness whose observer reads the clock around each step; their sum leaves out
    /// only the glue between steps, and adds the clock reads).
    pub step_times: Vec<StepTime>,
}

/// Median, 10th and 90th percentile of samples.
pub fn percentiles(samples: &[u64]) -> Option<(u64, u64, u64)> {
    if samples.is_empty() {
        return None;
    }
    let mut s = samples.to_vec();
    s.sort_unstable();
    let at = |q: usize| s[((s.len() - 1) * q + 50) / 100];
    Some((at(50), at(10), at(90)))
}

/// Benchmarks a model (file or folder) on `opts.compile.target`.
pub fn bench(path: &Path, opts: &BenchOptions) -> Result<BenchReport> {
    let target = opts.compile.target;
    // Every tool is checked before any work.
    let tc = if target.is_host() {
        None
    } else {
        let need = if target.emulator.is_some() { Need::Measure } else { Need::Build };
        Some(toolchain::check(target, need)?)
    };
    let model = resolve_model(path)?;
    let data_dir = opts.data.clone().unwrap_or_else(|| model.parent().unwrap_or(Path::new(".")).to_path_buf());
    let step = Step::start(format!("compiling {} for {}", model.display(), target.name), opts.quiet);
    let c = compile(&model, &opts.compile)?;
    step.done();
    let sets = load_sets(&data_dir)?;
    if sets.is_empty() {
        return Err(Error::Driver {
            step: "reading reference data".into(),
            detail: format!("no test_data_set_* folders in {} (bench times set 0)", data_dir.display()),
        });
    }
    let mut r = BenchReport {
        model: model.display().to_string(),
        target: target.name.to_string(),
        ran_on: None,
        instructions: None,
        instructions_per_set: vec![],
        instructions_note: None,
        flash_bytes: None,
        code_bytes: None,
        ram_bytes: None,
        arena_bytes: c.plan.arena_bytes,
        macs: c.program.macs,
        weight_bytes: c.program.weight_bytes() as u64,
        table_bytes: c.program.table_bytes(target.pointer_bytes()) as u64,
        test_input_bytes: None,
        stack_bytes: None,
        median_ns: None,
        p10_ns: None,
        p90_ns: None,
        runs: 0,
        onnxruntime_median_ns: None,
        onnxruntime_note: String::new(),
        rustc: String::new(),
        steps: vec![],
        step_times: vec![],
    };
    let inputs: Vec<&[Tensor]> = sets.iter().map(|s| s.inputs.as_slice()).collect();
    let Some(tc) = tc else {
        bench_host(&c, &model, inputs[0], opts, &mut r)?;
        return Ok(r);
    };
    r.onnxruntime_note = "not measured: onnxruntime runs on the host only".into();
    let fw = firmware::build(&c, &inputs, &tc, opts.quiet)?;
    r.flash_bytes = Some(fw.footprint.flash_bytes);
    r.code_bytes = Some(fw.footprint.code_bytes);
    let per_set: usize = c.graph.inputs().iter().map(|&v| c.graph.ty(v).bytes()).sum();
    r.test_input_bytes = Some((per_set * inputs.len()) as u64);
    r.ram_bytes = Some(fw.footprint.ram_bytes);
    r.rustc = fw.rustc_version.clone();
    let (Some(board), Some(qemu), Some(gcc)) = (target.emulator, tc.qemu.as_deref(), tc.gcc.as_deref()) else {
        r.instructions_note = Some(format!("not measured: no emulator board for {}", target.name));
        return Ok(r);
    };
    let plugin = qemu::build_plugin(gcc, opts.quiet)?;
    let mut counts: Vec<Vec<u64>> = vec![];
    let mut stack = None;
    for i in 0..2 {
        let step =
            Step::start(format!("counting instructions on qemu {} (run {} of 2)", board.machine, i + 1), opts.quiet);
        let (printed, run) = firmware::run(&fw, &c, inputs.len(), qemu, Some(&plugin))?;
        step.done();
        if run.windows.len() != inputs.len() {
            return Err(Error::Driver {
                step: format!("counting instructions of {}", fw.elf.display()),
                detail: format!("{} marker windows for {} data sets", run.windows.len(), inputs.len()),
            });
        }
        stack = printed.stack_bytes.first().copied();
        counts.push(run.windows);
    }
    if counts[0] != counts[1] {
        return Err(Error::Driver {
            step: format!("counting instructions of {} on qemu {}", fw.elf.display(), board.machine),
            detail: format!(
                "two runs of the same image counted different instructions per inference: {:?} and {:?}; \
                 the count is not trustworthy",
                counts[0], counts[1]
            ),
        });
    }
    r.ran_on = Some(board.machine.to_string());
    r.instructions = counts[0].first().copied();
    r.instructions_per_set = counts.swap_remove(0);
    r.stack_bytes = stack;
    r.runs = 2;
    if opts.steps {
        r.steps = count_steps(&c, &inputs[..1], &tc, qemu, &plugin, opts.quiet)?;
    }
    Ok(r)
}

/// Builds and runs the stepwise firmware on one data set; one window per step.
fn count_steps(
    c: &Compilation,
    inputs: &[&[Tensor]],
    tc: &toolchain::CrossToolchain,
    qemu: &Path,
    plugin: &Path,
    quiet: bool,
) -> Result<Vec<StepCount>> {
    let fw = firmware::build_stepwise(c, inputs, tc, quiet)?;
    let step = Step::start("counting instructions step by step", quiet);
    let (_, run) = firmware::run(&fw, c, inputs.len(), qemu, Some(plugin))?;
    step.done();
    let steps = &c.program.steps;
    if run.windows.len() != steps.len() {
        return Err(Error::Driver {
            step: format!("counting the steps of {}", fw.elf.display()),
            detail: format!("{} marker windows for {} steps", run.windows.len(), steps.len()),
        });
    }
    Ok(steps
        .iter()
        .zip(run.windows)
        .enumerate()
        .map(|(i, (s, n))| StepCount {
            step: i,
            op: s.op.to_string(),
            node: s.node.clone(),
            kernels: kernel_names(s),
            instructions: n,
        })
        .collect())
}

/// The kernels a step calls, as `isa::function`.
fn kernel_names(s: &crate::lower::Step) -> Vec<String> {
    s.calls.iter().map(|k| format!("{}::{}", k.isa, k.kernel.family().function())).collect()
}

/// Times the host harness, interleaved with onnxruntime when it is installed.
fn bench_host(c: &Compilation, model: &Path, input: &[Tensor], opts: &BenchOptions, r: &mut BenchReport) -> Result<()> {
    let exe = build_harness(c, opts.quiet)?;
    r.rustc = host_rustc_version();
    r.ran_on = Some("host".into());
    let runs = opts.runs.max(1);
    let batches = runs.min(10);
    let per_batch = runs.div_ceil(batches);
    let wire = encode_sets(&[input]);
    let started = if opts.onnxruntime { Ort::start(c, model, input) } else { Err("not asked for".to_string()) };
    let mut ort = match started {
        Ok(o) => {
            r.onnxruntime_note = format!("onnxruntime {}, 1 thread, batches alternating with tinyops", o.version);
            Some(o)
        }
        Err(why) => {
            r.onnxruntime_note = format!("not measured: {why}");
            None
        }
    };
    let step = Step::start(format!("timing {runs} runs on the host in {batches} batches"), opts.quiet);
    let (mut ours, mut theirs) = (vec![], vec![]);
    for _ in 0..batches {
        ours.extend(time_harness(&exe, &wire, per_batch)?);
        if let Some(o) = ort.as_mut() {
            match o.time(per_batch) {
                Ok(t) => theirs.extend(t),
                Err(why) => {
                    r.onnxruntime_note = format!("not measured: onnxruntime failed during timing: {why}");
                    theirs.clear();
                    ort = None;
                }
            }
        }
    }
    step.done();
    if let Some(o) = ort {
        o.stop();
    }
    if opts.steps {
        let step = Step::start(format!("timing every step over {runs} runs"), opts.quiet);
        let medians = profile_harness(&exe, &wire, runs)?;
        step.done();
        let steps = &c.program.steps;
        if medians.len() != steps.len() {
            return Err(Error::Driver {
                step: format!("timing the steps of {}", exe.display()),
                detail: format!("{} step times for {} steps", medians.len(), steps.len()),
            });
        }
        r.step_times = steps
            .iter()
            .zip(medians)
            .enumerate()
            .map(|(i, (s, ns))| StepTime {
                step: i,
                op: s.op.to_string(),
                node: s.node.clone(),
                kernels: kernel_names(s),
                median_ns: ns,
            })
            .collect();
    }
    let (median, p10, p90) = percentiles(&ours).ok_or_else(|| Error::Internal("no timing samples".into()))?;
    (r.median_ns, r.p10_ns, r.p90_ns, r.runs) = (Some(median), Some(p10), Some(p90), ours.len());
    r.onnxruntime_median_ns = percentiles(&theirs).map(|p| p.0);
    Ok(())
}

/// `rustc -V` of the rustc on `PATH` (the one that builds the host harness).
fn host_rustc_version() -> String {
    Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown rustc".into())
}

/// Runs the harness in `mode` (`--bench` or `--profile`) over `runs` runs, the wire
/// input on its stdin; its stdout, or an error naming `step`.
fn run_harness(exe: &Path, mode: &str, wire: &[u8], runs: usize, step: &str) -> Result<String> {
    let fail = |detail: String| Error::Driver { step: format!("{step} {}", exe.display()), detail };
    let mut child = Command::new(exe)
        .args([mode, &runs.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut stdin = child.stdin.take().ok_or_else(|| fail("no stdin".into()))?;
    let wire = wire.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&wire));
    let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let _ = writer.join();
    if !out.status.success() {
        return Err(fail(format!("exit status {}: {}", out.status, String::from_utf8_lossy(&out.stderr))));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One batch of the harness's `--bench` mode: `runs` durations in nanoseconds.
pub(crate) fn time_harness(exe: &Path, wire: &[u8], runs: usize) -> Result<Vec<u64>> {
    let step = "timing";
    let text = run_harness(exe, "--bench", wire, runs, step)?;
    let times: Vec<u64> = text.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    if times.len() != runs {
        let detail = format!("expected {runs} durations, got {}", times.len());
        return Err(Error::Driver { step: format!("{step} {}", exe.display()), detail });
    }
    Ok(times)
}

/// The harness's `--profile` mode: per step, its median nanoseconds over `runs` runs.
fn profile_harness(exe: &Path, wire: &[u8], runs: usize) -> Result<Vec<u64>> {
    let step = "timing the steps of";
    let text = run_harness(exe, "--profile", wire, runs, step)?;
    text.split_whitespace()
        .map(|t| {
            t.parse().map_err(|_| Error::Driver {
                step: format!("{step} {}", exe.display()),
                detail: format!("not a duration: `{t}`"),
            })
        })
        .collect()
}

/// The NumPy dtype of an element type; `None` for bfloat16, which NumPy lacks.
pub(crate) fn numpy_dtype(d: DType) -> Option<&'static str> {
    Some(match d {
        DType::F32 => "<f4",
        DType::I8 => "i1",
        DType::U8 => "u1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::Bool => "?",
        DType::F64 => "<f8",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::F16 => "<f2",
        _ => return None,
    })
}

/// A running `ort_time.py`.
struct Ort {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    version: String,
}

impl Ort {
    /// Starts the timing script on `model` with `input`; the error says why onnxruntime
    /// cannot be measured.
    fn start(c: &Compilation, model: &Path, input: &[Tensor]) -> std::result::Result<Ort, String> {
        let probe = Command::new("python3").args(["-c", "import onnxruntime"]).output();
        match probe {
            Err(_) => return Err("python3 is not on PATH".into()),
            Ok(o) if !o.status.success() => {
                return Err("onnxruntime is not installed (python3 -c 'import onnxruntime' failed)".into())
            }
            Ok(_) => {}
        }
        let dir = super::cache_dir().join("bench").join(format!("{}-{}", c.crate_name(), &c.sha256[..12]));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let script = dir.join("ort_time.py");
        std::fs::write(&script, include_str!("ort_time.py")).map_err(|e| format!("{}: {e}", script.display()))?;
        let mut specs = vec![];
        for (i, (t, &v)) in input.iter().zip(c.graph.inputs()).enumerate() {
            let file = dir.join(format!("in{i}.bin"));
            std::fs::write(&file, t.data.to_le_bytes()).map_err(|e| format!("{}: {e}", file.display()))?;
            specs.push(serde_json::json!({
                "name": c.graph.value(v).name,
                "dtype": numpy_dtype(t.dtype())
                    .ok_or_else(|| format!("input `{}` is bfloat16, which NumPy cannot hold", c.graph.value(v).name))?,
                "shape": t.shape,
                "file": file,
            }));
        }
        let spec = serde_json::json!({ "model": model, "inputs": specs });
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start python3: {e}"))?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("no pipes to python3".into());
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let ready = writeln!(stdin, "{spec}").is_ok() && stdout.read_line(&mut line).is_ok_and(|n| n > 0);
        match line.trim().strip_prefix("ready") {
            Some(version) if ready => Ok(Ort { child, stdin, stdout, version: version.trim().to_string() }),
            _ => {
                drop(stdin);
                let err = child.wait_with_output().map(|o| String::from_utf8_lossy(&o.stderr).into_owned());
                Err(format!("onnxruntime could not load the model: {}", err.unwrap_or_default().trim()))
            }
        }
    }

    /// Times `runs` inferences.
    fn time(&mut self, runs: usize) -> std::result::Result<Vec<u64>, String> {
        writeln!(self.stdin, "{runs}").map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        let times: Vec<u64> = line.split_whitespace().filter_map(|t| t.parse().ok()).collect();
        if times.len() != runs {
            return Err(format!("expected {runs} durations, got `{}`", line.trim()));
        }
        Ok(times)
    }

    fn stop(mut self) {
        let _ = writeln!(self.stdin, "0");
        let _ = self.child.wait();
    }
}

impl BenchReport {
    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        match (&self.ran_on, self.instructions, self.median_ns) {
            (Some(_), _, Some(median)) => {
                s.push_str(&format!(
                    "{} on host: median {}, p10 {}, p90 {} over {} runs (arena {} B)\n",
                    self.model,
                    human_ns(median),
                    human_ns(self.p10_ns.unwrap_or(0)),
                    human_ns(self.p90_ns.unwrap_or(0)),
                    self.runs,
                    self.arena_bytes
                ));
                match self.onnxruntime_median_ns {
                    Some(o) => s.push_str(&format!(
                        "onnxruntime: median {} ({}); tinyops/onnxruntime = {:.2}\n",
                        human_ns(o),
                        self.onnxruntime_note,
                        median as f64 / o as f64
                    )),
                    None => s.push_str(&format!("onnxruntime: {}\n", self.onnxruntime_note)),
                }
            }
            (Some(machine), Some(insns), _) => {
                s.push_str(&format!(
                    "{} on qemu {machine} ({}): {} instructions per inference (data set 0; equal in {} runs)\n",
                    self.model,
                    self.target,
                    group(insns),
                    self.runs
                ));
            }
            _ => {
                s.push_str(&format!("{} for {}: built only\n", self.model, self.target));
                if let Some(n) = &self.instructions_note {
                    s.push_str(&format!("instructions: {n}\n"));
                }
            }
        }
        if let (Some(flash), Some(ram)) = (self.flash_bytes, self.ram_bytes) {
            let stack = self.stack_bytes.map(|b| format!(" + {} B stack (measured)", group(b))).unwrap_or_default();
            s.push_str(&format!(
                "flash {} B, RAM {} B static (arena {} B){stack}\n",
                group(flash),
                group(ram),
                group(self.arena_bytes as u64)
            ));
            let input = self.test_input_bytes.unwrap_or(0);
            let code = self.code_bytes.unwrap_or(0);
            s.push_str(&format!(
                "of the flash: weights {} B (as packed), embedded test input {} B, code {} B (executable sections), \
                 other constants {} B (tables the code reads, of {} B declared; vectors; …); \
                 beyond the weights and the input: {} B\n",
                group(self.weight_bytes),
                group(input),
                group(code),
                group(flash.saturating_sub(self.weight_bytes + input + code)),
                group(self.table_bytes),
                group(flash.saturating_sub(self.weight_bytes + input)),
            ));
        }
        if !self.steps.is_empty() {
            let total: u64 = self.steps.iter().map(|s| s.instructions).sum();
            s.push_str(&format!(
                "{:>4}  {:>12}  {:>6}  {:<14}  {:<40}  node\n",
                "step", "instructions", "share", "op", "kernels"
            ));
            for st in &self.steps {
                let node: String = st.node.chars().take(48).collect();
                s.push_str(&format!(
                    "{:>4}  {:>12}  {:>5.1}%  {:<14}  {:<40}  {node}\n",
                    st.step,
                    group(st.instructions),
                    100.0 * st.instructions as f64 / total.max(1) as f64,
                    st.op,
                    st.kernels.join(", ")
                ));
            }
            s.push_str(&format!("steps total {} instructions\n", group(total)));
        }
        if !self.step_times.is_empty() {
            let total: u64 = self.step_times.iter().map(|s| s.median_ns).sum();
            s.push_str(&format!(
                "{:>4}  {:>10}  {:>6}  {:<14}  {:<40}  node\n",
                "step", "median", "share", "op", "kernels"
            ));
            for st in &self.step_times {
                let node: String = st.node.chars().take(48).collect();
                s.push_str(&format!(
                    "{:>4}  {:>10}  {:>5.1}%  {:<14}  {:<40}  {node}\n",
                    st.step,
                    human_ns(st.median_ns),
                    100.0 * st.median_ns as f64 / total.max(1) as f64,
                    st.op,
                    st.kernels.join(", ")
                ));
            }
            s.push_str(&format!(
                "steps total {} (sum of the step medians, timed in a separate run)\n",
                human_ns(total)
            ));
        }
        s.push_str(&format!("built by {}", self.rustc));
        if self.instructions.is_some() {
            s.push_str("; these are executed instructions, not cycles");
        }
        s.push('\n');
        s
    }
}

/// 1234567 → `1,234,567`.
pub(crate) fn group(n: u64) -> String {
    let d = n.to_string();
    let mut s = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

fn human_ns(ns: u64) -> String {
    match ns {
        0..=9_999 => format!("{ns} ns"),
        10_000..=9_999_999 => format!("{:.1} µs", ns as f64 / 1e3),
        _ => format!("{:.2} ms", ns as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_samples() {
        let s: Vec<u64> = (1..=101).collect();
        assert_eq!(percentiles(&s), Some((51, 11, 91)));
        assert_eq!(percentiles(&[7]), Some((7, 7, 7)));
        assert_eq!(percentiles(&[]), None);
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(25039556), "25,039,556");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
    }
}
