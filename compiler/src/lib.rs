//! tinyops: an ahead-of-time compiler from ONNX models to `#![no_std]`,
//! allocation-free Rust, specialised per target.
//!
//! The pipeline is [`front`] (protobuf → typed [`ir::Graph`]), [`passes`] (folding,
//! fusion), [`plan`] (schedule and arena offsets), [`lower`] (backend-neutral kernel
//! calls, each kernel's implementation chosen for the target) and [`backend`] (a Rust
//! module calling `tinyops-runtime` kernels). [`compile`] runs all of it; [`driver`]
//! builds and runs the result; the `tinyops` binary is the command-line front of both.
//!
//! ```no_run
//! let opts = tinyops_compiler::Options::default();
//! let c = tinyops_compiler::compile(std::path::Path::new("model.onnx"), &opts).unwrap();
//! c.write_crate(std::path::Path::new("out"), None).unwrap();
//! ```

pub mod backend;
pub mod budget;
pub mod build;
pub mod docs;
pub mod driver;
pub mod error;
pub mod eval;
pub mod front;
pub mod golden;
pub mod ir;
pub mod lower;
pub mod ops;
pub mod passes;
pub mod plan;
pub mod report;

pub use error::{Error, NodeRef, Problem, Result};
pub use tinyops_targets::Target as TargetRef;

/// Looks up a target by name, with the list of known ones in the error.
pub fn lookup_target(name: &str) -> std::result::Result<&'static Target, String> {
    tinyops_targets::lookup(name).map_err(|e| e.to_string())
}

use backend::rust::{Generated, Manifest, WeightsMode};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tinyops_targets::Target;

/// Compilation options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The target.
    pub target: &'static Target,
    /// Shapes pinning dynamic graph inputs, by input name.
    pub input_shapes: BTreeMap<String, Vec<usize>>,
    /// Keep the IR text after import and after every pass.
    pub dump_ir: bool,
    /// How the generated code reaches its weights.
    pub weights: WeightsMode,
    /// Fail if any node computes in float (or converts float ⇄ integer inside the
    /// model) after quantisation.
    pub require_int8: bool,
    /// Graph inputs compiled as constants, by input name (`--freeze`).
    pub frozen: BTreeMap<String, ir::Tensor>,
    /// Where the golden vectors of the generated `self_test()` come from
    /// ([`golden::GoldenSource::Off`]: no self-test).
    pub self_test: golden::GoldenSource,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            target: tinyops_targets::host(),
            input_shapes: BTreeMap::new(),
            dump_ir: false,
            weights: WeightsMode::Files("weights".into()),
            require_int8: false,
            frozen: BTreeMap::new(),
            self_test: golden::GoldenSource::default(),
        }
    }
}

impl Options {
    /// The options in a stable text form for the manifest (`OPTIONS`): the same
    /// options give the same text on any machine — no paths, maps in key order,
    /// frozen inputs by the SHA-256 of their data. How weights reach the code
    /// (files or inline) is not part of it: it changes no byte a kernel reads.
    /// `golden` is the self-test's vectors (their origin and a hash, never a path).
    pub fn text(&self, golden: Option<&golden::Golden>) -> String {
        let shapes: Vec<String> = self
            .input_shapes
            .iter()
            .map(|(k, d)| format!("{k}={}", d.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")))
            .collect();
        let frozen: Vec<String> = self
            .frozen
            .iter()
            .map(|(k, t)| format!("{k}={}:{:?}:{}", t.dtype(), t.shape, &sha256_hex(&t.data.to_le_bytes())[..16]))
            .collect();
        format!(
            "target={} input_shapes=[{}] frozen=[{}] require_int8={} self_test={}",
            self.target.name,
            shapes.join(" "),
            frozen.join(" "),
            self.require_int8,
            golden.map_or("off".to_string(), golden::Golden::text)
        )
    }
}

/// Everything one compilation produced.
#[derive(Debug)]
pub struct Compilation {
    /// The model file.
    pub model_path: PathBuf,
    /// SHA-256 of the model file, hex.
    pub sha256: String,
    /// IR text right after import (when `dump_ir` was set).
    pub imported_ir: Option<String>,
    /// The optimised graph.
    pub graph: ir::Graph,
    /// Rewrites per pass (and IR text after each, when `dump_ir` was set).
    pub pass_log: passes::PassLog,
    /// Schedule and memory plan.
    pub plan: plan::Plan,
    /// The lowered program: kernel calls with their implementations and operands.
    pub program: lower::Program,
    /// The generated module and weights.
    pub generated: Generated,
    /// The target.
    pub target: &'static Target,
    /// The golden vectors of the generated `self_test()` (none when opted out).
    pub golden: Option<golden::Golden>,
    /// The model's graph inputs before freezing, in order (what reference data sets
    /// hold); the graph's own inputs are those of them not frozen.
    pub declared_inputs: Vec<String>,
}

/// Hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles an ONNX file.
pub fn compile(path: &Path, opts: &Options) -> Result<Compilation> {
    let load = front::LoadOptions { input_shapes: opts.input_shapes.clone(), frozen: opts.frozen.clone() };
    let (model, mut graph) = front::load(path, &load)?;
    let declared_inputs = front::declared_inputs(&model.proto);
    if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
        // The folder's name, however the path was given (`model.onnx` from inside the
        // folder names it as well as an absolute path does).
        let folder = std::path::absolute(path).ok().and_then(|p| p.parent().map(Path::to_path_buf));
        graph.name = if stem == "model" {
            folder.as_deref().and_then(Path::file_name).and_then(|s| s.to_str()).unwrap_or(stem).to_string()
        } else {
            stem.to_string()
        };
    }
    let imported_ir = opts.dump_ir.then(|| ir::text::to_text(&graph));
    if let Err(errs) = ir::verify::verify(&graph) {
        return Err(Error::Internal(format!("imported IR does not verify: {}", errs.join("; "))));
    }
    let pass_log = passes::optimise(&mut graph, opts.dump_ir).map_err(Error::Internal)?;
    if opts.require_int8 {
        passes::quantize::require_int8(&graph)
            .map_err(|problems| Error::Model { path: path.to_path_buf(), problems })?;
    }
    let scratch = lower::scratch_needs(&graph, opts.target);
    let in_place = lower::in_place_options(&graph, opts.target);
    let streams = lower::stream_options(&graph, opts.target);
    let align = lower::arena_align(opts.target);
    let plan = plan::plan(&graph, &scratch, &in_place, &streams, align).map_err(Error::Internal)?;
    let sha256 = sha256_hex(&model.bytes);
    let program = lower::lower(&graph, &plan, opts.target)
        .map_err(|problems| Error::Model { path: path.to_path_buf(), problems })?;
    let golden = golden::golden(&graph, &declared_inputs, &opts.self_test, driver::compare::Tolerance::default())?;
    let manifest = Manifest {
        model_sha256: sha256.clone(),
        source: path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        target: opts.target,
        options: opts.text(golden.as_ref()),
    };
    let generated = backend::rust::generate(&program, &manifest, &opts.weights, golden.as_ref())?;
    Ok(Compilation {
        model_path: path.to_path_buf(),
        sha256,
        imported_ir,
        graph,
        pass_log,
        plan,
        program,
        generated,
        target: opts.target,
        golden,
        declared_inputs,
    })
}

/// The folder of the runtime crate this compiler was built with (for path
/// dependencies of generated crates). `TINYOPS_RUNTIME_PATH` overrides it.
pub fn runtime_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TINYOPS_RUNTIME_PATH") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime-core")
}

