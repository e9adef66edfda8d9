//! Bad input is normal input: every malformed model gets a clear error naming what is
//! wrong and where, all problems at once, and never a panic.

mod common;

use common::{tempdir, Dim::*, ModelBuilder, A};
use onnx_protobuf::tensor_proto::DataLocation;
use onnx_protobuf::StringStringEntryProto;
use std::path::Path;
use tinyops_compiler::ir::Tensor;
use tinyops_compiler::{compile, Error, Options, Problem};

fn err(path: &Path) -> Error {
    compile(path, &Options::default()).expect_err("the model must be rejected")
}

fn relu_model() -> ModelBuilder {
    ModelBuilder::new(13).input("x", &[N(1), N(4)]).output("y", &[N(1), N(4)])
}

#[test]
fn every_unsupported_op_is_reported_at_once_with_op_node_domain_and_opset() {
    let p = relu_model()
        .node("Relu", "ok", &["x"], &["a"], vec![])
        .node("NonMaxSuppression", "nms_1", &["a"], &["b"], vec![])
        .node("FancyOp", "custom_2", &["b"], &["y"], vec![])
        .opset_import("com.example", 3)
        .write("unsupported");
    // Put the custom op in its domain.
    let mut m =
        <onnx_protobuf::ModelProto as onnx_protobuf::Message>::parse_from_bytes(&std::fs::read(&p).unwrap()).unwrap();
    m.graph.as_mut().unwrap().node[2].domain = "com.example".into();
    std::fs::write(&p, onnx_protobuf::Message::write_to_bytes(&m).unwrap()).unwrap();

    let e = err(&p);
    let problems = e.problems();
    assert_eq!(problems.len(), 2, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("2 problems"), "{msg}");
    assert!(
        msg.contains(
            "node `nms_1` (NonMaxSuppression, ai.onnx opset 13): unsupported: output size depends on the data"
        ),
        "{msg}"
    );
    assert!(msg.contains("unsupported op `FancyOp` in node `custom_2` (FancyOp, com.example opset 3)"), "{msg}");
}

#[test]
fn an_op_at_an_opset_it_does_not_know_names_the_supported_range() {
    let p = ModelBuilder::new(1)
        .input("x", &[N(1), N(4)])
        .output("y", &[N(1), N(4)])
        .node("Sub", "old_sub", &["x", "x"], &["y"], vec![])
        .write("old-opset");
    let msg = err(&p).to_string();
    assert!(
        msg.contains("unsupported op `Sub` in node `old_sub` (Sub, ai.onnx opset 1); tinyops supports Sub at opset 6–"),
        "{msg}"
    );
}

#[test]
fn a_truncated_file_is_malformed_not_a_panic() {
    let bytes = relu_model().node("Relu", "r", &["x"], &["y"], vec![]).bytes();
    let dir = tempdir("truncated");
    let p = dir.join("model.onnx");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    match err(&p) {
        Error::Malformed { detail, .. } => assert!(detail.contains("truncated"), "{detail}"),
        other => panic!("expected Malformed, got {other}"),
    }
}

#[test]
fn every_truncation_of_a_real_model_gives_an_error_and_never_panics() {
    let src = common::corpus().join("torch_lenet5/model.onnx");
    let bytes = std::fs::read(&src).unwrap();
    let dir = tempdir("truncations");
    let p = dir.join("model.onnx");
    let mut rejected = 0;
    for cut in (1..bytes.len()).step_by(997) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        let r = std::panic::catch_unwind(|| compile(&p, &Options::default()));
        assert!(r.is_ok(), "panic on a file cut at {cut} bytes");
        rejected += r.unwrap().is_err() as usize;
    }
    assert!(rejected > 200, "only {rejected} truncations were rejected");
}

#[test]
fn garbage_and_folders_are_clean_errors() {
    let dir = tempdir("garbage");
    let p = dir.join("model.onnx");
    std::fs::write(&p, b"\xff\xff\xff\xff not a protobuf at all").unwrap();
    assert!(matches!(err(&p), Error::Malformed { .. }));
    let msg = err(&dir).to_string();
    assert!(msg.contains("folder"), "{msg}");
    let missing = err(&dir.join("nope.onnx")).to_string();
    assert!(missing.contains("nope.onnx"), "{missing}");
}

