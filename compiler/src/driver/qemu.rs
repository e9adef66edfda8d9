//! Running firmware on a QEMU board, optionally counting its instructions with the
//! project's TCG plugin (`targets/qemu/insn_count.c`).

use super::progress::Step;
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tinyops_targets::Target;

/// How long one QEMU run may take before it is killed (`TINYOPS_QEMU_TIMEOUT`
/// seconds overrides it). The largest corpus model runs in under 3 s here.
pub fn timeout() -> Duration {
    let secs = std::env::var("TINYOPS_QEMU_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    Duration::from_secs(secs)
}

/// What a QEMU run printed.
#[derive(Debug, Clone)]
pub struct Run {
    /// Semihosting standard output of the firmware.
    pub stdout: String,
    /// QEMU's and the firmware's standard error.
    pub stderr: String,
    /// Instructions between each start and end marker, in order (with a plugin).
    pub windows: Vec<u64>,
    /// Every instruction the run executed (with a plugin).
    pub total_instructions: Option<u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// The instruction-count plugin to load, with the marker addresses.
pub struct Counter<'a> {
    /// The compiled plugin.
    pub plugin: &'a Path,
    /// Address of the first instruction of the start marker.
    pub start: u64,
    /// Address of the first instruction of the end marker.
    pub end: u64,
}

/// Compiles the instruction-count plugin into the cache folder, once per version of
/// its source; returns the shared object.
pub fn build_plugin(gcc: &Path, quiet: bool) -> Result<PathBuf> {
    let source = tinyops_targets::INSN_COUNT_PLUGIN_C;
    let dir = super::cache_dir().join("qemu-plugin");
    let stem = format!("insn_count-{}", &crate::sha256_hex(source.as_bytes())[..16]);
    let so = dir.join(format!("lib{stem}.so"));
    if so.is_file() {
        return Ok(so);
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let c = dir.join(format!("{stem}.c"));
    std::fs::write(&c, source).map_err(|e| Error::io(&c, e))?;
    let step = Step::start(format!("compiling the QEMU instruction-count plugin ({})", so.display()), quiet);
    // Build under a temporary name and rename, so a concurrent run never loads half a file.
    let tmp = dir.join(format!("lib{stem}.so.{}", std::process::id()));
    let out = Command::new(gcc)
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&tmp)
        .arg(&c)
        .output()
        .map_err(|e| Error::Driver { step: "running gcc".into(), detail: e.to_string() })?;
    if !out.status.success() {
        return Err(Error::Driver {
            step: "compiling the QEMU instruction-count plugin".into(),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    std::fs::rename(&tmp, &so).map_err(|e| Error::io(&so, e))?;
    step.done();
    Ok(so)
}

/// Runs `elf` on the target's board with semihosting; fails on a non-zero exit
/// status or when the run takes longer than [`timeout`].
pub fn run(target: &Target, qemu: &Path, elf: &Path, counter: Option<&Counter>) -> Result<Run> {
    let (run, status) = run_with_status(target, qemu, elf, counter)?;
    if status != Some(0) {
        let board = target.emulator.map_or("?", |e| e.machine);
        return Err(Error::Driver {
            step: format!("running {} on qemu {board}", elf.display()),
            detail: format!("exit status {status:?}:\n{}{}", tail(&run.stdout), tail(&run.stderr)),
        });
    }
    Ok(run)
}

/// [`run`], except that a non-zero exit status is returned (with what the run printed)
/// rather than an error; `None` when QEMU was ended by a signal. Runs that time out or
/// cannot start are still errors, and so is a missing plugin log after a clean exit.
pub fn run_with_status(
    target: &Target,
    qemu: &Path,
    elf: &Path,
    counter: Option<&Counter>,
) -> Result<(Run, Option<i32>)> {
    let board = target.emulator.ok_or_else(|| Error::Internal(format!("{} has no emulator", target.name)))?;
    let fail =
        |detail: String| Error::Driver { step: format!("running {} on qemu {}", elf.display(), board.machine), detail };
    let mut cmd = Command::new(qemu);
    cmd.args(["-machine", board.machine]).args(board.options).args([
        "-semihosting-config",
        "enable=on,target=native",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "null",
    ]);
    let log = elf.with_extension(format!("insn-log.{}", std::process::id()));
    if let Some(c) = counter {
        let _ = std::fs::remove_file(&log);
        cmd.arg("-plugin")
            .arg(format!("{},start={:#x},end={:#x}", c.plugin.display(), c.start, c.end))
            .args(["-d", "plugin", "-D"])
            .arg(&log);
    }
    cmd.arg("-kernel").arg(elf).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| fail(format!("cannot start {}: {e}", qemu.display())))?;
    let mut out_pipe = child.stdout.take().ok_or_else(|| fail("no stdout".into()))?;
    let mut err_pipe = child.stderr.take().ok_or_else(|| fail("no stderr".into()))?;
    let out_reader = std::thread::spawn(move || {
        let mut b = vec![];
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = vec![];
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let limit = timeout();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| fail(e.to_string()))? {
            break Some(s);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    let seconds = t0.elapsed().as_secs_f64();
    let Some(status) = status else {
        return Err(fail(format!(
            "no exit after {} s (TINYOPS_QEMU_TIMEOUT); killed. Output so far:\n{}{}",
            limit.as_secs(),
            tail(&stdout),
            tail(&stderr)
        )));
    };
    let (mut windows, mut total_instructions) = (vec![], None);
    if counter.is_some() {
        let text = std::fs::read_to_string(&log);
        let _ = std::fs::remove_file(&log);
        if status.success() {
            (windows, total_instructions) = parse_plugin_log(&text.map_err(|e| Error::io(&log, e))?).map_err(fail)?;
        }
    }
    Ok((Run { stdout, stderr, windows, total_instructions, seconds }, status.code()))
}

/// The last lines of a long output, for error messages.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let from = lines.len().saturating_sub(30);
    lines[from..].iter().map(|l| format!("{l}\n")).collect()
}

/// Reads the plugin's `tinyops-insn …` lines: the windows and the total.
pub fn parse_plugin_log(text: &str) -> std::result::Result<(Vec<u64>, Option<u64>), String> {
    let mut windows = vec![];
    let mut total = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("tinyops-insn ") else { continue };
        let field = |key: &str| rest.split_whitespace().find_map(|kv| kv.strip_prefix(key)?.parse::<u64>().ok());
        if let Some(t) = field("total=") {
            total = Some(t);
        } else if let (Some(k), Some(n)) = (field("window="), field("count=")) {
            if k as usize != windows.len() {
                return Err(format!("plugin log skips window {}: {line}", windows.len()));
            }
            windows.push(n);
        } else if rest.starts_with("dropped=") {
            return Err(format!("the plugin dropped windows: {line}"));
        }
    }
    if total.is_none() {
        return Err(format!("the instruction-count plugin printed no total; its log was:\n{text}"));
    }
    Ok((windows, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_log_parses() {
        let log = "tinyops-insn total=100\ntinyops-insn window=0 count=40\ntinyops-insn window=1 count=41\n";
        assert_eq!(parse_plugin_log(log), Ok((vec![40, 41], Some(100))));
        assert!(parse_plugin_log("tinyops-insn window=0 count=4\n").is_err(), "no total");
        assert!(parse_plugin_log("tinyops-insn total=9\ntinyops-insn window=1 count=4\n").is_err());
        assert!(parse_plugin_log("tinyops-insn total=9\ntinyops-insn dropped=3\n").is_err());
    }
}
