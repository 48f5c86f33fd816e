// Table -> pixels: every cell is measured with Pango first, so the image size is known (and
// checked against the limits) before cairo allocates or draws anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "render/render_types.h"
#include "render/table/table_model.h"

namespace visrl::render {

struct TableStyle {
  std::string font = "DejaVu Sans, Noto Sans CJK SC";                 // Pango family list
  std::string code_font = "DejaVu Sans Mono, Noto Sans Mono CJK SC";  // for code runs
  double font_size = 14.0;                                            // points at 96 DPI
  int margin_px = 12;                                                 // white around the grid
  int padding_px = 6;                                                 // between grid line and text
};

// Logical extent of a cell's text, as Pango reports it (x, y may be non-zero).
struct TextBox {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

// Pixel rectangle inside a cell's grid lines.
struct PixelRect {
  int64_t x = 0;
  int64_t y = 0;
  int64_t width = 0;
  int64_t height = 0;
};

// Where everything goes. Grid lines are one pixel: the vertical line left of column c is
// pixel column col_x[c], the last one col_x[columns]; likewise row_y for rows.
struct TableGeometry {
  std::vector<int64_t> col_x;  // columns + 1 entries
  std::vector<int64_t> row_y;  // rows + 1 entries
  int64_t width = 0;           // of the whole image, margins included
  int64_t height = 0;
  std::vector<TextBox> text;  // one per cell, in table order (row by row, cell by cell)
  int unknown_glyphs = 0;     // characters no installed font has (drawn as boxes)
};

// The reason the table's text cannot fit in max_side_px, or "" — decided from characters and
// line breaks alone, before Pango shapes anything. Why: a Pango layout's cost grows with
// the square of its lines (20000 lines in one cell: 1.4 s), and its extents, ints of 1/1024
// px, overflow past about 2 million px. A character is taken to be at least a fifth of an
// em wide and a line at least 0.8 em high: true of every visible character in the fonts
// used; only long runs of zero-width characters could be refused wrongly.
std::string text_size_reason(const Table& table, const TableStyle& style, int64_t max_side_px);

// Measures every cell (the text shaped once per cell) and places the grid. A column is as
// wide as its widest single-column cell; a spanning cell wider than its columns widens them
// evenly. Rows likewise. Sizes are int64: hostile text can be wider than an int.
TableGeometry measure_table(const Table& table, const TableStyle& style);

// Draws `table` at `geometry` (from measure_table with the same style): white background,
// grey grid, black text, header cells bold, text aligned per cell (none: data left, header
// centred, as browsers do) and centred vertically. Throws std::runtime_error if cairo fails.
RgbImage draw_table(const Table& table, const TableGeometry& geometry, const TableStyle& style);

PixelRect cell_rect(const Cell& cell, size_t row, const TableGeometry& geometry);

}  // namespace visrl::render
