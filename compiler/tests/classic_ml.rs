//! scikit-learn models exported by skl2onnx (the ai.onnx.ml operators) against
//! onnxruntime: the fixtures (`tests/fixtures/sklearn_*`, written by
//! `make_sklearn.py`) are trees, forests, gradient boosting, linear and logistic
//! regression, SVMs, an MLP and pipelines with scalers and other preprocessors, and a
//! few hand-written ai.onnx.ml models (`onnx_*`: TreeEnsemble's aggregates and
//! transforms, a numeric LabelEncoder), each with onnxruntime's outputs on 16 rows. Each compiles to no_std code that is built
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
    let r =
        verify(&dir, &VerifyOptions { quiet: true, ..Default::default() }).unwrap_or_else(|e| panic!("{name}: {e}"));
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
    // Without probabilities: the votes, and skl2onnx's decision-function graph after them.
    case("sklearn_svc_votes", &["svm_kernel", "gemm", "svm_classify"]);
    case("sklearn_svr", &["svm_kernel", "gemm"]);
    case("sklearn_svr_poly", &["svm_kernel", "gemm"]);
}

#[test]
fn mlp_classifier() {
    case("sklearn_mlp", &["matmul", "softmax", "gather_indexed"]);
}

#[test]
fn pipelines_with_preprocessors() {
    case("sklearn_scaler_logistic", &["gemm", "ml_classify"]);
    case("sklearn_imputer_normalizer_linear", &["where", "gemm"]);
    case("sklearn_binarizer_tree", &["tree_ensemble"]);
    case("sklearn_onehot_linear", &["gemm"]);
}

/// Hand-written models (`onnx_*`) for what skl2onnx does not emit.
#[test]
fn tree_ensemble_aggregates_modes_and_missing_values() {
    // Two trees with every comparison, a membership set and missing-value tracks;
    // NaN inputs.
    case("onnx_tree_ensemble_average", &["tree_ensemble"]);
    case("onnx_tree_ensemble_min_softmax_zero", &["tree_ensemble", "ml_transform"]);
    case("onnx_tree_ensemble_max", &["tree_ensemble"]);
}

#[test]
fn numeric_label_encoder() {
    case("onnx_label_encoder", &["gather_indexed", "where"]);
}

mod common;
use common::{Dim, ModelBuilder, A};

const ML: &str = "ai.onnx.ml";

fn compile_error(path: &std::path::Path) -> String {
    match compile(path, &Options::default()) {
        Ok(_) => panic!("{} compiled", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn string_tensors_are_refused_naming_node_op_and_opset() {
    // A string input read by LabelEncoder.
    let m = ModelBuilder::new(17)
        .opset_import(ML, 2)
        .input_typed("X", 8, &[Dim::N(3)])
        .output("Y", &[Dim::N(3)])
        .node(
            "LabelEncoder",
            "enc",
            &["X"],
            &["Y"],
            vec![("keys_strings", A::Ss(vec!["a", "b"])), ("values_int64s", A::Is(vec![1, 2]))],
        )
        .domain(ML)
        .write("ml-string-input");
    let e = compile_error(&m);
    assert!(e.contains("node `enc` (LabelEncoder, ai.onnx.ml opset 2): unsupported: string tensors"), "{e}");
    // String class labels of a classifier over numbers.
    let m = ModelBuilder::new(17)
        .opset_import(ML, 1)
        .input("X", &[Dim::N(2), Dim::N(2)])
        .output("label", &[Dim::N(2)])
        .output("p", &[Dim::N(2), Dim::N(2)])
        .node(
            "LinearClassifier",
            "lin",
            &["X"],
            &["label", "p"],
            vec![
                ("classlabels_strings", A::Ss(vec!["no", "yes"])),
                ("coefficients", A::Fs(vec![1.0, 2.0, 3.0, 4.0])),
                ("intercepts", A::Fs(vec![0.0, 0.0])),
            ],
        )
        .domain(ML)
        .write("ml-string-labels");
    let e = compile_error(&m);
    assert!(e.contains("node `lin` (LinearClassifier, ai.onnx.ml opset 1): unsupported: string tensors"), "{e}");
}

fn stump(ml_opset: i64, yes: i64) -> std::path::PathBuf {
    ModelBuilder::new(17)
        .opset_import(ML, ml_opset)
        .input("X", &[Dim::N(2), Dim::N(1)])
        .output("Y", &[Dim::N(2), Dim::N(1)])
        .node(
            "TreeEnsembleRegressor",
            "trees",
            &["X"],
            &["Y"],
            vec![
                ("nodes_treeids", A::Is(vec![0, 0, 0])),
                ("nodes_nodeids", A::Is(vec![0, 1, 2])),
                ("nodes_featureids", A::Is(vec![0, 0, 0])),
                ("nodes_modes", A::Ss(vec!["BRANCH_LEQ", "BRANCH_LEQ", "LEAF"])),
                ("nodes_values", A::Fs(vec![0.5, 0.5, 0.0])),
                ("nodes_truenodeids", A::Is(vec![1, yes, 0])),
                ("nodes_falsenodeids", A::Is(vec![2, 2, 0])),
                ("target_treeids", A::Is(vec![0])),
                ("target_nodeids", A::Is(vec![2])),
                ("target_ids", A::Is(vec![0])),
                ("target_weights", A::Fs(vec![1.0])),
            ],
        )
        .domain(ML)
        .write(&format!("ml-stump-{ml_opset}-{yes}"))
}

#[test]
fn the_ml_opset_is_checked_per_op() {
    compile(&stump(3, 2), &Options::default()).expect("TreeEnsembleRegressor at ai.onnx.ml 3");
    // ai.onnx.ml 5 replaced it by TreeEnsemble.
    let e = compile_error(&stump(5, 2));
    assert!(e.contains("TreeEnsembleRegressor") && e.contains("1–4"), "{e}");
}

#[test]
fn a_tree_with_a_cycle_is_an_error_not_a_hang() {
    // Node 1's true child is node 1 itself.
    let e = compile_error(&stump(3, 1));
    assert!(e.contains("cycle"), "{e}");
}
