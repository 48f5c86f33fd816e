#include "reward/prompts/critic_prompts.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/test_util.h"

namespace visrl::reward {
namespace {

std::string file_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(CriticPrompts, BuiltinAreTheFilesOfConfigsPrompts) {
  const std::filesystem::path dir = test::source_dir() / "configs/prompts";
  CriticPrompts builtin = CriticPrompts::builtin();
  EXPECT_EQ(builtin.chart, file_text(dir / "chart.txt"));
  EXPECT_EQ(builtin.table, file_text(dir / "table.txt"));
  EXPECT_EQ(builtin.svg, file_text(dir / "svg.txt"));
  EXPECT_EQ(CriticPrompts::load(dir).svg, builtin.svg);
}

TEST(CriticPrompts, StateTheSchemaOfEachTask) {
  CriticPrompts p = CriticPrompts::builtin();
  for (Task task : {Task::chart, Task::table, Task::svg}) {
    const std::string& text = p.for_task(task);
    EXPECT_NE(text.find("Image 1"), std::string::npos);
    EXPECT_NE(text.find("severity"), std::string::npos);
    for (const auto& category : task_categories(task))
      if (category != "other_error") {
        EXPECT_NE(text.find(category), std::string::npos) << category;
      }
  }
  // Table critics use "type" and give no location (REFERENCE.md section 1).
  EXPECT_NE(p.table.find("\"type\""), std::string::npos);
  EXPECT_EQ(p.table.find("\"location\""), std::string::npos);
  EXPECT_NE(p.chart.find("\"location\""), std::string::npos);
}

TEST(CriticPrompts, MissingFileIsNamed) {
  test::TempDir tmp;
  const std::filesystem::path& dir = tmp.path();
  tmp.write("chart.txt", "chart prompt\n");
  tmp.write("table.txt", "  \n");
  std::string error = test::error_of([&] { CriticPrompts::load(dir); });
  EXPECT_NE(error.find("table.txt"), std::string::npos) << error;
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  tmp.write("table.txt", "table prompt");
  error = test::error_of([&] { CriticPrompts::load(dir); });
  EXPECT_NE(error.find("svg.txt"), std::string::npos) << error;
  tmp.write("svg.txt", "svg prompt\n");
  CriticPrompts p = CriticPrompts::load(dir);
  EXPECT_EQ(p.chart, "chart prompt");
  EXPECT_EQ(p.svg, "svg prompt");
}

TEST(CriticPrompts, SamplingFollowsTheReleasedCode) {
  CriticSampling chart = critic_sampling(Task::chart);
  EXPECT_DOUBLE_EQ(chart.temperature, 0.7);
  EXPECT_DOUBLE_EQ(chart.top_p, 0.8);
  EXPECT_EQ(chart.top_k, 20);
  EXPECT_DOUBLE_EQ(chart.presence_penalty, 1.5);
  EXPECT_EQ(chart.max_new_tokens, 4096);
  EXPECT_EQ(chart.max_image_side, 1024);
  CriticSampling table = critic_sampling(Task::table);
  EXPECT_DOUBLE_EQ(table.temperature, 0.0);
  EXPECT_DOUBLE_EQ(table.repetition_penalty, 1.05);
  EXPECT_EQ(table.max_image_side, 768);
  CriticSampling svg = critic_sampling(Task::svg, 512, 100);
  EXPECT_EQ(svg.max_image_side, 512);
  EXPECT_EQ(svg.max_new_tokens, 100);
}

}  // namespace
}  // namespace visrl::reward
