// HTML answers -> Table: the grid rowspan/colspan make, headers, alignment, text, limits.
#include <string>

#include <gtest/gtest.h>

#include "render/table/html_table.h"
#include "table_test_util.h"
#include "tests/render/cpu_time.h"

namespace visrl::render {
namespace {

TableParse parse(const std::string& html) {
  return parse_html_table(html, TableLimits{});
}

// Grid position of each cell as "text@row,col+colspan x rowspan".
std::vector<std::string> placements(const Table& table) {
  std::vector<std::string> out;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    for (const Cell& cell : table.rows[r].cells) {
      out.push_back(cell.text() + "@" + std::to_string(r) + "," + std::to_string(cell.col) + "+" +
                    std::to_string(cell.colspan) + "x" + std::to_string(cell.rowspan));
    }
  }
  return out;
}

TEST(HtmlTable, RowspanAndColspanMakeTheGrid) {
  const TableParse result = parse(R"(
    <table>
      <tr><td rowspan="2">A</td><td colspan="2">B</td></tr>
      <tr><td>C</td><td>D</td></tr>
      <tr><td>E</td><td colspan=2 rowspan=9>F</td></tr>
    </table>)");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(result.table.columns, 3);
  EXPECT_EQ(result.table.rows.size(), 3u);
  // C goes right of A's rowspan; F's rowspan is cut at the last row.
  EXPECT_EQ(placements(result.table),
            (std::vector<std::string>{"A@0,0+1x2", "B@0,1+2x1", "C@1,1+1x1", "D@1,2+1x1", "E@2,0+1x1", "F@2,1+2x1"}));
}

TEST(HtmlTable, RowspanZeroReachesTheLastRow) {
  const TableParse result = parse(
      "<table><tr><td rowspan=0>A</td><td>1</td></tr><tr><td>2</td></tr>"
      "<tr><td>3</td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(placements(result.table), (std::vector<std::string>{"A@0,0+1x3", "1@0,1+1x1", "2@1,1+1x1", "3@2,1+1x1"}));
}

TEST(HtmlTable, RaggedRowsWidenTheGrid) {
  const TableParse result = parse("<table><tr><td>a</td></tr><tr><td>b</td><td>c</td><td>d</td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(result.table.columns, 3);
  EXPECT_EQ(result.table.rows[0].cells.size(), 1u);
}

TEST(HtmlTable, HeadersFromThAndThead) {
  const TableParse result = parse(
      "<table><thead><tr><td>head td</td></tr></thead><tbody><tr><th>row th</th><td>x</td></tr></tbody>"
      "<tfoot><tr><td>foot</td></tr></tfoot></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_TRUE(result.table.rows[0].cells[0].header);
  EXPECT_TRUE(result.table.rows[1].cells[0].header);
  EXPECT_FALSE(result.table.rows[1].cells[1].header);
  EXPECT_EQ(result.table.rows[2].cells[0].text(), "foot");
}

TEST(HtmlTable, FooterDrawnLast) {
  const TableParse result =
      parse("<table><tfoot><tr><td>foot</td></tr></tfoot><tbody><tr><td>body</td></tr></tbody></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(result.table.rows[0].cells[0].text(), "body");
  EXPECT_EQ(result.table.rows[1].cells[0].text(), "foot");
}

TEST(HtmlTable, AlignmentFromAttributesAndStyle) {
  const TableParse result = parse(
      R"(<table><tr><td align="RIGHT">r</td><td style="color:red; text-align : center">c</td><td>n</td></tr>
         <tr align="right"><td>inherited</td><td align="left">own</td></tr>
         <tbody style="text-align:center"><tr><td>group</td></tr></tbody></table>)");
  ASSERT_EQ(result.status, TableParse::Status::found);
  const auto& rows = result.table.rows;
  EXPECT_EQ(rows[0].cells[0].align, CellAlign::right);
  EXPECT_EQ(rows[0].cells[1].align, CellAlign::center);
  EXPECT_EQ(rows[0].cells[2].align, CellAlign::none);
  EXPECT_EQ(rows[1].cells[0].align, CellAlign::right);
  EXPECT_EQ(rows[1].cells[1].align, CellAlign::left);
  EXPECT_EQ(rows[2].cells[0].align, CellAlign::center);
}

TEST(HtmlTable, CellTextLikeABrowser) {
  const TableParse result = parse(
      "<table><tr><td>\n  two   words\n</td><td>a<br>b <b>bold</b> <code>x&lt;y</code> &amp;</td>"
      "<td><p>para one</p><p>para two</p><script>hidden()</script></td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  const auto& cells = result.table.rows[0].cells;
  EXPECT_EQ(cells[0].text(), "two words");
  EXPECT_EQ(test::runs_to_html(cells[1].runs), "a\nb <strong>bold</strong> <code>x&lt;y</code> &amp;");
  EXPECT_EQ(cells[2].text(), "para one\npara two");
}

TEST(HtmlTable, NestedTableIsFlattenedIntoItsCell) {
  const TableParse result =
      parse("<table><tr><td>outer<table><tr><td>in1</td><td>in2</td></tr></table></td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(result.table.columns, 1);
  ASSERT_EQ(result.table.rows.size(), 1u);
  EXPECT_EQ(result.table.rows[0].cells[0].text(), "outer\nin1 in2");
}

TEST(HtmlTable, EmptyTableIsNoTable) {
  EXPECT_EQ(parse("<table></table>").status, TableParse::Status::none);
  EXPECT_EQ(parse("<p>no table here</p>").status, TableParse::Status::none);
  EXPECT_EQ(parse("").status, TableParse::Status::none);
  // An empty table first, a real one after: the real one.
  const TableParse result = parse("<table></table><table><tr><td>real</td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::found);
  EXPECT_EQ(result.table.rows[0].cells[0].text(), "real");
}

TEST(HtmlTable, SpansCannotBlowUpTheGrid) {
  TableLimits limits;
  limits.max_cells = 2000;
  // The rowspan is cut to the 2 rows left: 1000 + 2 x 1000 + 1 slots.
  const TableParse result = parse_html_table(
      "<table><tr><td colspan=1000>a</td></tr><tr><td rowspan=65534 colspan=1000>b</td></tr><tr><td>c</td></tr>"
      "</table>",
      limits);
  ASSERT_EQ(result.status, TableParse::Status::rejected);
  EXPECT_NE(result.reason.find("3001 grid cells"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("max_cells (2000)"), std::string::npos) << result.reason;
  // colspan is capped at 1000, as in the HTML specification.
  const TableParse capped = parse("<table><tr><td colspan=99999999>a</td></tr></table>");
  ASSERT_EQ(capped.status, TableParse::Status::rejected);
  EXPECT_NE(capped.reason.find("1000 columns"), std::string::npos) << capped.reason;
}

TEST(HtmlTable, TooManyCellsNamesTheCount) {
  std::string html = "<table>";
  for (int i = 0; i < 3000; ++i) html += "<tr><td>a</td><td>b</td><td>c</td><td>d</td></tr>";
  const TableParse result = parse(html + "</table>");
  ASSERT_EQ(result.status, TableParse::Status::rejected);
  EXPECT_NE(result.reason.find("12000 cells"), std::string::npos) << result.reason;
}

TEST(HtmlTable, DeeplyNestedHtmlIsQuick) {
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "<div><b>";
  const visrl::test::CpuTimer cpu;  // CPU time: the parser's work, however loaded the machine
  const TableParse divs = parse(nested + "<table><tr><td>x</td></tr></table>");
  std::string tables;
  for (int i = 0; i < 20000; ++i) tables += "<table><tr><td>";
  const TableParse cells = parse(tables + "x");
  EXPECT_LT(cpu.seconds(), 1.0);
  // libxml2 stops at depth 256, so the table under 200000 elements is never seen.
  EXPECT_EQ(divs.status, TableParse::Status::none);
  ASSERT_EQ(cells.status, TableParse::Status::found);
  EXPECT_EQ(cells.table.columns, 1);
}

TEST(HtmlTable, ATagWithTooManyAttributesIsRefusedBeforeLibxml2) {
  // libxml2 2.9 checks each attribute against all earlier ones: 160k valueless attributes on
  // a <table> tag took it to the render deadline (15 s).
  std::string attributes;
  for (int i = 0; i < 160000; ++i) attributes += " a" + std::to_string(i);
  const TableParse result = parse("<table" + attributes + "><tr><td>x</td></tr></table>");
  ASSERT_EQ(result.status, TableParse::Status::rejected);
  EXPECT_NE(result.reason.find("more than 256 attributes"), std::string::npos) << result.reason;
  // Valued, quoted (with spaces and '>' inside quotes) and valueless attributes all count.
  std::string mixed = "<table><tr><td";
  for (int i = 0; i < 100; ++i) mixed += " x" + std::to_string(i) + "='a > b' y" + std::to_string(i) + "=1 nowrap";
  EXPECT_EQ(parse(mixed + ">x</td></tr></table>").status, TableParse::Status::rejected);
  // 256 attributes are fine.
  std::string fine = "<table><tr><td";
  for (int i = 0; i < 256; ++i) fine += " data-" + std::to_string(i) + "=\"v\"";
  EXPECT_EQ(parse(fine + ">x</td></tr></table>").status, TableParse::Status::found);
}

TEST(HtmlTable, FindsTableTags) {
  EXPECT_EQ(find_table_tag("x <TABLE border=1>"), 2u);
  EXPECT_EQ(find_table_tag("<tables> <table>"), 9u);
  EXPECT_EQ(find_table_tag("no tag"), std::string_view::npos);
  const std::string html = "<table><tr><td><table></table></td></tr></TABLE> after";
  EXPECT_EQ(table_tag_end(html, 0), html.find(" after"));
  EXPECT_EQ(table_tag_end("<table><tr>", 0), 11u);
}

}  // namespace
}  // namespace visrl::render