#[test]
fn an_unpinned_dynamic_input_says_which_input_and_how_to_pin_it() {
    let build = || {
        ModelBuilder::new(13)
            .input("image", &[Sym("batch"), N(3), Sym("height"), N(8)])
            .output("y", &[Sym("batch"), N(3), Sym("height"), N(8)])
            .node("Relu", "r", &["image"], &["y"], vec![])
    };
    let p = build().write("dynamic");
    let e = err(&p);
    assert!(matches!(e.problems(), [Problem::DynamicInput { .. }]), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("input `image` has shape [batch, 3, height, 8]"), "{msg}");
    assert!(msg.contains("--input-shape image=1,3,1,8"), "{msg}");

    let mut opts = Options::default();
    opts.input_shapes.insert("image".into(), vec![2, 3, 5, 8]);
    let c = compile(&p, &opts).expect("pinned shape compiles");
    assert_eq!(c.graph.ty(c.graph.outputs()[0]).shape, vec![2, 3, 5, 8]);

    // Pins that contradict the model or name nothing are errors too.
    let mut bad = Options::default();
    bad.input_shapes.insert("image".into(), vec![2, 4, 5, 8]);
    bad.input_shapes.insert("imagee".into(), vec![1]);
    let e = compile(&p, &bad).unwrap_err();
    let msg = e.to_string();
    assert_eq!(e.problems().len(), 2, "{msg}");
    assert!(msg.contains("the model has no input `imagee`; its inputs are: image"), "{msg}");
    assert!(msg.contains("fixed dimension 1 = 3, but the pin says 4"), "{msg}");
}

fn external(name: &str, location: &str, n: usize) -> onnx_protobuf::TensorProto {
    let mut t = onnx_protobuf::TensorProto::new();
    t.name = name.into();
    t.dims = vec![n as i64];
    t.data_type = 1;
    t.data_location = DataLocation::EXTERNAL.into();
    let mut kv = StringStringEntryProto::new();
    kv.key = "location".into();
    kv.value = location.into();
    t.external_data.push(kv);
    t
}

fn add_model(t: onnx_protobuf::TensorProto) -> ModelBuilder {
    ModelBuilder::new(13).input("x", &[N(4)]).output("y", &[N(4)]).init_proto(t).node(
        "Add",
        "add",
        &["x", "w"],
        &["y"],
        vec![],
    )
}

#[test]
fn external_data_inside_the_folder_loads_and_outside_is_refused() {
    let p = add_model(external("w", "weights/w.bin", 4)).write("external-ok");
    let dir = p.parent().unwrap();
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("weights/w.bin"), &data).unwrap();
    let c = compile(&p, &Options::default()).expect("external data inside the folder");
    assert!(c.generated.weight_files.iter().any(|w| w.bytes == data));

    for loc in ["../outside.bin", "/etc/passwd", "weights/../../outside.bin"] {
        let p = add_model(external("w", loc, 4)).write("external-escape");
        let msg = err(&p).to_string();
        assert!(msg.contains("tensor `w`") && msg.contains("leaves the model's folder"), "{loc}: {msg}");
    }

    // A symbolic link inside the folder that points outside is refused as well.
    let p = add_model(external("w", "link.bin", 4)).write("external-symlink");
    let outside = tempdir("external-target").join("secret.bin");
    std::fs::write(&outside, &data).unwrap();
    std::os::unix::fs::symlink(&outside, p.parent().unwrap().join("link.bin")).unwrap();
    let msg = err(&p).to_string();
    assert!(msg.contains("outside the model's folder"), "{msg}");

    // Missing file and short file.
    let p = add_model(external("w", "missing.bin", 4)).write("external-missing");
    assert!(err(&p).to_string().contains("missing.bin"));
    let p = add_model(external("w", "short.bin", 4)).write("external-short");
    std::fs::write(p.parent().unwrap().join("short.bin"), [0u8; 8]).unwrap();
    assert!(err(&p).to_string().contains("past the end"));
}

#[test]
fn absurd_sizes_are_refused_before_allocating() {
    // An initializer claiming 2^40 elements.
    let mut t = onnx_protobuf::TensorProto::new();
    t.name = "huge".into();
    t.dims = vec![1 << 20, 1 << 20];
    t.data_type = 1;
    let p = ModelBuilder::new(13)
        .input("x", &[N(4)])
        .output("y", &[N(4)])
        .init_proto(t)
        .node("Relu", "r", &["x"], &["y"], vec![])
        .write("huge-init");
    let msg = err(&p).to_string();
    assert!(msg.contains("tensor `huge`") && msg.contains("MiB limit"), "{msg}");

    // A pinned input shape that is absurd.
    let p = ModelBuilder::new(13)
        .input("x", &[Sym("n")])
        .output("y", &[Sym("n")])
        .node("Relu", "r", &["x"], &["y"], vec![])
        .write("huge-pin");
    let mut opts = Options::default();
    opts.input_shapes.insert("x".into(), vec![1 << 40]);
    let msg = compile(&p, &opts).unwrap_err().to_string();
    assert!(msg.contains("`x` would have shape"), "{msg}");

    // An op whose output would be absurd (Expand to a huge shape).
    let p = ModelBuilder::new(13)
        .input("x", &[N(1)])
        .output("y", &[N(1 << 20), N(1 << 20)])
        .init("shape", &Tensor::i64_vec(vec![1 << 20, 1 << 20]))
        .node("Expand", "blow_up", &["x", "shape"], &["y"], vec![])
        .write("huge-expand");
    let msg = err(&p).to_string();
    assert!(msg.contains("node `blow_up` (Expand, ai.onnx opset 13)") && msg.contains("limit"), "{msg}");
}

