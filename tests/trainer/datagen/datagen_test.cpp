// Synthetic data: items are a function of (seed, task, index); the generators cover every
// kind they promise (five chart kinds, Markdown and HTML tables with merged cells, every SVG
// shape and text); tables parse to the grid they describe; and a written data set renders
// through the real renderers and loads as training manifests.
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/text_file.h"
#include "render/table/html_table.h"
#include "render/table/markdown_table.h"
#include "tests/support/multiprocess.h"
#include "tests/support/tools_python.h"
#include "tests/test_util.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/instructions.h"
#include "trainer/data/manifest.h"
#include "trainer/data/parquet_dataset.h"
#include "trainer/datagen/chart_gen.h"
#include "trainer/datagen/svg_gen.h"
#include "trainer/datagen/synthetic.h"
#include "trainer/datagen/table_gen.h"

namespace visrl::trainer::datagen {
namespace {
using render::RenderKind;
using ::testing::HasSubstr;

TEST(Datagen, ItemsDependOnlyOnSeedTaskAndIndex) {
  for (auto task : {RenderKind::chart, RenderKind::table, RenderKind::svg}) {
    const auto a = synthetic_item(task, 7, 3);
    EXPECT_EQ(a.code, synthetic_item(task, 7, 3).code);
    EXPECT_NE(a.code, synthetic_item(task, 7, 4).code);
    EXPECT_NE(a.code, synthetic_item(task, 8, 3).code);
    EXPECT_EQ(a.id, fmt::format("{}-000003", render::to_string(task)));
  }
}

// Held-out items stay held out: eval item j is the same whatever the training set's size, and no
// training item of the same seed repeats it (eval items used to be the items after the training
// ones, so a larger training set of the same seed contained the smaller one's eval items).
TEST(Datagen, EvalItemsAreAStreamOfTheirOwn) {
  for (auto task : {RenderKind::chart, RenderKind::table, RenderKind::svg}) {
    std::set<std::string> train;
    for (int64_t i = 0; i < 2048; ++i) train.insert(synthetic_item(task, 1, i).code);
    for (int64_t j = 0; j < 32; ++j) {
      const auto item = synthetic_item(task, 1, j, Split::eval);
      EXPECT_EQ(item.id, fmt::format("{}-eval-{:06d}", render::to_string(task), j));
      EXPECT_FALSE(train.count(item.code)) << item.id << " is also a training item";
    }
    EXPECT_NE(synthetic_item(task, 1, 0, Split::eval).code, synthetic_item(task, 2, 0, Split::eval).code);
  }
}

TEST(Datagen, ChartsCoverEveryKindWithTitlesLabelsLegendsAndColours) {
  std::set<std::string> kinds;
  int legends = 0;
  for (uint64_t i = 0; i < 80; ++i) {
    Random rng(i);
    const auto spec = random_chart(rng);
    kinds.insert(to_string(spec.kind));
    const auto code = chart_code(spec);
    EXPECT_THAT(code, HasSubstr("ax.set_title('" + spec.title + "')"));
    EXPECT_THAT(code, HasSubstr("color"));
    if (spec.kind != ChartKind::pie) {
      EXPECT_THAT(code, HasSubstr("ax.set_ylabel('" + spec.y_label + "')"));
    }
    if (spec.legend) ++legends;
    for (const auto& s : spec.series) {
      EXPECT_EQ(s.values.size(), spec.kind == ChartKind::scatter ? s.x.size() : spec.categories.size());
    }
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"bar", "grouped_bar", "line", "scatter", "pie"}));
  EXPECT_GT(legends, 20);
  EXPECT_LT(legends, 80);
}

