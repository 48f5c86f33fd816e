// HTML tables -> Table, with libxml2's forgiving HTML parser (never touches the network).
// Follows the HTML table model closely enough for answers: rowspan/colspan placement,
// th and thead as header cells, align= and style="text-align:..." on cells and rows.
#pragma once

#include <cstddef>
#include <string_view>

#include "render/table/table_model.h"

namespace visrl::render {

// The first <table> element with at least one cell in `html` (a table nested in a cell is
// flattened into that cell's text). Status none when there is none.
TableParse parse_html_table(std::string_view html, const TableLimits& limits);

// Offset of the first "<table" tag (any case) at or after `from`, or npos.
size_t find_table_tag(std::string_view text, size_t from = 0);

// Offset just past the "</table>" that closes the table opened at `start` (nested tables
// counted), or text.size() when it is never closed. Used to hand libxml2 one table only.
size_t table_tag_end(std::string_view text, size_t start);

}  // namespace visrl::render
