//! The measurements of one benchmark run and the markdown report made of them.
//!
//! Pure code: no process is started and no file is read here, so that `cargo test`
//! checks the tables, the ratios and the quoting on fixed inputs.

use crate::anchors::Anchors;
use serde::{Deserialize, Serialize};

/// The MLPerf Tiny int8 models, in the order of the tables.
pub const INT8_MODELS: &[&str] = &[
    "mlperf_kws_dscnn_int8",
    "mlperf_vww_mbv1_int8",
    "mlperf_ic_resnet8_int8",
    "mlperf_ad_autoencoder_int8",
    "mlperf_ic_resnet_large_int8",
    "mlperf_sww_int8",
];

/// The MLPerf Tiny float models (run on cortex-m4 and the host).
pub const FP32_MODELS: &[&str] = &[
    "mlperf_kws_dscnn_fp32",
    "mlperf_vww_mbv1_fp32",
    "mlperf_ic_resnet8_fp32",
    "mlperf_ad_autoencoder_fp32",
    "mlperf_ic_resnet_large_fp32",
];

/// Further models timed on the host only.
pub const HOST_EXTRA_MODELS: &[&str] = &["torch_mobilenetv2_035_96"];

/// The emulated targets every int8 model is measured on, in table order.
pub const EMULATED_TARGETS: &[&str] = &["cortex-m4", "cortex-m33", "cortex-m55", "riscv32imac"];

/// The build-only target (flash and RAM, no instruction count).
pub const BUILD_ONLY_TARGET: &str = "cortex-m0plus";

/// The `.tflite` originals MicroFlow is given (the corpus's `tflite/` folder); the ONNX
/// model converted from `<stem>.tflite` is `mlperf_<stem>`.
pub const TFLITE_STEMS: &[&str] = &[
    "kws_dscnn_int8",
    "vww_mbv1_int8",
    "ic_resnet8_int8",
    "ad_autoencoder_int8",
    "ic_resnet_large_int8",
    "sww_int8",
    "kws_dscnn_hybrid",
    "vww_mbv1_fp32",
    "ic_resnet8_fp32",
    "ad_autoencoder_fp32",
];

/// The keys of `tinyops bench --json` the report uses (others are ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bench {
    /// The target.
    pub target: String,
    /// `host`, the QEMU machine, or `None` for a build-only target.
    pub ran_on: Option<String>,
    /// Executed instructions of one inference (data set 0).
    pub instructions: Option<u64>,
    /// Why `instructions` is missing.
    #[serde(default)]
    pub instructions_note: Option<String>,
    /// Flash of the firmware image.
    pub flash_bytes: Option<u64>,
    /// Of the flash, the executable sections (absent in results from before it was
    /// reported).
    #[serde(default)]
    pub code_bytes: Option<u64>,
    /// Static RAM of the firmware image (arena included).
    pub ram_bytes: Option<u64>,
    /// The generated module's arena.
    pub arena_bytes: u64,
    /// Multiply-accumulates of one inference (0 in results from before it was reported).
    #[serde(default)]
    pub macs: u64,
    /// Bytes of the model's weights, as the chosen kernels packed them.
    #[serde(default)]
    pub weight_bytes: u64,
    /// Bytes of the constant tables the kernel calls carry (requantisation
    /// multipliers and shifts, lookup tables).
    #[serde(default)]
    pub table_bytes: u64,
    /// Bytes of reference inputs the measuring firmware embeds in flash.
    #[serde(default)]
    pub test_input_bytes: Option<u64>,
    /// Deepest stack measured.
    pub stack_bytes: Option<u64>,
    /// Host latency: median.
    pub median_ns: Option<u64>,
    /// Host latency: 10th percentile.
    pub p10_ns: Option<u64>,
    /// Host latency: 90th percentile.
    pub p90_ns: Option<u64>,
    /// Timed runs (host) or QEMU runs.
    pub runs: usize,
    /// onnxruntime's median in the same run (host).
    pub onnxruntime_median_ns: Option<u64>,
    /// onnxruntime's version, or why it was not measured.
    pub onnxruntime_note: String,
    /// The compiler that built what was measured.
    pub rustc: String,
}

impl Bench {
    /// Parses the one JSON object `tinyops bench --json` prints.
    pub fn from_json(text: &str) -> Result<Bench, String> {
        serde_json::from_str(text.trim()).map_err(|e| format!("unreadable `tinyops bench --json` output ({e}): {text}"))
    }

    /// Static RAM plus the measured stack.
    pub fn ram_with_stack(&self) -> Option<u64> {
        Some(self.ram_bytes? + self.stack_bytes?)
    }
}

/// One `tinyops bench` invocation: its figures, or the first line of its error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TinyopsRun {
    /// Corpus model id.
    pub model: String,
    /// Target name.
    pub target: String,
    /// What it measured, or why it failed.
    pub result: Result<Bench, String>,
}

