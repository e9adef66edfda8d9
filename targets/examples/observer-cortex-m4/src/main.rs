//! Timing every layer with the firmware's own counter: the tinyops demo model (a
//! 10-class CNN on a 16×16 input, `compiler/demo`) is compiled into this firmware by
//! `include_model!` and run once through the generated `Model::run_observed`, whose
//! observer (`tinyops_runtime::Observer`) reads SysTick before and after each step.
//! The firmware prints one line per layer (step, op, SysTick ticks, instructions,
//! node) and the sum, then exits with status 0.
//!
//! The counter: DWT CYCCNT reads 0 in QEMU 7.2, so SysTick it is. QEMU runs this
//! firmware with `-icount shift=0` (see `.cargo/config.toml`): every instruction then
//! advances the virtual clock by 2^0 = 1 ns, and SysTick, clocked from the core clock
//! of mps2-an386 (25 MHz, QEMU's `hw/arm/mps2.c`), ticks once per 40 ns — once per
//! 40 instructions. So instructions = ticks × 40, resolved to about 40 instructions
//! per reading. SysTick is a 24-bit down-counter: the elapsed ticks are the
//! difference of two readings modulo 2^24 (right for layers under 2^24 ticks, 671 M
//! instructions). On a real Cortex-M4 the same observer with SysTick at the core
//! clock counts cycles.
//!
//! Run from this folder: `RUSTC_BOOTSTRAP=1 cargo run --release` (QEMU mps2-an386).

#![no_std]
#![no_main]

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_rt::entry;
use semihosting::println;
use tinyops_runtime::Observer;

mod demo {
    tinyops_macros::include_model!("../../../compiler/demo/model.onnx", target = "cortex-m4");
}

/// The demo's reference input: an ONNX `TensorProto` whose last field is `raw_data`.
const INPUT_PB: &[u8] = include_bytes!("../../../../compiler/demo/test_data_set_0/input_0.pb");

/// The input, decoded at compile time.
static INPUT: [f32; 256] = raw_floats(INPUT_PB);

/// Instructions per SysTick tick under `-icount shift=0` on mps2-an386: 1 ns per
/// instruction, 40 ns per tick of its 25 MHz core clock.
const INSTRUCTIONS_PER_TICK: u32 = 40;

/// SysTick's counter is 24 bits wide.
const SYSTICK_MASK: u32 = 0x00FF_FFFF;

/// The most layers this observer records.
const MAX_LAYERS: usize = 64;

/// The `N` floats of a `TensorProto` whose last field is `raw_data` of `4·N` bytes.
/// Evaluated at compile time: a file of another layout stops the build.
const fn raw_floats<const N: usize>(pb: &[u8]) -> [f32; N] {
    // The field's key (number 9, length-delimited) and its length as a varint.
    let mut head = [0u8; 6];
    head[0] = 9 << 3 | 2;
    let (mut len, mut n) = (N * 4, 1);
    while len >= 0x80 {
        head[n] = (len & 0x7f) as u8 | 0x80;
        len >>= 7;
        n += 1;
    }
    head[n] = len as u8;
    n += 1;
    assert!(pb.len() >= N * 4 + n, "the tensor file is too short");
    let start = pb.len() - N * 4;
    let mut i = 0;
    while i < n {
        assert!(pb[start - n + i] == head[i], "the tensor file does not end with raw_data of the expected size");
        i += 1;
    }
    let mut out = [0f32; N];
    let mut k = 0;
    while k < N {
        let b = start + 4 * k;
        out[k] = f32::from_le_bytes([pb[b], pb[b + 1], pb[b + 2], pb[b + 3]]);
        k += 1;
    }
    out
}

/// One observed layer.
#[derive(Clone, Copy)]
struct Layer {
    node: &'static str,
    op: &'static str,
    ticks: u32,
}

/// The observer: SysTick before and after each step, kept in fixed memory.
struct LayerTimer {
    start: u32,
    layers: [Layer; MAX_LAYERS],
    count: usize,
}

impl Observer for LayerTimer {
    fn before(&mut self, step: usize, node: &'static str, op: &'static str) {
        if let Some(l) = self.layers.get_mut(step) {
            l.node = node;
            l.op = op;
        }
        // Read last, so that the bookkeeping above is not counted.
        self.start = SYST::get_current();
    }

    fn after(&mut self, step: usize) {
        // Read first; SysTick counts down.
        let now = SYST::get_current();
        let ticks = self.start.wrapping_sub(now) & SYSTICK_MASK;
        if let Some(l) = self.layers.get_mut(step) {
            l.ticks = ticks;
        }
        self.count = self.count.max(step + 1);
    }
}

#[entry]
fn main() -> ! {
    let Some(mut p) = cortex_m::Peripherals::take() else {
        panic!("the core peripherals were taken twice");
    };
    p.SYST.set_clock_source(SystClkSource::Core);
    p.SYST.set_reload(SYSTICK_MASK);
    p.SYST.clear_current();
    p.SYST.enable_counter();

    let mut arena = demo::Arena::new();
    let mut model = demo::Model::new(&mut arena);
    let mut probabilities = [0f32; 10];
    let mut timer = LayerTimer { start: 0, layers: [Layer { node: "", op: "", ticks: 0 }; MAX_LAYERS], count: 0 };
    model.run_observed(&INPUT, &mut probabilities, &mut timer);

    println!("tinyops observer example on {}: {} layers, SysTick ×{INSTRUCTIONS_PER_TICK} instructions per tick", demo::TARGET, timer.count);
    let mut total = 0u64;
    if timer.count > MAX_LAYERS {
        println!("FAILED: the model has {} layers; this observer records {MAX_LAYERS}", timer.count);
        semihosting::process::exit(1)
    }
    for (i, l) in timer.layers[..timer.count].iter().enumerate() {
        let insns = l.ticks as u64 * INSTRUCTIONS_PER_TICK as u64;
        total += insns;
        println!("layer {i:>3} {:<14} {:>8} ticks {:>10} instructions  {}", l.op, l.ticks, insns, l.node);
    }
    println!("total {total} instructions");
    if total == 0 {
        println!("FAILED: no counts (is QEMU running with -icount shift=0?)");
        semihosting::process::exit(1)
    }
    semihosting::process::exit(0)
}
