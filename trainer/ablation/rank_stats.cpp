#include "trainer/ablation/rank_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace visrl::trainer {

namespace {

// Pairs tied within runs of equal keys: sum over runs of k(k-1)/2.
int64_t tied_pairs(const std::vector<double>& sorted) {
  int64_t ties = 0, run = 1;
  for (size_t i = 1; i <= sorted.size(); ++i) {
    if (i < sorted.size() && sorted[i] == sorted[i - 1]) {
      ++run;
    } else {
      ties += run * (run - 1) / 2;
      run = 1;
    }
  }
  return ties;
}

// Sorts v by merge sort and returns the number of inversions (swaps of out-of-order pairs).
int64_t count_inversions(std::vector<double>& v, std::vector<double>& tmp, size_t lo, size_t hi) {
  if (hi - lo < 2) return 0;
  const size_t mid = lo + (hi - lo) / 2;
  int64_t inv = count_inversions(v, tmp, lo, mid) + count_inversions(v, tmp, mid, hi);
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (v[j] < v[i]) {
      inv += static_cast<int64_t>(mid - i);
      tmp[k++] = v[j++];
    } else {
      tmp[k++] = v[i++];
    }
  }
  while (i < mid) tmp[k++] = v[i++];
  while (j < hi) tmp[k++] = v[j++];
  std::copy(tmp.begin() + static_cast<std::ptrdiff_t>(lo), tmp.begin() + static_cast<std::ptrdiff_t>(hi),
            v.begin() + static_cast<std::ptrdiff_t>(lo));
  return inv;
}

}  // namespace

std::optional<double> kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return std::nullopt;
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Sort by x, then y: pairs tied in x are then in y-order and never count as inversions.
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return x[a] < x[b] || (x[a] == x[b] && y[a] < y[b]); });
  std::vector<double> xs(n), ys(n);
  for (size_t i = 0; i < n; ++i) xs[i] = x[order[i]], ys[i] = y[order[i]];

  const int64_t n0 = static_cast<int64_t>(n) * static_cast<int64_t>(n - 1) / 2;
  const int64_t n1 = tied_pairs(xs);  // tied in x
  // Tied in both x and y.
  int64_t n3 = 0, run = 1;
  for (size_t i = 1; i <= n; ++i) {
    if (i < n && xs[i] == xs[i - 1] && ys[i] == ys[i - 1]) {
      ++run;
    } else {
      n3 += run * (run - 1) / 2;
      run = 1;
    }
  }
  std::vector<double> tmp(n);
  const int64_t swaps = count_inversions(ys, tmp, 0, n);  // ys is now sorted
  const int64_t n2 = tied_pairs(ys);                      // tied in y
  if (n0 == n1 || n0 == n2) return std::nullopt;
  // concordant - discordant = n0 - n1 - n2 + n3 - 2 * swaps
  const double numerator = static_cast<double>(n0 - n1 - n2 + n3 - 2 * swaps);
  return numerator / std::sqrt(static_cast<double>(n0 - n1) * static_cast<double>(n0 - n2));
}

}  // namespace visrl::trainer
