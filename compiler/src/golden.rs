//! Golden vectors for a generated module's `self_test()`: one input set, its expected
//! outputs, and the rule (`tinyops_runtime::check::Rule`) that judges each output,
//! chosen at compile time.
//!
//! The vectors come from a data folder in the `test_data_set_*` layout (set 0; the
//! rule is `verify`'s: floats within the tolerance, quantised outputs in steps) or,
//! without data, from the compiler's reference evaluator (`eval`) on a deterministic
//! pseudo-random input (integer outputs must then match exactly, as generated integer
//! code matches the evaluator bit for bit; floats within the tolerance).

use crate::driver::compare::Tolerance;
use crate::driver::testdata::{load_sets, DataSet};
use crate::error::{Error, Result};
use crate::ir::{DType, Data, Graph, Tensor};
use std::path::PathBuf;
use tinyops_runtime::check::Rule;

/// Where a module's self-test vectors come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GoldenSource {
    /// No self-test (`--no-self-test`): the module has no `self_test()`.
    Off,
    /// The reference evaluator on a deterministic pseudo-random input.
    #[default]
    Reference,
    /// Set 0 of the `test_data_set_*` folders in this folder.
    Data(PathBuf),
}

/// The golden vectors of one module.
#[derive(Debug, Clone)]
pub struct Golden {
    /// The run-time inputs, in graph-input order.
    pub inputs: Vec<Tensor>,
    /// The expected outputs, in graph-output order.
    pub outputs: Vec<Tensor>,
    /// How each output is judged.
    pub rules: Vec<Rule>,
    /// Where they came from, for the manifest: `reference` or `data`.
    pub origin: &'static str,
}

impl Golden {
    /// The manifest's description: origin and a short hash of the vectors (never a path).
    pub fn text(&self) -> String {
        let mut bytes = vec![];
        for t in self.inputs.iter().chain(&self.outputs) {
            bytes.extend(t.data.to_le_bytes());
        }
        format!("{}:{}", self.origin, &crate::sha256_hex(&bytes)[..16])
    }
}

/// The seed of the pseudo-random golden input.
pub const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// xorshift64: deterministic on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn random_input(name: &str, dtype: DType, shape: &[usize], rng: &mut Rng) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    let mut r = || rng.next();
    let data = match dtype {
        DType::F32 => Data::F32((0..n).map(|_| (r() % 20001) as f32 / 10000.0 - 1.0).collect()),
        DType::F64 => Data::F64((0..n).map(|_| (r() % 20001) as f64 / 10000.0 - 1.0).collect()),
        DType::I8 => Data::I8((0..n).map(|_| r() as u8 as i8).collect()),
        DType::U8 => Data::U8((0..n).map(|_| r() as u8).collect()),
        DType::I16 => Data::I16((0..n).map(|_| r() as u16 as i16).collect()),
        DType::U16 => Data::U16((0..n).map(|_| r() as u16).collect()),
        // Wide integers are often indices or counts: keep them small.
        DType::I32 => Data::I32((0..n).map(|_| (r() % 2) as i32).collect()),
        DType::I64 => Data::I64((0..n).map(|_| (r() % 2) as i64).collect()),
        DType::U32 => Data::U32((0..n).map(|_| (r() % 2) as u32).collect()),
        DType::U64 => Data::U64((0..n).map(|_| r() % 2).collect()),
        DType::Bool => Data::Bool((0..n).map(|_| r() % 2 == 1).collect()),
        other => {
            return Err(Error::Options(format!(
                "self-test: no pseudo-random golden input of type {other} for input `{name}`; \
                 give golden data (--data DIR) or build without a self-test (--no-self-test)"
            )))
        }
    };
    Ok(Tensor { shape: shape.to_vec(), data })
}

/// The quantisation step of float output `k` when a per-tensor DequantizeLinear
/// produces it (through data movement at most).
pub fn output_step(g: &Graph, k: usize) -> Option<f64> {
    let mut v = g.outputs()[k];
    loop {
        let n = g.producer(v)?;
        let nd = g.node(n);
        match &nd.op {
            crate::ops::Op::Dequantize(_) => {
                let s = g.const_of(nd.inputs.get(1).copied().flatten()?)?;
                return (s.numel() == 1).then(|| s.data.get_f64(0));
            }
            op if op.def().is_view() => v = nd.inputs[0]?,
            _ => return None,
        }
    }
}

