//! The JIT engine: its cranelift IR for a small model (snapshot), its refusals, and
//! `verify --engine both` on every corpus model — the Rust backend's harness (cached
//! by the corpus suite, which runs the same compilation) against the JIT, integer
//! outputs identical bit for bit, floats within 4 ULP or 1e-6 absolute.
//!
//! Cost: the JIT side compiles each model with cranelift in well under a second; the
//! Rust side reuses the corpus suite's harness builds (a no-op cargo call per model
//! when that suite ran first in the same cache), so the suite adds about a minute.

mod common;

use std::path::PathBuf;
use tinyops_compiler::backend::jit::Engine;
use tinyops_compiler::driver::engine::EngineChoice;
use tinyops_compiler::driver::verify::{verify, VerifyOptions};
use tinyops_compiler::ir::DType;
use tinyops_compiler::lower::{Overlap, Place};
use tinyops_compiler::{compile, Options};

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo/model.onnx")
}

#[test]
fn demo_cranelift_ir() {
    let c = compile(&demo(), &Options::default()).unwrap();
    // The demo streams `conv1` into `depthwise`, which the JIT does not run: it runs
    // the same graph planned without streaming.
    assert!(!c.plan.streams.is_empty());
    let (program, own_arena) = c.jit_program().unwrap();
    assert!(own_arena.is_some_and(|a| a > c.plan.arena_bytes), "{own_arena:?}");
    let e = Engine::new(&program, c.target, false).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!("demo.jit.clif", e.ir()));
    // The IR is a function of the program alone.
    let again = compile(&demo(), &Options::default()).unwrap();
    let again = Engine::new(&again.jit_program().unwrap().0, c.target, false).unwrap();
    assert_eq!(e.ir(), again.ir());
}

#[test]
fn avx2_kernels_are_refused_by_name() {
    let t = tinyops_targets::lookup("x86-64-v3").unwrap();
    let c = compile(&common::corpus().join("torch_lenet5/model.onnx"), &Options { target: t, ..Options::default() })
        .unwrap();
    let avx2 = c.program.steps.iter().flat_map(|s| &s.calls).filter(|k| k.isa.module() == "x86_avx2").count();
    assert!(avx2 > 0, "the x86-64-v3 target selects AVX2 kernels for LeNet-5");
    let err = Engine::new(&c.program, c.target, false).unwrap_err().to_string();
    assert!(err.contains(&format!("cannot run {avx2} kernel call")), "{err}");
    assert!(err.contains("x86_avx2::conv2d_f32"), "{err}");
    assert!(err.contains("node `"), "{err}");
}

#[test]
fn bare_metal_targets_are_refused() {
    let t = tinyops_targets::lookup("cortex-m4").unwrap();
    let c = compile(&demo(), &Options { target: t, ..Options::default() }).unwrap();
    let err = Engine::new(&c.program, c.target, false).unwrap_err().to_string();
    assert!(err.contains("cortex-m4") && err.contains("bare-metal"), "{err}");
}

#[test]
fn observed_runs_report_every_step() {
    let c = compile(&demo(), &Options::default()).unwrap();
    let g = &c.graph;
    let inputs: Vec<_> = g
        .inputs()
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let data: Vec<f32> = (0..ty.numel()).map(|i| ((i * 7919) % 200) as f32 / 100.0 - 1.0).collect();
            tinyops_compiler::ir::Tensor { shape: ty.shape.clone(), data: tinyops_compiler::ir::Data::F32(data) }
        })
        .collect();
    let (program, _) = c.jit_program().unwrap();
    let mut plain = Engine::new(&program, c.target, false).unwrap();
    let mut seen = Engine::new(&program, c.target, true).unwrap();
    let a = plain.run(&inputs).unwrap();
    let (b, steps) = seen.run_observed(&inputs).unwrap();
    assert_eq!(steps.len(), program.steps.len());
    assert_eq!(a[0].data.to_le_bytes(), b[0].data.to_le_bytes());
    // The reference evaluator agrees with the JIT on the demo model.
    let want = tinyops_compiler::eval::run(g, &inputs).unwrap();
    for (x, y) in a[0].data.to_le_bytes().chunks(4).zip(want[0].data.to_le_bytes().chunks(4)) {
        let (x, y) = (f32::from_le_bytes(x.try_into().unwrap()), f32::from_le_bytes(y.try_into().unwrap()));
        assert!((x - y).abs() <= 1e-4 + 1e-4 * y.abs(), "{x} vs {y}");
    }
}