/// How MicroFlow's output for data set 0 compares with one reference.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RefCheck {
    /// `TFLite` (reference kernels, `outputs_tflite/`) or `onnxruntime` (`test_data_set_0`).
    pub reference: String,
    /// Elements compared.
    pub elements: usize,
    /// Elements by |difference| in int8 steps: 0, 1, 2, 3, 4–7, 8–15, ≥16.
    pub steps: [usize; 7],
    /// Arg-max of MicroFlow's output and of the reference.
    pub argmax: (usize, usize),
}

impl RefCheck {
    /// The corpus criterion for int8 outputs: the same arg-max and ≥ 99% of elements
    /// within one step.
    pub fn passed(&self) -> bool {
        self.argmax.0 == self.argmax.1 && (self.steps[0] + self.steps[1]) as f64 >= 0.99 * self.elements as f64
    }

    /// `exact/one step/more of N, arg-max equal`, with the worst difference when some
    /// element is more than one step off.
    pub fn summary(&self) -> String {
        let more: usize = self.steps[2..].iter().sum();
        let worst = match self.steps.iter().rposition(|&n| n > 0) {
            Some(i) if i >= 2 => format!(" (worst {} steps)", ["", "", "2", "3", "4–7", "8–15", "≥16"][i]),
            _ => String::new(),
        };
        format!(
            "{}/{}/{} of {}{worst}, arg-max {}",
            self.steps[0],
            self.steps[1],
            more,
            self.elements,
            if self.argmax.0 == self.argmax.1 { "equal" } else { "differs" }
        )
    }
}

/// What became of one MicroFlow model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum MicroflowOutcome {
    /// Built, ran on the board and was measured.
    Measured {
        /// Executed instructions of one inference (equal in two runs).
        instructions: u64,
        /// Flash of the image.
        flash_bytes: u64,
        /// Static RAM of the image.
        ram_bytes: u64,
        /// Deepest stack measured.
        stack_bytes: u64,
        /// The output against each reference (empty when the references could not be read,
        /// with the reason in `check_note`).
        checks: Vec<RefCheck>,
        /// Why the output was not compared, if it was not.
        check_note: Option<String>,
    },
    /// The `#[model]` macro or rustc rejected the model: the error's first line.
    DoesNotCompile(String),
    /// Something else failed (a run, a missing file): the step and the first line.
    Failed(String),
}

/// One MicroFlow model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MicroflowRun {
    /// The `.tflite` stem, e.g. `kws_dscnn_int8`.
    pub tflite: String,
    /// The corpus id of the ONNX conversion, e.g. `mlperf_kws_dscnn_int8`.
    pub model: String,
    /// The result.
    pub outcome: MicroflowOutcome,
}

impl MicroflowRun {
    /// `(instructions, flash, static RAM + stack)` when measured.
    pub fn figures(&self) -> Option<(u64, u64, u64)> {
        match &self.outcome {
            MicroflowOutcome::Measured { instructions, flash_bytes, ram_bytes, stack_bytes, .. } => {
                Some((*instructions, *flash_bytes, ram_bytes + stack_bytes))
            }
            _ => None,
        }
    }
}

/// What the report says about the run itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// `YYYY-MM-DD` (UTC) of the run.
    pub date: String,
    /// The command that produced the report.
    pub command: String,
    /// Wall-clock seconds of the whole run.
    pub seconds: u64,
    /// `git describe` of the checkout that was measured.
    pub commit: String,
    /// `rustc -V` of Debian's rustc (firmware, tinyops and MicroFlow alike).
    pub cross_rustc: String,
    /// `rustc -V` of the rustc that built the host harnesses.
    pub host_rustc: String,
    /// `--version` first lines of the QEMU programs used.
    pub qemu: Vec<String>,
    /// The MicroFlow version built.
    pub microflow: String,
    /// Where the TFLM figures are quoted from (as given on the command line).
    pub anchors_path: String,
    /// `/proc/loadavg`'s 1-minute figure and the number of cores when the host
    /// timings started (the machine is shared).
    #[serde(default)]
    pub host_load: Option<String>,
    /// The host's CPU model and the vector extensions that matter to the host kernels
    /// (read from `/proc/cpuinfo` when the host timings started).
    #[serde(default)]
    pub host_cpu: Option<String>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// About the run.
    pub info: RunInfo,
    /// `tinyops bench` on bare-metal targets.
    pub tinyops: Vec<TinyopsRun>,
    /// `tinyops bench --target host`.
    pub host: Vec<TinyopsRun>,
    /// MicroFlow on cortex-m4.
    pub microflow: Vec<MicroflowRun>,
}

impl Results {
    fn tinyops(&self, model: &str, target: &str) -> Option<&TinyopsRun> {
        self.tinyops.iter().find(|r| r.model == model && r.target == target)
    }

    fn microflow(&self, model: &str) -> Option<&MicroflowRun> {
        self.microflow.iter().find(|r| r.model == model)
    }
}

/// 1234567 → `1,234,567`.
pub fn group(n: u64) -> String {
    let d = n.to_string();
    let mut s = String::new();
    for (i, ch) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(ch);
    }
    s
}

/// `ours / theirs` as `0.32×`: two significant decimals, three below 0.1; `—` when
/// either is missing or `theirs` is zero.
pub fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            if r < 0.1 {
                format!("{r:.3}×")
            } else {
                format!("{r:.2}×")
            }
        }
        _ => "—".into(),
    }
}

