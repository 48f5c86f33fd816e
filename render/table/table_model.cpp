#include "render/table/table_model.h"

#include <utility>

#include <fmt/format.h>

namespace visrl::render {

std::string Cell::text() const {
  std::string out;
  for (const Run& run : runs) out += run.text;
  return out;
}

void append_run(std::vector<Run>& runs, std::string_view text, uint8_t style) {
  if (text.empty()) return;
  if (!runs.empty() && runs.back().style == style) {
    runs.back().text.append(text);
  } else {
    runs.push_back(Run{std::string(text), style});
  }
}

void trim_trailing_breaks(std::vector<Run>& runs) {
  while (!runs.empty()) {
    std::string& last = runs.back().text;
    while (!last.empty() && last.back() == '\n') last.pop_back();
    if (!last.empty()) break;
    runs.pop_back();
  }
}

TableParse TableParse::found_table(Table table) {
  TableParse parse;
  parse.status = Status::found;
  parse.table = std::move(table);
  return parse;
}

TableParse TableParse::nothing() {
  return TableParse{};
}

TableParse TableParse::rejected_because(std::string reason) {
  TableParse parse;
  parse.status = Status::rejected;
  parse.reason = std::move(reason);
  return parse;
}

std::string grid_limit_reason(std::string_view what, int64_t rows, int64_t columns, const TableLimits& limits) {
  // Products of untrusted counts: each factor is at most a few million (bounded by the input
  // size), so int64 cannot overflow.
  const int64_t cells = rows * columns;
  if (cells > limits.max_cells) {
    return fmt::format("{} has {} rows x {} columns = {} cells, more than max_cells ({})", what, rows, columns, cells,
                       limits.max_cells);
  }
  const int64_t min_width = columns * limits.min_column_px + 1;
  if (min_width > limits.max_side_px) {
    return fmt::format("{} has {} columns, at least {} px wide, more than max_side_px ({})", what, columns, min_width,
                       limits.max_side_px);
  }
  const int64_t min_height = rows * limits.min_row_px + 1;
  if (min_height > limits.max_side_px) {
    return fmt::format("{} has {} rows, at least {} px high, more than max_side_px ({})", what, rows, min_height,
                       limits.max_side_px);
  }
  return {};
}

}  // namespace visrl::render
