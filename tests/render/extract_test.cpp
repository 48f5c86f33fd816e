#include <gtest/gtest.h>

#include "render/extract.h"

namespace visrl::render {
namespace {

std::string code_of(RenderKind kind, std::string_view answer) {
  auto extracted = extract_code(kind, answer);
  return extracted ? extracted->code : "<none>";
}

TEST(ExtractChart, TakesThePythonBlock) {
  EXPECT_EQ(code_of(RenderKind::chart, "Sure!\n```python\nimport matplotlib.pyplot as plt\nplt.plot([1])\n```\nDone."),
            "import matplotlib.pyplot as plt\nplt.plot([1])\n");
}

TEST(ExtractChart, PrefersTheBlockThatPlots) {
  const auto answer =
      "```python\npip install matplotlib\n```\n```py\nimport matplotlib.pyplot as plt\nplt.bar([1], [2])\n```";
  EXPECT_EQ(code_of(RenderKind::chart, answer), "import matplotlib.pyplot as plt\nplt.bar([1], [2])\n");
}

TEST(ExtractChart, BareFenceTildesAndCrlf) {
  EXPECT_EQ(code_of(RenderKind::chart, "```\r\nplt.plot([1])\r\n```\r\n"), "plt.plot([1])\n");
  EXPECT_EQ(code_of(RenderKind::chart, "~~~python\nplt.plot([1])\n~~~"), "plt.plot([1])\n");
}

TEST(ExtractChart, UnclosedFenceRunsToTheEnd) {
  EXPECT_EQ(code_of(RenderKind::chart, "```python\nimport matplotlib\nplt.plot([1])"),
            "import matplotlib\nplt.plot([1])\n");
}

TEST(ExtractChart, LongerFenceIsNotClosedByAShorterOne) {
  EXPECT_EQ(code_of(RenderKind::chart, "````python\nx = '''\n```\n'''\nplt.plot([1])\n````"),
            "x = '''\n```\n'''\nplt.plot([1])\n");
}

TEST(ExtractChart, UnfencedScriptFromItsFirstImport) {
  EXPECT_EQ(code_of(RenderKind::chart, "Here is the code:\nimport matplotlib.pyplot as plt\nplt.plot([1])"),
            "import matplotlib.pyplot as plt\nplt.plot([1])");
}

TEST(ExtractChart, ProseIsNoCode) {
  EXPECT_FALSE(extract_code(RenderKind::chart, "I am unable to reproduce this chart."));
  EXPECT_FALSE(extract_code(RenderKind::chart, ""));
}

TEST(ExtractSvg, FromAFencedBlockOrBare) {
  const std::string svg = "<svg xmlns='http://www.w3.org/2000/svg'><rect width='1' height='1'/></svg>";
  EXPECT_EQ(code_of(RenderKind::svg, "```svg\n" + svg + "\n```"), svg);
  EXPECT_EQ(code_of(RenderKind::svg, "```xml\n" + svg + "\n```"), svg);
  EXPECT_EQ(code_of(RenderKind::svg, "The drawing: " + svg + " as requested."), svg);
  EXPECT_FALSE(extract_code(RenderKind::svg, "```python\nprint(1)\n```"));
}

TEST(ExtractSvg, KeepsTheDoctypeForTheGuard) {
  const std::string doc = "<!DOCTYPE svg [<!ENTITY a 'x'>]><svg>&a;</svg>";
  EXPECT_EQ(code_of(RenderKind::svg, "text " + doc), doc);
}

TEST(ExtractTable, FencedMarkdownOrHtmlOrTheWholeAnswer) {
  EXPECT_EQ(code_of(RenderKind::table, "```markdown\n| a |\n|---|\n| 1 |\n```"), "| a |\n|---|\n| 1 |\n");
  EXPECT_EQ(code_of(RenderKind::table, "```html\n<table><tr><td>1</td></tr></table>\n```"),
            "<table><tr><td>1</td></tr></table>\n");
  const std::string bare = "Table:\n| a |\n|---|\n| 1 |\nEnd.";
  EXPECT_EQ(code_of(RenderKind::table, bare), bare);
  EXPECT_FALSE(extract_code(RenderKind::table, "no table here"));
}

}  // namespace
}  // namespace visrl::render
