// The trainer's pieces on their own: manifests, the prompt sampler, training sequences, the
// sample exchange format and the render -> critic stage.
#include <atomic>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "render/render_pool.h"
#include "reward/pixel/pixel_critic.h"
#include "tests/test_util.h"
#include "trainer/data/manifest.h"
#include "trainer/data/prompt_sampler.h"
#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/critic_stage.h"
#include "trainer/loop/cuda_autocast.h"
#include "trainer/loop/micro_batches.h"
#include "trainer/loop/sample_exchange.h"
#include "trainer/loop/sequence_batch.h"

namespace visrl::test {
namespace {

using ::testing::HasSubstr;
using trainer::InvalidRows;

TEST(Manifest, ReadsRowsAndResolvesImagesNextToTheManifest) {
  TempDir dir;
  dir.write("img/a.png", "not really a png, but a file");
  const auto path = dir.write("m.jsonl", R"({"id": "a", "task": "table", "image": "img/a.png"}

{"id": "b", "task": "svg", "image": "img/a.png", "ground_truth": "<svg/>", "prompt": "Draw it."}
)");
  const auto items = trainer::load_manifests({path.string()}, InvalidRows::error);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].task, render::RenderKind::table);
  EXPECT_EQ(items[0].image, dir / "img/a.png");
  EXPECT_FALSE(items[0].ground_truth.has_value());
  EXPECT_EQ(items[1].ground_truth, "<svg/>");
  EXPECT_EQ(items[1].prompt, "Draw it.");
  EXPECT_EQ(items[1].where, path.string() + ":3");
}

TEST(Manifest, BadRowsNameFileLineAndKeyOrAreSkipped) {
  TempDir dir;
  dir.write("a.png", "x");
  const auto path = dir.write("m.jsonl", R"({"id": "a", "task": "svg", "image": "a.png"}
{"id": "b", "task": "plot", "image": "a.png"}
{"id": "c", "task": "svg", "image": "missing.png"}
{"id": "a", "task": "svg", "image": "a.png"}
{"task": "svg", "image": "a.png"}
{"id": "d", "task": "svg", "image": "a.png", "prompt": 3}
{not json
)");
  const auto err = expected_error([&] { trainer::load_manifests({path.string()}, InvalidRows::error); });
  EXPECT_THAT(err, HasSubstr(path.string() + ":2"));
  EXPECT_THAT(err, HasSubstr("\"task\""));
  const auto kept = trainer::load_manifests({path.string()}, InvalidRows::skip);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].id, "a");
  // Each kind of bad row on its own, with the error mode.
  const std::pair<const char*, const char*> cases[] = {
      {R"({"id": "c", "task": "svg", "image": "missing.png"})", "no such file"},
      {R"({"task": "svg", "image": "a.png"})", "missing \"id\""},
      {R"({"id": "d", "task": "svg", "image": "a.png", "prompt": 3})", "\"prompt\" must be a string"},
      {"{not json", "not valid JSON"},
      {R"([1, 2])", "JSON object"},
  };
  for (const auto& [row, what] : cases) {
    const auto one = dir.write("one.jsonl", std::string(row) + "\n");
    EXPECT_THAT(expected_error([&] { trainer::load_manifests({one.string()}, InvalidRows::error); }), HasSubstr(what))
        << row;
  }
  const auto dup = dir.write("dup.jsonl", R"({"id": "a", "task": "svg", "image": "a.png"}
{"id": "a", "task": "svg", "image": "a.png"})");
  EXPECT_THAT(expected_error([&] { trainer::load_manifests({dup.string()}, InvalidRows::error); }),
              HasSubstr("dup.jsonl:2: duplicate id \"a\""));
  EXPECT_THAT(expected_error([&] { trainer::load_manifests({(dir / "none.jsonl").string()}, InvalidRows::skip); }),
              HasSubstr("cannot read"));
}

TEST(PromptSampler, EpochsArePermutationsThatResumeFromTheirState) {
  trainer::PromptSampler sampler(5, 11, true);
  auto first = sampler.next(3);
  auto rest = sampler.next(4);  // 2 of epoch 0, then 2 of epoch 1
  EXPECT_EQ(sampler.state().epoch, 1);
  EXPECT_EQ(sampler.state().cursor, 2);
  std::vector<int64_t> epoch0(first);
  epoch0.insert(epoch0.end(), rest.begin(), rest.begin() + 2);
  EXPECT_EQ(epoch0, sampler.epoch_order(0));
  auto sorted = epoch0;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_NE(sampler.epoch_order(0), sampler.epoch_order(1));
  // A sampler started from the saved state continues identically.
  trainer::PromptSampler resumed(5, 11, true, sampler.state());
  EXPECT_EQ(resumed.next(6), sampler.next(6));
  trainer::PromptSampler plain(3, 11, false);
  EXPECT_EQ(plain.next(4), (std::vector<int64_t>{0, 1, 2, 0}));
}

