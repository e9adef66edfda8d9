//! The `build.rs` interface: generate a model module into `OUT_DIR` and `include!` it.
//!
//! ```no_run
//! // In build.rs:
//! tinyops_compiler::build::Builder::new("models/kws.onnx")
//!     .target("cortex-m4")
//!     .module_name("kws")
//!     .generate()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! // In src/main.rs:  mod kws { include!(concat!(env!("OUT_DIR"), "/kws.rs")); }
//! ```

use crate::backend::rust::WeightsMode;
use crate::error::{Error, Result};
use crate::{compile, Options};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Configures one generated module.
#[derive(Debug, Clone)]
pub struct Builder {
    model: PathBuf,
    target: String,
    input_shapes: BTreeMap<String, Vec<usize>>,
    out_dir: Option<PathBuf>,
    name: Option<String>,
    budget: crate::budget::Budget,
    self_test: crate::golden::GoldenSource,
}

impl Builder {
    /// A module for `model` (relative paths are relative to the package root, where
    /// cargo runs build scripts).
    pub fn new(model: impl AsRef<Path>) -> Self {
        Builder {
            model: model.as_ref().to_path_buf(),
            target: "host".into(),
            input_shapes: BTreeMap::new(),
            out_dir: None,
            name: None,
            budget: crate::budget::Budget::default(),
            self_test: crate::golden::GoldenSource::default(),
        }
    }

    /// The target (`host`, `cortex-m4`, …).
    pub fn target(mut self, name: &str) -> Self {
        self.target = name.to_string();
        self
    }

    /// Pins a dynamic input's shape.
    pub fn input_shape(mut self, input: &str, dims: &[usize]) -> Self {
        self.input_shapes.insert(input.to_string(), dims.to_vec());
        self
    }

    /// Where to write (default: `$OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Fails the build when the arena needs more than `bytes` of RAM (the message says
    /// by how much and names the largest tensor).
    pub fn max_ram(mut self, bytes: usize) -> Self {
        self.budget.max_ram = Some(bytes);
        self
    }

    /// Fails the build when the weights need more than `bytes` of flash.
    pub fn max_flash(mut self, bytes: usize) -> Self {
        self.budget.max_flash = Some(bytes);
        self
    }

    /// With `false`, the module gets no `self_test()` and embeds no golden vectors
    /// (saves their flash). Default: a self-test whose vectors come from the reference
    /// evaluator.
    pub fn self_test(mut self, on: bool) -> Self {
        self.self_test = if on { crate::golden::GoldenSource::Reference } else { crate::golden::GoldenSource::Off };
        self
    }

    /// Takes the self-test's golden vectors from `test_data_set_0` of `dir`.
    pub fn self_test_data(mut self, dir: impl AsRef<Path>) -> Self {
        self.self_test = crate::golden::GoldenSource::Data(dir.as_ref().to_path_buf());
        self
    }

    /// The file stem of the generated module (default: the model's file stem).
    pub fn module_name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Compiles and writes `<out>/<name>.rs` and its weights in `<out>/<name>.weights/`; tells
    /// cargo to rerun when the model changes. Returns the path of the `.rs` file.
    pub fn generate(self) -> Result<PathBuf> {
        let target = tinyops_targets::lookup(&self.target).map_err(|e| Error::Options(e.to_string()))?;
        let out = match self.out_dir {
            Some(d) => d,
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| Error::Options("OUT_DIR is not set; call out_dir() outside build scripts".into()))?,
        };
        let stem = match self.name {
            Some(n) => n,
            None => crate::backend::rust::names::ident(
                &self.model.file_stem().unwrap_or_default().to_string_lossy(),
                "model",
            ),
        };
        let opts = Options {
            target,
            input_shapes: self.input_shapes,
            dump_ir: false,
            weights: WeightsMode::Files(format!("{stem}.weights")),
            require_int8: false,
            frozen: Default::default(),
            self_test: self.self_test,
        };
        println!("cargo:rerun-if-changed={}", self.model.display());
        let c = compile(&self.model, &opts)?;
        self.budget.check(&c)?;
        c.write_module(&out, &stem)
    }
}
