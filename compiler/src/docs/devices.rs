//! The README's device-profile table, rendered from the built-in device catalogue
//! (`tinyops_targets::devices::DEVICES`), so it cannot drift from the data;
//! `compiler/tests/docs.rs` checks it.

use tinyops_targets::devices::{Device, DEVICES};

fn size(b: Option<u64>) -> String {
    match b {
        None => "—".into(),
        Some(b) if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        Some(b) if b >= 1024 * 1024 && (b * 10) % (1024 * 1024) == 0 => format!("{:.1} MiB", b as f64 / 1048576.0),
        Some(b) => format!("{} KiB", b / 1024),
    }
}

fn row(d: &Device) -> String {
    let clock = d.clock_hz.map(|hz| format!("{} MHz", hz / 1_000_000)).unwrap_or_else(|| "measured".into());
    format!(
        "| `{}` | `{}` | {clock} | {} | {} | {} / {} | {} | {} |\n",
        d.name,
        d.target.name,
        size(d.flash_bytes),
        size(d.ram_bytes),
        size(Some(d.reserved_flash_bytes)),
        size(Some(d.reserved_ram_bytes)),
        d.description.replace('|', "\\|"),
        d.source.replace('|', "\\|")
    )
}

/// The table: one row per built-in device.
pub fn readme_table() -> String {
    let mut s = String::from(
        "| device | target | clock | flash | RAM | reserved for the application (flash / RAM) | what | source |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for d in DEVICES {
        s.push_str(&row(d));
    }
    s
}

/// The README with the section between the devices-table markers replaced by `table`.
pub fn with_readme_table(readme: &str, table: &str) -> Option<String> {
    let (start, end) = ("<!-- devices-table:start -->\n", "<!-- devices-table:end -->");
    let a = readme.find(start)? + start.len();
    let b = readme.find(end)?;
    (a <= b).then(|| format!("{}{}{}", &readme[..a], table, &readme[b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(size(Some(2 * 1024 * 1024)), "2 MiB");
        assert_eq!(size(Some(786 * 1024)), "786 KiB");
        assert_eq!(size(None), "—");
        assert_eq!(size(Some(5632 * 1024)), "5.5 MiB");
        assert_eq!(readme_table().lines().count(), DEVICES.len() + 2);
    }
}
