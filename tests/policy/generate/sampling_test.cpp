// Logits processors against transformers' (tests/fixtures/qwen3vl/sampling.safetensors).
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/safetensors.h"
#include "policy/generate/sampling.h"
#include "tests/test_util.h"

namespace visrl::test {
namespace {

using namespace visrl::policy;

struct SamplingFixture {
  SamplingFixture() : file(safetensors::File::open(source_dir() / "tests/fixtures/qwen3vl/sampling.safetensors")) {
    logits = file->tensor("logits").clone();
    auto ids = file->tensor("seen");
    seen = at::zeros(logits.sizes(), at::kBool).scatter_(1, ids, true);
  }
  void expect(const std::string& name, const SamplingParams& params) const {
    auto ours = process_logits(logits, params, seen, at::Tensor());
    auto theirs = file->tensor(name);
    auto finite = at::isfinite(theirs);
    EXPECT_TRUE(at::equal(at::isfinite(ours), finite)) << name << ": a different set of tokens was filtered";
    EXPECT_LE((ours.masked_select(finite) - theirs.masked_select(finite)).abs().max().item<double>(), 1e-5) << name;
    EXPECT_GT(finite.logical_not().sum().item<int64_t>() + (name == "repetition"), 0) << name << " filters nothing";
  }
  std::shared_ptr<const safetensors::File> file;
  at::Tensor logits, seen;
};

TEST(Sampling, ProcessorsMatchTransformers) {
  SamplingFixture fx;
  SamplingParams p;
  p.repetition_penalty = 1.3;
  fx.expect("repetition", p);
  p = {};
  p.temperature = 0.7;
  p.top_k = 5;
  fx.expect("temperature_topk", p);
  p = {};
  p.temperature = 1.5;
  p.top_p = 0.8;
  fx.expect("topp", p);
  p = {};
  p.min_p = 0.1;
  fx.expect("minp", p);
  p = {};
  p.repetition_penalty = 0.8;
  p.temperature = 0.9;
  p.top_k = 20;
  p.top_p = 0.9;
  p.min_p = 0.05;
  fx.expect("all", p);
}

TEST(Sampling, PresencePenaltySubtractsOncePerGeneratedToken) {
  auto logits = at::zeros({1, 4});
  auto generated = (at::tensor({0, 1, 0, 1}) == 1).view({1, 4});
  SamplingParams p;
  p.presence_penalty = 0.5;
  auto out = process_logits(logits, p, at::Tensor(), generated);
  EXPECT_TRUE(at::allclose(out, at::tensor({0.0f, -0.5f, 0.0f, -0.5f}).view({1, 4})));
}

TEST(Sampling, SamplesOnlyKeptTokensAndReportsTheirLogprob) {
  auto logits = at::tensor({0.0f, 5.0f, 4.9f, -1.0f}).view({1, 4}).repeat({64, 1});
  SamplingParams p;
  p.top_k = 2;
  auto processed = process_logits(logits, p, {}, {});
  auto gen = at::detail::createCPUGenerator(1);
  auto picked = pick_tokens(processed, false, gen);
  auto kept = (picked.tokens == 1) | (picked.tokens == 2);
  EXPECT_TRUE(kept.all().item<bool>());
  auto expected = processed.log_softmax(-1).gather(1, picked.tokens.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(at::allclose(picked.logprobs, expected));
}

TEST(Sampling, BadParametersAreNamed) {
  SamplingParams p;
  p.top_p = 0;
  EXPECT_THROW(validate(p), Error);
  p = {};
  p.temperature = 0;
  EXPECT_THROW(validate(p), Error);
  p.greedy = true;
  EXPECT_NO_THROW(validate(p));
}

}  // namespace
}  // namespace visrl::test
