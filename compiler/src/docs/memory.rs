//! `docs/memory.md`, the README's memory table and the picture of ResNet-8's plan,
//! measured by compiling every model of the corpus for one target. `tinyops memory
//! CORPUS --update-docs REPO` (run by `.ci/memory-docs`) rewrites all three;
//! `compiler/tests/docs.rs` fails when they disagree with a fresh compilation.
//!
//! With `--image`, the page also gets the RAM of the MLPerf Tiny int8 models' linked
//! bench firmware (static RAM and the stack measured in QEMU, [`measure_image`]).
//! The docs test does not rebuild firmware: it keeps that section as the last
//! `.ci/memory-docs` run wrote it and fails when its arenas differ from the compiled
//! ones ([`check_image_section`]).

use crate::driver::bench::{bench, BenchOptions};
use crate::error::{Error, Result};
use crate::plan::svg;
use crate::{compile, Options};
use serde::Serialize;
use std::path::Path;
use tinyops_targets::Target;

/// The model whose plan `docs/` shows as a picture.
pub const PICTURED: &str = "mlperf_ic_resnet8_int8";
/// Where the picture goes, relative to the repository.
pub const SVG_PATH: &str = "docs/memory-mlperf_ic_resnet8_int8.svg";

/// TensorFlow Lite Micro's measured arenas of the MLPerf Tiny int8 models on
/// Cortex-M4, in bytes, quoted from `../shared/docs/anchors.md` (given there in kB,
/// read as 1000 B as in `docs/benchmarks.md`).
pub const TFLM_ARENA: [(&str, usize); 4] = [
    ("mlperf_kws_dscnn_int8", 22_800),
    ("mlperf_vww_mbv1_int8", 100_700),
    ("mlperf_ic_resnet8_int8", 55_000),
    ("mlperf_ad_autoencoder_int8", 3_000),
];

/// The markers around the section of RAM from the linked image in `docs/memory.md`.
const IMAGE_START: &str = "<!-- image-ram:start -->\n";
const IMAGE_END: &str = "<!-- image-ram:end -->\n";

/// One model's RAM measured from its linked bench firmware.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImageRam {
    /// Corpus folder name.
    pub model: String,
    /// The arena of the compiled model (part of the static RAM).
    pub arena_bytes: usize,
    /// Every allocated writable section of the linked image (`.data + .bss + .uninit`).
    pub static_bytes: u64,
    /// The deepest stack measured (painted) during one inference in QEMU.
    pub stack_bytes: u64,
}

/// Builds the bench firmware of every model of [`TFLM_ARENA`] in `corpus` for `target`
/// and runs it in QEMU (`tinyops bench`): its static RAM and measured stack.
pub fn measure_image(corpus: &Path, target: &'static Target) -> Result<Vec<ImageRam>> {
    let mut out = vec![];
    for (model, _) in TFLM_ARENA {
        let opts = BenchOptions {
            compile: Options { target, ..Options::default() },
            quiet: true,
            onnxruntime: false,
            ..BenchOptions::default()
        };
        let r = bench(&corpus.join(model), &opts)?;
        let (Some(static_bytes), Some(stack_bytes)) = (r.ram_bytes, r.stack_bytes) else {
            return Err(Error::Options(format!(
                "`{model}`: tinyops bench measured no static RAM or no stack on {} (it needs an emulated target)",
                target.name
            )));
        };
        out.push(ImageRam { model: model.to_string(), arena_bytes: r.arena_bytes, static_bytes, stack_bytes });
    }
    Ok(out)
}

/// The section of `docs/memory.md` on RAM from the linked image, between its markers.
pub fn image_section(images: &[ImageRam], target: &str) -> String {
    let mut s = format!(
        "{IMAGE_START}\n## RAM from the linked image\n\n\
         Measured by `.ci/memory-docs` (`tinyops memory … --image`): each model's bench firmware \
         (`tinyops bench <model> -t {target}`) linked and run in QEMU. **static RAM** is every \
         allocated writable section of the linked ELF (`.data + .bss + .uninit`: the arena, the \
         caller's output buffer and the firmware's own statics), **stack** the deepest stack \
         measured by painting it before one inference (the firmware's own frames included). \
         `cargo test --test docs` does not rebuild the firmware: it keeps this section and fails \
         when its arenas are not the ones compiled now. `../shared/docs/anchors.md` quotes no \
         stack for TFLM, so the goal compares with 0.8 × TFLM's arena alone, stricter than \
         0.8 × (arena + stack).\n\n\
         | model | arena B | static RAM B | stack B | RAM B (static + stack) | TFLM arena B (quoted) | RAM / TFLM arena | goal (≤ 0.8× TFLM arena + stack) |\n\
         |---|---|---|---|---|---|---|---|\n"
    );
    for im in images {
        let tflm = TFLM_ARENA.iter().find(|(m, _)| *m == im.model).map_or(0, |&(_, b)| b);
        let ram = im.static_bytes + im.stack_bytes;
        let ratio = ram as f64 / tflm.max(1) as f64;
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {:.3} | {} |\n",
            im.model,
            thousands(im.arena_bytes),
            thousands(im.static_bytes as usize),
            thousands(im.stack_bytes as usize),
            thousands(ram as usize),
            thousands(tflm),
            ratio,
            if ratio <= 0.8 { "met" } else { "not met" }
        ));
    }
    s.push_str(IMAGE_END);
    s
}

