//! Firmware for bare-metal targets: a crate around the generated model crate that
//! runs it on embedded reference inputs and reports over semihosting (or any other
//! program, see [`CrateSpec`]), cross-built with Debian's rustc and `build-std`.
//!
//! Layout under the cache folder ([`super::cache_dir`]):
//!
//! ```text
//! firmware/<target>/target/           one cargo target folder per tinyops target, so
//!                                     `core` is compiled once per target, not per model
//! firmware/<target>/Cargo.lock        versions of the last good build, reused by new
//!                                     firmware (no registry lookup once it exists)
//! firmware/<target>/<crate>-<sha>/model/     the model crate (`Compilation::write_crate`)
//! firmware/<target>/<crate>-<sha>/firmware/  Cargo.toml, .cargo/config.toml, build.rs,
//!                                            src/main.rs, data/set*_in*.bin
//! firmware/<target>/kernel-suite/     the runtime's kernel suite as firmware ([`suite`])
//! ```
//!
//! [`build_crate`] is the one place that writes and cross-builds a firmware crate; the
//! model firmware ([`build`]), the kernel suite ([`suite`]) and the bare-metal no-panic
//! proof (`compiler/tests/no_std.rs`) differ only in their [`CrateSpec`].

pub mod output;
pub mod selftest;
pub mod source;
pub mod suite;

use super::elf::{Footprint, Image};
use super::progress::Step;
use super::toolchain::CrossToolchain;
use crate::error::{Error, Result};
use crate::ir::Tensor;
use crate::Compilation;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use tinyops_targets::Target;

/// Serialises firmware writing and building within this process: tests run verify
/// and bench of the same model at once, and must not write a crate the other builds.
static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// A built firmware image.
#[derive(Debug, Clone)]
pub struct Firmware {
    /// The linked ELF file.
    pub elf: PathBuf,
    /// The firmware crate's folder.
    pub dir: PathBuf,
    /// Flash and RAM of the image.
    pub footprint: Footprint,
    /// Address of the start marker's first instruction.
    pub start_marker: u64,
    /// Address of the end marker's first instruction.
    pub end_marker: u64,
    /// `rustc -V` of the compiler that built it.
    pub rustc_version: String,
    /// Seconds the build took.
    pub seconds: f64,
}

/// The cache folder of one target's firmware.
pub fn target_cache(t: &Target) -> PathBuf {
    super::cache_dir().join("firmware").join(t.name)
}

/// Writes `data` to `path` unless it already holds exactly that (so cargo's
/// fingerprints stay fresh), through a temporary file so no reader sees half of it.
fn write_if_changed(path: &Path, data: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == data) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// A firmware crate to write and cross-build: what differs between firmware (the
/// program, its dependencies, its data files). Everything else — the memory map from
/// the target catalogue, `.cargo/config.toml` (Debian's rustc, `build-std`, GNU ld, the
/// target CPU), the startup crates, the release profile, the per-target cargo target
/// folder and `Cargo.lock` — comes from [`build_crate`], the one place that knows it.
#[derive(Debug, Clone)]
pub struct CrateSpec {
    /// The bare-metal target.
    pub target: &'static Target,
    /// The crate's folder (created; files are rewritten only when they change).
    pub dir: PathBuf,
    /// Package and binary name; unique per kind of firmware, since all firmware of a
    /// target shares one cargo target folder.
    pub package: String,
    /// What the firmware is, for the head of its `Cargo.toml`.
    pub description: String,
    /// `[dependencies]` lines beside the startup crates and `semihosting`, e.g. the
    /// runtime (see [`runtime_dependency`]) and model crates.
    pub dependencies: String,
    /// `src/main.rs`. [`source::support`] gives the entry point, fault handler and stack
    /// measurement every firmware uses.
    pub main_rs: String,
    /// True when `main.rs` defines the `#[panic_handler]` (otherwise semihosting's is
    /// linked: it prints the panic and exits with a failure status).
    pub own_panic_handler: bool,
    /// Further files, relative to `dir` (e.g. embedded data).
    pub files: Vec<(PathBuf, Vec<u8>)>,
}

