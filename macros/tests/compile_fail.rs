//! `include_model!` errors as users see them: every case under `tests/ui/` is compiled
//! by trybuild and its compiler output compared with the `.stderr` file beside it
//! (`TRYBUILD=overwrite cargo test -p tinyops-macros --test compile_fail` rewrites
//! them). One case must build and run: a model within its budgets.

#[test]
fn include_model_errors_read_well() {
    // trybuild compiles the cases in a copy of this crate under target/; relative model
    // paths must still resolve against this crate.
    std::env::set_var("TINYOPS_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/missing_model.rs");
    t.compile_fail("tests/ui/unsupported_op.rs");
    t.compile_fail("tests/ui/unpinned_input.rs");
    t.compile_fail("tests/ui/over_ram.rs");
    t.compile_fail("tests/ui/over_flash.rs");
    t.compile_fail("tests/ui/budget_not_a_number.rs");
    t.pass("tests/ui/within_budget.rs");
}
