//! Reproducible builds: every corpus model, copied into two folders with different
//! absolute paths and compiled once from inside its folder (a relative path) and once
//! from elsewhere (an absolute path), gives byte-identical crates — source, weight and
//! golden files, `Cargo.toml` — with the self-test's golden vectors from the reference
//! evaluator and from the model's data set. Paths, hash-map order and timestamps must
//! not leak into the output.
//!
//! Cost: compiling only (four compilations per corpus model, no cargo build), about a
//! minute.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tinyops_compiler::golden::GoldenSource;
use tinyops_compiler::{compile, Options};

fn files(dir: &Path, base: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, base, out);
        } else {
            out.insert(p.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

#[test]
fn every_corpus_model_compiles_to_the_same_bytes_from_two_folders() {
    let corpus = common::corpus();
    let mut ids: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").exists())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    ids.sort();
    assert!(ids.len() >= 30, "the corpus at {} has only {} models", corpus.display(), ids.len());
    let root = common::tempdir("reproducible");
    let here = std::env::current_dir().unwrap();
    for id in &ids {
        let a = root.join("a").join(id);
        let b = root.join("second-copy").join("deeper").join(id);
        copy_dir(&corpus.join(id), &a);
        copy_dir(&corpus.join(id), &b);
        let has_data = a.join("test_data_set_0").is_dir();
        for data in [false, true] {
            if data && !has_data {
                continue;
            }
            let mut out = vec![];
            for (k, dir) in [&a, &b].into_iter().enumerate() {
                let self_test = if data { GoldenSource::Data(dir.clone()) } else { GoldenSource::Reference };
                let opts =
                    Options { target: tinyops_targets::lookup("cortex-m4").unwrap(), self_test, ..Options::default() };
                // First from inside the folder with a relative path, then from elsewhere.
                let c = if k == 0 {
                    std::env::set_current_dir(dir).unwrap();
                    let c = compile(Path::new("model.onnx"), &opts);
                    std::env::set_current_dir(&here).unwrap();
                    c
                } else {
                    compile(&dir.join("model.onnx"), &opts)
                };
                let c = c.unwrap_or_else(|e| panic!("{id}: {e}"));
                let crate_dir = root.join(format!("out-{k}-{data}-{id}"));
                c.write_crate(&crate_dir, None).unwrap();
                let mut f = BTreeMap::new();
                files(&crate_dir, &crate_dir, &mut f);
                let _ = std::fs::remove_dir_all(&crate_dir);
                out.push(f);
            }
            assert_eq!(
                out[0].keys().collect::<Vec<_>>(),
                out[1].keys().collect::<Vec<_>>(),
                "{id} (golden from data: {data}): different files"
            );
            for (p, bytes) in &out[0] {
                assert!(bytes == &out[1][p], "{id} (golden from data: {data}): {} differs", p.display());
            }
        }
        let _ = std::fs::remove_dir_all(root.join("a").join(id));
        let _ = std::fs::remove_dir_all(root.join("second-copy").join("deeper").join(id));
    }
    let _ = std::fs::remove_dir_all(&root);
}