/// The section on RAM from the linked image of an existing `docs/memory.md`, markers
/// included.
pub fn image_section_of(md: &str) -> Option<String> {
    let a = md.find(IMAGE_START)?;
    let b = md.find(IMAGE_END)? + IMAGE_END.len();
    (a < b).then(|| md[a..b].to_string())
}

/// Checks that a kept section on RAM from the linked image was measured with the
/// arenas compiled now: names every model whose arena differs.
pub fn check_image_section(section: &str, rows: &[MemoryRow]) -> std::result::Result<(), String> {
    let mut stale = vec![];
    for (model, _) in TFLM_ARENA {
        let Some(r) = rows.iter().find(|r| r.model == model) else { continue };
        let line = section.lines().find(|l| l.starts_with(&format!("| `{model}` |")));
        let arena = line.and_then(|l| l.split('|').nth(2)).map(str::trim);
        if arena != Some(thousands(r.arena_bytes).as_str()) {
            stale.push(format!("`{model}` (section {}, compiled {})", arena.unwrap_or("missing"), r.arena_bytes));
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the RAM from the linked image in docs/memory.md was measured with other arenas: {}; run .ci/memory-docs",
            stale.join(", ")
        ))
    }
}

/// One model's memory figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryRow {
    /// Corpus folder name.
    pub model: String,
    /// Arena bytes tinyops plans.
    pub arena_bytes: usize,
    /// The most bytes alive at one step of the chosen schedule, a result over its dead
    /// input counting their shared bytes once.
    pub lower_bound_bytes: usize,
    /// The same, every block counted in full (no in-place execution).
    pub separate_bound_bytes: usize,
    /// Nodes whose result the plan put over their dead input.
    pub in_place_nodes: usize,
    /// Groups the plan runs row-streamed.
    pub streamed_groups: usize,
    /// Elements their windows slide (copy) per run, in all.
    pub streamed_copies: usize,
    /// The arena without streaming (equal to `arena_bytes` without groups).
    pub unstreamed_bytes: usize,
    /// The same for the graph's own order.
    pub given_order_peak: usize,
    /// TFLM-style greedy baseline (graph order, greedy by size, no in-place).
    pub greedy_bytes: usize,
    /// How the schedule was found.
    pub schedule: String,
    /// Winning packing strategy.
    pub packing: String,
}

impl MemoryRow {
    /// Arena over lower bound.
    pub fn bound_ratio(&self) -> f64 {
        self.arena_bytes as f64 / self.lower_bound_bytes.max(1) as f64
    }
    /// Arena over greedy baseline.
    pub fn greedy_ratio(&self) -> f64 {
        self.arena_bytes as f64 / self.greedy_bytes.max(1) as f64
    }
}

