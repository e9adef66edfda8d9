//! Offset planning: where in the arena each block goes, given when it is alive.
//!
//! Packing intervals into the least memory is NP-hard, but the arena can never be
//! smaller than the most bytes alive at one step, and simple greedy rules usually
//! reach it. [`pack`] tries every [`Strategy`] and keeps the smallest arena (ties: the
//! first strategy in [`STRATEGIES`]); [`verify`] re-checks any packing.

use super::problem::Interval;

/// A rule for the order blocks are placed in, and where each goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Largest first, each at the lowest offset that fits (TensorFlow Lite Micro's
    /// greedy planner).
    Size,
    /// Largest size × lifetime first, lowest offset that fits.
    Area,
    /// Most bytes it conflicts with (alive at the same time) first, lowest offset.
    Conflicts,
    /// In order of birth (largest first among equals), each in the smallest gap it
    /// fits (best fit), else on top.
    BestFitByLifetime,
    /// Largest first, each in the smallest gap it fits.
    BestFitBySize,
}

/// Every strategy, in the order ties are broken.
pub const STRATEGIES: [Strategy; 5] =
    [Strategy::Size, Strategy::Area, Strategy::Conflicts, Strategy::BestFitByLifetime, Strategy::BestFitBySize];

impl Strategy {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Size => "greedy by size",
            Strategy::Area => "greedy by area",
            Strategy::Conflicts => "greedy by conflicts",
            Strategy::BestFitByLifetime => "best fit by lifetime",
            Strategy::BestFitBySize => "best fit by size",
        }
    }
}

/// A packing: an offset per block (in the blocks' order) and the arena size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packing {
    /// Offset of each block.
    pub offsets: Vec<usize>,
    /// Highest block end.
    pub arena_bytes: usize,
    /// The strategy that found it.
    pub strategy: Strategy,
}

fn align_up(n: usize, align: usize) -> usize {
    n.div_ceil(align) * align
}

/// Packs with one strategy. Every offset is a multiple of `align`.
pub fn pack_with(blocks: &[Interval], align: usize, strategy: Strategy) -> Packing {
    let n = blocks.len();
    let mut idx: Vec<usize> = (0..n).collect();
    let conflicts: Vec<usize> = match strategy {
        Strategy::Conflicts => (0..n)
            .map(|i| {
                blocks.iter().enumerate().filter(|(j, b)| *j != i && b.meets(&blocks[i])).map(|(_, b)| b.bytes).sum()
            })
            .collect(),
        _ => vec![],
    };
    let area = |b: &Interval| b.bytes * (b.end - b.start + 1);
    match strategy {
        Strategy::Size | Strategy::BestFitBySize => {
            idx.sort_by(|&a, &b| blocks[b].bytes.cmp(&blocks[a].bytes).then(blocks[a].start.cmp(&blocks[b].start)))
        }
        Strategy::Area => idx.sort_by(|&a, &b| area(&blocks[b]).cmp(&area(&blocks[a]))),
        Strategy::Conflicts => idx.sort_by(|&a, &b| {
            (conflicts[b] + blocks[b].bytes)
                .cmp(&(conflicts[a] + blocks[a].bytes))
                .then(blocks[b].bytes.cmp(&blocks[a].bytes))
        }),
        Strategy::BestFitByLifetime => {
            idx.sort_by(|&a, &b| blocks[a].start.cmp(&blocks[b].start).then(blocks[b].bytes.cmp(&blocks[a].bytes)))
        }
    }
    let best_fit = matches!(strategy, Strategy::BestFitByLifetime | Strategy::BestFitBySize);
    let mut offsets = vec![usize::MAX; n];
    let mut placed: Vec<usize> = vec![];
    for &i in &idx {
        let it = blocks[i];
        let mut busy: Vec<(usize, usize)> = placed
            .iter()
            .filter(|&&j| blocks[j].meets(&it))
            .map(|&j| (offsets[j], offsets[j] + blocks[j].bytes))
            .collect();
        busy.sort_unstable();
        // Gaps between busy ranges: (start, length); the last is open-ended.
        let mut gaps: Vec<(usize, usize)> = vec![];
        let mut at = 0;
        for (lo, hi) in busy {
            if lo > at {
                gaps.push((at, lo - at));
            }
            at = at.max(align_up(hi, align));
        }
        let top = at;
        let fits = gaps.iter().filter(|g| g.1 >= it.bytes);
        let offset = if best_fit {
            fits.min_by_key(|g| (g.1, g.0)).map_or(top, |g| g.0)
        } else {
            fits.map(|g| g.0).next().unwrap_or(top)
        };
        offsets[i] = offset;
        placed.push(i);
    }
    let arena_bytes = blocks.iter().zip(&offsets).map(|(b, &o)| o + b.bytes).max().unwrap_or(0);
    Packing { offsets, arena_bytes, strategy }
}