TEST(SequenceBatch, RightPadsAndScoresExactlyTheResponseTokens) {
  policy::PromptInput a, b;
  a.input_ids = at::tensor({1, 2, 3}, at::kLong);
  b.input_ids = at::tensor({4, 5}, at::kLong);
  std::vector<int64_t> ra = {7, 8}, rb = {9, 10, 11, 12};
  auto batch = trainer::make_sequence_batch({{&a, &ra}, {&b, &rb}}, 0);
  EXPECT_TRUE(
      at::equal(batch.batch.input_ids, at::tensor({1, 2, 3, 7, 8, 0, 4, 5, 9, 10, 11, 12}, at::kLong).view({2, 6})));
  EXPECT_EQ(batch.tokens, 6);
  // Position t scores token t + 1: a's responses at 3, 4 are scored at 2, 3; b's at 1..4.
  auto score = batch.batch.score_mask.to(at::kLong);
  EXPECT_TRUE(at::equal(score, at::tensor({0, 0, 1, 1, 0, 0, 1, 1, 1, 1}, at::kLong).view({2, 5})));
  auto per_position = at::arange(10, at::kFloat).view({2, 5});
  auto values = trainer::response_values(per_position, batch);
  EXPECT_TRUE(at::equal(values, at::tensor({2.f, 3.f, 0.f, 0.f, 6.f, 7.f, 8.f, 9.f}).view({2, 4})));
}

// One definition of a group: an item drawn twice in a step (an epoch wrap, a resampling round)
// is two prompt slots, so two groups for the advantages and for the formula's group variables.
TEST(MicroBatches, ASequenceCountOrATokenBudgetSortedByLength) {
  const std::vector<int64_t> lengths{10, 50, 12, 48, 11, 200, 49};
  // By count: consecutive, in the given order.
  auto plan = trainer::plan_micro_batches(lengths, 3, 0);
  EXPECT_EQ(plan.batches, (std::vector<std::vector<size_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
  EXPECT_EQ(plan.tokens, 380);
  EXPECT_EQ(plan.padded_tokens, 3 * 50 + 3 * 200 + 49);
  // By budget: longest first; a batch grows while rows x its longest fit; 200 > 150 goes alone.
  plan = trainer::plan_micro_batches(lengths, 3, 150);
  EXPECT_EQ(plan.batches, (std::vector<std::vector<size_t>>{{5}, {1, 6, 3}, {2, 4, 0}}));
  EXPECT_EQ(plan.padded_tokens, 200 + 3 * 50 + 3 * 12);
  EXPECT_LT(plan.padded_tokens, trainer::plan_micro_batches(lengths, 3, 0).padded_tokens);
  // However large the budget, a batch stops before 10% of it would be padding.
  plan = trainer::plan_micro_batches({100, 95, 50, 48}, 1, 100000);
  EXPECT_EQ(plan.batches, (std::vector<std::vector<size_t>>{{0, 1}, {2, 3}}));
  // Every sequence exactly once, whatever the budget.
  for (int64_t budget : {1, 60, 100, 1000}) {
    std::vector<size_t> seen;
    for (const auto& b : trainer::plan_micro_batches(lengths, 1, budget).batches)
      seen.insert(seen.end(), b.begin(), b.end());
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<size_t>{0, 1, 2, 3, 4, 5, 6})) << budget;
  }
  EXPECT_THAT(expected_error([&] { trainer::plan_micro_batches(lengths, 1, -1); }),
              HasSubstr("max_tokens_per_micro_batch must be >= 0"));
}

