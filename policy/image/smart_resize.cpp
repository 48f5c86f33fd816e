// smart_resize with Python's float semantics: true division in double, round() half to even,
// math.floor / math.ceil / math.sqrt on doubles, in the same order of operations as HF.
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "policy/image/image_processor.h"

namespace visrl::policy {
namespace {

// Python's round(x) for a double: nearest integer, ties to even.
double round_half_even(double x) {
  const double lower = std::floor(x);
  const double diff = x - lower;
  if (diff > 0.5) return lower + 1;
  if (diff < 0.5) return lower;
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1;
}

}  // namespace

std::pair<int64_t, int64_t> smart_resize(int64_t height, int64_t width, int64_t factor, int64_t min_pixels,
                                         int64_t max_pixels) {
  if (height <= 0 || width <= 0) {
    fail(ErrorKind::runtime, "smart_resize: image size {}x{} (height x width) is empty", height, width);
  }
  if (factor <= 0 || min_pixels < 0 || max_pixels <= 0) {
    fail(ErrorKind::config, "smart_resize: bad parameters factor={} min_pixels={} max_pixels={}", factor, min_pixels,
         max_pixels);
  }
  const double h = static_cast<double>(height);
  const double w = static_cast<double>(width);
  const double f = static_cast<double>(factor);
  const double aspect = static_cast<double>(std::max(height, width)) / static_cast<double>(std::min(height, width));
  if (aspect > 200) {
    fail(ErrorKind::runtime, "image {}x{} (height x width): absolute aspect ratio must be at most 200, got {}", height,
         width, aspect);
  }
  int64_t h_bar = static_cast<int64_t>(round_half_even(h / f)) * factor;
  int64_t w_bar = static_cast<int64_t>(round_half_even(w / f)) * factor;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(static_cast<double>(height * width) / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / static_cast<double>(height * width));
    h_bar = static_cast<int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

}  // namespace visrl::policy
