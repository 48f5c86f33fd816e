#include "reward/metrics/ssim.h"

#include <cmath>
#include <vector>

#include "reward/metrics/luma.h"

namespace visrl::reward {
namespace {

constexpr double kSigma = 1.5;
constexpr int kRadius = 5;  // int(3.5 * sigma + 0.5), as scipy.ndimage truncates
constexpr double kK1 = 0.01;
constexpr double kK2 = 0.03;
constexpr double kRange = 255.0;

std::vector<double> gaussian_weights() {
  std::vector<double> w(2 * kRadius + 1);
  double sum = 0.0;
  for (int k = -kRadius; k <= kRadius; ++k) {
    w[static_cast<size_t>(k + kRadius)] = std::exp(-0.5 / (kSigma * kSigma) * k * k);
    sum += w[static_cast<size_t>(k + kRadius)];
  }
  for (double& v : w) v /= sum;
  return w;
}

// Index i of an axis of n samples extended by reflection about the edges (d c b a | a b c d
// | d c b a), repeated for any distance, as scipy's mode "reflect".
int reflect(int i, int n) {
  const int period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

std::vector<int> reflected_indices(int n) {
  std::vector<int> idx(static_cast<size_t>(n + 2 * kRadius));
  for (int i = -kRadius; i < n + kRadius; ++i) idx[static_cast<size_t>(i + kRadius)] = reflect(i, n);
  return idx;
}

// Separable gaussian filter: along the columns (axis 0) first, then the rows, as
// scipy.ndimage.gaussian_filter goes through the axes in order.
class Blur {
 public:
  Blur(int width, int height)
      : width_(width),
        height_(height),
        weights_(gaussian_weights()),
        rows_(reflected_indices(height)),
        cols_(reflected_indices(width)),
        tmp_(static_cast<size_t>(width) * height) {}

  std::vector<double> operator()(const std::vector<double>& in) {
    const auto w = static_cast<size_t>(width_);
    for (int r = 0; r < height_; ++r) {
      double* out = &tmp_[static_cast<size_t>(r) * w];
      for (size_t c = 0; c < w; ++c) out[c] = 0.0;
      for (int k = 0; k <= 2 * kRadius; ++k) {
        const double wk = weights_[static_cast<size_t>(k)];
        const double* src = &in[static_cast<size_t>(rows_[static_cast<size_t>(r + k)]) * w];
        for (size_t c = 0; c < w; ++c) out[c] += wk * src[c];
      }
    }
    std::vector<double> result(in.size());
    for (int r = 0; r < height_; ++r) {
      const double* src = &tmp_[static_cast<size_t>(r) * w];
      double* out = &result[static_cast<size_t>(r) * w];
      for (int c = 0; c < width_; ++c) {
        double sum = 0.0;
        for (int k = 0; k <= 2 * kRadius; ++k) {
          sum += weights_[static_cast<size_t>(k)] * src[cols_[static_cast<size_t>(c + k)]];
        }
        out[c] = sum;
      }
    }
    return result;
  }

 private:
  int width_;
  int height_;
  std::vector<double> weights_;
  std::vector<int> rows_;
  std::vector<int> cols_;
  std::vector<double> tmp_;
};

double mean_ssim(const LumaImage& x, const LumaImage& y) {
  const size_t n = x.y.size();
  std::vector<double> xx(n);
  std::vector<double> yy(n);
  std::vector<double> xy(n);
  for (size_t i = 0; i < n; ++i) {
    xx[i] = x.y[i] * x.y[i];
    yy[i] = y.y[i] * y.y[i];
    xy[i] = x.y[i] * y.y[i];
  }
  Blur blur(x.width, x.height);
  const std::vector<double> ux = blur(x.y);
  const std::vector<double> uy = blur(y.y);
  const std::vector<double> uxx = blur(xx);
  const std::vector<double> uyy = blur(yy);
  const std::vector<double> uxy = blur(xy);
  const double c1 = (kK1 * kRange) * (kK1 * kRange);
  const double c2 = (kK2 * kRange) * (kK2 * kRange);

  // scikit-image drops the border the window overhangs; it refuses smaller images.
  const bool crop = x.width > 2 * kRadius && x.height > 2 * kRadius;
  const int margin = crop ? kRadius : 0;
  double sum = 0.0;
  for (int r = margin; r < x.height - margin; ++r) {
    for (int c = margin; c < x.width - margin; ++c) {
      const size_t i = static_cast<size_t>(r) * static_cast<size_t>(x.width) + static_cast<size_t>(c);
      const double vx = uxx[i] - ux[i] * ux[i];
      const double vy = uyy[i] - uy[i] * uy[i];
      const double vxy = uxy[i] - ux[i] * uy[i];
      const double a1 = 2.0 * ux[i] * uy[i] + c1;
      const double a2 = 2.0 * vxy + c2;
      const double b1 = ux[i] * ux[i] + uy[i] * uy[i] + c1;
      const double b2 = vx + vy + c2;
      sum += (a1 * a2) / (b1 * b2);
    }
  }
  const auto count = static_cast<double>(x.height - 2 * margin) * static_cast<double>(x.width - 2 * margin);
  return sum / count;
}

}  // namespace

double ssim(const render::RgbImage& pred, const render::RgbImage& ref) {
  // Malformed buffers are refused before an empty image returns 0.
  LumaImage y_pred = to_luma(pred, "ssim: pred");
  const LumaImage y_ref = to_luma(ref, "ssim: ref");
  if (pred.empty() || ref.empty()) return 0.0;
  if (y_pred.width != y_ref.width || y_pred.height != y_ref.height) {
    y_pred = resize_bilinear(y_pred, y_ref.width, y_ref.height);
  }
  return mean_ssim(y_pred, y_ref);
}

}  // namespace visrl::reward
