//! Devices from a TOML file: users add devices to the catalogue or override figures of
//! built-in ones. Every problem of the file is reported at once.
//!
//! ```toml
//! # Start from the built-in catalogue (the default); `false` keeps only the devices
//! # listed below (a built-in is listed by its name alone).
//! builtin = true
//!
//! [[device]]                 # a built-in: the keys given replace its figures
//! name = "nrf52840"
//! reserved_ram_kib = 64
//!
//! [[device]]                 # a new device: target, clock, flash and RAM are required
//! name = "my-board"
//! target = "cortex-m4"
//! clock_mhz = 120
//! flash_kib = 2048
//! ram_kib = 640
//! reserved_flash_kib = 128   # optional, default 0
//! reserved_ram_kib = 64      # optional, default 0
//! description = "…"          # optional
//! source = "…"               # optional: where the figures come from
//! ```

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use tinyops_targets::devices::{builtin, Device, DEVICES};
use tinyops_targets::{lookup, TARGETS};

/// The keys a `[[device]]` table may have.
pub const DEVICE_KEYS: &[&str] = &[
    "name",
    "target",
    "clock_mhz",
    "flash_kib",
    "ram_kib",
    "reserved_flash_kib",
    "reserved_ram_kib",
    "description",
    "source",
];

/// What is wrong with a devices file: every problem found, each on its own line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFileError {
    /// The file.
    pub path: String,
    /// One message per problem, in file order.
    pub problems: Vec<String>,
}

impl fmt::Display for DeviceFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{}: {n} problem{} in the devices file:", self.path, if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DeviceFileError {}

/// Reads a devices file and returns the fleet it describes.
pub fn load(path: &Path) -> Result<Vec<Device>, DeviceFileError> {
    let text = std::fs::read_to_string(path).map_err(|e| DeviceFileError {
        path: path.display().to_string(),
        problems: vec![format!("cannot read it: {e}")],
    })?;
    parse(&text).map_err(|problems| DeviceFileError { path: path.display().to_string(), problems })
}

/// Parses the text of a devices file; the error lists every problem.
pub fn parse(text: &str) -> Result<Vec<Device>, Vec<String>> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| vec![format!("not valid TOML: {e}")])?;
    let mut problems = Vec::new();
    let mut use_builtin = true;
    let mut entries: &[toml::Value] = &[];
    for (key, value) in &table {
        match (key.as_str(), value) {
            ("builtin", toml::Value::Boolean(b)) => use_builtin = *b,
            ("builtin", _) => problems.push("`builtin` must be true or false".to_string()),
            ("device", toml::Value::Array(a)) => entries = a,
            ("device", _) => problems.push("`device` must be an array of tables: write `[[device]]`".to_string()),
            (other, _) => problems.push(format!("unknown top-level key `{other}` (known: builtin, device)")),
        }
    }
    let mut fleet: Vec<Device> = if use_builtin { DEVICES.to_vec() } else { Vec::new() };
    let mut seen: Vec<String> = Vec::new();
    // New devices whose target is missing or unknown: checked without target rules.
    let mut no_target: Vec<String> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let Some(t) = entry.as_table() else {
            problems.push(format!("device {}: not a table", i + 1));
            continue;
        };
        match device(i, t, &mut problems) {
            Some(Entry { name, apply }) => {
                if seen.contains(&name) {
                    problems.push(format!("device {} (`{name}`): the name appears twice in the file", i + 1));
                    continue;
                }
                seen.push(name.clone());
                let base = fleet.iter().position(|d| d.name == name.as_str());
                match (base, builtin(&name)) {
                    (Some(at), _) => {
                        let d = apply(fleet[at].clone(), &mut problems);
                        fleet[at] = d;
                    }
                    (None, Some(b)) => {
                        let d = apply(b.clone(), &mut problems);
                        fleet.push(d);
                    }
                    (None, None) => {
                        let blank = Device {
                            name: Cow::Owned(name.clone()),
                            target: &TARGETS[0],
                            clock_hz: None,
                            flash_bytes: None,
                            ram_bytes: None,
                            reserved_flash_bytes: 0,
                            reserved_ram_bytes: 0,
                            description: Cow::Borrowed(""),
                            source: Cow::Borrowed("devices file"),
                        };
                        let target_ok = t.get("target").and_then(|v| v.as_str()).is_some_and(|n| lookup(n).is_ok());
                        if !target_ok {
                            no_target.push(name.clone());
                        }
                        if !t.contains_key("target") {
                            problems.push(format!(
                                "device {} (`{name}`): a new device needs `target` (it is not a built-in device; \
                                 built-ins are: {})",
                                i + 1,
                                DEVICES.iter().map(|d| d.name.as_ref()).collect::<Vec<_>>().join(", ")
                            ));
                        }
                        let d = apply(blank, &mut problems);
                        fleet.push(d);
                    }
                }
            }
            None => continue,
        }
    }
    for d in &fleet {
        check(d, !no_target.iter().any(|n| d.name == n.as_str()), &mut problems);
    }
    if fleet.is_empty() && problems.is_empty() {
        problems.push("the file describes no device (`builtin = false` and no `[[device]]`)".to_string());
    }
    if problems.is_empty() {
        Ok(fleet)
    } else {
        Err(problems)
    }
}

