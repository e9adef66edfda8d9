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
//! costs: its code, the comparison and the golden vectors.

use super::{build_crate, runtime_dependency, source, target_cache, Built, CrateSpec, BUILD_LOCK};
use crate::driver::qemu;
use crate::driver::toolchain::CrossToolchain;
use crate::error::{Error, Result};
use crate::golden::GoldenSource;
use crate::{compile, Compilation, Options};
use std::path::Path;

/// `main.rs` of the firmware; `self_test` adds the call.
pub fn main_rs(c: &Compilation, self_test: bool) -> String {
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
    s.push_str("#[entry]\nfn main() -> ! {\n    let Some(arena) = ARENA.take() else {\n        panic!(\"the arena was taken twice\");\n    };\n    let mut m = model::Model::new(arena);\n");
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
    if self_test {
        s.push_str(
            "    match m.self_test() {\n        \
                 tinyops_runtime::check::SelfTest::Pass => println!(\"self-test PASS\"),\n        \
                 tinyops_runtime::check::SelfTest::Fail(f) => {\n            \
                     println!(\"self-test FAIL output={} name={} index={}\", f.output, f.name, f.index)\n        }\n        \
                 tinyops_runtime::check::SelfTest::Corrupt => println!(\"self-test CORRUPT\"),\n    }\n",
        );
    }
    s.push_str("    semihosting::process::exit(0)\n}\n");
    s
}

/// Writes the model crate and the firmware (with or without the self-test call) under
/// the target's cache and builds it.
pub fn build(c: &Compilation, self_test: bool, tc: &CrossToolchain, quiet: bool) -> Result<Built> {
    let suffix = if self_test { "selftest" } else { "noselftest" };
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
        main_rs: main_rs(c, self_test),
        own_panic_handler: false,
        files: vec![],
    };
    build_crate(&spec, tc, quiet)
}

/// Runs a self-test firmware image in QEMU; returns the line it printed about the
/// self-test (`self-test PASS`, `self-test FAIL …`) and the manifest hash it reported.
pub fn run(c: &Compilation, elf: &Path, tc: &CrossToolchain) -> Result<(String, String)> {
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
    Ok((line, manifest))
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
    let a = build(&with, true, tc, quiet)?;
    let b = build(&without, false, tc, quiet)?;
    Ok(FlashCost { with: a.footprint.flash_bytes, without: b.footprint.flash_bytes })
}
