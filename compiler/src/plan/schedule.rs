//! The execution order: the one that keeps the fewest bytes alive at once.
//!
//! For graphs with branches the order decides the peak: a residual block's shortcut
//! can be computed early (its result waits, occupying memory) or late (its input
//! waits). [`schedule`] searches exactly — a depth-first search over the sets of nodes
//! already run, memoised, since the bytes alive depend only on that set — while the
//! number of sets stays under [`MAX_STATES`]; past it (large graphs with many
//! branches) it takes the better of a greedy order and the graph's own order, and
//! reports a lower bound that no order can beat. Everything iterates in node order,
//! so the result is deterministic; among orders of equal peak, the earliest in node
//! order wins, so a graph without branches keeps its order.

use super::problem::Problem;
use std::collections::HashMap;

/// The most node sets the exact search visits before giving up.
pub const MAX_STATES: usize = 50_000;
/// The most nodes the exact search is tried on (it recurses once per node).
pub const MAX_EXACT_NODES: usize = 400;

/// How the order was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Proven optimal by exhaustive search over `states` node sets.
    Exact {
        /// Node sets visited.
        states: usize,
    },
    /// The better of a greedy order and the graph's order; no order has a peak below
    /// `bound`.
    Heuristic {
        /// A lower bound of every order's peak.
        bound: usize,
    },
}

impl Method {
    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            Method::Exact { states } => format!("optimal (exact search over {states} node sets)"),
            Method::Heuristic { bound } => format!("heuristic (no order can go below {bound} B)"),
        }
    }
}

/// A chosen order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Node indices in run order.
    pub order: Vec<usize>,
    /// Most bytes alive at one step of it.
    pub peak: usize,
    /// How it was found.
    pub method: Method,
}

/// Per-node facts the searches share.
struct Facts {
    /// Bytes of the stored buffers each node writes.
    out_bytes: Vec<usize>,
    /// Stored buffers each node reads (distinct).
    reads: Vec<Vec<usize>>,
    /// Whether a buffer dies once all its readers ran.
    mortal: Vec<bool>,
    /// Bytes alive after the last step (buffers copied into outputs).
    final_bytes: usize,
}

fn facts(p: &Problem) -> Facts {
    let n = p.nodes.len();
    let mut out_bytes = vec![0; n];
    let mut reads = vec![vec![]; n];
    let mut mortal = vec![false; p.bufs.len()];
    let mut final_bytes = 0;
    for (i, b) in p.bufs.iter().enumerate() {
        if !p.is_stored(i) {
            continue;
        }
        out_bytes[b.producer] += b.bytes;
        mortal[i] = !b.to_end;
        if b.to_end {
            final_bytes += b.bytes;
        }
        for &c in &b.consumers {
            if c != b.producer && !reads[c].contains(&i) {
                reads[c].push(i);
            }
        }
    }
    Facts { out_bytes, reads, mortal, final_bytes }
}

/// Bit set of nodes already run.
type Set = Box<[u64]>;

fn has(s: &[u64], i: usize) -> bool {
    s[i / 64] >> (i % 64) & 1 == 1
}

fn with(s: &[u64], i: usize) -> Set {
    let mut t: Set = s.into();
    t[i / 64] |= 1 << (i % 64);
    t
}

fn ready(p: &Problem, s: &[u64], n: usize) -> bool {
    !has(s, n) && p.nodes[n].preds.iter().all(|&q| has(s, q))
}

/// Bytes freed when `n` runs after the nodes of `s` (its inputs whose readers have
/// then all run).
fn freed(p: &Problem, f: &Facts, s: &[u64], n: usize) -> usize {
    f.reads[n]
        .iter()
        .filter(|&&b| f.mortal[b] && p.bufs[b].consumers.iter().all(|&c| c == n || has(s, c)))
        .map(|&b| p.bufs[b].bytes)
        .sum()
}

struct Search<'a> {
    p: &'a Problem,
    f: &'a Facts,
    memo: HashMap<Set, (usize, usize)>,
}

impl Search<'_> {
    /// Smallest peak of the remaining steps from `s` (with `live` bytes alive), or
    /// `None` once the search grew past [`MAX_STATES`].
    fn best(&mut self, s: &Set, live: usize, done: usize) -> Option<usize> {
        if done == self.p.nodes.len() {
            return Some(self.f.final_bytes);
        }
        if let Some(&(peak, _)) = self.memo.get(s) {
            return Some(peak);
        }
        if self.memo.len() >= MAX_STATES {
            return None;
        }
        let mut best: Option<(usize, usize)> = None;
        for n in 0..self.p.nodes.len() {
            if !ready(self.p, s, n) {
                continue;
            }
            let step = live + self.f.out_bytes[n] + self.p.nodes[n].scratch;
            if best.is_some_and(|(b, _)| step >= b) {
                continue; // cannot beat the best found
            }
            let after = live + self.f.out_bytes[n] - freed(self.p, self.f, s, n);
            let rest = self.best(&with(s, n), after, done + 1)?;
            let peak = step.max(rest);
            if best.is_none_or(|(b, _)| peak < b) {
                best = Some((peak, n));
            }
        }
        let best = best?; // a graph with a cycle has no ready node: no schedule
        self.memo.insert(s.clone(), best);
        Some(best.0)
    }
}

fn exact(p: &Problem, f: &Facts) -> Option<Schedule> {
    if p.nodes.len() > MAX_EXACT_NODES {
        return None;
    }
    let words = p.nodes.len().div_ceil(64).max(1);
    let mut search = Search { p, f, memo: HashMap::new() };
    let start: Set = vec![0u64; words].into();
    let peak = search.best(&start, 0, 0)?;
    let mut order = vec![];
    let mut s = start;
    while order.len() < p.nodes.len() {
        let &(_, n) = search.memo.get(&s)?;
        order.push(n);
        s = with(&s, n);
    }
    Some(Schedule { order, peak, method: Method::Exact { states: search.memo.len() } })
}

