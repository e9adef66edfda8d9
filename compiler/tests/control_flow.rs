//! Control flow where shapes stay static (If, Loop, Scan, FlexAttention's modifier
//! subgraphs), and the ops whose output sizes are fixed by constants (Compress with a
//! constant condition, TfIdfVectorizer): each compiled and run through the JIT against
//! hand-computed results; problems inside a body name the node inside it.

mod common;

use common::{Dim, ModelBuilder, A};
use tinyops_compiler::backend::jit::Engine;
use tinyops_compiler::ir::{Data, Tensor};
use tinyops_compiler::{compile, Options};

const I64: i32 = 7;
const BOOL: i32 = 9;

fn run(model: &std::path::Path, inputs: &[Tensor]) -> Vec<Tensor> {
    let c = compile(model, &Options::default()).unwrap();
    Engine::new(&c.jit_program().unwrap().0, c.target, false).unwrap().run(inputs).unwrap()
}

fn f32s(t: &Tensor) -> Vec<f32> {
    match &t.data {
        Data::F32(v) => v.clone(),
        d => panic!("expected f32, got {d:?}"),
    }
}

fn vec_f32(shape: Vec<usize>, v: Vec<f32>) -> Tensor {
    Tensor::new(shape, Data::F32(v)).unwrap()
}

/// A branch adding `k` to the outer `x`.
fn add_branch(k: f32) -> Box<onnx_protobuf::GraphProto> {
    ModelBuilder::new(13)
        .init("k", &Tensor::scalar(Data::F32(vec![k])))
        .output("y", &[Dim::N(2)])
        .node("Add", "add", &["x", "k"], &["y"], vec![])
        .into_graph("branch")
}

fn if_model(name: &str, cond: Option<bool>) -> std::path::PathBuf {
    let b = ModelBuilder::new(13).input("x", &[Dim::N(2)]);
    let b = match cond {
        Some(c) => b.init("c", &Tensor::scalar(Data::Bool(vec![c]))),
        None => b.input_typed("c", BOOL, &[]),
    };
    b.output("y", &[Dim::N(2)])
        .node(
            "If",
            "if",
            &["c"],
            &["y"],
            vec![("then_branch", A::G(add_branch(1.0))), ("else_branch", A::G(add_branch(-1.0)))],
        )
        .write(name)
}

#[test]
fn if_with_a_constant_condition_imports_the_taken_branch_only() {
    let m = if_model("cf-if-const", Some(false));
    let c = compile(&m, &Options::default()).unwrap();
    assert_eq!(c.graph.node_count(), 1, "one Add, no select");
    let out = run(&m, &[vec_f32(vec![2], vec![1.0, 2.0])]);
    assert_eq!(f32s(&out[0]), vec![0.0, 1.0]);
}

#[test]
fn if_with_a_run_time_condition_selects_between_both_branches() {
    let m = if_model("cf-if-runtime", None);
    let x = vec_f32(vec![2], vec![1.0, 2.0]);
    for (c, want) in [(true, [2.0, 3.0]), (false, [0.0, 1.0])] {
        let out = run(&m, &[x.clone(), Tensor::scalar(Data::Bool(vec![c]))]);
        assert_eq!(f32s(&out[0]), want, "condition {c}");
    }
}

#[test]
fn if_branches_of_different_shapes_need_a_constant_condition() {
    let short = ModelBuilder::new(13)
        .init("k", &Tensor::new(vec![3], Data::F32(vec![0.0; 3])).unwrap())
        .output("k", &[Dim::N(3)])
        .into_graph("short");
    let m = ModelBuilder::new(13)
        .input("x", &[Dim::N(2)])
        .input_typed("c", BOOL, &[])
        .output("y", &[Dim::N(2)])
        .node("If", "if", &["c"], &["y"], vec![("then_branch", A::G(add_branch(1.0))), ("else_branch", A::G(short))])
        .write("cf-if-shapes");
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("node `if` (If") && e.contains("different types"), "{e}");
}

