//! The command line of `tinyops fleet`.
//!
//! `tinyops fleet --models A.onnx B.onnx … [--devices devices.toml] [--data DIR]
//! [--latency-budget MS] [--json] [--svg FILE]` measures; subcommands of `fleet`
//! (e.g. `tinyops fleet report FILE…`) live in [`FleetCommand`] and exclude the
//! options (`args_conflicts_with_subcommands`).

use super::{run, FleetOptions};
use crate::error::{Error, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which variant of a model runs where: compile every variant for every device's
/// target, measure flash, RAM and cost per inference (and quality with --data), and
/// choose per device.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct FleetArgs {
    /// Subcommands of `fleet` (instead of the options).
    #[command(subcommand)]
    pub command: Option<FleetCommand>,
    /// The model variants: .onnx files, or folders holding one .onnx and test_data_set_0
    /// (set 0 is the input the cost is measured on).
    #[arg(long, num_args = 1.., required = true, value_name = "MODEL")]
    pub models: Vec<PathBuf>,
    /// A devices file (TOML) adding devices to the built-in catalogue or overriding them
    /// (see targets/devices.example.toml).
    #[arg(long, value_name = "FILE")]
    pub devices: Option<PathBuf>,
    /// Measure quality on this folder of test_data_set_* (with labels.txt: accuracy;
    /// without: top-1 agreement with the float variant).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Longest acceptable inference, in milliseconds.
    #[arg(long, value_name = "MS")]
    pub latency_budget: Option<f64>,
    /// Print one JSON array (one entry per device) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw cost against quality per device, with the budget lines, into this file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Parallel jobs (default: the number of cores).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Timed runs per variant on the host.
    #[arg(long, default_value_t = 50)]
    pub host_runs: usize,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Subcommands of `tinyops fleet`.
#[derive(Subcommand, Debug)]
pub enum FleetCommand {}

/// Runs `tinyops fleet` with the parsed arguments.
pub fn main(args: FleetArgs) -> Result<ExitCode> {
    if let Some(c) = args.command {
        match c {}
    }
    let devices = match &args.devices {
        Some(f) => super::devices::load(f).map_err(|e| Error::Options(e.to_string()))?,
        None => tinyops_targets::devices::DEVICES.to_vec(),
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let opts = FleetOptions {
        models: args.models,
        devices,
        data: args.data,
        latency_budget_ms: args.latency_budget,
        jobs,
        host_runs: args.host_runs.max(1),
        quiet: args.quiet || args.json,
    };
    let r = run(&opts)?;
    if let Some(f) = &args.svg {
        let names: Vec<String> = opts.models.iter().map(|m| super::variant_name(m)).collect();
        let title = format!("tinyops fleet: {}", names.join(", "));
        std::fs::write(f, super::svg::render(&r, &title)).map_err(|e| Error::io(f, e))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r.to_json()).map_err(|e| Error::Internal(e.to_string()))?);
    } else {
        print!("{}", r.to_text());
    }
    Ok(ExitCode::SUCCESS)
}
