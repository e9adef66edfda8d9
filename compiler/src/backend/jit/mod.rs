//! The JIT backend: a lowered [`Program`] straight to host machine code with
//! cranelift, run in process — no rustc, no C compiler.
//!
//! It consumes exactly what the Rust backend prints: the same schedule, the same arena
//! offsets, the same packed weights, the same kernel choice. The whole model becomes
//! ONE native function `model(io, arena, weights, kernels, observer)` whose shapes,
//! strides, offsets and constants are immediates. Each kernel call is either
//!
//! - **emitted** as shape-specialised cranelift loops ([`emit`]): data movement,
//!   element-wise float ops and every unary function, reductions, pooling and
//!   requantisation (the list is in [`emit`]'s documentation); or
//! - **called** through the host build of the runtime's portable kernel of that family
//!   ([`shims`]: one `extern "C"` shim per family × element types, taking a pointer to
//!   the call's [`Kernel`] — the runtime's parameter record — and its operands).
//!
//! A call the planner put over its own dead input ([`crate::lower::KernelCall::in_place`])
//! is never emitted and never handed to a plain shim (two overlapping slices): it is
//! called through an [`inplace`] shim that runs the runtime's `kernels::inplace` entry
//! over one buffer, as the Rust backend does.
//!
//! The JIT knows no Rust source. A program it cannot run (a call whose implementation
//! is not the portable one, e.g. the AVX2 kernels the `x86-64-v3` target selects, or an
//! element-type combination the runtime lacks) is refused before any code is built,
//! with every such call named — never run through another implementation.

mod emit;
mod inplace;
mod shims;

pub use shims::{RawSlice, Shim};

use crate::ir::{DType, Data, Tensor};
use crate::lower::{Kernel, Operand, Place, Port, Program};
use cranelift_codegen::ir::{
    types, AbiParam, InstBuilder, MemFlags, StackSlotData, StackSlotKind, UserFuncName, Value,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::collections::BTreeMap;
use tinyops_targets::Target;

/// Why the JIT cannot build or run a program.
#[derive(Debug, thiserror::Error)]
pub enum JitError {
    /// Some kernel calls cannot run in the JIT; every one is listed.
    #[error("the JIT engine cannot run {} kernel call{} of this model:\n  - {}", lines.len(), if lines.len() == 1 { "" } else { "s" }, lines.join("\n  - "))]
    Unsupported {
        /// One line per call: node, op, kernel and why.
        lines: Vec<String>,
    },
    /// The target is not one the JIT can run on this machine.
    #[error("the JIT engine runs on this machine only; target `{target}` is {why}")]
    Target {
        /// The target name.
        target: String,
        /// Why not.
        why: String,
    },
    /// Cranelift refused the function (a tinyops bug).
    #[error("cranelift: {0}")]
    Codegen(String),
    /// Run-time inputs that do not fit the model.
    #[error("input {index} (`{name}`): {detail}")]
    Input {
        /// Position.
        index: usize,
        /// ONNX name.
        name: String,
        /// What is wrong.
        detail: String,
    },
}

/// The entry point of a JIT-compiled model.
type Entry = unsafe extern "C" fn(
    io: *const *mut u8,
    arena: *mut u8,
    weights: *const u8,
    kernels: *const Kernel,
    observer: *mut Observation,
);

/// Zeroed bytes aligned to 16, the arena alignment of host targets.
#[derive(Debug, Clone)]
struct Buf {
    chunks: Vec<Chunk>,
    len: usize,
}

#[repr(C, align(16))]
#[derive(Debug, Clone, Copy)]
struct Chunk([u8; 16]);

impl Buf {
    fn zeroed(len: usize) -> Buf {
        Buf { chunks: vec![Chunk([0; 16]); len.div_ceil(16).max(1)], len }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: `chunks` holds at least `len` initialised bytes; u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.chunks.as_ptr() as *const u8, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.chunks.as_mut_ptr() as *mut u8, self.len) }
    }

    fn ptr(&mut self) -> *mut u8 {
        self.chunks.as_mut_ptr() as *mut u8
    }
}

/// What the observer shim records: after each step, the bytes of every operand the
/// step wrote.
#[derive(Debug)]
pub struct Observation {
    io: Vec<*mut u8>,
    n_in: usize,
    arena: *const u8,
    /// Per step, the operands it writes.
    writes: Vec<Vec<Operand>>,
    /// Per step run so far, the bytes of each written operand.
    pub seen: Vec<Vec<Vec<u8>>>,
}

