// The markdown parser against the GFM specification's table examples (198-205, spec 0.29):
// each example is parsed with find_table, the Table written back as the spec's HTML and
// compared with the spec's expected HTML, and with what cmark-gfm's own HTML renderer says.
#include <memory>
#include <string>

#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>
#include <gtest/gtest.h>

#include "render/table/markdown_table.h"
#include "table_test_util.h"
#include "tests/test_util.h"

namespace visrl::render {
namespace {

std::string spec_file(int example, const char* extension) {
  // Appended piecewise: GCC 12 warns (-Wrestrict, a false positive) on "literal" + string.
  std::string name = "example_";
  name += std::to_string(example);
  name += extension;
  const auto path = visrl::test::source_dir() / "tests/render/table/gfm_spec" / name;
  std::string text = visrl::test::read_file(path);
  EXPECT_FALSE(text.empty()) << "missing fixture " << path;
  return text;
}

// cmark-gfm's own HTML for `markdown`, with the table extension attached.
std::string cmark_html(const std::string& markdown) {
  cmark_gfm_core_extensions_ensure_registered();
  cmark_parser* parser = cmark_parser_new(CMARK_OPT_DEFAULT);
  cmark_parser_attach_syntax_extension(parser, cmark_find_syntax_extension("table"));
  cmark_parser_feed(parser, markdown.data(), markdown.size());
  cmark_node* document = cmark_parser_finish(parser);
  char* html = cmark_render_html(document, CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(parser));
  std::string out(html);
  free(html);
  cmark_node_free(document);
  cmark_parser_free(parser);
  return out;
}

std::string parsed_html(const std::string& markdown) {
  const TableParse parse = find_table(markdown, TableLimits{});
  EXPECT_NE(parse.status, TableParse::Status::rejected) << parse.reason;
  return parse.status == TableParse::Status::found ? test::to_spec_html(parse.table) : std::string();
}

class GfmSpecTableExample : public ::testing::TestWithParam<int> {};

TEST_P(GfmSpecTableExample, ParserAgreesWithSpec) {
  const std::string markdown = spec_file(GetParam(), ".md");
  const std::string expected = test::first_table_html(spec_file(GetParam(), ".html"));
  EXPECT_EQ(parsed_html(markdown), expected) << "markdown:\n" << markdown;
}

TEST_P(GfmSpecTableExample, ParserAgreesWithCmarkGfmRenderer) {
  const std::string markdown = spec_file(GetParam(), ".md");
  EXPECT_EQ(parsed_html(markdown), test::first_table_html(cmark_html(markdown))) << "markdown:\n" << markdown;
}

INSTANTIATE_TEST_SUITE_P(Examples198To205, GfmSpecTableExample, ::testing::Range(198, 206),
                         [](const ::testing::TestParamInfo<int>& example) { return std::to_string(example.param); });

// The fixtures themselves: a table in all but example 203 (header and delimiter rows differ).
TEST(GfmSpecFixtures, ExpectedHtmlHasTablesWhereTheSpecSays) {
  for (int example = 198; example <= 205; ++example) {
    const bool has_table = !test::first_table_html(spec_file(example, ".html")).empty();
    EXPECT_EQ(has_table, example != 203) << "example " << example;
  }
}

}  // namespace
}  // namespace visrl::render
