// The parsed form of a table, shared by the parsers (markdown_table, html_table) and the
// rasteriser (table_layout). Plain data: parsing and drawing are tested separately.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::render {

enum class CellAlign : uint8_t { none, left, center, right };

// Inline style bits of a Run; a run can combine several (bold italic code).
namespace run_style {
constexpr uint8_t bold = 1;
constexpr uint8_t italic = 2;
constexpr uint8_t code = 4;    // monospace
constexpr uint8_t strike = 8;  // strikethrough
}  // namespace run_style

// A stretch of cell text in one style. Text is valid UTF-8; '\n' is a line break.
struct Run {
  std::string text;
  uint8_t style = 0;

  bool operator==(const Run&) const = default;
};

struct Cell {
  std::vector<Run> runs;  // adjacent runs have different styles
  int col = 0;            // first grid column the cell occupies
  int colspan = 1;
  int rowspan = 1;
  bool header = false;  // drawn bold
  CellAlign align = CellAlign::none;

  std::string text() const;  // the runs' text concatenated
};

// The cells that start in this grid row, left to right. Slots covered by a rowspan from
// above, or missing at the end of a short HTML row, have no Cell.
struct Row {
  std::vector<Cell> cells;
};

struct Table {
  int columns = 0;
  std::vector<Row> rows;

  int64_t grid_cells() const { return static_cast<int64_t>(columns) * static_cast<int64_t>(rows.size()); }
};

// Appends `text` in `style` to `runs`, merging with the last run when the style matches.
void append_run(std::vector<Run>& runs, std::string_view text, uint8_t style);

// Drops line breaks (and the runs they empty) at the end: a trailing <br> shows nothing.
void trim_trailing_breaks(std::vector<Run>& runs);

// Limits a parser checks before it builds more than it may: the grid size (rows x columns)
// and the smallest image a table can make (so a 10^5-column row is refused unmeasured).
struct TableLimits {
  int64_t max_cells = 10000;
  int64_t max_side_px = 8192;
  int64_t max_attributes = 256;  // on one HTML tag (libxml2 2.9 is quadratic in them)
  int min_column_px = 13;        // narrowest possible column: padding on both sides + grid line
  int min_row_px = 13;           // lowest possible row, likewise
};

// What a parser found: the first table, no table at all, or a table refused by a limit.
struct TableParse {
  enum class Status { found, none, rejected };
  Status status = Status::none;
  Table table;         // set when found
  std::string reason;  // set when rejected: the limit and the actual number

  static TableParse found_table(Table table);
  static TableParse nothing();
  static TableParse rejected_because(std::string reason);
};

// The reason a rows x columns grid breaks `limits`, or "" when it fits. `what` names the
// table in the reason ("markdown table", "HTML table").
std::string grid_limit_reason(std::string_view what, int64_t rows, int64_t columns, const TableLimits& limits);

}  // namespace visrl::render
