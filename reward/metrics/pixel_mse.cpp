#include "reward/metrics/pixel_mse.h"

#include "core/error.h"
#include "reward/metrics/luma.h"

namespace visrl::reward {
namespace {

// Channel c of `image` as a float plane (LumaImage is any grey plane).
LumaImage channel(const render::RgbImage& image, int c) {
  LumaImage plane{image.width, image.height, std::vector<double>(static_cast<size_t>(image.width) * image.height)};
  for (size_t i = 0; i < plane.y.size(); ++i) plane.y[i] = image.rgb[3 * i + static_cast<size_t>(c)];
  return plane;
}

void check_buffer(const render::RgbImage& image, const char* what) {
  if (image.rgb.size() != static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3)
    fail(ErrorKind::runtime, "pixel_mse: the {} holds {} bytes for {}x{} RGB", what, image.rgb.size(), image.width,
         image.height);
}

}  // namespace

double pixel_mse(const render::RgbImage& pred, const render::RgbImage& ref) {
  if (pred.empty() || ref.empty()) return 1.0;
  check_buffer(pred, "prediction");
  check_buffer(ref, "reference");
  double sum = 0.0;
  for (int c = 0; c < 3; ++c) {
    LumaImage p = channel(pred, c);
    if (p.width != ref.width || p.height != ref.height) p = resize_bilinear(p, ref.width, ref.height);
    for (size_t i = 0; i < p.y.size(); ++i) {
      const double d = (p.y[i] - ref.rgb[3 * i + static_cast<size_t>(c)]) / 255.0;
      sum += d * d;
    }
  }
  return sum / (3.0 * static_cast<double>(ref.width) * static_cast<double>(ref.height));
}

}  // namespace visrl::reward
