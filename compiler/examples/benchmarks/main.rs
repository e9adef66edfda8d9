//! Peers in the same run: measures tinyops on every target, builds and measures
//! MicroFlow on the same board from the same `.tflite` originals, quotes TFLM +
//! CMSIS-NN from the peer notes, and writes `docs/benchmarks.md`.
//!
//! Run it through `.ci/benchmarks` (which builds this example and the `tinyops`
//! binary in release mode first); see that script's header for what it needs. It is
//! not part of `.ci/all-tests`: it takes a long time and builds a third-party crate.
//! `cargo test` runs the unit tests of its pure parts (`report`, `anchors`, and the
//! firmware text of `microflow`).

mod anchors;
mod microflow;
mod report;

use clap::Parser;
use report::{Bench, MicroflowRun, Results, RunInfo, TinyopsRun};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Instant, SystemTime};
use tinyops_compiler::driver::{qemu, toolchain};

/// Measure tinyops, MicroFlow and (quoted) TFLM + CMSIS-NN; write docs/benchmarks.md.
#[derive(Parser)]
struct Args {
    /// The tinyops binary (default: `tinyops` beside this program's folder).
    #[arg(long)]
    tinyops: Option<PathBuf>,
    /// The model corpus (default: `$TINYOPS_CORPUS`, else `../shared/corpus`).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// The peer notes the TFLM figures are quoted from.
    #[arg(long, default_value = "../shared/docs/anchors.md")]
    anchors: PathBuf,
    /// Where the report goes.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// Scratch folder for MicroFlow's firmware crates and the raw results
    /// (default: `<tinyops cache>/peers/microflow`).
    #[arg(long)]
    scratch: Option<PathBuf>,
    /// Only these models (comma-separated corpus ids); for trying things out.
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Only these bare-metal targets (comma-separated).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<String>,
    /// Skip MicroFlow.
    #[arg(long)]
    no_microflow: bool,
    /// Skip the host latency table.
    #[arg(long)]
    no_host: bool,
    /// The host target of the latency table: the most capable one this machine runs
    /// (`x86-64-v4-vnni` with AVX-512 VNNI, else `x86-64-v3` with AVX2 and FMA, else
    /// `host`, portable kernels); or the name given.
    #[arg(long, default_value = "auto")]
    host_target: String,
    /// Timed runs per model on the host.
    #[arg(long, default_value_t = 200)]
    runs: usize,
    /// The MicroFlow version to build.
    #[arg(long, default_value = microflow::VERSION)]
    microflow_version: String,
    /// The command line to record in the report (the wrapper script passes its own).
    #[arg(long, default_value = ".ci/benchmarks")]
    command: String,
    /// Re-render the report from a results.json of an earlier run; measure nothing.
    #[arg(long, value_name = "RESULTS_JSON")]
    render: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The first line of a tool's text: its first `error…` line, else its last line.
fn first_line(text: &str) -> String {
    text.lines()
        .find(|l| l.trim_start().starts_with("error"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no output")
        .trim()
        .to_string()
}

/// First line of `program args` (e.g. `--version`), or a note saying it failed.
fn version_line(program: &str, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().into(),
        _ => format!("{program}: not found"),
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn today() -> String {
    let secs = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// One `tinyops bench <corpus>/<model> --target <target> --json`.
fn tinyops_bench(tinyops: &Path, corpus: &Path, model: &str, target: &str, runs: usize) -> TinyopsRun {
    let out = Command::new(tinyops)
        .arg("bench")
        .arg(corpus.join(model))
        .args(["--target", target, "--json", "--runs", &runs.to_string()])
        .output();
    let result = match out {
        Err(e) => Err(format!("cannot run {}: {e}", tinyops.display())),
        // 0: measured; 3: built, not run (a build-only target): the JSON has the footprint.
        Ok(o) if matches!(o.status.code(), Some(0 | 3)) => Bench::from_json(&String::from_utf8_lossy(&o.stdout)),
        Ok(o) => Err(first_line(&String::from_utf8_lossy(&o.stderr))),
    };
    TinyopsRun { model: model.into(), target: target.into(), result }
}

fn selected<'a>(all: &[&'a str], only: &[String]) -> Vec<&'a str> {
    all.iter().copied().filter(|m| only.is_empty() || only.iter().any(|o| o == m)).collect()
}

fn run(args: Args) -> Result<(), String> {
    let started = Instant::now();
    let anchors_text =
        std::fs::read_to_string(&args.anchors).map_err(|e| format!("reading {}: {e}", args.anchors.display()))?;
    let anchors = anchors::parse(&anchors_text).map_err(|e| format!("quoting {}: {e}", args.anchors.display()))?;
    let scratch = args.scratch.clone().unwrap_or_else(microflow::default_scratch);
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let results_json = scratch.join("results.json");

    let results = if let Some(from) = &args.render {
        let text = std::fs::read_to_string(from).map_err(|e| format!("{}: {e}", from.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", from.display()))?
    } else {
        let r = measure(&args, &scratch, started)?;
        let json = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?;
        std::fs::write(&results_json, json).map_err(|e| format!("{}: {e}", results_json.display()))?;
        eprintln!("raw results: {}", results_json.display());
        r
    };
    let doc = report::render(&results, &anchors);
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&args.out, doc).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!("wrote {} ({:.0} s)", args.out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

fn measure(args: &Args, scratch: &Path, started: Instant) -> Result<Results, String> {
    let tinyops = match &args.tinyops {
        Some(p) => p.clone(),
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // target/release/examples/benchmarks → target/release/tinyops
            exe.parent().and_then(Path::parent).map(|d| d.join("tinyops")).ok_or("cannot locate tinyops")?
        }
    };
    if !tinyops.is_file() {
        return Err(format!("{} is missing: build it with `cargo build --release --bin tinyops`", tinyops.display()));
    }
    let corpus = args
        .corpus
        .clone()
        .or_else(|| std::env::var_os("TINYOPS_CORPUS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/corpus"));
    if !corpus.join("tflite").is_dir() {
        return Err(format!(
            "no model corpus with a tflite/ folder at {} (--corpus or TINYOPS_CORPUS)",
            corpus.display()
        ));
    }

    // Every tool is checked before any work.
    let m4 = tinyops_targets::lookup("cortex-m4").map_err(|e| e.to_string())?;
    let tc = toolchain::check(m4, toolchain::Need::Measure).map_err(|e| e.to_string())?;

    let mut jobs: Vec<(&str, &str)> = vec![];
    let targets: Vec<&str> = report::EMULATED_TARGETS.iter().chain([&report::BUILD_ONLY_TARGET]).copied().collect();
    for m in selected(report::INT8_MODELS, &args.models) {
        for t in selected(&targets, &args.targets) {
            jobs.push((m, t));
        }
    }
    if args.targets.is_empty() || args.targets.iter().any(|t| t == "cortex-m4") {
        for m in selected(report::FP32_MODELS, &args.models) {
            jobs.push((m, "cortex-m4"));
        }
    }
    let mut tinyops_runs = vec![];
    for (i, (m, t)) in jobs.iter().enumerate() {
        eprintln!("▸ [{}/{}] tinyops bench {m} --target {t}…", i + 1, jobs.len());
        let t0 = Instant::now();
        let r = tinyops_bench(&tinyops, &corpus, m, t, args.runs);
        match &r.result {
            Ok(b) => {
                let n = |x: Option<u64>| x.map(report::group).unwrap_or_else(|| "—".into());
                eprintln!(
                    "  instructions {}, flash {} B, RAM {} B + stack {} B ({:.1} s)",
                    n(b.instructions),
                    n(b.flash_bytes),
                    n(b.ram_bytes),
                    n(b.stack_bytes),
                    t0.elapsed().as_secs_f64()
                )
            }
            Err(e) => eprintln!("  FAILED: {e}"),
        }
        tinyops_runs.push(r);
    }

    let mut microflow_runs = vec![];
    if !args.no_microflow {
        let plugin = qemu::build_plugin(tc.gcc.as_deref().ok_or("no gcc")?, false).map_err(|e| e.to_string())?;
        let bench =
            microflow::Bench { target: m4, tc: &tc, plugin: &plugin, scratch, version: &args.microflow_version };
        let stems: Vec<&str> = report::TFLITE_STEMS
            .iter()
            .copied()
            .filter(|s| args.models.is_empty() || args.models.iter().any(|m| *m == format!("mlperf_{s}")))
            .collect();
        for (i, stem) in stems.iter().enumerate() {
            eprintln!("▸ [{}/{}] MicroFlow {} on {stem}.tflite…", i + 1, stems.len(), args.microflow_version);
            let outcome = bench.run(stem, &corpus);
            eprintln!("  {}", outcome_line(&outcome));
            microflow_runs.push(MicroflowRun { tflite: stem.to_string(), model: format!("mlperf_{stem}"), outcome });
        }
    }

    let mut host_runs = vec![];
    let mut host_load = None;
    let mut host_cpu = None;
    if !args.no_host {
        host_load = load_average();
        host_cpu = cpu_description();
        let models: Vec<&str> = report::FP32_MODELS
            .iter()
            .chain(report::INT8_MODELS)
            .chain(report::HOST_EXTRA_MODELS)
            .copied()
            .filter(|m| args.models.is_empty() || args.models.iter().any(|o| o == m))
            .collect();
        let host_target = match args.host_target.as_str() {
            "auto" => tinyops_compiler::driver::host_cpu::runnable_host_targets().last().copied().unwrap_or("host"),
            t => t,
        };
        for (i, m) in models.iter().enumerate() {
            eprintln!("▸ [{}/{}] tinyops bench {m} --target {host_target} ({} runs)…", i + 1, models.len(), args.runs);
            let r = tinyops_bench(&tinyops, &corpus, m, host_target, args.runs);
            match &r.result {
                Ok(b) => eprintln!(
                    "  median {} (onnxruntime {})",
                    b.median_ns.map(report::human_ns).unwrap_or_default(),
                    b.onnxruntime_median_ns.map(report::human_ns).unwrap_or_else(|| "not measured".into())
                ),
                Err(e) => eprintln!("  FAILED: {e}"),
            }
            host_runs.push(r);
        }
    }

    let commit = Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=10"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let host_rustc = host_runs
        .iter()
        .filter_map(|r| r.result.as_ref().ok())
        .map(|b| b.rustc.clone())
        .next()
        .unwrap_or_else(|| version_line("rustc", &["-V"]));
    let info = RunInfo {
        date: today(),
        command: args.command.clone(),
        seconds: started.elapsed().as_secs(),
        commit,
        cross_rustc: tc.rustc_version.clone(),
        host_rustc,
        qemu: ["qemu-system-arm", "qemu-system-riscv32"]
            .iter()
            .map(|q| format!("`{q}`: `{}`", version_line(q, &["--version"])))
            .collect(),
        microflow: args.microflow_version.clone(),
        anchors_path: args.anchors.display().to_string(),
        host_load,
        host_cpu,
    };
    Ok(Results { info, tinyops: tinyops_runs, host: host_runs, microflow: microflow_runs })
}

/// `1.50 on 2 cores`: the 1-minute load average and the number of cores.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    Some(format!("{} on {cores} cores", text.split_whitespace().next()?))
}

/// `AMD EPYC; avx2, fma, avx512f, avx512_vnni`: the CPU model and, of the vector
/// extensions that decide host kernel speed, those `/proc/cpuinfo` lists.
fn cpu_description() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
    };
    let model = field("model name")?;
    let flags = field("flags").unwrap_or_default();
    let present: Vec<&str> = flags
        .split_whitespace()
        .filter(|f| ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8"].contains(f))
        .collect();
    Some(format!(
        "{model}; {}",
        if present.is_empty() { "none of AVX2, FMA, AVX-512".to_string() } else { present.join(", ") }
    ))
}

fn outcome_line(o: &report::MicroflowOutcome) -> String {
    match o {
        report::MicroflowOutcome::Measured {
            instructions,
            flash_bytes,
            ram_bytes,
            stack_bytes,
            checks,
            check_note,
            ..
        } => {
            format!(
                "{} instructions, flash {flash_bytes} B, RAM {ram_bytes} B + {stack_bytes} B stack; {}",
                report::group(*instructions),
                check_note.clone().unwrap_or_else(|| checks
                    .iter()
                    .map(|c| format!("vs {}: {}", c.reference, c.summary()))
                    .collect::<Vec<_>>()
                    .join("; "))
            )
        }
        report::MicroflowOutcome::DoesNotCompile(e) => format!("does not compile: {e}"),
        report::MicroflowOutcome::Failed(e) => format!("FAILED: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_819), (2027, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn first_lines_of_tool_errors() {
        assert_eq!(
            first_line("▸ compiling…\nerror: building firmware failed\ndetail\n"),
            "error: building firmware failed"
        );
        assert_eq!(first_line("just text\nlast\n\n"), "last");
        assert_eq!(first_line(""), "no output");
    }

    #[test]
    fn subsets_keep_table_order() {
        assert_eq!(selected(&["a", "b", "c"], &[]), ["a", "b", "c"]);
        assert_eq!(selected(&["a", "b", "c"], &["c".into(), "a".into()]), ["a", "c"]);
    }
}
