#include "reward/metrics/table_tree.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "reward/metrics/levenshtein.h"

namespace visrl::reward {
namespace {

struct FlatCell {
  int colspan = 1;
  int rowspan = 1;
  std::vector<char32_t> text;
};

// Cells in document order; row r holds cells [row_begin[r], row_begin[r + 1]).
struct FlatTable {
  std::vector<FlatCell> cells;
  std::vector<size_t> row_begin{0};

  size_t rows() const { return row_begin.size() - 1; }
  size_t row_size(size_t r) const { return row_begin[r + 1] - row_begin[r]; }
};

FlatTable flatten(const render::Table& table, bool with_text) {
  FlatTable flat;
  for (const render::Row& row : table.rows) {
    for (const render::Cell& cell : row.cells) {
      flat.cells.push_back(
          FlatCell{cell.colspan, cell.rowspan, with_text ? to_code_points(cell.text()) : std::vector<char32_t>{}});
    }
    flat.row_begin.push_back(flat.cells.size());
  }
  return flat;
}

// The rename costs of one cell of `a` against every cell of `b`.
void cell_costs(const FlatCell& cell, const FlatTable& b, CellCost cost, std::vector<double>& out) {
  std::optional<LevenshteinPattern> pattern;  // built on first need: most pairs are equal or trivially apart
  for (size_t k = 0; k < b.cells.size(); ++k) {
    const FlatCell& other = b.cells[k];
    double c = 0.0;
    if (cell.colspan != other.colspan || cell.rowspan != other.rowspan) {
      c = 1.0;
    } else if (cost == CellCost::structure || cell.text == other.text) {
      c = 0.0;
    } else if (cost == CellCost::same_text || cell.text.empty() || other.text.empty()) {
      c = 1.0;
    } else {
      if (!pattern) pattern.emplace(cell.text);
      const auto longest = static_cast<double>(std::max(cell.text.size(), other.text.size()));
      c = static_cast<double>(pattern->distance(other.text)) / longest;
    }
    out[k] = c;
  }
}

// Node j (1-based) of b's postorder without the root: each row's cells, then the row.
struct PostorderNode {
  bool is_row = false;
  size_t index = 0;     // cell index, or row index for a row
  size_t before = 0;    // postorder position just before the node's leftmost leaf: lml(j) - 1
  double children = 0;  // a row's number of cells
};

std::vector<PostorderNode> postorder(const FlatTable& t) {
  std::vector<PostorderNode> nodes(1);  // index 0 unused: DP column 0 is the empty forest
  for (size_t r = 0; r < t.rows(); ++r) {
    const size_t first = nodes.size();
    for (size_t k = t.row_begin[r]; k < t.row_begin[r + 1]; ++k) {
      const size_t j = nodes.size();
      nodes.push_back(PostorderNode{false, k, j - 1, 0.0});
    }
    nodes.push_back(PostorderNode{true, r, first - 1, static_cast<double>(t.row_size(r))});
  }
  return nodes;
}

}  // namespace

int64_t teds_node_count(const render::Table& table) {
  int64_t nodes = static_cast<int64_t>(table.rows.size());
  for (const render::Row& row : table.rows) nodes += static_cast<int64_t>(row.cells.size());
  return nodes;
}

double table_tree_distance(const render::Table& table_a, const render::Table& table_b, CellCost cost) {
  const bool with_text = cost != CellCost::structure;
  const FlatTable a = flatten(table_a, with_text);
  const FlatTable b = flatten(table_b, with_text);
  const std::vector<PostorderNode> nodes_b = postorder(b);
  const size_t n2 = nodes_b.size() - 1;

  // F[i][j]: forest edit distance between a's postorder prefix 1..i and b's 1..j. A node
  // matched with a node has its subtree matched with the other's subtree and what precedes
  // each matched with what precedes the other, so row i needs row i - 1 and, for a row
  // node, the row before its first cell (`start`).
  std::vector<double> prev(n2 + 1);
  std::vector<double> cur(n2 + 1);
  std::vector<double> start(n2 + 1);
  for (size_t j = 0; j <= n2; ++j) prev[j] = static_cast<double>(j);

  // Per row of b, the alignment DP of the current row of a against it (cells as leaves:
  // the distance of two rows is the edit distance of their cell sequences).
  std::vector<size_t> align_begin(b.rows() + 1, 0);
  for (size_t r = 0; r < b.rows(); ++r) align_begin[r + 1] = align_begin[r] + b.row_size(r) + 1;
  std::vector<double> align(align_begin.back());
  std::vector<double> costs(b.cells.size());

  for (size_t row = 0; row < a.rows(); ++row) {
    start = prev;
    for (size_t r = 0; r < b.rows(); ++r) {
      for (size_t k = 0; k <= b.row_size(r); ++k) align[align_begin[r] + k] = static_cast<double>(k);
    }
    for (size_t cell = a.row_begin[row]; cell < a.row_begin[row + 1]; ++cell) {
      cell_costs(a.cells[cell], b, cost, costs);
      for (size_t r = 0; r < b.rows(); ++r) {
        double* d = align.data() + align_begin[r];
        const double* c = costs.data() + b.row_begin[r];  // may point past the end of an empty row
        double diagonal = d[0];
        d[0] += 1.0;
        for (size_t k = 1; k <= b.row_size(r); ++k) {
          const double up = d[k];
          d[k] = std::min({up + 1.0, d[k - 1] + 1.0, diagonal + c[k - 1]});
          diagonal = up;
        }
      }
      // A cell is a leaf: matched with a cell it costs the rename; with a row, the rename
      // (1) plus inserting the row's cells.
      cur[0] = prev[0] + 1.0;
      for (size_t j = 1; j <= n2; ++j) {
        const PostorderNode& node = nodes_b[j];
        const double match = node.is_row ? prev[node.before] + 1.0 + node.children : prev[j - 1] + costs[node.index];
        cur[j] = std::min({prev[j] + 1.0, cur[j - 1] + 1.0, match});
      }
      std::swap(prev, cur);
    }
    // The row node: against a cell, rename (1) plus deleting this row's cells; against a
    // row, the alignment of the two rows' cells.
    const auto cells_here = static_cast<double>(a.row_size(row));
    cur[0] = prev[0] + 1.0;
    for (size_t j = 1; j <= n2; ++j) {
      const PostorderNode& node = nodes_b[j];
      const double subtree = node.is_row ? align[align_begin[node.index] + b.row_size(node.index)] : 1.0 + cells_here;
      cur[j] = std::min({prev[j] + 1.0, cur[j - 1] + 1.0, start[node.before] + subtree});
    }
    std::swap(prev, cur);
  }
  return prev[n2];  // the roots match at no cost
}

}  // namespace visrl::reward
