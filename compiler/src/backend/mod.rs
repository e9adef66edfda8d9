//! Backends: turn a lowered [`Program`](crate::lower::Program) into something that
//! runs. Each backend prints what the lowering decided and decides nothing itself.

pub mod jit;
pub mod rust;