type Apply<'a> = Box<dyn FnOnce(Device, &mut Vec<String>) -> Device + 'a>;

struct Entry<'a> {
    name: String,
    apply: Apply<'a>,
}

/// Reads one `[[device]]` table: its name, and what it sets.
fn device<'a>(i: usize, t: &'a toml::Table, problems: &mut Vec<String>) -> Option<Entry<'a>> {
    let at = |name: &str| format!("device {} (`{name}`)", i + 1);
    let name = match t.get("name") {
        Some(toml::Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(_) => {
            problems.push(format!("device {}: `name` must be a non-empty string", i + 1));
            return None;
        }
        None => {
            problems.push(format!("device {}: `name` is missing", i + 1));
            return None;
        }
    };
    for key in t.keys() {
        if !DEVICE_KEYS.contains(&key.as_str()) {
            problems.push(format!("{}: unknown key `{key}` (known keys: {})", at(&name), DEVICE_KEYS.join(", ")));
        }
    }
    let here = at(&name);
    let apply = move |mut d: Device, problems: &mut Vec<String>| {
        let kib = |key: &str, problems: &mut Vec<String>| -> Option<u64> {
            match t.get(key)? {
                toml::Value::Integer(n) if *n >= 0 => Some(*n as u64 * 1024),
                _ => {
                    problems.push(format!("{here}: `{key}` must be a non-negative integer (KiB)"));
                    None
                }
            }
        };
        let text = |key: &str, problems: &mut Vec<String>| -> Option<String> {
            match t.get(key)? {
                toml::Value::String(s) => Some(s.clone()),
                _ => {
                    problems.push(format!("{here}: `{key}` must be a string"));
                    None
                }
            }
        };
        if let Some(name) = text("target", problems) {
            match lookup(&name) {
                Ok(target) => d.target = target,
                Err(e) => problems.push(format!("{here}: {e}")),
            }
        }
        match t.get("clock_mhz") {
            None => {}
            Some(toml::Value::Integer(n)) if *n >= 0 => d.clock_hz = Some(*n as u64 * 1_000_000),
            Some(toml::Value::Float(x)) if *x >= 0.0 && x.is_finite() => d.clock_hz = Some((*x * 1e6).round() as u64),
            Some(_) => problems.push(format!("{here}: `clock_mhz` must be a non-negative number")),
        }
        if let Some(b) = kib("flash_kib", problems) {
            d.flash_bytes = Some(b);
        }
        if let Some(b) = kib("ram_kib", problems) {
            d.ram_bytes = Some(b);
        }
        if let Some(b) = kib("reserved_flash_kib", problems) {
            d.reserved_flash_bytes = b;
        }
        if let Some(b) = kib("reserved_ram_kib", problems) {
            d.reserved_ram_bytes = b;
        }
        if let Some(s) = text("description", problems) {
            d.description = Cow::Owned(s);
        }
        if let Some(s) = text("source", problems) {
            d.source = Cow::Owned(s);
        }
        d
    };
    Some(Entry { name, apply: Box::new(apply) })
}

