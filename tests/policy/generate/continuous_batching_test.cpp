// The continuous-batching engine: finished samples stop costing compute, a slot takes the next
// sample at once, each sample draws from its own random stream, and with batch_invariant the
// samples are bitwise the same whatever the slots, the split of prompts across calls (ranks)
// and the thread count.
#include <algorithm>

#include <ATen/Parallel.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/generate/engine.h"
#include "policy/model/hf_checkpoint.h"
#include "tests/policy/generate/fixture_prompts.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

// Sampling with penalties and nucleus filtering; no eos, so lengths come from the budgets.
GenerateOptions sampling_options() {
  GenerateOptions o;
  o.group_size = 3;
  o.max_new_tokens = 40;
  o.sampling.temperature = 0.9;
  o.sampling.top_p = 0.95;
  o.sampling.repetition_penalty = 1.1;
  o.sampling.presence_penalty = 0.2;
  o.seed = 5;
  o.pad_token_id = 2000;
  o.kv_growth_tokens = 8;
  // Long-tailed lengths: most answers short, one per prompt at the limit.
  o.sample_max_new_tokens = [](int64_t prompt, int64_t sample) { return sample == 2 ? 40 : 3 + 5 * prompt + sample; };
  return o;
}

void expect_same(const std::vector<GeneratedSample>& a, const std::vector<GeneratedSample>& b,
                 const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].token_ids, b[i].token_ids) << what << ", sample " << i;
    EXPECT_EQ(a[i].logprobs, b[i].logprobs) << what << ", sample " << i;
    EXPECT_EQ(a[i].finish_reason, b[i].finish_reason) << what << ", sample " << i;
  }
}

TEST(ContinuousBatching, FinishedSamplesStopCostingComputeAndSlotsRefillAtOnce) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  const auto prompts = all_prompts(fx);
  auto o = sampling_options();
  const int64_t R = static_cast<int64_t>(prompts.size()) * o.group_size;
  for (int64_t slots : {0, 2, 4}) {
    o.decode_slots = slots;
    GenerateStats stats;
    const auto samples = generate(*model, prompts, o, nullptr, &stats);
    ASSERT_EQ(static_cast<int64_t>(samples.size()), R);
    int64_t tokens = 0, prompt_tokens = 0;
    for (int64_t r = 0; r < R; ++r) {
      const auto& s = samples[static_cast<size_t>(r)];
      EXPECT_EQ(static_cast<int64_t>(s.token_ids.size()), o.sample_max_new_tokens(r / o.group_size, r % o.group_size));
      EXPECT_EQ(s.finish_reason, FinishReason::length);
      tokens += static_cast<int64_t>(s.token_ids.size());
    }
    for (const auto& p : prompts) prompt_tokens += p.input_ids.numel();
    // Every decode row produced a token that was kept (the first comes from the prefill).
    EXPECT_EQ(stats.decode_rows, tokens - R) << slots << " slots";
    EXPECT_EQ(stats.generated_tokens, tokens);
    // Each prompt prefilled once for its group, unpadded.
    EXPECT_EQ(stats.prefill_tokens, prompt_tokens);
    // With few slots, the steps are the rows spread over the slots: no step waits with a free
    // slot while samples are pending (the tail runs the longest answers alone).
    if (slots > 0) {
      EXPECT_LE(stats.decode_steps, (tokens - R) / slots + 40) << slots << " slots";
    }
  }
}

TEST(ContinuousBatching, BatchInvariantSamplesDoNotDependOnSlotsSplitsOrThreads) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  const auto prompts = all_prompts(fx);
  auto o = sampling_options();
  o.batch_invariant = true;
  const int threads = at::get_num_threads();
  o.decode_slots = 1;
  const auto reference = generate(*model, prompts, o);
  for (int64_t slots : {2, 3, 4, 32, 0}) {
    o.decode_slots = slots;
    expect_same(generate(*model, prompts, o), reference, std::to_string(slots) + " slots");
  }
  // The prompts split across two calls, as across two ranks: the stream keys are the
  // prompts' global indices.
  auto first = std::vector<PromptInput>(prompts.begin(), prompts.begin() + 1);
  auto rest = std::vector<PromptInput>(prompts.begin() + 1, prompts.end());
  for (size_t i = 0; i < prompts.size(); ++i) (i == 0 ? first[0] : rest[i - 1]).stream = static_cast<int64_t>(i);
  o.decode_slots = 4;
  auto split = generate(*model, first, o);
  const auto budget = o.sample_max_new_tokens;  // its prompt index is the call's: shift it
  o.sample_max_new_tokens = [&](int64_t prompt, int64_t sample) { return budget(prompt + 1, sample); };
  auto tail = generate(*model, rest, o);
  o.sample_max_new_tokens = budget;
  split.insert(split.end(), tail.begin(), tail.end());
  for (size_t i = 0; i < split.size(); ++i) split[i].prompt_index = static_cast<int64_t>(i) / o.group_size;
  expect_same(split, reference, "split calls");
  at::set_num_threads(threads == 1 ? 2 : 1);
  const auto other_threads = generate(*model, prompts, o);
  at::set_num_threads(threads);
  expect_same(other_threads, reference, "other thread count");
}

TEST(ContinuousBatching, EachSampleHasItsOwnRandomStream) {
  // Without batch invariance the numerics may move with the batch, yet the random numbers do
  // not: samples are reproducible, differ across samples and seeds, and a sample's stream
  // does not depend on its neighbours (greedy-free check through the first token, which
  // comes from the prompt's own prefill).
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  const auto prompts = all_prompts(fx);
  auto o = sampling_options();
  const auto a = generate(*model, prompts, o);
  expect_same(generate(*model, prompts, o), a, "same call again");
  std::vector<PromptInput> reversed(prompts.rbegin(), prompts.rend());
  for (size_t i = 0; i < reversed.size(); ++i) reversed[i].stream = static_cast<int64_t>(prompts.size() - 1 - i);
  const auto b = generate(*model, reversed, o);
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int64_t g = 0; g < o.group_size; ++g) {
      const auto& x = a[p * o.group_size + g];
      const auto& y = b[(prompts.size() - 1 - p) * o.group_size + g];
      EXPECT_EQ(x.token_ids.front(), y.token_ids.front()) << "prompt " << p << " sample " << g;
    }
  }
  o.seed = 6;
  const auto c = generate(*model, prompts, o);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i].token_ids != c[i].token_ids;
  EXPECT_GT(differ, static_cast<int>(a.size()) / 2) << "another seed, other samples";
  EXPECT_NE(a[0].token_ids, a[1].token_ids) << "two samples of a group draw different numbers";
}

TEST(ContinuousBatching, FewSlotsHoldLessCache) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  const auto prompts = all_prompts(fx);
  auto o = sampling_options();
  GenerateStats all, two;
  generate(*model, prompts, o, nullptr, &all);
  o.decode_slots = 2;
  generate(*model, prompts, o, nullptr, &two);
  EXPECT_LT(two.kv_cache_bytes, all.kv_cache_bytes);
}

TEST(ContinuousBatching, BadTokenBudgetIsNamed) {
  Qwen3VLFixture fx("untied");
  auto model = load_pretrained(fx.model_dir);
  auto o = sampling_options();
  o.sample_max_new_tokens = [](int64_t, int64_t sample) { return sample == 1 ? 0 : 4; };
  EXPECT_THAT(expected_error([&] { generate(*model, all_prompts(fx), o); }),
              ::testing::AllOf(::testing::HasSubstr("sample 1"), ::testing::HasSubstr("token budget of 0")));
}

}  // namespace
}  // namespace visrl::test
