//! The intermediate representation: typed tensors with static shapes (and optional
//! quantisation) flowing between ops in a petgraph DAG; constants owned once; a
//! verifier; and a stable text form for dumps and snapshot tests.

pub mod build;
mod dtype;
mod graph;
mod layout;
mod tensor;
pub mod text;
pub mod verify;

pub use dtype::DType;
pub use graph::{Def, Edge, Graph, Node, NodeId, Value, ValueId};
pub use layout::Layout;
pub use tensor::{numel, strides, Data, Quant, Shape, Tensor, TensorType, MAX_TENSOR_BYTES};
