#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "policy/image/image_processor.h"
#include "tests/policy/image/fixtures.h"

namespace visrl::policy {
namespace {

namespace fs = std::filesystem;

std::string error_of(const fs::path& path) {
  return visrl::test::error_of([&] { ImageProcessorConfig::from_file(path); });
}

TEST(ImageProcessorConfig, DefaultsAreQwen3VL) {
  const ImageProcessorConfig d;
  const auto real =
      ImageProcessorConfig::from_file(test::image_fixtures() / "configs/qwen3_vl/preprocessor_config.json");
  EXPECT_EQ(d.patch_size, 16);
  EXPECT_EQ(d.factor(), 32);
  EXPECT_EQ(real.min_pixels, d.min_pixels);
  EXPECT_EQ(real.max_pixels, d.max_pixels);
  EXPECT_EQ(real.min_pixels, 65536);
  EXPECT_EQ(real.max_pixels, 16777216);
  EXPECT_EQ(real.image_mean, d.image_mean);
  EXPECT_EQ(real.rescale_factor, d.rescale_factor);
}

TEST(ImageProcessorConfig, LegacyKeysOverrideSize) {
  const auto legacy =
      ImageProcessorConfig::from_file(test::image_fixtures() / "configs/legacy/preprocessor_config.json");
  EXPECT_EQ(legacy.min_pixels, 3136);
  EXPECT_EQ(legacy.max_pixels, 50176);
  EXPECT_EQ(legacy.patch_size, 14);
  EXPECT_DOUBLE_EQ(legacy.image_mean[0], 0.48145466);
  const test::TempDir tmp;
  const auto both = ImageProcessorConfig::from_file(
      tmp.write("both.json", R"({"size": {"shortest_edge": 10, "longest_edge": 20000}, "max_pixels": 30000})"));
  EXPECT_EQ(both.min_pixels, 10);
  EXPECT_EQ(both.max_pixels, 30000);
}

TEST(ImageProcessorConfig, SaveRoundTrips) {
  ImageProcessorConfig cfg;
  cfg.min_pixels = 4096;
  cfg.max_pixels = 1 << 20;
  cfg.image_mean = {0.1, 0.2, 0.3};
  cfg.do_normalize = false;
  const test::TempDir tmp;
  const fs::path path = tmp.path() / "preprocessor_config.json";
  cfg.save(path);
  const auto back = ImageProcessorConfig::from_file(path);
  EXPECT_EQ(back.min_pixels, 4096);
  EXPECT_EQ(back.max_pixels, 1 << 20);
  EXPECT_EQ(back.image_mean, cfg.image_mean);
  EXPECT_EQ(back.image_std, cfg.image_std);
  EXPECT_EQ(back.rescale_factor, cfg.rescale_factor);
  EXPECT_FALSE(back.do_normalize);
  EXPECT_TRUE(back.do_resize);
}

TEST(ImageProcessorConfig, ErrorsNameFileAndKey) {
  const test::TempDir tmp;
  const fs::path bad_patch = tmp.write("bad_patch.json", R"({"patch_size": "16"})");
  std::string e = error_of(bad_patch);
  EXPECT_NE(e.find(bad_patch.string()), std::string::npos) << e;
  EXPECT_NE(e.find("patch_size"), std::string::npos) << e;
  e = error_of(tmp.write("bad_size.json", R"({"size": {"shortest_edge": -1, "longest_edge": 5}})"));
  EXPECT_NE(e.find("size.shortest_edge"), std::string::npos) << e;
  e = error_of(tmp.write("bad_mean.json", R"({"image_mean": [0.5, 0.5]})"));
  EXPECT_NE(e.find("image_mean"), std::string::npos) << e;
  e = error_of(tmp.write("bad_resample.json", R"({"resample": 2})"));
  EXPECT_NE(e.find("resample"), std::string::npos) << e;
  e = error_of(tmp.write("not_json.json", "{"));
  EXPECT_NE(e.find("not_json.json"), std::string::npos) << e;
  e = error_of(tmp.path() / "missing.json");
  EXPECT_NE(e.find("missing.json"), std::string::npos) << e;
}

}  // namespace
}  // namespace visrl::policy
