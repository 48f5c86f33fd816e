// Markdown answers -> Table: what cmark-gfm gives, where tables are looked for, and the
// pre-scan that keeps hostile text away from cmark-gfm.
#include <string>

#include <gtest/gtest.h>

#include "render/table/markdown_scan.h"
#include "render/table/markdown_table.h"
#include "table_test_util.h"

namespace visrl::render {
namespace {

TableParse find(const std::string& text) {
  return find_table(text, TableLimits{});
}

std::string cell_text(const TableParse& parse, size_t row, size_t cell) {
  return parse.table.rows.at(row).cells.at(cell).text();
}

TEST(MarkdownTable, AlignmentFromDelimiterRow) {
  const TableParse parse = find("| a | b | c | d |\n|---|:--|:-:|--:|\n| 1 | 2 | 3 | 4 |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  ASSERT_EQ(parse.table.columns, 4);
  const auto& body = parse.table.rows.at(1).cells;
  EXPECT_EQ(body[0].align, CellAlign::none);
  EXPECT_EQ(body[1].align, CellAlign::left);
  EXPECT_EQ(body[2].align, CellAlign::center);
  EXPECT_EQ(body[3].align, CellAlign::right);
  EXPECT_TRUE(parse.table.rows[0].cells[0].header);
  EXPECT_FALSE(body[0].header);
}

TEST(MarkdownTable, InlineCodeEmphasisAndStrikeBecomeRuns) {
  const TableParse parse = find("| h |\n|---|\n| a `x|y` *i* **b** ~~s~~ |\n| `a\\|b` |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  // An unescaped pipe inside code still splits the cell (GFM), so the first row is "a `x".
  const std::vector<visrl::render::Run>& runs = parse.table.rows.at(1).cells.at(0).runs;
  EXPECT_EQ(test::runs_to_html(runs), "a `x");
  EXPECT_EQ(test::runs_to_html(parse.table.rows.at(2).cells.at(0).runs), "<code>a|b</code>");
  const TableParse styled = find("| h |\n|---|\n| a *i* **b** ~~s~~ `c` |\n");
  ASSERT_EQ(styled.status, TableParse::Status::found);
  EXPECT_EQ(test::runs_to_html(styled.table.rows.at(1).cells.at(0).runs),
            "a <em>i</em> <strong>b</strong> <del>s</del> <code>c</code>");
}

TEST(MarkdownTable, InlineHtmlTagsInCells) {
  const TableParse parse = find("| h |\n|---|\n| one<br>two <b>bold</b> <span>x</span> |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(test::runs_to_html(parse.table.rows.at(1).cells.at(0).runs), "one\ntwo <strong>bold</strong> x");
}

TEST(MarkdownTable, LinksAndImagesShowTheirText) {
  const TableParse parse = find("| h |\n|---|\n| [site](http://x.y) ![alt text](i.png) |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 1, 0), "site alt text");
}

TEST(MarkdownTable, TextAroundTheTableIsIgnored) {
  const TableParse parse = find("Here is the table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nHope this helps!\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(parse.table.rows.size(), 2u);
  EXPECT_EQ(cell_text(parse, 1, 1), "2");
}

TEST(MarkdownTable, NoTableInPlainText) {
  EXPECT_EQ(find("Just words, a | pipe, and\n---\na heading.\n").status, TableParse::Status::none);
  EXPECT_EQ(find("").status, TableParse::Status::none);
}

TEST(MarkdownTable, FirstOfSeveralTables) {
  const TableParse parse = find("| first |\n|---|\n| 1 |\n\n| second |\n|---|\n| 2 |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 0, 0), "first");
}

TEST(MarkdownTable, TableInFencedMarkdownBlock) {
  const TableParse parse = find("```markdown\n| a | b |\n|---|---|\n| 1 | 2 |\n```\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 1, 0), "1");
  // Code in another language is code, not a table.
  EXPECT_EQ(find("```python\nprint('| a |')\n# |---|\n```\n").status, TableParse::Status::none);
}

TEST(MarkdownTable, TableInBlockQuote) {
  const TableParse parse = find("> | a | b |\n> |---|---|\n> | 1 | 2 |\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 1, 1), "2");
}

TEST(MarkdownTable, HtmlTableInMarkdownDocument) {
  const TableParse parse =
      find("Intro text.\n\n<table>\n<tr><th>h</th></tr>\n\n<tr><td>x</td></tr>\n</table>\n\nEnd.\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  ASSERT_EQ(parse.table.rows.size(), 2u);  // the blank line inside does not cut the table
  EXPECT_TRUE(parse.table.rows[0].cells[0].header);
  EXPECT_EQ(cell_text(parse, 1, 0), "x");
}

TEST(MarkdownTable, HtmlTableInlineInParagraph) {
  const TableParse parse = find("The data: <table><tr><td>a</td><td>b</td></tr></table> as shown.\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(parse.table.columns, 2);
}

TEST(MarkdownTable, HtmlTableInFencedHtmlBlock) {
  const TableParse parse = find("```html\n<table><tr><td>in fence</td></tr></table>\n```\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 0, 0), "in fence");
}

TEST(MarkdownTable, IndentedHtmlDocumentIsFound) {
  // After the blank line cmark reads the indented table as a code block.
  const TableParse parse = find("<html>\n<body>\n\n    <table>\n      <tr><td>deep</td></tr>\n    </table>\n</body>\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 0, 0), "deep");
}

TEST(MarkdownTable, WhicheverTableComesFirst) {
  const std::string markdown = "| md |\n|---|\n| 1 |\n";
  const std::string html = "<table><tr><td>html</td></tr></table>\n";
  const TableParse markdown_first = find(markdown + "\n" + html);
  ASSERT_EQ(markdown_first.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(markdown_first, 0, 0), "md");
  const TableParse html_first = find(html + "\n" + markdown);
  ASSERT_EQ(html_first.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(html_first, 0, 0), "html");
}

TEST(MarkdownTable, EmptyHtmlTablesAreSkipped) {
  std::string answer;
  for (int i = 0; i < 100; ++i) answer += "<table></table>\n\n";
  const TableParse parse = find(answer + "<table><tr><td>late</td></tr></table>\n");
  ASSERT_EQ(parse.status, TableParse::Status::found);
  EXPECT_EQ(cell_text(parse, 0, 0), "late");
}

TEST(MarkdownTable, ExactCellLimitAfterParsing) {
  TableLimits limits;
  limits.max_cells = 6;
  EXPECT_EQ(find_table("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n", limits).status, TableParse::Status::found);
  const TableParse over = find_table("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n| 5 | 6 |\n", limits);
  ASSERT_EQ(over.status, TableParse::Status::rejected);
  EXPECT_NE(over.reason.find("8 cells"), std::string::npos) << over.reason;
  EXPECT_NE(over.reason.find("max_cells (6)"), std::string::npos) << over.reason;
}

TEST(MarkdownScan, CountsCellsAsCmarkSplitsThem) {
  EXPECT_EQ(count_row_cells("| a | b |"), 2);
  EXPECT_EQ(count_row_cells("a | b"), 2);
  EXPECT_EQ(count_row_cells("| a \\| b |"), 1);
  EXPECT_EQ(count_row_cells("> | a | b | c |"), 3);
  EXPECT_EQ(count_row_cells("plain"), 1);
}

TEST(MarkdownScan, RecognisesDelimiterRows) {
  EXPECT_EQ(delimiter_row_cells("|---|:--:|"), 2);
  EXPECT_EQ(delimiter_row_cells(":-: | -----------:"), 2);
  EXPECT_EQ(delimiter_row_cells("| --- |"), 1);
  EXPECT_EQ(delimiter_row_cells("---"), 0);  // setext underline / thematic break
  EXPECT_EQ(delimiter_row_cells("| a |"), 0);
  EXPECT_EQ(delimiter_row_cells("|-|-| x"), 0);
}

TEST(MarkdownScan, EstimatesCandidateSizes) {
  const MarkdownScan scan = scan_markdown("| a | b |\n|---|---|\n| 1 | 2 |\nlazy row\n\ntext\n", TableLimits{});
  EXPECT_EQ(scan.candidates, 1);
  EXPECT_EQ(scan.total_cells, 6);  // header + two body rows, two columns
  EXPECT_TRUE(scan.reason.empty());
}

TEST(MarkdownScan, RefusesOversizedCandidatesBeforeCmark) {
  std::string many_rows = "| a | b |\n|---|---|\n";
  for (int i = 0; i < 6000; ++i) many_rows += "| x | y |\n";
  const MarkdownScan rows = scan_markdown(many_rows, TableLimits{});
  EXPECT_NE(rows.reason.find("6001 rows x 2 columns = 12002 cells"), std::string::npos) << rows.reason;

  // Header and delimiter disagree, so cmark would make no table, but it would still split
  // the 5000-pipe line.
  std::string wide = "|";
  for (int i = 0; i < 5000; ++i) wide += "a|";
  const MarkdownScan columns = scan_markdown(wide + "\n|---|\n", TableLimits{});
  EXPECT_NE(columns.reason.find("5000 columns"), std::string::npos) << columns.reason;
  EXPECT_NE(columns.reason.find("max_side_px"), std::string::npos) << columns.reason;
}

TEST(MarkdownScan, RefusesManyBrackets) {
  std::string brackets;
  for (int i = 0; i < 9000; ++i) brackets += "![[]()";
  const MarkdownScan scan = scan_markdown(brackets, TableLimits{});
  EXPECT_NE(scan.reason.find("18000 '['"), std::string::npos) << scan.reason;
}

}  // namespace
}  // namespace visrl::render
