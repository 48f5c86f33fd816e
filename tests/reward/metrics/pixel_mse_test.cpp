// Pixel MSE against numpy (ssim.json's "mse", images/*.png) and hand-computed cases.
#include <cmath>

#include <gtest/gtest.h>

#include "core/error.h"
#include "render/png_io.h"
#include "reward/metrics/pixel_mse.h"
#include "tests/reward/metrics/metrics_test_util.h"

namespace visrl::reward {
namespace {

TEST(PixelMse, MatchesNumpyOnFixtures) {
  const nlohmann::json cases = test::metrics_fixture("ssim.json");
  ASSERT_GE(cases.size(), 12u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    ASSERT_TRUE(c.contains("mse")) << "regenerate tests/fixtures/metrics with generate.py";
    const auto pred = render::read_png(test::metrics_fixtures() / c.at("pred").get<std::string>());
    const auto ref = render::read_png(test::metrics_fixtures() / c.at("ref").get<std::string>());
    // Resized pairs go through Pillow's float32 passes on both sides.
    EXPECT_NEAR(pixel_mse(pred, ref), c.at("mse").get<double>(), 1e-9);
  }
}

TEST(PixelMse, HandComputedCases) {
  EXPECT_DOUBLE_EQ(pixel_mse(test::solid(8, 6, 10, 20, 30), test::solid(8, 6, 10, 20, 30)), 0.0);
  // Black against white: every channel differs by 1.
  EXPECT_DOUBLE_EQ(pixel_mse(test::solid(8, 6, 0, 0, 0), test::solid(8, 6, 255, 255, 255)), 1.0);
  // One channel of three off by 51 = 0.2: 0.04 / 3.
  EXPECT_NEAR(pixel_mse(test::solid(5, 5, 51, 0, 0), test::solid(5, 5, 0, 0, 0)), 0.04 / 3.0, 1e-15);
  // A uniform image keeps its value when resized: the size does not matter.
  EXPECT_NEAR(pixel_mse(test::solid(16, 12, 51, 0, 0), test::solid(5, 5, 0, 0, 0)), 0.04 / 3.0, 1e-12);
  // Symmetric for equal sizes.
  auto a = test::solid(4, 4, 0, 0, 0);
  a.rgb[5] = 200;
  const auto b = test::solid(4, 4, 30, 30, 30);
  EXPECT_DOUBLE_EQ(pixel_mse(a, b), pixel_mse(b, a));
}

TEST(PixelMse, EmptyIsTheWorstAndABadBufferThrows) {
  EXPECT_DOUBLE_EQ(pixel_mse(render::RgbImage{}, test::solid(4, 4, 0, 0, 0)), 1.0);
  render::RgbImage broken{4, 4, std::vector<uint8_t>(10)};
  EXPECT_THROW(pixel_mse(broken, test::solid(4, 4, 0, 0, 0)), Error);
}

}  // namespace
}  // namespace visrl::reward
