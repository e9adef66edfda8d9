//! Firmware around a model's `self_test()`: the QEMU proof that a module verifies
//! itself on the device, and the measured flash cost of the self-test.
//!
//! The firmware runs the model once on a zero input (so the model's code is in the
//! image either way), prints a checksum of the outputs and the module's
//! `MANIFEST_SHA256`, then — when built with the self-test — calls `self_test()` and
//! prints one line: `self-test PASS`, `self-test FAIL output=K name=NAME index=I`, or
//! `self-test CORRUPT`. It prints no float (float formatting would dwarf what is
//! measured), so the image with the self-test and the one without (the model compiled
//! with `--no-self-test`, the call left out) differ by exactly what the self-test
//! costs: its code, the comparison and the golden vectors. A third kind also keeps
//! output statistics and prints the encoded device report (the round trip of
//! `tinyops fleet report`).

use super::{build_crate, runtime_dependency, source, target_cache, Built, CrateSpec, BUILD_LOCK};
use crate::driver::qemu;
use crate::driver::toolchain::CrossToolchain;
use crate::error::{Error, Result};
use crate::golden::GoldenSource;
use crate::{compile, Compilation, Options};
use std::path::Path;

/// What a self-test firmware does after the plain run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing more (the model compiled without a self-test: the flash baseline).
    Plain,
    /// Calls `self_test()` and prints its line.
    SelfTest,
    /// Also folds the run's first output into `OutputStats`, encodes the device report
    /// (`tinyops_runtime::report`) and prints it as `report hex=…`.
    Report,
}

/// `main.rs` of the firmware.
pub fn main_rs(c: &Compilation, kind: Kind) -> String {
    let g = &c.graph;
    let mut s = format!(
        "//! tinyops self-test firmware for `{}` on {} (generated; do not edit).\n\
         #![no_std]\n#![no_main]\n\nuse {} as model;\n",
        g.name,
        c.target.name,
        c.crate_name().replace('-', "_")
    );
    s.push_str(&source::support_code(c.target.arch));
    s.push_str("\nstatic ARENA: TakeOnce<model::Arena> = TakeOnce::new(model::Arena::new());\n\n");
    s.push_str("#[entry]\nfn main() -> ! {\n    let Some(arena) = ARENA.take() else {\n        tinyops_fault(&[(\"tinyops-firmware arena taken twice \", 0)]);\n    };\n    let mut m = model::Model::new(arena);\n");
    let mut args = vec![];
    for (i, &v) in g.inputs().iter().enumerate() {
        let ty = g.ty(v);
        let zero = if ty.dtype.rust_type().starts_with('f') { "0.0" } else { "0" };
        s.push_str(&format!(
            "    let in{i} = core::hint::black_box([{zero}{}; {}]);\n",
            ty.dtype.rust_type(),
            ty.numel()
        ));
        args.push(format!("&in{i}"));
    }
    for (k, &v) in g.outputs().iter().enumerate() {
        let ty = g.ty(v);
        let zero = if ty.dtype.rust_type().starts_with('f') { "0.0" } else { "0" };
        s.push_str(&format!("    let mut out{k} = [{zero}{}; {}];\n", ty.dtype.rust_type(), ty.numel()));
        args.push(format!("&mut out{k}"));
    }
    s.push_str(&format!("    m.run({});\n    let mut sum = 0i64;\n", args.join(", ")));
    for k in 0..g.outputs().len() {
        s.push_str(&format!("    for x in out{k} {{\n        sum = sum.wrapping_add(x as i64);\n    }}\n"));
    }
    s.push_str("    println!(\"tinyops-selftest manifest={} checksum={sum}\", model::MANIFEST_SHA256);\n");
    if kind != Kind::Plain {
        s.push_str("    let result = m.self_test();\n");
        s.push_str(
            "    match result {\n        \
                 tinyops_runtime::check::SelfTest::Pass => println!(\"self-test PASS\"),\n        \
                 tinyops_runtime::check::SelfTest::Fail(f) => {\n            \
                     println!(\"self-test FAIL output={} name={} index={}\", f.output, f.name, f.index)\n        }\n        \
                 tinyops_runtime::check::SelfTest::Corrupt => println!(\"self-test CORRUPT\"),\n    }\n",
        );
    }
    if kind == Kind::Report {
        let n0 = g.ty(g.outputs()[0]).numel();
        s.push_str(&format!(
            "    let mut stats = tinyops_runtime::stats::OutputStats::<{n0}>::new();\n    \
             stats.update(&out0);\n    \
             let report = tinyops_runtime::report::DeviceReport {{\n        \
                 manifest_sha256: model::MANIFEST_SHA256,\n        \
                 model_sha256: model::MODEL_SHA256,\n        \
                 target: model::TARGET,\n        \
                 compiler_version: model::COMPILER_VERSION,\n        \
                 self_test: Some(result),\n        \
                 stats: Some(&stats),\n    }};\n    \
             let mut buf = [0u8; 1024];\n    \
             match report.encode(&mut buf) {{\n        \
                 Ok(n) => {{\n            \
                     let mut hex = [0u8; 2048];\n            \
                     for (i, b) in buf.iter().take(n).enumerate() {{\n                \
                         if let Some(pair) = hex.get_mut(2 * i..2 * i + 2) {{\n                    \
                             pair[0] = b\"0123456789abcdef\"[(b >> 4) as usize];\n                    \
                             pair[1] = b\"0123456789abcdef\"[(b & 15) as usize];\n                \
                         }}\n            }}\n            \
                     println!(\"report hex={{}}\", core::str::from_utf8(&hex[..2 * n]).unwrap_or(\"?\"));\n        \
                 }}\n        \
                 Err(e) => println!(\"report error {{e:?}}\"),\n    }}\n"
        ));
    }
    s.push_str("    semihosting::process::exit(0)\n}\n");
    s
}

