// The tree edit distance of PubTabNet's TEDS (Zhong et al. 2020) on parsed tables.
//
// The tree is <table> -> one <tr> per source row -> one <td> per cell (th and header cells
// are td, as in the PubTabNet metric); thead / tbody / tfoot are dropped, as the reference
// evaluated with ignore_nodes = [thead, tbody, tfoot]. Costs: insert / delete 1; rename 1
// when the tags differ or when two cells' colspan / rowspan differ, else the cell cost below
// (0 for two rows and for the two roots).
//
// The tables come from the renderer's parsers, so a few things follow them rather than the
// raw HTML the reference reads: rowspan is cut at the last row and colspan capped at 1000
// (the HTML table model), tfoot rows come last, and a cell's text is what the renderer shows.
#pragma once

#include <cstdint>

#include "render/table/table_model.h"

namespace visrl::reward {

enum class CellCost {
  content,    // normalised Levenshtein distance of the cell texts, in code points (TEDS)
  structure,  // 0 (TEDS-S)
  same_text,  // 0 for equal texts, else 1: an upper bound of `content` at O(1) a pair
};

// Nodes the TEDS divisor counts for `table`: its rows plus its cells. The reference counts
// the elements below <table> (xpath ".//*"), not <table> itself.
int64_t teds_node_count(const render::Table& table);

// Exact tree edit distance between the trees of `a` and `b`. The trees have a fixed shape
// (root, rows, cells), which turns Zhang-Shasha's keyroot recursion into one forest DP over
// postorder prefixes whose subtree distances have closed forms, except row-to-row, which is
// a sequence alignment of the two rows' cells run alongside. Time O(nodes_a * nodes_b) plus
// one cell cost per pair of cells; memory O(nodes_b).
double table_tree_distance(const render::Table& a, const render::Table& b, CellCost cost);

}  // namespace visrl::reward
