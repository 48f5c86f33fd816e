#include "reward/metrics/edit_distance.h"

#include <algorithm>
#include <vector>

#include "reward/metrics/levenshtein.h"

namespace visrl::reward {

int64_t edit_distance(std::string_view a, std::string_view b) {
  return levenshtein(to_code_points(a), to_code_points(b));
}

double normalized_edit_distance(std::string_view a, std::string_view b) {
  const std::vector<char32_t> ca = to_code_points(a);
  const std::vector<char32_t> cb = to_code_points(b);
  const size_t longest = std::max(ca.size(), cb.size());
  if (longest == 0) return 0.0;
  return static_cast<double>(levenshtein(ca, cb)) / static_cast<double>(longest);
}

double edit_similarity(std::string_view a, std::string_view b) {
  return 1.0 - normalized_edit_distance(a, b);
}

}  // namespace visrl::reward