TEST(Datagen, TablesParseToTheGridTheyDescribe) {
  int html = 0, colspans = 0, rowspans = 0;
  for (uint64_t i = 0; i < 60; ++i) {
    Random rng(i);
    const auto spec = random_table(rng);
    const auto code = table_code(spec);
    const auto parsed = spec.html ? render::parse_html_table(code, render::TableLimits{})
                                  : render::find_table(code, render::TableLimits{});
    ASSERT_EQ(parsed.status, render::TableParse::Status::found) << code;
    EXPECT_EQ(parsed.table.columns, static_cast<int>(spec.header.size())) << code;
    const size_t header_rows = spec.groups.empty() ? 1 : 2;
    EXPECT_EQ(parsed.table.rows.size(), header_rows + spec.rows.size()) << code;
    if (spec.html) {
      ++html;
      colspans += code.find("colspan=") != std::string::npos;
      rowspans += code.find("rowspan=") != std::string::npos;
    } else {
      EXPECT_THAT(code, HasSubstr("| " + spec.rows[0][0] + " |"));
    }
  }
  EXPECT_GT(html, 10);
  EXPECT_LT(html, 50);
  EXPECT_GT(colspans, 3);
  EXPECT_GT(rowspans, 3);
}

TEST(Datagen, SvgsCoverEveryShapeAndText) {
  std::set<std::string> kinds;
  for (uint64_t i = 0; i < 40; ++i) {
    Random rng(i);
    const auto spec = random_svg(rng);
    for (const auto& s : spec.shapes) kinds.insert(to_string(s.kind));
    const auto code = svg_code(spec);
    EXPECT_EQ(code.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
    EXPECT_THAT(code, HasSubstr("</svg>"));
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"rect", "circle", "ellipse", "line", "polygon", "path", "text"}));
}