/// Nanoseconds as `µs` or `ms` with three significant digits.
pub fn human_ns(ns: u64) -> String {
    let us = ns as f64 / 1e3;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1e3)
    }
}

/// A table cell for a figure that may be missing: grouped number, or `—`.
fn cell(n: Option<u64>) -> String {
    n.map(group).unwrap_or_else(|| "—".into())
}

/// Makes a markdown table cell of free text: no `|`, no line breaks.
fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    out.push_str(&format!("| {} |\n", header.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out.push('\n');
}

/// A tinyops cell for `f` of a run: the figure, `failed` when the run failed, `—` when
/// not run.
fn tinyops_cell(run: Option<&TinyopsRun>, f: impl Fn(&Bench) -> Option<String>) -> String {
    match run.map(|r| &r.result) {
        None => "not run".into(),
        Some(Err(_)) => "failed (see Failures)".into(),
        Some(Ok(b)) => f(b).unwrap_or_else(|| "—".into()),
    }
}

/// The MicroFlow cell of a figure, or the reason there is none.
fn microflow_cell(run: Option<&MicroflowRun>, f: impl Fn((u64, u64, u64)) -> u64) -> String {
    match run {
        None => "not run".into(),
        Some(r) => match (&r.outcome, r.figures()) {
            (_, Some(fig)) => group(f(fig)),
            (MicroflowOutcome::DoesNotCompile(_), _) => "does not compile".into(),
            _ => "failed".into(),
        },
    }
}

/// One figure of every MLPerf int8 model on `target`: tinyops (`ours`), MicroFlow
/// measured in this run (`theirs` picks from its figures), TFLM quoted (`quoted` is the
/// cell, `quoted_value` the number the ratio uses), and both ratios.
#[allow(clippy::too_many_arguments)]
fn peer_table(
    s: &mut String,
    r: &Results,
    anchors: &Anchors,
    target: &str,
    ours: impl Fn(&Bench) -> Option<u64>,
    theirs: impl Fn((u64, u64, u64)) -> u64 + Copy,
    quoted: impl Fn(&crate::anchors::Tflm) -> String,
    quoted_value: impl Fn(&crate::anchors::Tflm) -> f64,
) {
    let mut rows = vec![];
    for &m in INT8_MODELS {
        let t = r.tinyops(m, target);
        let mf = r.microflow(m);
        let q = anchors.tflm(m);
        let value = t.and_then(|t| t.result.as_ref().ok()).and_then(&ours);
        rows.push(vec![
            format!("`{m}`"),
            tinyops_cell(t, |b| ours(b).map(group)),
            microflow_cell(mf, theirs),
            q.as_ref().map(&quoted).unwrap_or_else(|| "—".into()),
            ratio(value.map(|x| x as f64), mf.and_then(|m| m.figures()).map(|f| theirs(f) as f64)),
            ratio(value.map(|x| x as f64), q.as_ref().map(&quoted_value)),
        ]);
    }
    table(
        s,
        &[
            "model",
            "tinyops",
            "MicroFlow (this run)",
            "TFLM + CMSIS-NN (quoted)",
            "tinyops / MicroFlow",
            "tinyops / TFLM",
        ],
        &rows,
    );
}

/// The whole markdown report.
pub fn render(r: &Results, anchors: &Anchors) -> String {
    let mut s = String::new();
    let i = &r.info;
    s.push_str("# Benchmarks: tinyops beside its peers\n\n");
    s.push_str(&format!(
        "<!-- Generated by `{}`; do not edit by hand: re-run the command. -->\n\n",
        escape(&i.command)
    ));
    s.push_str(&format!(
        "- **Command:** `{}` (from the repository root; about {} min in this run)\n\
         - **Date:** {} (UTC), tinyops at `{}`\n\
         - **Firmware compiler** (tinyops and MicroFlow alike): `{}`, `build-std`, release, fat LTO, \
         `codegen-units = 1`, `panic = \"abort\"`, GNU ld\n\
         - **Host compiler** (host harness): `{}`\n\
         - **Emulator:** {}\n\
         - **MicroFlow:** {} from crates.io, built in this run (a firmware crate generated in a scratch \
         folder, never committed)\n\
         - **TFLM + CMSIS-NN:** not measured here; quoted from `{}` (its section \"{}\"): \"{}\"\n\n",
        escape(&i.command),
        i.seconds.div_ceil(60),
        i.date,
        i.commit,
        i.cross_rustc,
        i.host_rustc,
        i.qemu.join("; "),
        i.microflow,
        i.anchors_path,
        anchors.heading,
        escape(&anchors.provenance),
    ));
    s.push_str(
        "Every figure below is either measured in this run or quoted with its source. \
         **Instructions** are the instructions one inference executes in QEMU (data set 0 of the \
         corpus), counted by tinyops's TCG plugin (`targets/qemu/insn_count.c`) between two marker \
         functions the firmware calls right before and after the inference, equal in two runs; \
         they are not cycles. **Flash** is every allocated section with contents of the linked \
         ELF (code, constants, `.data`'s image, vector table), **static RAM** every allocated \
         writable section (`.data + .bss + .uninit`), **stack** the deepest stack measured by \
         painting the free stack before the inference (it includes the firmware's own frames). \
         tinyops's arena is part of its static RAM; MicroFlow keeps its tensors on the stack, so \
         RAM is compared as static RAM + stack. A ratio is tinyops ÷ peer: below 1 tinyops needs \
         less. The kernels are the ones tinyops selects for each target (Arm DSP kernels on \
         the Cortex-M4 and M33; on the Cortex-M55 its Helium (MVE) kernels where it has them and \
         the Arm DSP ones otherwise; AVX2 ones on the `x86-64-v3` host, and on \
         `x86-64-v4-vnni` its AVX-512 VNNI 8-bit convolution with AVX2 elsewhere; portable ones \
         elsewhere); they are being optimised, so \
         these figures change: re-run the command.\n\n",
    );

    // --- Cortex-M4 side by side ---
    s.push_str("## Cortex-M4 (`mps2-an386`): tinyops, MicroFlow, TFLM + CMSIS-NN\n\n");
    s.push_str(&format!(
        "MicroFlow is built from the same `.tflite` originals the ONNX models were converted \
         from; TFLM's columns are quoted from `{}` ({}), where flash and arena are given in \
         kB, read here as {} bytes (anchors.md does not say; this is the reading under which \
         its MicroFlow stack figures agree with this run's, see the MicroFlow table; read as \
         1024 B, the ratios to them would be 2.3% lower). TFLM's RAM figure is its tensor arena only, so it is \
         compared with tinyops's arena.\n\n",
        i.anchors_path,
        anchors.date,
        crate::anchors::KB
    ));
    let m4 = "cortex-m4";
    s.push_str("### Instructions per inference\n\n");
    peer_table(
        &mut s,
        r,
        anchors,
        m4,
        |b| b.instructions,
        |f| f.0,
        |q| group(q.instructions),
        |q| q.instructions as f64,
    );
    s.push_str("### Flash (bytes)\n\n");
    peer_table(
        &mut s,
        r,
        anchors,
        m4,
        |b| b.flash_bytes,
        |f| f.1,
        |q| q.flash_text.clone(),
        |q| q.flash_kb * crate::anchors::KB,
    );

    let mut rows = vec![];
    for &m in INT8_MODELS {
        let t = r.tinyops(m, m4);
        let mf = r.microflow(m);
        let q = anchors.tflm(m);
        let b = t.and_then(|t| t.result.as_ref().ok());
        rows.push(vec![
            format!("`{m}`"),
            tinyops_cell(t, |b| Some(format!("{} + {}", cell(b.ram_bytes), cell(b.stack_bytes)))),
            match mf {
                Some(MicroflowRun { outcome: MicroflowOutcome::Measured { ram_bytes, stack_bytes, .. }, .. }) => {
                    format!("{} + {}", group(*ram_bytes), group(*stack_bytes))
                }
                other => microflow_cell(other, |f| f.2),
            },
            ratio(
                b.and_then(Bench::ram_with_stack).map(|x| x as f64),
                mf.and_then(|m| m.figures()).map(|f| f.2 as f64),
            ),
            tinyops_cell(t, |b| Some(group(b.arena_bytes))),
            q.as_ref().map(|q| q.arena_text.clone()).unwrap_or_else(|| "—".into()),
            ratio(b.map(|b| b.arena_bytes as f64), q.map(|q| q.arena_kb * crate::anchors::KB)),
        ]);
    }
    s.push_str("### RAM (bytes)\n\n");
    table(
        &mut s,
        &[
            "model",
            "tinyops static + stack",
            "MicroFlow static + stack (this run)",
            "tinyops / MicroFlow",
            "tinyops arena",
            "TFLM arena (quoted)",
            "tinyops / TFLM",
        ],
        &rows,
    );

    // --- MicroFlow: correctness and what did not compile ---
    s.push_str(&format!(
        "### MicroFlow {}: every `.tflite` original, and its output against the references\n\n",
        i.microflow
    ));
    s.push_str(
        "MicroFlow's `predict_quantized` takes the int8 input and returns the output \
         dequantised to f32; it is mapped back to int8 with the output's scale and zero point \
         (exact: every value lands on the int8 grid, or the check says otherwise) and compared \
         with data set 0's references: TFLite's reference kernels (`outputs_tflite/`) and \
         onnxruntime on the ONNX conversion (`test_data_set_0`). Elements exactly equal / one \
         step off / more; the corpus criterion (same arg-max, ≥ 99% within one step) decides \
         *matches*. The firmware keeps the input in flash as a constant of MicroFlow's input \
         buffer type (tinyops's firmware keeps its input in flash too); `predict_quantized` \
         takes the buffer by value, so the copy to the stack is part of the counted inference \
         and of the stack. The last column quotes MicroFlow as measured in `anchors.md` \
         (instructions / flash / stack), beside this run's figures.\n\n",
    );
    let mut rows = vec![];
    for &stem in TFLITE_STEMS {
        let run = r.microflow.iter().find(|m| m.tflite == stem);
        let model = format!("mlperf_{stem}");
        let quoted = anchors.microflow(&model).map(|q| escape(&q.cell)).unwrap_or_else(|| "—".into());
        let none = || "—".to_string();
        let (status, insns, tfl, ort) = match run.map(|m| &m.outcome) {
            None => ("not run".to_string(), none(), none(), none()),
            Some(MicroflowOutcome::DoesNotCompile(e)) => {
                (format!("does not compile: `{}`", escape(e)), none(), none(), none())
            }
            Some(MicroflowOutcome::Failed(e)) => (format!("failed: {}", escape(e)), none(), none(), none()),
            Some(MicroflowOutcome::Measured { checks, check_note, instructions, flash_bytes, stack_bytes, .. }) => {
                let find = |name: &str| checks.iter().find(|c| c.reference == name);
                let verdict = match (find("TFLite"), check_note) {
                    (_, Some(note)) => format!("ran; output not compared: {}", escape(note)),
                    (Some(c), None) if c.passed() => "ran; output matches TFLite".into(),
                    (Some(_), None) => "ran; output does NOT match TFLite".into(),
                    (None, None) => "ran; no TFLite reference".into(),
                };
                let show = |c: Option<&RefCheck>| c.map(RefCheck::summary).unwrap_or_else(|| "—".into());
                let insns = format!("{} / {} / {}", group(*instructions), group(*flash_bytes), group(*stack_bytes));
                (verdict, insns, show(find("TFLite")), show(find("onnxruntime")))
            }
        };
        rows.push(vec![format!("`{stem}.tflite`"), status, insns, tfl, ort, quoted]);
    }
    table(
        &mut s,
        &[
            "model",
            "MicroFlow",
            "this run: instructions / flash / stack (bytes)",
            "vs TFLite",
            "vs onnxruntime",
            "MicroFlow in anchors.md (quoted)",
        ],
        &rows,
    );

    // --- tinyops on every target ---
    s.push_str("## tinyops on every target (int8 models)\n\n");
    s.push_str(&format!(
        "Boards: cortex-m4 `mps2-an386`, cortex-m33 `mps2-an505`, cortex-m55 `mps3-an547` (MVE), \
         riscv32imac `virt`; {BUILD_ONLY_TARGET} has no board, so it is built and its footprint \
         read, not run.\n\n"
    ));
    let mut rows = vec![];
    for &m in INT8_MODELS {
        let mut row = vec![format!("`{m}`")];
        for &t in EMULATED_TARGETS {
            row.push(tinyops_cell(r.tinyops(m, t), |b| b.instructions.map(group)));
        }
        rows.push(row);
    }
    s.push_str("### Instructions per inference\n\n");
    let mut header = vec!["model"];
    header.extend(EMULATED_TARGETS);
    table(&mut s, &header, &rows);

    s.push_str("### Per MAC, Cortex-M55 against Cortex-M4, flash beyond the weights\n\n");
    s.push_str(
        "MACs as `tinyops inspect` counts them (the model's multiply-accumulates, whatever the \
         kernels do); *m4 ÷ m55*: how many times fewer instructions the Cortex-M55 executes; \
         *flash beyond the weights*: the cortex-m4 firmware's flash minus the model's weights \
         as the selected kernels store them (packed weights and biases, with the Arm DSP \
         convolutions' per-channel output-stage tables; in brackets) and minus the reference \
         input the measuring firmware embeds: what remains is code (kernels, the generated \
         `run`, the firmware's measuring harness; the executable sections, read from the \
         image, in brackets), the other constants the code reads (requantisation and lookup \
         tables), the vector table and startup. The issue's goal is at most 16 kB (16,384 B).\n\n",
    );
    let mut rows = vec![];
    for &m in INT8_MODELS {
        let (m4b, m55b) = (r.tinyops(m, m4), r.tinyops(m, "cortex-m55"));
        let ok = |t: Option<&TinyopsRun>| t.and_then(|t| t.result.as_ref().ok()).cloned();
        let (a, b) = (ok(m4b), ok(m55b));
        let per_mac = |x: Option<&Bench>| {
            x.and_then(|b| Some(format!("{:.2}", b.instructions? as f64 / (b.macs > 0).then_some(b.macs)? as f64)))
                .unwrap_or_else(|| "—".into())
        };
        rows.push(vec![
            format!("`{m}`"),
            a.as_ref()
                .map(|b| group(b.macs))
                .filter(|_| a.as_ref().is_some_and(|b| b.macs > 0))
                .unwrap_or_else(|| "—".into()),
            per_mac(a.as_ref()),
            per_mac(b.as_ref()),
            match (a.as_ref().and_then(|b| b.instructions), b.as_ref().and_then(|b| b.instructions)) {
                (Some(x), Some(y)) if y > 0 => format!("{:.2}×", x as f64 / y as f64),
                _ => "—".into(),
            },
            a.as_ref()
                .and_then(|b| {
                    let rest = b.flash_bytes?.checked_sub(b.weight_bytes + b.test_input_bytes?)?;
                    let code = b.code_bytes.map(|c| format!("code {}, ", group(c))).unwrap_or_default();
                    Some(format!("{} ({code}weights {})", group(rest), group(b.weight_bytes)))
                })
                .unwrap_or_else(|| "—".into()),
        ]);
    }
    table(
        &mut s,
        &[
            "model",
            "MACs",
            "cortex-m4 instr / MAC",
            "cortex-m55 instr / MAC",
            "m4 ÷ m55",
            "cortex-m4 flash beyond the weights (B)",
        ],
        &rows,
    );

    let mut rows = vec![];
    for &m in INT8_MODELS {
        let mut row = vec![format!("`{m}`")];
        for &t in EMULATED_TARGETS.iter().chain([&BUILD_ONLY_TARGET]) {
            row.push(tinyops_cell(r.tinyops(m, t), |b| {
                Some(format!("{} / {} / {}", cell(b.flash_bytes), cell(b.ram_bytes), cell(b.stack_bytes)))
            }));
        }
        rows.push(row);
    }
    s.push_str("### Flash / static RAM / stack (bytes)\n\n");
    let only = format!("{BUILD_ONLY_TARGET} (build only)");
    let mut header = vec!["model"];
    header.extend(EMULATED_TARGETS);
    header.push(&only);
    table(&mut s, &header, &rows);

    // --- float on cortex-m4 ---
    s.push_str("## Float models on cortex-m4 (FPv4)\n\n");
    s.push_str(
        "MicroFlow 0.1.3 takes only int8/uint8 models (see the MicroFlow table above for what \
         its `#[model]` says about the float `.tflite` files).\n\n",
    );
    let mut rows = vec![];
    for &m in FP32_MODELS {
        let t = r.tinyops(m, m4);
        rows.push(vec![
            format!("`{m}`"),
            tinyops_cell(t, |b| b.instructions.map(group)),
            tinyops_cell(t, |b| b.flash_bytes.map(group)),
            tinyops_cell(t, |b| b.ram_bytes.map(group)),
            tinyops_cell(t, |b| Some(group(b.arena_bytes))),
            tinyops_cell(t, |b| b.stack_bytes.map(group)),
        ]);
    }
    table(&mut s, &["model", "instructions", "flash", "static RAM", "arena", "stack"], &rows);

    // --- host ---
    s.push_str("## Host latency\n\n");
    let ort_note = r
        .host
        .iter()
        .filter_map(|h| h.result.as_ref().ok())
        .find(|b| b.onnxruntime_median_ns.is_some())
        .map(|b| b.onnxruntime_note.clone())
        .or_else(|| r.host.iter().filter_map(|h| h.result.as_ref().ok()).map(|b| b.onnxruntime_note.clone()).next())
        .unwrap_or_else(|| "not run".into());
    let host_target = r.host.first().map(|h| h.target.as_str()).unwrap_or("host");
    s.push_str(&format!(
        "`tinyops bench <model> --target {host_target}`: the host harness built by `{}`, median (p10–p90) \
         over the timed runs; onnxruntime: {}. Both single-threaded, in one process each, timed in \
         alternating batches so that machine noise hits both; this machine is shared and noisy{}, \
         so compare the ratio, not the absolute times.{}\n\n",
        i.host_rustc,
        escape(&ort_note),
        i.host_load.as_ref().map(|l| format!(" (load average {l} when the timings started)")).unwrap_or_default(),
        i.host_cpu
            .as_ref()
            .map(|c| format!(
                " Host CPU: {}. onnxruntime picks its kernels at run time from the CPU's features (its MLAS \
                 library has AVX-512 and AVX-512 VNNI paths); tinyops's `{host_target}` build uses the \
                 target's features only (AVX2 and FMA for `x86-64-v3`; AVX-512 VNNI in the 8-bit \
                 convolutions, AVX2 and FMA elsewhere, for `x86-64-v4-vnni`).",
                escape(c)
            ))
            .unwrap_or_default()
    ));
    let mut rows = vec![];
    for &m in FP32_MODELS.iter().chain(INT8_MODELS).chain(HOST_EXTRA_MODELS) {
        let h = r.host.iter().find(|h| h.model == m);
        let b = h.and_then(|h| h.result.as_ref().ok());
        rows.push(vec![
            format!("`{m}`"),
            tinyops_cell(h, |b| {
                Some(format!(
                    "{} ({}–{})",
                    human_ns(b.median_ns?),
                    human_ns(b.p10_ns.unwrap_or(0)),
                    human_ns(b.p90_ns.unwrap_or(0))
                ))
            }),
            tinyops_cell(h, |b| b.onnxruntime_median_ns.map(human_ns)),
            ratio(
                b.and_then(|b| b.median_ns).map(|x| x as f64),
                b.and_then(|b| b.onnxruntime_median_ns).map(|x| x as f64),
            ),
        ]);
    }
    table(&mut s, &["model", "tinyops median (p10–p90)", "onnxruntime median", "tinyops / onnxruntime"], &rows);

    // --- failures ---
    let failures: Vec<String> = r
        .tinyops
        .iter()
        .chain(&r.host)
        .filter_map(|t| t.result.as_ref().err().map(|e| format!("- `{}` on {}: {}", t.model, t.target, escape(e))))
        .collect();
    s.push_str("## Failures\n\n");
    if failures.is_empty() {
        s.push_str("Every `tinyops bench` of this run succeeded.\n");
    } else {
        s.push_str(&failures.join("\n"));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anchors::tests::SAMPLE;

    const KWS_M4: &str = r#"{"model":"/c/mlperf_kws_dscnn_int8/model.onnx","target":"cortex-m4","ran_on":"mps2-an386",
        "instructions":25039744,"instructions_per_set":[25039744],"instructions_note":null,"flash_bytes":45760,
        "ram_bytes":16560,"arena_bytes":16512,"stack_bytes":492,"median_ns":null,"p10_ns":null,"p90_ns":null,
        "runs":2,"onnxruntime_median_ns":null,"onnxruntime_note":"not measured","rustc":"rustc 1.96.0"}"#;

    fn info() -> RunInfo {
        RunInfo {
            date: "2026-12-01".into(),
            command: ".ci/benchmarks".into(),
            seconds: 61,
            commit: "abc1234".into(),
            cross_rustc: "rustc 1.96.0".into(),
            host_rustc: "rustc 1.93.0".into(),
            qemu: vec!["`qemu-system-arm`: `QEMU emulator version 7.2.22`".into()],
            microflow: "0.1.3".into(),
            anchors_path: "../shared/docs/anchors.md".into(),
            host_load: Some("1.50 on 2 cores".into()),
            host_cpu: Some("Example CPU; avx2, fma".into()),
        }
    }

    fn results() -> Results {
        let kws = Bench::from_json(KWS_M4).unwrap();
        let mut m0 = kws.clone();
        (m0.target, m0.ran_on, m0.instructions, m0.stack_bytes) = ("cortex-m0plus".into(), None, None, None);
        let host = Bench {
            target: "host".into(),
            ran_on: Some("host".into()),
            instructions: None,
            flash_bytes: None,
            ram_bytes: None,
            stack_bytes: None,
            median_ns: Some(2_500_000),
            p10_ns: Some(2_400_000),
            p90_ns: Some(2_600_000),
            onnxruntime_median_ns: Some(200_000),
            onnxruntime_note: "onnxruntime 1.32.0, 1 thread".into(),
            ..kws.clone()
        };
        Results {
            info: info(),
            tinyops: vec![
                TinyopsRun { model: "mlperf_kws_dscnn_int8".into(), target: "cortex-m4".into(), result: Ok(kws) },
                TinyopsRun { model: "mlperf_kws_dscnn_int8".into(), target: "cortex-m0plus".into(), result: Ok(m0) },
                TinyopsRun {
                    model: "mlperf_vww_mbv1_int8".into(),
                    target: "cortex-m4".into(),
                    result: Err("error: building firmware: boom".into()),
                },
            ],
            host: vec![TinyopsRun { model: "mlperf_kws_dscnn_int8".into(), target: "host".into(), result: Ok(host) }],
            microflow: vec![
                MicroflowRun {
                    tflite: "kws_dscnn_int8".into(),
                    model: "mlperf_kws_dscnn_int8".into(),
                    outcome: MicroflowOutcome::Measured {
                        instructions: 88_376_052,
                        flash_bytes: 70_500,
                        ram_bytes: 1_000,
                        stack_bytes: 43_600,
                        checks: vec![RefCheck {
                            reference: "TFLite".into(),
                            elements: 12,
                            steps: [11, 1, 0, 0, 0, 0, 0],
                            argmax: (3, 3),
                        }],
                        check_note: None,
                    },
                },
                MicroflowRun {
                    tflite: "ic_resnet8_int8".into(),
                    model: "mlperf_ic_resnet8_int8".into(),
                    outcome: MicroflowOutcome::DoesNotCompile("error: unsupported operator: ADD".into()),
                },
            ],
        }
    }

    fn row<'a>(doc: &'a str, section: &str, model: &str) -> Vec<&'a str> {
        let at = doc.find(section).unwrap_or_else(|| panic!("no section {section}"));
        let line = doc[at..].lines().find(|l| l.starts_with(&format!("| `{model}")));
        let line = line.unwrap_or_else(|| panic!("no row {model} in {section}"));
        line.trim_start_matches("| ").trim_end_matches(" |").split(" | ").collect()
    }

    #[test]
    fn bench_json_parses_and_bad_json_is_an_error() {
        let b = Bench::from_json(KWS_M4).unwrap();
        assert_eq!((b.instructions, b.flash_bytes, b.ram_with_stack()), (Some(25_039_744), Some(45_760), Some(17_052)));
        assert!(Bench::from_json("error: no").unwrap_err().contains("unreadable"));
    }

    #[test]
    fn numbers_and_ratios_format() {
        assert_eq!(group(25_039_744), "25,039,744");
        assert_eq!(group(999), "999");
        assert_eq!(group(0), "0");
        assert_eq!(ratio(Some(25_039_744.0), Some(7_698_725.0)), "3.25×");
        assert_eq!(ratio(Some(1.0), Some(40.0)), "0.025×");
        assert_eq!(ratio(Some(1.0), None), "—");
        assert_eq!(ratio(Some(1.0), Some(0.0)), "—");
        assert_eq!(human_ns(2_500_000), "2.50 ms");
        assert_eq!(human_ns(97_000), "97.0 µs");
    }

    #[test]
    fn ref_check_applies_the_corpus_criterion() {
        let mut c =
            RefCheck { reference: "TFLite".into(), elements: 100, steps: [98, 1, 1, 0, 0, 0, 0], argmax: (1, 1) };
        assert!(c.passed());
        assert_eq!(c.summary(), "98/1/1 of 100 (worst 2 steps), arg-max equal");
        c.steps = [99, 1, 0, 0, 0, 0, 0];
        assert_eq!(c.summary(), "99/1/0 of 100, arg-max equal");
        c.steps = [97, 1, 0, 0, 0, 0, 2];
        assert!(!c.passed(), "2% more than one step off");
        c.steps = [100, 0, 0, 0, 0, 0, 0];
        c.argmax = (1, 0);
        assert!(!c.passed(), "arg-max differs");
    }

    #[test]
    fn cortex_m4_tables_hold_measured_and_quoted_figures_with_ratios() {
        let anchors = crate::anchors::parse(SAMPLE).unwrap();
        let doc = render(&results(), &anchors);
        // Instructions: 25,039,744 / 88,376,052 = 0.283; / 7,698,725 = 3.25.
        let r = row(&doc, "### Instructions per inference", "mlperf_kws_dscnn_int8");
        assert_eq!(&r[1..6], ["25,039,744", "88,376,052", "7,698,725", "0.28×", "3.25×"]);
        // Flash: 45,760 / 70,500 = 0.649; / 108,800 = 0.42.
        let r = row(&doc, "### Flash (bytes)", "mlperf_kws_dscnn_int8");
        assert_eq!(&r[1..6], ["45,760", "70,500", "108.8 kB", "0.65×", "0.42×"]);
        // RAM: (16,560 + 492) / (1,000 + 43,600) = 0.382; arena 16,512 / 22,800 = 0.72.
        let r = row(&doc, "### RAM (bytes)", "mlperf_kws_dscnn_int8");
        assert_eq!(&r[1..7], ["16,560 + 492", "1,000 + 43,600", "0.38×", "16,512", "22.8 kB", "0.72×"]);
        // A failed tinyops run is reported as such and listed with its error.
        let r = row(&doc, "### Instructions per inference", "mlperf_vww_mbv1_int8");
        assert_eq!(r[1], "failed (see Failures)");
        assert!(doc.contains("- `mlperf_vww_mbv1_int8` on cortex-m4: error: building firmware: boom"));
        // A model MicroFlow cannot compile is never dropped.
        let r = row(&doc, "### Instructions per inference", "mlperf_ic_resnet8_int8");
        assert_eq!(&r[1..6], ["not run", "does not compile", "29,864,095", "—", "—"]);
        let r = row(&doc, "### MicroFlow", "ic_resnet8_int8.tflite");
        assert_eq!(r[1], "does not compile: `error: unsupported operator: ADD`");
        let r = row(&doc, "### MicroFlow", "kws_dscnn_int8.tflite");
        assert_eq!(r[1], "ran; output matches TFLite");
        assert_eq!(r[2], "88,376,052 / 70,500 / 43,600");
        assert_eq!(r[3], "11/1/0 of 12, arg-max equal");
        assert_eq!(r[5], "88,376,052 / 70.5 kB / 43.6 kB");
        // A model MicroFlow was not given says so.
        assert_eq!(row(&doc, "### MicroFlow", "sww_int8.tflite")[1], "not run");
    }

    #[test]
    fn other_tables_and_the_header() {
        let anchors = crate::anchors::parse(SAMPLE).unwrap();
        let doc = render(&results(), &anchors);
        let r = row(&doc, "## tinyops on every target", "mlperf_kws_dscnn_int8");
        assert_eq!(&r[1..5], ["25,039,744", "not run", "not run", "not run"]);
        let r = row(&doc, "### Flash / static RAM / stack", "mlperf_kws_dscnn_int8");
        assert_eq!(r[1], "45,760 / 16,560 / 492");
        assert_eq!(r[5], "45,760 / 16,560 / —");
        let r = row(&doc, "## Host latency", "mlperf_kws_dscnn_int8");
        assert_eq!(&r[1..4], ["2.50 ms (2.40 ms–2.60 ms)", "200.0 µs", "12.50×"]);
        for fact in [
            "`.ci/benchmarks`",
            "2026-12-01",
            "`rustc 1.96.0`",
            "`QEMU emulator version 7.2.22`",
            "MicroFlow:** 0.1.3",
            "quoted from `../shared/docs/anchors.md`",
            "tflite-micro of 2026-08",
            "about 2 min",
            "(load average 1.50 on 2 cores when the timings started)",
            "Host CPU: Example CPU; avx2, fma.",
        ] {
            assert!(doc.contains(fact), "{fact} missing from the header");
        }
    }
}
