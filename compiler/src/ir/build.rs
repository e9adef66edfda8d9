//! Adding ops to a graph with type inference and constant folding in one step, so
//! that every value has a static type from the moment it exists and shape arithmetic
//! (Shape → Gather → Concat → Reshape) collapses to constants as it is imported.

use super::{Graph, TensorType, ValueId};
use crate::ir::MAX_TENSOR_BYTES;
use crate::ops::{Arg, Op, OpError, OpResult};

/// Infers output types of `op` on `inputs`, and checks their sizes.
pub fn infer(graph: &Graph, op: &Op, inputs: &[Option<ValueId>]) -> OpResult<Vec<TensorType>> {
    let args: Vec<Option<Arg>> =
        inputs.iter().map(|v| v.map(|v| Arg { ty: graph.ty(v), value: graph.const_of(v) })).collect();
    let types = op.def().infer(&args)?;
    for t in &types {
        if t.bytes() > MAX_TENSOR_BYTES {
            return Err(OpError::Invalid(format!(
                "output shape {:?} would need {} bytes, more than the {} MiB limit for one tensor",
                t.shape,
                t.bytes(),
                MAX_TENSOR_BYTES >> 20
            )));
        }
    }
    Ok(types)
}

/// Adds `op` reading `inputs`; returns its output values. When every input is a
/// constant (or the op depends only on types), the op is evaluated now and its outputs
/// become constants instead of a node.
pub fn add_op(
    graph: &mut Graph,
    name: &str,
    op: Op,
    inputs: Vec<Option<ValueId>>,
    output_names: Vec<String>,
) -> OpResult<Vec<ValueId>> {
    let types = infer(graph, &op, &inputs)?;
    if types.len() != output_names.len() {
        return Err(OpError::Invalid(format!(
            "produces {} outputs but the node names {}",
            types.len(),
            output_names.len()
        )));
    }
    let all_const = inputs.iter().flatten().all(|&v| graph.const_of(v).is_some());
    if (all_const && op.def().folds_at_import()) || op.def().folds_from_types() {
        let args: Vec<Option<Arg>> =
            inputs.iter().map(|v| v.map(|v| Arg { ty: graph.ty(v), value: graph.const_of(v) })).collect();
        let tensors = op.def().eval(&args, &types)?;
        let ids = tensors
            .into_iter()
            .zip(types)
            .zip(output_names)
            .map(|((t, ty), n)| graph.add_const_typed(n, ty, t))
            .collect();
        return Ok(ids);
    }
    let outs = output_names.into_iter().zip(types).collect();
    let node = graph.add_node(name, op, inputs, outs);
    Ok(graph.node(node).outputs.clone())
}
