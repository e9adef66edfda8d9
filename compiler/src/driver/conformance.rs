//! `tinyops conformance`: a folder of ONNX backend test cases (`<case>/model.onnx` +
//! `test_data_set_*/`) through the path users take — compile each case to a no_std
//! module, build the modules together, run them on the cases' inputs and compare with
//! the reference outputs at the ONNX test runner's tolerances.
//!
//! Every case ends `pass`, `fail` (it ran and a result is wrong, its generated code
//! did not build, or the compiler panicked — a tinyops bug) or `unsupported` (the
//! compiler refused it, with its reason). Modules are built in chunks of many cases,
//! one cargo invocation per chunk, as one `#![no_std]` library (one module per case)
//! and a std harness binary that runs a case named on its command line. When a chunk
//! does not build, the cases whose files hold the errors are marked `fail` and the
//! rest rebuilt; errors no file explains are found by bisection. So one bad case
//! never sinks the others.

use super::engine::EngineChoice;
use super::progress::Step;
use super::testdata::{load_sets, DataSet};
use super::verify::runtime_inputs;
use super::{cargo, harness};
use crate::error::{Error, Result};
use crate::front;
use crate::ir::{DType, Data, Tensor};
use crate::ops::registry::attribute_inputs;
use crate::{compile, Compilation, Options};
use onnx_protobuf::ModelProto;
use quote::{format_ident, quote};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// ONNX's backend test runner compares floats with `|got − want| ≤ atol + rtol·|want|`.
pub const RTOL: f64 = 1e-3;
/// See [`RTOL`].
pub const ATOL: f64 = 1e-7;

/// Options of a conformance run.
#[derive(Debug, Clone)]
pub struct ConformanceOptions {
    /// Only cases whose folder name matches.
    pub filter: Option<regex_lite::Regex>,
    /// Parallel compilations, builds and runs.
    pub jobs: usize,
    /// Cases per generated crate.
    pub chunk_size: usize,
    /// Longest run of one case.
    pub timeout: Duration,
    /// No progress lines.
    pub quiet: bool,
    /// The engine that runs the cases: the Rust backend (built in chunks) or the JIT
    /// (in process, no build step).
    pub engine: super::engine::EngineChoice,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions {
            filter: None,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            chunk_size: 64,
            timeout: Duration::from_secs(60),
            quiet: false,
            engine: super::engine::EngineChoice::Rust,
        }
    }
}

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Every output matches.
    Pass,
    /// It ran and a result is wrong, or its code did not build, or tinyops panicked.
    Fail,
    /// The compiler refused the case.
    Unsupported,
}

impl Status {
    /// The word used in reports.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
        }
    }

    /// Parses [`Status::word`].
    pub fn parse(s: &str) -> Option<Status> {
        [Status::Pass, Status::Fail, Status::Unsupported].into_iter().find(|st| st.word() == s)
    }
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The case folder name (`test_add_bcast`).
    pub name: String,
    /// The ONNX op it tests (`Add`; `domain:Op` outside the default domain). Expanded
    /// cases (`…_expanded`) count for the op whose function body they hold.
    pub op: String,
    /// The outcome.
    pub status: Status,
    /// Why it failed or is unsupported (empty for a pass).
    pub reason: String,
    /// Largest absolute error over the outputs, when it ran.
    pub max_abs_error: Option<f64>,
    /// Graph inputs compiled as constants because they act like attributes.
    pub frozen: Vec<String>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize)]
pub struct ConformanceReport {
    /// Every case, in name order.
    pub cases: Vec<CaseResult>,
    /// Seconds spent compiling, building and running.
    pub seconds: [f64; 3],
}

/// Per-op counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// Cases.
    pub cases: usize,
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Unsupported.
    pub unsupported: usize,
}

impl OpCounts {
    fn add(&mut self, s: Status) {
        self.cases += 1;
        match s {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Unsupported => self.unsupported += 1,
        }
    }
}

/// Counts per op and in total.
pub fn tally<'a>(cases: impl IntoIterator<Item = (&'a str, Status)>) -> (BTreeMap<String, OpCounts>, OpCounts) {
    let mut per_op: BTreeMap<String, OpCounts> = BTreeMap::new();
    let mut total = OpCounts::default();
    for (op, s) in cases {
        per_op.entry(op.to_string()).or_default().add(s);
        total.add(s);
    }
    (per_op, total)
}

