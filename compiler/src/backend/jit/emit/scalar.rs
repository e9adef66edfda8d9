//! The runtime's scalar float functions, as `extern "C"` functions emitted loops call
//! per element: the transcendental functions the portable kernels compute with
//! `tinyops_runtime::math`, so an emitted loop computes exactly what the kernel does.

use cranelift_codegen::ir::{FuncRef, InstBuilder, Value};
use cranelift_frontend::FunctionBuilder;
use std::collections::BTreeMap;
use tinyops_runtime::math;

/// The functions a model's emitted loops call, by name, as declared in its function.
pub type Scalars = BTreeMap<&'static str, FuncRef>;

macro_rules! scalars {
    ($($name:ident => $f:path,)*) => {
        mod fns {
            use super::math;
            $(
                #[doc = concat!("`", stringify!($f), "` for JIT code.")]
                pub extern "C" fn $name(x: f32) -> f32 {
                    $f(x)
                }
            )*
        }

        /// The address of the scalar function `name` (`f32 → f32`), if there is one.
        pub fn address(name: &str) -> Option<*const u8> {
            match name {
                $(stringify!($name) => Some(fns::$name as *const u8),)*
                _ => None,
            }
        }
    };
}

scalars! {
    sigmoid => math::sigmoid,
    tanh => math::tanh,
    exp => math::exp,
    ln => math::ln,
    sqrt => math::sqrt,
    softplus => math::softplus,
    sin => math::sin,
    cos => math::cos,
    tan => math::tan,
    asin => math::asin,
    acos => math::acos,
    atan => math::atan,
    sinh => math::sinh,
    cosh => math::cosh,
    asinh => math::asinh,
    acosh => math::acosh,
    atanh => math::atanh,
    floor => math::floor,
    ceil => math::ceil,
    round_half_even => math::round_half_even,
    erf => math::erf,
    expm1 => math::expm1,
}

/// The symbol JIT code imports scalar function `name` under.
pub fn symbol(name: &str) -> String {
    format!("tinyops_f32_{name}")
}

/// Emits a call of scalar function `name` on `v`.
pub fn call(b: &mut FunctionBuilder, fns: &Scalars, name: &str, v: Value) -> Value {
    let inst = b.ins().call(fns[name], &[v]);
    b.inst_results(inst)[0]
}
