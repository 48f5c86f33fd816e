// Supervised fine-tuning: answers in the code block each task's instruction asks for, ended by
// <|im_end|>; sft_step's loss is the token-mean NLL computed independently from the policy's
// log-probs; repeated steps fit a small batch; build/bin/sft end to end, and `train` starts
// from what it wrote.
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/model/hf_checkpoint.h"
#include "tests/support/multiprocess.h"
#include "tests/trainer/distributed/dist_test_util.h"
#include "tests/trainer/loop/tiny_run.h"
#include "trainer/data/manifest.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/ppo_update.h"
#include "trainer/sft/sft_data.h"
#include "trainer/sft/sft_step.h"

namespace visrl::test {
namespace {
using render::RenderKind;
using ::testing::HasSubstr;

TEST(Sft, AnswersUseTheInstructedCodeBlock) {
  EXPECT_EQ(trainer::sft_answer(RenderKind::chart, "import x\n\n"), "```python\nimport x\n```");
  EXPECT_EQ(trainer::sft_answer(RenderKind::svg, "<svg/>"), "```svg\n<svg/>\n```");
  EXPECT_EQ(trainer::sft_answer(RenderKind::table, "| a |\n|---|\n"), "```markdown\n| a |\n|---|\n```");
  EXPECT_EQ(trainer::sft_answer(RenderKind::table, "  <table><tr><td>1</td></tr></table>"),
            "```html\n  <table><tr><td>1</td></tr></table>\n```");
}

struct SftSetup {
  TinyRun run;
  policy::PolicyAssets assets = policy::PolicyAssets::load(run.dir / "model");
  std::vector<trainer::DataItem> items =
      trainer::load_manifests({(run.dir / "data/train.jsonl").string()}, trainer::InvalidRows::error);
  trainer::TaskInstructions instructions = trainer::TaskInstructions::builtin();
};

TEST(Sft, ExamplesEndWithTheEndOfTurnAndNameItemsWithoutGroundTruth) {
  SftSetup s;
  const auto ex = trainer::make_sft_example(s.items[0], s.assets, s.instructions, 4096, 512);
  EXPECT_EQ(ex.answer.back(), *s.assets.tokenizer.token_to_id("<|im_end|>"));
  std::vector<int32_t> body(ex.answer.begin(), ex.answer.end() - 1);
  EXPECT_EQ(s.assets.tokenizer.decode(body), "```svg\n<svg/>\n```");
  auto no_truth = s.items[0];
  no_truth.ground_truth.reset();
  EXPECT_THAT(error_of([&] { trainer::make_sft_example(no_truth, s.assets, s.instructions, 4096, 512); }),
              HasSubstr("train.jsonl:1 (p0): no ground_truth"));
  EXPECT_THAT(error_of([&] { trainer::make_sft_example(s.items[0], s.assets, s.instructions, 4096, 3); }),
              HasSubstr("more than --max-answer-tokens 3"));
}

TEST(Sft, TheLossIsTheTokenMeanNllAndStepsFitTheBatch) {
  SftSetup s;
  auto comm = trainer::testing::single_communicator();
  auto model = policy::load_pretrained(s.run.dir / "model");
  auto trainable = trainer::trainable_parameters(*model, false);
  std::vector<at::Tensor> params;
  for (const auto& [name, p] : trainable.named) params.push_back(p);
  trainer::ShardedAdamW optimizer(trainable.named, trainer::AdamWOptions{}, *comm, false);
  trainer::GradientBuckets gradients(params, 25);
  std::vector<trainer::SftExample> examples;
  for (const auto& item : s.items)
    examples.push_back(trainer::make_sft_example(item, s.assets, s.instructions, 4096, 512));
  std::vector<trainer::SequenceRef> refs;
  double tokens = 0;
  for (const auto& ex : examples) {
    refs.push_back({&ex.prompt.input, &ex.answer});
    tokens += static_cast<double>(ex.answer.size());
  }
  // Independent: the log-probs of the answers under the untouched model.
  double nll = 0;
  for (const auto& logp : trainer::response_logprobs(*model, refs, 1, 1.0, s.assets.pad_token_id)) {
    nll -= logp.sum().item<double>();
  }
  trainer::SftStepOptions o;
  o.micro_batch_size = 3;  // 4 sequences: micro-batches of 3 and 1
  o.pad_token_id = s.assets.pad_token_id;
  const auto first = trainer::sft_step(*model, optimizer, gradients, *comm, refs, o, 1e-3);
  EXPECT_NEAR(first.loss, nll / tokens, 1e-4);
  EXPECT_EQ(first.tokens, tokens);
  EXPECT_GT(first.grad_norm, 0);
  double last = first.loss;
  for (int i = 0; i < 15; ++i) last = trainer::sft_step(*model, optimizer, gradients, *comm, refs, o, 1e-2).loss;
  EXPECT_LT(last, first.loss * 0.3) << "15 steps on one batch did not fit it";
}

// build/bin/sft, then build/bin/train from its output.
TEST(Sft, TheProgramFineTunesAndTrainStartsFromItsPolicy) {
  TinyRun run;
  const auto config = run.write_config("config.yaml");
  const auto out = run.dir / "sft";
  auto sft = run_program_ranks(1, VISRL_SFT_BIN,
                               {"--config", config.string(), "--run-dir", out.string(), "--set", "optim.total_steps=12",
                                "--set", "optim.lr=1e-2", "--batch-size", "4", "--micro-batch-size", "2"},
                               std::chrono::seconds(240));
  ASSERT_TRUE(sft.ok()) << sft.summary();
  std::vector<nlohmann::json> m;
  std::ifstream in(out / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) m.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(m.size(), 12u);
  EXPECT_LT(m.back()["loss"].get<double>(), m.front()["loss"].get<double>() * 0.5);
  EXPECT_NO_THROW(policy::load_pretrained(out / "final"));
  EXPECT_TRUE(std::filesystem::exists(out / "final/tokenizer.json"));

  auto train = run_program_ranks(1, VISRL_TRAIN_BIN,
                                 {"--config", config.string(), "--run-dir", (run.dir / "grpo").string(), "--set",
                                  "model.path=" + (out / "final").string(), "--set", "optim.total_steps=1"},
                                 std::chrono::seconds(240));
  ASSERT_TRUE(train.ok()) << train.summary();
}

}  // namespace
}  // namespace visrl::test
