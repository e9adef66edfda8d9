//! `tinyops fleet`: which variant of a model runs where.
//!
//! Every variant (`--models`, e.g. the fp32, int8 and ORT-quantised exports of one
//! network) is measured on the target of every device ([`tinyops_targets::devices`]):
//!
//! - **flash and RAM** from the linked image of `tinyops bench`'s firmware (the same
//!   build, [`super::bench`]): flash = every allocated section with contents (vector
//!   table, code, constants and weights, `.data`'s image, and the embedded input of
//!   data set 0 that the measuring firmware carries); RAM = static data (`.data`,
//!   `.bss`: the arena, the outputs, the runtime's state) plus the deepest stack
//!   measured in QEMU. Targets without an emulator board (cortex-m0plus) are built
//!   and linked but not run: their RAM is static only and says so.
//! - **cost per inference**: on emulated targets the instructions counted in QEMU
//!   (equal to `tinyops bench`'s: it is the same call), turned into an *estimate* of
//!   milliseconds at the device's clock as instructions × 1 cycle; "not run" on
//!   targets without a board; on the host the measured median latency.
//! - **quality**, with `--data DIR` ([`quality`]): accuracy against `labels.txt` when
//!   the folder has one, else top-1 agreement with the reference variant (the first
//!   float variant without quantisation) and the largest absolute difference of output 0.
//!   Quality is measured with each variant's host build.
//!
//! A device's choice is the variant of best quality (then lowest cost, then least
//! flash) that fits its flash and RAM budgets and meets the latency budget; when none
//! does, the report names the smallest miss.

pub mod cli;
pub mod devices;
pub mod quality;
pub mod svg;

use super::bench::{bench, BenchOptions, BenchReport};
use super::progress::Bar;
use super::verify::resolve_model;
use crate::error::{Error, Result};
use crate::Options;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use tinyops_targets::devices::Device;
use tinyops_targets::Target;

/// What to measure.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// The model variants (files or folders holding one `.onnx` and `test_data_set_0`).
    pub models: Vec<PathBuf>,
    /// The devices.
    pub devices: Vec<Device>,
    /// Data to measure quality on (`test_data_set_*`, optional `labels.txt`).
    pub data: Option<PathBuf>,
    /// Longest acceptable inference, in milliseconds.
    pub latency_budget_ms: Option<f64>,
    /// Parallel jobs (default: the number of cores).
    pub jobs: usize,
    /// Timed runs on the host.
    pub host_runs: usize,
    /// No progress bar.
    pub quiet: bool,
}

/// One variant on one device.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    /// The variant's name (its file stem, or its folder for `model.onnx`).
    pub variant: String,
    /// Fits the device's flash and RAM budgets and meets the latency budget.
    pub fits: bool,
    /// Flash of the linked image; `null` on the host.
    pub flash_bytes: Option<u64>,
    /// Static RAM plus the measured stack (static only where the target is not run);
    /// `null` on the host.
    pub ram_bytes: Option<u64>,
    /// Static RAM of the image (arena included).
    pub ram_static_bytes: Option<u64>,
    /// Deepest stack measured in QEMU.
    pub stack_bytes: Option<u64>,
    /// Milliseconds per inference: an estimate (instructions × 1 cycle at the device's
    /// clock) on emulated targets, measured on the host, `null` when not run.
    pub ms: Option<f64>,
    /// `estimate`, `measured` or `not run`.
    pub ms_kind: String,
    /// Instructions per inference counted in QEMU (`tinyops bench`'s figure).
    pub instructions: Option<u64>,
    /// Quality with `--data` (see [`FleetReport::quality_kind`]); `null` without.
    pub quality: Option<f64>,
    /// The largest absolute difference of output 0 from the reference variant.
    pub max_abs_error: Option<f64>,
    /// Why it does not fit, one line per budget missed (empty when it fits).
    pub misses: Vec<String>,
    /// The largest ratio of a measured figure to its budget (1.0 = exactly at a budget):
    /// how far it misses, for "smallest miss".
    pub worst_ratio: Option<f64>,
    /// Notes on what was not measured.
    pub notes: Vec<String>,
    /// Why the variant could not be measured on this device's target.
    pub error: Option<String>,
}

/// One device and its variants.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceResult {
    /// The device's name.
    pub device: String,
    /// Its target.
    pub target: String,
    /// Clock in Hz (`null` on the host).
    pub clock_hz: Option<u64>,
    /// Flash left for the model (device flash less the application's reserve).
    pub flash_budget_bytes: Option<u64>,
    /// RAM left for the model.
    pub ram_budget_bytes: Option<u64>,
    /// The chosen variant, or `null`.
    pub chosen: Option<String>,
    /// Why it was chosen, or the smallest miss.
    pub reason: String,
    /// Every variant on this device, in `--models` order.
    pub variants: Vec<VariantResult>,
}