TEST(BatchRewards, FormulaGroupsAreTheAdvantagesGroups) {
  std::vector<trainer::RolloutSample> samples(4);
  const int severities[] = {3, 1, 2, 2};
  for (int i = 0; i < 4; ++i) {
    auto& s = samples[static_cast<size_t>(i)];
    s.prompt_slot = i / 2;  // slots 0 and 1, both the same item
    s.sample = i % 2;
    s.record.sample.id = fmt::format("p/{}", i % 2);
    s.record.sample.group = "p";
    s.record.sample.task = render::RenderKind::chart;
    s.record.sample.response_len = 10;
    s.record.sample.max_len = 100;
    s.record.sample.errors = {{"data_error", severities[i], "", ""}};
  }
  reward::FormulaSpec spec;
  spec.formula = "group_mean_S";
  auto formula = reward::RewardFormula::compile(spec);
  const auto rewards = trainer::score_samples(formula, samples, AlgorithmConfig{}, 100);
  EXPECT_EQ(std::vector<int64_t>(rewards.group_ids.data_ptr<int64_t>(), rewards.group_ids.data_ptr<int64_t>() + 4),
            (std::vector<int64_t>{0, 0, 1, 1}));
  const std::vector<double> want = {2, 2, 2, 2};  // (3 + 1) / 2 and (2 + 2) / 2, not (3 + 1 + 2 + 2) / 4 twice
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(rewards.rewards[i].item<double>(), want[static_cast<size_t>(i)]) << i;
  samples[3].record.sample.errors = {{"data_error", 3, "", ""}};  // slot 1: mean 2.5, slot 0 stays 2
  const auto again = trainer::score_samples(formula, samples, AlgorithmConfig{}, 100);
  EXPECT_DOUBLE_EQ(again.rewards[0].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(again.rewards[2].item<double>(), 2.5);
}

TEST(SampleExchange, EncodesAndDecodesASampleExactly) {
  trainer::RolloutSample s;
  s.prompt_slot = 5;
  s.sample = 2;
  s.response_ids = {1, 2, 300000};
  s.response_logprobs = {-0.1f, -2.75f, -1e-7f};
  s.finish = policy::FinishReason::stop;
  s.record.step = 4;
  s.record.answer = "```svg\n<svg/>\n``` \xF0\x9F\x98\x80";
  s.record.sample.id = "p5/2";
  s.record.sample.group = "p5";
  s.record.sample.task = render::RenderKind::svg;
  s.record.sample.response_len = 3;
  s.record.sample.max_len = 12;
  s.record.sample.ssim = 0.1234567890123;
  s.record.sample.errors = {{"shape_error", 2, "top left", "a circle is missing"}};
  s.record.sample.critic_status = reward::CriticStatus::scored;
  s.record.critic.status = reward::CriticStatus::scored;
  s.record.critic.errors = s.record.sample.errors;
  const auto back = trainer::decode_sample(trainer::encode_sample(s), "test");
  EXPECT_EQ(back.prompt_slot, 5);
  EXPECT_EQ(back.sample, 2);
  EXPECT_EQ(back.response_ids, s.response_ids);
  EXPECT_EQ(back.response_logprobs, s.response_logprobs);  // bit for bit: rollout correction reads them
  EXPECT_EQ(back.finish, policy::FinishReason::stop);
  EXPECT_EQ(back.record.answer, s.record.answer);
  EXPECT_EQ(back.record.sample.ssim, s.record.sample.ssim);
  EXPECT_EQ(back.record.sample.errors, s.record.sample.errors);
  EXPECT_THAT(expected_error([] { trainer::decode_sample("{\"slot\": 1}", "sample 3 from rank 1"); }),
              HasSubstr("sample 3 from rank 1"));
}

render::RenderRequest svg_request(std::string text) {
  render::RenderRequest request;
  request.kind = render::RenderKind::svg;
  request.text = std::move(text);
  request.width_px = request.height_px = 64;
  return request;
}

TEST(CriticStage, RendersAndScoresSamplesAsTheyArrive) {
  const render::RenderPoolOptions options;
  render::RenderPool pool(options);
  reward::PixelCritic critic;
  auto reference = std::make_shared<render::RgbImage>(
      pool.render(svg_request("<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'>"
                              "<rect x='8' y='8' width='30' height='30' fill='red'/></svg>"))
          .image);
  ASSERT_FALSE(reference->empty());
  const char* answers[] = {
      "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'>"
      "<rect x='8' y='8' width='30' height='30' fill='red'/></svg>\n```",
      "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'>"
      "<circle cx='40' cy='40' r='20' fill='blue'/></svg>\n```",
      "no code at all",
      "```svg\n<svg><rect\n```",
  };
  std::vector<trainer::RolloutSample> samples(4);
  trainer::CriticStage stage(critic, true);
  for (size_t i = 0; i < samples.size(); ++i) {
    auto& s = samples[i];
    s.record.answer = answers[i];
    s.record.sample.id = fmt::format("p/{}", i);
    s.record.sample.task = render::RenderKind::svg;
    std::future<render::RenderResult> render;
    if (i != 2) render = pool.submit(svg_request(answers[i]));
    stage.add(&s, reference, std::move(render));
  }
  const auto times = stage.finish();
  EXPECT_GE(times.render_s, 0.0);
  EXPECT_EQ(samples[0].record.sample.render_status, render::RenderStatus::ok);
  EXPECT_EQ(samples[0].record.sample.critic_status, reward::CriticStatus::scored);
  EXPECT_TRUE(samples[0].record.sample.errors.empty());
  EXPECT_NEAR(*samples[0].record.sample.ssim, 1.0, 1e-9);
  EXPECT_EQ(samples[1].record.sample.critic_status, reward::CriticStatus::scored);
  EXPECT_FALSE(samples[1].record.sample.errors.empty());
  EXPECT_LT(*samples[1].record.sample.ssim, 0.9);
  EXPECT_TRUE(samples[1].rendered);
  EXPECT_EQ(samples[2].record.sample.render_status, render::RenderStatus::no_code);
  EXPECT_EQ(samples[2].record.sample.critic_status, reward::CriticStatus::not_scored);
  EXPECT_NE(samples[3].record.sample.render_status, render::RenderStatus::ok);
  EXPECT_EQ(samples[3].record.sample.critic_status, reward::CriticStatus::not_scored);
  EXPECT_FALSE(samples[3].record.render_reason.empty());
}

// A critic that counts its calls, to see when the stage scores.
class CountingCritic : public reward::Critic {
 public:
  std::string name() const override { return "counting"; }
  std::vector<reward::CriticResult> score(const std::vector<reward::CriticItem>& items) override {
    calls += 1;
    return inner.score(items);
  }
  std::atomic<int> calls{0};
  reward::PixelCritic inner;
};

TEST(CriticStage, ScoresWhileTheCallerIsStillProducingSamples) {
  const render::RenderPoolOptions options;
  render::RenderPool pool(options);
  CountingCritic critic;
  const auto answer = std::string(
      "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64'>"
      "<rect x='8' y='8' width='30' height='30' fill='red'/></svg>\n```");
  auto reference = std::make_shared<render::RgbImage>(pool.render(svg_request(answer)).image);
  std::vector<trainer::RolloutSample> samples(2);
  trainer::CriticStage stage(critic, false);
  stage.add(&samples[0], reference, pool.submit(svg_request(answer)));
  // The first sample is rendered and scored while "generation" (this thread) goes on.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (critic.calls == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(critic.calls, 1) << "the stage waited for the end of the rollout";
  stage.add(&samples[1], reference, pool.submit(svg_request(answer)));
  stage.finish();
  EXPECT_EQ(critic.calls, 2);
  EXPECT_EQ(samples[1].record.sample.critic_status, reward::CriticStatus::scored);
}

TEST(CriticStage, RethrowsWhatTheCriticThrewAtFinish) {
  class Down : public reward::Critic {
   public:
    std::string name() const override { return "down"; }
    std::vector<reward::CriticResult> score(const std::vector<reward::CriticItem>&) override {
      throw reward::CriticUnavailable("every endpoint is down");
    }
  } critic;
  const render::RenderPoolOptions options;
  render::RenderPool pool(options);
  const auto answer = std::string(
      "```svg\n<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'>"
      "<rect width='4' height='4'/></svg>\n```");
  auto reference = std::make_shared<render::RgbImage>(pool.render(svg_request(answer)).image);
  trainer::RolloutSample sample;
  trainer::CriticStage stage(critic, false);
  stage.add(&sample, reference, pool.submit(svg_request(answer)));
  EXPECT_THROW(stage.finish(), reward::CriticUnavailable);
}

TEST(CudaAutocast, OnlyForAFloat32PolicyOnCuda) {
  EXPECT_FALSE(trainer::CudaAutocast(at::kCPU, at::kFloat).active());
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_FALSE(trainer::CudaAutocast(at::Device(at::kCUDA, 0), at::kBFloat16).active());
  {
    trainer::CudaAutocast autocast(at::Device(at::kCUDA, 0), at::kFloat);
    EXPECT_TRUE(autocast.active());
    auto a = at::ones({4, 4}, at::TensorOptions().device(at::kCUDA));
    EXPECT_EQ(at::mm(a, a).scalar_type(), at::kBFloat16);
  }
  auto a = at::ones({4, 4}, at::TensorOptions().device(at::kCUDA));
  EXPECT_EQ(at::mm(a, a).scalar_type(), at::kFloat);
}

}  // namespace
}  // namespace visrl::test