/// Compiles every model of `corpus` (each folder holding a `model.onnx`, in name
/// order) for `target` and returns its figures and the SVG of [`PICTURED`]'s plan.
pub fn measure(corpus: &Path, target: &'static Target) -> Result<(Vec<MemoryRow>, Option<String>)> {
    let mut names: Vec<String> = std::fs::read_dir(corpus)
        .map_err(|e| Error::io(corpus, e))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("model.onnx").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut rows = vec![];
    let mut picture = None;
    let opts = Options { target, ..Options::default() };
    for name in names {
        let c = compile(&corpus.join(&name).join("model.onnx"), &opts)?;
        let m = &c.plan.memory;
        if name == PICTURED {
            picture = Some(svg::render(&c.plan, &format!("{name} on {}", target.name)));
        }
        rows.push(MemoryRow {
            model: name,
            arena_bytes: c.plan.arena_bytes,
            lower_bound_bytes: m.lower_bound_bytes,
            separate_bound_bytes: m.separate_bound_bytes,
            in_place_nodes: c.plan.in_place.len(),
            streamed_groups: c.plan.streams.len(),
            streamed_copies: c.plan.streams.iter().map(|s| s.option.copy_elems).sum(),
            unstreamed_bytes: m.unstreamed_bytes,
            given_order_peak: m.given_order_peak,
            greedy_bytes: m.greedy_bytes,
            schedule: m.schedule.describe(),
            packing: m.strategy.name().to_string(),
        });
    }
    Ok((rows, picture))
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn thousands(n: usize) -> String {
    crate::driver::bench::group(n as u64)
}

/// The per-model table (shared by `docs/memory.md` and the README).
pub fn table(rows: &[MemoryRow]) -> String {
    let mut s = String::from(
        "| model | arena B | lower bound B | arena / bound | bound without in-place B | in place | streamed (arena without, copies) | greedy baseline B | arena / greedy |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let streamed = match r.streamed_groups {
            0 => "–".to_string(),
            n => format!("{n} ({} B, {})", thousands(r.unstreamed_bytes), thousands(r.streamed_copies)),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {:.3} | {} | {} | {streamed} | {} | {:.3} |\n",
            r.model,
            thousands(r.arena_bytes),
            thousands(r.lower_bound_bytes),
            r.bound_ratio(),
            thousands(r.separate_bound_bytes),
            r.in_place_nodes,
            thousands(r.greedy_bytes),
            r.greedy_ratio()
        ));
    }
    s
}

/// Summary figures: (largest arena / bound, median arena / greedy).
pub fn summary(rows: &[MemoryRow]) -> (f64, f64) {
    let worst = rows.iter().map(MemoryRow::bound_ratio).fold(0.0, f64::max);
    (worst, median(rows.iter().map(MemoryRow::greedy_ratio).collect()))
}

/// `docs/memory.md`, with `image` (see [`image_section`]) after the comparison with
/// TFLM's arenas.
pub fn memory_md(rows: &[MemoryRow], target: &str, image: &str) -> String {
    let (worst, med) = summary(rows);
    let strategies = crate::plan::pack::STRATEGIES.len();
    let mut s = format!(
        "# Memory\n\n\
         Generated by `.ci/memory-docs` (which runs `tinyops memory $TINYOPS_CORPUS --target {target} \
         --update-docs .`); do not edit. Every model of the corpus compiled for `{target}`.\n\n\
         - **arena**: `Model::ARENA_BYTES`, the RAM tinyops's plan needs besides the caller's \
         input and output buffers and the stack (kernels' scratch included).\n\
         - **lower bound**: the most bytes alive at one step of the chosen schedule (each block \
         rounded up to the offset alignment), where a result may overlap its dead input counting \
         the bytes the two share at their kernel's shift once (at each step the largest such \
         saving of that step's node); no placement of that schedule can need less. \
         **bound without in-place** counts every block in full (the bound before in-place \
         execution existed); **in place**: how many nodes the plan runs over their dead input.\n\
         - **greedy baseline**: what TensorFlow Lite Micro's greedy planner would need for the \
         same graph: the graph's own order, no in-place execution, largest block first at the \
         lowest offset that fits (reshapes share their source's bytes, as in tinyops).\n\n\
         The planner (`compiler/src/plan/`) picks the order of least peak memory (exact search, \
         or a heuristic with a bound on large graphs), then packs the blocks with {strategies} strategies, \
         with and without the permitted overlaps, and keeps the smallest arena. See \
         `docs/architecture.md`.\n\n\
         **In-place execution.** A node's result may overlap an input that dies at that node \
         (its last reader; not a model input or output, not read through a second operand) when \
         the chosen kernel implementation declares an access order for it (`Implementation::in_place` \
         in `compiler/src/lower/isa/`, set only for implementations the kernel suite runs in \
         place). Quantised convolutions (portable, Arm DSP, Helium, AVX2) and the portable float \
         ones run one output row at a time through `kernels::inplace::conv_rows` (a 1-D \
         convolution, of height one, as its transpose: a column of rows), their result starting \
         `conv_rows_shift` elements (rounded down to the alignment) before the input, rows \
         first to last (row r's output ends where the first input row its window still needs \
         begins), or `conv_rows_above` elements (rounded up) after the input's start, rows \
         last to first (row r's output starts where the last input row its window needs \
         ends). The quantised add and the float binary ops (`binary_f32`) write exactly over an \
         operand of their own size through `kernels::inplace::elementwise`. A chain of convolutions alternates below and above \
         (the packing takes, per pair, the start that widens the chain least), so it stays \
         around one region instead of drifting down by its shifts.\n\n\
         **Row-streamed groups.** A convolution whose only reader is a convolution, optionally \
         followed by the element-wise Add of the second's output and a skip (a residual block), \
         may run as one group through `kernels::stream` (`compiler/src/lower/stream.rs`): the \
         consumer computes one output row at a time from a sliding window of the producer's rows \
         (`stream_window_len` elements), the Add writes each row over the skip (over the \
         producer's own input for an identity shortcut, where `stream_over_input_applies`), so \
         neither convolution's output exists whole. The group is one node of the memory problem \
         (scratch: the window, one row, both kernels' scratch); the planner streams a group only \
         when the arena gets smaller for it and drops every group the arena does not need. \
         **streamed** gives the groups, the arena the same plan needs without them, and the \
         elements the windows slide per run (`stream_copy_len`: the extra work, besides the \
         code). The JIT runs a plan without streaming.\n\n\
         Across the corpus: largest arena / lower bound **{worst:.3}**, median arena / greedy \
         baseline **{med:.3}**.\n\n"
    );
    s.push_str(&table(rows));
    s.push_str(&format!(
        "\n## MLPerf Tiny int8 beside TensorFlow Lite Micro\n\n\
         TFLM + CMSIS-NN's arena on Cortex-M4 is quoted from `../shared/docs/anchors.md` \
         (kB read as 1000 B, as in `docs/benchmarks.md`); tinyops's is measured above for \
         `{target}`.\n\n\
         | model | tinyops arena B | TFLM arena B (quoted) | tinyops / TFLM | goal (≤ 0.6×) |\n|---|---|---|---|---|\n"
    ));
    for (model, tflm) in TFLM_ARENA {
        if let Some(r) = rows.iter().find(|r| r.model == model) {
            let ratio = r.arena_bytes as f64 / tflm as f64;
            s.push_str(&format!(
                "| `{model}` | {} | {} | {:.3} | {} |\n",
                thousands(r.arena_bytes),
                thousands(tflm),
                ratio,
                if ratio <= 0.6 { "met" } else { "not met" }
            ));
        }
    }
    s.push_str(image);
    s.push_str(&format!(
        "\n## The plan of `{PICTURED}`\n\nSteps on x, arena addresses on y, one box per tensor \
         (hover for its name, size and lifetime), the step of peak use shaded, the lower bound \
         dashed.\n\n![memory plan of {PICTURED}]({})\n\n## How each plan was found\n\n\
         | model | schedule | packing |\n|---|---|---|\n",
        SVG_PATH.trim_start_matches("docs/")
    ));
    for r in rows {
        s.push_str(&format!("| `{}` | {} | {} |\n", r.model, r.schedule, r.packing));
    }
    s
}

