//! LSTM (ONNX gate order i, o, f, c; default activations; forward, reverse or
//! bidirectional; optional bias, initial state and peepholes; layout 0, and layout 1
//! through transposes in `compose_rnn`).

use super::util::{expect_dtype, f32s, req};
use super::{invalid, unsupported, Arg, OpDef, OpResult};
use crate::front::node::{Lowered, NodeCx};
use crate::ir::{DType, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};

/// Which way(s) the sequence is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// t = 0 … T−1.
    Forward,
    /// t = T−1 … 0.
    Reverse,
    /// Both, outputs stacked on the direction axis.
    Bidirectional,
}

/// An LSTM layer. Inputs: X `[T,B,I]`, W `[D,4H,I]`, R `[D,4H,H]`, B `[D,8H]`?,
/// (sequence_lens: never), initial_h `[D,B,H]`?, initial_c?, P `[D,3H]`?.
/// Outputs: Y `[T,D,B,H]`, Y_h `[D,B,H]`, Y_c `[D,B,H]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Lstm {
    /// Hidden units.
    pub hidden: usize,
    /// Direction.
    pub direction: Direction,
    /// Gate pre-activation clip (0 for none).
    pub clip: f32,
    /// Coupled input and forget gates.
    pub input_forget: bool,
}

impl Lstm {
    fn dirs(&self) -> usize {
        if self.direction == Direction::Bidirectional {
            2
        } else {
            1
        }
    }