fn write(path: &Path, data: impl AsRef<[u8]>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    // Leave unchanged files alone so cargo's incremental rebuilds stay quiet.
    if std::fs::read(path).is_ok_and(|old| old == data.as_ref()) {
        return Ok(());
    }
    std::fs::write(path, data).map_err(|e| Error::io(path, e))
}

impl Compilation {
    /// The program the JIT engine runs: [`Compilation::program`] itself, or, when
    /// that streams groups (which the JIT does not run), the same graph planned and
    /// lowered without streaming (its own arena, given too).
    pub fn jit_program(&self) -> Result<(std::borrow::Cow<'_, lower::Program>, Option<usize>)> {
        if self.plan.streams.is_empty() {
            return Ok((std::borrow::Cow::Borrowed(&self.program), None));
        }
        let scratch = lower::scratch_needs(&self.graph, self.target);
        let in_place = lower::in_place_options(&self.graph, self.target);
        let align = lower::arena_align(self.target);
        let plan = plan::plan(&self.graph, &scratch, &in_place, &[], align).map_err(Error::Internal)?;
        let program = lower::lower(&self.graph, &plan, self.target)
            .map_err(|problems| Error::Model { path: self.model_path.clone(), problems })?;
        Ok((std::borrow::Cow::Owned(program), Some(plan.arena_bytes)))
    }

    /// A crate-friendly snake-case name derived from the model.
    pub fn crate_name(&self) -> String {
        backend::rust::names::ident(&self.graph.name, "model").replace('_', "-")
    }

    /// Writes the module as `<dir>/<stem>.rs` with its weight files beside it (for
    /// `build.rs` users who `include!` it). The code must have been generated with
    /// `WeightsMode::Files("<stem>.weights")`.
    pub fn write_module(&self, dir: &Path, stem: &str) -> Result<PathBuf> {
        let rs = dir.join(format!("{stem}.rs"));
        write(&rs, &self.generated.code)?;
        self.write_weights(dir)?;
        Ok(rs)
    }

    fn write_weights(&self, dir: &Path) -> Result<()> {
        for w in &self.generated.weight_files {
            write(&dir.join(&w.path), &w.bytes)?;
        }
        Ok(())
    }

    /// Writes a ready-to-build `#![no_std]` library crate into `dir`; the runtime is a
    /// path dependency (`runtime` or [`runtime_path`]). The code must have been
    /// generated with `WeightsMode::Files("weights")` (the default).
    pub fn write_crate(&self, dir: &Path, runtime: Option<&Path>) -> Result<()> {
        let runtime = runtime.map(Path::to_path_buf).unwrap_or_else(runtime_path);
        let runtime = runtime.canonicalize().map_err(|e| Error::io(&runtime, e))?;
        let name = self.crate_name();
        let toml = format!(
            "# Generated by tinyops {} from {:?} (sha256 {}).\n\
             [package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
             [lib]\npath = \"src/lib.rs\"\n\n\
             [dependencies]\ntinyops-runtime = {{ path = {:?} }}\n\n\
             [profile.release]\nopt-level = 3\ncodegen-units = 1\npanic = \"abort\"\n\n\
             [workspace]\n",
            env!("CARGO_PKG_VERSION"),
            // The file name only: the crate's bytes must not depend on where the model was.
            self.model_path.file_name().unwrap_or_default(),
            self.sha256,
            runtime.display().to_string(),
        );
        write(&dir.join("Cargo.toml"), toml)?;
        let lib = format!(
            "//! `{}` compiled by tinyops for `{}`: see [`Model`].\n\
             #![no_std]\n#![forbid(unsafe_code)]\n\n{}",
            self.graph.name, self.target.name, self.generated.code
        );
        write(&dir.join("src/lib.rs"), lib)?;
        self.write_weights(&dir.join("src"))?;
        Ok(())
    }
}