/// The closing line of every report.
pub fn summary_line(t: &OpCounts) -> String {
    format!("conformance: {} passed, {} failed, {} unsupported of {}", t.pass, t.fail, t.unsupported, t.cases)
}

impl ConformanceReport {
    /// Counts per op and in total.
    pub fn tally(&self) -> (BTreeMap<String, OpCounts>, OpCounts) {
        tally(self.cases.iter().map(|c| (c.op.as_str(), c.status)))
    }

    /// The text report: the per-op table, the failed cases with their reasons, the
    /// frozen-input count, and the summary line last.
    pub fn to_text(&self) -> String {
        let (per_op, total) = self.tally();
        let w = per_op.keys().map(|k| k.len()).max().unwrap_or(2).max(2);
        let mut s = format!("{:<w$}  {:>5}  {:>5}  {:>5}  {:>11}\n", "op", "cases", "pass", "fail", "unsupported");
        for (op, c) in &per_op {
            s.push_str(&format!("{op:<w$}  {:>5}  {:>5}  {:>5}  {:>11}\n", c.cases, c.pass, c.fail, c.unsupported));
        }
        let failed: Vec<&CaseResult> = self.cases.iter().filter(|c| c.status == Status::Fail).collect();
        if !failed.is_empty() {
            s.push_str(&format!("\nfailed ({}):\n", failed.len()));
            for c in failed {
                s.push_str(&format!("  {}: {}\n", c.name, c.reason));
            }
        }
        let frozen: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.frozen.is_empty()).collect();
        let frozen_pass = frozen.iter().filter(|c| c.status == Status::Pass).count();
        s.push_str(&format!(
            "\n{} cases ran with attribute-like inputs frozen ({} of them passed); {} passed with every input at run time\n",
            frozen.len(),
            frozen_pass,
            total.pass - frozen_pass
        ));
        s.push_str(&format!(
            "compile {:.1} s, build {:.1} s, run {:.1} s\n",
            self.seconds[0], self.seconds[1], self.seconds[2]
        ));
        s.push_str(&summary_line(&total));
        s.push('\n');
        s
    }
}

/// The op a case tests: the op of a single-node model; for a function's expanded
/// body (`…_expanded`, `…_expanded_verN`), the op of the unexpanded sibling case.
fn case_op(dir: &Path, name: &str, proto: &ModelProto) -> String {
    let g = &proto.graph;
    if let [n] = g.node.as_slice() {
        return if n.domain.is_empty() || n.domain == "ai.onnx" {
            n.op_type.clone()
        } else {
            format!("{}:{}", n.domain, n.op_type)
        };
    }
    if let Some(i) = name.rfind("_expanded") {
        let tail = &name[i + "_expanded".len()..];
        if tail.is_empty() || tail.strip_prefix("_ver").is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit())) {
            let sibling = dir.parent().map(|p| p.join(&name[..i]).join("model.onnx"));
            if let Some(Ok(m)) = sibling.map(|p| front::read(&p)) {
                if m.proto.graph.node.len() == 1 {
                    return case_op(dir, &name[..i], &m.proto);
                }
            }
        }
    }
    "(graph)".to_string()
}

/// The graph inputs to freeze: those read only at attribute-like operand slots
/// ([`attribute_inputs`]) of the graph's nodes, and small ones (at most
/// [`SHAPE_INPUT_MAX`] elements, rank 0 or 1) from which some attribute-like slot is
/// computed — an expanded function's size or shape operand passed through arithmetic
/// (the window functions' size into Range, CenterCropPad's shape into Pad and Slice).
fn inputs_to_freeze(proto: &ModelProto) -> BTreeSet<String> {
    let g = &proto.graph;
    let mut out = BTreeSet::new();
    for name in front::declared_inputs(proto) {
        let mut uses = 0;
        let mut attribute_like = 0;
        for n in &g.node {
            let slots = if n.domain.is_empty() || n.domain == "ai.onnx" { attribute_inputs(&n.op_type) } else { &[] };
            for (i, inp) in n.input.iter().enumerate() {
                if *inp == name {
                    uses += 1;
                    attribute_like += usize::from(slots.contains(&i));
                }
            }
        }
        if g.output.iter().any(|o| o.name == name) {
            continue;
        }
        if (uses > 0 && uses == attribute_like) || (is_small(g, &name) && fixes_attribute(g, &name)) {
            out.insert(name);
        }
    }
    out
}