    /// (seq, batch, input) from X.
    fn dims(&self, x: &[usize]) -> OpResult<(usize, usize, usize)> {
        match x {
            [t, b, i] => Ok((*t, *b, *i)),
            _ => invalid!("X must be [seq, batch, input], got {x:?}"),
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl OpDef for Lstm {
    fn name(&self) -> &'static str {
        "lstm"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        let mut a =
            vec![("hidden", self.hidden.to_string()), ("direction", format!("{:?}", self.direction).to_lowercase())];
        if self.clip > 0.0 {
            a.push(("clip", self.clip.to_string()));
        }
        if self.input_forget {
            a.push(("input_forget", "true".into()));
        }
        a
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        for i in [0, 1, 2] {
            expect_dtype(inputs, i, DType::F32)?;
        }
        let (t, b, i) = self.dims(&req(inputs, 0)?.ty.shape)?;
        let (d, h) = (self.dirs(), self.hidden);
        let expect = |slot: usize, shape: Vec<usize>| -> OpResult<()> {
            if let Some(Some(a)) = inputs.get(slot) {
                if a.ty.shape != shape {
                    invalid!("input {slot} has shape {:?}, expected {shape:?}", a.ty.shape);
                }
            }
            Ok(())
        };
        expect(1, vec![d, 4 * h, i])?;
        expect(2, vec![d, 4 * h, h])?;
        expect(3, vec![d, 8 * h])?;
        expect(5, vec![d, b, h])?;
        expect(6, vec![d, b, h])?;
        expect(7, vec![d, 3 * h])?;
        Ok(vec![
            TensorType::new(DType::F32, vec![t, d, b, h]),
            TensorType::new(DType::F32, vec![d, b, h]),
            TensorType::new(DType::F32, vec![d, b, h]),
        ])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let (x, w, r) = (f32s(inputs, 0)?, f32s(inputs, 1)?, f32s(inputs, 2)?);
        let opt = |i: usize| -> OpResult<Option<&[f32]>> {
            match inputs.get(i) {
                Some(Some(_)) => f32s(inputs, i).map(Some),
                _ => Ok(None),
            }
        };
        let (bias, h0, c0, peep) = (opt(3)?, opt(5)?, opt(6)?, opt(7)?);
        let (t_len, b, n_in) = self.dims(&req(inputs, 0)?.ty.shape)?;
        let (dirs, h) = (self.dirs(), self.hidden);
        let mut y = vec![0f32; t_len * dirs * b * h];
        let mut yh = vec![0f32; dirs * b * h];
        let mut yc = vec![0f32; dirs * b * h];
        let clip = |v: f64| {
            if self.clip > 0.0 {
                v.clamp(-self.clip as f64, self.clip as f64)
            } else {
                v
            }
        };
        for d in 0..dirs {
            let reverse = self.direction == Direction::Reverse || d == 1;
            for bi in 0..b {
                let s = (d * b + bi) * h;
                let mut hs: Vec<f64> = (0..h).map(|k| h0.map_or(0.0, |v| v[s + k] as f64)).collect();
                let mut cs: Vec<f64> = (0..h).map(|k| c0.map_or(0.0, |v| v[s + k] as f64)).collect();
                for step in 0..t_len {
                    let t = if reverse { t_len - 1 - step } else { step };
                    let gate = |g: usize, k: usize, hs: &[f64]| -> f64 {
                        let row = g * h + k;
                        let mut v = 0f64;
                        for j in 0..n_in {
                            v += x[(t * b + bi) * n_in + j] as f64 * w[(d * 4 * h + row) * n_in + j] as f64;
                        }
                        for (j, hv) in hs.iter().enumerate() {
                            v += hv * r[(d * 4 * h + row) * h + j] as f64;
                        }
                        if let Some(bb) = bias {
                            v += bb[d * 8 * h + row] as f64 + bb[d * 8 * h + 4 * h + row] as f64;
                        }
                        v
                    };
                    let pe = |g: usize, k: usize| peep.map_or(0.0, |p| p[d * 3 * h + g * h + k] as f64);
                    let mut new_h = vec![0f64; h];
                    for k in 0..h {
                        let i_g = sigmoid(clip(gate(0, k, &hs) + pe(0, k) * cs[k]));
                        let f_g = if self.input_forget {
                            1.0 - i_g
                        } else {
                            sigmoid(clip(gate(2, k, &hs) + pe(2, k) * cs[k]))
                        };
                        let c_g = clip(gate(3, k, &hs)).tanh();
                        let c_new = f_g * cs[k] + i_g * c_g;
                        let o_g = sigmoid(clip(gate(1, k, &hs) + pe(1, k) * c_new));
                        new_h[k] = o_g * c_new.tanh();
                        cs[k] = c_new;
                    }
                    hs = new_h;
                    for k in 0..h {
                        y[((t * dirs + d) * b + bi) * h + k] = hs[k] as f32;
                    }
                }
                for k in 0..h {
                    yh[s + k] = hs[k] as f32;
                    yc[s + k] = cs[k] as f32;
                }
            }
        }
        Ok(vec![
            Tensor::f32(out[0].shape.clone(), y),
            Tensor::f32(out[1].shape.clone(), yh),
            Tensor::f32(out[2].shape.clone(), yc),
        ])
    }
    fn lower(&self, cx: &LowerCx) -> OpResult<Vec<Invocation>> {
        let (seq, batch, input) = self.dims(&cx.input(0)?.ty.shape)?;
        let p = tinyops_runtime::kernels::Lstm {
            seq,
            batch,
            input,
            hidden: self.hidden,
            directions: self.dirs(),
            reverse: self.direction == Direction::Reverse,
            clip: self.clip,
            input_forget: self.input_forget,
        };
        let reads = [Slot::In(0), Slot::In(1), Slot::In(2), cx.opt_in(3), cx.opt_in(5), cx.opt_in(6), cx.opt_in(7)];
        let writes = [Slot::Out(0), Slot::Out(1), Slot::Out(2), Slot::Scratch(DType::F32)];
        Ok(vec![invoke(Kernel::LstmF32 { p }, reads, writes)])
    }
    fn macs(&self, inputs: &[Option<&TensorType>], _: &[TensorType]) -> u64 {
        let Some(Some(x)) = inputs.first() else {
            return 0;
        };
        let (t, b, i) = (x.shape[0], x.shape[1], x.shape[2]);
        (self.dirs() * t * b * 4 * self.hidden * (i + self.hidden)) as u64
    }
}

/// LSTM.
pub fn import(cx: &NodeCx) -> OpResult<Lowered> {
    let hidden = cx.int("hidden_size", 0)?;
    if hidden <= 0 {
        invalid!("hidden_size is required and must be positive");
    }
    let direction = match cx.string("direction", "forward")?.as_str() {
        "forward" => Direction::Forward,
        "reverse" => Direction::Reverse,
        "bidirectional" => Direction::Bidirectional,
        other => invalid!("unknown direction `{other}`"),
    };
    let batch_first = cx.int("layout", 0)? != 0;
    if let Some(acts) = cx.strings("activations")? {
        let default = ["Sigmoid", "Tanh", "Tanh"];
        let ok = acts.chunks(3).all(|c| c.iter().map(String::as_str).eq(default.iter().copied()));
        if !ok {
            unsupported!("LSTM activations {acts:?} (only the default Sigmoid, Tanh, Tanh)");
        }
    }
    if let (Some(seq_lens), Some(x)) = (cx.input(4), cx.input(0)) {
        let full = x.ty.shape.get(usize::from(batch_first)).copied().unwrap_or(0) as i64;
        match seq_lens.value {
            Some(t) if t.data.to_i64_vec().iter().all(|&l| l == full) => {}
            _ => unsupported!("sequence_lens shorter than the sequence (or not constant)"),
        }
    }
    let lstm = Lstm {
        hidden: hidden as usize,
        direction,
        clip: cx.float("clip", 0.0)?,
        input_forget: cx.int("input_forget", 0)? != 0,
    };
    if batch_first {
        return super::compose_rnn::lstm_batch_first(cx, lstm);
    }
    // sequence_lens (slot 4) is dropped: it equals the full length.
    Ok(Lowered::Op(lstm.into(), vec![0, 1, 2, 3, usize::MAX, 5, 6, 7]))
}