/// The outcome of `tinyops fleet`.
#[derive(Debug, Clone, Serialize)]
pub struct FleetReport {
    /// One entry per device.
    pub devices: Vec<DeviceResult>,
    /// The latency budget applied, in ms.
    pub latency_budget_ms: Option<f64>,
    /// What `quality` means in this run.
    pub quality_kind: Option<String>,
    /// `rustc -V` of the compilers that built what was measured.
    pub rustc: Vec<String>,
}

/// A variant to measure.
struct Variant {
    name: String,
    model: PathBuf,
}

/// Bench results by (variant index, target name); the error as text.
type Benches = BTreeMap<(usize, &'static str), std::result::Result<BenchReport, String>>;

/// One unit of work.
enum Job {
    Bench { variant: usize, target: &'static Target },
    Quality,
}

/// Runs the fleet.
pub fn run(opts: &FleetOptions) -> Result<FleetReport> {
    if opts.models.is_empty() {
        return Err(Error::Options("--models: name at least one model".into()));
    }
    if opts.devices.is_empty() {
        return Err(Error::Options("no devices to measure on".into()));
    }
    if let Some(b) = opts.latency_budget_ms {
        if !(b > 0.0 && b.is_finite()) {
            return Err(Error::Options(format!("--latency-budget {b}: must be a positive number of milliseconds")));
        }
    }
    let mut variants: Vec<Variant> = vec![];
    for m in &opts.models {
        let model = resolve_model(m)?;
        let name = variant_name(&model);
        if variants.iter().any(|v| v.name == name) {
            return Err(Error::Options(format!("--models: two variants are named `{name}`; rename one")));
        }
        variants.push(Variant { name, model });
    }
    let mut targets: Vec<&'static Target> = vec![];
    for d in &opts.devices {
        if !targets.iter().any(|t| t.name == d.target.name) {
            targets.push(d.target);
        }
    }
    // Every tool any target needs is checked before any work starts.
    for t in &targets {
        if !t.is_host() {
            let need =
                if t.emulator.is_some() { super::toolchain::Need::Measure } else { super::toolchain::Need::Build };
            super::toolchain::check(t, need)?;
        }
    }
    let mut jobs: Vec<Job> = vec![];
    for t in &targets {
        for v in 0..variants.len() {
            jobs.push(Job::Bench { variant: v, target: t });
        }
    }
    if opts.data.is_some() {
        jobs.push(Job::Quality);
    }

    let bar = Bar::new(jobs.len(), opts.quiet);
    let benches: Mutex<Benches> = Mutex::new(BTreeMap::new());
    let quality: Mutex<Option<Result<quality::Quality>>> = Mutex::new(None);
    let next = Mutex::new(0usize);
    let workers = opts.jobs.clamp(1, jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    *n += 1;
                    *n - 1
                };
                let Some(job) = jobs.get(i) else { break };
                match job {
                    Job::Bench { variant, target } => {
                        let v = &variants[*variant];
                        let bo = BenchOptions {
                            compile: Options { target, ..Options::default() },
                            data: None,
                            runs: opts.host_runs,
                            quiet: true,
                            steps: false,
                            onnxruntime: false,
                        };
                        let r = bench(&v.model, &bo).map_err(|e| e.to_string());
                        let what = format!("{} on {}{}", v.name, target.name, if r.is_err() { " failed" } else { "" });
                        benches.lock().unwrap_or_else(|e| e.into_inner()).insert((*variant, target.name), r);
                        bar.tick(&what);
                    }
                    Job::Quality => {
                        let models: Vec<(String, PathBuf)> =
                            variants.iter().map(|v| (v.name.clone(), v.model.clone())).collect();
                        let dir = opts.data.clone().unwrap_or_default();
                        let q = quality::measure(&models, &dir);
                        *quality.lock().unwrap_or_else(|e| e.into_inner()) = Some(q);
                        bar.tick("quality on the host");
                    }
                }
            });
        }
    });
    let benches = benches.into_inner().unwrap_or_else(|e| e.into_inner());
    let quality = quality.into_inner().unwrap_or_else(|e| e.into_inner()).transpose()?;

    let mut rustc: Vec<String> = benches.values().filter_map(|r| r.as_ref().ok()).map(|r| r.rustc.clone()).collect();
    rustc.sort();
    rustc.dedup();
    let devices = opts
        .devices
        .iter()
        .map(|d| {
            let results: Vec<VariantResult> = variants
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let q = quality.as_ref().and_then(|q| q.per_variant.get(i));
                    assess(d, &v.name, benches.get(&(i, d.target.name)), q, opts.latency_budget_ms)
                })
                .collect();
            let (chosen, reason) = choose(&results, quality.is_some());
            DeviceResult {
                device: d.name.to_string(),
                target: d.target.name.to_string(),
                clock_hz: d.clock_hz,
                flash_budget_bytes: d.flash_budget(),
                ram_budget_bytes: d.ram_budget(),
                chosen,
                reason,
                variants: results,
            }
        })
        .collect();
    Ok(FleetReport { devices, latency_budget_ms: opts.latency_budget_ms, quality_kind: quality.map(|q| q.kind), rustc })
}

