//! Documentation generated from data, so it cannot drift: the README's supported-op
//! table and `docs/conformance.md` are both rendered from the op registry and the
//! committed results of the ONNX node tests, `docs/conformance.tsv` — the one source of
//! truth, which `tinyops conformance DIR --update-docs REPO` rewrites (with the other
//! two). `compiler/tests/docs.rs` fails when either rendering is stale, and
//! `compiler/tests/conformance.rs` fails when a case that passes there stops passing.
//! [`memory`] renders `docs/memory.md` and the README's memory table the same way, from
//! a compilation of the corpus.

pub mod devices;
pub mod memory;

use crate::driver::conformance::{summary_line, tally, ConformanceReport, OpCounts, Status};
use crate::error::{Error, Result};
use crate::ops::registry::{Entry, OPS};
use std::collections::BTreeMap;
use std::path::Path;

/// One line of `docs/conformance.tsv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseLine {
    /// The case folder name.
    pub name: String,
    /// The op it tests.
    pub op: String,
    /// Its outcome.
    pub status: Status,
    /// Whether attribute-like inputs were frozen.
    pub frozen: bool,
    /// Why it failed or is unsupported.
    pub reason: String,
}

const HEADER: &str = "case\top\tstatus\tfrozen\treason\n";

fn one_line(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// The results of a run as TSV (one case a line, in name order).
pub fn results_tsv(r: &ConformanceReport) -> String {
    let mut s = String::from(HEADER);
    for c in &r.cases {
        let frozen = if c.frozen.is_empty() { "" } else { "frozen" };
        s.push_str(&format!("{}\t{}\t{}\t{frozen}\t{}\n", c.name, c.op, c.status.word(), one_line(&c.reason)));
    }
    s
}

/// Reads `docs/conformance.tsv`.
pub fn parse_results(text: &str) -> std::result::Result<Vec<CaseLine>, String> {
    let mut lines = text.lines();
    if lines.next().map(|h| format!("{h}\n")).as_deref() != Some(HEADER) {
        return Err("the first line is not the expected header".into());
    }
    lines
        .enumerate()
        .map(|(i, l)| {
            let f: Vec<&str> = l.splitn(5, '\t').collect();
            match f.as_slice() {
                [name, op, status, frozen, reason] => Ok(CaseLine {
                    name: name.to_string(),
                    op: op.to_string(),
                    status: Status::parse(status).ok_or_else(|| format!("line {}: status `{status}`", i + 2))?,
                    frozen: *frozen == "frozen",
                    reason: reason.to_string(),
                }),
                _ => Err(format!("line {} has {} fields, expected 5", i + 2, f.len())),
            }
        })
        .collect()
}

/// Reads and parses a results file.
pub fn read_results(path: &Path) -> Result<Vec<CaseLine>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_results(&text).map_err(|detail| Error::Malformed { path: path.to_path_buf(), detail })
}

fn counts(cases: &[CaseLine]) -> (BTreeMap<String, OpCounts>, OpCounts) {
    tally(cases.iter().map(|c| (c.op.as_str(), c.status)))
}

/// The key of a registry entry in the conformance results (`Add`, `com.microsoft:QGemm`).
fn key(e: &Entry) -> String {
    if e.domain == "ai.onnx" {
        e.op_type.to_string()
    } else {
        format!("{}:{}", e.domain, e.op_type)
    }
}

/// The README's supported-operator table: every registered op with its opsets, its
/// ONNX node tests passed (of all its cases) and notes.
pub fn readme_table(cases: &[CaseLine]) -> String {
    let (per_op, _) = counts(cases);
    let mut s = String::from("| ONNX op | domain | opsets | node tests passed | notes |\n|---|---|---|---|---|\n");
    let mut ops: Vec<&Entry> = OPS.iter().collect();
    ops.sort_by_key(|e| (e.domain, e.op_type.to_ascii_lowercase()));
    for e in ops {
        let max = e.opsets_end();
        let tests = per_op.get(&key(e)).map_or("—".to_string(), |c| format!("{}/{}", c.pass, c.cases));
        s.push_str(&format!("| {} | {} | {}–{} | {tests} | {} |\n", e.op_type, e.domain, e.since, max, e.notes));
    }
    s
}

/// The other folders of the ONNX backend tests that `docs/conformance.md` reports
/// beside `node`, each with its results in `docs/conformance-<folder>.tsv`.
pub const OTHER_FOLDERS: [&str; 4] = ["light", "simple", "pytorch-converted", "pytorch-operator"];

