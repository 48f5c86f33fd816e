#include "reward/metrics/luma.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace visrl::reward {
namespace {

// One axis of Pillow's resample (precompute_coeffs in libImaging/Resample.c, as documented
// by its behaviour): output pixel i reads input [first, first + weights.size()).
struct Taps {
  int first = 0;
  std::vector<double> weights;
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

std::vector<Taps> resample_taps(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = 1.0 * filter_scale;  // the triangle's support is 1
  std::vector<Taps> taps(static_cast<size_t>(out_size));
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // C casts truncate toward zero; a negative start is clamped to 0 either way.
    const int first = std::max(0, static_cast<int>(center - support + 0.5));
    const int end = std::min(in_size, static_cast<int>(center + support + 0.5));
    Taps& t = taps[static_cast<size_t>(i)];
    t.first = first;
    double sum = 0.0;
    for (int x = first; x < end; ++x) {
      const double w = triangle((x - center + 0.5) / filter_scale);
      t.weights.push_back(w);
      sum += w;
    }
    if (sum != 0.0) {
      for (double& w : t.weights) w /= sum;
    }
  }
  return taps;
}

double to_f32(double v) {
  return static_cast<double>(static_cast<float>(v));
}

}  // namespace

LumaImage to_luma(const render::RgbImage& image, const char* what) {
  const auto w = static_cast<int64_t>(image.width);
  const auto h = static_cast<int64_t>(image.height);
  if (w < 0 || h < 0 || static_cast<int64_t>(image.rgb.size()) != w * h * 3) {
    fail(ErrorKind::runtime, "{} image is {}x{} but holds {} bytes, not width * height * 3", what, image.width,
         image.height, image.rgb.size());
  }
  LumaImage out{image.width, image.height, std::vector<double>(static_cast<size_t>(w * h))};
  const uint8_t* p = image.rgb.data();
  for (double& y : out.y) {
    y = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
    p += 3;
  }
  return out;
}

LumaImage resize_bilinear(const LumaImage& image, int width, int height) {
  if (width <= 0 || height <= 0 || image.width <= 0 || image.height <= 0) {
    fail(ErrorKind::runtime, "resize_bilinear: cannot resize {}x{} to {}x{}", image.width, image.height, width, height);
  }
  LumaImage cur{image.width, image.height, image.y};
  for (double& v : cur.y) v = to_f32(v);  // a mode "F" image holds float32
  if (width != cur.width) {
    const std::vector<Taps> taps = resample_taps(cur.width, width);
    LumaImage next{width, cur.height, std::vector<double>(static_cast<size_t>(width) * cur.height)};
    for (int r = 0; r < cur.height; ++r) {
      const double* in = &cur.y[static_cast<size_t>(r) * cur.width];
      double* out = &next.y[static_cast<size_t>(r) * width];
      for (int i = 0; i < width; ++i) {
        const Taps& t = taps[static_cast<size_t>(i)];
        double sum = 0.0;
        for (size_t k = 0; k < t.weights.size(); ++k) sum += in[t.first + static_cast<int>(k)] * t.weights[k];
        out[i] = to_f32(sum);
      }
    }
    cur = std::move(next);
  }
  if (height != cur.height) {
    const std::vector<Taps> taps = resample_taps(cur.height, height);
    LumaImage next{cur.width, height, std::vector<double>(static_cast<size_t>(cur.width) * height, 0.0)};
    for (int i = 0; i < height; ++i) {
      const Taps& t = taps[static_cast<size_t>(i)];
      double* out = &next.y[static_cast<size_t>(i) * cur.width];
      for (int c = 0; c < cur.width; ++c) {
        double sum = 0.0;
        for (size_t k = 0; k < t.weights.size(); ++k) {
          sum += cur.y[static_cast<size_t>(t.first + static_cast<int>(k)) * cur.width + c] * t.weights[k];
        }
        out[c] = to_f32(sum);
      }
    }
    cur = std::move(next);
  }
  return cur;
}

}  // namespace visrl::reward