/// The name of a variant: the file stem, or the folder's name for `…/model.onnx`
/// (as `compile` names the graph).
pub fn variant_name(model: &std::path::Path) -> String {
    let stem = model.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
    if stem == "model" {
        model.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str()).unwrap_or(stem).to_string()
    } else {
        stem.to_string()
    }
}

/// Milliseconds of `instructions` at `clock_hz`, one instruction per cycle.
pub fn estimate_ms(instructions: u64, clock_hz: u64) -> f64 {
    instructions as f64 * 1e3 / clock_hz as f64
}

/// How a miss for want of a latency figure begins.
const UNMEASURED: &str = "latency not measured";

/// Turns one measurement into the figures of one device.
fn assess(
    d: &Device,
    name: &str,
    bench: Option<&std::result::Result<BenchReport, String>>,
    quality: Option<&quality::VariantQuality>,
    latency_budget: Option<f64>,
) -> VariantResult {
    let mut r = VariantResult {
        variant: name.to_string(),
        fits: false,
        flash_bytes: None,
        ram_bytes: None,
        ram_static_bytes: None,
        stack_bytes: None,
        ms: None,
        ms_kind: "not run".into(),
        instructions: None,
        quality: quality.map(|q| q.quality),
        max_abs_error: quality.and_then(|q| q.max_abs_error),
        misses: vec![],
        worst_ratio: None,
        notes: vec![],
        error: None,
    };
    let b = match bench {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            r.error = Some(e.clone());
            r.misses.push("could not be built or run for this target".into());
            return r;
        }
        None => {
            r.error = Some("not measured".into());
            return r;
        }
    };
    r.flash_bytes = b.flash_bytes;
    r.ram_static_bytes = b.ram_bytes;
    r.stack_bytes = b.stack_bytes;
    r.ram_bytes = b.ram_bytes.map(|s| s + b.stack_bytes.unwrap_or(0));
    if b.ram_bytes.is_some() && b.stack_bytes.is_none() {
        r.notes.push("RAM is static only: the stack is measured in QEMU and this target has no board".into());
    }
    r.instructions = b.instructions;
    match (b.median_ns, b.instructions, d.clock_hz) {
        (Some(ns), _, _) => {
            r.ms = Some(ns as f64 / 1e6);
            r.ms_kind = "measured".into();
        }
        (None, Some(n), Some(hz)) => {
            r.ms = Some(estimate_ms(n, hz));
            r.ms_kind = "estimate".into();
        }
        _ => r.notes.push(format!("not run: {}", b.instructions_note.as_deref().unwrap_or("no emulator board"))),
    }
    let mut ratios = vec![];
    let mut check = |what: &str, have: Option<u64>, budget: Option<u64>| {
        if let (Some(h), Some(b)) = (have, budget) {
            let ratio = h as f64 / b as f64;
            ratios.push(ratio);
            if h > b {
                r.misses.push(format!(
                    "{what} {} B over its {} B budget (+{:.0}%)",
                    super::bench::group(h),
                    super::bench::group(b),
                    100.0 * (ratio - 1.0)
                ));
            }
        }
    };
    check("flash", r.flash_bytes, d.flash_budget());
    check("RAM", r.ram_bytes, d.ram_budget());
    if let Some(budget) = latency_budget {
        match r.ms {
            Some(ms) => {
                ratios.push(ms / budget);
                if ms > budget {
                    r.misses.push(format!(
                        "{ms:.2} ms over the {budget} ms latency budget (+{:.0}%)",
                        100.0 * (ms / budget - 1.0)
                    ));
                }
            }
            None => r.misses.push(format!("{UNMEASURED} (target not run), so the latency budget is not met")),
        }
    }
    r.worst_ratio = ratios.into_iter().reduce(f64::max);
    r.fits = r.misses.is_empty();
    r
}