/// The committed results of the [`OTHER_FOLDERS`] folders that have a results file,
/// by folder (a folder without one is reported as not run).
pub fn read_other_results(repo: &Path) -> Result<Vec<(String, Vec<CaseLine>)>> {
    let mut out = vec![];
    for f in OTHER_FOLDERS {
        let path = repo.join(format!("docs/conformance-{f}.tsv"));
        if path.exists() {
            out.push((f.to_string(), read_results(&path)?));
        }
    }
    Ok(out)
}

/// The hand-written section of `docs/conformance.md` on the engines (the JIT against
/// the Rust backend: pass counts, differences, timings and how each was measured),
/// included as it is, after the totals.
pub const ENGINES_SECTION: &str = "docs/conformance-engines.md";

/// The engines section of the repository at `repo` (empty when the file is missing).
pub fn engines_section(repo: &Path) -> String {
    std::fs::read_to_string(repo.join(ENGINES_SECTION)).unwrap_or_default()
}

/// `docs/conformance.md`: totals, the engines section (`engines`, from
/// [`ENGINES_SECTION`]), a table per op, and every case not passed with its reason; then
/// the same summary and list for each of the `others` folders.
pub fn conformance_md(cases: &[CaseLine], engines: &str, others: &[(String, Vec<CaseLine>)]) -> String {
    let (per_op, total) = counts(cases);
    let frozen = cases.iter().filter(|c| c.frozen).count();
    let frozen_pass = cases.iter().filter(|c| c.frozen && c.status == Status::Pass).count();
    let mut s = String::from(
        "# ONNX node conformance\n\n\
         Generated by `.ci/conformance-docs` (which runs `tinyops conformance \
         $TINYOPS_ONNX_TESTS/node --update-docs .`) from `docs/conformance.tsv`; do not edit.\n\n\
         Each official ONNX node test case (`onnx-backend-tests/node`, onnx 1.23.0) goes through \
         the path users take: compiled to a `#![no_std]` module, built with cargo (many cases per \
         crate), run on the case's inputs and compared with its reference outputs at the ONNX test \
         runner's tolerances (floats: `|got − want| ≤ 1e-7 + 1e-3·|want|`, NaN where the reference \
         has NaN; integers and booleans exactly). `unsupported` means the compiler refused the case \
         (the reason is its error); `fail` means it ran and a result is wrong, its generated code \
         did not build, or the compiler panicked.\n\n\
         Graph inputs that act like attributes (a shape, pads, axes, `k`, …: the list is \
         `ATTRIBUTE_INPUTS` in `compiler/src/ops/registry.rs`) are frozen into constants, as \
         `--freeze` does, and so are scalars and short vectors (at most 16 elements) from which \
         such an operand is computed (an expanded function's size or target shape passed through \
         arithmetic); data, weights and quantisation parameters always run as run-time \
         inputs.\n\n",
    );
    s.push_str(&format!("**{}**\n\n", summary_line(&total)));
    s.push_str(&format!(
        "{frozen} cases ran with frozen attribute-like inputs ({frozen_pass} of them pass); {} \
         pass with every input at run time.\n\n",
        total.pass - frozen_pass
    ));
    if !engines.trim().is_empty() {
        s.push_str(engines.trim());
        s.push_str("\n\n");
    }
    s.push_str("## Per op\n\n| op | cases | pass | fail | unsupported |\n|---|---|---|---|---|\n");
    for (op, c) in &per_op {
        s.push_str(&format!("| {op} | {} | {} | {} | {} |\n", c.cases, c.pass, c.fail, c.unsupported));
    }
    for (title, status) in [("Failed cases", Status::Fail), ("Unsupported cases", Status::Unsupported)] {
        let list: Vec<&CaseLine> = cases.iter().filter(|c| c.status == status).collect();
        s.push_str(&format!("\n## {title} ({})\n\n", list.len()));
        if list.is_empty() {
            s.push_str("None.\n");
            continue;
        }
        s.push_str("| case | op | reason |\n|---|---|---|\n");
        for c in list {
            s.push_str(&format!("| {} | {} | {} |\n", c.name, c.op, c.reason.replace('|', "\\|")));
        }
    }
    {
        s.push_str(
            "\n## Other test folders\n\n\
             The other folders of `onnx-backend-tests` run through the same command \
             (`tinyops conformance $TINYOPS_ONNX_TESTS/<folder> --update-docs .`, also run by \
             `.ci/conformance-docs`); their results are in `docs/conformance-<folder>.tsv`. \
             `light` holds whole models (weights generated by ConstantOfShape), `simple` small \
             graphs, `pytorch-converted` and `pytorch-operator` models exported by old PyTorch \
             versions (opsets 6–9).\n\n| folder | cases | pass | fail | unsupported |\n|---|---|---|---|---|\n",
        );
        for folder in OTHER_FOLDERS {
            match others.iter().find(|(f, _)| f == folder) {
                Some((_, cases)) => {
                    let (_, t) = counts(cases);
                    s.push_str(&format!("| {folder} | {} | {} | {} | {} |\n", t.cases, t.pass, t.fail, t.unsupported));
                }
                None => s.push_str(&format!("| {folder} | not run (no `docs/conformance-{folder}.tsv`) | | | |\n")),
            }
        }
        if !others.iter().any(|(f, _)| f == "light") {
            s.push_str(LIGHT_NOTE);
        }
        for (folder, cases) in others {
            let list: Vec<&CaseLine> = cases.iter().filter(|c| c.status != Status::Pass).collect();
            let (_, t) = counts(cases);
            s.push_str(&format!("\n### {folder}\n\n**{}**\n\n", summary_line(&t)));
            if list.is_empty() {
                s.push_str("Every case passes.\n");
                continue;
            }
            s.push_str("| case | op | status | reason |\n|---|---|---|---|\n");
            for c in list {
                s.push_str(&format!(
                    "| {} | {} | {} | {} |\n",
                    c.name,
                    c.op,
                    c.status.word(),
                    c.reason.replace('|', "\\|")
                ));
            }
        }
    }
    s
}

