//! `include_model!` end to end: the demo model compiled at build time by the macro
//! run, and compared with onnxruntime's output.

mod demo {
    tinyops_macros::include_model!("../compiler/demo/model.onnx", target = "host");
}

/// Decodes the float payload of a raw-data `TensorProto` file (field 9, raw_data).
fn raw_floats(pb: &[u8]) -> Vec<f32> {
    let mut i = 0;
    while i < pb.len() {
        let key = pb[i];
        i += 1;
        let (field, wire) = (key >> 3, key & 7);
        let mut varint = || {
            let mut v = 0u64;
            let mut shift = 0;
            loop {
                let b = pb[i];
                i += 1;
                v |= ((b & 0x7f) as u64) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    return v;
                }
            }
        };
        match wire {
            0 => {
                varint();
            }
            2 => {
                let len = varint() as usize;
                if field == 9 {
                    return pb[i..i + len].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
                }
                i += len;
            }
            _ => panic!("unexpected wire type {wire}"),
        }
    }
    panic!("no raw_data")
}

#[test]
fn the_macro_compiles_the_demo_and_it_matches_onnxruntime() {
    let x = raw_floats(include_bytes!("../../compiler/demo/test_data_set_0/input_0.pb"));
    let want = raw_floats(include_bytes!("../../compiler/demo/test_data_set_0/output_0.pb"));
    let input: [f32; 256] = x.try_into().unwrap();
    let mut output = [0f32; 10];
    let mut arena = demo::Arena::new();
    demo::Model::new(&mut arena).run(&input, &mut output);
    for (g, w) in output.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-4 + 1e-4 * w.abs(), "{output:?} vs {want:?}");
    }
    assert_eq!(demo::ARENA_BYTES, demo::Model::ARENA_BYTES);
    const { assert!(demo::ARENA_BYTES > 0 && demo::ARENA_BYTES < 64 * 1024) };
    assert_eq!(demo::INPUT_SHAPES, &[&[1usize, 1, 16, 16][..]]);
    assert_eq!(demo::TARGET, "host");
    assert_eq!(demo::MODEL_SHA256.len(), 64);
}
