//! Code generation: a scheduled, planned graph → one Rust module (tokens built with
//! `quote`, formatted by prettyplease) plus the weight blob it includes.
//!
//! The module contains the manifest constants, the `Arena` type the caller owns, and
//! `Model::run`, which calls one runtime kernel per node on views the memory plan
//! dictates. It uses no `unsafe`, no `static mut`, and nothing but `tinyops_runtime`.

pub mod cx;
pub mod names;
pub mod tokens;

pub use cx::{params, EmitCx, Operand};

use crate::error::{Error, NodeRef, Problem};
use crate::ir::{DType, Graph, TensorType, ValueId};
use crate::ops::OpError;
use crate::plan::{Loc, Plan};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::collections::{BTreeSet, HashMap};
use tinyops_targets::Target;

/// Doc-attribute prefix marking per-node comments, which become `//` comments after
/// formatting (doc comments on blocks are not allowed).
const NODE_MARK: &str = "@node ";

/// How the weight blob reaches the generated code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsMode {
    /// `include_bytes!("<path>")`, path relative to the generated file.
    File(String),
    /// A byte-string literal in the code (for the proc-macro, which writes no files).
    Inline,
}

/// Facts the generated manifest records.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// SHA-256 of the model file, hex.
    pub model_sha256: String,
    /// The model file name.
    pub source: String,
    /// The target.
    pub target: &'static Target,
}

/// The generated module.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Formatted Rust source of the module body (no inner attributes, so it can be
    /// `include!`d or wrapped in `mod`).
    pub code: String,
    /// The weight blob (little-endian, each tensor aligned to its element size, ≥ 4).
    pub weights: Vec<u8>,
    /// Rust names of the `run` parameters: inputs, then outputs.
    pub input_names: Vec<String>,
    /// Rust names of the outputs.
    pub output_names: Vec<String>,
    /// Total multiply-accumulates of one run.
    pub macs: u64,
}

