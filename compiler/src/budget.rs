//! RAM and flash budgets: a model that does not fit its device is a compile error
//! that says by how much and what dominates.
//!
//! RAM here is the arena (`ARENA_BYTES`, the working memory the generated code needs
//! besides the caller's input and output buffers and the stack); flash is the weights
//! (`WEIGHT_BYTES`). Code size and stack depend on the final link and are measured by
//! `tinyops bench` on the linked image.

use crate::error::{Error, Result};
use crate::Compilation;

/// Limits a compiled model must respect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    /// Largest arena in bytes.
    pub max_ram: Option<usize>,
    /// Largest total of weights in bytes.
    pub max_flash: Option<usize>,
}

fn bytes(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out + " B"
}

impl Budget {
    /// True when no limit is set.
    pub fn is_empty(&self) -> bool {
        self.max_ram.is_none() && self.max_flash.is_none()
    }

    /// Checks a compilation against the limits; the error names every excess, by how
    /// much, and the largest contributor to it.
    pub fn check(&self, c: &Compilation) -> Result<()> {
        let mut lines = vec![];
        if let Some(max) = self.max_ram {
            let need = c.plan.arena_bytes;
            if need > max {
                let mut line = format!(
                    "needs {} of RAM for its arena, {} over max_ram = {}",
                    bytes(need),
                    bytes(need - max),
                    bytes(max)
                );
                if let Some(b) = c.plan.blocks.iter().max_by_key(|b| (b.bytes, std::cmp::Reverse(b.start))) {
                    line.push_str(&format!(
                        "; the largest tensor in it is `{}` ({}, alive during steps {}..={})",
                        b.label,
                        bytes(b.bytes),
                        b.start,
                        b.end
                    ));
                }
                lines.push(line);
            }
        }
        if let Some(max) = self.max_flash {
            let need = c.program.weight_bytes();
            if need > max {
                let mut line = format!(
                    "needs {} of flash for its weights, {} over max_flash = {}",
                    bytes(need),
                    bytes(need - max),
                    bytes(max)
                );
                if let Some(w) = c.program.weights.iter().max_by_key(|w| w.bytes.len()) {
                    line.push_str(&format!(
                        "; the largest weight is `{}` ({}, {}, {:.0}% of the weights)",
                        w.source,
                        w.ty,
                        bytes(w.bytes.len()),
                        100.0 * w.bytes.len() as f64 / need as f64
                    ));
                }
                lines.push(line);
            }
        }
        if lines.is_empty() {
            Ok(())
        } else {
            Err(Error::OverBudget { model: c.graph.name.clone(), target: c.target.name.to_string(), lines })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn byte_counts_read_with_thousands_separators() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(16512), "16,512 B");
        assert_eq!(bytes(1234567), "1,234,567 B");
    }
}