/// Loop body: `s += x · i` (i the iteration number), and the new `s` as a scan output.
fn loop_model(name: &str, trip: Option<i64>) -> std::path::PathBuf {
    let body = ModelBuilder::new(13)
        .input_typed("i", I64, &[])
        .input_typed("c_in", BOOL, &[])
        .input("s", &[Dim::N(2)])
        .output_typed("c_in", BOOL, &[])
        .output("s_out", &[Dim::N(2)])
        .output("s_scan", &[Dim::N(2)])
        .node("Cast", "cast", &["i"], &["i_f"], vec![("to", A::I(1))])
        .node("Mul", "mul", &["x", "i_f"], &["xi"], vec![])
        .node("Add", "add", &["s", "xi"], &["s_out"], vec![])
        .node("Identity", "id", &["s_out"], &["s_scan"], vec![])
        .into_graph("body");
    let b = ModelBuilder::new(13).input("x", &[Dim::N(2)]).input("s0", &[Dim::N(2)]);
    let b = match trip {
        Some(m) => b.init("m", &Tensor::scalar(Data::I64(vec![m]))),
        None => b.input_typed("m", I64, &[]),
    };
    b.init("c", &Tensor::scalar(Data::Bool(vec![true])))
        .output("s", &[Dim::N(2)])
        .output("scan", &[Dim::N(3), Dim::N(2)])
        .node("Loop", "loop", &["m", "c", "s0"], &["s", "scan"], vec![("body", A::G(body))])
        .write(name)
}

#[test]
fn loop_with_a_constant_trip_count_unrolls() {
    let m = loop_model("cf-loop", Some(3));
    let out = run(&m, &[vec_f32(vec![2], vec![1.0, 10.0]), vec_f32(vec![2], vec![0.5, 0.5])]);
    // s after i = 0, 1, 2: s0, s0 + x, s0 + 3x.
    assert_eq!(f32s(&out[0]), vec![3.5, 30.5]);
    assert_eq!(out[1].shape, vec![3, 2]);
    assert_eq!(f32s(&out[1]), vec![0.5, 0.5, 1.5, 10.5, 3.5, 30.5]);
}

#[test]
fn loop_with_a_run_time_trip_count_is_refused_clearly() {
    let m = loop_model("cf-loop-runtime", None);
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("node `loop` (Loop") && e.contains("trip count (M) computed at run time"), "{e}");
}

#[test]
fn a_huge_trip_count_is_refused_not_unrolled() {
    let m = loop_model("cf-loop-huge", Some(1 << 40));
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("Loop of more than 4096 iterations"), "{e}");
}

#[test]
fn a_problem_inside_a_body_names_the_inner_node() {
    let body = ModelBuilder::new(13)
        .input_typed("i", I64, &[])
        .input_typed("c_in", BOOL, &[])
        .output_typed("c_in", BOOL, &[])
        .output("y", &[Dim::N(2)])
        .node("NoSuchOp", "inner", &["x"], &["y"], vec![])
        .into_graph("body");
    let m = ModelBuilder::new(13)
        .input("x", &[Dim::N(2)])
        .init("m", &Tensor::scalar(Data::I64(vec![2])))
        .output("scan", &[Dim::N(2), Dim::N(2)])
        .node("Loop", "loop", &["m", ""], &["scan"], vec![("body", A::G(body))])
        .write("cf-inner-error");
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("unsupported op `NoSuchOp` in node `loop/body/inner`"), "{e}");
}