unsafe extern "C" fn observe(obs: *mut Observation, step: usize) {
    // SAFETY: the engine passes its own observation, alive for the whole run.
    let obs = unsafe { &mut *obs };
    let mut got = vec![];
    for op in obs.writes.get(step).map(Vec::as_slice).unwrap_or_default() {
        let base = match op.place {
            Place::Input(i) => obs.io[i] as *const u8,
            Place::Output(k) => obs.io[obs.n_in + k] as *const u8,
            Place::Arena { offset } => unsafe { obs.arena.add(offset) },
            Place::Weight(_) | Place::Empty => std::ptr::null(),
        };
        let n = op.bytes();
        got.push(if base.is_null() || n == 0 {
            vec![]
        } else {
            // SAFETY: the operand lies inside its buffer (checked by the lowering).
            unsafe { std::slice::from_raw_parts(base, n) }.to_vec()
        });
    }
    obs.seen.push(got);
}

/// Per step, the bytes of every operand it wrote (as after that step).
pub type StepWrites = Vec<Vec<Vec<u8>>>;

/// A model compiled to host machine code, with its own arena and weights.
pub struct Engine {
    /// Keeps the machine code alive; freed on drop.
    module: Option<JITModule>,
    entry: Entry,
    kernels: Vec<Kernel>,
    weights: Buf,
    arena: Buf,
    inputs: Vec<Port>,
    outputs: Vec<Port>,
    writes: Vec<Vec<Operand>>,
    observed: bool,
    ir: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("inputs", &self.inputs).field("outputs", &self.outputs).finish_non_exhaustive()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(m) = self.module.take() {
            // SAFETY: `entry` is never called after this; the engine is going away.
            unsafe { m.free_memory() };
        }
    }
}

/// How one kernel call is carried out.
enum How {
    /// Emitted loops, reading their constants (if any) at this offset of the weights.
    Emit {
        consts: Option<usize>,
    },
    Call {
        symbol: String,
        kernel: usize,
    },
}

/// A shim's symbol: its table name made an identifier.
fn symbol(name: &str) -> String {
    let mut s = String::from("tinyops_");
    for ch in name.chars() {
        s.push(if ch.is_ascii_alphanumeric() { ch } else { '_' });
    }
    s.trim_end_matches('_').to_string()
}

/// How to build an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitOptions {
    /// Report every step's written operands ([`Engine::run_observed`]).
    pub observed: bool,
    /// Emit the families of [`emit`] as loops (`false`: call the runtime's kernel for
    /// every call — the reference that locates a difference an emitted loop makes).
    pub loops: bool,
    /// Deliberately corrupt the result of this step: after it runs, bit 6 of the last
    /// byte of the first element of its first written operand is flipped (for a float,
    /// the top exponent bit). Only for testing what finds differences between engines
    /// ([`crate::driver::engine::locate_with`]); never set by the tools.
    pub perturb: Option<usize>,
}

impl Default for JitOptions {
    fn default() -> Self {
        JitOptions { observed: false, loops: true, perturb: None }
    }
}

impl Engine {
    /// Builds the model function of `program` for `target`. With `observed`, the
    /// function also reports every step's written operands ([`Engine::run_observed`]).
    pub fn new(program: &Program, target: &Target, observed: bool) -> Result<Engine, JitError> {
        Engine::with_options(program, target, JitOptions { observed, ..JitOptions::default() })
    }