/// Why `light` has no results file, and what the JIT measured on it.
const LIGHT_NOTE: &str = "\n`light` is not run through the Rust backend here: its models' weights are \
     ConstantOfShape fills (574 MB for VGG-19) that the generated crate embeds, and an earlier \
     attempt needed 4.7 GB and 23 minutes of rustc. Through the JIT (`tinyops conformance \
     $TINYOPS_ONNX_TESTS/light --engine jit`, which writes no results file) all 9 models pass: \
     measured on 2026-11-30 on the project's 2-core machine while other builds ran, 3 min 56 s \
     wall clock (compile 49.6 s, JIT run 171 s), 5.6 GB peak resident memory.\n";

/// The README section between the ops-table markers, replaced by `table`.
pub fn with_readme_table(readme: &str, table: &str) -> Option<String> {
    let (start, end) = ("<!-- ops-table:start -->\n", "<!-- ops-table:end -->");
    let a = readme.find(start)? + start.len();
    let b = readme.find(end)?;
    (a <= b).then(|| format!("{}{}{}", &readme[..a], table, &readme[b..]))
}

/// Rewrites, from a full run of the folder named `folder`, its results file
/// (`docs/conformance.tsv` for `node`, else `docs/conformance-<folder>.tsv`, for one of
/// [`OTHER_FOLDERS`]), then `docs/conformance.md` and the README table of the repository
/// at `repo` from the committed results of every folder.
pub fn update(repo: &Path, folder: &str, r: &ConformanceReport) -> Result<()> {
    let tsv = results_tsv(r);
    parse_results(&tsv).map_err(Error::Internal)?;
    let write = |p: &Path, s: &str| std::fs::write(p, s).map_err(|e| Error::io(p, e));
    let results = match folder {
        "node" => repo.join("docs/conformance.tsv"),
        f if OTHER_FOLDERS.contains(&f) => repo.join(format!("docs/conformance-{f}.tsv")),
        f => {
            return Err(Error::Options(format!(
                "--update-docs takes the `node` folder or one of {}; `{f}` has no results file",
                OTHER_FOLDERS.join(", ")
            )))
        }
    };
    write(&results, &tsv)?;
    let cases = read_results(&repo.join("docs/conformance.tsv"))?;
    let others = read_other_results(repo)?;
    write(&repo.join("docs/conformance.md"), &conformance_md(&cases, &engines_section(repo), &others))?;
    let readme_path = repo.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).map_err(|e| Error::io(&readme_path, e))?;
    let readme = with_readme_table(&readme, &readme_table(&cases))
        .ok_or_else(|| Error::Options(format!("{} has no ops-table markers", readme_path.display())))?;
    write(&readme_path, &readme)
}