/// A linked firmware image, before anything of it is interpreted.
#[derive(Debug, Clone)]
pub struct Built {
    /// The linked ELF file.
    pub elf: PathBuf,
    /// The firmware crate's folder.
    pub dir: PathBuf,
    /// Flash and RAM of the image.
    pub footprint: Footprint,
    /// `rustc -V` of the compiler that built it.
    pub rustc_version: String,
    /// Seconds the build took.
    pub seconds: f64,
}

/// The `[dependencies]` line of `tinyops-runtime` (this checkout's runtime crate), with
/// the given features.
pub fn runtime_dependency(features: &[&str]) -> Result<String> {
    let runtime = crate::runtime_path();
    let runtime = runtime.canonicalize().map_err(|e| Error::io(&runtime, e))?;
    let features = if features.is_empty() { String::new() } else { format!(", features = {features:?}") };
    Ok(format!("tinyops-runtime = {{ path = {:?}{features} }}\n", runtime.display().to_string()))
}

/// Writes the firmware crate of `spec` and cross-builds it (release) in the target's
/// cached cargo target folder, so `core` and the dependencies are compiled once per
/// target. A failed build or link is an [`Error::Driver`] carrying cargo's output.
pub fn build_crate(spec: &CrateSpec, tc: &CrossToolchain, quiet: bool) -> Result<Built> {
    let t = spec.target;
    let (Some(triple), Some(memory_x)) = (t.triple, t.memory_x()) else {
        return Err(Error::Internal(format!("{} is not a bare-metal target", t.name)));
    };
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cache = target_cache(t);
    let fw = &spec.dir;
    let rustc = tc.rustc.display().to_string();
    let rustdoc = tc.rustdoc.display().to_string();
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        (
            fw.join("Cargo.toml"),
            source::cargo_toml(t, &spec.package, &spec.description, &spec.dependencies, spec.own_panic_handler)
                .into_bytes(),
        ),
        (
            fw.join(".cargo/config.toml"),
            source::config_toml(t, triple, &rustc, &rustdoc, tc.linker, tc.link_args).into_bytes(),
        ),
        (fw.join("build.rs"), source::build_rs(&memory_x.to_string()).into_bytes()),
        (fw.join("src/main.rs"), spec.main_rs.clone().into_bytes()),
    ];
    files.extend(spec.files.iter().map(|(p, d)| (fw.join(p), d.clone())));
    for (p, d) in &files {
        write_if_changed(p, d)?;
    }
    let lock = fw.join("Cargo.lock");
    let lock_template = cache.join("Cargo.lock");
    if !lock.exists() && lock_template.exists() {
        std::fs::copy(&lock_template, &lock).map_err(|e| Error::io(&lock, e))?;
    }

    let target_dir = cache.join("target");
    let first = !target_dir.join(triple).join("release").exists();
    let step = Step::start(
        format!(
            "building {} for {} with {} (target dir {}){}",
            spec.package,
            t.name,
            tc.rustc.display(),
            target_dir.display(),
            if first { "; the first build for a target compiles `core` from source, about 35 s" } else { "" }
        ),
        quiet,
    );
    let out = cross_cargo(tc, fw)
        .args(["build", "--release", "--quiet", "--target-dir"])
        .arg(&target_dir)
        .output()
        .map_err(|e| Error::Driver { step: format!("running {}", tc.cargo.display()), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Driver {
            step: format!("building firmware for {} in {}", t.name, fw.display()),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let seconds = step.done();
    let _ = std::fs::copy(&lock, &lock_template);
    let elf = target_dir.join(triple).join("release").join(&spec.package);
    let footprint = Image::read(&elf)?.footprint(source::stack_symbols(t.arch));
    Ok(Built { elf, dir: fw.clone(), footprint, rustc_version: tc.rustc_version.clone(), seconds })
}

/// Writes the firmware crate for `c` (compiled for `c.target`) embedding the inputs of
/// `sets`, builds it, and reads its footprint and marker addresses.
pub fn build(c: &Compilation, sets: &[&[Tensor]], tc: &CrossToolchain, quiet: bool) -> Result<Firmware> {
    build_as(c, sets, tc, quiet, false)
}

/// [`build`] with the counting markers around every step of the model (see
/// `source::main_rs`); a firmware of its own, beside the plain one.
pub fn build_stepwise(c: &Compilation, sets: &[&[Tensor]], tc: &CrossToolchain, quiet: bool) -> Result<Firmware> {
    build_as(c, sets, tc, quiet, true)
}

fn build_as(c: &Compilation, sets: &[&[Tensor]], tc: &CrossToolchain, quiet: bool, steps: bool) -> Result<Firmware> {
    let t = c.target;
    let suffix = if steps { "-steps" } else { "" };
    let work = target_cache(t).join(format!("{}-{}{suffix}", c.crate_name(), &c.sha256[..12]));
    // The model crate is written under the same lock as the firmware is built, so that
    // a concurrent build of the same model never reads half of it.
    {
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        c.write_crate(&work.join("model"), None)?;
    }
    let built = {
        let mut files = vec![];
        for (s, inputs) in sets.iter().enumerate() {
            for (i, input) in inputs.iter().enumerate() {
                // Booleans are stored as bytes 0 and 1, the only valid `bool` patterns.
                files.push((PathBuf::from(format!("data/set{s}_in{i}.bin")), input.data.to_le_bytes()));
            }
        }
        let spec = CrateSpec {
            target: t,
            dir: work.join("firmware"),
            package: format!("tinyops-fw-{}-{}{suffix}", c.crate_name(), &c.sha256[..8]),
            description: format!("runs {} on reference inputs", c.crate_name()),
            dependencies: format!("{} = {{ path = \"../model\" }}\n{}", c.crate_name(), runtime_dependency(&[])?),
            main_rs: source::main_rs(&c.graph, t, &c.crate_name(), sets.len(), steps),
            own_panic_handler: true,
            files,
        };
        build_crate(&spec, tc, quiet)?
    };
    let image = Image::read(&built.elf)?;
    let marker = |name: &str| {
        image.symbol(name).ok_or_else(|| Error::Driver {
            step: format!("reading {}", built.elf.display()),
            detail: format!("the marker `{name}` is missing from the image"),
        })
    };
    let (start_marker, end_marker) = (marker(source::START_MARKER)?, marker(source::END_MARKER)?);
    if start_marker == end_marker {
        return Err(Error::Internal(format!("the two instruction-count markers share address {start_marker:#x}")));
    }
    let Built { elf, dir, footprint, rustc_version, seconds } = built;
    Ok(Firmware { elf, dir, footprint, start_marker, end_marker, rustc_version, seconds })
}

/// Debian's cargo, run in the firmware folder (cargo reads `.cargo/config.toml` from
/// the current folder), with `build-std` allowed and no settings of an outer cargo.
/// Public for firmware built around another engine with the same toolchain (the
/// peers benchmark, `compiler/examples/benchmarks`).
pub fn cross_cargo(tc: &CrossToolchain, dir: &Path) -> Command {
    let mut c = Command::new(&tc.cargo);
    c.current_dir(dir).env("RUSTC_BOOTSTRAP", "1");
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTC",
        "CARGO_BUILD_RUSTC_WRAPPER",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_MANIFEST_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "RUSTUP_TOOLCHAIN",
    ] {
        c.env_remove(var);
    }
    c
}

/// Runs firmware on its target's QEMU board (`qemu` is the program) and reads what it
/// printed for `sets` data sets; with `plugin`, also counts its instructions between
/// the markers.
pub fn run(
    fw: &Firmware,
    c: &Compilation,
    sets: usize,
    qemu: &Path,
    plugin: Option<&Path>,
) -> Result<(output::Printed, super::qemu::Run)> {
    let counter = plugin.map(|p| super::qemu::Counter { plugin: p, start: fw.start_marker, end: fw.end_marker });
    let run = super::qemu::run(c.target, qemu, &fw.elf, counter.as_ref())?;
    let fail = |detail: String| Error::Driver { step: format!("reading the output of {}", fw.elf.display()), detail };
    let printed = output::parse(&c.graph, sets, &run.stdout)
        .map_err(|e| fail(format!("{e}\nfirmware output:\n{}{}", run.stdout, run.stderr)))?;
    let deepest = printed.stack_bytes.iter().copied().max().unwrap_or(0);
    if fw.footprint.stack_capacity > 0 && deepest >= fw.footprint.stack_capacity {
        return Err(fail(format!(
            "the stack overflowed: all {} B between the static data and the top of RAM were used",
            fw.footprint.stack_capacity
        )));
    }
    Ok((printed, run))
}
