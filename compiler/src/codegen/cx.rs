//! What an op's `emit` sees: Rust expressions for its operands, their types, and the
//! target. The codegen driver binds these from the memory plan; ops only write the
//! kernel call.

use crate::ir::{Tensor, TensorType};
use crate::ops::{OpError, OpResult};
use proc_macro2::TokenStream;
use quote::quote;
use tinyops_targets::Target;

/// One operand of a node in generated code.
#[derive(Debug, Clone)]
pub struct Operand<'a> {
    /// An expression of type `&[T]` (inputs) or `&mut [T]` (outputs).
    pub expr: TokenStream,
    /// Its IR type.
    pub ty: &'a TensorType,
    /// Its data, when it is a compile-time constant.
    pub value: Option<&'a Tensor>,
}

/// The emission context of one node.
#[derive(Debug)]
pub struct EmitCx<'a> {
    /// Operands by IR input slot (`None` for absent optionals).
    pub inputs: Vec<Option<Operand<'a>>>,
    /// Results by slot (`None` when the result is never read).
    pub outputs: Vec<Option<Operand<'a>>>,
    /// A `&mut [u8]` scratch expression (16-byte aligned) when the op asked for scratch
    /// space; cast it with `rt::arena::cast_mut::<T>`.
    pub scratch: Option<TokenStream>,
    /// The target the code is for.
    pub target: &'static Target,
}

impl<'a> EmitCx<'a> {
    /// Input `i`, required.
    pub fn input(&self, i: usize) -> OpResult<&Operand<'a>> {
        self.inputs.get(i).and_then(|o| o.as_ref()).ok_or_else(|| OpError::Invalid(format!("input {i} is required")))
    }

    /// Output `i`, required.
    pub fn output(&self, i: usize) -> OpResult<&Operand<'a>> {
        self.outputs.get(i).and_then(|o| o.as_ref()).ok_or_else(|| OpError::Invalid(format!("output {i} is required")))
    }

    /// The expression of input `i`, or an empty slice when it is absent.
    pub fn x(&self, i: usize) -> TokenStream {
        match self.inputs.get(i).and_then(|o| o.as_ref()) {
            Some(o) => o.expr.clone(),
            None => quote!(&[]),
        }
    }

    /// The expression of output `i`, or an empty slice when nobody reads it.
    pub fn y(&self, i: usize) -> TokenStream {
        match self.outputs.get(i).and_then(|o| o.as_ref()) {
            Some(o) => o.expr.clone(),
            None => quote!(&mut []),
        }
    }

    /// The path of the kernel module chosen for this target.
    pub fn kernels(&self) -> TokenStream {
        quote!(rt::kernels::portable)
    }
}

/// The path of the kernel parameter types.
pub fn params() -> TokenStream {
    quote!(rt::kernels)
}
