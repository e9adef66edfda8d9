//! `tinyops fleet report FILE…`: device reports (protobuf, schema
//! `runtime-core/proto/device_report.proto`, written on the device by
//! `tinyops_runtime::report`) decoded with prost into a table.
//!
//! The message structs below mirror the `.proto` by hand (derived with
//! `prost::Message`), so no `protoc` is needed to build tinyops; a test checks them
//! against the runtime's encoder.

use crate::error::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// `tinyops.DeviceReport`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct DeviceReport {
    /// SHA-256 of the module's manifest, 32 bytes.
    #[prost(bytes = "vec", tag = "1")]
    #[serde(serialize_with = "hex_ser")]
    pub manifest_sha256: Vec<u8>,
    /// SHA-256 of the ONNX model, 32 bytes.
    #[prost(bytes = "vec", tag = "2")]
    #[serde(serialize_with = "hex_ser")]
    pub model_sha256: Vec<u8>,
    /// The module's target.
    #[prost(string, tag = "3")]
    pub target: String,
    /// The tinyops version that generated the module.
    #[prost(string, tag = "4")]
    pub compiler_version: String,
    /// The self-test's outcome, when run.
    #[prost(message, optional, tag = "5")]
    pub self_test: Option<SelfTestResult>,
    /// Output statistics, when kept.
    #[prost(message, optional, tag = "6")]
    pub stats: Option<OutputStats>,
}

/// `tinyops.SelfTestResult`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct SelfTestResult {
    /// `Status`: 1 PASS, 2 FAIL, 3 CORRUPT.
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// The failing output.
    #[prost(uint32, tag = "2")]
    pub output: u32,
    /// Its ONNX name.
    #[prost(string, tag = "3")]
    pub output_name: String,
    /// The element with the largest difference.
    #[prost(uint64, tag = "4")]
    pub index: u64,
    /// Its computed value.
    #[prost(double, tag = "5")]
    pub got: f64,
    /// Its expected value.
    #[prost(double, tag = "6")]
    pub expected: f64,
    /// Elements outside the tolerance.
    #[prost(uint64, tag = "7")]
    pub outside: u64,
    /// Elements compared.
    #[prost(uint64, tag = "8")]
    pub elements: u64,
}

/// `tinyops.OutputStats`.
#[derive(Clone, PartialEq, prost::Message, Serialize)]
pub struct OutputStats {
    /// Inferences folded in.
    #[prost(uint32, tag = "1")]
    pub count: u32,
    /// Outputs of the wrong length ignored.
    #[prost(uint32, tag = "2")]
    pub rejected: u32,
    /// Smallest element.
    #[prost(float, tag = "3")]
    pub min: f32,
    /// Largest element.
    #[prost(float, tag = "4")]
    pub max: f32,
    /// Mean of the elements.
    #[prost(float, tag = "5")]
    pub mean: f32,
    /// Elements the mean is over.
    #[prost(uint64, tag = "6")]
    pub elements: u64,
    /// Per class, the inferences whose arg-max it was.
    #[prost(uint32, repeated, tag = "7")]
    pub top_class: Vec<u32>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_ser<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

/// Decodes one report, checking what the schema cannot (hash lengths, status values).
pub fn decode(bytes: &[u8]) -> std::result::Result<DeviceReport, String> {
    use prost::Message;
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let r = DeviceReport::decode(bytes).map_err(|e| format!("not a device report (truncated or not protobuf): {e}"))?;
    for (name, h) in [("manifest_sha256", &r.manifest_sha256), ("model_sha256", &r.model_sha256)] {
        if h.len() != 32 {
            return Err(format!("{name} has {} bytes, not 32: not a tinyops device report", h.len()));
        }
    }
    if let Some(s) = &r.self_test {
        if !(1..=3).contains(&s.status) {
            return Err(format!("self_test.status {} is not PASS (1), FAIL (2) or CORRUPT (3)", s.status));
        }
    }
    Ok(r)
}

/// Reads and decodes report files; every bad file is named, all at once.
pub fn read_all(files: &[impl AsRef<Path>]) -> Result<Vec<(String, DeviceReport)>> {
    let mut ok = vec![];
    let mut bad = vec![];
    for f in files {
        let f = f.as_ref();
        match std::fs::read(f).map_err(|e| e.to_string()).and_then(|b| decode(&b)) {
            Ok(r) => ok.push((f.display().to_string(), r)),
            Err(e) => bad.push(format!("{}: {e}", f.display())),
        }
    }
    if !bad.is_empty() {
        return Err(Error::Options(format!("unreadable device reports:\n  {}", bad.join("\n  "))));
    }
    Ok(ok)
}

impl DeviceReport {
    /// The manifest hash, hex.
    pub fn manifest_hex(&self) -> String {
        hex(&self.manifest_sha256)
    }

    /// The self-test column: `PASS`, `FAIL output K `name`[i] got … expected …`, `CORRUPT`, `not run`.
    pub fn self_test_text(&self) -> String {
        match &self.self_test {
            None => "not run".into(),
            Some(s) if s.status == 1 => "PASS".into(),
            Some(s) if s.status == 3 => "CORRUPT".into(),
            Some(s) => format!(
                "FAIL output {} `{}`[{}] = {} (expected {}), {}/{} outside",
                s.output, s.output_name, s.index, s.got, s.expected, s.outside, s.elements
            ),
        }
    }

