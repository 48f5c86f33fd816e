// Table -> pixels, on hand-built tables: sizes, margins, grid, bold headers, alignment,
// inline code font, spans and CJK glyph coverage.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "render/table/table_layout.h"
#include "table_test_util.h"

namespace visrl::render {
namespace {

Cell text_cell(std::string text, int col, uint8_t style = 0) {
  Cell cell;
  append_run(cell.runs, text, style);
  cell.col = col;
  return cell;
}

// A rows x columns table of "r<row>c<col>" cells; row 0 is a header.
Table grid(int rows, int columns) {
  Table table;
  table.columns = columns;
  for (int r = 0; r < rows; ++r) {
    Row row;
    for (int c = 0; c < columns; ++c) {
      std::string text = "r";  // piecewise: GCC 12 -Wrestrict false positive on "r" + string
      text += std::to_string(r);
      text += 'c';
      text += std::to_string(c);
      Cell cell = text_cell(text, c);
      cell.header = r == 0;
      row.cells.push_back(cell);
    }
    table.rows.push_back(row);
  }
  return table;
}

struct Drawn {
  TableGeometry geometry;
  RgbImage image;
};

Drawn draw(const Table& table, const TableStyle& style = {}) {
  Drawn drawn;
  drawn.geometry = measure_table(table, style);
  drawn.image = draw_table(table, drawn.geometry, style);
  return drawn;
}

TEST(TableLayout, ImageMatchesGeometryAndHasInk) {
  const Drawn drawn = draw(grid(3, 2));
  EXPECT_EQ(drawn.image.width, drawn.geometry.width);
  EXPECT_EQ(drawn.image.height, drawn.geometry.height);
  EXPECT_EQ(drawn.image.rgb.size(), static_cast<size_t>(drawn.image.width * drawn.image.height * 3));
  EXPECT_FALSE(drawn.image.is_uniform());
  EXPECT_GT(test::ink_in(drawn.image, 0, 0, drawn.image.width, drawn.image.height).count, 50);
}

TEST(TableLayout, SizeGrowsWithRowsAndColumns) {
  const TableGeometry small = measure_table(grid(3, 2), {});
  const TableGeometry taller = measure_table(grid(6, 2), {});
  const TableGeometry wider = measure_table(grid(3, 4), {});
  EXPECT_GT(taller.height, small.height);
  EXPECT_EQ(taller.width, small.width);
  EXPECT_GT(wider.width, small.width);
  EXPECT_EQ(wider.height, small.height);
}

TEST(TableLayout, MarginIsWhiteAndGridIsGrey) {
  TableStyle style;
  style.margin_px = 9;
  const Drawn drawn = draw(grid(3, 3), style);
  const RgbImage& image = drawn.image;
  for (int64_t y = 0; y < image.height; ++y) {
    for (int64_t x = 0; x < image.width; ++x) {
      const bool in_margin = x < 9 || y < 9 || x >= image.width - 9 || y >= image.height - 9;
      if (in_margin) {
        ASSERT_TRUE(test::is_white(image, x, y)) << x << "," << y;
      }
    }
  }
  // The frame starts right inside the margin: the crop is tight.
  const uint8_t* corner = test::pixel(image, 9, 9);
  EXPECT_LT(corner[0], 200);
  EXPECT_EQ(corner[0], corner[1]);
  const uint8_t* inner_line = test::pixel(image, drawn.geometry.col_x[1], drawn.geometry.row_y[1] + 2);
  EXPECT_LT(inner_line[0], 200);
}

TEST(TableLayout, BoldHeaderIsWiderAndDarkerThanRegularText) {
  Table table;
  table.columns = 1;
  Cell header = text_cell("Quarterly revenue", 0);
  header.header = true;
  table.rows.push_back(Row{{header}});
  table.rows.push_back(Row{{text_cell("Quarterly revenue", 0)}});
  const Drawn drawn = draw(table);
  EXPECT_GT(drawn.geometry.text[0].width, drawn.geometry.text[1].width);
  const test::Ink bold = test::ink_in(drawn.image, cell_rect(table.rows[0].cells[0], 0, drawn.geometry));
  const test::Ink regular = test::ink_in(drawn.image, cell_rect(table.rows[1].cells[0], 1, drawn.geometry));
  EXPECT_GT(bold.darkness, regular.darkness * 11 / 10);
}

TEST(TableLayout, AlignmentPlacesInkInTheCell) {
  Table table;
  table.columns = 3;
  // A wide first row makes every column much wider than the short cells below.
  table.rows.push_back(Row{{text_cell("a rather wide heading", 0), text_cell("another wide heading", 1),
                            text_cell("a third wide heading", 2)}});
  Row row{{text_cell("L", 0), text_cell("C", 1), text_cell("R", 2)}};
  row.cells[0].align = CellAlign::left;
  row.cells[1].align = CellAlign::center;
  row.cells[2].align = CellAlign::right;
  table.rows.push_back(row);
  const Drawn drawn = draw(table);
  const auto ink = [&](int c) {
    return test::ink_in(drawn.image, cell_rect(table.rows[1].cells[c], 1, drawn.geometry));
  };
  const auto rect = [&](int c) { return cell_rect(table.rows[1].cells[c], 1, drawn.geometry); };
  const test::Ink left = ink(0), center = ink(1), right = ink(2);
  ASSERT_GT(left.count, 0);
  ASSERT_GT(center.count, 0);
  ASSERT_GT(right.count, 0);
  EXPECT_LT(left.max_x, rect(0).x + rect(0).width / 4);
  EXPECT_GT(right.min_x, rect(2).x + rect(2).width * 3 / 4);
  const int64_t center_ink = (center.min_x + center.max_x) / 2;
  const int64_t center_cell = rect(1).x + rect(1).width / 2;
  EXPECT_NEAR(static_cast<double>(center_ink), static_cast<double>(center_cell), 3.0);
}

TEST(TableLayout, InlineCodeUsesTheMonospaceFont) {
  Table table;
  table.columns = 2;
  table.rows.push_back(Row{{text_cell("iiiiiiii", 0), text_cell("iiiiiiii", 1, run_style::code)}});
  const TableGeometry geometry = measure_table(table, {});
  // Monospace 'i' is as wide as 'm'; a proportional 'i' is narrow.
  EXPECT_GT(geometry.text[1].width, geometry.text[0].width * 3 / 2);
}

TEST(TableLayout, SpanningCellHasNoGridLineInside) {
  Table table;
  table.columns = 2;
  Cell wide = text_cell("spans two columns of text", 0);
  wide.colspan = 2;
  table.rows.push_back(Row{{wide}});
  table.rows.push_back(Row{{text_cell("a", 0), text_cell("b", 1)}});
  const Drawn drawn = draw(table);
  const PixelRect span = cell_rect(table.rows[0].cells[0], 0, drawn.geometry);
  EXPECT_EQ(span.x + span.width, drawn.geometry.col_x[2]);
  // Grid line between the columns: present in row 1, absent in row 0 (above the text).
  const int64_t x = drawn.geometry.col_x[1];
  EXPECT_TRUE(test::is_white(drawn.image, x, drawn.geometry.row_y[0] + 2));
  EXPECT_FALSE(test::is_white(drawn.image, x, drawn.geometry.row_y[1] + 2));
  // Column widths together hold the spanning text.
  EXPECT_GE(span.width, drawn.geometry.text[0].width);
}

TEST(TableLayout, CjkTextHasGlyphsAndInk) {
  Table table;
  table.columns = 2;
  table.rows.push_back(Row{{text_cell("中文表格", 0), text_cell("日本語 한국어", 1)}});
  const Drawn drawn = draw(table);
  EXPECT_EQ(drawn.geometry.unknown_glyphs, 0);
  EXPECT_GT(test::ink_in(drawn.image, cell_rect(table.rows[0].cells[0], 0, drawn.geometry)).count, 40);
  EXPECT_GT(test::ink_in(drawn.image, cell_rect(table.rows[0].cells[1], 0, drawn.geometry)).count, 40);

  // The check can fail: private-use characters have no glyph in any installed font.
  Table tofu;
  tofu.columns = 1;
  tofu.rows.push_back(Row{{text_cell("\xEE\x80\x80\xEE\x80\x81", 0)}});
  EXPECT_GT(measure_table(tofu, {}).unknown_glyphs, 0);
}

TEST(TableLayout, MultiLineCellsAreTaller) {
  Table one_line, two_lines;
  one_line.columns = two_lines.columns = 1;
  one_line.rows.push_back(Row{{text_cell("top", 0)}});
  two_lines.rows.push_back(Row{{text_cell("top\nbottom", 0)}});
  EXPECT_GT(measure_table(two_lines, {}).height, measure_table(one_line, {}).height + 10);
}

TEST(TableLayout, TextTooLargeIsRefusedBeforeShaping) {
  Table ok = grid(20, 8);
  EXPECT_EQ(text_size_reason(ok, {}, 8192), "");
  // 14 pt is 18.7 px: a line of 3000 characters is at least 3000 x 18.7 / 5 px wide.
  Table wide;
  wide.columns = 1;
  wide.rows.push_back(Row{{text_cell(std::string(3000, 'x'), 0)}});
  EXPECT_NE(text_size_reason(wide, {}, 8192).find("a line of 3000 characters"), std::string::npos);
  // Rows add up: 600 rows of one line each are at least 600 x (0.8 em + 12) px high.
  EXPECT_NE(text_size_reason(grid(600, 1), {}, 8192).find("px high"), std::string::npos);
  EXPECT_EQ(text_size_reason(grid(600, 1), {}, 100000), "");
}

TEST(TableLayout, BadBytesInTextDoNotBreakPango) {
  Table table;
  table.columns = 1;
  Cell cell;
  cell.runs.push_back(visrl::render::Run{std::string("a\xff\xfe\0b\xed\xa0\x80", 8), 0});
  table.rows.push_back(Row{{cell}});
  const Drawn drawn = draw(table);
  EXPECT_GT(test::ink_in(drawn.image, cell_rect(table.rows[0].cells[0], 0, drawn.geometry)).count, 0);
}

}  // namespace
}  // namespace visrl::render
