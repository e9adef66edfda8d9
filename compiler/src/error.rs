//! Errors the compiler reports to users. Bad input is normal input for a compiler:
//! every problem gets a message that names the node, op and opset and says what to do.

use std::fmt;
use std::path::PathBuf;

/// The `domain` of a [`NodeRef`] naming an IR node (after passes) rather than an ONNX one.
pub const IR_DOMAIN: &str = "tinyops IR";

/// Which ONNX node a problem is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRef {
    /// The node name (ONNX names may be empty; then `#index` is used).
    pub name: String,
    /// The ONNX op type, e.g. `Conv`.
    pub op_type: String,
    /// The operator domain; `ai.onnx` for the default one.
    pub domain: String,
    /// The opset version the model imports for that domain (0 when it imports none).
    pub opset: i64,
}

impl fmt::Display for NodeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.domain == IR_DOMAIN {
            return write!(f, "node `{}` (IR op {})", self.name, self.op_type);
        }
        write!(f, "node `{}` ({}, {} opset {})", self.name, self.op_type, self.domain, self.opset)
    }
}

/// One thing wrong with a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No lowering exists for this op (at this opset, in this domain).
    UnsupportedOp {
        /// Where.
        node: NodeRef,
        /// Opsets the op is supported at, e.g. "1-22", for the message.
        supported: Option<String>,
    },
    /// The op is supported but this use of it is not (an attribute value, a dtype, a
    /// non-constant operand that must be constant, ...).
    Unsupported {
        /// Where.
        node: NodeRef,
        /// What exactly.
        detail: String,
    },
    /// The node is inconsistent with its inputs (shape or type mismatch, bad attribute).
    Invalid {
        /// Where.
        node: NodeRef,
        /// What exactly.
        detail: String,
    },
    /// A graph input has a dimension that is not a fixed number.
    DynamicInput {
        /// The input name.
        input: String,
        /// The declared shape, with symbolic dimensions by name and unknown ones as `?`.
        declared: Vec<String>,
        /// A ready-to-paste `--input-shape` value.
        suggestion: String,
    },
    /// A `--input-shape` option names an input the model does not have, or contradicts
    /// a fixed dimension of the model.
    BadPin {
        /// What is wrong.
        detail: String,
    },
    /// A `--freeze` option names an input the model does not have, or a value whose
    /// type contradicts the input's declaration.
    BadFreeze {
        /// What is wrong.
        detail: String,
    },
    /// A tensor or value uses an element type the compiler does not handle.
    UnsupportedType {
        /// The tensor, input or output name.
        name: String,
        /// The ONNX type name.
        dtype: String,
    },
    /// An initializer whose data cannot be read: external data outside the model's
    /// folder, a missing file, a length that does not match the shape.
    BadTensor {
        /// The tensor name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// A tensor would be larger than the compiler accepts.
    TooLarge {
        /// The tensor or value name.
        name: String,
        /// The shape that was asked for.
        shape: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// A node reads a value no earlier node, input or initializer defines.
    UndefinedValue {
        /// Where.
        node: NodeRef,
        /// The missing name.
        value: String,
    },
    /// Something about the model as a whole (no graph, no outputs, a cycle, ...).
    Structure {
        /// What is wrong.
        detail: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnsupportedOp { node, supported } => {
                write!(f, "unsupported op `{}` in {}", node.op_type, node)?;
                if let Some(s) = supported {
                    write!(f, "; tinyops supports {} at opset {s}", node.op_type)?;
                }
                Ok(())
            }
            Problem::Unsupported { node, detail } => write!(f, "{node}: unsupported: {detail}"),
            Problem::Invalid { node, detail } => write!(f, "{node}: {detail}"),
            Problem::DynamicInput { input, declared, suggestion } => write!(
                f,
                "input `{input}` has shape [{}] with dimensions that are not fixed; \
                 pin them with --input-shape {suggestion} (include_model!: input_shape = \"{suggestion}\"; \
                 build.rs: .input_shape(\"{input}\", &[{}]))",
                declared.join(", "),
                suggestion.rsplit_once('=').map_or("", |(_, d)| d).replace(',', ", ")
            ),
            Problem::BadPin { detail } => write!(f, "--input-shape: {detail}"),
            Problem::BadFreeze { detail } => write!(f, "--freeze: {detail}"),
            Problem::UnsupportedType { name, dtype } => {
                write!(f, "`{name}` has element type {dtype}, which tinyops does not support")
            }
            Problem::BadTensor { name, detail } => write!(f, "tensor `{name}`: {detail}"),
            Problem::TooLarge { name, shape, limit } => write!(
                f,
                "`{name}` would have shape {shape}, more than the {} MiB tinyops accepts for one tensor",
                limit >> 20
            ),
            Problem::UndefinedValue { node, value } => {
                write!(f, "{node} reads `{value}`, which nothing defines")
            }
            Problem::Structure { detail } => f.write_str(detail),
        }
    }
}

/// Everything that can go wrong, from reading a model to running the generated code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not an ONNX protobuf (truncated, corrupt, or another format).
    #[error("{} is not a valid ONNX model: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        detail: String,
    },
    /// The model decodes but cannot be compiled; every problem found is listed.
    #[error("{}", render_problems(path, problems))]
    Model {
        /// The model file.
        path: PathBuf,
        /// All problems, in model order.
        problems: Vec<Problem>,
    },
    /// A command-line or API option is invalid.
    #[error("{0}")]
    Options(String),
    /// A step after compilation (building or running generated code, reading reference
    /// data) failed.
    #[error("{step}: {detail}")]
    Driver {
        /// The step, e.g. "building the generated crate".
        step: String,
        /// What happened, including tool output where useful.
        detail: String,
    },
    /// The model compiles but exceeds a RAM or flash budget.
    #[error("model `{model}` does not fit the budget for {target}:\n  - {}", lines.join("\n  - "))]
    OverBudget {
        /// The model name.
        model: String,
        /// The target name.
        target: String,
        /// One line per exceeded limit: by how much, and what dominates.
        lines: Vec<String>,
    },
    /// Tools a bare-metal target needs are not installed. Checked before any work
    /// starts; tinyops never falls back to running on the host instead.
    #[error(
        "cannot {action} for {target}: missing {}\ninstall with: apt-get install -y --no-install-recommends {}",
        missing.join(", "),
        packages.join(" ")
    )]
    MissingTools {
        /// What was asked, e.g. "build and run firmware".
        action: String,
        /// The target name.
        target: String,
        /// Each missing piece, saying where it was looked for.
        missing: Vec<String>,
        /// The Debian packages that provide them.
        packages: Vec<String>,
    },
    /// The JIT engine cannot run this program (an op it cannot run, a target it
    /// cannot call the kernels of, inputs that do not fit).
    #[error(transparent)]
    Jit(#[from] crate::backend::jit::JitError),
    /// A compiler invariant broke. This is a tinyops bug; the message says where.
    #[error("internal compiler error (please report): {0}")]
    Internal(String),
}

fn render_problems(path: &std::path::Path, problems: &[Problem]) -> String {
    let mut s = format!(
        "{} cannot be compiled ({} problem{}):",
        path.display(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        s.push_str("\n  - ");
        s.push_str(&p.to_string());
    }
    s
}

impl Error {
    /// Wraps an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// The problems of a [`Error::Model`], empty otherwise.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Model { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