/// Host int8 models run convolutions and additions over their dead inputs: the JIT
/// calls them through the runtime's in-place entries over one buffer (the corpus
/// comparison below checks their results against the Rust backend's), and refuses an
/// in-place call whose other operands reach into the overlapped span.
#[test]
fn in_place_calls_go_through_the_in_place_entries() {
    let c = compile(&common::corpus().join("mlperf_ic_resnet8_int8/model.onnx"), &Options::default()).unwrap();
    // ResNet-8 streams its first residual block, which the JIT does not run: it runs
    // the same graph planned without streaming.
    let (program, own_arena) = c.jit_program().unwrap();
    assert!(own_arena.is_some_and(|a| a > c.plan.arena_bytes), "{own_arena:?} vs {}", c.plan.arena_bytes);
    let refused = Engine::new(&c.program, c.target, false).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(refused.contains("row-streamed group"), "{refused}");
    let calls = || program.steps.iter().flat_map(|s| &s.calls);
    let of = |o: Overlap| calls().filter(|k| k.in_place.is_some_and(|ip| ip.overlap == o)).count();
    let (rows, elementwise) = (of(Overlap::ConvRows), of(Overlap::Elementwise));
    assert!(
        rows > 0 && elementwise > 0,
        "ResNet-8 int8 on the host: {rows} convolutions and {elementwise} additions in place"
    );
    let e = Engine::new(&program, c.target, false).unwrap();
    assert!(e.ir().contains("inplace::conv_rows(portable::conv2d_q8<i8,i8,i8>)"), "{}", e.ir());
    assert!(e.ir().contains("inplace::elementwise(portable::add_q8<"), "{}", e.ir());

    // The same program with a convolution's accumulator moved into its in-place span.
    let mut bad = program.into_owned();
    let (s, k) = bad
        .steps
        .iter()
        .enumerate()
        .find_map(|(s, st)| {
            st.calls.iter().position(|k| k.in_place.is_some_and(|ip| ip.overlap == Overlap::ConvRows)).map(|k| (s, k))
        })
        .unwrap();
    let call = &mut bad.steps[s].calls[k];
    let ip = call.in_place.unwrap();
    let (lo, _) = ip.span(call).unwrap();
    let acc = call.writes.iter().position(|o| o.dtype == DType::I32).unwrap();
    call.writes[acc].place = Place::Arena { offset: lo };
    let err = Engine::new(&bad, c.target, false).unwrap_err().to_string();
    assert!(err.contains("overlaps the in-place span") && err.contains(&bad.steps[s].node), "{err}");
}

fn both(id: &str) {
    let opts = VerifyOptions { quiet: true, engine: EngineChoice::Both, ..Default::default() };
    let r = verify(&common::corpus().join(id), &opts).unwrap_or_else(|e| panic!("{id}: {e}"));
    print!("{}", r.to_text());
    assert!(!r.engine_diffs.is_empty(), "{id}: no engine comparison");
    for d in &r.engine_diffs {
        assert_eq!(d.differing, 0, "{id}: output `{}` differs between engines:\n{}", d.output, r.to_text());
    }
    assert!(r.passed, "{id}:\n{}", r.to_text());
}

common::corpus_tests!(both);

#[test]
fn every_corpus_model_is_compared() {
    let missing = common::uncovered(COVERED);
    assert!(missing.is_empty(), "corpus models the JIT suite does not compare: {missing:?}");
}

/// Deterministic inputs for a compiled model (values in [-1, 1), integers small).
fn inputs_of(c: &tinyops_compiler::Compilation) -> Vec<tinyops_compiler::ir::Tensor> {
    use tinyops_compiler::ir::{DType, Data, Tensor};
    let g = &c.graph;
    g.inputs()
        .iter()
        .map(|&v| {
            let ty = g.ty(v);
            let vals = (0..ty.numel()).map(|i| ((i * 7919) % 200) as i32 - 100);
            let data = match ty.dtype {
                DType::F32 => Data::F32(vals.map(|v| v as f32 / 100.0).collect()),
                DType::I8 => Data::I8(vals.map(|v| v as i8).collect()),
                DType::U8 => Data::U8(vals.map(|v| (v + 100) as u8).collect()),
                other => panic!("no test inputs of type {other}"),
            };
            Tensor { shape: ty.shape.clone(), data }
        })
        .collect()
}