    /// [`Engine::new`] with every option.
    pub fn with_options(program: &Program, target: &Target, opts: JitOptions) -> Result<Engine, JitError> {
        let observed = opts.observed;
        if !target.is_host() {
            return Err(JitError::Target { target: target.name.into(), why: "a bare-metal target".into() });
        }
        // Every call: emitted, or its shim; all refusals at once.
        let mut hows = vec![];
        let mut kernels = vec![];
        let mut symbols: BTreeMap<String, (String, Shim)> = BTreeMap::new();
        let mut refused = vec![];
        let mut scalars = std::collections::BTreeSet::new();
        let mut constants: Vec<Vec<u8>> = vec![];
        for step in &program.steps {
            if step.stream.is_some() {
                // Never its calls one after another: they read values no buffer holds.
                refused.push(format!(
                    "node `{}` (op {}, {}): a row-streamed group (the JIT runs a plan without streaming: `Compilation::jit_program`)",
                    step.node, step.op, step.signature
                ));
                continue;
            }
            for call in &step.calls {
                if opts.loops && call.in_place.is_none() && emit::emits(call) {
                    scalars.extend(emit::scalars(call).iter().copied());
                    let c = emit::constants(call);
                    hows.push(How::Emit { consts: (!c.is_empty()).then_some(constants.len()) });
                    if !c.is_empty() {
                        constants.push(c);
                    }
                    continue;
                }
                let resolved = match call.in_place {
                    Some(ip) => inplace::resolve(call, ip),
                    None => shims::resolve(call),
                };
                match resolved {
                    Ok((name, shim)) => {
                        let sym = symbol(&name);
                        symbols.entry(sym.clone()).or_insert((name, shim));
                        hows.push(How::Call { symbol: sym, kernel: kernels.len() });
                        kernels.push(call.kernel.clone());
                    }
                    Err(why) => {
                        refused.push(format!("node `{}` (op {}, {}): {why}", step.node, step.op, step.signature))
                    }
                }
            }
        }
        if !refused.is_empty() {
            return Err(JitError::Unsupported { lines: refused });
        }
        // Weights: one aligned blob, each weight at a multiple of 16; then the constants
        // of emitted loops (scales, lookup tables), likewise.
        let mut offsets = vec![];
        let mut end = 0usize;
        for bytes in program.weights.iter().map(|w| &w.bytes).chain(&constants) {
            offsets.push(end);
            end = (end + bytes.len()).next_multiple_of(16);
        }
        let mut weights = Buf::zeroed(end);
        for (bytes, &o) in program.weights.iter().map(|w| &w.bytes).chain(&constants).zip(&offsets) {
            weights.bytes_mut()[o..o + bytes.len()].copy_from_slice(bytes);
        }
        let n_weights = program.weights.len();

        let codegen = |e: &dyn std::fmt::Display| JitError::Codegen(e.to_string());
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").map_err(|e| codegen(&e))?;
        flags.set("is_pic", "false").map_err(|e| codegen(&e))?;
        let isa = cranelift_native::builder()
            .map_err(|e| codegen(&e))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| codegen(&e))?;
        let ptr = isa.pointer_type();
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        for (sym, (_, shim)) in &symbols {
            jb.symbol(sym, *shim as *const u8);
        }
        for name in &scalars {
            let f = emit::scalar::address(name)
                .ok_or_else(|| JitError::Codegen(format!("no scalar function `{name}` for emitted loops")))?;
            jb.symbol(emit::scalar::symbol(name), f);
        }
        jb.symbol("tinyops_observe", observe as *const u8);
        let mut module = JITModule::new(jb);

        let mut shim_sig = module.make_signature();
        shim_sig.params.extend([AbiParam::new(ptr); 3]);
        let mut observe_sig = module.make_signature();
        observe_sig.params.extend([AbiParam::new(ptr); 2]);
        let mut ids = BTreeMap::new();
        for sym in symbols.keys() {
            let id = module.declare_function(sym, Linkage::Import, &shim_sig).map_err(|e| codegen(&e))?;
            ids.insert(sym.clone(), id);
        }
        let observe_id =
            module.declare_function("tinyops_observe", Linkage::Import, &observe_sig).map_err(|e| codegen(&e))?;
        let mut scalar_sig = module.make_signature();
        scalar_sig.params.push(AbiParam::new(types::F32));
        scalar_sig.returns.push(AbiParam::new(types::F32));
        let mut scalar_ids = BTreeMap::new();
        for &name in &scalars {
            let id = module
                .declare_function(&emit::scalar::symbol(name), Linkage::Import, &scalar_sig)
                .map_err(|e| codegen(&e))?;
            scalar_ids.insert(name, id);
        }

