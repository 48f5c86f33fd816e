#include "reward/image_ops.h"

#include <gtest/gtest.h>

namespace visrl::reward {
namespace {

render::RgbImage filled(int w, int h, uint8_t v) {
  render::RgbImage img;
  img.width = w;
  img.height = h;
  img.rgb.assign(static_cast<size_t>(w) * h * 3, v);
  return img;
}

TEST(DownscaleToMaxSide, SmallImagesAreUnchanged) {
  render::RgbImage img = filled(30, 20, 7);
  img.rgb[5] = 200;
  render::RgbImage out = downscale_to_max_side(img, 30);
  EXPECT_EQ(out.width, 30);
  EXPECT_EQ(out.rgb, img.rgb);
}

TEST(DownscaleToMaxSide, KeepsTheAspectAndAveragesBoxes) {
  // 4x2 -> 2x1: each output pixel is the mean of a 2x2 block.
  render::RgbImage img = filled(4, 2, 0);
  const uint8_t left[4] = {0, 100, 50, 250};  // the four pixels of the left block, channel 0
  img.rgb[0] = left[0];
  img.rgb[3] = left[1];
  img.rgb[12] = left[2];
  img.rgb[15] = left[3];
  render::RgbImage out = downscale_to_max_side(img, 2);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 1);
  EXPECT_EQ(out.rgb[0], 100);  // (0 + 100 + 50 + 250) / 4
  EXPECT_EQ(out.rgb[3], 0);
}

TEST(DownscaleToMaxSide, NonIntegerFactorsKeepMeanIntensity) {
  render::RgbImage img = filled(1000, 700, 0);
  for (size_t i = 0; i < img.rgb.size(); i += 6) img.rgb[i] = 255;  // every other pixel's red
  render::RgbImage out = downscale_to_max_side(img, 333);
  EXPECT_EQ(out.width, 333);
  EXPECT_EQ(out.height, 233);
  double mean = 0;
  for (size_t i = 0; i < out.rgb.size(); i += 3) mean += out.rgb[i];
  mean /= static_cast<double>(out.width) * out.height;
  EXPECT_NEAR(mean, 127.5, 1.0);
  EXPECT_EQ(out.rgb[1], 0);
}

}  // namespace
}  // namespace visrl::reward
