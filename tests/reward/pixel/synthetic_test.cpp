// The synthetic triple generator: determinism, the shape of light and heavy corruptions, the
// clean re-render, and the VC-RewardBench JSONL writer.
#include "reward/eval/synthetic.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "render/png_io.h"
#include "tests/test_util.h"

namespace visrl::reward::eval {
namespace {

int total(const std::vector<InjectedError>& errors) {
  int s = 0;
  for (const auto& e : errors) s += e.severity;
  return s;
}

TEST(SyntheticTriples, SameSeedSameTriplesAndTriplesAreIndependentOfTheCount) {
  for (Task task : {Task::chart, Task::table, Task::svg}) {
    const auto a = generate_triples(task, 4, 11);
    const auto b = generate_triples(task, 4, 11);
    const auto later = generate_triples(task, 1, 11, {}, 3);
    const auto other = generate_triples(task, 4, 12);
    ASSERT_EQ(a.size(), 4u);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_EQ(a[i].reference.code, b[i].reference.code);
      EXPECT_EQ(a[i].light.code, b[i].light.code);
      EXPECT_EQ(a[i].heavy.code, b[i].heavy.code);
      EXPECT_EQ(a[i].heavy.image.rgb, b[i].heavy.image.rgb);
    }
    EXPECT_EQ(later[0].id, a[3].id);
    EXPECT_EQ(later[0].heavy.code, a[3].heavy.code);
    int same = 0;
    for (size_t i = 0; i < a.size(); ++i) same += a[i].reference.code == other[i].reference.code;
    EXPECT_EQ(same, 0);
  }
}

TEST(SyntheticTriples, LightIsOneSmallErrorHeavyIsSeveralLargerOnes) {
  for (Task task : {Task::chart, Task::table, Task::svg}) {
    std::set<std::string> seen;
    for (const auto& t : generate_triples(task, 30, 5)) {
      EXPECT_EQ(t.task, task);
      EXPECT_TRUE(t.reference.errors.empty());
      EXPECT_TRUE(t.clean.errors.empty());
      ASSERT_EQ(t.light.errors.size(), 1u) << t.id;
      EXPECT_GE(t.light.errors[0].severity, 1);
      EXPECT_LE(t.light.errors[0].severity, 2);
      EXPECT_GE(t.heavy.errors.size(), 2u) << t.id;
      EXPECT_GE(total(t.heavy.errors), total(t.light.errors) + 3) << t.id;
      for (const auto* image : {&t.light, &t.heavy}) {
        EXPECT_NE(image->code, t.reference.code) << t.id;
        EXPECT_NE(image->image.rgb, t.reference.image.rgb) << t.id;
        for (const auto& e : image->errors) {
          EXPECT_TRUE(is_category(task, e.category)) << e.category;
          EXPECT_FALSE(e.description.empty());
          seen.insert(e.category);
        }
      }
      // The clean render comes from other code that draws the same picture.
      EXPECT_NE(t.clean.code, t.reference.code);
      EXPECT_EQ(t.clean.image.rgb, t.reference.image.rgb) << t.id;
    }
    // Every category of the task is injected somewhere (svg's other_error aside).
    for (const auto& c : task_categories(task))
      if (c != "other_error") {
        EXPECT_TRUE(seen.count(c)) << render::to_string(task) << " " << c;
      }
  }
}

TEST(SyntheticTriples, ImagesHaveTheConfiguredSizes) {
  SyntheticOptions options;
  options.svg_size = 200;
  options.chart_width = 400;
  options.chart_height = 300;
  const auto svg = generate_triples(Task::svg, 1, 1, options);
  EXPECT_EQ(svg[0].reference.image.width, 200);
  EXPECT_EQ(svg[0].reference.image.height, 200);
  const auto chart = generate_triples(Task::chart, 1, 1, options);
  EXPECT_EQ(chart[0].heavy.image.width, 400);
  EXPECT_EQ(chart[0].heavy.image.height, 300);
  const std::string table = generate_triples(Task::table, 1, 1)[0].reference.code;
  EXPECT_EQ(table.find('|'), 0u);
  EXPECT_NE(table.find("---"), std::string::npos);
}

TEST(WriteTriples, WritesPngsAndBenchmarkJsonl) {
  test::TempDir dir;
  const auto triples = generate_triples(Task::svg, 2, 3);
  const auto path = write_triples(dir.path() / "out", triples);
  EXPECT_EQ(path, dir.path() / "out" / "triples.jsonl");
  std::ifstream in(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 4u);  // light and heavy of each triple
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& line = lines[i];
    const auto& t = triples[i / 2];
    const auto& image = i % 2 == 0 ? t.light : t.heavy;
    EXPECT_EQ(line["category"], "svg");
    EXPECT_EQ(line["triple"], t.id);
    EXPECT_EQ(line["level"], i % 2 == 0 ? "light" : "heavy");
    EXPECT_EQ(line["gt_img_path"], "images/" + t.id + "_ref.png");
    EXPECT_EQ(line["gt_code"], t.reference.code);
    EXPECT_EQ(line["pred_code"], image.code);
    ASSERT_EQ(line["human_errors"].size(), image.errors.size());
    for (size_t k = 0; k < image.errors.size(); ++k) {
      EXPECT_EQ(line["human_errors"][k]["type"], image.errors[k].category);
      EXPECT_EQ(line["human_errors"][k]["severity"], image.errors[k].severity);
      EXPECT_EQ(line["human_errors"][k]["description"], image.errors[k].description);
    }
    const render::RgbImage gt = render::read_png(dir.path() / "out" / line["gt_img_path"].get<std::string>());
    const render::RgbImage pred = render::read_png(dir.path() / "out" / line["pred_img_path"].get<std::string>());
    EXPECT_EQ(gt.rgb, t.reference.image.rgb);
    EXPECT_EQ(pred.rgb, image.image.rgb);
  }
  // Appending with the clean item and without the sources.
  TripleWriteOptions more;
  more.append = true;
  more.include_clean = true;
  more.include_code = false;
  write_triples(dir.path() / "out", generate_triples(Task::table, 1, 3), more);
  std::ifstream again(path);
  std::vector<nlohmann::json> all;
  for (std::string line; std::getline(again, line);) all.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(all.size(), 7u);
  EXPECT_EQ(all[4]["level"], "clean");
  EXPECT_TRUE(all[4]["human_errors"].empty());
  EXPECT_EQ(all[4]["category"], "table");
  EXPECT_FALSE(all[4].contains("gt_code"));
}

TEST(WriteTriples, UnwritableDirectoryNamesThePath) {
  test::TempDir dir;
  const auto file = dir.write("blocker", "not a directory");
  const std::string message =
      test::expected_error([&] { write_triples(file / "sub", generate_triples(Task::svg, 1, 1)); });
  EXPECT_NE(message.find("blocker"), std::string::npos) << message;
}

}  // namespace
}  // namespace visrl::reward::eval
