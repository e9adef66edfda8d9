//! The picture of `tinyops fleet --svg`: one panel per device. Top: cost per
//! inference (ms, log scale) against quality, one dot per variant (filled when it
//! fits, hollow red when it does not), the latency budget as a dashed line. Bottom:
//! each variant's flash and RAM as a share of the device's budget, with the 100 %
//! budget line. Plain SVG 1.1, deterministic text.

use super::{DeviceResult, FleetReport};
use std::fmt::Write;

const PW: f64 = 470.0;
const PH: f64 = 370.0;
const COLS: usize = 2;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SVG text of a fleet report; `title` heads the picture.
pub fn render(r: &FleetReport, title: &str) -> String {
    let q = match &r.quality_kind {
        Some(k) => format!("quality: {k}"),
        None => "quality: not measured (no --data); dots sit on the middle line".to_string(),
    };
    let mut lines = wrap(title, 120);
    let bold = lines.len();
    lines.extend(wrap(&q, 160));
    lines.push(
        "ms: ~ estimate = QEMU instructions × 1 cycle at the device clock; host: measured. filled = fits, \
         hollow red = misses a budget"
            .to_string(),
    );
    let head = 20.0 + 13.0 * lines.len() as f64;
    let rows = r.devices.len().div_ceil(COLS).max(1);
    let (w, h) = (PW * COLS as f64 + 20.0, PH * rows as f64 + head + 10.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(s, r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#);
    for (i, l) in lines.iter().enumerate() {
        let style = if i < bold { r#" font-size="13" font-weight="bold""# } else { "" };
        let _ = writeln!(s, r#"<text x="10" y="{}"{style}>{}</text>"#, 16.0 + 13.0 * i as f64, esc(l));
    }
    for (i, d) in r.devices.iter().enumerate() {
        let (ox, oy) = (10.0 + PW * (i % COLS) as f64, head + PH * (i / COLS) as f64);
        panel(&mut s, d, ox, oy, r.latency_budget_ms);
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, d: &DeviceResult, ox: f64, oy: f64, budget: Option<f64>) {
    let _ = writeln!(
        s,
        r##"<rect x="{ox}" y="{oy}" width="{}" height="{}" fill="none" stroke="#ccc"/>"##,
        PW - 10.0,
        PH - 10.0
    );
    let chosen = d.chosen.as_deref().unwrap_or("nothing fits");
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" font-size="12" font-weight="bold">{} ({}) → {}</text>"#,
        ox + 8.0,
        oy + 16.0,
        esc(&d.device),
        esc(&d.target),
        esc(chosen)
    );
    // Scatter: x = log10(ms), y = quality.
    let (px, py, pw, ph) = (ox + 50.0, oy + 30.0, PW - 200.0, 150.0);
    let mut ms: Vec<f64> = d.variants.iter().filter_map(|v| v.ms).collect();
    if let Some(b) = budget {
        ms.push(b);
    }
    let lo = ms.iter().copied().fold(f64::INFINITY, f64::min).max(1e-6).log10().floor();
    let hi = ms.iter().copied().fold(0.0, f64::max).max(1e-6).log10().ceil().max(lo + 1.0);
    let x = |m: f64| px + pw * ((m.max(1e-6).log10() - lo) / (hi - lo));
    let qs: Vec<f64> = d.variants.iter().filter_map(|v| v.quality).collect();
    let (qlo, qhi) = if qs.is_empty() {
        (0.0, 1.0)
    } else {
        let lo = qs.iter().copied().fold(1.0, f64::min);
        ((lo - 0.05).clamp(0.0, 1.0).min(0.9), 1.0)
    };
    let y = |q: Option<f64>| py + ph * (1.0 - (q.unwrap_or((qlo + qhi) / 2.0) - qlo) / (qhi - qlo));
    let _ = writeln!(s, r##"<rect x="{px}" y="{py}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>"##);
    for e in (lo as i32)..=(hi as i32) {
        let xe = x(10f64.powi(e));
        let _ = writeln!(s, r##"<line x1="{xe}" y1="{py}" x2="{xe}" y2="{}" stroke="#e0e0e0"/>"##, py + ph);
        let _ = writeln!(s, r#"<text x="{xe}" y="{}" text-anchor="middle">{}</text>"#, py + ph + 12.0, fmt_ms(e));
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">ms per inference</text>"#,
        px + pw / 2.0,
        py + ph + 24.0
    );
    for (q, label) in [(qlo, format!("{qlo:.2}")), (qhi, format!("{qhi:.2}"))] {
        let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{label}</text>"#, px - 4.0, y(Some(q)) + 3.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" transform="rotate(-90 {} {})" text-anchor="middle">quality</text>"#,
        px - 30.0,
        py + ph / 2.0,
        px - 30.0,
        py + ph / 2.0
    );
    if let Some(b) = budget {
        let xb = x(b);
        let _ = writeln!(
            s,
            r##"<line x1="{xb}" y1="{py}" x2="{xb}" y2="{}" stroke="#d62828" stroke-dasharray="4 3"/><text x="{}" y="{}" fill="#d62828">budget {b} ms</text>"##,
            py + ph,
            xb + 3.0,
            py + 10.0
        );
    }
    let mut not_run = 0;
    // Label positions taken so far, so that labels of nearby dots stack instead of overlapping.
    let mut labels: Vec<(f64, f64)> = vec![];
    for v in &d.variants {
        let (fill, stroke) = if v.fits { ("#2a9d8f", "#2a9d8f") } else { ("white", "#d62828") };
        match v.ms {
            Some(m) => {
                let (cx, cy) = (x(m), y(v.quality));
                let (lx, mut ly) = (cx + 6.0, cy + 3.0);
                while labels.iter().any(|&(ax, ay)| (ax - lx).abs() < 150.0 && (ay - ly).abs() < 11.0) {
                    ly += 11.0;
                }
                labels.push((lx, ly));
                let _ = writeln!(
                    s,
                    r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/><text x="{lx:.1}" y="{ly:.1}">{}{}</text>"#,
                    esc(&v.variant),
                    if v.ms_kind == "estimate" { " ~" } else { "" }
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" fill="{stroke}">{}: not run</text>"#,
                    px + pw + 8.0,
                    py + 12.0 + 12.0 * not_run as f64,
                    esc(&shorten(&v.variant, 14))
                );
                not_run += 1;
            }
        }
    }
    // Bars: flash and RAM as a share of the budget, with the 100 % line.
    let (bx, by, bw) = (ox + 160.0, oy + 240.0, PW - 240.0);
    let full = 1.5;
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}">share of the budget (flash / RAM); line = 100 %</text>"#,
        ox + 8.0,
        by - 6.0
    );
    for (k, v) in d.variants.iter().enumerate() {
        let yb = by + 14.0 * k as f64;
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, ox + 8.0, yb + 10.0, esc(&shorten(&v.variant, 24)));
        for (j, (have, budget, colour)) in
            [(v.flash_bytes, d.flash_budget_bytes, "#8ecae6"), (v.ram_bytes, d.ram_budget_bytes, "#ffb703")]
                .into_iter()
                .enumerate()
        {
            let yy = yb + 6.0 * j as f64;
            match (have, budget) {
                (Some(h), Some(b)) => {
                    let share = h as f64 / b as f64;
                    let len = bw * share.min(full) / full;
                    let _ = writeln!(
                        s,
                        r##"<rect x="{bx}" y="{yy}" width="{len:.1}" height="5" fill="{colour}" stroke="{}"/>"##,
                        if share > 1.0 { "#d62828" } else { "none" }
                    );
                    if j == 1 {
                        let _ = writeln!(
                            s,
                            r#"<text x="{}" y="{}">{:.0}% / {:.0}%</text>"#,
                            bx + bw + 4.0,
                            yb + 10.0,
                            100.0 * v.flash_bytes.unwrap_or(0) as f64 / d.flash_budget_bytes.unwrap_or(1) as f64,
                            100.0 * share
                        );
                    }
                }
                _ if j == 1 => {
                    let _ = writeln!(s, r#"<text x="{bx}" y="{}">no memory budget</text>"#, yb + 10.0);
                }
                _ => {}
            }
        }
    }
    let xl = bx + bw / full;
    let _ = writeln!(
        s,
        r##"<line x1="{xl}" y1="{}" x2="{xl}" y2="{}" stroke="#d62828" stroke-dasharray="4 3"/>"##,
        by - 2.0,
        by + 14.0 * d.variants.len() as f64
    );
}

fn fmt_ms(e: i32) -> String {
    if e >= 0 {
        format!("{}", 10f64.powi(e))
    } else {
        format!("{}", 10f64.powi(e)).trim_end_matches('0').to_string()
    }
}

/// Splits text into lines of at most about `n` characters at spaces.
fn wrap(text: &str, n: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > n {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let t: String = s.chars().take(n - 1).collect();
        format!("{t}…")
    }
}