/// The README section between the memory-table markers, replaced by `table`.
pub fn with_readme_table(readme: &str, table: &str) -> Option<String> {
    let (start, end) = ("<!-- memory-table:start -->\n", "<!-- memory-table:end -->");
    let a = readme.find(start)? + start.len();
    let b = readme.find(end)?;
    (a <= b).then(|| format!("{}{}{}", &readme[..a], table, &readme[b..]))
}

/// Rewrites `docs/memory.md`, the picture and the README table of the repository at
/// `repo`. The section on RAM from the linked image is rewritten from `images` when
/// given, else kept from the page (and checked against `rows`).
pub fn update(
    repo: &Path,
    rows: &[MemoryRow],
    picture: Option<&str>,
    target: &str,
    images: Option<&[ImageRam]>,
) -> Result<()> {
    let write = |p: &Path, s: &str| std::fs::write(p, s).map_err(|e| Error::io(p, e));
    let md_path = repo.join("docs/memory.md");
    let image = match images {
        Some(images) => image_section(images, target),
        None => {
            let md = std::fs::read_to_string(&md_path).unwrap_or_default();
            let kept = image_section_of(&md).ok_or_else(|| {
                Error::Options("docs/memory.md has no section on RAM from the linked image; run with --image".into())
            })?;
            check_image_section(&kept, rows).map_err(Error::Options)?;
            kept
        }
    };
    write(&md_path, &memory_md(rows, target, &image))?;
    match picture {
        Some(svg) => write(&repo.join(SVG_PATH), svg)?,
        None => return Err(Error::Options(format!("the corpus has no `{PICTURED}` to draw"))),
    }
    let readme_path = repo.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).map_err(|e| Error::io(&readme_path, e))?;
    let readme = with_readme_table(&readme, &table(rows))
        .ok_or_else(|| Error::Options(format!("{} has no memory-table markers", readme_path.display())))?;
    write(&readme_path, &readme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_median() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