#[test]
fn scan_unrolls_over_the_sequence_in_both_directions() {
    // State s += x_t; scan output: s after each step, the second one reversed.
    let body = ModelBuilder::new(13)
        .input("s", &[Dim::N(2)])
        .input("x_t", &[Dim::N(2)])
        .output("s_out", &[Dim::N(2)])
        .output("fwd", &[Dim::N(2)])
        .output("rev", &[Dim::N(2)])
        .node("Add", "add", &["s", "x_t"], &["s_out"], vec![])
        .node("Identity", "a", &["s_out"], &["fwd"], vec![])
        .node("Identity", "b", &["s_out"], &["rev"], vec![])
        .into_graph("body");
    let m = ModelBuilder::new(16)
        .input("s0", &[Dim::N(2)])
        .input("x", &[Dim::N(3), Dim::N(2)])
        .output("s", &[Dim::N(2)])
        .output("fwd", &[Dim::N(3), Dim::N(2)])
        .output("rev", &[Dim::N(2), Dim::N(3)])
        .node(
            "Scan",
            "scan",
            &["s0", "x"],
            &["s", "fwd", "rev"],
            vec![
                ("body", A::G(body)),
                ("num_scan_inputs", A::I(1)),
                ("scan_output_directions", A::Is(vec![0, 1])),
                ("scan_output_axes", A::Is(vec![0, 1])),
            ],
        )
        .write("cf-scan");
    let out = run(&m, &[vec_f32(vec![2], vec![0.0, 0.0]), vec_f32(vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]);
    assert_eq!(f32s(&out[0]), vec![9.0, 12.0]);
    assert_eq!(f32s(&out[1]), vec![1.0, 2.0, 4.0, 6.0, 9.0, 12.0]);
    // Reversed along axis 1: columns are the steps from last to first.
    assert_eq!(f32s(&out[2]), vec![9.0, 4.0, 1.0, 12.0, 6.0, 2.0]);
}

#[test]
fn compress_with_a_constant_condition_is_a_gather() {
    let m = ModelBuilder::new(11)
        .input("x", &[Dim::N(2), Dim::N(3)])
        .init("c", &Tensor::new(vec![3], Data::Bool(vec![true, false, true])).unwrap())
        .output("y", &[Dim::N(2), Dim::N(2)])
        .node("Compress", "cmp", &["x", "c"], &["y"], vec![("axis", A::I(1))])
        .write("cf-compress");
    let out = run(&m, &[vec_f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]);
    assert_eq!(f32s(&out[0]), vec![1.0, 3.0, 4.0, 6.0]);
    let m = ModelBuilder::new(11)
        .input("x", &[Dim::N(2), Dim::N(3)])
        .input_typed("c", BOOL, &[Dim::N(3)])
        .output("y", &[Dim::N(2), Dim::N(2)])
        .node("Compress", "cmp", &["x", "c"], &["y"], vec![("axis", A::I(1))])
        .write("cf-compress-runtime");
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("the condition (input 1) must be a constant"), "{e}");
}

#[test]
fn tfidf_counts_skip_grams_of_integer_tokens() {
    // Pool: unigrams [2], [3]; bigrams [2, 3], [3, 2]. Tokens 2 3 2 3, skips up to 1.
    let m = ModelBuilder::new(9)
        .input_typed("x", I64, &[Dim::N(4)])
        .output("y", &[Dim::N(4)])
        .node(
            "TfIdfVectorizer",
            "tfidf",
            &["x"],
            &["y"],
            vec![
                ("mode", A::S("TFIDF")),
                ("min_gram_length", A::I(1)),
                ("max_gram_length", A::I(2)),
                ("max_skip_count", A::I(1)),
                ("ngram_counts", A::Is(vec![0, 2])),
                ("ngram_indexes", A::Is(vec![0, 1, 2, 3])),
                ("pool_int64s", A::Is(vec![2, 3, 2, 3, 3, 2])),
                ("weights", A::Fs(vec![1.0, 1.0, 0.5, 2.0])),
            ],
        )
        .write("cf-tfidf");
    let out = run(&m, &[Tensor::i64_vec(vec![2, 3, 2, 3])]);
    // Unigrams: 2 twice, 3 twice. Bigrams at distance 1: (2,3) ×2, (3,2) ×1; at
    // distance 2: (2,2), (3,3): none of the pool's. Weighted: [2, 2, 1, 2].
    assert_eq!(f32s(&out[0]), vec![2.0, 2.0, 1.0, 2.0]);
}

#[test]
fn data_dependent_output_sizes_are_refused_with_the_reason() {
    let m = ModelBuilder::new(13)
        .input("x", &[Dim::N(4)])
        .output_typed("y", I64, &[Dim::N(1), Dim::Sym("n")])
        .node("NonZero", "nz", &["x"], &["y"], vec![])
        .write("cf-nonzero");
    let e = compile(&m, &Options::default()).unwrap_err().to_string();
    assert!(e.contains("output size depends on the data (the number of non-zero elements)"), "{e}");
}