/// `verify --engine both`'s locator against a JIT corrupted on purpose at one step:
/// the corruption changes the model's outputs (a real failure), and the locator —
/// comparing the Rust backend's per-step trace with the JIT's — names exactly that
/// step and its node. Unperturbed, it finds no step. Cost: the Rust harness of two
/// corpus models (shared with the `both` tests), then milliseconds per step.
#[test]
fn locate_names_the_step_a_perturbed_jit_corrupts() {
    use tinyops_compiler::backend::jit::JitOptions;
    use tinyops_compiler::driver::engine::{diff, locate_with};
    let mut total = 0;
    for id in ["torch_lenet5", "mlperf_kws_dscnn_int8"] {
        let c = compile(&common::corpus().join(id).join("model.onnx"), &Options::default()).unwrap();
        // (The locator compares the two engines step by step: a plan the JIT runs as
        // is, without streamed groups.)
        assert!(c.plan.streams.is_empty(), "{id} streams on the host");
        let inputs = inputs_of(&c);
        let clean = locate_with(&c, &inputs, true, JitOptions::default()).unwrap();
        assert_eq!(clean.step, None, "{id}: {}", clean.message);
        let want = Engine::new(&c.program, c.target, false).unwrap().run(&inputs).unwrap();
        let mut located = 0;
        for s in 0..c.program.steps.len() {
            let opts = JitOptions { perturb: Some(s), ..JitOptions::default() };
            let got = Engine::with_options(&c.program, c.target, opts).unwrap().run(&inputs).unwrap();
            if want.iter().zip(&got).all(|(a, b)| diff(a, b).is_empty()) {
                continue; // This corruption does not reach the outputs (e.g. a ReLU hides it).
            }
            let d = locate_with(&c, &inputs, true, opts).unwrap();
            assert_eq!(d.step, Some(s), "{id}: corrupted step {s}, located: {}", d.message);
            assert!(d.message.contains(&format!("node `{}`", c.program.steps[s].node)), "{}", d.message);
            assert!(d.message.contains("emitted loops") || d.message.contains("agrees with the Rust"), "{}", d.message);
            located += 1;
        }
        println!("{id}: {located} of {} corrupted steps changed the outputs, each located", c.program.steps.len());
        assert!(located >= 1, "{id}: no corrupted step changed the outputs");
        total += located;
    }
    assert!(total >= 3, "only {total} corrupted steps changed the outputs");
}

