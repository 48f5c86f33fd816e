// Random words, labels, numbers and colours shared by the synthetic generators. Everything is
// drawn from the generator passed in, so an item depends only on its own seed.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace visrl::trainer::datagen {

using Rng = std::mt19937_64;

int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi);  // [lo, hi]
double uniform_real(Rng& rng, double lo, double hi);    // [lo, hi)
bool chance(Rng& rng, double p);
template <typename T>
const T& pick(Rng& rng, const std::vector<T>& from) {
  return from[static_cast<size_t>(uniform_int(rng, 0, static_cast<int64_t>(from.size()) - 1))];
}

std::string random_word(Rng& rng);                                // "Revenue", "Delta", ...
std::string random_title(Rng& rng);                               // 2-4 capitalised words
std::vector<std::string> random_categories(Rng& rng, int64_t n);  // n distinct labels of one family
std::string random_colour(Rng& rng);                              // "#rrggbb" from a readable palette
std::vector<std::string> distinct_colours(Rng& rng, int64_t n);
// A value with `decimals` decimals (0 or 1), formatted the way it is written in the code.
std::string format_number(double value, int decimals);

// Escapes for embedding generated text: a Python single-quoted string, XML text/attributes.
std::string python_string(const std::string& text);
std::string xml_escape(const std::string& text);

}  // namespace visrl::trainer::datagen
