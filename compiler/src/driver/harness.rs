//! The host harness: a small std binary around a generated model crate. It reads
//! input sets from stdin, runs the model, and writes the outputs to stdout; with
//! `--bench N` it instead times N runs of the first set (after up to 10 warm-up runs)
//! and prints the N durations in nanoseconds on one line; with `--trace` it runs the
//! first set through `run_observed` and writes, step after step, the bytes of every
//! operand the step wrote (see [`trace_writes`]), as they were right after that step;
//! with `--profile N` it times every step of N runs of the first set (after up to 10
//! warm-up runs, through `run_observed`) and prints each step's median in nanoseconds
//! on one line.
//!
//! Wire format (little-endian): stdin = u32 set count, then each set's inputs'
//! elements back to back; stdout = each set's outputs' elements back to back.

use crate::backend::rust::tokens::usize_lit;
use crate::ir::{DType, Graph};
use crate::Compilation;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

fn elem(d: DType) -> proc_macro2::TokenStream {
    let id = format_ident!("{}", d.rust_type());
    quote!(#id)
}

/// The harness crate's `Cargo.toml`; `runtime` is the `tinyops-runtime` dependency
/// line (the harness implements its `Observer` for `--trace`).
pub fn cargo_toml(bin: &str, model_crate: &str, model_path: &str, runtime: &str) -> String {
    format!(
        "[package]\nname = \"{bin}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{model_crate} = {{ path = {model_path:?} }}\n{runtime}\n\
         [profile.release]\nopt-level = 3\ncodegen-units = 1\ndebug = false\n\n[workspace]\n"
    )
}

/// The pieces of harness code that move one data set through a model: statements
/// reading its inputs from `bytes` and declaring its outputs, the `run` arguments, and
/// statements appending the outputs to `out`.
struct Io {
    read_inputs: Vec<TokenStream>,
    make_outputs: Vec<TokenStream>,
    in_args: Vec<TokenStream>,
    out_args: Vec<TokenStream>,
    write_outputs: Vec<TokenStream>,
}

fn io(g: &Graph) -> Io {
    let read_inputs = g
        .inputs()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let (t, n) = (elem(g.ty(v).dtype), usize_lit(g.ty(v).numel()));
            let id = format_ident!("in{}", i);
            quote! {
                let mut #id: Vec<#t> = vec![Default::default(); #n];
                for x in #id.iter_mut() {
                    *x = read_le(&mut bytes);
                }
            }
        })
        .collect();
    let make_outputs = g
        .outputs()
        .iter()
        .enumerate()
        .map(|(k, &v)| {
            let (t, n) = (elem(g.ty(v).dtype), usize_lit(g.ty(v).numel()));
            let id = format_ident!("out{}", k);
            quote!(let mut #id: Vec<#t> = vec![Default::default(); #n];)
        })
        .collect();
    let in_args = (0..g.inputs().len())
        .map(|i| {
            let id = format_ident!("in{}", i);
            quote!(#id.as_slice().try_into().expect("input size"))
        })
        .collect();
    let out_args = (0..g.outputs().len())
        .map(|k| {
            let id = format_ident!("out{}", k);
            quote!(#id.as_mut_slice().try_into().expect("output size"))
        })
        .collect();
    let write_outputs = (0..g.outputs().len())
        .map(|k| {
            let id = format_ident!("out{}", k);
            quote!(for x in &#id { out.extend_from_slice(&x.to_le_bytes()); })
        })
        .collect();
    Io { read_inputs, make_outputs, in_args, out_args, write_outputs }
}

/// Little-endian decoding of every element type a model input can have, and
/// `read_le`, which takes one element off the front of a byte slice.
pub fn le_support() -> TokenStream {
    quote! {
        pub trait Le: Sized { fn from_le(b: &[u8]) -> Self; const N: usize; }
        impl Le for f32 { const N: usize = 4; fn from_le(b: &[u8]) -> Self { f32::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for i8 { const N: usize = 1; fn from_le(b: &[u8]) -> Self { b[0] as i8 } }
        impl Le for u8 { const N: usize = 1; fn from_le(b: &[u8]) -> Self { b[0] } }
        impl Le for i16 { const N: usize = 2; fn from_le(b: &[u8]) -> Self { i16::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for i32 { const N: usize = 4; fn from_le(b: &[u8]) -> Self { i32::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for i64 { const N: usize = 8; fn from_le(b: &[u8]) -> Self { i64::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for f64 { const N: usize = 8; fn from_le(b: &[u8]) -> Self { f64::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for u16 { const N: usize = 2; fn from_le(b: &[u8]) -> Self { u16::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for u32 { const N: usize = 4; fn from_le(b: &[u8]) -> Self { u32::from_le_bytes(b.try_into().unwrap()) } }
        impl Le for u64 { const N: usize = 8; fn from_le(b: &[u8]) -> Self { u64::from_le_bytes(b.try_into().unwrap()) } }

        pub fn read_le<T: Le>(bytes: &mut &[u8]) -> T {
            let (head, tail) = bytes.split_at(T::N);
            *bytes = tail;
            T::from_le(head)
        }
    }
}

/// A harness function `pub fn run(bytes: &[u8], out: &mut Vec<u8>)` running one data
/// set through the model at path `model` (for harnesses that hold many models).
pub fn run_fn(c: &Compilation, model: TokenStream) -> TokenStream {
    let Io { read_inputs, make_outputs, in_args, out_args, write_outputs } = io(&c.graph);
    quote! {
        pub fn run(mut bytes: &[u8], out: &mut Vec<u8>) {
            let _ = &mut bytes;
            let mut arena = Box::new(#model::Arena::new());
            let mut m = #model::Model::new(&mut arena);
            #(#read_inputs)*
            #(#make_outputs)*
            m.run(#(#in_args,)* #(#out_args,)*);
            #(#write_outputs)*
        }
    }
}

/// Per step of the program, where each operand it writes lies, in the order of the
/// step's calls and their writes: `(buffer, byte offset, bytes)`, buffer 0 being the
/// arena and `k + 1` output `k` (an empty operand is `(0, 0, 0)`). The order of the
/// JIT's observed writes, so the two traces compare operand by operand.
pub fn trace_writes(p: &crate::lower::Program) -> Vec<Vec<(usize, usize, usize)>> {
    use crate::lower::Place;
    p.steps
        .iter()
        .map(|s| {
            s.calls
                .iter()
                .flat_map(|c| &c.writes)
                .map(|o| match o.place {
                    Place::Arena { offset } => (0, offset, o.bytes()),
                    Place::Output(k) => (k + 1, 0, o.bytes()),
                    Place::Input(_) | Place::Weight(_) | Place::Empty => (0, 0, 0),
                })
                .collect()
        })
        .collect()
}

/// The harness `main.rs` for a compiled model.
pub fn main_rs(c: &Compilation) -> String {
    let model = format_ident!("{}", c.crate_name().replace('-', "_"));
    let Io { read_inputs, make_outputs, in_args, out_args, write_outputs } = io(&c.graph);
    let le = le_support();
    let writes = trace_writes(&c.program).into_iter().map(|step| {
        let w = step.into_iter().map(|(b, o, n)| {
            let (b, o, n) = (usize_lit(b), usize_lit(o), usize_lit(n));
            quote!((#b, #o, #n))
        });
        quote!(&[#(#w),*])
    });
    let tokens = quote! {
        use std::io::{Read, Write};
        use #model as model;

        #le

        /// Per step, the operands it writes: (buffer, byte offset, bytes); buffer 0 is
        /// the arena, k + 1 output k.
        const WRITES: &[&[(usize, usize, usize)]] = &[#(#writes),*];

        /// Collects, after each step, the bytes of every operand it wrote.
        struct Trace(Vec<u8>);

        impl tinyops_runtime::Observer for Trace {
            fn memory(&mut self, step: usize, arena: &[u8], outputs: &[&[u8]]) {
                for &(b, o, n) in WRITES[step] {
                    let buf = if b == 0 { arena } else { outputs[b - 1] };
                    self.0.extend_from_slice(&buf[o..o + n]);
                }
            }
        }

        /// Times every step: per step, the durations of the runs so far.
        struct Profile {
            started: std::time::Instant,
            times: Vec<Vec<u64>>,
        }

        impl tinyops_runtime::Observer for Profile {
            fn before(&mut self, _step: usize, _node: &'static str, _op: &'static str) {
                self.started = std::time::Instant::now();
            }
            fn after(&mut self, step: usize) {
                let ns = self.started.elapsed().as_nanos() as u64;
                if self.times.len() <= step {
                    self.times.resize(step + 1, Vec::new());
                }
                self.times[step].push(ns);
            }
        }

        fn body() {
            let args: Vec<String> = std::env::args().collect();
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input).expect("stdin");
            let mut bytes: &[u8] = &input;
            let sets: u32 = u32::from_le_bytes(bytes[..4].try_into().unwrap());
            bytes = &bytes[4..];
            let mut arena = Box::new(model::Arena::new());
            let mut m = model::Model::new(&mut arena);
            let mut out: Vec<u8> = Vec::new();
            let trace = args.get(1).map(String::as_str) == Some("--trace");
            let bench: Option<usize> = if args.get(1).map(String::as_str) == Some("--bench") {
                Some(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100))
            } else {
                None
            };
            let profile: Option<usize> = if args.get(1).map(String::as_str) == Some("--profile") {
                Some(args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100))
            } else {
                None
            };
            for _ in 0..sets {
                #(#read_inputs)*
                #(#make_outputs)*
                if let Some(runs) = bench {
                    for _ in 0..runs.min(10) {
                        m.run(#(#in_args,)* #(#out_args,)*);
                    }
                    let mut times = Vec::with_capacity(runs);
                    for _ in 0..runs {
                        let t = std::time::Instant::now();
                        m.run(#(#in_args,)* #(#out_args,)*);
                        times.push(t.elapsed().as_nanos() as u64);
                    }
                    let line: Vec<String> = times.iter().map(u64::to_string).collect();
                    println!("{}", line.join(" "));
                    return;
                }
                if let Some(runs) = profile {
                    for _ in 0..runs.min(10) {
                        m.run(#(#in_args,)* #(#out_args,)*);
                    }
                    let mut p = Profile { started: std::time::Instant::now(), times: Vec::new() };
                    for _ in 0..runs.max(1) {
                        m.run_observed(#(#in_args,)* #(#out_args,)* &mut p);
                    }
                    let line: Vec<String> = p
                        .times
                        .iter_mut()
                        .map(|t| {
                            t.sort_unstable();
                            t[t.len() / 2].to_string()
                        })
                        .collect();
                    println!("{}", line.join(" "));
                    return;
                }
                if trace {
                    let mut t = Trace(Vec::new());
                    m.run_observed(#(#in_args,)* #(#out_args,)* &mut t);
                    std::io::stdout().write_all(&t.0).expect("stdout");
                    return;
                }
                m.run(#(#in_args,)* #(#out_args,)*);
                #(#write_outputs)*
            }
            std::io::stdout().write_all(&out).expect("stdout");
        }

        fn main() {
            // Large arenas and inputs live on a big stack, never the default 8 MiB one.
            std::thread::Builder::new().stack_size(512 << 20).spawn(body).expect("thread").join().expect("harness");
        }
    };
    let file: syn::File = syn::parse2(tokens).expect("harness tokens parse");
    format!("// tinyops verification harness for {} (generated).\n{}", c.graph.name, prettyplease::unparse(&file))
}