/// The most elements of an input that [`inputs_to_freeze`] follows through
/// computations to an attribute-like slot.
const SHAPE_INPUT_MAX: i64 = 16;

/// True when the declared input is a scalar or a short vector of fixed size.
fn is_small(g: &onnx_protobuf::GraphProto, name: &str) -> bool {
    use onnx_protobuf::tensor_shape_proto::dimension::Value as Dim;
    use onnx_protobuf::type_proto::Value as Ty;
    let Some(vi) = g.input.iter().find(|i| i.name == name) else { return false };
    let Some(Ty::TensorType(tt)) = vi.type_.value.as_ref() else { return false };
    match tt.shape.dim.as_slice() {
        [] => tt.shape.is_some(),
        [d] => matches!(d.value, Some(Dim::DimValue(v)) if (1..=SHAPE_INPUT_MAX).contains(&v)),
        _ => false,
    }
}

/// True when some attribute-like slot of the graph reads `name` or a value computed
/// from it.
fn fixes_attribute(g: &onnx_protobuf::GraphProto, name: &str) -> bool {
    let mut reached: BTreeSet<&str> = BTreeSet::from([name]);
    loop {
        let before = reached.len();
        for n in &g.node {
            let slots = if n.domain.is_empty() || n.domain == "ai.onnx" { attribute_inputs(&n.op_type) } else { &[] };
            let mut reads = false;
            for (i, inp) in n.input.iter().enumerate() {
                if reached.contains(inp.as_str()) {
                    if slots.contains(&i) {
                        return true;
                    }
                    reads = true;
                }
            }
            if reads {
                reached.extend(n.output.iter().filter(|o| !o.is_empty()).map(String::as_str));
            }
        }
        if reached.len() == before {
            return false;
        }
    }
}

/// A case that compiled, waiting to be built and run.
struct Compiled {
    index: usize,
    compilation: Compilation,
    sets: Vec<DataSet>,
    inputs: Vec<Vec<Tensor>>,
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// A compile error as a one-line reason: its first problem (and how many more), or its
/// first line.
fn error_reason(e: &Error) -> String {
    match e {
        Error::Model { problems, .. } if !problems.is_empty() => {
            let more = if problems.len() > 1 { format!(" (and {} more)", problems.len() - 1) } else { String::new() };
            format!("{}{more}", first_line(&problems[0].to_string()))
        }
        e => first_line(&e.to_string()),
    }
}

/// Why a case's graph inputs or outputs are out of scope, when they are not tensors:
/// its test data holds ONNX sequences, optionals or maps, not tensors.
fn out_of_scope_values(proto: &onnx_protobuf::ModelProto) -> Option<String> {
    use onnx_protobuf::type_proto::Value;
    let g = proto.graph.as_ref()?;
    for vi in g.input.iter().chain(&g.output) {
        let what = match vi.type_.as_ref().and_then(|t| t.value.as_ref()) {
            Some(Value::SequenceType(_)) => "an ONNX sequence (sequences are",
            Some(Value::OptionalType(_)) => "an ONNX optional (optional values are",
            Some(Value::MapType(_)) => "an ONNX map (maps are",
            Some(Value::SparseTensorType(_)) => "a sparse tensor (sparse tensors are",
            _ => continue,
        };
        return Some(format!("test data: `{}` is {what} out of scope for static allocation-free code)", vi.name));
    }
    None
}

thread_local! {
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Compiles one case, or says why not. A compiler panic is caught and reported.
fn compile_case(
    dir: &Path,
    module: &str,
    result: &mut CaseResult,
) -> Option<(Compilation, Vec<DataSet>, Vec<Vec<Tensor>>)> {
    let model = dir.join("model.onnx");
    let proto = match front::read(&model) {
        Ok(m) => m.proto,
        Err(e) => {
            result.reason = first_line(&e.to_string());
            return None;
        }
    };
    result.op = case_op(dir, &result.name, &proto);
    if let Some(reason) = out_of_scope_values(&proto) {
        result.reason = reason;
        return None;
    }
    let sets = match load_sets(dir) {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => {
            result.reason = "the case has no test_data_set_*".into();
            return None;
        }
        Err(Error::Malformed { detail, .. }) => {
            result.reason = format!("test data: {}", first_line(&detail));
            return None;
        }
        Err(e) => {
            result.reason = format!("test data: {}", first_line(&e.to_string()));
            return None;
        }
    };
    let declared = front::declared_inputs(&proto);
    let freeze = inputs_to_freeze(&proto);
    let mut opts = Options {
        weights: crate::backend::rust::WeightsMode::Files(format!("{module}.weights")),
        // The cases are checked against their data sets here; a self-test would only
        // add code to build.
        self_test: crate::golden::GoldenSource::Off,
        ..Options::default()
    };
    for (i, name) in declared.iter().enumerate() {
        let Some(t) = sets[0].inputs.get(i) else { continue };
        if freeze.contains(name) {
            opts.frozen.insert(name.clone(), t.clone());
        } else {
            opts.input_shapes.insert(name.clone(), t.shape.clone());
        }
    }
    result.frozen = opts.frozen.keys().cloned().collect();
    PANIC.with(|p| p.borrow_mut().take());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compile(&model, &opts))) {
        Ok(Ok(c)) => {
            let inputs: Result<Vec<Vec<Tensor>>> = sets.iter().map(|s| runtime_inputs(&c, s)).collect();
            match inputs {
                Ok(inputs) => Some((c, sets, inputs)),
                Err(e) => {
                    result.status = Status::Fail;
                    result.reason = first_line(&e.to_string());
                    None
                }
            }
        }
        Ok(Err(e)) => {
            result.reason = error_reason(&e);
            None
        }
        Err(payload) => {
            let msg = PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            result.status = Status::Fail;
            result.reason = format!("tinyops bug: the compiler panicked: {}", first_line(&msg));
            None
        }
    }
}

