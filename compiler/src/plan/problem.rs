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

/// A permitted overlap: node `node` may write buffer `output` starting `shift` bytes
/// from where buffer `input` starts (`shift ≤ 0`, a multiple of the alignment), when
/// `input` dies at that node (the node is its last reader in the schedule and it is not
/// kept to the end). With `exact`, only that offset is permitted (element-wise
/// kernels); otherwise any lower start is too (row-at-a-time convolutions), and, with
/// `above`, any start at least that many bytes after the input's (convolutions that
/// may run their rows last to first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The node that reads `input` and writes `output`.
    pub node: usize,
    /// The buffer read.
    pub input: usize,
    /// The buffer written.
    pub output: usize,
    /// Where `output` may start relative to `input`, in bytes.
    pub shift: isize,
    /// The least start of `output` above `input`'s, in bytes (a multiple of the
    /// alignment), when a start there or higher is permitted too.
    pub above: Option<isize>,
    /// Only exactly that start is permitted.
    pub exact: bool,
}

impl Pair {
    /// True when `out_at` is a permitted start of the output for an input at `in_at`.
    pub fn permits(&self, in_at: usize, out_at: usize) -> bool {
        self.permits_at(in_at as isize, out_at as isize)
    }

    /// [`Pair::permits`] for starts relative to any origin.
    pub fn permits_at(&self, in_at: isize, out_at: isize) -> bool {
        if self.exact {
            out_at == in_at + self.shift
        } else {
            out_at <= in_at + self.shift || self.above.is_some_and(|a| out_at >= in_at + a)
        }
    }

    /// Bytes the pair saves at its node's step when placed at its shift (or at its
    /// least start above, if that saves more): the two sizes less the span they cover
    /// together.
    pub fn saving(&self, in_bytes: usize, out_bytes: usize) -> usize {
        let at = |shift: isize| {
            let lo = shift.min(0);
            let hi = (in_bytes as isize).max(shift + out_bytes as isize);
            (in_bytes + out_bytes).saturating_sub((hi - lo) as usize)
        };
        at(self.shift).max(self.above.map_or(0, at))
    }

    /// The starts of `output` relative to `input` to try when placing it over its
    /// input: the shift, then the least start above.
    pub fn starts(&self) -> impl Iterator<Item = isize> {
        std::iter::once(self.shift).chain(self.above.filter(|_| !self.exact))
    }
}

/// A pair between two blocks of a schedule (indices into the blocks of
/// [`Problem::intervals`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockPair {
    /// The input's block (it ends at the pair's step).
    pub input: usize,
    /// The output's block (it starts there).
    pub output: usize,
    /// As [`Pair::shift`].
    pub shift: isize,
    /// As [`Pair::above`].
    pub above: Option<isize>,
    /// As [`Pair::exact`].
    pub exact: bool,
}

impl BlockPair {
    fn pair(&self) -> Pair {
        Pair { node: 0, input: 0, output: 0, shift: self.shift, above: self.above, exact: self.exact }
    }

    /// True when `out_at` is a permitted start of the output for an input at `in_at`.
    pub fn permits(&self, in_at: usize, out_at: usize) -> bool {
        self.pair().permits(in_at, out_at)
    }

    /// As [`Pair::permits_at`].
    pub fn permits_at(&self, in_at: isize, out_at: isize) -> bool {
        self.pair().permits_at(in_at, out_at)
    }

    /// As [`Pair::starts`].
    pub fn starts(&self) -> impl Iterator<Item = isize> {
        self.pair().starts()
    }
}

/// A scheduling and packing instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// The nodes.
    pub nodes: Vec<Node>,
    /// The buffers. A buffer nobody reads is never stored.
    pub bufs: Vec<Buf>,
    /// Permitted overlaps of a result with a dead input (none: no in-place execution).
    pub pairs: Vec<Pair>,
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

    /// The pairs that apply to a schedule: those whose input's last reader in `order`
    /// is the pair's node (and which is not kept to the end), between stored buffers.
    pub fn live_pairs(&self, order: &[usize]) -> Vec<Pair> {
        let mut pos = vec![0; self.nodes.len()];
        for (t, &n) in order.iter().enumerate() {
            pos[n] = t;
        }
        self.pairs
            .iter()
            .filter(|p| {
                let b = &self.bufs[p.input];
                self.is_stored(p.input)
                    && self.is_stored(p.output)
                    && !b.to_end
                    && self.bufs[p.output].producer == p.node
                    && b.consumers.iter().map(|&c| pos[c]).max() == Some(pos[p.node])
            })
            .copied()
            .collect()
    }

    /// The pairs of a schedule between its blocks (as [`Problem::intervals`] numbers
    /// them).
    pub fn block_pairs(&self, order: &[usize]) -> Vec<BlockPair> {
        let (_, keys) = self.intervals(order);
        let block = |b: usize| keys.iter().position(|k| *k == Ok(b));
        self.live_pairs(order)
            .into_iter()
            .filter_map(|p| {
                Some(BlockPair {
                    input: block(p.input)?,
                    output: block(p.output)?,
                    shift: p.shift,
                    above: p.above,
                    exact: p.exact,
                })
            })
            .collect()
    }

    /// The lower bound of any packing of this schedule that may overlap the pairs: at
    /// each step the bytes alive, less the most a pair of the step's node saves.
    pub fn peak_in_place(&self, order: &[usize]) -> usize {
        let mut at = self.step_bytes(order);
        let mut pos = vec![0; self.nodes.len()];
        for (t, &n) in order.iter().enumerate() {
            pos[n] = t;
        }
        let mut best = vec![0usize; at.len()];
        for p in self.live_pairs(order) {
            let s = p.saving(self.bufs[p.input].bytes, self.bufs[p.output].bytes);
            let t = pos[p.node];
            best[t] = best[t].max(s);
        }
        for (a, s) in at.iter_mut().zip(best) {
            *a -= s;
        }
        at.into_iter().max().unwrap_or(0)
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
