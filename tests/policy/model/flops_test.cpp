// policy/model/flops.h against torch.utils.flop_counter on transformers' Qwen3-VL
// (tests/fixtures/qwen3vl/flops.py writes flops.json).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/model/flops.h"
#include "tests/policy/model/model_fixture.h"

namespace visrl::policy {
namespace {

using test::qwen3vl_fixture_dir;

nlohmann::json reference() {
  std::ifstream in(qwen3vl_fixture_dir() / "flops.json");
  return nlohmann::json::parse(in);
}

ForwardWork work_of(const nlohmann::json& ref) {
  ForwardWork work;
  work.image_patches = ref.at("image_patches").get<std::vector<int64_t>>();
  work.row_tokens = ref.at("row_tokens").get<std::vector<int64_t>>();
  work.scored_positions = ref.at("scored_positions").get<int64_t>();
  work.text_pairs = AttentionPairs::full;
  return work;
}

TEST(Flops, ForwardAndBackwardMatchTransformersFlopCounter) {
  const auto ref = reference();
  const auto config =
      Qwen3VLConfig::from_file(qwen3vl_fixture_dir() / ref.at("model").get<std::string>() / "config.json");
  const auto forward = forward_flops(config, work_of(ref));
  EXPECT_EQ(forward.total(), ref.at("forward_flops").get<double>());
  EXPECT_EQ(forward.patch_embed, ref.at("forward_by_op").at("aten.convolution").get<double>());
  EXPECT_EQ(backward_flops(forward), ref.at("backward_flops").get<double>());
}

TEST(Flops, CausalAttentionCountsTheLowerTriangle) {
  const auto config = Qwen3VLConfig::from_file(qwen3vl_fixture_dir() / "untied" / "config.json");
  ForwardWork work;
  work.row_tokens = {10, 4};
  const auto causal = forward_flops(config, work);
  work.text_pairs = AttentionPairs::full;
  const auto full = forward_flops(config, work);
  // 4 layers x 4 heads x head_dim 24 = q_dim 96; 2 matmuls x 2 FLOPs per pair and dimension.
  EXPECT_EQ(causal.attention, 4 * 4.0 * 96 * (55 + 10));
  EXPECT_EQ(full.attention, 4 * 4.0 * 96 * (100 + 16));
  EXPECT_EQ(causal.text, full.text);
  EXPECT_EQ(causal.vision + causal.lm_head + causal.patch_embed + causal.mergers, 0.0);
}

TEST(Flops, EachImageAttendsWithinItself) {
  const auto config = Qwen3VLConfig::from_file(qwen3vl_fixture_dir() / "untied" / "config.json");
  ForwardWork one, two;
  one.image_patches = {48};
  two.image_patches = {24, 24};
  const auto whole = forward_flops(config, one), halves = forward_flops(config, two);
  EXPECT_EQ(whole.patch_embed, halves.patch_embed);
  EXPECT_EQ(whole.mergers, halves.mergers);
  // Linear work is equal; attention over one 48-patch image is twice that of two 24-patch ones:
  // 4 blocks x 4 x hidden 48 x (48^2 - 2 x 24^2).
  EXPECT_EQ(whole.vision - halves.vision, 4 * 4.0 * 48 * (48 * 48 - 2 * 24 * 24));
}

}  // namespace
}  // namespace visrl::policy
