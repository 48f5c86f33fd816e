#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/image/mrope.h"
#include "tests/policy/image/fixtures.h"

namespace visrl::policy {
namespace {

constexpr MropeTokens kTokens{151655, 151656, 151652, 2};
constexpr int64_t kImage = 151655;

at::Tensor t(const std::string& name) {
  return test::fixture_tensor("mrope.safetensors", name);
}

std::string error_of(const at::Tensor& ids, const at::Tensor& mask, const at::Tensor& grids) {
  return visrl::test::error_of([&] { mrope_position_ids(ids, mask, grids, kTokens); });
}

// get_rope_index of a tiny Qwen3VLModel: text only, one image, two images in a row, left and
// right padding, images in two rows of three.
TEST(Mrope, MatchesTransformersGetRopeIndex) {
  const auto meta = test::load_json("mrope.json");
  ASSERT_EQ(meta["cases"].size(), 6u);
  for (const auto& c : meta["cases"]) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    const at::Tensor mask = c["has_mask"].get<bool>() ? t(name + ".attention_mask") : at::Tensor();
    const MropePositions got = mrope_position_ids(t(name + ".input_ids"), mask, t(name + ".image_grid_thw"), kTokens);
    const at::Tensor want = t(name + ".position_ids");  // [3, B, T]
    ASSERT_EQ(got.position_ids.sizes(), want.sizes());
    EXPECT_TRUE(at::equal(got.position_ids, want)) << got.position_ids << "\n" << want;
    EXPECT_TRUE(at::equal(got.rope_deltas, t(name + ".rope_deltas"))) << got.rope_deltas;
    // generate() prefills with the same positions
    EXPECT_TRUE(at::equal(got.position_ids, t(name + ".generate_prefill_position_ids")));
  }
}

// The positions HF generate gives the sampled tokens: the prompt's last position + 1, + 2, ...
// For each row that is decode_position_ids(delta, unpadded length). (Right padding is skipped:
// HF warns that it generates garbage there.)
TEST(Mrope, DecodePositionsMatchTransformersGenerate) {
  const auto meta = test::load_json("mrope.json");
  for (const auto& c : meta["cases"]) {
    const std::string name = c["case"];
    if (name == "right_padding") continue;
    SCOPED_TRACE(name);
    const at::Tensor ids = t(name + ".input_ids");
    const at::Tensor mask = c["has_mask"].get<bool>() ? t(name + ".attention_mask") : at::ones_like(ids);
    const MropePositions prompt = mrope_position_ids(ids, mask, t(name + ".image_grid_thw"), kTokens);
    const at::Tensor want = t(name + ".generate_decode_position_ids");  // [3, B, steps]
    const int64_t steps = c["decode_steps"];
    for (int64_t b = 0; b < ids.size(0); ++b) {
      const int64_t unpadded = mask[b].sum().item<int64_t>();
      const at::Tensor got = decode_position_ids(prompt.rope_deltas.slice(0, b, b + 1), unpadded, steps);
      EXPECT_TRUE(at::equal(got, want.slice(1, b, b + 1))) << "row " << b << "\n" << got;
    }
    if (!c["has_mask"].get<bool>()) {  // no padding: start is the cache position
      EXPECT_TRUE(at::equal(decode_position_ids(prompt.rope_deltas, ids.size(1), steps), want));
    }
  }
}

TEST(Mrope, TextOnlyIsArangeAndPaddingIsZero) {
  const at::Tensor ids = at::full({2, 5}, 7, at::kLong);
  const at::Tensor mask = at::tensor({0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, at::kLong).view({2, 5});
  const MropePositions p = mrope_position_ids(ids, mask, at::Tensor(), kTokens);
  EXPECT_TRUE(at::equal(p.position_ids[1][0], at::tensor({0, 0, 0, 1, 2}, at::kLong)));
  EXPECT_TRUE(at::equal(p.position_ids[2][1], at::arange(5, at::kLong)));
  EXPECT_TRUE(at::equal(p.rope_deltas, at::zeros({2}, at::kLong)));
}

TEST(Mrope, MismatchedImagesAndGridsAreErrorsNamingTheRow) {
  const std::string name = "images_two_rows";  // rows: image b, text only, images c and a
  const at::Tensor ids = t(name + ".input_ids");
  const at::Tensor mask = t(name + ".attention_mask");
  const at::Tensor grids = t(name + ".image_grid_thw");  // [3, 3]
  std::string e = error_of(ids, mask, grids.slice(0, 0, 2));
  EXPECT_NE(e.find("row 2"), std::string::npos) << e;
  e = error_of(ids, mask, at::cat({grids, grids.slice(0, 0, 1)}));
  EXPECT_NE(e.find("4 grid(s)"), std::string::npos) << e;
  at::Tensor wrong = grids.clone();
  wrong[1][1] = 4;  // image 1 (row 2) now claims 4 x 4 / 4 = 4 tokens
  e = error_of(ids, mask, wrong);
  EXPECT_NE(e.find("row 2"), std::string::npos) << e;
  EXPECT_NE(e.find("image tokens"), std::string::npos) << e;
  at::Tensor video = ids.clone();
  video[1][ids.size(1) - 3] = kTokens.video_token_id;
  e = error_of(video, mask, grids);
  EXPECT_NE(e.find("row 1"), std::string::npos) << e;
  EXPECT_NE(e.find("video"), std::string::npos) << e;
  // image tokens with no grid at all
  const at::Tensor one = at::tensor(std::vector<int64_t>{1, kImage, kImage, kImage, kImage, 2}, at::kLong).view({1, 6});
  e = error_of(one, at::Tensor(), at::Tensor());
  EXPECT_NE(e.find("row 0"), std::string::npos) << e;
  EXPECT_NO_THROW(mrope_position_ids(one, at::Tensor(), at::tensor({1, 4, 4}, at::kLong).view({1, 3}), kTokens));
}

}  // namespace
}  // namespace visrl::policy