/// The rules every device of a fleet obeys (those of its target's kind only when the
/// target is known).
fn check(d: &Device, target_known: bool, problems: &mut Vec<String>) {
    let at = format!("device `{}`", d.name);
    if target_known && d.target.is_host() {
        if d.clock_hz.is_some() || d.flash_bytes.is_some() || d.ram_bytes.is_some() {
            problems.push(format!(
                "{at}: target `{}` is the build machine: its latency is measured, so it takes no clock_mhz, \
                 flash_kib or ram_kib",
                d.target.name
            ));
        }
        return;
    }
    match d.clock_hz {
        None if target_known => {
            problems.push(format!("{at}: `clock_mhz` is missing (target `{}` needs it)", d.target.name))
        }
        None => problems.push(format!("{at}: `clock_mhz` is missing")),
        Some(0) => problems.push(format!("{at}: `clock_mhz` is zero")),
        Some(_) => {}
    }
    for (what, total, reserved) in
        [("flash", d.flash_bytes, d.reserved_flash_bytes), ("ram", d.ram_bytes, d.reserved_ram_bytes)]
    {
        match total {
            None => problems.push(format!("{at}: `{what}_kib` is missing")),
            Some(0) => problems.push(format!("{at}: `{what}_kib` is zero")),
            Some(t) if reserved >= t => problems.push(format!(
                "{at}: `reserved_{what}_kib` ({} KiB) leaves nothing of `{what}_kib` ({} KiB) for the model",
                reserved / 1024,
                t / 1024
            )),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_in_the_repository_parses() {
        let fleet = parse(include_str!("../../../../targets/devices.example.toml")).unwrap();
        let nrf = fleet.iter().find(|d| d.name == "nrf52840").unwrap();
        assert_eq!(nrf.reserved_ram_bytes, 64 * 1024, "overridden");
        assert_eq!(nrf.clock_hz, Some(64_000_000), "kept from the catalogue");
        let mine = fleet.iter().find(|d| d.name == "my-m4-board").unwrap();
        assert_eq!(mine.target.name, "cortex-m4");
        assert_eq!(mine.ram_budget(), Some(576 * 1024));
        assert_eq!(fleet.len(), DEVICES.len() + 1);
    }

    #[test]
    fn builtin_false_keeps_only_the_listed_devices() {
        let fleet =
            parse("builtin = false\n[[device]]\nname = \"rp2040\"\n[[device]]\nname = \"linux-host\"\n").unwrap();
        let names: Vec<&str> = fleet.iter().map(|d| d.name.as_ref()).collect();
        assert_eq!(names, ["rp2040", "linux-host"]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "colour = 1\n\
            [[device]]\nname = \"a\"\ntarget = \"cortex-m7\"\nclock_mhz = 100\nflash_kib = 64\nram_kib = 8\n\
            [[device]]\nname = \"b\"\ntarget = \"cortex-m4\"\nclock_mhz = 0\nflash_kib = 64\nram_kib = 8\n\
            reserved_ram_kib = 8\nflahs_kib = 3\n\
            [[device]]\nname = \"b\"\ntarget = \"cortex-m4\"\nclock_mhz = 1\nflash_kib = 64\nram_kib = 8\n\
            [[device]]\nname = \"c\"\nclock_mhz = 1\n";
        let problems = parse(text).unwrap_err();
        let all = problems.join("\n");
        for expected in [
            "unknown top-level key `colour`",
            "device 1 (`a`): unknown target `cortex-m7`",
            "device 2 (`b`): unknown key `flahs_kib`",
            "device `b`: `clock_mhz` is zero",
            "device `b`: `reserved_ram_kib` (8 KiB) leaves nothing of `ram_kib` (8 KiB)",
            "device 3 (`b`): the name appears twice",
            "device 4 (`c`): a new device needs `target`",
            "device `c`: `flash_kib` is missing",
            "device `c`: `ram_kib` is missing",
        ] {
            assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
        }
        assert_eq!(problems.len(), 9, "{all}");
    }

    #[test]
    fn bad_toml_and_the_host_rules() {
        assert!(parse("[[device]\n").unwrap_err()[0].starts_with("not valid TOML"));
        let p = parse("[[device]]\nname = \"linux-host\"\nclock_mhz = 3000\n").unwrap_err();
        assert!(p[0].contains("is the build machine"), "{p:?}");
        let e = DeviceFileError { path: "d.toml".into(), problems: vec!["x".into(), "y".into()] };
        assert_eq!(e.to_string(), "d.toml: 2 problems in the devices file:\n  - x\n  - y");
    }
}
