// Hostile SVG and table answers through the pool: the right status (which says whether the
// deadline or a limit ended the job), no job process left, and the pool still renders
// correctly afterwards. Waits are on conditions; the only time bounds are hang guards.
#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "render/render_pool.h"
#include "tests/render/process_util.h"

namespace visrl::render {
namespace {

constexpr const char* kGoodSvg =
    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><rect width='5' height='5' fill='red'/></svg>";
constexpr const char* kGoodTable = "| a | b |\n|---|---|\n| 1 | 2 |\n";
constexpr double kTimeoutS = 3;
// A hang guard on one render, worker start-up included: 10x the pool's deadline.
constexpr double kHangGuardS = 10 * kTimeoutS;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// True once no process below this test is more than a child (a worker) of it.
bool no_job_process_left() {
  return test::wait_until([] { return test::descendants().size() == test::children_of().size(); });
}

class NativeSandbox : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RenderPoolOptions o;
    o.workers = 2;
    o.timeout_s = kTimeoutS;
    o.cpu_s = 2;
    o.memory_mb = 1024;
    pool_ = new RenderPool(o);
  }
  static void TearDownTestSuite() {
    delete pool_;
    pool_ = nullptr;
  }

  static RenderRequest request(RenderKind kind, std::string text) {
    RenderRequest r;
    r.kind = kind;
    r.text = std::move(text);
    return r;
  }

  RenderResult run(RenderKind kind, std::string text) {
    const auto start = std::chrono::steady_clock::now();
    RenderResult r = pool_->render(request(kind, std::move(text)));
    EXPECT_LT(seconds_since(start), kHangGuardS) << to_string(r.status) << ": " << r.reason;
    EXPECT_TRUE(no_job_process_left()) << "a job process outlived its job (still there after "
                                       << test::kWaitLimitMs / 1000 << " s)";
    EXPECT_EQ(pool_->render(request(RenderKind::svg, kGoodSvg)).status, RenderStatus::ok);
    EXPECT_EQ(pool_->render(request(RenderKind::table, kGoodTable)).status, RenderStatus::ok);
    return r;
  }

  static RenderPool* pool_;
};
RenderPool* NativeSandbox::pool_ = nullptr;

#define EXPECT_STATUS(result, expected) \
  EXPECT_EQ((result).status, RenderStatus::expected) << to_string((result).status) << ": " << (result).reason

TEST_F(NativeSandbox, GoodSvgAndTableRender) {
  const RenderResult svg = run(RenderKind::svg, std::string("```svg\n") + kGoodSvg + "\n```");
  EXPECT_STATUS(svg, ok);
  EXPECT_EQ(svg.image.width, 336);
  const RenderResult table = run(RenderKind::table, std::string("Here it is:\n\n") + kGoodTable + "\nDone.");
  EXPECT_STATUS(table, ok);
}

TEST_F(NativeSandbox, SvgEntityBombIsRejected) {
  std::string bomb = "<?xml version='1.0'?><!DOCTYPE svg [<!ENTITY a 'aaaaaaaaaa'>";
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += fmt::format("<!ENTITY {} '", c);
    for (int i = 0; i < 10; ++i) bomb += fmt::format("&{};", static_cast<char>(c - 1));
    bomb += "'>";
  }
  bomb += "]><svg xmlns='http://www.w3.org/2000/svg'><text>&j;</text></svg>";
  EXPECT_STATUS(run(RenderKind::svg, bomb), rejected);
}

TEST_F(NativeSandbox, SvgMillionPixelCanvasIsRejected) {
  EXPECT_STATUS(run(RenderKind::svg,
                    "<svg xmlns='http://www.w3.org/2000/svg' width='1000000' height='10'>"
                    "<rect width='1000000' height='10'/></svg>"),
                rejected);
}

TEST_F(NativeSandbox, SvgExternalReferencesAreRejected) {
  for (const char* href : {"file:///etc/passwd", "http://example.com/a.png", "secret.png"}) {
    const std::string svg = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'>"
        "<image width='10' height='10' xlink:href='{}'/></svg>",
        href);
    EXPECT_STATUS(run(RenderKind::svg, svg), rejected);
  }
}

TEST_F(NativeSandbox, SvgTenThousandDeepNestingIsRejected) {
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg'>";
  for (int i = 0; i < 10000; ++i) svg += "<g>";
  for (int i = 0; i < 10000; ++i) svg += "</g>";
  svg += "</svg>";
  EXPECT_STATUS(run(RenderKind::svg, svg), rejected);
}

TEST_F(NativeSandbox, MarkdownWithAHundredThousandRowsIsRejected) {
  std::string table = "| a | b |\n|---|---|\n";
  for (int i = 0; i < 100000; ++i) table += "| 1 | 2 |\n";
  EXPECT_STATUS(run(RenderKind::table, table), rejected);
}

TEST_F(NativeSandbox, MarkdownWithAHundredThousandColumnsIsRejected) {
  std::string header = "|", rule = "|";
  for (int i = 0; i < 100000; ++i) {
    header += " a |";
    rule += "---|";
  }
  // 700 KB: under the pool's 1 MiB code limit, so the table renderer's own check decides.
  EXPECT_STATUS(run(RenderKind::table, header + "\n" + rule + "\n"), rejected);
}