/// The device's choice and why.
fn choose(results: &[VariantResult], with_quality: bool) -> (Option<String>, String) {
    let fitting: Vec<&VariantResult> = results.iter().filter(|r| r.fits).collect();
    let key = |r: &VariantResult| (r.quality.unwrap_or(f64::NEG_INFINITY), -r.ms.unwrap_or(f64::INFINITY));
    let best = fitting.iter().copied().reduce(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let better = kb.0 > ka.0
            || (kb.0 == ka.0 && kb.1 > ka.1)
            || (kb.0 == ka.0 && kb.1 == ka.1 && b.flash_bytes.unwrap_or(0) < a.flash_bytes.unwrap_or(0));
        if better {
            b
        } else {
            a
        }
    });
    match best {
        Some(b) => {
            let why = if with_quality {
                format!("best quality of the {} variant(s) that fit", fitting.len())
            } else {
                format!("no --data, so quality is unknown: the fastest of the {} variant(s) that fit", fitting.len())
            };
            (Some(b.variant.clone()), why)
        }
        None => {
            // Variants that fit flash and RAM and miss only because their latency
            // could not be measured: say so rather than call it a miss of size.
            let unverified: Vec<&str> = results
                .iter()
                .filter(|r| {
                    r.error.is_none() && r.ms.is_none() && r.misses.len() == 1 && r.misses[0].starts_with(UNMEASURED)
                })
                .map(|r| r.variant.as_str())
                .collect();
            if !unverified.is_empty() {
                return (
                    None,
                    format!(
                        "nothing verified to fit: {} fit flash and RAM, but their latency could not be measured \
                         (no emulator board for this target), so the latency budget is not known to be met",
                        unverified.join(", ")
                    ),
                );
            }
            let smallest = results
                .iter()
                .filter(|r| r.error.is_none() && r.worst_ratio.is_some())
                .min_by(|a, b| a.worst_ratio.partial_cmp(&b.worst_ratio).unwrap_or(std::cmp::Ordering::Equal));
            let why = match smallest {
                Some(s) => format!("nothing fits; smallest miss is {}: {}", s.variant, s.misses.join("; ")),
                None => "nothing fits; no variant could be measured".to_string(),
            };
            (None, why)
        }
    }
}

