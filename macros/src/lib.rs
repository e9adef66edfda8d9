//! `include_model!`: compile an ONNX model into Rust items at build time.
//!
//! ```text
//! mod kws {
//!     tinyops_macros::include_model!("models/kws.onnx", target = "cortex-m4");
//! }
//! let mut arena = kws::Arena::new();
//! let mut model = kws::Model::new(&mut arena);
//! model.run(&input, &mut output);
//! ```
//!
//! Arguments after the path: `target = "…"` (default `host`), any number of
//! `input_shape = "NAME=D0,D1,…"` to pin dynamic inputs, and budgets in bytes:
//! `max_ram = 65_536` (the arena) and `max_flash = 262_144` (the weights). A model over
//! a budget is a compile error saying by how much and what dominates (the largest
//! tensor, the largest weight). `self_test = false` leaves out `Model::self_test` and
//! its golden vectors (by default they come from the compiler's reference evaluator
//! on a pseudo-random input). The path is relative to the invoking crate's
//! `Cargo.toml` (or to `TINYOPS_MANIFEST_DIR` when set, for tools such as trybuild
//! that build a copy of the crate elsewhere). Errors become `compile_error!`s with the compiler's full message. The
//! expansion holds the generated items (the weights as byte strings), and re-runs when
//! the model file changes.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use std::collections::BTreeMap;
use std::path::PathBuf;
use syn::parse::{Parse, ParseStream};
use syn::{LitInt, LitStr, Token};

struct Args {
    path: LitStr,
    target: Option<LitStr>,
    shapes: Vec<LitStr>,
    max_ram: Option<LitInt>,
    max_flash: Option<LitInt>,
    self_test: Option<syn::LitBool>,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
        let mut args = Args { path, target: None, shapes: vec![], max_ram: None, max_flash: None, self_test: None };
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            match key.to_string().as_str() {
                "target" => args.target = Some(input.parse()?),
                "self_test" => {
                    args.self_test = Some(input.parse().map_err(|e| {
                        syn::Error::new(e.span(), "`self_test` takes `true` or `false`".to_string())
                    })?)
                }
                "input_shape" => args.shapes.push(input.parse()?),
                "max_ram" | "max_flash" => {
                    let value: LitInt = input.parse().map_err(|e| {
                        syn::Error::new(e.span(), format!("`{key}` takes a byte count, e.g. `{key} = 65_536`"))
                    })?;
                    if key == "max_ram" {
                        args.max_ram = Some(value);
                    } else {
                        args.max_flash = Some(value);
                    }
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown argument `{other}`; expected `target`, `input_shape`, `max_ram`, `max_flash` or `self_test`"
                        ),
                    ))
                }
            }
        }
        Ok(args)
    }
}

fn expand(args: Args) -> syn::Result<proc_macro2::TokenStream> {
    let err = |span: Span, msg: String| syn::Error::new(span, msg);
    // Relative paths resolve against the invoking crate; `TINYOPS_MANIFEST_DIR`
    // overrides that for builds that compile copies of a crate elsewhere (trybuild).
    let base = std::env::var_os("TINYOPS_MANIFEST_DIR")
        .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR"))
        .map(PathBuf::from)
        .unwrap_or_default();
    let path = base.join(args.path.value());
    let target_name = args.target.as_ref().map_or("host".to_string(), LitStr::value);
    let target = tinyops_compiler::lookup_target(&target_name)
        .map_err(|m| err(args.target.as_ref().map_or(Span::call_site(), LitStr::span), m))?;
    let mut shapes = BTreeMap::new();
    for s in &args.shapes {
        let v = s.value();
        let (name, dims) = v.rsplit_once('=').ok_or_else(|| err(s.span(), "expected \"NAME=D0,D1,…\"".into()))?;
        let dims: Vec<usize> = dims
            .split(',')
            .map(|d| d.trim().parse())
            .collect::<Result<_, _>>()
            .map_err(|_| err(s.span(), "dimensions must be non-negative integers".into()))?;
        shapes.insert(name.to_string(), dims);
    }
    let opts = tinyops_compiler::Options {
        target,
        input_shapes: shapes,
        dump_ir: false,
        weights: tinyops_compiler::backend::rust::WeightsMode::Inline,
        require_int8: false,
        frozen: Default::default(),
        self_test: if args.self_test.as_ref().is_none_or(|b| b.value) {
            tinyops_compiler::golden::GoldenSource::Reference
        } else {
            tinyops_compiler::golden::GoldenSource::Off
        },
    };
    let limit = |l: &Option<LitInt>| -> syn::Result<Option<usize>> { l.as_ref().map(LitInt::base10_parse).transpose() };
    let budget =
        tinyops_compiler::budget::Budget { max_ram: limit(&args.max_ram)?, max_flash: limit(&args.max_flash)? };
    let c = tinyops_compiler::compile(&path, &opts).map_err(|e| err(args.path.span(), e.to_string()))?;
    budget.check(&c).map_err(|e| err(Span::call_site(), e.to_string()))?;
    let items: proc_macro2::TokenStream = c
        .generated
        .code
        .parse()
        .map_err(|e| err(Span::call_site(), format!("tinyops generated code that does not lex: {e}")))?;
    let track = path.display().to_string();
    Ok(quote! {
        const _: &[u8] = include_bytes!(#track);
        #items
    })
}

/// Compiles an ONNX model into Rust items (see the crate documentation).
#[proc_macro]
pub fn include_model(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as Args);
    match expand(args) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(src: &str) -> String {
        let args: Args = syn::parse_str(src).expect("arguments parse");
        match expand(args) {
            Ok(t) => t.to_string(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn errors_carry_the_compiler_message() {
        let missing = expand_str(r#""no/such/model.onnx""#);
        assert!(missing.contains("no/such/model.onnx") && missing.contains("No such file"), "{missing}");
        let target = expand_str(r#""../compiler/demo/model.onnx", target = "cortex-m7""#);
        assert!(target.contains("unknown target `cortex-m7`"), "{target}");
        let shape = expand_str(r#""../compiler/demo/model.onnx", input_shape = "input""#);
        assert!(shape.contains("NAME=D0,D1"), "{shape}");
        assert!(syn::parse_str::<Args>(r#""m.onnx", colour = "red""#).is_err());
    }

    #[test]
    fn the_expansion_tracks_the_model_file_and_inlines_weights() {
        let out = expand_str(r#""../compiler/demo/model.onnx""#);
        assert!(out.contains("include_bytes !") && out.contains("demo/model.onnx"), "{}", &out[..200]);
        assert!(out.contains("pub struct Model") && out.contains("static W0_"));
        assert!(!out.contains("include_bytes ! (\"weights/"), "weights are inline, not files");
        assert!(out.contains("fn self_test") && out.contains("GOLDEN_IN0"), "a self-test by default");
        let off = expand_str(r#""../compiler/demo/model.onnx", self_test = false"#);
        assert!(
            off.contains("fn run")
                && !off.contains("fn self_test")
                && !off.contains("GOLDEN")
                && off.contains("self_test=off"),
            "opted out"
        );
        let bad = syn::parse_str::<Args>(r#""m.onnx", self_test = "no""#).err().map(|e| e.to_string());
        assert_eq!(bad.as_deref(), Some("`self_test` takes `true` or `false`"));
    }
}
