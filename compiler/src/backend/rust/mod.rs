//! The Rust backend: a lowered [`Program`] → one Rust module (tokens built with
//! `quote`, formatted by prettyplease) plus the weight files it includes.
//!
//! The module holds the manifest constants, one named static per weight (so each shows
//! up in the linker map), the `Arena` type the caller owns, and `Model::run`, which
//! makes the program's kernel calls on views of the arena. It uses no `unsafe`, no
//! `static mut`, and nothing but `tinyops_runtime`. This backend decides nothing: every
//! kernel, implementation and offset comes from the lowering, which has already
//! checked that each view can be formed.

pub mod call;
pub mod names;
mod stream;
pub mod tokens;

use crate::error::Error;
use crate::golden::Golden;
use crate::lower::{InPlaceCall, KernelCall, Operand, Overlap, Place, Program};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use tinyops_runtime::check::Rule;
use tinyops_targets::Target;

/// Doc-attribute prefix marking per-step comments, which become `//` comments after
/// formatting (doc comments on blocks are not allowed).
const NODE_MARK: &str = "@node ";

/// How the weights reach the generated code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsMode {
    /// One file per weight, `include_bytes!("<dir>/<SYMBOL>.bin")`, `dir` relative to
    /// the generated file.
    Files(String),
    /// Byte-string literals in the code (for the proc-macro, which writes no files).
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
    /// The compile options in their stable text form ([`crate::Options::text`]).
    pub options: String,
}

/// The manifest's canonical text: one `key=value` line per manifest constant, in a
/// fixed order; `MANIFEST_SHA256` is the SHA-256 of exactly these bytes, so a device
/// reporting that one hash identifies every other constant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestText(pub String);

