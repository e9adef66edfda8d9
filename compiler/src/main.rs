//! The `tinyops` command line.

use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use tinyops_compiler::driver::bench::{bench, BenchOptions};
use tinyops_compiler::driver::conformance::{self, ConformanceOptions};
use tinyops_compiler::driver::engine::EngineChoice;
use tinyops_compiler::driver::progress::Step;
use tinyops_compiler::driver::run::RunOptions;
use tinyops_compiler::driver::testdata::read_pb;
use tinyops_compiler::driver::verify::{resolve_model, verify, Verdict, VerifyOptions};
use tinyops_compiler::golden::GoldenSource;
use tinyops_compiler::{compile, report::Report, Error, Options};

/// Compile ONNX models into no_std, allocation-free Rust for microcontrollers, and
/// verify, inspect and measure what comes out.
///
/// Exit codes: 0 success (verify: PASS), 1 verify FAIL, 2 error (bad input, missing
/// tools, a build or run that failed), 3 built but not run (a target without an
/// emulator board, such as cortex-m0plus).
#[derive(Parser)]
#[command(name = "tinyops", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct ModelArgs {
    /// The target (host, x86-64-v3, x86-64-v4-vnni, cortex-m0plus, cortex-m4, cortex-m33, cortex-m55, riscv32imac).
    #[arg(long, short, default_value = "host")]
    target: String,
    /// Pin a dynamic input: NAME=D0,D1,… (repeatable).
    #[arg(long = "input-shape", value_name = "NAME=DIMS")]
    input_shapes: Vec<String>,
    /// Compile a graph input as a constant: NAME=FILE.pb (a TensorProto; repeatable).
    /// For inputs that act like attributes (a shape, pads, axes), never for data.
    #[arg(long = "freeze", value_name = "NAME=FILE.pb")]
    freeze: Vec<String>,
    /// Fail if any node still computes in float after quantisation (naming each).
    #[arg(long)]
    require_int8: bool,
    /// Generate no `self_test()` (and embed no golden vectors): saves their flash.
    #[arg(long)]
    no_self_test: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a model into a ready-to-build crate (or a module with --module).
    Compile {
        /// The .onnx file (or a folder holding model.onnx).
        model: PathBuf,
        #[command(flatten)]
        args: ModelArgs,
        /// Output folder.
        #[arg(long, short)]
        output: PathBuf,
        /// Golden vectors of `self_test()` from test_data_set_0 of this folder (default:
        /// the reference evaluator on a pseudo-random input).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Write `<name>.rs` + `<name>.weights.bin` for `include!` instead of a crate.
        #[arg(long, value_name = "NAME")]
        module: Option<String>,
        /// Also write the IR after import and after every pass into this folder.
        #[arg(long, value_name = "DIR")]
        dump_ir: Option<PathBuf>,
        /// Fail when the arena needs more bytes of RAM than this.
        #[arg(long, value_name = "BYTES")]
        max_ram: Option<usize>,
        /// Fail when the weights need more bytes of flash than this.
        #[arg(long, value_name = "BYTES")]
        max_flash: Option<usize>,
    },
    /// Show ops, parameters, MACs, the arena size (with the lower bound of its schedule
    /// and a TFLM-style greedy baseline) and the memory plan.
    Inspect {
        /// The .onnx file (or a folder holding model.onnx).
        model: PathBuf,
        #[command(flatten)]
        args: ModelArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Write the IR after import and after every pass into this folder.
        #[arg(long, value_name = "DIR")]
        dump_ir: Option<PathBuf>,
        /// Draw the memory plan as SVG into this file (steps on x, addresses on y).
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
    },
    /// Compile, build and run a model on its reference inputs; compare outputs. Bare-metal
    /// targets run as firmware in QEMU (exit 3 when the target has no emulator board).
    Verify {
        /// The .onnx file or its folder (with test_data_set_*/).
        model: PathBuf,
        #[command(flatten)]
        args: ModelArgs,
        /// Folder with test_data_set_* (default: the model's folder).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Absolute tolerance for float outputs.
        #[arg(long, default_value_t = 1e-4)]
        atol: f64,
        /// Relative tolerance for float outputs.
        #[arg(long, default_value_t = 1e-4)]
        rtol: f64,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
        /// Which engine runs the model on the host: the generated Rust (built with
        /// cargo), the cranelift JIT, or both with their outputs compared element by
        /// element (integers exactly, floats within 4 ULP or 1e-6).
        #[arg(long, value_enum, default_value = "rust")]
        engine: EngineChoice,
    },
    /// Compile a model and run it once on inputs from files (the JIT by default: no
    /// cargo build); print the outputs, optionally write them.
    Run {
        /// The .onnx file (or a folder holding model.onnx).
        model: PathBuf,
        #[command(flatten)]
        args: ModelArgs,
        /// One run-time input per flag, in input order: a TensorProto (.pb) or .npy file.
        #[arg(long = "input", value_name = "FILE", required = true)]
        inputs: Vec<PathBuf>,
        /// The engine: jit (cranelift, in process) or rust (generated crate, cargo).
        #[arg(long, value_enum, default_value = "jit")]
        engine: EngineChoice,
        /// Write every output as output_K.pb (and output_K.npy where NumPy has the type).
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Also time this many inferences after the first (latency per inference).
        #[arg(long, default_value_t = 0)]
        runs: usize,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Measure one inference: latency on the host (beside onnxruntime when installed),
    /// executed instructions in QEMU on emulated targets, flash/RAM/stack of firmware.
    Bench {
        /// The .onnx file or its folder (with test_data_set_*/; set 0 is measured).
        model: PathBuf,
        #[command(flatten)]
        args: ModelArgs,
        /// Folder with test_data_set_* (default: the model's folder).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Timed runs on the host; emulated targets always run twice (the counts must agree).
        #[arg(long, default_value_t = 200)]
        runs: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
        /// Also measure every step of the model: its instructions on emulated targets,
        /// its median latency on the host.
        #[arg(long)]
        steps: bool,
        /// Also measure the flash the model's self-test costs (bare-metal targets): the
        /// self-test firmware built with and without it, both images measured. With
        /// --json, prints `{"bench": …, "self_test_flash": {"with", "without"}}`.
        #[arg(long, conflicts_with = "no_self_test")]
        self_test_cost: bool,
    },
    /// Run a folder of ONNX backend test cases (<case>/model.onnx + test_data_set_*):
    /// compile, build together, run, compare; a table per op.
    Conformance {
        /// The folder of cases (e.g. onnx-backend-tests/node).
        dir: PathBuf,
        /// Only cases whose folder name matches this regular expression.
        #[arg(long, value_name = "REGEX")]
        filter: Option<String>,
        /// Print one JSON object with every case instead of the table.
        #[arg(long)]
        json: bool,
        /// Parallel jobs (default: the number of cores).
        #[arg(long, short)]
        jobs: Option<usize>,
        /// Cases per generated crate.
        #[arg(long, default_value_t = 64)]
        chunk_size: usize,
        /// No progress lines.
        #[arg(long, short)]
        quiet: bool,
        /// Rewrite docs/conformance.tsv, docs/conformance.md and the README op table of
        /// the repository at this folder from the results (a full run only).
        #[arg(long, value_name = "REPO", conflicts_with = "filter")]
        update_docs: Option<PathBuf>,
        /// Which engine runs the cases: rust (built in chunks with cargo) or jit.
        #[arg(long, value_enum, default_value = "rust")]
        engine: EngineChoice,
    },
    /// Which variant of a model runs where: every variant on every device (flash, RAM,
    /// cost per inference, quality with --data) and the choice per device.
    Fleet(tinyops_compiler::driver::fleet::cli::FleetArgs),
    /// Memory of every model in a corpus folder (each subfolder holding model.onnx):
    /// arena, lower bound of its schedule, TFLM-style greedy baseline.
    Memory {
        /// The corpus folder.
        dir: PathBuf,
        /// The target.
        #[arg(long, short, default_value = "cortex-m4")]
        target: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Rewrite docs/memory.md, its picture and the README memory table of the
        /// repository at this folder.
        #[arg(long, value_name = "REPO")]
        update_docs: Option<PathBuf>,
        /// Also build the MLPerf Tiny int8 models' bench firmware, run it in QEMU and
        /// report the RAM of the linked image (static RAM and measured stack); with
        /// --update-docs it goes into docs/memory.md (without, the page keeps its own).
        #[arg(long)]
        image: bool,
    },
}

