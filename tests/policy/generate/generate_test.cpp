// The rollout engine against transformers' greedy generate, and its sampling contract.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/generate/engine.h"
#include "policy/generate/static_engine.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/policy/generate/fixture_prompts.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

GenerateOptions greedy_options(const Qwen3VLImpl& model) {
  GenerateOptions o;
  o.sampling.greedy = true;
  o.max_new_tokens = 24;
  o.eos_token_ids = {2002, 2000};  // <|im_end|>, <|endoftext|> of the tiny tokenizer
  o.pad_token_id = 2000;
  return o;
}

std::vector<int64_t> expected_greedy(const Qwen3VLFixture& fx, const std::string& prompt) {
  auto t = fx.get(prompt + ".greedy");
  return {t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel()};
}

class GreedyMatchesTransformers : public ::testing::TestWithParam<const char*> {};

TEST_P(GreedyMatchesTransformers, TokenForToken) {
  Qwen3VLFixture fx(GetParam());
  auto model = load_pretrained(fx.model_dir);
  for (const char* prompt : kPrompts) {
    auto samples = generate(*model, {fixture_prompt(fx, prompt)}, greedy_options(*model));
    ASSERT_EQ(samples.size(), 1u);
    EXPECT_EQ(samples[0].token_ids, expected_greedy(fx, prompt)) << fx.name << "/" << prompt;
  }
}

TEST_P(GreedyMatchesTransformers, BatchedLeftPaddedPromptsAndGroupsGiveTheSameTokens) {
  // Three prompts of different lengths in one call, 2 samples each: every sample equals
  // transformers' greedy output for its prompt, with every sample decoding at once, with few
  // slots (samples start as others finish, prompts share the store), and in the static
  // engine (left padding, one batch).
  Qwen3VLFixture fx(GetParam());
  auto model = load_pretrained(fx.model_dir);
  std::vector<PromptInput> prompts;
  for (const char* prompt : kPrompts) prompts.push_back(fixture_prompt(fx, prompt));
  auto options = greedy_options(*model);
  options.group_size = 2;
  GenerateStats stats;
  auto samples = generate(*model, prompts, options, nullptr, &stats);
  ASSERT_EQ(samples.size(), 6u);
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].prompt_index, static_cast<int64_t>(i / 2));
    EXPECT_EQ(samples[i].token_ids, expected_greedy(fx, kPrompts[i / 2])) << fx.name << " sample " << i;
  }
  EXPECT_GT(stats.kv_cache_bytes, 0);
  for (int64_t slots : {1, 2, 5}) {
    options.decode_slots = slots;
    samples = generate(*model, prompts, options);
    for (size_t i = 0; i < samples.size(); ++i) {
      EXPECT_EQ(samples[i].token_ids, expected_greedy(fx, kPrompts[i / 2])) << slots << " slots, sample " << i;
    }
  }
  samples = generate_static(*model, prompts, options);
  for (size_t i = 0; i < samples.size(); ++i) {
    EXPECT_EQ(samples[i].token_ids, expected_greedy(fx, kPrompts[i / 2])) << "static engine, sample " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(TinyConfigs, GreedyMatchesTransformers, ::testing::ValuesIn(kConfigs));

TEST(Generate, FirstTokenLogprobIsTheLogSoftmaxOfTheLastLogits) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  auto samples = generate(*model, {fixture_prompt(fx, "one_image")}, greedy_options(*model));
  auto last = fx.get("one_image.logits")[0][-1].log_softmax(-1);
  EXPECT_NEAR(samples[0].logprobs[0], last[samples[0].token_ids[0]].item<double>(), 1e-4);
  EXPECT_LT(samples[0].logprobs[0], 0.0f);
}

