// render_table end to end: statuses and reasons, hostile answers (cheap, no crash), images.
// The cost bounds are in CPU time, which a loaded machine does not stretch.
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "render/table/table_renderer.h"
#include "table_test_util.h"
#include "tests/render/cpu_time.h"

namespace visrl::render {
namespace {

using visrl::test::CpuTimer;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::string markdown_table(int rows, int columns) {
  std::string out = "|";
  for (int c = 0; c < columns; ++c) out += " Column " + std::to_string(c) + " |";
  out += "\n|";
  for (int c = 0; c < columns; ++c) out += c % 3 == 2 ? "---:|" : "---|";
  out += "\n";
  for (int r = 0; r < rows; ++r) {
    out += "|";
    for (int c = 0; c < columns; ++c) out += " v" + std::to_string(r * 37 % 1000) + "." + std::to_string(c) + " |";
    out += "\n";
  }
  return out;
}

TEST(TableRenderer, RendersMarkdownTable) {
  const RenderResult result = render_table("Sure:\n\n" + markdown_table(3, 3) + "\nDone.", {});
  ASSERT_EQ(result.status, RenderStatus::ok) << result.reason;
  EXPECT_TRUE(result.reason.empty());
  EXPECT_FALSE(result.image.empty());
  EXPECT_FALSE(result.image.is_uniform());
  EXPECT_GT(result.timings.execute_ms, 0.0);
}

TEST(TableRenderer, RendersHtmlTable) {
  const RenderResult result =
      render_table("<table><tr><th>h1</th><th>h2</th></tr><tr><td colspan=2>both</td></tr></table>", {});
  ASSERT_EQ(result.status, RenderStatus::ok) << result.reason;
  EXPECT_FALSE(result.image.is_uniform());
}

TEST(TableRenderer, ImageIsCroppedToTheTablePlusMargin) {
  TableRenderOptions options;
  options.margin_px = 5;
  const RenderResult result = render_table("| a |\n|---|\n| b |\n", options);
  ASSERT_EQ(result.status, RenderStatus::ok) << result.reason;
  // A two-row, one-column table of one letter each is small.
  EXPECT_LT(result.image.width, 80);
  EXPECT_LT(result.image.height, 100);
  EXPECT_TRUE(test::is_white(result.image, 4, 4));
  EXPECT_FALSE(test::is_white(result.image, 5, 5));  // the frame's corner
}

TEST(TableRenderer, PlainTextIsNoCode) {
  const RenderResult result = render_table("There is no table in this answer | only a pipe.", {});
  EXPECT_EQ(result.status, RenderStatus::no_code);
  EXPECT_TRUE(contains(result.reason, "no markdown or HTML table")) << result.reason;
  EXPECT_TRUE(result.image.empty());
  EXPECT_EQ(render_table("", {}).status, RenderStatus::no_code);
}

TEST(TableRenderer, HundredThousandRowsRejectedQuickly) {
  const std::string answer = "| a | b |\n|---|---|\n" + repeat("| x | y |\n", 100000);
  const CpuTimer start;
  const RenderResult result = render_table(answer, {});
  EXPECT_LT(start.seconds(), 1.0);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "max_cells (10000)")) << result.reason;
  EXPECT_TRUE(contains(result.reason, "100001 rows x 2 columns = 200002 cells")) << result.reason;
}

TEST(TableRenderer, HundredThousandColumnsRejectedQuickly) {
  // 600 kB, under max_input_bytes, so that the table limits are what refuses it.
  const std::string header = repeat("|h", 100000) + "|\n";
  const std::string delimiter = repeat("|-", 100000) + "|\n";
  const CpuTimer start;
  const RenderResult full = render_table(header + delimiter + repeat("|x", 100000) + "|\n", {});
  // Header and delimiter disagree: cmark would make no table, but it would split the header.
  const RenderResult mismatched = render_table(header + "|---|\n", {});
  EXPECT_LT(start.seconds(), 1.0);
  ASSERT_EQ(full.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(full.reason, "2 rows x 100000 columns = 200000 cells")) << full.reason;
  ASSERT_EQ(mismatched.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(mismatched.reason, "100000 cells")) << mismatched.reason;
  // Pipes without a delimiter row are no table at all.
  const CpuTimer start2;
  EXPECT_EQ(render_table(header, {}).status, RenderStatus::no_code);
  EXPECT_LT(start2.seconds(), 1.0);
}

