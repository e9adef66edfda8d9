//! Offset planning: where in the arena each block goes, given when it is alive.
//!
//! Packing intervals into the least memory is NP-hard, but the arena can never be
//! smaller than the most bytes alive at one step, and simple greedy rules usually
//! reach it. [`pack`] tries every [`Strategy`] and keeps the smallest arena (ties: the
//! first strategy in [`STRATEGIES`]); [`verify`] re-checks any packing.

use super::problem::{BlockPair, Interval};

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
    /// Last to die first (largest first among equals), each at the lowest offset that
    /// fits, so a chain of in-place results is placed backwards from what runs after
    /// it (a streamed group's result and window low, the chain feeding it above them).
    LastFirst,
    /// Blocks chained by in-place pairs (a result over its dead input, over the next
    /// one's, …) as one rigid group at their pairs' shifts, largest group first, each
    /// at the lowest offset where no member meets a block alive with it.
    InPlaceGroups,
}

/// Every strategy, in the order ties are broken.
pub const STRATEGIES: [Strategy; 7] = [
    Strategy::Size,
    Strategy::Area,
    Strategy::Conflicts,
    Strategy::BestFitByLifetime,
    Strategy::BestFitBySize,
    Strategy::InPlaceGroups,
    Strategy::LastFirst,
];

impl Strategy {
    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Size => "greedy by size",
            Strategy::Area => "greedy by area",
            Strategy::Conflicts => "greedy by conflicts",
            Strategy::BestFitByLifetime => "best fit by lifetime",
            Strategy::BestFitBySize => "best fit by size",
            Strategy::InPlaceGroups => "in-place groups, largest first",
            Strategy::LastFirst => "greedy by death, last first",
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
    pack_pairs_with(blocks, &[], align, strategy)
}

