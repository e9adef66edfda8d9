//! `include_model!` on a microcontroller: the tinyops demo model (a 10-class CNN on a
//! 16×16 input, `compiler/demo`) is compiled into this firmware while it builds, with
//! budgets for its RAM (the arena) and flash (the weights). The firmware runs it once
//! on the demo's reference input, prints the predicted class over semihosting, compares
//! it with onnxruntime's (the reference output beside the input), then runs the
//! module's `self_test()` (its embedded golden input, checked against the outputs
//! expected at compile time) and prints the result with the manifest hash. It exits
//! with status 0 when the class matches and the self-test passes, 1 when not.
//!
//! Run from this folder: `RUSTC_BOOTSTRAP=1 cargo run --release` (QEMU mps2-an386).

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use semihosting::println;

mod demo {
    // A model over a budget is a compile error saying by how much and what dominates.
    tinyops_macros::include_model!(
        "../../../compiler/demo/model.onnx",
        target = "cortex-m4",
        max_ram = 12_288,
        max_flash = 4_096,
    );
}

/// The demo's reference data set, embedded from the repository: ONNX `TensorProto`
/// files whose last field is `raw_data` (the little-endian floats).
const INPUT_PB: &[u8] = include_bytes!("../../../../compiler/demo/test_data_set_0/input_0.pb");
const OUTPUT_PB: &[u8] = include_bytes!("../../../../compiler/demo/test_data_set_0/output_0.pb");

/// The input, decoded at compile time.
static INPUT: [f32; 256] = raw_floats(INPUT_PB);
/// onnxruntime's output for it (class probabilities).
const REFERENCE: [f32; 10] = raw_floats(OUTPUT_PB);

/// The `N` floats of a `TensorProto` whose last field is `raw_data` of `4·N` bytes.
/// Evaluated at compile time: a file of another layout stops the build.
const fn raw_floats<const N: usize>(pb: &[u8]) -> [f32; N] {
    // The field's key (number 9, length-delimited) and its length as a varint.
    let mut head = [0u8; 6];
    head[0] = 9 << 3 | 2;
    let (mut len, mut n) = (N * 4, 1);
    while len >= 0x80 {
        head[n] = (len & 0x7f) as u8 | 0x80;
        len >>= 7;
        n += 1;
    }
    head[n] = len as u8;
    n += 1;
    assert!(pb.len() >= N * 4 + n, "the tensor file is too short");
    let start = pb.len() - N * 4;
    let mut i = 0;
    while i < n {
        assert!(pb[start - n + i] == head[i], "the tensor file does not end with raw_data of the expected size");
        i += 1;
    }
    let mut out = [0f32; N];
    let mut k = 0;
    while k < N {
        let b = start + 4 * k;
        out[k] = f32::from_le_bytes([pb[b], pb[b + 1], pb[b + 2], pb[b + 3]]);
        k += 1;
    }
    out
}

/// The index of the largest value (the first, on ties).
fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if values.get(best).is_some_and(|b| v > b) {
            best = i;
        }
    }
    best
}

#[entry]
fn main() -> ! {
    let mut arena = demo::Arena::new();
    let mut model = demo::Model::new(&mut arena);
    let mut probabilities = [0f32; 10];
    model.run(&INPUT, &mut probabilities);

    let class = argmax(&probabilities);
    let reference = argmax(&REFERENCE);
    let max_error = probabilities.iter().zip(&REFERENCE).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    println!(
        "tinyops demo model on {}: arena {} B (budget 12288), weights {} B (budget 4096), {} MACs",
        demo::TARGET,
        demo::ARENA_BYTES,
        demo::WEIGHT_BYTES,
        demo::MACS
    );
    println!("probabilities: {probabilities:.4?}");
    println!("predicted class: {class}");
    println!("reference class: {reference} (onnxruntime), max abs difference {max_error:.1e}");
    println!("manifest {}", demo::MANIFEST_SHA256);
    let self_test = model.self_test();
    println!("{self_test}");
    if class == reference && self_test.passed() {
        println!("match");
        semihosting::process::exit(0)
    } else {
        println!("MISMATCH");
        semihosting::process::exit(1)
    }
}
