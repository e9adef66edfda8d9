//! A small deterministic generator of random memory problems (DAGs with branches,
//! joins, multi-use buffers, scratch and buffers kept to the end) for the planner's
//! property tests. No dependency: a xorshift generator seeded by the test.

use super::problem::{Buf, Node, Pair, Problem};

/// xorshift64* — deterministic on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value; zero is remapped).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A random problem of `n` nodes in topological order (node `i` only reads buffers of
/// nodes before it). Sizes are multiples of 16 between 16 and 1024 bytes.
pub fn random_problem(rng: &mut Rng, n: usize) -> Problem {
    let mut nodes: Vec<Node> = vec![];
    let mut bufs: Vec<Buf> = vec![];
    for i in 0..n {
        let mut preds = vec![];
        if i > 0 {
            let inputs = 1 + rng.below(3.min(bufs.len().max(1)));
            for _ in 0..inputs {
                if bufs.is_empty() {
                    break;
                }
                // Mostly recent buffers (chains and short branches), sometimes old ones.
                let b = if rng.below(4) == 0 {
                    rng.below(bufs.len())
                } else {
                    bufs.len() - 1 - rng.below(bufs.len().min(3))
                };
                if !bufs[b].consumers.contains(&i) {
                    bufs[b].consumers.push(i);
                }
                if !preds.contains(&bufs[b].producer) {
                    preds.push(bufs[b].producer);
                }
            }
        }
        let scratch = if rng.below(5) == 0 { 16 * (1 + rng.below(8)) } else { 0 };
        nodes.push(Node { preds, scratch, label: format!("n{i}") });
        let outs = if rng.below(8) == 0 { 2 } else { 1 };
        for k in 0..outs {
            bufs.push(Buf {
                bytes: 16 * (1 + rng.below(64)),
                producer: i,
                consumers: vec![],
                to_end: false,
                label: format!("v{i}.{k}"),
            });
        }
    }
    // Buffers nobody reads: some become model outputs copied at the end, the rest are
    // unused results.
    for b in &mut bufs {
        if b.consumers.is_empty() && rng.below(2) == 0 {
            b.to_end = true;
        }
    }
    Problem { nodes, bufs, pairs: vec![] }
}

/// [`random_problem`] with permitted overlaps: about half the nodes may write their
/// first result over one of the buffers they read, at a shift of 0 (exact, as an
/// element-wise kernel) or up to three 16-byte steps below (as a convolution), the
/// convolutions half the time also anywhere from a few 16-byte steps above the
/// input's start (as one that may run its rows last to first).
pub fn random_problem_with_pairs(rng: &mut Rng, n: usize) -> Problem {
    let mut p = random_problem(rng, n);
    for node in 0..p.nodes.len() {
        let reads: Vec<usize> = (0..p.bufs.len()).filter(|&b| p.bufs[b].consumers.contains(&node)).collect();
        let Some(output) = p.bufs.iter().position(|b| b.producer == node) else { continue };
        if reads.is_empty() || rng.below(2) == 0 {
            continue;
        }
        let input = reads[rng.below(reads.len())];
        let k = rng.below(4);
        let above = (k > 0 && rng.below(2) == 0).then(|| 16 * (1 + rng.below(4)) as isize);
        p.pairs.push(Pair { node, input, output, shift: -16 * k as isize, above, exact: k == 0 });
    }
    p
}