/// Exit code of a target that was built but not run.
const NOT_RUN: u8 = 3;

fn parse_shapes(items: &[String]) -> Result<BTreeMap<String, Vec<usize>>, Error> {
    let mut m = BTreeMap::new();
    for it in items {
        let (name, dims) = it
            .rsplit_once('=')
            .ok_or_else(|| Error::Options(format!("--input-shape `{it}`: expected NAME=D0,D1,…")))?;
        let dims: Vec<usize> =
            dims.split(',').map(|d| d.trim().parse::<usize>()).collect::<Result<_, _>>().map_err(|_| {
                Error::Options(format!("--input-shape `{it}`: dimensions must be non-negative integers"))
            })?;
        m.insert(name.to_string(), dims);
    }
    Ok(m)
}

fn parse_frozen(items: &[String]) -> Result<BTreeMap<String, tinyops_compiler::ir::Tensor>, Error> {
    let mut m = BTreeMap::new();
    for it in items {
        let (name, file) =
            it.rsplit_once('=').ok_or_else(|| Error::Options(format!("--freeze `{it}`: expected NAME=FILE.pb")))?;
        if m.insert(name.to_string(), read_pb(std::path::Path::new(file))?).is_some() {
            return Err(Error::Options(format!("--freeze: input `{name}` is frozen twice")));
        }
    }
    Ok(m)
}

