#include "reward/metrics/teds.h"

#include <algorithm>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "render/render_types.h"
#include "render/table/markdown_table.h"
#include "reward/metrics/table_tree.h"

namespace visrl::reward {
namespace {

render::TableParse find(std::string_view text, const TedsLimits& limits) {
  render::TableLimits table_limits;
  table_limits.max_cells = limits.max_cells;
  // No image is drawn: only the cell count limits the work.
  table_limits.max_side_px = std::numeric_limits<int64_t>::max() / 1024;
  return render::find_table(render::sanitize_utf8(text), table_limits);
}

std::string why_not(std::string_view which, const render::TableParse& parse) {
  if (parse.status == render::TableParse::Status::rejected) return fmt::format("{}: {}", which, parse.reason);
  return fmt::format("{}: no table found", which);
}

double similarity(double distance, int64_t nodes) {
  return std::clamp(1.0 - distance / static_cast<double>(nodes), 0.0, 1.0);
}

}  // namespace

TedsScore teds(std::string_view pred, std::string_view ref) {
  return teds(pred, ref, TedsLimits{});
}

TedsScore teds(std::string_view pred, std::string_view ref, const TedsLimits& limits) {
  TedsScore score;
  const render::TableParse ref_table = find(ref, limits);
  const render::TableParse pred_table = find(pred, limits);
  score.ref_found = ref_table.status == render::TableParse::Status::found;
  score.pred_found = pred_table.status == render::TableParse::Status::found;
  if (!score.ref_found) {
    score.reason = why_not("reference", ref_table);
    return score;
  }
  if (!score.pred_found) {
    score.reason = why_not("prediction", pred_table);
    return score;
  }
  const render::Table& a = pred_table.table;
  const render::Table& b = ref_table.table;
  // A found table has a cell, so at least one row and one cell: nodes >= 2.
  const int64_t nodes = std::max(teds_node_count(a), teds_node_count(b));
  int64_t cells_a = 0;
  int64_t cells_b = 0;
  for (const auto& row : a.rows) cells_a += static_cast<int64_t>(row.cells.size());
  for (const auto& row : b.rows) cells_b += static_cast<int64_t>(row.cells.size());
  score.approximate = cells_a * cells_b > limits.max_content_pairs;
  score.teds =
      similarity(table_tree_distance(a, b, score.approximate ? CellCost::same_text : CellCost::content), nodes);
  score.teds_s = similarity(table_tree_distance(a, b, CellCost::structure), nodes);
  return score;
}

}  // namespace visrl::reward
