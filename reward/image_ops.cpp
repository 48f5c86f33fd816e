#include "reward/image_ops.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace visrl::reward {

namespace {

// Weights of the source pixels covering each output pixel along one axis, for a box
// filter of width src/dst: output pixel o spans [o*scale, (o+1)*scale) in source units.
struct AxisWeights {
  std::vector<int> first;       // [dst] first source index
  std::vector<int> count;       // [dst] number of source indices
  std::vector<double> weights;  // concatenated, count[o] per output pixel, summing to 1
  std::vector<size_t> offset;   // [dst] start of output pixel o in `weights`
};

AxisWeights box_weights(int src, int dst) {
  AxisWeights w;
  const double scale = static_cast<double>(src) / dst;
  for (int o = 0; o < dst; ++o) {
    const double lo = o * scale, hi = (o + 1) * scale;
    const int begin = static_cast<int>(std::floor(lo));
    const int end = std::min(src, static_cast<int>(std::ceil(hi)));
    w.first.push_back(begin);
    w.count.push_back(end - begin);
    w.offset.push_back(w.weights.size());
    for (int i = begin; i < end; ++i) {
      const double overlap = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
      w.weights.push_back(overlap / scale);
    }
  }
  return w;
}

}  // namespace

render::RgbImage downscale_to_max_side(const render::RgbImage& image, int64_t max_side) {
  const int64_t longer = std::max(image.width, image.height);
  if (image.empty() || max_side <= 0 || longer <= max_side) return image;
  const double factor = static_cast<double>(max_side) / static_cast<double>(longer);
  const int out_w = std::max(1, static_cast<int>(std::lround(image.width * factor)));
  const int out_h = std::max(1, static_cast<int>(std::lround(image.height * factor)));
  const AxisWeights wx = box_weights(image.width, out_w);
  const AxisWeights wy = box_weights(image.height, out_h);

  // Separable: rows first into a float buffer [H, out_w, 3], then columns.
  std::vector<float> rows(static_cast<size_t>(image.height) * out_w * 3);
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* src = image.rgb.data() + static_cast<size_t>(y) * image.width * 3;
    float* dst = rows.data() + static_cast<size_t>(y) * out_w * 3;
    for (int o = 0; o < out_w; ++o) {
      double acc[3] = {0, 0, 0};
      for (int k = 0; k < wx.count[o]; ++k) {
        const double wgt = wx.weights[wx.offset[o] + k];
        const uint8_t* p = src + static_cast<size_t>(wx.first[o] + k) * 3;
        for (int c = 0; c < 3; ++c) acc[c] += wgt * p[c];
      }
      for (int c = 0; c < 3; ++c) dst[o * 3 + c] = static_cast<float>(acc[c]);
    }
  }
  render::RgbImage out;
  out.width = out_w;
  out.height = out_h;
  out.rgb.resize(static_cast<size_t>(out_w) * out_h * 3);
  for (int o = 0; o < out_h; ++o) {
    for (int x = 0; x < out_w * 3; ++x) {
      double acc = 0;
      for (int k = 0; k < wy.count[o]; ++k)
        acc += wy.weights[wy.offset[o] + k] * rows[static_cast<size_t>(wy.first[o] + k) * out_w * 3 + x];
      out.rgb[static_cast<size_t>(o) * out_w * 3 + x] = static_cast<uint8_t>(std::clamp(std::lround(acc), 0L, 255L));
    }
  }
  return out;
}

}  // namespace visrl::reward