        let mut ctx = module.make_context();
        ctx.func.signature.params.extend([AbiParam::new(ptr); 5]);
        let model_id =
            module.declare_function("model", Linkage::Local, &ctx.func.signature).map_err(|e| codegen(&e))?;
        ctx.func.name = UserFuncName::user(0, model_id.as_u32());
        let mut fbc = FunctionBuilderContext::new();
        let mut legend = String::new();
        {
            let mut b = FunctionBuilder::new(&mut ctx.func, &mut fbc);
            let mut refs = BTreeMap::new();
            for (sym, id) in &ids {
                let r = module.declare_func_in_func(*id, b.func);
                legend.push_str(&format!("; {r} = {sym}: {}\n", symbols[sym].0));
                refs.insert(sym.clone(), r);
            }
            let mut scalar_refs = emit::scalar::Scalars::new();
            for (&name, id) in &scalar_ids {
                let r = module.declare_func_in_func(*id, b.func);
                legend.push_str(&format!("; {r} = {}: math::{name}\n", emit::scalar::symbol(name)));
                scalar_refs.insert(name, r);
            }
            let observe_ref = module.declare_func_in_func(observe_id, b.func);
            let entry = b.create_block();
            b.append_block_params_for_function_params(entry);
            b.switch_to_block(entry);
            b.seal_block(entry);
            let [io, arena, wbase, kbase, obs] = <[Value; 5]>::try_from(b.block_params(entry)).expect("five params");
            let max_ops = program.steps.iter().flat_map(|s| &s.calls).map(|c| c.reads.len() + c.writes.len()).max();
            let slot = b.create_sized_stack_slot(StackSlotData::new(
                StackSlotKind::ExplicitSlot,
                max_ops.unwrap_or(0) as u32 * shims::RAW_SLICE_BYTES,
                3,
            ));
            let n_io = (program.inputs.len() + program.outputs.len()) as i32;
            let ptr_bytes = ptr.bytes() as i32;
            let io_ptrs: Vec<Value> =
                (0..n_io).map(|i| b.ins().load(ptr, MemFlags::trusted(), io, i * ptr_bytes)).collect();
            let n_in = program.inputs.len();
            let addr = |b: &mut FunctionBuilder, op: &Operand| -> Value {
                match op.place {
                    Place::Input(i) => io_ptrs[i],
                    Place::Output(k) => io_ptrs[n_in + k],
                    Place::Arena { offset } => b.ins().iadd_imm(arena, offset as i64),
                    Place::Weight(w) => b.ins().iadd_imm(wbase, offsets[w] as i64),
                    Place::Empty => b.ins().iconst(ptr, 0),
                }
            };
            let mut hows = hows.into_iter();
            for (s, step) in program.steps.iter().enumerate() {
                for call in &step.calls {
                    let ops: Vec<(Value, Operand)> =
                        call.reads.iter().chain(&call.writes).map(|op| (addr(&mut b, op), *op)).collect();
                    match hows.next() {
                        Some(How::Emit { consts }) => {
                            let consts = consts.map(|k| b.ins().iadd_imm(wbase, offsets[n_weights + k] as i64));
                            emit::emit(&mut b, call, &ops, &scalar_refs, consts)
                        }
                        Some(How::Call { symbol, kernel }) => {
                            for (i, (v, op)) in ops.iter().enumerate() {
                                let at = i as i32 * shims::RAW_SLICE_BYTES as i32;
                                let len = b.ins().iconst(ptr, op.len as i64);
                                b.ins().stack_store(*v, slot, at);
                                b.ins().stack_store(len, slot, at + ptr_bytes);
                            }
                            let k = b.ins().iconst(ptr, kernel as i64);
                            let block = b.ins().stack_addr(ptr, slot, 0);
                            b.ins().call(refs[&symbol], &[kbase, k, block]);
                        }
                        None => return Err(JitError::Codegen("fewer plans than calls".into())),
                    }
                }
                if opts.perturb == Some(s) {
                    let first =
                        step.calls.iter().flat_map(|c| &c.writes).find(|o| o.len > 0 && o.place != Place::Empty);
                    if let Some(op) = first {
                        let at = addr(&mut b, op);
                        let top = op.dtype.size().max(1) as i32 - 1;
                        let v = b.ins().load(types::I8, MemFlags::trusted(), at, top);
                        let v = b.ins().bxor_imm(v, 0x40);
                        b.ins().store(MemFlags::trusted(), v, at, top);
                    }
                }
                if observed {
                    let idx = b.ins().iconst(ptr, s as i64);
                    b.ins().call(observe_ref, &[obs, idx]);
                }
            }
            b.ins().return_(&[]);
            b.finalize();
        }
        let ir = format!("{legend}{}", ctx.func.display());
        module.define_function(model_id, &mut ctx).map_err(|e| codegen(&format!("{e:?}")))?;
        module.clear_context(&mut ctx);
        module.finalize_definitions().map_err(|e| codegen(&e))?;
        let code = module.get_finalized_function(model_id);
        // SAFETY: `model` was declared with exactly `Entry`'s parameters (five
        // pointers, no results) in the platform's default calling convention.
        let entry = unsafe { std::mem::transmute::<*const u8, Entry>(code) };
        Ok(Engine {
            module: Some(module),
            entry,
            kernels,
            weights,
            arena: Buf::zeroed(program.arena_bytes),
            inputs: program.inputs.clone(),
            outputs: program.outputs.clone(),
            writes: program.steps.iter().map(|s| s.calls.iter().flat_map(|c| c.writes.clone()).collect()).collect(),
            observed,
            ir,
        })
    }

    /// The cranelift IR of the model function (before machine-code generation), with a
    /// legend naming every called kernel.
    pub fn ir(&self) -> &str {
        &self.ir
    }

    /// Runs the model on one set of inputs (in `run` order); returns its outputs.
    pub fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, JitError> {
        self.run_inner(inputs, None)
    }

    /// Runs the model and returns, besides its outputs, the bytes every step wrote
    /// (per step, per written operand, as after that step). The engine must have been
    /// built with `observed`.
    pub fn run_observed(&mut self, inputs: &[Tensor]) -> Result<(Vec<Tensor>, StepWrites), JitError> {
        if !self.observed {
            return Err(JitError::Codegen("run_observed on an engine built without observation".into()));
        }
        let mut obs = Observation {
            io: vec![],
            n_in: self.inputs.len(),
            arena: std::ptr::null(),
            writes: self.writes.clone(),
            seen: vec![],
        };
        let outs = self.run_inner(inputs, Some(&mut obs))?;
        Ok((outs, obs.seen))
    }

    fn run_inner(&mut self, inputs: &[Tensor], obs: Option<&mut Observation>) -> Result<Vec<Tensor>, JitError> {
        if inputs.len() != self.inputs.len() {
            return Err(JitError::Input {
                index: inputs.len().min(self.inputs.len()),
                name: String::new(),
                detail: format!("the model takes {} inputs, {} given", self.inputs.len(), inputs.len()),
            });
        }
        let mut bufs = vec![];
        for (i, (t, port)) in inputs.iter().zip(&self.inputs).enumerate() {
            if t.dtype() != port.ty.dtype || t.data.len() != port.ty.numel() {
                return Err(JitError::Input {
                    index: i,
                    name: port.name.clone(),
                    detail: format!(
                        "expected {} elements of {}, got {} of {}",
                        port.ty.numel(),
                        port.ty.dtype,
                        t.data.len(),
                        t.dtype()
                    ),
                });
            }
            let bytes = t.data.to_le_bytes();
            let mut b = Buf::zeroed(bytes.len());
            b.bytes_mut().copy_from_slice(&bytes);
            bufs.push(b);
        }
        for port in &self.outputs {
            bufs.push(Buf::zeroed(port.ty.bytes()));
        }
        let io: Vec<*mut u8> = bufs.iter_mut().map(Buf::ptr).collect();
        let arena = self.arena.ptr();
        let obs_ptr = match obs {
            Some(o) => {
                o.io = io.clone();
                o.arena = arena;
                o as *mut Observation
            }
            None => std::ptr::null_mut(),
        };
        // SAFETY: the function reads and writes only inside the buffers it was compiled
        // for — the lowering checked every operand against the arena, weight and port
        // sizes, and the buffers passed have exactly those sizes; kernels are this
        // engine's own records, in the order the code indexes them.
        unsafe { (self.entry)(io.as_ptr(), arena, self.weights.ptr(), self.kernels.as_ptr(), obs_ptr) };
        let n_in = self.inputs.len();
        self.outputs
            .iter()
            .zip(&bufs[n_in..])
            .map(|(port, b)| {
                let data = Data::from_le_bytes(port.ty.dtype, b.bytes())
                    .ok_or_else(|| JitError::Codegen(format!("output `{}` has a partial element", port.name)))?;
                Ok(Tensor { shape: port.ty.shape.clone(), data })
            })
            .collect()
    }

    /// The model's inputs.
    pub fn inputs(&self) -> &[Port] {
        &self.inputs
    }

    /// The model's outputs.
    pub fn outputs(&self) -> &[Port] {
        &self.outputs
    }
}

/// The element types the JIT's emitted loops move as raw bits of this many bytes.
fn elem_bytes(d: DType) -> u8 {
    d.size() as u8
}

/// A cranelift integer type of `bytes` bytes.
fn int_type(bytes: u8) -> types::Type {
    match bytes {
        1 => types::I8,
        2 => types::I16,
        4 => types::I32,
        _ => types::I64,
    }
}