/// The inputs of a data set that the compiled model takes at run time: the set holds
/// one per declared graph input; frozen ones are compiled in and dropped here. Fails
/// when the set does not fit the model.
pub fn runtime_inputs(g: &Graph, declared_inputs: &[String], set: &DataSet) -> Result<Vec<Tensor>> {
    let bad = |detail: String| Error::Driver { step: format!("reading {}", set.name), detail };
    if set.inputs.len() != declared_inputs.len() || set.outputs.len() != g.outputs().len() {
        return Err(bad(format!(
            "it has {} inputs and {} outputs; the model has {} and {}",
            set.inputs.len(),
            set.outputs.len(),
            declared_inputs.len(),
            g.outputs().len()
        )));
    }
    let mut kept = vec![];
    for (t, name) in set.inputs.iter().zip(declared_inputs) {
        if g.inputs().iter().any(|&v| &g.value(v).name == name) {
            kept.push(t.clone());
        }
    }
    if kept.len() != g.inputs().len() {
        return Err(bad(format!(
            "{} of its inputs are run-time inputs; the model takes {}",
            kept.len(),
            g.inputs().len()
        )));
    }
    for (i, (t, &v)) in kept.iter().zip(g.inputs()).enumerate() {
        let ty = g.ty(v);
        if t.dtype() != ty.dtype || t.numel() != ty.numel() {
            return Err(bad(format!("input {i} is {}{:?} but the model takes {ty}", t.dtype(), t.shape)));
        }
    }
    Ok(kept)
}

/// The golden vectors for `source`, or `None` when it is [`GoldenSource::Off`].
pub fn golden(g: &Graph, declared_inputs: &[String], source: &GoldenSource, tol: Tolerance) -> Result<Option<Golden>> {
    let float = Rule::Float { atol: tol.atol, rtol: tol.rtol };
    let (inputs, outputs, origin) = match source {
        GoldenSource::Off => return Ok(None),
        GoldenSource::Reference => {
            let mut rng = Rng(SEED);
            let inputs = g
                .inputs()
                .iter()
                .map(|&v| random_input(&g.value(v).name, g.ty(v).dtype, &g.ty(v).shape, &mut rng))
                .collect::<Result<Vec<_>>>()?;
            let outputs = crate::eval::run(g, &inputs).map_err(|e| {
                Error::Options(format!(
                    "self-test: the reference evaluator cannot compute golden outputs ({e}); \
                     give golden data (--data DIR) or build without a self-test (--no-self-test)"
                ))
            })?;
            (inputs, outputs, "reference")
        }
        GoldenSource::Data(dir) => {
            let sets = load_sets(dir)?;
            let Some(set) = sets.into_iter().next() else {
                return Err(Error::Options(format!(
                    "self-test: no test_data_set_* folder in {} to take golden vectors from",
                    dir.display()
                )));
            };
            let inputs = runtime_inputs(g, declared_inputs, &set)?;
            (inputs, set.outputs, "data")
        }
    };
    let mut rules = vec![];
    for (k, (t, &v)) in outputs.iter().zip(g.outputs()).enumerate() {
        let ty = g.ty(v);
        if t.dtype() != ty.dtype || t.numel() != ty.numel() {
            return Err(Error::Options(format!(
                "self-test: golden output {k} is {}{:?} but the model gives {ty}",
                t.dtype(),
                t.shape
            )));
        }
        let step = output_step(g, k);
        let integer = !ty.dtype.is_float();
        let rule = match (origin, integer, step) {
            ("reference", true, _) => Rule::Exact,
            (_, true, _) => Rule::Steps { step: 1.0 },
            ("data", false, Some(s)) => Rule::Steps { step: s },
            _ => float,
        };
        if !integer && (0..t.numel()).any(|i| !t.data.get_f64(i).is_finite()) {
            return Err(Error::Options(format!(
                "self-test: golden output {k} `{}` holds non-finite values, which no tolerance passes; \
                 give other golden data (--data DIR) or build without a self-test (--no-self-test)",
                g.value(v).name
            )));
        }
        rules.push(rule);
    }
    Ok(Some(Golden { inputs, outputs, rules, origin }))
}
