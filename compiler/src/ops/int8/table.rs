//! Table lookups: any function of one 8-bit input becomes a 256-entry table computed
//! at compile time from the exact real function — sigmoid, tanh, leaky ReLU, hard
//! swish, clamps, and plain requantisation between two quantisations.

use super::QParam;
use crate::ir::{Data, Tensor, TensorType};
use crate::lower::{invoke, Invocation, Kernel, LowerCx, Slot};
use crate::ops::activation::{Act, UnaryReference};
use crate::ops::util::{data, req};
use crate::ops::{invalid, Arg, OpDef, OpResult};
use tinyops_runtime::kernels::UnaryFn;

/// The real function a table stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TableFn {
    /// `f(v) = v` (requantisation).
    Identity,
    /// A clamp (ReLU, ReLU6, Clip).
    Clamp(Act),
    /// A unary function.
    Unary(UnaryFn),
}

impl TableFn {
    fn apply(self, v: f32) -> f32 {
        match self {
            TableFn::Identity => v,
            TableFn::Clamp(a) => a.apply(v),
            TableFn::Unary(u) => u.reference(v),
        }
    }

    fn text(self) -> String {
        match self {
            TableFn::Identity => "requantise".into(),
            TableFn::Clamp(a) => a.text(),
            TableFn::Unary(u) => format!("{u:?}").to_lowercase(),
        }
    }
}

/// `y = table[x]` with `table[q] = quantize_y(f(dequantize_x(q)))`.
#[derive(Debug, Clone, PartialEq)]
pub struct QTable {
    /// The function.
    pub f: TableFn,
    /// Input quantisation.
    pub x: QParam,
    /// Output quantisation.
    pub y: QParam,
}

impl QTable {
    /// The 256 (i8: indices −128..=127; u8: 0..=255) output values.
    pub fn table(&self) -> Vec<i32> {
        let (lo, hi) = self.x.range();
        (lo..=hi).map(|q| self.y.quantize(self.f.apply(self.x.real(q) as f32))).collect()
    }

    /// True when the table maps every value to itself (same quantisation, identity).
    pub fn is_identity(&self) -> bool {
        let (lo, _) = self.x.range();
        self.x.dtype == self.y.dtype && self.table().iter().enumerate().all(|(i, &v)| v == lo + i as i32)
    }
}

impl OpDef for QTable {
    fn name(&self) -> &'static str {
        "qtable"
    }
    fn attrs(&self) -> Vec<(&'static str, String)> {
        vec![("f", self.f.text()), ("x", self.x.text()), ("y", self.y.text())]
    }
    fn infer(&self, inputs: &[Option<Arg>]) -> OpResult<Vec<TensorType>> {
        let x = req(inputs, 0)?.ty;
        if x.dtype != self.x.dtype {
            invalid!("input is {}, expected {}", x.dtype, self.x.dtype);
        }
        Ok(vec![self.y.ty(x.shape.clone())])
    }
    fn eval(&self, inputs: &[Option<Arg>], out: &[TensorType]) -> OpResult<Vec<Tensor>> {
        let x = data(inputs, 0)?;
        let t = self.table();
        let lo = self.x.range().0 as i64;
        let v: Vec<i64> = (0..x.numel()).map(|i| t[(x.data.get_i64(i) - lo) as usize] as i64).collect();
        Ok(vec![Tensor { shape: x.shape.clone(), data: Data::I64(v).cast(out[0].dtype) }])
    }
    fn lower(&self, _: &LowerCx) -> OpResult<Vec<Invocation>> {
        let kernel = Kernel::LookupQ8 { x: self.x.dtype, y: self.y.dtype, table: self.table() };
        Ok(vec![invoke(kernel, [Slot::In(0)], [Slot::Out(0)])])
    }
}
