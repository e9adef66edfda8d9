//! A picture of a memory plan: schedule steps on x, arena addresses on y (0 at the
//! bottom), one box per block named after its value, the step of peak use marked, the
//! lower bound drawn as a line. Plain SVG 1.1, deterministic text.

use super::Plan;
use std::fmt::Write;

const W: f64 = 960.0;
const H: f64 = 540.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A fill colour per block, from its index (fixed palette).
fn colour(i: usize) -> &'static str {
    const P: [&str; 10] =
        ["#8ecae6", "#ffb703", "#90be6d", "#f4a261", "#b5a8d5", "#e9c46a", "#a8dadc", "#f28482", "#84a59d", "#cdb4db"];
    P[i % P.len()]
}

/// The SVG text of a plan; `title` heads the picture.
pub fn render(p: &Plan, title: &str) -> String {
    let steps = p.blocks.iter().map(|b| b.end + 1).max().unwrap_or(1).max(p.order.len()).max(1);
    let top = p.arena_bytes.max(p.memory.lower_bound_bytes).max(1);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |t: usize| LEFT + pw * t as f64 / steps as f64;
    let y = |a: usize| TOP + ph * (1.0 - a as f64 / top as f64);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="10">"#
    );
    let _ = writeln!(s, r#"<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>"#);
    let m = &p.memory;
    let _ = writeln!(
        s,
        r#"<text x="{LEFT}" y="16" font-size="13">{}: arena {} B, lower bound {} B, greedy baseline {} B</text>"#,
        esc(title),
        p.arena_bytes,
        m.lower_bound_bytes,
        m.greedy_bytes
    );
    // Axes.
    let _ = writeln!(s, r#"<path d="M{LEFT} {TOP} V{} H{}" stroke="black" fill="none"/>"#, TOP + ph, LEFT + pw);
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="middle">step</text>"#, LEFT + pw / 2.0, H - 8.0);
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">0</text>"#, LEFT - 4.0, TOP + ph);
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{} B</text>"#, LEFT - 4.0, TOP + 4.0, top);
    for t in 0..steps {
        if steps <= 40 || t % (steps / 20).max(1) == 0 {
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{t}</text>"#,
                (x(t) + x(t + 1)) / 2.0,
                TOP + ph + 14.0
            );
        }
    }
    // Peak step: where the most bytes are alive.
    let mut live = vec![0usize; steps];
    for b in &p.blocks {
        for l in &mut live[b.start..=b.end.min(steps - 1)] {
            *l += b.bytes;
        }
    }
    let peak_step = live.iter().enumerate().max_by_key(|&(t, &v)| (v, std::cmp::Reverse(t))).map_or(0, |(t, _)| t);
    let _ = writeln!(
        s,
        r##"<rect x="{:.1}" y="{TOP}" width="{:.1}" height="{ph}" fill="#ffe0e0"/>"##,
        x(peak_step),
        x(peak_step + 1) - x(peak_step)
    );
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#c00000">peak: {} B alive</text>"##,
        (x(peak_step) + x(peak_step + 1)) / 2.0,
        TOP - 6.0,
        live[peak_step]
    );
    for (i, b) in p.blocks.iter().enumerate() {
        let (x0, x1) = (x(b.start), x(b.end + 1));
        let (y0, y1) = (y(b.offset + b.bytes), y(b.offset));
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="{}" stroke="#333" stroke-width="0.5"><title>{} — {} B at [{}, {}), steps {}..={}</title></rect>"##,
            x1 - x0,
            y1 - y0,
            colour(i),
            esc(&b.label),
            b.bytes,
            b.offset,
            b.offset + b.bytes,
            b.start,
            b.end
        );
        let room = (x1 - x0) / 5.5; // characters that fit at font size 10
        if y1 - y0 >= 11.0 && room >= 4.0 {
            let name: String =
                b.label.chars().rev().take(room as usize).collect::<Vec<_>>().into_iter().rev().collect();
            let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, x0 + 2.0, (y0 + y1) / 2.0 + 3.5, esc(&name));
        }
    }
    let lb = y(m.lower_bound_bytes);
    let _ = writeln!(
        s,
        r##"<path d="M{LEFT} {lb:.1} H{}" stroke="#c00000" stroke-dasharray="4 3"/><text x="{}" y="{:.1}" text-anchor="end" fill="#c00000">lower bound</text>"##,
        LEFT + pw,
        LEFT + pw,
        lb - 3.0
    );
    s.push_str("</svg>\n");
    s
}