fn rust_elem(d: DType) -> TokenStream {
    let id = format_ident!("{}", d.rust_type());
    quote!(#id)
}

fn err_at(g: &Graph, node: crate::ir::NodeId, e: OpError) -> Error {
    let nd = g.node(node);
    let node = NodeRef {
        name: nd.name.clone(),
        op_type: nd.op.name().to_string(),
        domain: crate::error::IR_DOMAIN.into(),
        opset: 0,
    };
    let problems = vec![match e {
        OpError::Invalid(detail) => Problem::Invalid { node, detail },
        OpError::Unsupported(detail) => Problem::Unsupported { node, detail },
    }];
    Error::Model { path: g.name.clone().into(), problems }
}

/// Generates the module for a planned graph.
pub fn generate(g: &Graph, plan: &Plan, manifest: &Manifest, weights_mode: &WeightsMode) -> Result<Generated, Error> {
    // Weight blob: every constant a node reads or an output returns, in first-use order.
    let mut blob: Vec<u8> = vec![];
    let mut const_off: HashMap<ValueId, usize> = HashMap::new();
    let mut consts: Vec<ValueId> = vec![];
    for &n in &plan.order {
        consts.extend(g.node(n).inputs.iter().flatten().filter(|v| g.const_of(**v).is_some()));
    }
    consts.extend(plan.final_copies.iter().map(|&(_, v)| v).filter(|v| g.const_of(*v).is_some()));
    for v in consts {
        if const_off.contains_key(&v) {
            continue;
        }
        let t = g.const_of(v).expect("filtered to constants");
        // Each weight is aligned for its element type (at least 4 bytes, so 8-bit
        // weights can be read a word at a time); the blob itself is 16-byte aligned.
        let align = t.dtype().size().max(4);
        blob.resize(blob.len().div_ceil(align) * align, 0);
        const_off.insert(v, blob.len());
        blob.extend(t.data.to_le_bytes());
    }
    let weight_bytes = blob.len();

    let inputs = names::unique_idents(g.inputs().iter().map(|&v| g.value(v).name.as_str()), "input");
    let outputs =
        names::unique_idents_avoiding(g.outputs().iter().map(|&v| g.value(v).name.as_str()), "output", &inputs);
    let in_ids: Vec<_> = inputs.iter().map(|s| format_ident!("{}", s)).collect();
    let out_ids: Vec<_> = outputs.iter().map(|s| format_ident!("{}", s)).collect();

    let view_in = |v: ValueId| -> TokenStream {
        let ty = g.ty(v);
        let t = rust_elem(ty.dtype);
        let n = ty.numel();
        match plan.loc.get(&v) {
            Some(Loc::Input(i)) => {
                let id = &in_ids[*i];
                quote!(&#id[..])
            }
            Some(Loc::Output(k)) => {
                let id = &out_ids[*k];
                quote!(&#id[..])
            }
            Some(Loc::Const) => {
                let off = const_off.get(&v).copied().unwrap_or(0);
                quote!(rt::arena::cast::<#t>(WEIGHTS.0.get(#off..#off + #n * core::mem::size_of::<#t>()).unwrap_or(&[])))
            }
            Some(Loc::Arena { offset, .. }) => quote!(ro.view::<#t>(#offset, #n)),
            Some(Loc::Unused) | None => quote!(&[]),
        }
    };

    let mut body = TokenStream::new();
    let mut macs: u64 = 0;
    for &n in &plan.order {
        let nd = g.node(n);
        let in_types: Vec<Option<&TensorType>> = nd.inputs.iter().map(|v| v.map(|v| g.ty(v))).collect();
        let out_types: Vec<TensorType> = nd.outputs.iter().map(|&o| g.ty(o).clone()).collect();
        macs += nd.op.def().macs(&in_types, &out_types);
        let is_aliased_view = nd.op.def().is_view() && !plan.copying_views.contains(&n);
        if is_aliased_view {
            continue;
        }
        // Regions this node writes in the arena: its arena outputs, then scratch.
        let mut regions: Vec<(usize, usize)> = vec![];
        let mut out_exprs: Vec<Option<TokenStream>> = vec![];
        for &o in &nd.outputs {
            let t = rust_elem(g.ty(o).dtype);
            match plan.loc.get(&o) {
                Some(Loc::Arena { offset, bytes }) => {
                    let w = format_ident!("w{}", regions.len());
                    regions.push((*offset, *bytes));
                    out_exprs.push(Some(quote!(rt::arena::cast_mut::<#t>(#w))));
                }
                Some(Loc::Output(k)) => {
                    let id = &out_ids[*k];
                    out_exprs.push(Some(quote!(&mut #id[..])));
                }
                _ => out_exprs.push(None),
            }
        }
        let scratch = plan.scratch.get(&n).map(|&(offset, bytes)| {
            let w = format_ident!("w{}", regions.len());
            regions.push((offset, bytes));
            quote!(#w)
        });
        let cx = EmitCx {
            inputs: nd
                .inputs
                .iter()
                .map(|v| v.map(|v| Operand { expr: view_in(v), ty: g.ty(v), value: g.const_of(v) }))
                .collect(),
            outputs: nd
                .outputs
                .iter()
                .zip(out_exprs)
                .map(|(&o, e)| e.map(|expr| Operand { expr, ty: g.ty(o), value: None }))
                .collect(),
            scratch,
            target: manifest.target,
        };
        let call = nd.op.def().emit(&cx).map_err(|e| err_at(g, n, e))?;
        let names: Vec<_> = (0..regions.len()).map(|i| format_ident!("w{}", i)).collect();
        let regs = regions.iter().map(|&(o, b)| quote!((#o, #b)));
        let comment = format!("{NODE_MARK}{} `{}`", nd.op.name(), nd.name);
        body.extend(quote! {
            #[doc = #comment]
            {
                let (ro, [#(#names),*]) = rt::arena::split(&mut *arena, [#(#regs),*]);
                let _ = &ro;
                #call
            }
        });
    }
    for &(k, v) in &plan.final_copies {
        let src = view_in(v);
        let dst = &out_ids[k];
        body.extend(quote! {
            {
                let (ro, []) = rt::arena::split(&mut *arena, []);
                let _ = &ro;
                rt::kernels::portable::copy(#src, &mut #dst[..]);
            }
        });
    }

    let arena_bytes = plan.arena_bytes;
    let params_in = g.inputs().iter().zip(&in_ids).map(|(&v, id)| {
        let (t, n) = (rust_elem(g.ty(v).dtype), g.ty(v).numel());
        quote!(#id: &[#t; #n])
    });
    let params_out = g.outputs().iter().zip(&out_ids).map(|(&v, id)| {
        let (t, n) = (rust_elem(g.ty(v).dtype), g.ty(v).numel());
        quote!(#id: &mut [#t; #n])
    });
    let shape_consts = |vals: &[ValueId], kind: &str| {
        let shapes = vals.iter().map(|&v| {
            let dims = g.ty(v).shape.iter().map(|&d| Literal::usize_unsuffixed(d));
            quote!(&[#(#dims),*])
        });
        let doc = format!("Shapes of the model {kind}s, in `run` parameter order.");
        let id = format_ident!("{}_SHAPES", kind.to_uppercase());
        quote! { #[doc = #doc] pub const #id: &[&[usize]] = &[#(#shapes),*]; }
    };
    let in_shapes = shape_consts(g.inputs(), "input");
    let out_shapes = shape_consts(g.outputs(), "output");
    let ops: BTreeSet<&str> = plan.order.iter().map(|&n| g.node(n).op.name()).collect();
    let ops = ops.into_iter();
    let weights_expr = match weights_mode {
        WeightsMode::File(path) => quote!(*include_bytes!(#path)),
        WeightsMode::Inline => {
            let lit = Literal::byte_string(&blob);
            quote!(*#lit)
        }
    };
    let (sha, version, target) = (&manifest.model_sha256, env!("CARGO_PKG_VERSION"), manifest.target.name);
    let run_doc = format!(
        " Runs the model once: reads {}, writes {}. Allocates nothing; uses only the arena.",
        inputs.join(", "),
        outputs.join(", ")
    );
    let tokens = quote! {
        use ::tinyops_runtime as rt;

        /// SHA-256 of the ONNX file this module was generated from.
        pub const MODEL_SHA256: &str = #sha;
        /// Version of the tinyops compiler that generated it.
        pub const COMPILER_VERSION: &str = #version;
        /// The target it was generated for.
        pub const TARGET: &str = #target;
        /// Bytes of working memory [`Arena`] holds.
        pub const ARENA_BYTES: usize = #arena_bytes;
        /// Bytes of weights in flash.
        pub const WEIGHT_BYTES: usize = #weight_bytes;
        /// Multiply-accumulate operations per run.
        pub const MACS: u64 = #macs;
        /// The IR ops the schedule runs.
        pub const OPS: &[&str] = &[#(#ops),*];
        #in_shapes
        #out_shapes

        static WEIGHTS: rt::Align16<[u8; WEIGHT_BYTES]> = rt::Align16(#weights_expr);

        /// Working memory of the model, owned by the caller: put it on the stack, in a
        /// `static` cell, or in a linker section of your choice.
        pub struct Arena(rt::Align16<[u8; ARENA_BYTES]>);

        impl Arena {
            /// A zeroed arena.
            pub const fn new() -> Self {
                Arena(rt::Align16([0; ARENA_BYTES]))
            }
        }

        impl Default for Arena {
            fn default() -> Self {
                Self::new()
            }
        }

        /// The compiled model, borrowing its arena.
        pub struct Model<'a> {
            arena: &'a mut Arena,
        }

        impl<'a> Model<'a> {
            /// Bytes of working memory the model needs (same as [`ARENA_BYTES`]).
            pub const ARENA_BYTES: usize = ARENA_BYTES;

            /// Binds the model to an arena.
            pub fn new(arena: &'a mut Arena) -> Self {
                Model { arena }
            }

            #[doc = #run_doc]
            pub fn run(&mut self, #(#params_in,)* #(#params_out,)*) {
                let arena: &mut [u8] = &mut self.arena.0 .0;
                #body
            }
        }
    };
    let file: syn::File = syn::parse2(tokens::unsuffixed(tokens))
        .map_err(|e| Error::Internal(format!("generated code does not parse: {e}")))?;
    let header = format!(
        "// Generated by tinyops {version} from `{}` for target `{target}`. Do not edit.\n\
         // Model SHA-256: {sha}\n\n",
        manifest.source
    );
    let code = header + &prettyplease::unparse(&file).replace(&format!("///{NODE_MARK}"), "// ");
    Ok(Generated { code, weights: blob, input_names: inputs, output_names: outputs, macs })
}
