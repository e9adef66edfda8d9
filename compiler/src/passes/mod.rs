//! Graph passes, one per file, each a free function `fn(&mut Graph) -> usize` that
//! returns how many rewrites it made. [`PIPELINE`] lists them in order; the driver
//! verifies the IR after each one and can dump it (`tinyops inspect --dump-ir DIR`).

mod channels_last;
mod dce;
mod fold;
mod fuse_activation;
mod fuse_bias;
mod normalize;
pub mod quantize;
mod transposes;

use crate::ir::{verify, Graph};

/// A named pass.
pub struct Pass {
    /// The name in dumps and `--dump-ir` file names.
    pub name: &'static str,
    /// The rewrite.
    pub run: fn(&mut Graph) -> usize,
}

/// The optimisation pipeline, in order.
pub const PIPELINE: &[Pass] = &[
    Pass { name: "quantize", run: quantize::run },
    Pass { name: "dead-code", run: dce::run },
    Pass { name: "fold-constants", run: fold::run },
    Pass { name: "fold-batch-norm", run: normalize::run },
    Pass { name: "fuse-bias", run: fuse_bias::run },
    Pass { name: "fuse-activation", run: fuse_activation::run },
    Pass { name: "channels-last", run: channels_last::run },
    Pass { name: "transposes", run: transposes::run },
    Pass { name: "dead-code", run: dce::run },
];

/// What running the pipeline did.
#[derive(Debug, Clone, Default)]
pub struct PassLog {
    /// (pass name, rewrites, IR text after the pass when dumps were requested).
    pub steps: Vec<(&'static str, usize, Option<String>)>,
}

/// Runs every pass, verifying after each; `dump` keeps the IR text after each pass.
pub fn optimise(g: &mut Graph, dump: bool) -> Result<PassLog, String> {
    let mut log = PassLog::default();
    for p in PIPELINE {
        let n = (p.run)(g);
        if let Err(errs) = verify::verify(g) {
            return Err(format!("after pass `{}`: {}", p.name, errs.join("; ")));
        }
        log.steps.push((p.name, n, dump.then(|| crate::ir::text::to_text(g))));
    }
    Ok(log)
}

/// The single node reading `v`, if exactly one node does and it is not a graph output.
pub(crate) fn sole_user(g: &Graph, v: crate::ir::ValueId) -> Option<(crate::ir::NodeId, usize)> {
    let users = g.users(v);
    (users.len() == 1 && !g.is_output(v)).then(|| users[0])
}