/// The smallest packing any strategy finds.
pub fn pack(blocks: &[Interval], align: usize) -> Packing {
    let mut best: Option<Packing> = None;
    for s in STRATEGIES {
        let p = pack_with(blocks, align, s);
        if best.as_ref().is_none_or(|b| p.arena_bytes < b.arena_bytes) {
            best = Some(p);
        }
    }
    best.unwrap_or(Packing { offsets: vec![], arena_bytes: 0, strategy: Strategy::Size })
}

/// Checks a packing: aligned, inside the arena, and no two blocks alive at the same
/// step overlap. Names the first offending pair by index.
pub fn verify(blocks: &[Interval], offsets: &[usize], arena_bytes: usize, align: usize) -> Result<(), String> {
    if blocks.len() != offsets.len() {
        return Err(format!("{} blocks but {} offsets", blocks.len(), offsets.len()));
    }
    for (i, (a, &oa)) in blocks.iter().zip(offsets).enumerate() {
        if oa % align != 0 {
            return Err(format!("block {i} at offset {oa} is not {align}-byte aligned"));
        }
        if oa + a.bytes > arena_bytes {
            return Err(format!("block {i} ends past the arena"));
        }
        for (j, (b, &ob)) in blocks.iter().zip(offsets).enumerate().skip(i + 1) {
            if a.meets(b) && oa < ob + b.bytes && ob < oa + a.bytes {
                return Err(format!("blocks {i} and {j} are alive together and overlap"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testgen::{random_problem, Rng};
    use super::*;

    #[test]
    fn every_strategy_packs_random_graphs_without_overlap() {
        let mut rng = Rng::new(3);
        for round in 0..300 {
            let p = random_problem(&mut rng, 2 + round % 40);
            let order: Vec<usize> = (0..p.nodes.len()).collect();
            let (blocks, _) = p.intervals(&order);
            let bound = p.peak(&order);
            for align in [4, 8, 16] {
                for s in STRATEGIES {
                    let k = pack_with(&blocks, align, s);
                    verify(&blocks, &k.offsets, k.arena_bytes, align).unwrap();
                    assert!(k.arena_bytes >= bound);
                }
                let best = pack(&blocks, align);
                let worst = STRATEGIES.iter().map(|&s| pack_with(&blocks, align, s).arena_bytes).max().unwrap();
                assert!(best.arena_bytes <= worst);
                assert_eq!(best, pack(&blocks, align), "deterministic");
            }
        }
    }

    #[test]
    fn best_of_strategies_reaches_the_bound_on_a_chain() {
        let b = |bytes, start, end| Interval { bytes, start, end };
        let blocks = [b(100 * 16, 0, 1), b(10 * 16, 1, 2), b(100 * 16, 2, 3), b(16, 3, 4)];
        let k = pack(&blocks, 16);
        assert_eq!(k.arena_bytes, 110 * 16);
    }

    #[test]
    fn verify_names_overlapping_blocks() {
        let b = |bytes, start, end| Interval { bytes, start, end };
        let blocks = [b(32, 0, 2), b(32, 2, 3)];
        assert!(verify(&blocks, &[0, 16], 48, 16).unwrap_err().contains("blocks 0 and 1"));
        assert!(verify(&blocks, &[0, 32], 64, 16).is_ok());
        assert!(verify(&blocks, &[0, 40], 80, 16).unwrap_err().contains("aligned"));
    }
}