impl ManifestText {
    /// Builds the text from the program and the manifest facts.
    pub fn new(p: &Program, m: &Manifest) -> Self {
        let shapes = |vs: &[crate::lower::Port]| {
            vs.iter()
                .map(|v| v.ty.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x"))
                .collect::<Vec<_>>()
                .join(";")
        };
        ManifestText(format!(
            "tinyops-manifest-v1\nmodel_sha256={}\ncompiler_version={}\ntarget={}\noptions={}\n\
             arena_bytes={}\nweight_bytes={}\nweights_sha256={}\nmacs={}\nops={}\ninput_shapes={}\noutput_shapes={}\n",
            m.model_sha256,
            env!("CARGO_PKG_VERSION"),
            m.target.name,
            m.options,
            p.arena_bytes,
            p.weight_bytes(),
            weights_sha256(p),
            p.macs,
            p.ops.join(","),
            shapes(&p.inputs),
            shapes(&p.outputs),
        ))
    }

    /// SHA-256 of the text, hex.
    pub fn sha256(&self) -> String {
        crate::sha256_hex(self.0.as_bytes())
    }
}

/// SHA-256 of the weight bytes the module embeds, every weight static in symbol order
/// concatenated (exactly the bytes of the `include_bytes!` files or inline literals).
pub fn weights_sha256(p: &Program) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for w in &p.weights {
        h.update(&w.bytes);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One weight file of the generated module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightFile {
    /// Path relative to the generated file (`weights/W0_CONV1_WEIGHT.bin`).
    pub path: String,
    /// Contents (little-endian).
    pub bytes: Vec<u8>,
}

/// The generated module.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Formatted Rust source of the module body (no inner attributes, so it can be
    /// `include!`d or wrapped in `mod`).
    pub code: String,
    /// Weight files (empty in [`WeightsMode::Inline`]).
    pub weight_files: Vec<WeightFile>,
    /// Rust names of the `run` inputs.
    pub input_names: Vec<String>,
    /// Rust names of the `run` outputs.
    pub output_names: Vec<String>,
    /// The manifest's canonical text (what `MANIFEST_SHA256` hashes).
    pub manifest: ManifestText,
}

struct Names {
    inputs: Vec<proc_macro2::Ident>,
    outputs: Vec<proc_macro2::Ident>,
    weights: Vec<proc_macro2::Ident>,
}

/// The expression of an operand a kernel reads.
fn read_expr(names: &Names, o: &Operand) -> TokenStream {
    let t = call::elem(o.dtype);
    match o.place {
        Place::Input(i) => {
            let id = &names.inputs[i];
            quote!(&#id[..])
        }
        Place::Output(k) => {
            let id = &names.outputs[k];
            quote!(&#id[..])
        }
        Place::Weight(i) => {
            let id = &names.weights[i];
            quote!(rt::arena::weight::<#t, _>(&#id))
        }
        Place::Arena { offset } => {
            let n = o.len;
            quote!(ro.view::<#t>(#offset, #n))
        }
        Place::Empty => quote!(&[]),
    }
}

/// An in-place call: the runtime entry of its [`Overlap`] over the written span
/// (region `w<r>`), the kernel called in a closure on each disjoint piece (`x_`, `y_`);
/// the call's other arena writes (scratch) are cast before the closure (`s<k>_`).
/// The closure's parameters end in an underscore, which no model input or output
/// identifier does ([`names::ident`] trims it), so they never shadow the ports an
/// operand beside the piece reads (a model input `x`, an output `y`).
fn in_place_call(
    names: &Names,
    c: &KernelCall,
    ip: InPlaceCall,
    regions: &[(usize, usize)],
    node: &str,
) -> Result<TokenStream, Error> {
    let internal = |what: &str| Error::Internal(format!("step `{node}`: in-place call {what}"));
    let (lo, _) = ip.span(c).ok_or_else(|| internal("outside the arena"))?;
    let r = regions.iter().position(|r| r.0 == lo).ok_or_else(|| internal("without its region"))?;
    let w = format_ident!("w{}", r);
    let (x, y) = (&c.reads[ip.read], &c.writes[ip.write]);
    let (Place::Arena { offset: xo }, Place::Arena { offset: yo }) = (x.place, y.place) else {
        return Err(internal("outside the arena"));
    };
    let t = call::elem(x.dtype);
    let size = x.dtype.size();
    let (x_at, y_at) = ((xo - lo) / size, (yo - lo) / size);
    let mut params = call::kernel_params(c);
    let mut operands = vec![];
    for (k, o) in c.reads.iter().enumerate() {
        operands.push(if k == ip.read {
            quote!(x_)
        } else if ip.overlap == Overlap::Elementwise {
            let e = read_expr(names, o);
            quote!(#e.get(i_..i_ + x_.len()).unwrap_or(&[]))
        } else {
            read_expr(names, o)
        });
    }
    // Other arena writes (scratch) are cast once, before the closure: the closure is
    // a function of its own when the entry runs it out of line, and a cast inside it
    // would check the alignment again on every call (and cost its code per layer).
    let mut bound = vec![];
    for (k, o) in c.writes.iter().enumerate() {
        let ot = call::elem(o.dtype);
        operands.push(match o.place {
            _ if k == ip.write => quote!(y_),
            Place::Arena { offset } => {
                let r = regions.iter().position(|r| r.0 == offset).ok_or_else(|| internal("without a region"))?;
                let (wk, sk) = (format_ident!("w{}", r), format_ident!("s{}_", k));
                bound.push(quote!(let #sk = rt::arena::cast_mut::<#ot>(&mut *#wk);));
                quote!(&mut *#sk)
            }
            Place::Output(k) => {
                let id = &names.outputs[k];
                quote!(&mut #id[..])
            }
            Place::Empty => quote!(&mut []),
            Place::Input(_) | Place::Weight(_) => return Err(internal("writes a read-only operand")),
        });
    }
    let buf = quote!(rt::arena::cast_mut::<#t>(&mut *#w));
    Ok(match ip.overlap {
        Overlap::ConvRows => {
            let p = params.first().cloned().ok_or_else(|| internal("without its geometry"))?;
            params[0] = quote!(q_);
            let body = call::statement_with(c, params, operands);
            // The plan (the bounds of where the output may start) is a constant: the
            // generated code computes nothing of it when it runs.
            quote!({
                const ROWS: Option<rt::kernels::inplace::Rows> = rt::kernels::inplace::Rows::new(#p);
                #(#bound)*
                rt::kernels::inplace::conv_rows_planned::<#t>(&ROWS, #buf, #x_at, #y_at, |q_, x_, y_| { #body });
            })
        }
        Overlap::Elementwise => {
            let n = x.len;
            if !params.is_empty() {
                params[0] = quote!(&rt::kernels::Broadcast::flat(x_.len()));
            }
            let body = call::statement_with(c, params, operands);
            if bound.is_empty() {
                quote!(rt::kernels::inplace::elementwise::<#t>(#buf, #n, |i_, x_, y_| { #body });)
            } else {
                quote!({
                    #(#bound)*
                    rt::kernels::inplace::elementwise::<#t>(#buf, #n, |i_, x_, y_| { #body });
                })
            }
        }
    })
}

/// Generates the module of a lowered program.
/// The initialiser of a byte static: a file beside the module, or an inline literal.
fn blob(mode: &WeightsMode, symbol: &str, bytes: &[u8], files: &mut Vec<WeightFile>) -> TokenStream {
    match mode {
        WeightsMode::Files(dir) => {
            let path = format!("{dir}/{symbol}.bin");
            files.push(WeightFile { path: path.clone(), bytes: bytes.to_vec() });
            quote!(*include_bytes!(#path))
        }
        WeightsMode::Inline => {
            let lit = Literal::byte_string(bytes);
            quote!(*#lit)
        }
    }
}

fn rule_tokens(r: Rule) -> TokenStream {
    match r {
        Rule::Exact => quote!(rt::check::Rule::Exact),
        Rule::Float { atol, rtol } => {
            let (a, r) = (Literal::f64_unsuffixed(atol), Literal::f64_unsuffixed(rtol));
            quote!(rt::check::Rule::Float { atol: #a, rtol: #r })
        }
        Rule::Steps { step } => {
            let s = Literal::f64_unsuffixed(step);
            quote!(rt::check::Rule::Steps { step: #s })
        }
    }
}

/// The golden statics and `Model::self_test` (empty without golden vectors).
fn self_test(
    p: &Program,
    names: &Names,
    golden: Option<&Golden>,
    mode: &WeightsMode,
    files: &mut Vec<WeightFile>,
) -> (TokenStream, TokenStream) {
    let Some(g) = golden else { return (quote!(), quote!()) };
    let mut statics = TokenStream::new();
    let mut body = TokenStream::new();
    let mut args = vec![];
    let mut stack = 0usize;
    for (i, (t, port)) in g.inputs.iter().zip(&p.inputs).enumerate() {
        let sym = format!("GOLDEN_IN{i}");
        let (id, bytes) = (format_ident!("{}", sym), t.data.to_le_bytes());
        let n = bytes.len();
        let init = blob(mode, &sym, &bytes, files);
        let doc = format!(" Self-test golden input `{}` ({n} B).", port.name);
        statics.extend(quote! { #[doc = #doc] static #id: rt::Align16<[u8; #n]> = rt::Align16(#init); });
        let (ty, len) = (call::elem(port.ty.dtype), port.ty.numel());
        let local = &names.inputs[i];
        body.extend(quote! {
            let Some(#local) = rt::arena::cast_array::<#ty, #len>(&#id.0) else {
                return rt::check::SelfTest::Corrupt;
            };
        });
        args.push(quote!(#local));
    }
    let mut checks = TokenStream::new();
    for (k, ((t, port), rule)) in g.outputs.iter().zip(&p.outputs).zip(&g.rules).enumerate() {
        let sym = format!("GOLDEN_OUT{k}");
        let (id, bytes) = (format_ident!("{}", sym), t.data.to_le_bytes());
        let n = bytes.len();
        stack += port.ty.bytes();
        let init = blob(mode, &sym, &bytes, files);
        let doc = format!(" Self-test expected output `{}` ({n} B).", port.name);
        statics.extend(quote! { #[doc = #doc] static #id: rt::Align16<[u8; #n]> = rt::Align16(#init); });
        let (ty, len) = (call::elem(port.ty.dtype), port.ty.numel());
        let local = &names.outputs[k];
        let zero = if port.ty.dtype.rust_type().starts_with('f') { quote!(0.0) } else { quote!(0) };
        body.extend(quote! { let mut #local = [#zero; #len]; });
        args.push(quote!(&mut #local));
        let (name, rule) = (&port.name, rule_tokens(*rule));
        checks.extend(quote! {
            {
                let r = rt::check::check(#k, #name, &#local, rt::arena::cast::<#ty>(&#id.0), #rule);
                if !r.passed() {
                    return r;
                }
            }
        });
    }
    let doc = format!(
        " Runs the golden input embedded at compile time (from the {}) and checks every output under the rule chosen then (see `OPTIONS`): [`rt::check::SelfTest::Pass`], or which output failed, at which element and by how much. Uses the bound arena and {stack} B of stack for the outputs; allocates nothing, cannot panic.",
        if g.origin == "data" { "reference data set" } else { "compiler's reference evaluator on a pseudo-random input" }
    );
    let method = quote! {
        #[doc = #doc]
        pub fn self_test(&mut self) -> rt::check::SelfTest {
            #body
            self.run(#(#args),*);
            #checks
            rt::check::SelfTest::Pass
        }
    };
    (statics, method)
}

/// What a step's code needs: the arena regions `(offset, bytes)` it writes, whether
/// it reads the arena elsewhere, and its statements.
type StepCode = (Vec<(usize, usize)>, bool, TokenStream);

/// The code of a step whose calls run one after another.
fn plain_step(names: &Names, step: &crate::lower::Step) -> Result<StepCode, Error> {
    // The arena regions this step writes: each written arena operand once.
    // An in-place call writes the span of its result and the input under it.
    let mut regions: Vec<(usize, usize)> = vec![];
    for c in &step.calls {
        for (k, o) in c.writes.iter().enumerate() {
            let region = match c.in_place {
                Some(ip) if ip.write == k => ip.span(c).map(|(lo, hi)| (lo, hi - lo)),
                _ => match o.place {
                    Place::Arena { offset } => Some((offset, o.bytes())),
                    _ => None,
                },
            };
            if let Some((offset, bytes)) = region {
                if !regions.iter().any(|r| r.0 == offset) {
                    regions.push((offset, bytes));
                }
            }
        }
    }
    let reads_arena = step.calls.iter().any(|c| {
        c.reads
            .iter()
            .enumerate()
            .any(|(k, o)| matches!(o.place, Place::Arena { .. }) && c.in_place.is_none_or(|ip| ip.read != k))
    });
    let mut calls = TokenStream::new();
    for c in &step.calls {
        if let Some(ip) = c.in_place {
            calls.extend(in_place_call(names, c, ip, &regions, &step.node)?);
            continue;
        }
        let mut operands: Vec<TokenStream> = c.reads.iter().map(|o| read_expr(names, o)).collect();
        for o in &c.writes {
            let t = call::elem(o.dtype);
            operands.push(match o.place {
                Place::Output(k) => {
                    let id = &names.outputs[k];
                    quote!(&mut #id[..])
                }
                Place::Arena { offset } => {
                    let r = regions.iter().position(|r| r.0 == offset).unwrap_or(0);
                    let w = format_ident!("w{}", r);
                    quote!(rt::arena::cast_mut::<#t>(&mut *#w))
                }
                Place::Input(_) | Place::Weight(_) => {
                    return Err(Error::Internal(format!("step `{}` writes a read-only operand", step.node)))
                }
                Place::Empty => quote!(&mut []),
            });
        }
        calls.extend(call::statement(c, operands));
    }
    Ok((regions, reads_arena, calls))
}

/// Generates the module of a lowered program; `golden` adds `Model::self_test`.
pub fn generate(
    p: &Program,
    manifest: &Manifest,
    weights_mode: &WeightsMode,
    golden: Option<&Golden>,
) -> Result<Generated, Error> {
    let input_names = names::unique_idents(p.inputs.iter().map(|v| v.name.as_str()), "input");
    let output_names = names::unique_idents_avoiding(p.outputs.iter().map(|v| v.name.as_str()), "output", &input_names);
    let names = Names {
        inputs: input_names.iter().map(|s| format_ident!("{}", s)).collect(),
        outputs: output_names.iter().map(|s| format_ident!("{}", s)).collect(),
        weights: p.weights.iter().map(|w| format_ident!("{}", w.symbol)).collect(),
    };

    // Weights: one aligned static each.
    let mut weight_files = vec![];
    let mut statics = TokenStream::new();
    for (w, id) in p.weights.iter().zip(&names.weights) {
        let n = w.bytes.len();
        let doc = format!(" `{}`: {} ({n} B).", w.source, w.ty);
        let init = blob(weights_mode, &w.symbol, &w.bytes, &mut weight_files);
        statics.extend(quote! {
            #[doc = #doc]
            static #id: rt::Align16<[u8; #n]> = rt::Align16(#init);
        });
    }

    let mut body = TokenStream::new();
    let mut uses_arena = false;
    // What each step shows an observer's `memory`: the arena and every output, as bytes.
    let touches_arena = p
        .steps
        .iter()
        .flat_map(|s| &s.calls)
        .flat_map(|c| c.reads.iter().chain(&c.writes))
        .any(|o| matches!(o.place, Place::Arena { .. }));
    let arena_view = if touches_arena { quote!(&*arena) } else { quote!(&self.arena.0 .0) };
    let out_views: Vec<TokenStream> = names.outputs.iter().map(|id| quote!(rt::arena::as_bytes(&#id[..]))).collect();
    for (i, step) in p.steps.iter().enumerate() {
        let (regions, reads_arena, calls) = match &step.stream {
            Some(sc) => stream::group(&names, step, sc)?,
            None => plain_step(&names, step)?,
        };
        let comment = format!("{NODE_MARK}{i} · {} `{}`: {}", step.op, step.node, step.signature);
        let (node, op) = (&step.node, step.op);
        let ws: Vec<_> = (0..regions.len()).map(|i| format_ident!("w{}", i)).collect();
        let regs = regions.iter().map(|&(o, b)| quote!((#o, #b)));
        let ro = if reads_arena { quote!(ro) } else { quote!(_) };
        let split = if regions.is_empty() && !reads_arena {
            quote!()
        } else {
            uses_arena = true;
            quote!(let (#ro, [#(#ws),*]) = rt::arena::split(&mut *arena, [#(#regs),*]);)
        };
        body.extend(quote! {
            #[doc = #comment]
            {
                obs.before(#i, #node, #op);
                #split
                #calls
                obs.memory(#i, #arena_view, &[#(#out_views),*]);
                obs.after(#i);
            }
        });
    }

    let bind_arena = if uses_arena {
        quote!(let arena: &mut [u8] = &mut self.arena.0 .0;)
    } else {
        quote!(let _ = &mut self.arena;)
    };
    let arena_bytes = p.arena_bytes;
    let weight_bytes = p.weight_bytes();
    let macs = p.macs;
    let params_in: Vec<TokenStream> = p
        .inputs
        .iter()
        .zip(&names.inputs)
        .map(|(v, id)| {
            let (t, n) = (call::elem(v.ty.dtype), v.ty.numel());
            quote!(#id: &[#t; #n])
        })
        .collect();
    let params_out: Vec<TokenStream> = p
        .outputs
        .iter()
        .zip(&names.outputs)
        .map(|(v, id)| {
            let (t, n) = (call::elem(v.ty.dtype), v.ty.numel());
            quote!(#id: &mut [#t; #n])
        })
        .collect();
    let (params_in2, params_out2) = (params_in.clone(), params_out.clone());
    let (in_ids, out_ids) = (&names.inputs, &names.outputs);
    let shape_consts = |shapes: Vec<&[usize]>, kind: &str| {
        let shapes = shapes.into_iter().map(|s| {
            let dims = s.iter().map(|&d| Literal::usize_unsuffixed(d));
            quote!(&[#(#dims),*])
        });
        let doc = format!(" Shapes of the model {kind}s, in `run` parameter order.");
        let id = format_ident!("{}_SHAPES", kind.to_uppercase());
        quote! { #[doc = #doc] pub const #id: &[&[usize]] = &[#(#shapes),*]; }
    };
    let in_shapes = shape_consts(p.inputs.iter().map(|v| v.ty.shape.as_slice()).collect(), "input");
    let out_shapes = shape_consts(p.outputs.iter().map(|v| v.ty.shape.as_slice()).collect(), "output");
    let ops = p.ops.iter();
    let (sha, version, target) = (&manifest.model_sha256, env!("CARGO_PKG_VERSION"), manifest.target.name);
    let options = &manifest.options;
    let manifest_text = ManifestText::new(p, manifest);
    let (weights_sha, manifest_sha) = (weights_sha256(p), manifest_text.sha256());
    let run_doc = format!(
        " Runs the model once: reads {}, writes {}. Allocates nothing; uses only the arena.",
        input_names.join(", "),
        output_names.join(", ")
    );
    // Kernels of instruction sets a build may lack: a clear error rather than a path
    // that does not resolve.
    let mut guards = TokenStream::new();
    let mut isas: Vec<crate::lower::Isa> = p.steps.iter().flat_map(|s| s.calls.iter().map(|c| c.isa)).collect();
    isas.sort();
    isas.dedup();
    for isa in isas {
        if let Some((pred, flags)) = isa.build_requirement() {
            let pred: TokenStream =
                pred.parse().map_err(|e| Error::Internal(format!("cfg predicate of {isa}: {e}")))?;
            let msg = format!(
                "this module was generated for target `{target}` and calls `{isa}` kernels, which need {pred}: build it with {flags}",
                target = manifest.target.name
            );
            guards.extend(quote! {
                #[cfg(not(#pred))]
                compile_error!(#msg);
            });
        }
    }
    let (golden_statics, self_test_fn) = self_test(p, &names, golden, weights_mode, &mut weight_files);
    let tokens = quote! {
        use ::tinyops_runtime as rt;
        #guards

        /// SHA-256 of the ONNX file this module was generated from.
        pub const MODEL_SHA256: &str = #sha;
        /// Version of the tinyops compiler that generated it.
        pub const COMPILER_VERSION: &str = #version;
        /// The target it was generated for.
        pub const TARGET: &str = #target;
        /// The compile options, in tinyops' stable text form.
        pub const OPTIONS: &str = #options;
        /// SHA-256 of the weight bytes this module embeds (every weight static in
        /// symbol order, concatenated).
        pub const WEIGHTS_SHA256: &str = #weights_sha;
        /// SHA-256 of the manifest's canonical text (`tinyops-manifest-v1`, one
        /// `key=value` line per manifest constant): one hash for a device to report.
        pub const MANIFEST_SHA256: &str = #manifest_sha;
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

        #statics
        #golden_statics

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
                self.run_observed(#(#in_ids,)* #(#out_ids,)* &mut rt::NoObserver)
            }

            /// Like `run`, calling `obs` before and after each step (one per scheduled
            /// node that runs code), e.g. to time each operator.
            pub fn run_observed(&mut self, #(#params_in2,)* #(#params_out2,)* obs: &mut impl rt::Observer) {
                #bind_arena
                #body
            }

            #self_test_fn
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
    Ok(Generated { code, weight_files, input_names, output_names, manifest: manifest_text })
}
