// SSIM against scikit-image (ssim.json, images/*.png) and hand-checked properties.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "render/png_io.h"
#include "reward/metrics/luma.h"
#include "reward/metrics/ssim.h"
#include "tests/reward/metrics/metrics_test_util.h"

namespace visrl::reward {
namespace {

render::RgbImage noise(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  render::RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (auto& v : image.rgb) v = static_cast<uint8_t>(rng() % 256);
  return image;
}

TEST(Ssim, MatchesScikitImageOnFixtures) {
  const nlohmann::json cases = test::metrics_fixture("ssim.json");
  ASSERT_GE(cases.size(), 12u);
  double worst_same = 0;
  double worst_resized = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const render::RgbImage pred = render::read_png(test::metrics_fixtures() / c.at("pred").get<std::string>());
    const render::RgbImage ref = render::read_png(test::metrics_fixtures() / c.at("ref").get<std::string>());
    const bool resized = pred.width != ref.width || pred.height != ref.height;
    // The same arithmetic up to summation order; for resized pairs Pillow's float32 passes
    // are mirrored too.
    const double diff = std::abs(ssim(pred, ref) - c.at("ssim").get<double>());
    EXPECT_LE(diff, 1e-9);
    (resized ? worst_resized : worst_same) = std::max(resized ? worst_resized : worst_same, diff);
  }
  std::cout << "[ fixtures ] SSIM largest difference: same size " << worst_same << ", resized " << worst_resized
            << "\n";
}

TEST(Ssim, IdenticalSymmetricAndBounded) {
  const render::RgbImage a = noise(64, 48, 1);
  const render::RgbImage b = noise(64, 48, 2);
  EXPECT_DOUBLE_EQ(ssim(a, a), 1.0);
  EXPECT_NEAR(ssim(a, b), ssim(b, a), 1e-12);
  EXPECT_LT(ssim(a, b), 0.1);
  EXPECT_GE(ssim(a, b), -1.0);
  // Colours of equal luma are the same image to SSIM.
  EXPECT_NEAR(ssim(test::solid(20, 20, 100, 100, 100), test::solid(20, 20, 100, 100, 100)), 1.0, 1e-12);
}

TEST(Ssim, EmptyAndTinyImages) {
  const render::RgbImage empty;
  const render::RgbImage a = noise(30, 20, 3);
  EXPECT_EQ(ssim(empty, a), 0.0);
  EXPECT_EQ(ssim(a, empty), 0.0);
  EXPECT_EQ(ssim(empty, empty), 0.0);
  // Under 11 px a side scikit-image refuses; visrl averages the whole map.
  const render::RgbImage tiny = noise(5, 3, 4);
  EXPECT_DOUBLE_EQ(ssim(tiny, tiny), 1.0);
  EXPECT_LT(ssim(noise(5, 3, 5), tiny), 1.0);
  const render::RgbImage one = test::solid(1, 1, 10, 20, 30);
  EXPECT_DOUBLE_EQ(ssim(one, one), 1.0);
  // A 1x1 prediction against a large reference is resized, not refused.
  EXPECT_TRUE(std::isfinite(ssim(one, a)));
}

TEST(Ssim, MalformedBufferIsAnError) {
  render::RgbImage bad = noise(10, 10, 6);
  bad.rgb.resize(10);
  const std::string message = test::expected_error([&] { ssim(bad, noise(10, 10, 7)); });
  EXPECT_NE(message.find("ssim: pred image is 10x10 but holds 10 bytes"), std::string::npos) << message;
  render::RgbImage negative;
  negative.width = -1;
  negative.height = 2;
  EXPECT_NE(test::expected_error([&] { ssim(noise(10, 10, 7), negative); }).find("ssim: ref image is -1x2"),
            std::string::npos);
}

TEST(Luma, ResizeKeepsConstantsAndAveragesWhenShrinking) {
  LumaImage flat{7, 5, std::vector<double>(35, 42.0)};
  const LumaImage up = resize_bilinear(flat, 13, 9);
  for (double v : up.y) EXPECT_NEAR(v, 42.0, 1e-5);
  // Shrinking by 2 widens the triangle to a support of 2 input pixels each side.
  LumaImage row{4, 1, {0.0, 4.0, 8.0, 12.0}};
  const LumaImage half = resize_bilinear(row, 2, 1);
  // Output 0: centre 1.0, support 2: inputs 0, 1, 2 at distances 0.5, 0.5, 1.5 -> weights
  // 0.75, 0.75, 0.25 (normalised by 1.75): (0 + 3 + 2) / 1.75.
  EXPECT_NEAR(half.y[0], (0.75 * 0.0 + 0.75 * 4.0 + 0.25 * 8.0) / 1.75, 1e-5);
  EXPECT_NEAR(half.y[1], (0.25 * 4.0 + 0.75 * 8.0 + 0.75 * 12.0) / 1.75, 1e-5);
  EXPECT_NE(test::expected_error([&] { resize_bilinear(row, 0, 1); }).find("cannot resize 4x1 to 0x1"),
            std::string::npos);
}

TEST(Ssim, Timing640x480) {
  const render::RgbImage a = noise(640, 480, 8);
  render::RgbImage b = a;
  for (size_t i = 0; i < b.rgb.size(); i += 7) b.rgb[i] = static_cast<uint8_t>(255 - b.rgb[i]);
  double same_size = 0;
  const double ms = test::milliseconds_of([&] { same_size = ssim(b, a); });
  const render::RgbImage c = noise(800, 600, 9);
  double resized = 0;
  const double ms_resized = test::milliseconds_of([&] { resized = ssim(c, a); });
  std::cout << "[ timing ] ssim of two 640x480 images: " << ms << " ms (SSIM " << same_size
            << "); 800x600 resized to 640x480 first: " << ms_resized << " ms\n";
  EXPECT_GT(same_size, 0.0);
  EXPECT_LT(same_size, 1.0);
  EXPECT_LT(std::abs(resized), 0.1);
}

}  // namespace
}  // namespace visrl::reward