/// Runs `f` on every item with `jobs` threads; results in item order.
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(i, item);
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_default().into_iter().flatten().collect()
}

/// What building a chunk gives: why cases did not build, and the binary of each built one.
type ChunkOutcome = (BTreeMap<usize, String>, Vec<(usize, PathBuf)>);

/// The module name of case `index` in a chunk crate.
fn module(index: usize) -> String {
    format!("c{index:04}")
}

/// A generated crate holding many cases.
struct Chunk {
    dir: PathBuf,
    package: String,
    target: PathBuf,
}

impl Chunk {
    fn bin(&self) -> PathBuf {
        self.target.join("conformance").join(format!("{}{}", self.package, std::env::consts::EXE_SUFFIX))
    }

    /// Writes every case's module and harness function (once).
    fn write_cases(&self, cases: &[&Compiled]) -> Result<()> {
        for c in cases {
            let m = module(c.index);
            c.compilation.write_module(&self.dir.join("src"), &m)?;
            let lib = self.package.replace('-', "_");
            let path = format_ident!("{}", lib);
            let id = format_ident!("{}", m);
            let run = harness::run_fn(&c.compilation, quote!(#path::#id));
            let file: syn::File = syn::parse2(quote!(use crate::read_le; #run))
                .map_err(|e| Error::Internal(format!("harness tokens: {e}")))?;
            write_file(&self.dir.join(format!("src/run/{m}.rs")), prettyplease::unparse(&file).as_bytes())?;
        }
        Ok(())
    }

    /// Points the crate at a subset of its cases.
    fn select(&self, cases: &[usize]) -> Result<()> {
        let runtime = crate::runtime_path();
        let runtime = runtime.canonicalize().map_err(|e| Error::io(&runtime, e))?;
        let toml = format!(
            "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
             [lib]\npath = \"src/lib.rs\"\n\n[[bin]]\nname = \"{}\"\npath = \"src/main.rs\"\n\n\
             [dependencies]\ntinyops-runtime = {{ path = {:?} }}\n\n\
             [profile.conformance]\ninherits = \"release\"\nopt-level = 1\ncodegen-units = 16\nincremental = false\n\
             debug = false\n\n[workspace]\n",
            self.package,
            self.package,
            runtime.display().to_string()
        );
        write_file(&self.dir.join("Cargo.toml"), toml.as_bytes())?;
        let mods: Vec<String> = cases.iter().map(|&i| module(i)).collect();
        let mut lib = String::from(
            "//! ONNX conformance cases compiled by tinyops: one module per case.\n#![no_std]\n#![forbid(unsafe_code)]\n",
        );
        for m in &mods {
            lib.push_str(&format!("pub mod {m};\n"));
        }
        write_file(&self.dir.join("src/lib.rs"), lib.as_bytes())?;
        let ids: Vec<_> = mods.iter().map(|m| format_ident!("{}", m)).collect();
        let names: Vec<&String> = mods.iter().collect();
        let le = harness::le_support();
        let tokens = quote! {
            use std::io::{Read, Write};
            #le
            mod run {
                #(pub mod #ids;)*
            }
            fn body() {
                let case = std::env::args().nth(1).unwrap_or_default();
                let mut input = Vec::new();
                std::io::stdin().read_to_end(&mut input).expect("stdin");
                let mut out: Vec<u8> = Vec::new();
                match case.as_str() {
                    #(#names => run::#ids::run(&input, &mut out),)*
                    other => panic!("no case {other}"),
                }
                std::io::stdout().write_all(&out).expect("stdout");
            }
            fn main() {
                std::thread::Builder::new().stack_size(256 << 20).spawn(body).expect("thread").join().expect("harness");
            }
        };
        let file: syn::File =
            syn::parse2(tokens).map_err(|e| Error::Internal(format!("conformance harness tokens: {e}")))?;
        write_file(&self.dir.join("src/main.rs"), prettyplease::unparse(&file).as_bytes())
    }

    /// Builds the crate; on failure, the errors by case index (`None` for errors no
    /// case file explains).
    fn build(&self) -> Result<std::result::Result<(), BTreeMap<Option<usize>, String>>> {
        let out = cargo::cargo()
            .args(["build", "--profile", "conformance", "--message-format=json-diagnostic-rendered-ansi"])
            .env("CARGO_TERM_COLOR", "never")
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&self.target)
            .output()
            .map_err(|e| Error::Driver { step: "running cargo".into(), detail: e.to_string() })?;
        if out.status.success() && self.bin().exists() {
            return Ok(Ok(()));
        }
        let mut errors: BTreeMap<Option<usize>, String> = BTreeMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if v["reason"] != "compiler-message" || v["message"]["level"] != "error" {
                continue;
            }
            let msg = &v["message"];
            let case = msg["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["is_primary"] == true)
                .filter_map(|s| s["file_name"].as_str())
                .find_map(|f| {
                    let stem = Path::new(f).file_stem()?.to_str()?;
                    stem.strip_prefix('c')?.parse::<usize>().ok()
                });
            let text = strip_ansi(msg["rendered"].as_str().or(msg["message"].as_str()).unwrap_or("error"));
            errors.entry(case).or_insert(text);
        }
        if errors.is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            errors.insert(None, tail[tail.len().saturating_sub(20)..].join("\n"));
        }
        Ok(Err(errors))
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
    }
    if std::fs::read(path).is_ok_and(|old| old == data) {
        return Ok(());
    }
    std::fs::write(path, data).map_err(|e| Error::io(path, e))
}

/// A build error as a one-line reason: the message and its location.
fn build_reason(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let head = lines.next().unwrap_or("").trim();
    let at = lines.find(|l| l.trim_start().starts_with("-->")).map(|l| l.trim().trim_start_matches("--> "));
    match at {
        Some(at) => format!("generated code does not build: {head} (at {at})"),
        None => format!("generated code does not build: {head}"),
    }
}

/// Builds a chunk; marks cases whose code does not build. Returns the cases built,
/// each with the binary that runs it.
fn build_chunk(
    chunk: &Chunk,
    cases: Vec<usize>,
    failed: &mut BTreeMap<usize, String>,
) -> Result<Vec<(usize, PathBuf)>> {
    let mut todo = vec![cases];
    let mut built = vec![];
    while let Some(set) = todo.pop() {
        let mut set = set;
        loop {
            if set.is_empty() {
                break;
            }
            chunk.select(&set)?;
            match chunk.build()? {
                Ok(()) => {
                    // Keep the binary: the next build of this crate overwrites it.
                    let keep = chunk.bin().with_file_name(format!("{}-{}", chunk.package, built.len()));
                    std::fs::copy(chunk.bin(), &keep).map_err(|e| Error::io(&keep, e))?;
                    built.push((keep, set));
                    break;
                }
                Err(errors) => {
                    let named: Vec<(usize, String)> = errors
                        .iter()
                        .filter_map(|(k, v)| k.map(|k| (k, v.clone())))
                        .filter(|(k, _)| set.contains(k))
                        .collect();
                    if !named.is_empty() {
                        for (k, text) in named {
                            failed.insert(k, build_reason(&text));
                            set.retain(|&i| i != k);
                        }
                        continue;
                    }
                    let text = errors.values().next().cloned().unwrap_or_default();
                    if set.len() == 1 {
                        failed.insert(set[0], build_reason(&text));
                        break;
                    }
                    let half = set.split_off(set.len() / 2);
                    todo.push(half);
                    todo.push(set);
                    break;
                }
            }
        }
    }
    Ok(built.into_iter().flat_map(|(bin, set)| set.into_iter().map(move |i| (i, bin.clone()))).collect())
}

/// Runs a program with input on stdin and a time limit; its stdout, or why not.
fn run_with_timeout(mut cmd: Command, input: Vec<u8>, timeout: Duration) -> std::result::Result<Vec<u8>, String> {
    let mut child =
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(|e| e.to_string())?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut b = vec![];
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let err_reader = std::thread::spawn(move || {
        let mut b = vec![];
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => return Err(e.to_string()),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let line = err.lines().find(|l| l.contains("panicked") || l.contains("error")).unwrap_or("").trim().to_string();
        return Err(format!("the generated code exited with {status}: {line}"));
    }
    Ok(out)
}

/// Compares one output with its reference as the ONNX test runner does: same element
/// type and shape; floats within [`ATOL`] + [`RTOL`]·|want| (NaN where the reference
/// has NaN, infinities exactly); integers and booleans exactly. Returns the largest
/// absolute error and, when it does not pass, why.
pub fn compare_output(got: &Tensor, want: &Tensor) -> (f64, Option<String>) {
    if got.dtype() != want.dtype() {
        return (f64::INFINITY, Some(format!("element type {} where the reference has {}", got.dtype(), want.dtype())));
    }
    if got.shape != want.shape {
        return (f64::INFINITY, Some(format!("shape {:?} where the reference has {:?}", got.shape, want.shape)));
    }
    let float = want.dtype().is_float();
    let mut max_abs = 0.0f64;
    let mut bad = 0usize;
    let mut first_bad = None;
    for i in 0..want.numel() {
        let (a, b) = (got.data.get_f64(i), want.data.get_f64(i));
        let ok = if float {
            if b.is_nan() {
                a.is_nan()
            } else if b.is_infinite() || a.is_infinite() || a.is_nan() {
                a == b
            } else {
                (a - b).abs() <= ATOL + RTOL * b.abs()
            }
        } else {
            got.data.get_i64(i) == want.data.get_i64(i) && (a == b || want.dtype() == DType::U64)
        };
        let d = if a == b || (a.is_nan() && b.is_nan()) { 0.0 } else { (a - b).abs() };
        let d = if d.is_nan() { f64::INFINITY } else { d };
        max_abs = max_abs.max(d);
        if !ok {
            bad += 1;
            first_bad.get_or_insert((i, a, b));
        }
    }
    let why = first_bad.map(|(i, a, b)| {
        format!(
            "{bad} of {} elements differ (max abs error {max_abs:.3e}; element {i}: got {a}, want {b})",
            want.numel()
        )
    });
    (max_abs, why)
}

/// The element type a reference tensor must be decoded as for an output of type `d`.
fn decode_output(d: DType, shape: &[usize], bytes: &[u8]) -> Option<Tensor> {
    Tensor::new(shape.to_vec(), Data::from_le_bytes(d, bytes)?)
}

/// Runs one built case on every data set and judges it.
fn run_case(bin: &Path, c: &Compiled, result: &mut CaseResult, timeout: Duration) {
    let g = &c.compilation.graph;
    let mut max_abs = 0.0f64;
    for (set, inputs) in c.sets.iter().zip(&c.inputs) {
        let bytes: Vec<u8> = inputs.iter().flat_map(|t| t.data.to_le_bytes()).collect();
        let mut cmd = Command::new(bin);
        cmd.arg(module(c.index));
        let out = match run_with_timeout(cmd, bytes, timeout) {
            Ok(o) => o,
            Err(e) => {
                result.status = Status::Fail;
                result.reason = format!("{}: {e}", set.name);
                return;
            }
        };
        let mut rest: &[u8] = &out;
        for (k, (&v, want)) in g.outputs().iter().zip(&set.outputs).enumerate() {
            let ty = g.ty(v);
            let n = ty.bytes();
            let Some(got) = rest.get(..n).and_then(|b| decode_output(ty.dtype, &ty.shape, b)) else {
                result.status = Status::Fail;
                result.reason = format!("{}: the harness wrote too few bytes", set.name);
                return;
            };
            rest = &rest[n..];
            let (err, why) = compare_output(&got, want);
            max_abs = max_abs.max(err);
            if let Some(why) = why {
                result.status = Status::Fail;
                result.max_abs_error = Some(max_abs);
                result.reason = format!("{} output {k} `{}`: {why}", set.name, g.value(v).name);
                return;
            }
        }
    }
    result.status = Status::Pass;
    result.max_abs_error = Some(max_abs);
}

/// Runs every compiled case in the JIT: builds its function (no cargo), runs every
/// data set, judges it as [`run_case`] does. Returns the seconds spent building the
/// functions and running them (summed over the jobs' threads, then divided by the jobs
/// — wall-clock shares of the same parallel pass).
fn run_all_jit(compiled: &[Compiled], results: &mut [CaseResult], opts: &ConformanceOptions) -> (f64, f64) {
    let step = Step::start(format!("running {} cases in the JIT", compiled.len()), opts.quiet);
    let started = Instant::now();
    let ran = parallel(compiled, opts.jobs, |_, c| {
        let mut r = results[c.index].clone();
        let t0 = Instant::now();
        let engine = crate::backend::jit::Engine::new(&c.compilation.program, c.compilation.target, false);
        let t_build = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        match engine {
            Ok(mut e) => judge_jit(&mut e, c, &mut r),
            Err(e) => {
                r.status = Status::Unsupported;
                r.reason = format!("JIT: {}", first_line(&e.to_string().replace(":\n  - ", ": ")));
            }
        }
        (c.index, r, t_build, t1.elapsed().as_secs_f64())
    });
    let (mut build, mut run) = (0.0, 0.0);
    for (i, r, b, t) in ran {
        results[i] = r;
        build += b;
        run += t;
    }
    let wall = step.done().max(started.elapsed().as_secs_f64());
    let total = (build + run).max(f64::MIN_POSITIVE);
    (wall * build / total, wall * run / total)
}

/// Runs one case in a JIT engine on every data set and judges it.
fn judge_jit(engine: &mut crate::backend::jit::Engine, c: &Compiled, result: &mut CaseResult) {
    let g = &c.compilation.graph;
    let mut max_abs = 0.0f64;
    for (set, inputs) in c.sets.iter().zip(&c.inputs) {
        let outs = match engine.run(inputs) {
            Ok(o) => o,
            Err(e) => {
                result.status = Status::Fail;
                result.reason = format!("{}: JIT: {e}", set.name);
                return;
            }
        };
        for (k, ((&v, want), got)) in g.outputs().iter().zip(&set.outputs).zip(&outs).enumerate() {
            let (err, why) = compare_output(got, want);
            max_abs = max_abs.max(err);
            if let Some(why) = why {
                result.status = Status::Fail;
                result.max_abs_error = Some(max_abs);
                result.reason = format!("{} output {k} `{}`: {why}", set.name, g.value(v).name);
                return;
            }
        }
    }
    result.status = Status::Pass;
    result.max_abs_error = Some(max_abs);
}

/// The case folders under `dir` (those holding `model.onnx`) that pass the filter.
pub fn list_cases(dir: &Path, filter: Option<&regex_lite::Regex>) -> Result<Vec<PathBuf>> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            filter.is_none_or(|f| f.is_match(&name))
        })
        .collect();
    cases.sort();
    Ok(cases)
}

