//! Documentation that is generated from code stays current: the README's
//! supported-operator table is rendered from the op registry. Set `TINYOPS_BLESS=1`
//! to rewrite it.

use std::path::PathBuf;
use tinyops_compiler::ops::registry::markdown_table;

#[test]
fn readme_operator_table_matches_the_registry() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- ops-table:start -->\n", "<!-- ops-table:end -->");
    let a = readme.find(start).expect("start marker") + start.len();
    let b = readme.find(end).expect("end marker");
    let table = markdown_table();
    if readme[a..b] != table {
        if std::env::var_os("TINYOPS_BLESS").is_some() {
            std::fs::write(&path, format!("{}{}{}", &readme[..a], table, &readme[b..])).unwrap();
        } else {
            panic!(
                "the README operator table is stale; run TINYOPS_BLESS=1 cargo test -p tinyops-compiler --test docs"
            );
        }
    }
}