/// Packs with one strategy, overlapping the blocks of a pair where it can: a block
/// whose partner is already placed goes at the partner's offset and the pair's shift
/// when nothing else alive there is in the way, else where the strategy puts it.
pub fn pack_pairs_with(blocks: &[Interval], pairs: &[BlockPair], align: usize, strategy: Strategy) -> Packing {
    if strategy == Strategy::InPlaceGroups {
        return pack_groups(blocks, pairs, align);
    }
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
        Strategy::LastFirst => {
            idx.sort_by(|&a, &b| blocks[b].end.cmp(&blocks[a].end).then(blocks[b].bytes.cmp(&blocks[a].bytes)))
        }
        Strategy::InPlaceGroups => {}
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
        if let Some(at) = paired_offset(i, blocks, pairs, &offsets, &placed) {
            offsets[i] = at;
            placed.push(i);
            continue;
        }
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

/// Groups of blocks chained by pairs, each member with its offset relative to the
/// group's lowest. A member reached through a pair with two permitted starts (below
/// the input, or above it) takes the one that widens the group least, so a chain of
/// convolutions alternates around one region instead of drifting. A chain that cannot
/// be laid out rigidly (a block reached again where its pair does not permit, or two
/// members alive together overlapping where no pair permits it) is split back into
/// single blocks.
fn groups(blocks: &[Interval], pairs: &[BlockPair], align: usize) -> Vec<Vec<(usize, usize)>> {
    let n = blocks.len();
    let mut rel: Vec<Option<isize>> = vec![None; n];
    let mut out = vec![];
    for first in 0..n {
        if rel[first].is_some() {
            continue;
        }
        rel[first] = Some(0);
        let mut members = vec![first];
        let (mut lo, mut hi) = (0isize, blocks[first].bytes as isize);
        let mut ok = true;
        let mut k = 0;
        while k < members.len() {
            let m = members[k];
            k += 1;
            let at_m = rel[m].unwrap_or(0);
            for p in pairs {
                let (other, sign) = if p.input == m {
                    (p.output, 1)
                } else if p.output == m {
                    (p.input, -1)
                } else {
                    continue;
                };
                match rel[other] {
                    None => {
                        let size = blocks[other].bytes as isize;
                        let at = chain_start(p, at_m, sign == 1, size, (lo, hi));
                        rel[other] = Some(at);
                        (lo, hi) = (lo.min(at), hi.max(at + size));
                        members.push(other);
                    }
                    Some(r) => {
                        let (i, o) = if sign == 1 { (at_m, r) } else { (r, at_m) };
                        if !p.permits_at(i, o) {
                            ok = false;
                        }
                    }
                }
            }
        }
        let low = members.iter().filter_map(|&m| rel[m]).min().unwrap_or(0);
        let mut group: Vec<(usize, usize)> =
            members.iter().map(|&m| (m, (rel[m].unwrap_or(0) - low) as usize)).collect();
        group.sort_unstable();
        for (x, &(a, oa)) in group.iter().enumerate() {
            for &(b, ob) in &group[x + 1..] {
                let overlaps = oa < ob + blocks[b].bytes && ob < oa + blocks[a].bytes;
                if blocks[a].meets(&blocks[b]) && overlaps && !pairs.iter().any(|q| overlap_permitted(q, a, b, oa, ob))
                {
                    ok = false;
                }
            }
        }
        if ok && group.iter().all(|&(_, o)| o % align == 0) {
            out.push(group);
        } else {
            out.extend(group.into_iter().map(|(m, _)| vec![(m, 0)]));
        }
    }
    out
}

/// Where a group places the other block of pair `p` when one of them is at `base`
/// (`placing_output`: the output is placed, else the input), the group spanning
/// `lo..hi` so far: of the permitted starts, the one that widens the group least,
/// preferring the group's own edges (the farthest permitted start without widening,
/// so the next pair of a chain can go back the other way) over the pair's exact
/// shift.
fn chain_start(p: &BlockPair, base: isize, placing_output: bool, size: isize, (lo, hi): (isize, isize)) -> isize {
    let mut starts = vec![];
    // Below: the output at `base + shift` or lower (the input as high, mirrored).
    let below = if placing_output { base + p.shift } else { base - p.shift };
    if !p.exact {
        starts.push(if placing_output { below.min(lo) } else { below.max(hi - size) });
    }
    starts.push(below);
    // Above: the output at `base + above` or higher (the input as low, mirrored).
    if let Some(a) = p.above.filter(|_| !p.exact) {
        let at = if placing_output { base + a } else { base - a };
        starts.push(if placing_output { at.max(hi - size) } else { at.min(lo) });
        starts.push(at);
    }
    let span = |at: isize| hi.max(at + size) - lo.min(at);
    starts.into_iter().min_by_key(|&at| span(at)).unwrap_or(below)
}

/// [`Strategy::InPlaceGroups`].
fn pack_groups(blocks: &[Interval], pairs: &[BlockPair], align: usize) -> Packing {
    let mut gs = groups(blocks, pairs, align);
    let size = |g: &Vec<(usize, usize)>| g.iter().map(|&(m, o)| o + blocks[m].bytes).max().unwrap_or(0);
    gs.sort_by(|a, b| size(b).cmp(&size(a)).then(a[0].0.cmp(&b[0].0)));
    let mut offsets = vec![usize::MAX; blocks.len()];
    let mut placed: Vec<usize> = vec![];
    for g in &gs {
        // Candidate bases: 0, and every base putting a member just above a placed block.
        let mut bases = vec![0usize];
        for &j in &placed {
            let end = align_up(offsets[j] + blocks[j].bytes, align);
            for &(_, rel) in g {
                if end >= rel {
                    bases.push(end - rel);
                }
            }
        }
        bases.sort_unstable();
        bases.dedup();
        let fits = |base: usize| {
            g.iter().all(|&(m, rel)| {
                let at = base + rel;
                placed.iter().all(|&j| {
                    let overlaps = offsets[j] < at + blocks[m].bytes && at < offsets[j] + blocks[j].bytes;
                    !blocks[j].meets(&blocks[m])
                        || !overlaps
                        || pairs.iter().any(|q| overlap_permitted(q, m, j, at, offsets[j]))
                })
            })
        };
        let base = bases.into_iter().find(|&b| b % align == 0 && fits(b)).unwrap_or(0);
        for &(m, rel) in g {
            offsets[m] = base + rel;
            placed.push(m);
        }
    }
    let arena_bytes = blocks.iter().zip(&offsets).map(|(b, &o)| o + b.bytes).max().unwrap_or(0);
    Packing { offsets, arena_bytes, strategy: Strategy::InPlaceGroups }
}

/// The offset block `i` takes over a placed partner of one of its pairs, if nothing
/// else alive at the same time is in the way (the first such pair).
fn paired_offset(
    i: usize,
    blocks: &[Interval],
    pairs: &[BlockPair],
    offsets: &[usize],
    placed: &[usize],
) -> Option<usize> {
    let it = blocks[i];
    for p in pairs {
        let (partner, base, sign) = if p.output == i && offsets[p.input] != usize::MAX {
            (p.input, offsets[p.input] as isize, 1)
        } else if p.input == i && offsets[p.output] != usize::MAX {
            (p.output, offsets[p.output] as isize, -1)
        } else {
            continue;
        };
        for s in p.starts() {
            let at = base + sign * s;
            if at < 0 {
                continue;
            }
            let at = at as usize;
            let clear = placed.iter().filter(|&&j| j != partner && blocks[j].meets(&it)).all(|&j| {
                let overlaps = offsets[j] < at + it.bytes && at < offsets[j] + blocks[j].bytes;
                !overlaps || pairs.iter().any(|q| overlap_permitted(q, i, j, at, offsets[j]))
            });
            if clear {
                return Some(at);
            }
        }
    }
    None
}

/// True when pair `q` permits blocks `a` (at `oa`) and `b` (at `ob`) to overlap.
fn overlap_permitted(q: &BlockPair, a: usize, b: usize, oa: usize, ob: usize) -> bool {
    (q.input == a && q.output == b && q.permits(oa, ob)) || (q.input == b && q.output == a && q.permits(ob, oa))
}

/// The smallest packing any strategy finds.
pub fn pack(blocks: &[Interval], align: usize) -> Packing {
    pack_pairs(blocks, &[], align)
}

/// The smallest packing any strategy finds, with the pairs overlapped where it can
/// and, should that pack worse (the rules are greedy), without them.
pub fn pack_pairs(blocks: &[Interval], pairs: &[BlockPair], align: usize) -> Packing {
    let mut best: Option<Packing> = None;
    let without: &[BlockPair] = &[];
    let tries = if pairs.is_empty() { vec![without] } else { vec![pairs, without] };
    for pairs in tries {
        for s in STRATEGIES {
            let p = pack_pairs_with(blocks, pairs, align, s);
            if best.as_ref().is_none_or(|b| p.arena_bytes < b.arena_bytes) {
                best = Some(p);
            }
        }
    }
    best.unwrap_or(Packing { offsets: vec![], arena_bytes: 0, strategy: Strategy::Size })
}

/// Checks a packing: aligned, inside the arena, and no two blocks alive at the same
/// step overlap. Names the first offending pair by index.
pub fn verify(blocks: &[Interval], offsets: &[usize], arena_bytes: usize, align: usize) -> Result<(), String> {
    verify_pairs(blocks, &[], offsets, arena_bytes, align)
}

/// [`verify`], except that the blocks of a pair may overlap where the pair permits.
pub fn verify_pairs(
    blocks: &[Interval],
    pairs: &[BlockPair],
    offsets: &[usize],
    arena_bytes: usize,
    align: usize,
) -> Result<(), String> {
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
            let permitted = pairs.iter().any(|q| overlap_permitted(q, i, j, oa, ob));
            if a.meets(b) && oa < ob + b.bytes && ob < oa + a.bytes && !permitted {
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
    fn last_first_places_an_in_place_chain_above_the_streamed_group_it_feeds() {
        // VWW's first layers: the quantised input, two convolutions in place over it,
        // then a streamed group writing a smaller result with its window in scratch.
        let b = |bytes, start, end| Interval { bytes, start, end };
        let blocks = [b(27_648, 0, 1), b(18_432, 1, 2), b(18_432, 2, 3), b(9_216, 3, 4), b(2_456, 3, 3)];
        let pair = |input, output, shift| BlockPair { input, output, shift, above: None, exact: false };
        let pairs = [pair(0, 1, 9_216), pair(1, 2, -768)];
        let bound = 18_432 + 9_216 + 2_456;
        let k = pack_pairs_with(&blocks, &pairs, 8, Strategy::LastFirst);
        verify_pairs(&blocks, &pairs, &k.offsets, k.arena_bytes, 8).unwrap();
        assert_eq!(k.arena_bytes, bound);
        assert_eq!(pack_pairs(&blocks, &pairs, 8).arena_bytes, bound);
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
