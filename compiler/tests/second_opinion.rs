//! Generated code against the reference evaluator (the compiler's own interpreter of
//! the optimised IR) on inputs the corpus does not have: random, seeded. Integer
//! models must agree bit for bit; float models within rounding.

mod common;

use tinyops_compiler::driver::verify::{build_harness, run_harness};
use tinyops_compiler::ir::{DType, Data, Tensor};
use tinyops_compiler::{compile, eval, Options};

/// xorshift: deterministic pseudo-random inputs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn random_input(dtype: DType, shape: &[usize], rng: &mut Rng) -> Tensor {
    let n: usize = shape.iter().product();
    let data = match dtype {
        DType::F32 => Data::F32((0..n).map(|_| (rng.next() % 20001) as f32 / 10000.0 - 1.0).collect()),
        DType::I8 => Data::I8((0..n).map(|_| rng.next() as u8 as i8).collect()),
        DType::U8 => Data::U8((0..n).map(|_| rng.next() as u8).collect()),
        other => panic!("no random inputs for {other}"),
    };
    Tensor { shape: shape.to_vec(), data }
}

fn agree(id: &str, sets: usize) {
    let path = common::corpus().join(id).join("model.onnx");
    let c = compile(&path, &Options::default()).unwrap();
    let exe = build_harness(&c, true).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let inputs: Vec<Vec<Tensor>> = (0..sets)
        .map(|_| {
            c.graph
                .inputs()
                .iter()
                .map(|&v| random_input(c.graph.ty(v).dtype, &c.graph.ty(v).shape, &mut rng))
                .collect()
        })
        .collect();
    let refs: Vec<&[Tensor]> = inputs.iter().map(Vec::as_slice).collect();
    let got = run_harness(&exe, &c, &refs).unwrap();
    for (set, (ins, outs)) in inputs.iter().zip(&got).enumerate() {
        let want = eval::run(&c.graph, ins).unwrap();
        for (k, (a, b)) in outs.iter().zip(&want).enumerate() {
            assert_eq!(a.dtype(), b.dtype());
            match (&a.data, &b.data) {
                (Data::F32(x), Data::F32(y)) => {
                    for (i, (p, q)) in x.iter().zip(y).enumerate() {
                        assert!((p - q).abs() <= 1e-4 + 1e-4 * q.abs(), "{id} set {set} output {k}[{i}]: {p} vs {q}");
                    }
                }
                _ => assert_eq!(a.data, b.data, "{id} set {set} output {k}: generated code and evaluator differ"),
            }
        }
    }
}

#[test]
fn int8_models_agree_bit_for_bit_on_random_inputs() {
    for id in ["mlperf_kws_dscnn_int8", "mlperf_ic_resnet8_int8", "mlperf_ad_autoencoder_int8", "mlperf_sww_int8"] {
        agree(id, 4);
    }
}

#[test]
fn onnxruntime_quantised_models_agree_on_random_inputs() {
    // Float in and out around integer kernels: quantisation of the input and the
    // integer path must agree exactly, so outputs agree to the last bit too.
    for id in ["torch_lenet5_ortq_qop", "torch_kws_conv1d_ortq_qdq", "torch_mlp_ortq_qdq"] {
        agree(id, 4);
    }
}

#[test]
fn float_models_agree_on_random_inputs() {
    for id in ["torch_lenet5", "torch_lstm_kws", "mlperf_kws_dscnn_fp32"] {
        agree(id, 2);
    }
}