/// Runs, at every step, the ready node that leaves the fewest bytes alive while it
/// runs, then after it (ties: the earliest node).
fn greedy(p: &Problem, f: &Facts) -> Vec<usize> {
    let words = p.nodes.len().div_ceil(64).max(1);
    let mut s: Set = vec![0u64; words].into();
    let mut live = 0;
    let mut order = vec![];
    while order.len() < p.nodes.len() {
        let pick = (0..p.nodes.len())
            .filter(|&n| ready(p, &s, n))
            .map(|n| {
                let step = live + f.out_bytes[n] + p.nodes[n].scratch;
                let after = live + f.out_bytes[n] - freed(p, f, &s, n);
                ((step, after), n)
            })
            .min();
        let Some((_, n)) = pick else { break };
        live = live + f.out_bytes[n] - freed(p, f, &s, n);
        s = with(&s, n);
        order.push(n);
    }
    order
}

/// The order of least peak memory (see the module text). `given` is a valid order
/// of the graph (its topological order), the fallback and tie-break.
pub fn schedule(p: &Problem, given: &[usize]) -> Schedule {
    let f = facts(p);
    if let Some(s) = exact(p, &f) {
        return s;
    }
    let bound = p.schedule_free_bound();
    let g = greedy(p, &f);
    let (gp, tp) = (p.is_schedule(&g).then(|| p.peak(&g)), p.peak(given));
    let order = match gp {
        Some(gp) if gp < tp => g,
        _ => given.to_vec(),
    };
    let peak = p.peak(&order);
    Schedule { order, peak, method: Method::Heuristic { bound } }
}

#[cfg(test)]
mod tests {
    use super::super::problem::{Buf, Node};
    use super::super::testgen::{random_problem, Rng};
    use super::*;

    /// Every order of a small problem, by brute force.
    fn all_orders(p: &Problem) -> Vec<Vec<usize>> {
        fn rec(p: &Problem, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if cur.len() == p.nodes.len() {
                out.push(cur.clone());
                return;
            }
            for n in 0..p.nodes.len() {
                if !cur.contains(&n) && p.nodes[n].preds.iter().all(|q| cur.contains(q)) {
                    cur.push(n);
                    rec(p, cur, out);
                    cur.pop();
                }
            }
        }
        let mut out = vec![];
        rec(p, &mut vec![], &mut out);
        out
    }

    #[test]
    fn exact_search_matches_brute_force_on_random_graphs() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let p = random_problem(&mut rng, 7);
            let given: Vec<usize> = (0..p.nodes.len()).collect();
            let s = schedule(&p, &given);
            assert!(p.is_schedule(&s.order));
            assert!(matches!(s.method, Method::Exact { .. }));
            assert_eq!(s.peak, p.peak(&s.order));
            let best = all_orders(&p).iter().map(|o| p.peak(o)).min().unwrap();
            assert_eq!(s.peak, best, "{p:?}");
        }
    }

    #[test]
    fn large_graphs_fall_back_to_a_heuristic_no_worse_than_the_given_order() {
        let mut rng = Rng::new(11);
        let p = random_problem(&mut rng, MAX_EXACT_NODES + 20);
        let given: Vec<usize> = (0..p.nodes.len()).collect();
        let s = schedule(&p, &given);
        assert!(p.is_schedule(&s.order));
        let Method::Heuristic { bound } = s.method else { panic!("expected the heuristic") };
        assert!(bound <= s.peak && s.peak <= p.peak(&given));
        assert_eq!(s, schedule(&p, &given), "deterministic");
    }

    #[test]
    fn a_chain_keeps_its_order() {
        let nodes = (0..5).map(|i| Node { preds: if i == 0 { vec![] } else { vec![i - 1] }, ..Node::default() });
        let bufs = (0..4).map(|i| Buf { bytes: 16, producer: i, consumers: vec![i + 1], ..Buf::default() });
        let p = Problem { nodes: nodes.collect(), bufs: bufs.collect(), pairs: vec![] };
        let s = schedule(&p, &[0, 1, 2, 3, 4]);
        assert_eq!(s.order, vec![0, 1, 2, 3, 4]);
        assert_eq!(s.peak, 32);
    }

    #[test]
    fn a_branch_runs_the_side_that_frees_memory_first() {
        // 0 writes a (100 B) read by 1 and 3; 1 writes b (10 B) read by 2; 2 writes c
        // (200 B) read by 4; 3 writes d (10 B) read by 4. Running 3 before 2 frees `a`
        // before `c` is written.
        let nodes = vec![
            Node::default(),
            Node { preds: vec![0], ..Node::default() },
            Node { preds: vec![1], ..Node::default() },
            Node { preds: vec![0], ..Node::default() },
            Node { preds: vec![2, 3], ..Node::default() },
        ];
        let buf = |bytes, producer, consumers: Vec<usize>| Buf { bytes, producer, consumers, ..Buf::default() };
        let bufs = vec![buf(100, 0, vec![1, 3]), buf(10, 1, vec![2]), buf(200, 2, vec![4]), buf(10, 3, vec![4])];
        let p = Problem { nodes, bufs, pairs: vec![] };
        let s = schedule(&p, &[0, 1, 2, 3, 4]);
        assert_eq!(p.peak(&[0, 1, 2, 3, 4]), 310);
        assert_eq!(s.order, vec![0, 1, 3, 2, 4]);
        assert_eq!(s.peak, 220);
    }
}
