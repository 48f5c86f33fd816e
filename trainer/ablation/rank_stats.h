// Rank agreement between two scorings of the same samples.
#pragma once

#include <optional>
#include <vector>

namespace visrl::trainer {

// Kendall's tau-b of x and y (same length), ties handled; O(n log n) (Knight 1966).
// nullopt when fewer than two samples or when either side is all ties.
std::optional<double> kendall_tau_b(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace visrl::trainer
