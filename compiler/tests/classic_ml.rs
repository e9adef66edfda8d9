//! scikit-learn models exported by skl2onnx (the ai.onnx.ml operators) against
//! onnxruntime: the fixtures (`tests/fixtures/sklearn_*`, written by
//! `make_sklearn.py`) are trees, forests, gradient boosting, linear and logistic
//! regression, SVMs, an MLP and pipelines with scalers and other preprocessors, each
//! with onnxruntime's outputs on 16 rows. Each compiles to no_std code that is built
//! and run: class labels must match exactly and every float output (probabilities,
//! regression values) within 1e-5.

use std::path::PathBuf;
use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::{compile, Options};

const ATOL: f64 = 1e-5;

/// Verifies fixture `name`, whose model must contain every op of `ops` (ai.onnx.ml
/// ones imported, checked by the IR op names they become).
fn case(name: &str, ir_ops: &[&str]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let r = verify(&dir, &VerifyOptions { quiet: true, ..Default::default() }).unwrap_or_else(|e| panic!("{name}: {e}"));
    print!("{}", r.to_text());
    let checks: Vec<_> = r.sets.iter().flat_map(|s| &s.checks).collect();
    assert!(!checks.is_empty(), "{name}: nothing compared");
    for c in &checks {
        match c.step_histogram {
            // Labels (int64): exact.
            Some(_) => assert_eq!(c.max_abs, 0.0, "{name}: {} differs: {c:?}", c.name),
            None => assert!(c.max_abs <= ATOL, "{name}: {} differs by {} (> {ATOL}): {c:?}", c.name, c.max_abs),
        }
    }
    let c = compile(&dir.join("model.onnx"), &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let ops: Vec<&str> = c.plan.order.iter().map(|&n| c.graph.node(n).op.name()).collect();
    for want in ir_ops {
        assert!(ops.contains(want), "{name}: expected a `{want}` node, schedule is {ops:?}");
    }
}

#[test]
fn decision_trees() {
    case("sklearn_decision_tree", &["tree_ensemble", "ml_classify"]);
    case("sklearn_decision_tree_regressor", &["tree_ensemble"]);
}

#[test]
fn random_forests_with_zipmap() {
    // The classifier ends in ZipMap (default options): its output is the probability tensor.
    case("sklearn_random_forest", &["tree_ensemble", "ml_classify"]);
    case("sklearn_random_forest_regressor", &["tree_ensemble"]);
}

#[test]
fn gradient_boosting() {
    case("sklearn_gradient_boosting", &["tree_ensemble", "ml_classify"]);
    case("sklearn_gradient_boosting_binary", &["tree_ensemble", "ml_classify"]);
    case("sklearn_gradient_boosting_regressor", &["tree_ensemble"]);
}

#[test]
fn linear_and_logistic_regression() {
    case("sklearn_linear_regression", &["gemm"]);
    case("sklearn_logistic_regression", &["gemm", "ml_classify"]);
    case("sklearn_logistic_regression_binary", &["gemm", "ml_classify"]);
}

#[test]
fn support_vector_machines() {
    case("sklearn_svc", &["svm_kernel", "gemm", "svm_classify"]);
    case("sklearn_svc_binary_linear", &["svm_kernel", "gemm", "svm_classify"]);
    case("sklearn_svr", &["svm_kernel", "gemm"]);
    case("sklearn_svr_poly", &["svm_kernel", "gemm"]);
}

#[test]
fn mlp_classifier() {
    case("sklearn_mlp", &["gemm"]);
}

#[test]
fn pipelines_with_preprocessors() {
    case("sklearn_scaler_logistic", &["gemm", "ml_classify"]);
    case("sklearn_imputer_normalizer_linear", &["where", "gemm"]);
    case("sklearn_binarizer_tree", &["tree_ensemble"]);
    case("sklearn_onehot_linear", &["gemm"]);
}