    /// The statistics column.
    pub fn stats_text(&self) -> String {
        match &self.stats {
            None => "-".into(),
            Some(s) => format!(
                "n={} min={} max={} mean={:.4} top={:?}{}",
                s.count,
                s.min,
                s.max,
                s.mean,
                s.top_class,
                if s.rejected > 0 { format!(" rejected={}", s.rejected) } else { String::new() }
            ),
        }
    }
}

/// The table `fleet report` prints: one row per file, columns aligned.
pub fn table(reports: &[(String, DeviceReport)]) -> String {
    let mut rows =
        vec![["file", "manifest", "model", "target", "tinyops", "self-test", "statistics"].map(String::from)];
    for (f, r) in reports {
        rows.push([
            f.clone(),
            r.manifest_hex()[..16].to_string(),
            hex(&r.model_sha256)[..16].to_string(),
            r.target.clone(),
            r.compiler_version.clone(),
            r.self_test_text(),
            r.stats_text(),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut s = String::new();
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        s.push_str(cells.join("  ").trim_end());
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use tinyops_runtime::check::{Mismatch, SelfTest};
    use tinyops_runtime::report::DeviceReport as Encoder;
    use tinyops_runtime::stats::OutputStats as Stats;

    const H1: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    const H2: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

    /// xorshift, for property cases.
    fn rng(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn the_runtime_encoder_and_prost_agree_on_random_reports() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let names = ["Identity", "", "out:0", "a much longer output name than most models have"];
        for case in 0..500 {
            let mut stats = Stats::<5>::new();
            for _ in 0..(rng(&mut seed) % 4) {
                let v: Vec<i8> = (0..5).map(|_| rng(&mut seed) as i8).collect();
                stats.update(&v);
            }
            let self_test = match rng(&mut seed) % 4 {
                0 => None,
                1 => Some(SelfTest::Pass),
                2 => Some(SelfTest::Corrupt),
                _ => Some(SelfTest::Fail(Mismatch {
                    output: (rng(&mut seed) % 3) as usize,
                    name: names[(rng(&mut seed) % 4) as usize],
                    index: rng(&mut seed) as usize % 100_000,
                    got: f64::from_bits(rng(&mut seed) >> 2),
                    expected: -1.5,
                    outside: (rng(&mut seed) % 9) as usize,
                    elements: 1 << (rng(&mut seed) % 20),
                    argmax: None,
                })),
            };
            let with_stats = rng(&mut seed).is_multiple_of(2);
            let enc = Encoder {
                manifest_sha256: H1,
                model_sha256: H2,
                target: if case % 2 == 0 { "cortex-m4" } else { "riscv32imac" },
                compiler_version: "0.1.0",
                self_test,
                stats: with_stats.then_some(&stats),
            };
            let mut buf = [0u8; 512];
            let n = enc.encode(&mut buf).unwrap();
            let r = decode(&buf[..n]).unwrap_or_else(|e| panic!("case {case}: {e}"));
            assert_eq!(r.manifest_hex(), H1);
            assert_eq!(hex(&r.model_sha256), H2);
            assert_eq!(r.target, enc.target);
            assert_eq!(r.compiler_version, "0.1.0");
            match (self_test, &r.self_test) {
                (None, None) => {}
                (Some(SelfTest::Pass), Some(s)) => assert_eq!(s.status, 1),
                (Some(SelfTest::Corrupt), Some(s)) => assert_eq!(s.status, 3),
                (Some(SelfTest::Fail(m)), Some(s)) => {
                    assert_eq!((s.status, s.output as usize, s.output_name.as_str()), (2, m.output, m.name));
                    assert_eq!(
                        (s.index as usize, s.outside as usize, s.elements as usize),
                        (m.index, m.outside, m.elements)
                    );
                    assert_eq!((s.got.to_bits(), s.expected), (m.got.to_bits(), -1.5));
                }
                other => panic!("case {case}: {other:?}"),
            }
            match &r.stats {
                None => assert!(!with_stats),
                Some(s) => {
                    assert!(with_stats);
                    assert_eq!((s.count, s.rejected, s.elements), (stats.count, stats.rejected, stats.elements));
                    assert_eq!(
                        (s.min.to_bits(), s.max.to_bits(), s.mean.to_bits()),
                        (stats.min.to_bits(), stats.max.to_bits(), stats.mean.to_bits())
                    );
                    assert_eq!(s.top_class, stats.top_class);
                }
            }
            // Every strict prefix is refused or decodes to something else, never a panic.
            for cut in [0, 1, n / 2, n - 1] {
                if let Ok(p) = decode(&buf[..cut]) {
                    assert_ne!(p, r, "case {case}: a prefix of {cut} bytes decoded to the whole report");
                }
            }
        }
    }

    #[test]
    fn bad_files_get_clear_errors() {
        assert_eq!(decode(&[]).unwrap_err(), "the file is empty");
        assert!(decode(&[0x0a, 0x20, 1, 2]).unwrap_err().contains("truncated or not protobuf"));
        assert!(decode(b"hello, world").is_err());
        let e = decode(&[0x0a, 0x02, 1, 2, 0x12, 0x00]).unwrap_err();
        assert!(e.contains("manifest_sha256 has 2 bytes"), "{e}");
    }
}