TEST_F(NativeSandbox, AnHtmlTableTagWithTooManyAttributesIsRejected) {
  // 160k valueless attributes drove libxml2's quadratic duplicate check to the 15 s deadline
  // (640 KB: under the pool's 1 MiB code limit).
  std::string attributes;
  for (int i = 0; i < 160000; ++i) attributes += " a" + std::to_string(i % 100);
  const RenderResult r = run(RenderKind::table, "<table" + attributes + "><tr><td>x</td></tr></table>");
  EXPECT_STATUS(r, rejected);
  EXPECT_NE(r.reason.find("max_attributes"), std::string::npos) << r.reason;
}

TEST_F(NativeSandbox, BinaryGarbageDoesNotRender) {
  std::mt19937 rng(7);
  std::string garbage(200000, '\0');
  for (auto& c : garbage) c = static_cast<char>(rng());
  garbage += "|";
  const RenderResult table = run(RenderKind::table, garbage);
  EXPECT_NE(table.status, RenderStatus::ok) << table.reason;
  const RenderResult svg = run(RenderKind::svg, "<svg" + garbage);
  EXPECT_NE(svg.status, RenderStatus::ok) << svg.reason;
}

TEST_F(NativeSandbox, InvalidUtf8InATableStillRenders) {
  EXPECT_STATUS(run(RenderKind::table, "| a\xff\xfe | b |\n|---|---|\n| \xc3\x28 | 2 |\n"), ok);
}

TEST_F(NativeSandbox, ASlowRenderHitsItsDeadlineAndTheWorkerIsReplaced) {
  // Hundreds of large blurs: far more than 0.3 s of rasterising.
  std::string svg =
      "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 100 100'><filter id='b'>"
      "<feGaussianBlur stdDeviation='30'/></filter>";
  for (int i = 0; i < 2000; ++i) svg += fmt::format("<circle cx='{}' cy='50' r='40' filter='url(#b)'/>", i % 100);
  svg += "</svg>";
  RenderRequest r = request(RenderKind::svg, svg);
  r.timeout_s = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const RenderResult slow = pool_->render(r);
  // The status says the deadline ended it; the time bound is a hang guard only (100x it).
  EXPECT_STATUS(slow, timeout);
  EXPECT_LT(seconds_since(start), kHangGuardS);
  EXPECT_TRUE(no_job_process_left()) << "the killed worker left a process behind";
  EXPECT_EQ(pool_->render(request(RenderKind::svg, kGoodSvg)).status, RenderStatus::ok);
}

TEST_F(NativeSandbox, NoTableIsNoCode) {
  EXPECT_STATUS(run(RenderKind::table, "I could not read the table | sorry."), no_code);
  EXPECT_STATUS(pool_->render(request(RenderKind::svg, "no drawing here")), no_code);
}

// The rollout pipeline extracts an answer's code once and submits the code itself. Here the
// code holds a fenced block of its own (in an XML comment), so extracting it a second time
// would give another drawing (red) than the answer's (blue): the pre-extracted request must
// render exactly what the raw answer renders.
TEST_F(NativeSandbox, PreExtractedCodeRendersAsTheAnswerWithoutASecondExtraction) {
  const std::string inner =
      "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><rect width='5' height='5' fill='red'/></svg>";
  const std::string code_text = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'>\n<!--\n```svg\n" + inner +
                                "\n```\n-->\n<rect width='5' height='5' fill='blue'/>\n</svg>";
  const std::string answer = "Here it is:\n````svg\n" + code_text + "\n````\n";
  auto code = extract_code(RenderKind::svg, answer);
  ASSERT_TRUE(code);
  ASSERT_EQ(code->code, code_text);
  auto again = extract_code(RenderKind::svg, code->code);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->code, inner) << "the test needs code that extracts differently a second time";

  const RenderConfig config;
  const RenderRequest raw_request = make_request(config, RenderKind::svg, answer, "raw");
  EXPECT_FALSE(raw_request.extracted);
  const RenderRequest pre_request = make_request(config, RenderKind::svg, *code, "pre");
  EXPECT_TRUE(pre_request.extracted);
  EXPECT_EQ(pre_request.text, code_text);
  EXPECT_EQ(pre_request.width_px, raw_request.width_px);
  EXPECT_EQ(pre_request.height_px, raw_request.height_px);

  const RenderResult raw = pool_->render(raw_request);
  const RenderResult pre = pool_->render(pre_request);
  EXPECT_STATUS(raw, ok);
  EXPECT_STATUS(pre, ok);
  ASSERT_FALSE(pre.image.empty());
  EXPECT_EQ(pre.image.width, raw.image.width);
  EXPECT_EQ(pre.image.height, raw.image.height);
  EXPECT_TRUE(pre.image.rgb == raw.image.rgb) << "the pre-extracted code rendered another image than the answer";
  // The top-left quarter is blue (the code), not red (what a second extraction would draw).
  const size_t quarter = (static_cast<size_t>(pre.image.height / 4) * pre.image.width + pre.image.width / 4) * 3;
  EXPECT_LT(pre.image.rgb[quarter], 64);
  EXPECT_GT(pre.image.rgb[quarter + 2], 192);
  // The same code submitted as a raw answer is extracted again, and draws red.
  const RenderResult twice = pool_->render(request(RenderKind::svg, code_text));
  EXPECT_STATUS(twice, ok);
  ASSERT_FALSE(twice.image.empty());
  EXPECT_GT(twice.image.rgb[quarter], 192);
  EXPECT_LT(twice.image.rgb[quarter + 2], 64);
}

}  // namespace
}  // namespace visrl::render