#[test]
fn inconsistent_nodes_name_the_node_and_the_reason() {
    let p = ModelBuilder::new(13)
        .input("x", &[N(1), N(3), N(8), N(8)])
        .output("y", &[N(1), N(4), N(6), N(6)])
        .init("w", &Tensor::f32(vec![4, 2, 3, 3], vec![0.0; 72]))
        .node("Conv", "conv_bad", &["x", "w"], &["y"], vec![])
        .write("bad-conv");
    let msg = err(&p).to_string();
    assert!(msg.contains("node `conv_bad` (Conv, ai.onnx opset 13)"), "{msg}");
    assert!(msg.contains("input has 3 channels"), "{msg}");

    let p = ModelBuilder::new(13)
        .input("x", &[N(2)])
        .output("y", &[N(2)])
        .node("Relu", "r", &["nothing"], &["y"], vec![])
        .write("undefined");
    let msg = err(&p).to_string();
    assert!(msg.contains("reads `nothing`, which nothing defines"), "{msg}");

    let p = ModelBuilder::new(13)
        .input("x", &[N(2)])
        .output("y", &[N(2)])
        .node("Add", "a", &["x", "z"], &["y"], vec![])
        .node("Relu", "b", &["y"], &["z"], vec![])
        .write("cycle");
    assert!(err(&p).to_string().contains("cycle"));

    let p = ModelBuilder::new(13)
        .input("x", &[N(1), N(4)])
        .output("y", &[N(1), N(4)])
        .node("Softmax", "sm", &["x"], &["y"], vec![("axis", A::I(5))])
        .write("bad-axis");
    assert!(err(&p).to_string().contains("axis 5 is out of range for rank 2"));
}

#[test]
fn the_cli_prints_the_error_and_exits_2() {
    let p = relu_model().node("Unique", "unique_3", &["x"], &["y"], vec![]).write("cli");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinyops")).arg("inspect").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("node `unique_3` (Unique, ai.onnx opset 13): unsupported: output size depends"),
        "{stderr}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tinyops"))
        .args(["inspect", "--target", "cortex-m7"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target `cortex-m7`; known targets are: host,"));
}

#[test]
fn unsupported_element_types_name_the_tensor_and_the_type() {
    let mut t = onnx_protobuf::TensorProto::new();
    t.name = "complex_weights".into();
    t.dims = vec![4];
    t.data_type = 14; // COMPLEX64
    t.raw_data = vec![0; 32];
    let p = add_model(t).write("complex");
    let e = err(&p);
    assert!(matches!(e.problems(), [Problem::UnsupportedType { .. }]), "{e}");
    assert!(
        e.to_string().contains("`complex_weights` has element type COMPLEX64, which tinyops does not support"),
        "{e}"
    );
}

#[test]
fn declared_types_that_disagree_with_inference_are_reported() {
    let mut bytes =
        relu_model().node("Relu", "r", &["x"], &["h"], vec![]).node("Relu", "r2", &["h"], &["y"], vec![]).bytes();
    let mut m = <onnx_protobuf::ModelProto as onnx_protobuf::Message>::parse_from_bytes(&bytes).unwrap();
    let g = m.graph.as_mut().unwrap();
    let mut stale = g.output[0].clone();
    stale.name = "h".into();
    if let Some(onnx_protobuf::type_proto::Value::TensorType(t)) = stale.type_.as_mut().unwrap().value.as_mut() {
        t.shape.as_mut().unwrap().dim[1].set_dim_value(5);
    }
    g.value_info.push(stale);
    g.output[0].type_.as_mut().unwrap().value = None;
    bytes = onnx_protobuf::Message::write_to_bytes(&m).unwrap();
    let dir = tempdir("value-info");
    std::fs::write(dir.join("model.onnx"), bytes).unwrap();
    let msg = err(&dir.join("model.onnx")).to_string();
    assert!(msg.contains("value `h` is declared with shape [1, 5] but computes f32[1,4]"), "{msg}");
}