TEST(Generate, SeededSamplingIsReproducibleAndSeedsDiffer) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  GenerateOptions o = greedy_options(*model);
  o.sampling.greedy = false;
  o.sampling.temperature = 1.0;
  o.group_size = 4;
  o.max_new_tokens = 12;
  o.seed = 7;
  auto a = generate(*model, {fixture_prompt(fx, "one_image")}, o);
  auto b = generate(*model, {fixture_prompt(fx, "one_image")}, o);
  o.seed = 8;
  auto c = generate(*model, {fixture_prompt(fx, "one_image")}, o);
  bool group_differs = false, seed_differs = false;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].token_ids, b[i].token_ids);
    EXPECT_EQ(a[i].logprobs, b[i].logprobs);
    group_differs = group_differs || a[i].token_ids != a[0].token_ids;
    seed_differs = seed_differs || a[i].token_ids != c[i].token_ids;
  }
  EXPECT_TRUE(group_differs) << "the 4 samples of a group should not all be equal at temperature 1";
  EXPECT_TRUE(seed_differs);
}

TEST(Generate, LengthAndStopReasons) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  auto expected = expected_greedy(fx, "text");
  auto o = greedy_options(*model);
  o.max_new_tokens = 5;
  auto s = generate(*model, {fixture_prompt(fx, "text")}, o);
  EXPECT_EQ(s[0].finish_reason, FinishReason::length);
  EXPECT_EQ(s[0].token_ids.size(), 5u);
  // Make the 4th greedy token an eos id: generation stops there and keeps it.
  o.max_new_tokens = 24;
  o.eos_token_ids = {expected[3]};
  s = generate(*model, {fixture_prompt(fx, "text")}, o);
  EXPECT_EQ(s[0].finish_reason, FinishReason::stop);
  EXPECT_EQ(s[0].token_ids, std::vector<int64_t>(expected.begin(), expected.begin() + 4));
}

TEST(Generate, OnFinishedSeesEverySampleAsItCompletes) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  auto expected = expected_greedy(fx, "text");
  auto o = greedy_options(*model);
  o.group_size = 2;
  o.max_new_tokens = 8;
  o.eos_token_ids = {expected[2]};               // the text prompt stops after 3 tokens, the image prompt runs to 8
  std::vector<std::pair<int64_t, size_t>> seen;  // (row, tokens at the call)
  o.on_finished = [&](int64_t row, const GeneratedSample& s) {
    EXPECT_EQ(s.prompt_index, row / 2);
    seen.emplace_back(row, s.token_ids.size());
  };
  auto samples = generate(*model, {fixture_prompt(fx, "text"), fixture_prompt(fx, "one_image")}, o);
  ASSERT_EQ(seen.size(), 4u);
  // The stopped text samples are reported first, at their stop, before the batch ends.
  EXPECT_EQ(seen[0], std::make_pair(int64_t{0}, size_t{3}));
  EXPECT_EQ(seen[1], std::make_pair(int64_t{1}, size_t{3}));
  for (const auto& [row, tokens] : seen) EXPECT_EQ(tokens, samples[static_cast<size_t>(row)].token_ids.size());
}

TEST(Generate, SuppressedTokensAreNeverSampled) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  auto expected = expected_greedy(fx, "text");
  auto o = greedy_options(*model);
  o.max_new_tokens = 6;
  o.suppress_token_ids = {expected[0]};
  auto s = generate(*model, {fixture_prompt(fx, "text")}, o);
  EXPECT_NE(s[0].token_ids[0], expected[0]);
  for (auto id : s[0].token_ids) EXPECT_NE(id, expected[0]);
  o.suppress_token_ids = {model->config.text.vocab_size};
  EXPECT_THAT(expected_error([&] { generate(*model, {fixture_prompt(fx, "text")}, o); }),
              ::testing::HasSubstr("outside the vocabulary"));
}

TEST(Generate, PromptsBeyondTheContextAreNamed) {
  Qwen3VLFixture fx("tied");
  auto model = load_pretrained(fx.model_dir);
  auto o = greedy_options(*model);
  o.max_new_tokens = model->config.text.max_position_embeddings;
  try {
    generate(*model, {fixture_prompt(fx, "text")}, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("prompt text"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("context"));
  }
  o.max_new_tokens = 4;
  o.stop_strings = {"x"};
  EXPECT_THROW(generate(*model, {fixture_prompt(fx, "text")}, o), Error);  // stop strings need a tokenizer
}

}  // namespace
}  // namespace visrl::test