/// Every emitted loop computes what the runtime's kernel computes, bit for bit: each
/// ONNX node test case that compiles is run through the JIT twice — with its emitted
/// loops, and calling the runtime's portable kernel for every call — on its first
/// reference data set, and every output byte must agree (NaN payloads included). Cost:
/// compiling the node cases once more and two cranelift builds each, about half a
/// minute.
#[test]
fn emitted_loops_match_the_runtime_kernels_on_every_node_case() {
    use tinyops_compiler::backend::jit::JitOptions;
    use tinyops_compiler::driver::testdata::load_sets;
    use tinyops_compiler::driver::verify::runtime_inputs;
    let node = common::onnx_tests().join("node");
    let mut dirs: Vec<_> = std::fs::read_dir(&node).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    let (mut compared, mut emitted, mut differ) = (0, 0, vec![]);
    for dir in dirs {
        let Ok(c) = compile(&dir.join("model.onnx"), &Options::default()) else { continue };
        let Some(set) = load_sets(&dir).ok().and_then(|s| s.into_iter().next()) else { continue };
        let Ok(inputs) = runtime_inputs(&c, &set) else { continue };
        let calls = JitOptions { loops: false, ..JitOptions::default() };
        let (Ok(mut a), Ok(mut b)) = (
            Engine::with_options(&c.program, c.target, JitOptions::default()),
            Engine::with_options(&c.program, c.target, calls),
        ) else {
            continue;
        };
        let (x, y) = (a.run(&inputs).unwrap(), b.run(&inputs).unwrap());
        compared += 1;
        emitted += usize::from(a.ir() != b.ir());
        if x.iter().zip(&y).any(|(p, q)| p.data.to_le_bytes() != q.data.to_le_bytes()) {
            differ.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    println!("{compared} node cases compared, {emitted} with emitted loops");
    assert!(differ.is_empty(), "emitted loops and runtime kernels differ on: {differ:?}");
    // The suite really ran (1138 cases compared, 854 of them with emitted loops, when
    // softmax, casts, scatters and the quantised averages began to be emitted: cases
    // without a data set that fits the compiled model's run-time inputs are left to
    // the conformance suite).
    assert!(compared > 1100 && emitted > 840, "only {compared} cases compared ({emitted} with emitted loops)");
}

/// The emitted casts against the runtime's `cast` kernels on the values where Rust's
/// `as` is subtle: NaN, infinities, −0.0, halves, values past every integer type's
/// range (saturation), integers past f32's and f64's precision (an i64 reaches f32
/// through f64, rounded twice), and negative integers into unsigned types. Every
/// output byte must agree, and every cast must really be emitted.
#[test]
fn emitted_casts_match_the_runtime_kernels_at_the_edges() {
    use common::{Dim, ModelBuilder, A};
    use tinyops_compiler::backend::jit::JitOptions;
    use tinyops_compiler::ir::{Data, Tensor};
    // ONNX element types: f32, u8, i8, u16, i16, i32, i64, bool, f64, u32, u64.
    let types = [1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 13];
    let floats: Vec<f32> = vec![
        f32::NAN,
        -f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        0.5,
        -0.5,
        1.5,
        -1.5,
        127.5,
        128.0,
        -129.0,
        255.5,
        256.0,
        65535.9,
        -32769.0,
        2147483520.0,
        3.0e9,
        -3.0e9,
        1.0e19,
        2.0e19,
        -1.0e19,
        16777217.0,
        1.0e-40,
    ];
    let ints: Vec<i64> = vec![
        0,
        -1,
        1,
        -128,
        255,
        256,
        -32769,
        65536,
        i32::MIN as i64 - 1,
        u32::MAX as i64 + 1,
        (1 << 53) + 1,
        (1 << 24) + 1,
        0x2000_0020_0000_0001,
        i64::MIN,
        i64::MAX,
    ];
    let doubles: Vec<f64> =
        vec![f64::NAN, 1e300, -1e300, 3.4028235677973366e38, 1.0000000596046448, 0.49999999999999994, -2.5, 1e-320];
    let mut m = ModelBuilder::new(19)
        .input("f", &[Dim::N(floats.len() as i64)])
        .input_typed("i", 7, &[Dim::N(ints.len() as i64)])
        .input_typed("d", 11, &[Dim::N(doubles.len() as i64)]);
    let mut n = 0;
    for (src, len) in [("f", floats.len()), ("i", ints.len()), ("d", doubles.len())] {
        for &to in &types {
            let out = format!("{src}{to}");
            m = m.node("Cast", &out, &[src], &[&out], vec![("to", A::I(to as i64))]).output_typed(
                &out,
                to,
                &[Dim::N(len as i64)],
            );
            n += 1;
        }
    }
    let c = compile(&m.write("jit-casts"), &Options::default()).unwrap();
    let inputs = [
        Tensor { shape: vec![floats.len()], data: Data::F32(floats.clone()) },
        Tensor { shape: vec![ints.len()], data: Data::I64(ints.clone()) },
        Tensor { shape: vec![doubles.len()], data: Data::F64(doubles.clone()) },
    ];
    let calls = JitOptions { loops: false, ..JitOptions::default() };
    let mut a = Engine::with_options(&c.program, c.target, JitOptions::default()).unwrap();
    let mut b = Engine::with_options(&c.program, c.target, calls).unwrap();
    assert!(!a.ir().contains("portable::cast"), "a cast is still called:\n{}", a.ir());
    assert!(b.ir().contains("portable::cast"), "the reference engine calls the casts");
    let (x, y) = (a.run(&inputs).unwrap(), b.run(&inputs).unwrap());
    assert_eq!(x.len(), n);
    for ((p, q), port) in x.iter().zip(&y).zip(a.outputs()) {
        assert_eq!(p.data.to_le_bytes(), q.data.to_le_bytes(), "cast to `{}` differs", port.name);
    }
}
