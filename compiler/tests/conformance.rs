//! The official ONNX node tests through the path users take (`tinyops conformance`):
//! every case compiled, built in shared crates, run and compared. Fails when a case
//! that passes in the committed results (`docs/conformance.tsv`) no longer passes, when
//! the pass count drops below theirs, or when the compiler panics on any case. Needs
//! the ONNX backend tests (`TINYOPS_ONNX_TESTS`); fails loudly without them.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use tinyops_compiler::docs::read_results;
use tinyops_compiler::driver::conformance::{run, summary_line, ConformanceOptions, Status};

#[test]
fn onnx_node_tests_do_not_regress() {
    let node = common::onnx_tests().join("node");
    let committed = read_results(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/conformance.tsv")).unwrap();
    let floor = committed.iter().filter(|c| c.status == Status::Pass).count();
    let r = run(&node, &ConformanceOptions::default()).unwrap();
    let (_, total) = r.tally();
    println!("{}", r.to_text());
    assert_eq!(total.cases, committed.len(), "the node folder and docs/conformance.tsv list different cases");
    let now: BTreeMap<&str, &tinyops_compiler::driver::conformance::CaseResult> =
        r.cases.iter().map(|c| (c.name.as_str(), c)).collect();
    let regressed: Vec<String> = committed
        .iter()
        .filter(|c| c.status == Status::Pass)
        .filter_map(|c| match now.get(c.name.as_str()) {
            Some(n) if n.status == Status::Pass => None,
            Some(n) => Some(format!("{}: {} ({})", c.name, n.status.word(), n.reason)),
            None => Some(format!("{}: missing", c.name)),
        })
        .collect();
    assert!(regressed.is_empty(), "cases that passed no longer pass:\n{}", regressed.join("\n"));
    let panics: Vec<&str> =
        r.cases.iter().filter(|c| c.reason.contains("tinyops bug")).map(|c| c.name.as_str()).collect();
    assert!(panics.is_empty(), "the compiler panicked on: {panics:?}");
    assert!(total.pass >= floor, "{} (the committed floor is {floor})", summary_line(&total));
}

/// The same cases through the JIT engine (`--engine jit`): exactly the cases that pass
/// in the committed results pass, and every other case keeps its status — the JIT runs
/// everything the Rust backend runs. Costs the compilation of every case again (about
/// half a minute) and no cargo build.
#[test]
fn onnx_node_tests_pass_the_same_in_the_jit() {
    use tinyops_compiler::driver::engine::EngineChoice;
    let node = common::onnx_tests().join("node");
    let committed = read_results(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/conformance.tsv")).unwrap();
    let opts = ConformanceOptions { engine: EngineChoice::Jit, quiet: true, ..ConformanceOptions::default() };
    let r = run(&node, &opts).unwrap();
    let (_, total) = r.tally();
    println!("{}", summary_line(&total));
    println!("seconds (compile, build, run): {:?}", r.seconds);
    let now: BTreeMap<&str, Status> = r.cases.iter().map(|c| (c.name.as_str(), c.status)).collect();
    let changed: Vec<String> = committed
        .iter()
        .filter(|c| now.get(c.name.as_str()) != Some(&c.status))
        .map(|c| {
            let n = r.cases.iter().find(|n| n.name == c.name);
            format!(
                "{}: {} in the results, {} in the JIT ({})",
                c.name,
                c.status.word(),
                n.map_or("missing", |n| n.status.word()),
                n.map_or("", |n| n.reason.as_str())
            )
        })
        .collect();
    assert!(changed.is_empty(), "cases whose status differs in the JIT:\n{}", changed.join("\n"));
}