/// Writes the model crate and the firmware (with or without the self-test call) under
/// the target's cache and builds it.
pub fn build(c: &Compilation, kind: Kind, tc: &CrossToolchain, quiet: bool) -> Result<Built> {
    let suffix = match kind {
        Kind::Plain => "noselftest",
        Kind::SelfTest => "selftest",
        Kind::Report => "report",
    };
    let work = target_cache(c.target).join(format!("{}-{}-{suffix}", c.crate_name(), &c.sha256[..12]));
    {
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        c.write_crate(&work.join("model"), None)?;
    }
    let spec = CrateSpec {
        target: c.target,
        dir: work.join("firmware"),
        package: format!("tinyops-{suffix}-{}-{}", c.crate_name(), &c.sha256[..8]),
        description: format!("calls the self-test of {}", c.crate_name()),
        dependencies: format!("{} = {{ path = \"../model\" }}\n{}", c.crate_name(), runtime_dependency(&[])?),
        main_rs: main_rs(c, kind),
        own_panic_handler: false,
        files: vec![],
    };
    build_crate(&spec, tc, quiet)
}

/// What a self-test firmware printed.
#[derive(Debug, Clone)]
pub struct Printed {
    /// The self-test line (`self-test PASS`, `self-test FAIL output=K name=N index=I`).
    pub line: String,
    /// The manifest hash the device reported.
    pub manifest: String,
    /// The encoded device report ([`Kind::Report`]).
    pub report: Option<Vec<u8>>,
}

/// Runs a self-test firmware image in QEMU and reads what it printed.
pub fn run(c: &Compilation, elf: &Path, tc: &CrossToolchain) -> Result<Printed> {
    let qemu = tc.qemu.as_deref().ok_or_else(|| Error::Options(format!("{} has no emulator board", c.target.name)))?;
    let out = qemu::run(c.target, qemu, elf, None)?.stdout;
    let bad = |what: &str| Error::Driver {
        step: format!("running {}", elf.display()),
        detail: format!("the firmware printed no {what} line:\n{out}"),
    };
    let manifest = out
        .lines()
        .find_map(|l| l.strip_prefix("tinyops-selftest manifest="))
        .and_then(|r| r.split(' ').next())
        .ok_or_else(|| bad("manifest"))?
        .to_string();
    let line = out.lines().find(|l| l.starts_with("self-test ")).ok_or_else(|| bad("self-test"))?.to_string();
    let report = match out.lines().find_map(|l| l.strip_prefix("report hex=")) {
        None => None,
        Some(h) => Some(
            (0..h.len() / 2)
                .map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2).unwrap_or("?"), 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map_err(|_| bad("hexadecimal report"))?,
        ),
    };
    Ok(Printed { line, manifest, report })
}

/// The measured flash cost of a model's self-test on a bare-metal target.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FlashCost {
    /// Flash of the firmware calling `self_test()` (model compiled with it).
    pub with: u64,
    /// Flash of the same firmware without the call, the model compiled with `--no-self-test`.
    pub without: u64,
}

impl FlashCost {
    /// Bytes the self-test adds (`with − without`).
    pub fn bytes(&self) -> i64 {
        self.with as i64 - self.without as i64
    }
}

/// Builds the self-test firmware both ways for `opts.target` and measures both images.
pub fn flash_cost(model: &Path, opts: &Options, tc: &CrossToolchain, quiet: bool) -> Result<FlashCost> {
    if opts.self_test == GoldenSource::Off {
        return Err(Error::Options("the self-test's flash cost needs a self-test: drop --no-self-test".into()));
    }
    let with = compile(model, opts)?;
    let without = compile(model, &Options { self_test: GoldenSource::Off, ..opts.clone() })?;
    let a = build(&with, Kind::SelfTest, tc, quiet)?;
    let b = build(&without, Kind::Plain, tc, quiet)?;
    Ok(FlashCost { with: a.footprint.flash_bytes, without: b.footprint.flash_bytes })
}
