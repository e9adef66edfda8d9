//! `tinyops run`: compile a model, run it once on inputs from files with the engine
//! asked for (the JIT in process, or the Rust backend's harness), print the outputs
//! and optionally write them; with `runs` > 1 also time that many inferences.

use super::bench::{percentiles, time_harness};
use super::engine::EngineChoice;
use super::progress::Step;
use super::testdata::{read_npy, read_pb, write_npy, write_pb};
use super::verify::{build_harness, encode_sets, resolve_model, run_harness};
use crate::backend::jit::Engine as Jit;
use crate::error::{Error, Result};
use crate::ir::Tensor;
use crate::{compile, Options};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Compilation options.
    pub compile: Options,
    /// One file per run-time input, in input order (`.pb` TensorProto or `.npy`).
    pub inputs: Vec<PathBuf>,
    /// The engine (`Jit` or `Rust`).
    pub engine: EngineChoice,
    /// Where to write the outputs (`<output>.pb` and `.npy`), if anywhere.
    pub output: Option<PathBuf>,
    /// Inferences to time after the first (0: none).
    pub runs: usize,
    /// No progress lines.
    pub quiet: bool,
}

/// What a run did and measured.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Output names and values.
    pub outputs: Vec<(String, Tensor)>,
    /// Seconds: compiling the model, building the engine's code (JIT function, or
    /// cargo build), the first run.
    pub seconds: [f64; 3],
    /// Median, 10th and 90th percentile of `runs` timed inferences, in nanoseconds.
    pub latency_ns: Option<(u64, u64, u64)>,
    /// Files written.
    pub written: Vec<PathBuf>,
}

/// Reads an input file by its extension.
pub fn read_input(path: &Path) -> Result<Tensor> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pb") => read_pb(path),
        Some("npy") => read_npy(path),
        _ => Err(Error::Options(format!("--input {}: expected a .pb (TensorProto) or .npy file", path.display()))),
    }
}

/// Compiles and runs a model on the given inputs.
pub fn run(path: &Path, opts: &RunOptions) -> Result<RunReport> {
    if opts.engine == EngineChoice::Both {
        return Err(Error::Options("run takes one engine: --engine jit or rust (verify compares both)".into()));
    }
    if !opts.compile.target.is_host() {
        return Err(Error::Options(format!(
            "run executes on this machine; target `{}` is bare-metal (use verify, which runs it in QEMU)",
            opts.compile.target.name
        )));
    }
    let model = resolve_model(path)?;
    let inputs: Vec<Tensor> = opts.inputs.iter().map(|p| read_input(p)).collect::<Result<_>>()?;
    let t0 = Instant::now();
    let c = compile(&model, &opts.compile)?;
    let t_compile = t0.elapsed().as_secs_f64();
    let g = &c.graph;
    if inputs.len() != g.inputs().len() {
        return Err(Error::Options(format!(
            "the model takes {} run-time input(s) ({}), {} given",
            g.inputs().len(),
            g.inputs().iter().map(|&v| format!("`{}`", g.value(v).name)).collect::<Vec<_>>().join(", "),
            inputs.len()
        )));
    }
    for (i, (t, &v)) in inputs.iter().zip(g.inputs()).enumerate() {
        let ty = g.ty(v);
        if t.dtype() != ty.dtype || t.shape != ty.shape {
            return Err(Error::Options(format!(
                "input {i} `{}` must be {}{:?}, the file holds {}{:?}",
                g.value(v).name,
                ty.dtype,
                ty.shape,
                t.dtype(),
                t.shape
            )));
        }
    }
    let (build, first, latency, outs) = match opts.engine {
        EngineChoice::Jit => {
            let t1 = Instant::now();
            let (program, _) = c.jit_program()?;
            let mut e = Jit::new(&program, c.target, false)?;
            let build = t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let outs = e.run(&inputs)?;
            let first = t2.elapsed().as_secs_f64();
            let latency = if opts.runs > 0 {
                let mut times = vec![];
                for _ in 0..opts.runs {
                    let t = Instant::now();
                    e.run(&inputs)?;
                    times.push(t.elapsed().as_nanos() as u64);
                }
                percentiles(&times)
            } else {
                None
            };
            (build, first, latency, outs)
        }
        _ => {
            let t1 = Instant::now();
            let exe = build_harness(&c, opts.quiet)?;
            let build = t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let mut outs = run_harness(&exe, &c, &[&inputs])?;
            let first = t2.elapsed().as_secs_f64();
            let latency = if opts.runs > 0 {
                let step = Step::start(format!("timing {} runs of the harness", opts.runs), opts.quiet);
                let times = time_harness(&exe, &encode_sets(&[&inputs]), opts.runs)?;
                step.done();
                percentiles(&times)
            } else {
                None
            };
            (build, first, latency, outs.pop().unwrap_or_default())
        }
    };
    let names: Vec<String> = g.outputs().iter().map(|&v| g.value(v).name.clone()).collect();
    let mut written = vec![];
    if let Some(dir) = &opts.output {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for (k, (name, t)) in names.iter().zip(&outs).enumerate() {
            let pb = dir.join(format!("output_{k}.pb"));
            write_pb(&pb, name, t)?;
            written.push(pb);
            if super::bench::numpy_dtype(t.dtype()).is_some() {
                let npy = dir.join(format!("output_{k}.npy"));
                write_npy(&npy, t)?;
                written.push(npy);
            }
        }
    }
    Ok(RunReport {
        outputs: names.into_iter().zip(outs).collect(),
        seconds: [t_compile, build, first],
        latency_ns: latency,
        written,
    })
}

impl RunReport {
    /// Outputs (at most 16 values each), timings and files, for people.
    pub fn to_text(&self, engine: EngineChoice) -> String {
        let mut s = String::new();
        for (name, t) in &self.outputs {
            let n = t.data.len();
            let shown: Vec<String> = (0..n.min(16)).map(|i| format!("{}", t.data.get_f64(i))).collect();
            let more = if n > 16 { format!(", … ({} more)", n - 16) } else { String::new() };
            s.push_str(&format!("{name}: {}{:?} = [{}{more}]\n", t.dtype(), t.shape, shown.join(", ")));
        }
        let what = if engine == EngineChoice::Jit { "JIT function built" } else { "cargo build" };
        s.push_str(&format!(
            "compiled in {:.3} s, {what} in {:.3} s, first run {:.3} ms\n",
            self.seconds[0],
            self.seconds[1],
            self.seconds[2] * 1e3
        ));
        if let Some((med, p10, p90)) = self.latency_ns {
            s.push_str(&format!(
                "latency per inference: median {:.1} µs (p10 {:.1}, p90 {:.1})\n",
                med as f64 / 1e3,
                p10 as f64 / 1e3,
                p90 as f64 / 1e3
            ));
        }
        for p in &self.written {
            s.push_str(&format!("wrote {}\n", p.display()));
        }
        s
    }
}
