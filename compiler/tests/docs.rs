//! Documentation that is generated from data stays current: the README's
//! supported-operator table and `docs/conformance.md` are rendered from the op
//! registry and the committed node-test results (`docs/conformance.tsv`). Set
//! `TINYOPS_BLESS=1` to rewrite both from the committed results; rerun
//! `.ci/conformance-docs` to refresh the results themselves. `docs/memory.md` and the
//! README memory table are checked against a compilation of the corpus; the README
//! device table against the built-in device catalogue (`TINYOPS_BLESS=1` rewrites it).

mod common;

use std::path::PathBuf;
use tinyops_compiler::docs::{
    conformance_md, engines_section, read_other_results, read_results, readme_table, with_readme_table,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn check(path: PathBuf, want: String) {
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if std::env::var_os("TINYOPS_BLESS").is_some() {
            std::fs::write(&path, want).unwrap();
        } else {
            panic!(
                "{} is stale; run TINYOPS_BLESS=1 cargo test -p tinyops-compiler --test docs (or .ci/conformance-docs)",
                path.display()
            );
        }
    }
}

#[test]
fn readme_operator_table_matches_the_registry_and_results() {
    let cases = read_results(&repo().join("docs/conformance.tsv")).unwrap();
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let want = with_readme_table(&readme, &readme_table(&cases)).expect("ops-table markers");
    check(path, want);
}

#[test]
fn conformance_page_matches_the_results() {
    let cases = read_results(&repo().join("docs/conformance.tsv")).unwrap();
    assert!(cases.len() > 1000, "docs/conformance.tsv holds {} cases; it must come from a full run", cases.len());
    let others = read_other_results(&repo()).unwrap();
    check(repo().join("docs/conformance.md"), conformance_md(&cases, &engines_section(&repo()), &others));
}

/// Compiles the whole corpus for cortex-m4 (about 20 s with the test profile) and
/// compares `docs/memory.md`, ResNet-8's plan picture and the README memory table with
/// what it measures; `TINYOPS_BLESS=1` (or `.ci/memory-docs`) rewrites them.
#[test]
fn memory_page_matches_a_fresh_compilation_of_the_corpus() {
    use tinyops_compiler::docs::memory;
    let target = tinyops_targets::lookup("cortex-m4").unwrap();
    let (rows, picture) = memory::measure(&common::corpus(), target).unwrap();
    assert!(rows.len() >= 30, "the corpus holds only {} models", rows.len());
    // The RAM of the linked firmware is measured in QEMU by .ci/memory-docs only: kept
    // as it is, but it must have been measured with the arenas compiled now.
    let md = std::fs::read_to_string(repo().join("docs/memory.md")).unwrap_or_default();
    let image = memory::image_section_of(&md).expect("docs/memory.md has its RAM-from-the-image section");
    memory::check_image_section(&image, &rows).unwrap();
    check(repo().join("docs/memory.md"), memory::memory_md(&rows, target.name, &image));
    check(repo().join(memory::SVG_PATH), picture.expect("the corpus holds mlperf_ic_resnet8_int8"));
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    check(path, memory::with_readme_table(&readme, &memory::table(&rows)).expect("memory-table markers"));
}

#[test]
fn readme_device_table_matches_the_catalogue() {
    use tinyops_compiler::docs::devices;
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    check(path, devices::with_readme_table(&readme, &devices::readme_table()).expect("devices-table markers"));
}
