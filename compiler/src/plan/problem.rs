//! The memory problem a graph poses, stripped of everything but sizes and
//! dependencies: nodes that must run after their predecessors, and buffers written by
//! one node and read by others. Scheduling ([`super::schedule`]) and offset planning
//! ([`super::pack`]) work on this form only, so they are tested on random instances
//! ([`super::testgen`]) as well as on models.

/// One node to schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// Nodes that must run before this one (by index).
    pub preds: Vec<usize>,
    /// Working space the node needs while it runs (bytes, already aligned).
    pub scratch: usize,
    /// Name, for reports.
    pub label: String,
}

/// One buffer: alive from the step of its producer to the step of its last reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buf {
    /// Size in bytes (already aligned).
    pub bytes: usize,
    /// The node that writes it.
    pub producer: usize,
    /// The nodes that read it.
    pub consumers: Vec<usize>,
    /// Read after the last step (copied into a model output at the end).
    pub to_end: bool,
    /// Name, for reports.
    pub label: String,
}

/// A scheduling and packing instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The buffers. A buffer nobody reads is never stored.
    pub bufs: Vec<Buf>,
}

/// A block to place in the arena: `bytes` alive from step `start` to step `end`
/// (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// Size in bytes (aligned).
    pub bytes: usize,
    /// First step it is alive at.
    pub start: usize,
    /// Last step it is alive at.
    pub end: usize,
}

impl Interval {
    /// True when both are alive at some common step.
    pub fn meets(&self, o: &Interval) -> bool {
        self.start <= o.end && o.start <= self.end
    }
}

impl Problem {
    /// True when `order` runs every node once, each after its predecessors.
    pub fn is_schedule(&self, order: &[usize]) -> bool {
        let mut pos = vec![usize::MAX; self.nodes.len()];
        for (t, &n) in order.iter().enumerate() {
            if n >= pos.len() || pos[n] != usize::MAX {
                return false;
            }
            pos[n] = t;
        }
        order.len() == self.nodes.len()
            && self.nodes.iter().enumerate().all(|(n, nd)| nd.preds.iter().all(|&p| pos[p] < pos[n]))
    }

    /// Whether a buffer is ever read (unread buffers get no storage).
    pub fn is_stored(&self, b: usize) -> bool {
        let b = &self.bufs[b];
        b.to_end || !b.consumers.is_empty()
    }

    /// The blocks of a schedule: first every stored buffer (in buffer order), then the
    /// scratch of every node that has some (in node order). The second value maps each
    /// block back: `Ok(buffer)` or `Err(node)`.
    pub fn intervals(&self, order: &[usize]) -> (Vec<Interval>, Vec<Result<usize, usize>>) {
        let mut pos = vec![0; self.nodes.len()];
        for (t, &n) in order.iter().enumerate() {
            pos[n] = t;
        }
        let mut out = vec![];
        let mut keys = vec![];
        for (i, b) in self.bufs.iter().enumerate() {
            if !self.is_stored(i) {
                continue;
            }
            let start = pos[b.producer];
            let mut end = b.consumers.iter().map(|&c| pos[c]).max().unwrap_or(start).max(start);
            if b.to_end {
                end = order.len();
            }
            out.push(Interval { bytes: b.bytes, start, end });
            keys.push(Ok(i));
        }
        for (n, nd) in self.nodes.iter().enumerate() {
            if nd.scratch > 0 {
                out.push(Interval { bytes: nd.scratch, start: pos[n], end: pos[n] });
                keys.push(Err(n));
            }
        }
        (out, keys)
    }

    /// The bytes alive at each step of a schedule (one more step at the end for the
    /// final copies into outputs).
    pub fn step_bytes(&self, order: &[usize]) -> Vec<usize> {
        let (blocks, _) = self.intervals(order);
        let mut at = vec![0usize; order.len() + 1];
        for b in blocks {
            for x in &mut at[b.start..=b.end] {
                *x += b.bytes;
            }
        }
        at
    }

    /// The lower bound of any packing of this schedule: the most bytes alive at one
    /// step.
    pub fn peak(&self, order: &[usize]) -> usize {
        self.step_bytes(order).into_iter().max().unwrap_or(0)
    }

    /// A lower bound of the peak of every schedule: at each node's step its inputs,
    /// its outputs and its scratch are all alive.
    pub fn schedule_free_bound(&self) -> usize {
        let mut per = vec![0usize; self.nodes.len()];
        for (n, nd) in self.nodes.iter().enumerate() {
            per[n] += nd.scratch;
        }
        for (i, b) in self.bufs.iter().enumerate() {
            if !self.is_stored(i) {
                continue;
            }
            per[b.producer] += b.bytes;
            let mut readers = b.consumers.clone();
            readers.sort_unstable();
            readers.dedup();
            for c in readers {
                if c != b.producer {
                    per[c] += b.bytes;
                }
            }
        }
        per.into_iter().max().unwrap_or(0)
    }
}
