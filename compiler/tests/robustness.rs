//! Bad input never panics: every registered op, given operands of every rank from 0 to
//! 4 and several element types, as run-time inputs or constants, must compile or fail
//! with an error — never panic, never hang.

mod common;

use onnx_protobuf::{GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto, ValueInfoProto};
use tinyops_compiler::front::tensor::encode;
use tinyops_compiler::ir::{Data, Tensor};
use tinyops_compiler::ops::registry::OPS;
use tinyops_compiler::{compile, Options};

fn vi(name: &str, elem: i32, dims: &[i64]) -> ValueInfoProto {
    let dims: Vec<common::Dim> = dims.iter().map(|&d| common::Dim::N(d)).collect();
    common::value_info(name, elem, &dims)
}

/// One model: `op` with `n_inputs` operands of shape `dims`; operands after the first
/// are constants when `constants` is set.
fn model(domain: &str, op: &str, n_inputs: usize, dims: &[i64], elem: i32, constants: bool) -> Vec<u8> {
    let mut g = GraphProto::new();
    let mut node = NodeProto::new();
    node.op_type = op.into();
    node.domain = domain.into();
    node.name = "n".into();
    for i in 0..n_inputs {
        let name = format!("x{i}");
        node.input.push(name.clone());
        if i > 0 && constants {
            let n: i64 = dims.iter().product();
            let data = match elem {
                1 => Data::F32((0..n).map(|v| v as f32 * 0.5 - 1.0).collect()),
                3 => Data::I8((0..n).map(|v| v as i8).collect()),
                6 => Data::I32((0..n).map(|v| v as i32).collect()),
                _ => Data::I64((0..n).map(|v| v % 3).collect()),
            };
            let t = Tensor::new(dims.iter().map(|&d| d as usize).collect(), data).unwrap();
            g.initializer.push(encode(&name, &t));
        } else {
            g.input.push(vi(&name, elem, dims));
        }
    }
    node.output.push("y".into());
    g.node.push(node);
    g.output.push(vi("y", elem, &[]));
    let mut m = ModelProto::new();
    m.ir_version = 8;
    for (d, v) in [("", 17), ("com.microsoft", 1), ("ai.onnx.ml", 3)] {
        let mut o = OperatorSetIdProto::new();
        o.domain = d.into();
        o.version = v;
        m.opset_import.push(o);
    }
    m.graph = Some(g).into();
    m.write_to_bytes().unwrap()
}

#[test]
fn no_op_panics_on_odd_ranks_types_or_constants() {
    let dir = common::tempdir("robustness");
    let path = dir.join("model.onnx");
    let shapes: [&[i64]; 5] = [&[], &[3], &[2, 3], &[1, 2, 3], &[1, 2, 3, 4]];
    let mut runs = 0;
    let mut compiled = 0;
    let mut panics = vec![];
    std::panic::set_hook(Box::new(|_| {}));
    for e in OPS {
        let domain = if e.domain == "ai.onnx" { "" } else { e.domain };
        for n_inputs in [1, 2, 3, 5, 9] {
            for dims in shapes {
                for elem in [1, 3, 7] {
                    for constants in [false, true] {
                        std::fs::write(&path, model(domain, e.op_type, n_inputs, dims, elem, constants)).unwrap();
                        let r = std::panic::catch_unwind(|| compile(&path, &Options::default()));
                        let what = format!(
                            "{} with {n_inputs} inputs of shape {dims:?}, type {elem}, constants {constants}",
                            e.op_type
                        );
                        match r {
                            Ok(r) => compiled += r.is_ok() as usize,
                            Err(_) => panics.push(what),
                        }
                        runs += 1;
                    }
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
    assert_eq!(runs, OPS.len() * 5 * 5 * 3 * 2);
    assert!(compiled > 100, "only {compiled} of {runs} models compiled: the test is not reaching code generation");
}

#[test]
fn hostile_attribute_values_are_errors_not_panics() {
    use onnx_protobuf::attribute_proto::AttributeType;
    use onnx_protobuf::AttributeProto;
    let dir = common::tempdir("robustness-attrs");
    let path = dir.join("model.onnx");
    let big = 1i64 << 40;
    let ints = |name: &str, v: Vec<i64>| {
        let mut a = AttributeProto::new();
        a.name = name.into();
        a.type_ = AttributeType::INTS.into();
        a.ints = v;
        a
    };
    let int = |name: &str, v: i64| {
        let mut a = AttributeProto::new();
        a.name = name.into();
        a.type_ = AttributeType::INT.into();
        a.i = v;
        a
    };
    let hostile: Vec<AttributeProto> = vec![
        ints("kernel_shape", vec![0, 0]),
        ints("kernel_shape", vec![-3, big]),
        ints("strides", vec![0, 0]),
        ints("strides", vec![big, big]),
        ints("dilations", vec![big, 1]),
        ints("pads", vec![-1, -1, -1, -1]),
        ints("pads", vec![big, big, big, big]),
        ints("perm", vec![5, 5, 5, 5]),
        ints("axes", vec![big]),
        int("group", 0),
        int("group", -4),
        int("axis", big),
        int("axis", -big),
        int("hidden_size", -3),
        int("hidden_size", big),
        int("to", 999),
        int("ceil_mode", 1),
        int("blocksize", big),
    ];
    let mut panics = vec![];
    std::panic::set_hook(Box::new(|_| {}));
    for e in OPS {
        let domain = if e.domain == "ai.onnx" { "" } else { e.domain };
        for attr in &hostile {
            for n_inputs in [1, 2, 3] {
                let bytes = model(domain, e.op_type, n_inputs, &[1, 2, 5, 5], 1, true);
                let mut m = ModelProto::parse_from_bytes(&bytes).unwrap();
                m.graph.as_mut().unwrap().node[0].attribute.push(attr.clone());
                std::fs::write(&path, m.write_to_bytes().unwrap()).unwrap();
                if std::panic::catch_unwind(|| compile(&path, &Options::default())).is_err() {
                    panics.push(format!("{} with {} {:?} {}", e.op_type, attr.name, attr.ints, attr.i));
                }
            }
        }
    }
    let _ = std::panic::take_hook();
    assert!(panics.is_empty(), "{} panics:\n{}", panics.len(), panics.join("\n"));
}