/// Runs every case under `dir`.
pub fn run(dir: &Path, opts: &ConformanceOptions) -> Result<ConformanceReport> {
    let cases = list_cases(dir, opts.filter.as_ref())?;
    if cases.is_empty() {
        return Err(Error::Options(format!("{} holds no case folders (<case>/model.onnx) that match", dir.display())));
    }
    let mut results: Vec<CaseResult> = cases
        .iter()
        .map(|p| CaseResult {
            name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            op: "(unknown)".into(),
            status: Status::Unsupported,
            reason: String::new(),
            max_abs_error: None,
            frozen: vec![],
        })
        .collect();

    // 1. Compile every case (panics caught and reported per case).
    let step = Step::start(format!("compiling {} cases with {} jobs", cases.len(), opts.jobs), opts.quiet);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let msg = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
            (Some(s), _) => s.to_string(),
            (_, Some(s)) => s.clone(),
            _ => "panic".into(),
        };
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
    }));
    let inputs: Vec<(usize, &PathBuf)> = cases.iter().enumerate().collect();
    let done = AtomicUsize::new(0);
    let compiled_all = parallel(&inputs, opts.jobs, |_, &(i, dir)| {
        let mut r = results[i].clone();
        let c = compile_case(dir, &module(i), &mut r);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if !opts.quiet && n.is_multiple_of(200) {
            eprintln!("  compiled {n} of {}", cases.len());
        }
        (r, c.map(|(compilation, sets, inputs)| Compiled { index: i, compilation, sets, inputs }))
    });
    std::panic::set_hook(hook);
    let mut compiled = vec![];
    for (i, (r, c)) in compiled_all.into_iter().enumerate() {
        results[i] = r;
        compiled.extend(c);
    }
    let t_compile = step.done();
    match opts.engine {
        EngineChoice::Rust => {}
        EngineChoice::Jit => {
            let (t_build, t_run) = run_all_jit(&compiled, &mut results, opts);
            return Ok(ConformanceReport { cases: results, seconds: [t_compile, t_build, t_run] });
        }
        EngineChoice::Both => {
            return Err(Error::Options("conformance runs one engine at a time: --engine jit or rust".into()))
        }
    }

    // 2. Build them together, a chunk per crate, one worker (and target folder) per job.
    let root = super::cache_dir().join("conformance");
    let chunks: Vec<Vec<&Compiled>> = compiled.chunks(opts.chunk_size.max(1)).map(|c| c.iter().collect()).collect();
    let step = Step::start(
        format!("building {} cases in {} crates (target dirs under {})", compiled.len(), chunks.len(), root.display()),
        opts.quiet,
    );
    let started = Instant::now();
    let built_count = AtomicUsize::new(0);
    let outcomes = parallel(&chunks, opts.jobs, |k, cases| -> Result<ChunkOutcome> {
        let worker = k % opts.jobs.max(1);
        let chunk = Chunk {
            dir: root.join(format!("chunk{k:03}")),
            package: format!("tinyops-conformance-{k:03}"),
            target: root.join(format!("target{worker}")),
        };
        chunk.write_cases(cases)?;
        let mut failed = BTreeMap::new();
        let bins = build_chunk(&chunk, cases.iter().map(|c| c.index).collect(), &mut failed)?;
        let n = built_count.fetch_add(1, Ordering::Relaxed) + 1;
        if !opts.quiet {
            eprintln!(
                "  built crate {n} of {} ({} cases, {} did not build) at {:.0} s",
                chunks.len(),
                cases.len(),
                failed.len(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok((failed, bins))
    });
    let mut runnable: Vec<(usize, PathBuf)> = vec![];
    for o in outcomes {
        let (failed, bins) = o?;
        for (i, why) in failed {
            results[i].status = Status::Fail;
            results[i].reason = why;
        }
        runnable.extend(bins);
    }
    let t_build = step.done();

    // 3. Run and compare.
    let step = Step::start(format!("running {} cases", runnable.len()), opts.quiet);
    let by_index: BTreeMap<usize, &Compiled> = compiled.iter().map(|c| (c.index, c)).collect();
    let ran = parallel(&runnable, opts.jobs, |_, (i, bin)| {
        let mut r = results[*i].clone();
        if let Some(c) = by_index.get(i) {
            run_case(bin, c, &mut r, opts.timeout);
        }
        (*i, r)
    });
    for (i, r) in ran {
        results[i] = r;
    }
    let t_run = step.done();
    Ok(ConformanceReport { cases: results, seconds: [t_compile, t_build, t_run] })
}
