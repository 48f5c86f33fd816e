#include <cstring>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/image/image_processor.h"
#include "tests/policy/image/fixtures.h"

namespace visrl::policy {
namespace {

std::string fnv1a64(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.data_ptr());
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < c.nbytes(); ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return fmt::format("{:016x}", h);
}

ImageProcessorConfig fixture_config(const std::string& name) {
  return ImageProcessorConfig::from_file(test::image_fixtures() / "configs" / name / "preprocessor_config.json");
}

using visrl::test::error_of;

// Every case: our read_image + process_image against AutoImageProcessor (torchvision backend)
// on PIL.Image.open of the same file. Exact: max |diff| must be 0.
TEST(ImageProcessor, MatchesTransformersDefaultProcessorExactly) {
  const auto meta = test::load_json("processor.json");
  ASSERT_EQ(meta["cases"].size(), 14u);
  for (const auto& c : meta["cases"]) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    const auto cfg = fixture_config(c["config"]);
    const at::Tensor rgb = read_image(test::image_fixtures() / "images" / c["image"].get<std::string>());
    ASSERT_EQ(rgb.size(0), c["image_hw"][0].get<int64_t>());
    ASSERT_EQ(rgb.size(1), c["image_hw"][1].get<int64_t>());
    const ProcessedImage out = process_image(rgb, cfg);
    EXPECT_EQ(out.grid_thw[0], c["grid_thw"][0].get<int64_t>());
    EXPECT_EQ(out.grid_thw[1], c["grid_thw"][1].get<int64_t>());
    EXPECT_EQ(out.grid_thw[2], c["grid_thw"][2].get<int64_t>());
    EXPECT_EQ(out.num_tokens(cfg.merge_size), c["num_tokens"].get<int64_t>());
    ASSERT_EQ(out.pixel_values.scalar_type(), at::kFloat);
    ASSERT_EQ(out.pixel_values.size(0), c["pixel_values_shape"][0].get<int64_t>());
    ASSERT_EQ(out.pixel_values.size(1), c["pixel_values_shape"][1].get<int64_t>());
    if (c.contains("pixel_values_fnv1a64")) {
      EXPECT_EQ(fnv1a64(out.pixel_values), c["pixel_values_fnv1a64"].get<std::string>());
      EXPECT_EQ(out.pixel_values.to(at::kDouble).sum().item<double>(), c["pixel_values_sum"].get<double>());
    } else {
      const at::Tensor expected = test::fixture_tensor("processor.safetensors", name + ".pixel_values");
      const double diff = test::max_abs_diff(out.pixel_values, expected);
      EXPECT_EQ(diff, 0.0) << "max |visrl - transformers| = " << diff;
      EXPECT_TRUE(at::equal(out.pixel_values, expected));
      const at::Tensor grid = test::fixture_tensor("processor.safetensors", name + ".image_grid_thw");  // [1, 3]
      EXPECT_EQ(grid[0][1].item<int64_t>(), out.grid_thw[1]);
      EXPECT_EQ(grid[0][2].item<int64_t>(), out.grid_thw[2]);
    }
  }
}

TEST(ImageProcessor, PatchLayoutIsChannelTimeRowColumnInMergeBlocks) {
  // 64 x 64 image, patch 16, merge 2: 4 x 4 patches; no resize, no normalisation.
  ImageProcessorConfig cfg;
  cfg.do_rescale = cfg.do_normalize = false;
  cfg.min_pixels = 1024;
  at::Tensor image = at::arange(64 * 64 * 3).remainder(251).to(at::kByte).reshape({64, 64, 3});  // [H, W, 3]
  const ProcessedImage out = process_image(image, cfg);
  ASSERT_EQ(out.pixel_values.sizes(), (at::IntArrayRef{16, 3 * 2 * 16 * 16}));
  // Row 2 of pixel_values is merge block (0, 0), patch (1, 0): image rows 16..31, columns 0..15.
  const at::Tensor patch = out.pixel_values[2].view({3, 2, 16, 16});
  const at::Tensor want = image.slice(0, 16, 32).slice(1, 0, 16).permute({2, 0, 1}).to(at::kFloat);  // [3, 16, 16]
  EXPECT_TRUE(at::equal(patch.select(1, 0), want));
  EXPECT_TRUE(at::equal(patch.select(1, 1), want));
  // Row 4 is merge block (0, 1), patch (0, 0): rows 0..15, columns 32..47.
  const at::Tensor patch4 = out.pixel_values[4].view({3, 2, 16, 16}).select(1, 0);
  EXPECT_TRUE(at::equal(patch4, image.slice(0, 0, 16).slice(1, 32, 48).permute({2, 0, 1}).to(at::kFloat)));
}

TEST(ImageProcessor, RejectsBadInput) {
  const ImageProcessorConfig cfg;
  EXPECT_NE(error_of([&] { process_image(at::zeros({0, 5, 3}, at::kByte), cfg); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { process_image(at::zeros({5, 0, 3}, at::kByte), cfg); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { process_image(at::zeros({8, 8, 3}, at::kFloat), cfg); }).find("uint8"), std::string::npos);
  EXPECT_NE(error_of([&] {
              process_image(at::zeros({8, 8, 4}, at::kByte), cfg);
            }).find("[H, W, 3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              process_image(at::zeros({3, 8, 8}, at::kByte), cfg);
            }).find("[H, W, 3]"),
            std::string::npos);
  EXPECT_NE(error_of([&] { process_image(at::zeros({8, 8}, at::kByte), cfg); }).find("[H, W, 3]"), std::string::npos);
  EXPECT_NE(error_of([&] { process_image(at::Tensor(), cfg); }).find("undefined"), std::string::npos);
  EXPECT_NE(error_of([&] {
              process_image(at::zeros({1, 201, 3}, at::kByte), cfg);
            }).find("aspect ratio"),
            std::string::npos);
  EXPECT_NO_THROW(process_image(at::zeros({1, 200, 3}, at::kByte), cfg));
}

}  // namespace
}  // namespace visrl::policy