TEST(Datagen, EscapesGeneratedText) {
  EXPECT_EQ(python_string("it's a\\b"), "'it\\'s a\\\\b'");
  EXPECT_EQ(xml_escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
}

// Every item of a small data set renders (charts through the sandboxed matplotlib server) and
// the manifests load as training data.
TEST(Datagen, AWrittenDataSetRendersAndLoads) {
  visrl::test::TempDir dir;
  Config config;
  config.render.workers = 2;
  render::RenderPool pool(render::pool_options_from(config.render));
  DatasetOptions options;
  options.out = dir.path();
  options.train = 6;
  options.eval = 2;
  options.seed = 11;
  const auto counts = write_synthetic_dataset(options, pool, config.render);
  pool.shutdown();
  ASSERT_EQ(counts.size(), 3u);
  for (const char* task : {"chart", "table", "svg"}) {
    const auto train = load_manifests({(dir / task / "train.jsonl").string()}, InvalidRows::error);
    const auto eval = load_manifests({(dir / task / "eval.jsonl").string()}, InvalidRows::error);
    ASSERT_EQ(train.size(), 6u) << task;
    ASSERT_EQ(eval.size(), 2u) << task;
    EXPECT_EQ(eval[0].id, fmt::format("{}-eval-000000", task));
    EXPECT_EQ(*eval[0].ground_truth, synthetic_item(eval[0].task, 11, 0, Split::eval).code);
    EXPECT_EQ(render::to_string(train[0].task), std::string(task));
    ASSERT_TRUE(train[0].ground_truth.has_value());
    EXPECT_EQ(*train[0].ground_truth, synthetic_item(train[0].task, 11, 0).code);
    EXPECT_TRUE(std::filesystem::exists(train[0].image)) << train[0].image;
  }
}

// build/bin/datagen: manifests per task plus VC-RewardBench triples for critic evaluation.
TEST(Datagen, TheProgramWritesManifestsAndCriticTriples) {
  visrl::test::TempDir dir;
  auto result = visrl::test::run_program_ranks(
      1, VISRL_DATAGEN_BIN,
      {"--out", dir.path().string(), "--tasks", "table,svg", "--train", "2", "--eval", "1", "--triples", "2"},
      std::chrono::seconds(120));
  ASSERT_TRUE(result.ok()) << result.summary();
  EXPECT_EQ(load_manifests({(dir / "svg/train.jsonl").string()}, InvalidRows::error).size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(dir / "chart"));
  std::ifstream in(dir / "vc_rewardbench/triples.jsonl");
  std::string line;
  std::set<std::string> categories;
  int lines = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    ++lines;
    categories.insert(j["category"].get<std::string>());
    EXPECT_TRUE(std::filesystem::exists(dir / "vc_rewardbench" / j["gt_img_path"].get<std::string>())) << line;
    EXPECT_TRUE(std::filesystem::exists(dir / "vc_rewardbench" / j["pred_img_path"].get<std::string>())) << line;
    ASSERT_FALSE(j["human_errors"].empty()) << line;
    for (const auto& e : j["human_errors"]) {
      EXPECT_GE(e["severity"].get<int>(), 1);
      EXPECT_LE(e["severity"].get<int>(), 3);
      EXPECT_FALSE(e["description"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(lines, 2 * 2 * 2);  // 2 triples x (light, heavy) x 2 tasks
  EXPECT_EQ(categories, (std::set<std::string>{"table", "svg"}));
}

// `datagen --format parquet` writes verl's layout: pyarrow and Hugging Face datasets read the same
// rows back (read_parquet.py), and so does visrl: the same ids, tasks, ground truth, prompts and
// image bytes, which are the renders of the items' code.
TEST(Datagen, ParquetOutputReadsBackThroughPyarrowDatasetsAndVisrl) {
  visrl::test::TempDir dir;
  auto made = visrl::test::run_program_ranks(1, VISRL_DATAGEN_BIN,
                                             {"--out", dir.path().string(), "--tasks", "chart,table", "--train", "5",
                                              "--eval", "2", "--seed", "4", "--format", "parquet"},
                                             std::chrono::seconds(120));
  ASSERT_TRUE(made.ok()) << made.summary();
  EXPECT_FALSE(std::filesystem::exists(dir / "chart/train.jsonl"));
  const auto instructions = TaskInstructions::builtin();
  for (const char* task : {"chart", "table"}) {
    for (const char* split : {"train", "eval"}) {
      SCOPED_TRACE(fmt::format("{} {}", task, split));
      const auto file = dir / task / (std::string(split) + ".parquet");
      const auto py_dir = dir / fmt::format("py-{}-{}", task, split);
      std::filesystem::create_directories(py_dir);
      auto read = visrl::test::run_program_ranks(
          1, visrl::test::tools_python(),
          {(visrl::test::source_dir() / "tests/trainer/datagen/read_parquet.py").string(), file.string(),
           py_dir.string()},
          std::chrono::seconds(120));
      ASSERT_TRUE(read.ok()) << read.summary();
      auto items = load_data({file.string()}, InvalidRows::error);
      EXPECT_EQ(extract_cell_images(items, dir / "cache"), static_cast<int64_t>(items.size()));
      std::istringstream lines(read.ranks[0].out);
      std::string line;
      size_t n = 0;
      for (; std::getline(lines, line); ++n) {
        ASSERT_LT(n, items.size());
        const auto py = nlohmann::json::parse(line);
        const auto& item = items[n];
        const auto split_kind = std::string(split) == "train" ? Split::train : Split::eval;
        const auto expected = synthetic_item(item.task, 4, static_cast<int64_t>(n), split_kind);
        EXPECT_EQ(item.id, expected.id);
        EXPECT_EQ(py["id"], item.id);
        EXPECT_EQ(py["task"], task);
        EXPECT_EQ(render::to_string(item.task), std::string(task));
        EXPECT_EQ(py["data_source"], fmt::format("visrl/{}", task));
        EXPECT_EQ(py["role"], "user");
        EXPECT_EQ(py["ground_truth"], expected.code);
        EXPECT_EQ(item.ground_truth, expected.code);
        EXPECT_EQ(py["prompt"], instructions.of(item.task));
        EXPECT_EQ(item.prompt, instructions.of(item.task));
        EXPECT_EQ(py["image_path"], item.id + ".png");
        EXPECT_EQ(read_text_file(py_dir / (item.id + ".png"), "image"), read_text_file(item.image, "image"));
      }
      EXPECT_EQ(n, items.size());
      EXPECT_EQ(n, std::string(split) == "train" ? 5u : 2u);
    }
  }
}

}  // namespace
}  // namespace visrl::trainer::datagen