TEST(TableRenderer, WideHeaderWithManyShortRowsRejectedQuickly) {
  // cmark-gfm 0.29.0.gfm.6 would pad each short row to 10^4 cells: 10^7 nodes.
  const std::string answer = repeat("|a", 10000) + "|\n" + repeat("|-", 10000) + "|\n" + repeat("x\n", 1000);
  const CpuTimer start;
  const RenderResult result = render_table(answer, {});
  EXPECT_LT(start.seconds(), 1.0);
  EXPECT_EQ(result.status, RenderStatus::rejected);
}

TEST(TableRenderer, QuadraticBracketPatternRejectedQuickly) {
  const CpuTimer start;
  const RenderResult result = render_table("| a |\n|---|\n| " + repeat("![[]()", 50000) + " |\n", {});
  EXPECT_LT(start.seconds(), 1.0);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "100000 '['")) << result.reason;
}

TEST(TableRenderer, TooWideImageNamesTheSize) {
  // 1500 characters pass the estimate before layout (a fifth of an em each); measured, they
  // are far too wide.
  const RenderResult result = render_table("| a |\n|---|\n| " + repeat("W", 1500) + " |\n", {});
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "the table image would be")) << result.reason;
  EXPECT_TRUE(contains(result.reason, "max_side_px (8192)")) << result.reason;
}

TEST(TableRenderer, ManyLinesInACellRejectedBeforeLayout) {
  // Pango's cost grows with the square of a layout's lines: this took minutes when shaped.
  const CpuTimer start;
  const RenderResult result = render_table("| a |\n|---|\n| " + repeat("a<br>", 150000) + " |\n", {});
  EXPECT_LT(start.seconds(), 1.0);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "150000 lines")) << result.reason;
  const RenderResult wide = render_table("| a |\n|---|\n| " + repeat("W", 500000) + " |\n", {});
  ASSERT_EQ(wide.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(wide.reason, "500000 characters")) << wide.reason;
  EXPECT_LT(start.seconds(), 1.0);
}

TEST(TableRenderer, TooTallTableRejectedBeforeLayout) {
  TableRenderOptions options;
  options.max_side_px = 500;
  const RenderResult result = render_table(markdown_table(100, 2), options);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "max_side_px (500)")) << result.reason;
}

TEST(TableRenderer, MaxCellsOption) {
  TableRenderOptions options;
  options.max_cells = 8;
  EXPECT_EQ(render_table(markdown_table(3, 2), options).status, RenderStatus::ok);
  const RenderResult result = render_table(markdown_table(4, 2), options);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "10 cells, more than max_cells (8)")) << result.reason;
}

TEST(TableRenderer, LongAnswerRejectedUnparsed) {
  TableRenderOptions options;
  options.max_input_bytes = 1000;
  const RenderResult result = render_table(std::string(1001, 'a'), options);
  ASSERT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "1001 bytes, more than max_input_bytes (1000)")) << result.reason;
}

TEST(TableRenderer, InvalidOptionsAreRejected) {
  TableRenderOptions options;
  options.font_size = -3;
  const RenderResult result = render_table(markdown_table(1, 1), options);
  EXPECT_EQ(result.status, RenderStatus::rejected);
  EXPECT_TRUE(contains(result.reason, "font_size")) << result.reason;
}

TEST(TableRenderer, InvalidUtf8IsSanitised) {
  const std::string answer = "| a\xff\xfe | b |\n|---|---|\n| \xc3\x28 | \xed\xa0\x80 |\n| \xf4\x90\x80\x80 | ok |\n";
  const RenderResult result = render_table(answer, {});
  ASSERT_EQ(result.status, RenderStatus::ok) << result.reason;
  EXPECT_FALSE(result.image.is_uniform());
}

