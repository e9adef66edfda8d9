//! Dead-code elimination: removes nodes none of whose results are read.

use crate::ir::Graph;

/// Removes dead nodes until none remain.
pub fn run(g: &mut Graph) -> usize {
    let mut removed = 0;
    loop {
        let dead: Vec<_> = g
            .topo_order()
            .into_iter()
            .rev()
            .filter(|&n| g.node(n).outputs.iter().all(|&o| !g.is_output(o) && g.users(o).is_empty()))
            .collect();
        if dead.is_empty() {
            return removed;
        }
        for n in dead {
            g.remove_node(n);
            removed += 1;
        }
    }
}
