//! Half floats (f16, bf16) computed in f32. The kernels compute in f32 (and in
//! integers); an op that computes on half-float operands imports as Casts of those
//! operands to f32, the op in f32, and Casts of its f32 results back to the half type —
//! what the ONNX reference does up to the final rounding of each op's result. Data
//! movement (reshape, transpose, concat, gather, …) and conversions keep their types.

use crate::ir::{build, DType, Graph, ValueId};
use crate::ops::shape::Cast;
use crate::ops::{Arith, Op, OpResult};

/// Adds `op` like [`build::add_op`], computing half-float operands in f32.
pub fn add_op(
    graph: &mut Graph,
    name: &str,
    op: Op,
    inputs: Vec<Option<ValueId>>,
    output_names: Vec<String>,
) -> OpResult<Vec<ValueId>> {
    let half = inputs.iter().flatten().map(|&v| graph.ty(v).dtype).find(|d| d.is_half());
    let all_const = inputs.iter().flatten().all(|&v| graph.const_of(v).is_some());
    let Some(half) = half else { return build::add_op(graph, name, op, inputs, output_names) };
    if all_const || matches!(op.arith(&[]), Arith::Movement | Arith::Convert) {
        return build::add_op(graph, name, op, inputs, output_names);
    }
    let mut wide = Vec::with_capacity(inputs.len());
    for (i, v) in inputs.into_iter().enumerate() {
        wide.push(match v {
            Some(v) if graph.ty(v).dtype == half => {
                let n = format!("{name}/to_f32_{i}");
                let cast = Cast { to: DType::F32, saturate: true };
                Some(build::add_op(graph, &n, cast.into(), vec![Some(v)], vec![format!("{n}:0")])?[0])
            }
            v => v,
        });
    }
    let inner: Vec<String> = output_names.iter().map(|n| format!("{n}/f32")).collect();
    let outs = build::add_op(graph, name, op, wide, inner)?;
    let mut result = Vec::with_capacity(outs.len());
    for (o, out_name) in outs.into_iter().zip(output_names) {
        if graph.ty(o).dtype == DType::F32 {
            let n = format!("{name}/to_{half}");
            let cast = Cast { to: half, saturate: true };
            result.push(build::add_op(graph, &n, cast.into(), vec![Some(o)], vec![out_name])?[0]);
        } else {
            graph.value_mut(o).name = out_name;
            result.push(o);
        }
    }
    Ok(result)
}
