//! The device report in protobuf wire format (schema: `runtime-core/proto/device_report.proto`),
//! encoded into a caller-given buffer: no allocation, no panic. A device sends it to its
//! fleet backend; `tinyops fleet report FILE…` (or any protobuf library) decodes it.
//!
//! ```text
//! let report = DeviceReport {
//!     manifest_sha256: model::MANIFEST_SHA256,
//!     model_sha256: model::MODEL_SHA256,
//!     target: model::TARGET,
//!     compiler_version: model::COMPILER_VERSION,
//!     self_test: Some(m.self_test()),
//!     stats: Some(&stats),
//! };
//! let mut buf = [0u8; 256];
//! let len = report.encode(&mut buf)?;
//! ```

use crate::check::SelfTest;
use crate::stats::OutputStats;

/// Why a report could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The buffer holds fewer bytes than the report needs (`needed`).
    BufferTooSmall {
        /// Bytes the report needs.
        needed: usize,
    },
    /// A hash is not 64 hexadecimal digits.
    BadHash,
}

/// One report: the module's identity, its self-test outcome and output statistics.
#[derive(Debug, Clone, Copy)]
pub struct DeviceReport<'a, const N: usize> {
    /// The module's `MANIFEST_SHA256` (64 hex digits; sent as 32 bytes).
    pub manifest_sha256: &'a str,
    /// The module's `MODEL_SHA256` (64 hex digits; sent as 32 bytes).
    pub model_sha256: &'a str,
    /// The module's `TARGET`.
    pub target: &'a str,
    /// The module's `COMPILER_VERSION`.
    pub compiler_version: &'a str,
    /// The self-test's outcome, when run.
    pub self_test: Option<SelfTest>,
    /// Output statistics, when kept.
    pub stats: Option<&'a OutputStats<N>>,
}

/// Protobuf wire types.
const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;
const I32: u32 = 5;

/// A bounded writer; with `count_only` it measures instead of writing.
struct Writer<'b> {
    buf: &'b mut [u8],
    pos: usize,
    count_only: bool,
}

impl Writer<'_> {
    fn byte(&mut self, b: u8) {
        if !self.count_only {
            if let Some(slot) = self.buf.get_mut(self.pos) {
                *slot = b;
            }
        }
        self.pos = self.pos.saturating_add(1);
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }
    fn tag(&mut self, field: u32, wire: u32) {
        self.varint(u64::from(field << 3 | wire));
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.tag(field, LEN);
        self.varint(b.len() as u64);
        for &x in b {
            self.byte(x);
        }
    }
    fn uint(&mut self, field: u32, v: u64) {
        self.tag(field, VARINT);
        self.varint(v);
    }
    fn double(&mut self, field: u32, v: f64) {
        self.tag(field, I64);
        for b in v.to_le_bytes() {
            self.byte(b);
        }
    }
    fn float(&mut self, field: u32, v: f32) {
        self.tag(field, I32);
        for b in v.to_le_bytes() {
            self.byte(b);
        }
    }
    /// A nested message: its length first (measured by a counting pass), then its fields.
    fn message(&mut self, field: u32, body: impl Fn(&mut Writer<'_>)) {
        let mut count = Writer { buf: &mut [], pos: 0, count_only: true };
        body(&mut count);
        self.tag(field, LEN);
        self.varint(count.pos as u64);
        body(self);
    }
}

/// 64 hex digits as 32 bytes.
fn hash_bytes(hex: &str) -> Option<[u8; 32]> {
    let h = hex.as_bytes();
    if h.len() != 64 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = digit(*h.get(2 * i)?)?;
        let lo = digit(*h.get(2 * i + 1)?)?;
        *o = hi << 4 | lo;
    }
    Some(out)
}

impl<const N: usize> DeviceReport<'_, N> {
    /// Encodes the report into `buf`; returns the number of bytes written.
    pub fn encode(&self, buf: &mut [u8]) -> Result<usize, EncodeError> {
        let manifest = hash_bytes(self.manifest_sha256).ok_or(EncodeError::BadHash)?;
        let model = hash_bytes(self.model_sha256).ok_or(EncodeError::BadHash)?;
        let fields = |w: &mut Writer<'_>| {
            w.bytes(1, &manifest);
            w.bytes(2, &model);
            w.bytes(3, self.target.as_bytes());
            w.bytes(4, self.compiler_version.as_bytes());
            if let Some(r) = self.self_test {
                w.message(5, |w| match r {
                    SelfTest::Pass => w.uint(1, 1),
                    SelfTest::Corrupt => w.uint(1, 3),
                    SelfTest::Fail(m) => {
                        w.uint(1, 2);
                        w.uint(2, m.output as u64);
                        w.bytes(3, m.name.as_bytes());
                        w.uint(4, m.index as u64);
                        w.double(5, m.got);
                        w.double(6, m.expected);
                        w.uint(7, m.outside as u64);
                        w.uint(8, m.elements as u64);
                    }
                });
            }
            if let Some(s) = self.stats {
                w.message(6, |w| {
                    w.uint(1, u64::from(s.count));
                    w.uint(2, u64::from(s.rejected));
                    w.float(3, s.min);
                    w.float(4, s.max);
                    w.float(5, s.mean);
                    w.uint(6, s.elements);
                    // Packed repeated field.
                    w.message(7, |w| {
                        for &c in &s.top_class {
                            w.varint(u64::from(c));
                        }
                    });
                });
            }
        };
        let mut count = Writer { buf: &mut [], pos: 0, count_only: true };
        fields(&mut count);
        if count.pos > buf.len() {
            return Err(EncodeError::BufferTooSmall { needed: count.pos });
        }
        let mut w = Writer { buf, pos: 0, count_only: false };
        fields(&mut w);
        Ok(w.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn too_small_buffers_and_bad_hashes_are_errors() {
        let r = DeviceReport::<2> {
            manifest_sha256: H,
            model_sha256: H,
            target: "cortex-m4",
            compiler_version: "0.1.0",
            self_test: Some(SelfTest::Pass),
            stats: None,
        };
        let mut buf = [0u8; 128];
        let n = r.encode(&mut buf).unwrap();
        // 2 × (tag, length, 32 B) + target + version + self-test (tag, len, status).
        assert_eq!(n, 2 * 34 + 11 + 7 + 4);
        assert_eq!(&buf[..4], &[0x0a, 32, 0x00, 0x11]);
        assert_eq!(r.encode(&mut buf[..n - 1]), Err(EncodeError::BufferTooSmall { needed: n }));
        let bad = DeviceReport::<2> { manifest_sha256: "xyz", ..r };
        assert_eq!(bad.encode(&mut buf), Err(EncodeError::BadHash));
    }
}
