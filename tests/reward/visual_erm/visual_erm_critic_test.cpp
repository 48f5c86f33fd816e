// The in-process critic on the tiny random Qwen3-VL of tests/fixtures/qwen3vl: its prompts
// match transformers' Qwen3VLProcessor token for token (golden.json, written by
// tests/fixtures/visual_erm/generate.py), and its raw output flows through the parser.
#include "reward/visual_erm/visual_erm_critic.h"

#include <nlohmann/json.hpp>

#include "core/json_file.h"
#include "core/safetensors.h"
#include "policy/model/hf_checkpoint.h"
#include "render/png_io.h"
#include "tests/test_util.h"

namespace visrl::reward {
namespace {

std::filesystem::path model_dir() {
  return test::source_dir() / "tests/fixtures/qwen3vl/tied";
}

render::RgbImage fixture_image(const std::string& name) {
  return render::read_png(test::source_dir() / "tests/fixtures/qwen3vl/images" / name);
}

VisualErmCritic tiny_critic(VisualErmOptions options = {}) {
  policy::LoadOptions load;
  load.dtype = at::kFloat;
  return VisualErmCritic(policy::load_pretrained(model_dir(), load), policy::PolicyAssets::load(model_dir()), options);
}

std::optional<Task> task_named(const std::string& name) {
  return render::parse_render_kind(name);
}

TEST(VisualErmCritic, PromptsMatchTransformersProcessor) {
  const nlohmann::json golden =
      read_json_file(test::source_dir() / "tests/fixtures/visual_erm/golden.json", "visual_erm golden");
  auto pixels = safetensors::File::open(test::source_dir() / "tests/fixtures/visual_erm/pixel_values.safetensors");
  ASSERT_EQ(golden.size(), 3u);
  for (const auto& [name, c] : golden.items()) {
    SCOPED_TRACE(name);
    VisualErmOptions options;
    options.max_image_side = c["max_image_side"].get<int64_t>();
    VisualErmCritic critic = tiny_critic(options);
    render::RgbImage reference = fixture_image(c["reference"]);
    render::RgbImage rendered = fixture_image(c["rendered"]);
    CriticItem item{name, *task_named(c["task"]), &reference, &rendered, "answer"};
    policy::PromptInput prompt = critic.build_prompt(item);
    auto ids = prompt.input_ids.contiguous();
    std::vector<int64_t> got(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    EXPECT_EQ(got, c["input_ids"].get<std::vector<int64_t>>());
    auto grid = prompt.image_grid_thw.contiguous();
    std::vector<int64_t> got_grid(grid.data_ptr<int64_t>(), grid.data_ptr<int64_t>() + grid.numel());
    std::vector<int64_t> want_grid;
    for (const auto& row : c["image_grid_thw"])
      for (const auto& v : row) want_grid.push_back(v.get<int64_t>());
    EXPECT_EQ(got_grid, want_grid);
    if (options.max_image_side > 0) {
      // The downscale (a 2x2 box mean) and the processor give transformers' pixels.
      at::Tensor want = pixels->tensor(name);
      ASSERT_EQ(prompt.pixel_values.sizes(), want.sizes());
      EXPECT_LT((prompt.pixel_values - want).abs().max().item<double>(), 1e-5);
    }
  }
}

TEST(VisualErmCritic, RawOutputFlowsThroughTheParserWithRetries) {
  VisualErmOptions options;
  options.max_new_tokens = 6;  // a random model writes no JSON: every call fails to parse
  options.parse_retries = 3;
  options.seed = 7;
  VisualErmCritic critic = tiny_critic(options);
  render::RgbImage a = fixture_image("a.png"), b = fixture_image("b.png"), c = fixture_image("c.png");
  std::vector<CriticItem> items = {
      {"chart-0", Task::chart, &a, &b, "```python\n```"},
      {"chart-1", Task::chart, &a, nullptr, "no code"},
      {"table-0", Task::table, &b, &c, "| a |"},
      {"svg-0", Task::svg, &c, &a, "<svg/>"},
  };
  std::vector<CriticResult> results = critic.score(items);
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[1].status, CriticStatus::not_scored);
  EXPECT_EQ(results[1].attempts, 0);
  for (size_t i : {0u, 2u, 3u}) {
    SCOPED_TRACE(items[i].id);
    EXPECT_EQ(results[i].status, CriticStatus::parse_failure);
    EXPECT_FALSE(results[i].raw_text.empty());
    EXPECT_EQ(results[i].parse.status, ParseStatus::failed);
    EXPECT_NE(results[i].message.find("not parseable"), std::string::npos) << results[i].message;
    EXPECT_GT(results[i].latency_ms, 0.0);
  }
  EXPECT_EQ(results[0].attempts, 3);  // sampled: asked again up to parse_retries times
  EXPECT_EQ(results[3].attempts, 3);
  EXPECT_EQ(results[2].attempts, 1);  // tables are greedy: asking again gives the same text

  // The same seed gives the same critic text; the next call samples anew.
  VisualErmCritic again = tiny_critic(options);
  std::vector<CriticResult> repeat = again.score(items);
  EXPECT_EQ(repeat[0].raw_text, results[0].raw_text);
  EXPECT_EQ(repeat[2].raw_text, results[2].raw_text);
}

TEST(VisualErmCritic, MissingCheckpointIsNamed) {
  VisualErmOptions options;
  options.model_path = (test::source_dir() / "tests/fixtures/no-such-critic").string();
  std::string error = test::expected_error([&] { VisualErmCritic critic(options); });
  EXPECT_NE(error.find("no-such-critic"), std::string::npos) << error;
  options.model_path = "";
  error = test::expected_error([&] { VisualErmCritic critic(options); });
  EXPECT_NE(error.find("reward.visual_erm.model_path"), std::string::npos) << error;
}

}  // namespace
}  // namespace visrl::reward
