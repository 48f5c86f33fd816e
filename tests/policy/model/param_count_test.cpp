// policy/model/param_count.h against the modules themselves: the arithmetic equals the numel of
// the parameters of every part, for the tied fixture model and an untied variant.
#include <gtest/gtest.h>

#include <map>

#include "policy/model/param_count.h"
#include "policy/model/tiny_model.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::policy {
namespace {

int64_t numel_with_prefix(Qwen3VLImpl& model, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    if (item.key().rfind(prefix, 0) == 0) n += item.value().numel();
  }
  return n;
}

void expect_counts_match(const Qwen3VLConfig& config) {
  auto model = init_random(config, 1);
  const auto counts = count_parameters(config);
  int64_t all = 0;
  for (const auto& p : model->parameters()) all += p.numel();
  EXPECT_EQ(counts.total(), all);
  const int64_t mergers = numel_with_prefix(*model, "model.visual.merger.") +
                          numel_with_prefix(*model, "model.visual.deepstack_merger_list.");
  EXPECT_EQ(counts.mergers, mergers);
  EXPECT_EQ(counts.vision_tower, numel_with_prefix(*model, "model.visual.") - mergers);
  EXPECT_EQ(counts.embed_tokens, numel_with_prefix(*model, "model.language_model.embed_tokens."));
  EXPECT_EQ(counts.lm_head, numel_with_prefix(*model, "lm_head."));
  EXPECT_EQ(counts.trainable(true), all - counts.vision_tower);
  // linear_layers: the model's Linear modules, by path and shape.
  std::map<std::string, std::pair<int64_t, int64_t>> linears;
  for (const auto& item : model->named_modules("", false)) {
    if (auto* l = dynamic_cast<LinearImpl*>(item.value().get())) {
      linears[item.key()] = {l->weight.size(1), l->weight.size(0)};
    }
  }
  const auto listed = linear_layers(config);
  EXPECT_EQ(listed.size(), linears.size());
  for (const auto& l : listed) {
    ASSERT_TRUE(linears.count(l.path)) << l.path;
    EXPECT_EQ(linears[l.path], std::make_pair(l.in, l.out)) << l.path;
  }
}

TEST(ParamCount, EqualsTheModulesOfTheTiedFixtureModel) {
  const auto config = Qwen3VLConfig::from_file(test::qwen3vl_fixture_dir() / "tied" / "config.json");
  ASSERT_TRUE(config.tie_word_embeddings);
  expect_counts_match(config);
  EXPECT_EQ(count_parameters(config).lm_head, 0);
}

TEST(ParamCount, EqualsTheModulesOfTheUntiedFixtureModel) {
  const auto config = Qwen3VLConfig::from_file(test::qwen3vl_fixture_dir() / "untied" / "config.json");
  ASSERT_FALSE(config.tie_word_embeddings);
  expect_counts_match(config);
  EXPECT_EQ(count_parameters(config).lm_head, count_parameters(config).embed_tokens);
}

// The published 2B shapes (REFERENCE.md section 6): about 2.13 billion parameters, tied.
TEST(ParamCount, PublishedTwoBillionShape) {
  Qwen3VLConfig config;  // the defaults are the 2B shapes
  const auto counts = count_parameters(config);
  EXPECT_EQ(counts.lm_head, 0);
  EXPECT_NEAR(static_cast<double>(counts.total()) / 1e9, 2.13, 0.02);
}

}  // namespace
}  // namespace visrl::policy