fn kib(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

impl FleetReport {
    /// The JSON of `--json`: one entry per device.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.devices).unwrap_or(serde_json::Value::Null)
    }

    /// The table and the choices, as text.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let width = self.devices.iter().flat_map(|d| &d.variants).map(|v| v.variant.len()).max().unwrap_or(7).max(7);
        s.push_str(&format!(
            "{:<14} {:<width$}  {:<4}  {:>11}  {:>12}  {:>10}  {:>8}  {}\n",
            "device", "variant", "fits", "flash", "RAM", "ms", "quality", "notes"
        ));
        for d in &self.devices {
            for v in &d.variants {
                let ms = match (v.ms, v.ms_kind.as_str()) {
                    (Some(ms), "estimate") => format!("~{ms:.2}"),
                    (Some(ms), _) => format!("{ms:.3}"),
                    (None, _) => "not run".into(),
                };
                let ram = match (v.ram_bytes, v.stack_bytes) {
                    (Some(r), Some(_)) => kib(r),
                    (Some(r), None) => format!("{}+?", kib(r)),
                    (None, _) => "-".into(),
                };
                let notes = match &v.error {
                    Some(e) => format!("error: {}", e.lines().next().unwrap_or("")),
                    None => v.misses.join("; "),
                };
                s.push_str(&format!(
                    "{:<14} {:<width$}  {:<4}  {:>11}  {:>12}  {:>10}  {:>8}  {}\n",
                    d.device,
                    v.variant,
                    if v.fits { "yes" } else { "no" },
                    v.flash_bytes.map(kib).unwrap_or_else(|| "-".into()),
                    ram,
                    ms,
                    v.quality.map(|q| format!("{:.3}", q)).unwrap_or_else(|| "-".into()),
                    notes
                ));
            }
        }
        s.push_str("\nchoices:\n");
        for d in &self.devices {
            let budgets = match (d.clock_hz, d.flash_budget_bytes, d.ram_budget_bytes) {
                (Some(hz), Some(f), Some(r)) => {
                    format!("{}, {} MHz, flash {}, RAM {}", d.target, hz / 1_000_000, kib(f), kib(r))
                }
                _ => format!("{}, no memory budgets", d.target),
            };
            match &d.chosen {
                Some(c) => s.push_str(&format!("  {:<14} {c} ({}) [{budgets}]\n", d.device, d.reason)),
                None => s.push_str(&format!("  {:<14} {} [{budgets}]\n", d.device, d.reason)),
            }
        }
        s.push_str(
            "\nflash: the linked image of `tinyops bench`'s firmware (code, weights, runtime, startup, the \
             embedded input); RAM: static data (arena included) + the deepest stack measured in QEMU \
             (`+?`: not run, stack not measured);\nms: `~` = estimate, instructions counted in QEMU × 1 cycle \
             at the device's clock; plain = median latency measured on this machine; `not run` = no \
             emulator board for the target\n",
        );
        if let Some(b) = self.latency_budget_ms {
            s.push_str(&format!("latency budget: {b} ms\n"));
        }
        match &self.quality_kind {
            Some(k) => s.push_str(&format!("quality: {k}\n")),
            None => s.push_str("quality: not measured (no --data)\n"),
        }
        if !self.rustc.is_empty() {
            s.push_str(&format!("built by {}\n", self.rustc.join("; ")));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, fits: bool, quality: Option<f64>, ms: Option<f64>, ratio: f64) -> VariantResult {
        VariantResult {
            variant: name.into(),
            fits,
            flash_bytes: Some(100),
            ram_bytes: Some(100),
            ram_static_bytes: Some(100),
            stack_bytes: Some(0),
            ms,
            ms_kind: "estimate".into(),
            instructions: None,
            quality,
            max_abs_error: None,
            misses: if fits { vec![] } else { vec![format!("{name} misses")] },
            worst_ratio: Some(ratio),
            notes: vec![],
            error: None,
        }
    }

    #[test]
    fn the_best_quality_that_fits_is_chosen_else_the_smallest_miss_is_named() {
        let rs = [
            result("fp32", false, Some(1.0), Some(5.0), 1.5),
            result("int8", true, Some(0.9), Some(2.0), 0.5),
            result("qdq", true, Some(0.95), Some(3.0), 0.7),
        ];
        assert_eq!(choose(&rs, true).0.as_deref(), Some("qdq"));
        let none = [result("a", false, Some(1.0), None, 1.5), result("b", false, Some(0.9), None, 1.2)];
        let (c, why) = choose(&none, true);
        assert!(c.is_none());
        assert_eq!(why, "nothing fits; smallest miss is b: b misses");
        let mut unmeasured = result("int8", false, Some(1.0), None, 0.5);
        unmeasured.misses = vec![format!("{UNMEASURED} (target not run), so the latency budget is not met")];
        let (c, why) = choose(&[unmeasured, result("fp32", false, Some(1.0), None, 2.0)], true);
        assert!(c.is_none());
        assert!(why.starts_with("nothing verified to fit: int8 fit flash and RAM"), "{why}");
        // Without quality, the fastest that fits.
        let rs = [result("slow", true, None, Some(5.0), 0.5), result("fast", true, None, Some(1.0), 0.5)];
        assert_eq!(choose(&rs, false).0.as_deref(), Some("fast"));
    }

    #[test]
    fn milliseconds_are_estimated_at_one_instruction_per_cycle() {
        assert_eq!(estimate_ms(64_000_000, 64_000_000), 1000.0);
        assert_eq!(estimate_ms(3_990_000, 80_000_000), 49.875);
    }

    #[test]
    fn budgets_decide_fitting() {
        let d = tinyops_targets::devices::builtin("samd21g18").unwrap();
        let b = BenchReport {
            model: "m".into(),
            target: "cortex-m0plus".into(),
            ran_on: None,
            instructions: None,
            instructions_per_set: vec![],
            instructions_note: Some("not measured: no emulator board for cortex-m0plus".into()),
            flash_bytes: Some(300 * 1024),
            code_bytes: Some(12 * 1024),
            ram_bytes: Some(10 * 1024),
            arena_bytes: 0,
            macs: 0,
            weight_bytes: 0,
            table_bytes: 0,
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
        let r = assess(d, "m", Some(&Ok(b.clone())), None, None);
        assert!(!r.fits);
        assert_eq!(r.misses, ["flash 307,200 B over its 229,376 B budget (+34%)"]);
        assert_eq!(r.ms, None);
        assert_eq!(r.ms_kind, "not run");
        assert!(r.notes.iter().any(|n| n.contains("static only")));
        let small = BenchReport { flash_bytes: Some(1024), ..b };
        let r = assess(d, "m", Some(&Ok(small.clone())), None, None);
        assert!(r.fits, "{:?}", r.misses);
        let r = assess(d, "m", Some(&Ok(small)), None, Some(10.0));
        assert!(!r.fits, "an unmeasured latency never meets a budget");
    }
}