/// Compile options from the command line; `data` is where `self_test()`'s golden vectors
/// come from (the reference evaluator without it).
fn options(args: &ModelArgs, dump: bool, data: Option<&PathBuf>) -> Result<Options, Error> {
    let target = tinyops_targets::lookup(&args.target).map_err(|e| Error::Options(e.to_string()))?;
    let self_test = match (args.no_self_test, data) {
        (true, _) => GoldenSource::Off,
        (false, Some(d)) => GoldenSource::Data(d.clone()),
        (false, None) => GoldenSource::Reference,
    };
    Ok(Options {
        self_test,
        target,
        input_shapes: parse_shapes(&args.input_shapes)?,
        frozen: parse_frozen(&args.freeze)?,
        dump_ir: dump,
        require_int8: args.require_int8,
        ..Options::default()
    })
}

fn write_dumps(c: &tinyops_compiler::Compilation, dir: &PathBuf) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = vec![("00-import.ir".to_string(), c.imported_ir.clone().unwrap_or_default())];
    for (i, (name, _, text)) in c.pass_log.steps.iter().enumerate() {
        files.push((format!("{:02}-{name}.ir", i + 1), text.clone().unwrap_or_default()));
    }
    for (f, text) in files {
        let p = dir.join(f);
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Compile { model, args, output, data, module, dump_ir, max_ram, max_flash } => {
            let model = resolve_model(&model)?;
            let mut opts = options(&args, dump_ir.is_some(), data.as_ref())?;
            if let Some(name) = &module {
                opts.weights = tinyops_compiler::backend::rust::WeightsMode::Files(format!("{name}.weights"));
            }
            let step = Step::start(format!("compiling {} for {}", model.display(), opts.target.name), false);
            let c = compile(&model, &opts)?;
            step.done();
            if let Some(d) = &dump_ir {
                write_dumps(&c, d)?;
            }
            tinyops_compiler::budget::Budget { max_ram, max_flash }.check(&c)?;
            match module {
                Some(name) => {
                    let rs = c.write_module(&output, &name)?;
                    println!(
                        "wrote {} ({} B weights, arena {} B)",
                        rs.display(),
                        c.program.weight_bytes(),
                        c.plan.arena_bytes
                    );
                }
                None => {
                    c.write_crate(&output, None)?;
                    println!(
                        "wrote crate `{}` to {} ({} B weights, arena {} B); build it with: cargo build --release --manifest-path {}/Cargo.toml",
                        c.crate_name(),
                        output.display(),
                        c.program.weight_bytes(),
                        c.plan.arena_bytes,
                        output.display()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { model, args, json, dump_ir, svg } => {
            let model = resolve_model(&model)?;
            let c = compile(&model, &options(&args, dump_ir.is_some(), None)?)?;
            if let Some(d) = &dump_ir {
                write_dumps(&c, d)?;
            }
            if let Some(f) = &svg {
                let title = format!("{} on {}", c.graph.name, c.target.name);
                std::fs::write(f, tinyops_compiler::plan::svg::render(&c.plan, &title)).map_err(|e| Error::io(f, e))?;
            }
            let r = Report::new(&c);
            if json {
                println!("{}", serde_json::to_string_pretty(&r).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                print!("{}", r.to_text());
                if c.target.is_host() {
                    // Detected now, for the user; the generated code depends only on the target named.
                    let runs = tinyops_compiler::driver::host_cpu::runnable_host_targets();
                    println!("\nthis machine runs the host targets: {}", runs.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { model, args, data, atol, rtol, json, quiet, engine } => {
            let opts = VerifyOptions {
                compile: options(&args, false, data.as_ref())?,
                data,
                tolerance: tinyops_compiler::driver::compare::Tolerance { atol, rtol },
                quiet: quiet || json,
                engine,
            };
            let r = verify(&model, &opts)?;
            if json {
                println!("{}", serde_json::to_string(&r).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                print!("{}", r.to_text());
            }
            Ok(match r.verdict {
                Verdict::Pass => ExitCode::SUCCESS,
                Verdict::Fail => ExitCode::from(1),
                Verdict::NotRun => ExitCode::from(NOT_RUN),
            })
        }
        Command::Bench { model, args, data, runs, json, quiet, steps, self_test_cost } => {
            if steps && tinyops_targets::lookup(&args.target).is_ok_and(|t| t.emulator.is_none() && !t.is_host()) {
                return Err(Error::Options(format!(
                    "--steps counts instructions in an emulator or times steps on the host; target `{}` is neither",
                    args.target
                )));
            }
            let opts = BenchOptions {
                compile: options(&args, false, data.as_ref())?,
                data,
                runs,
                quiet: quiet || json,
                steps,
                onnxruntime: true,
            };
            if self_test_cost && opts.compile.target.is_host() {
                return Err(Error::Options(format!(
                    "--self-test-cost measures firmware images; target `{}` has none",
                    opts.compile.target.name
                )));
            }
            let r = bench(&model, &opts)?;
            let cost = if self_test_cost {
                let tc = tinyops_compiler::driver::verify::cross_toolchain(
                    opts.compile.target,
                    tinyops_compiler::driver::toolchain::Need::Build,
                )?
                .ok_or_else(|| Error::Internal("no cross toolchain for a bare-metal target".into()))?;
                let model = resolve_model(&model)?;
                let step = Step::start("measuring the self-test's flash (firmware with and without it)", opts.quiet);
                let cost = tinyops_compiler::driver::firmware::selftest::flash_cost(&model, &opts.compile, &tc, true)?;
                step.done();
                Some(cost)
            } else {
                None
            };
            if json {
                let b = serde_json::to_value(&r).map_err(|e| Error::Internal(e.to_string()))?;
                let v = match cost {
                    Some(c) => serde_json::json!({ "bench": b, "self_test_flash": c }),
                    None => b,
                };
                println!("{v}");
            } else {
                print!("{}", r.to_text());
                if let Some(c) = cost {
                    println!(
                        "self-test flash: {} B (firmware {} B with it, {} B without; both images measured)",
                        c.bytes(),
                        c.with,
                        c.without
                    );
                }
            }
            Ok(if r.ran_on.is_some() { ExitCode::SUCCESS } else { ExitCode::from(NOT_RUN) })
        }
        Command::Run { model, args, inputs, engine, output, runs, quiet } => {
            // The run's outputs come from the model; no self-test vectors are needed.
            let mut compile = options(&args, false, None)?;
            compile.self_test = GoldenSource::Off;
            let opts = RunOptions { compile, inputs, engine, output, runs, quiet };
            let r = tinyops_compiler::driver::run::run(&model, &opts)?;
            print!("{}", r.to_text(engine));
            Ok(ExitCode::SUCCESS)
        }
        Command::Fleet(args) => tinyops_compiler::driver::fleet::cli::main(args),
        Command::Memory { dir, target, json, update_docs, image } => {
            use tinyops_compiler::docs::memory;
            let target = tinyops_targets::lookup(&target).map_err(|e| Error::Options(e.to_string()))?;
            let (rows, picture) = memory::measure(&dir, target)?;
            let images = if image { Some(memory::measure_image(&dir, target)?) } else { None };
            if let Some(repo) = &update_docs {
                memory::update(repo, &rows, picture.as_deref(), target.name, images.as_deref())?;
            }
            if json {
                let v = serde_json::json!({ "models": rows, "image": images });
                println!("{}", serde_json::to_string_pretty(&v).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                let (worst, med) = memory::summary(&rows);
                print!("{}", memory::table(&rows));
                println!("largest arena / lower bound {worst:.3}; median arena / greedy baseline {med:.3}");
                if let Some(images) = &images {
                    print!("{}", memory::image_section(images, target.name));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Conformance { dir, filter, json, jobs, chunk_size, quiet, update_docs, engine } => {
            if update_docs.is_some() && engine != EngineChoice::Rust {
                return Err(Error::Options(
                    "--update-docs records the Rust backend's results; run it with --engine rust".into(),
                ));
            }
            let mut opts = ConformanceOptions { chunk_size, quiet: quiet || json, engine, ..Default::default() };
            if let Some(j) = jobs {
                opts.jobs = j.max(1);
            }
            if let Some(f) = filter {
                opts.filter =
                    Some(regex_lite::Regex::new(&f).map_err(|e| Error::Options(format!("--filter `{f}`: {e}")))?);
            }
            let r = conformance::run(&dir, &opts)?;
            if let Some(repo) = &update_docs {
                let folder = dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                tinyops_compiler::docs::update(repo, &folder, &r)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r).map_err(|e| Error::Internal(e.to_string()))?);
            } else {
                print!("{}", r.to_text());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