TEST(TableRenderer, BinaryGarbageDoesNotCrash) {
  std::mt19937 random(12345);
  std::string garbage(300000, '\0');
  for (char& c : garbage) c = static_cast<char>(random() & 0xFF);
  const CpuTimer start;
  const RenderResult result = render_table(garbage, {});
  EXPECT_LT(start.seconds(), 1.0);
  EXPECT_TRUE(result.status == RenderStatus::no_code || result.status == RenderStatus::ok ||
              result.status == RenderStatus::rejected)
      << to_string(result.status) << ": " << result.reason;
}

// Random answers over the characters tables are made of, so that many of them are almost
// tables: every status must be one of the three, and none may take long.
TEST(TableRenderer, TableLikeNoiseIsHandled) {
  const std::string alphabet = "||||---::  \n\n\n\\`*_<>/abtrdhle[]()!&#;\xe4\xb8\xad\xff";
  const std::vector<std::string> words = {
      "<table>", "<tr>", "<td>",      "</td>", "<th colspan=3>", "<td rowspan=0>", "</table>", "| a |", "|---|",
      ":-:|",    "```",  "```html\n", "> "};
  std::mt19937 random(7);
  int ok = 0;
  const CpuTimer start;
  for (int i = 0; i < 300; ++i) {
    std::string answer;
    const int length = static_cast<int>(random() % 400);
    for (int k = 0; k < length; ++k) {
      if (random() % 4 == 0) {
        answer += words[random() % words.size()];
      } else {
        answer += alphabet[random() % alphabet.size()];
      }
    }
    const RenderResult result = render_table(answer, {});
    ASSERT_TRUE(result.status == RenderStatus::ok || result.status == RenderStatus::no_code ||
                result.status == RenderStatus::rejected)
        << to_string(result.status) << ": " << result.reason;
    if (result.ok()) {
      ++ok;
      ASSERT_FALSE(result.image.empty());
    }
  }
  EXPECT_GT(ok, 10);  // the noise does make tables
  EXPECT_LT(start.seconds(), 10.0);
}

TEST(TableRenderer, CjkTableRenders) {
  const RenderResult result = render_table("| 城市 | 人口 |\n|---|--:|\n| 北京 | 2189万 |\n| 上海 | 2487万 |\n", {});
  ASSERT_EQ(result.status, RenderStatus::ok) << result.reason;
  EXPECT_GT(test::ink_in(result.image, 0, 0, result.image.width, result.image.height).count, 200);
}

// Pango state is per thread: renders on several threads at once give the same pixels.
TEST(TableRenderer, ThreadsRenderIdenticalImages) {
  const std::string answer = "| **Name** | 值 | `code` |\n|---|:-:|--:|\n| *a* | 中文 | 1 |\n| b | ~~x~~ | 22 |\n";
  const RenderResult reference = render_table(answer, {});
  ASSERT_EQ(reference.status, RenderStatus::ok);
  std::vector<int> mismatches(3, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        const RenderResult result = render_table(answer, {});
        if (!result.ok() || result.image.rgb != reference.image.rgb) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int count : mismatches) EXPECT_EQ(count, 0);
}

// The issue asks for a median of at most 20 ms for 20 rows x 8 columns on a 2-core machine:
// measured in CPU time, the renderer's own cost, which other processes on the machine (a
// build, other tests) do not stretch the way they stretch wall-clock time.
TEST(TableRenderer, TwentyByEightMedianUnderTwentyMilliseconds) {
  const std::string answer = "Here is the table:\n\n" + markdown_table(20, 8) + "\nAs requested.";
  ASSERT_EQ(render_table(answer, {}).status, RenderStatus::ok);  // warm: fonts, caches
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    const CpuTimer start;
    const RenderResult result = render_table(answer, {});
    ms.push_back(start.ms());
    ASSERT_EQ(result.status, RenderStatus::ok);
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::cout << "20x8 table render (CPU time): median " << median << " ms, p90 " << ms[ms.size() * 9 / 10] << " ms, min "
            << ms.front() << " ms\n";
  RecordProperty("median_ms", std::to_string(median));
  EXPECT_LE(median, 20.0);
}

}  // namespace
}  // namespace visrl::render
