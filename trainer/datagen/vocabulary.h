// Words, labels, numbers and colours shared by the synthetic generators. Everything is drawn
// from the generator passed in (core/random.h: the same on every platform), so an item
// depends only on its own seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/xml_escape.h"

namespace visrl::trainer::datagen {

using visrl::Random;

std::string random_word(Random& rng);                                // "Revenue", "Delta", ...
std::string random_title(Random& rng);                               // 2-4 capitalised words
std::vector<std::string> random_categories(Random& rng, int64_t n);  // n distinct labels of one family
std::string random_colour(Random& rng);                              // "#rrggbb" from a readable palette
std::vector<std::string> distinct_colours(Random& rng, int64_t n);
// A value with `decimals` decimals (0 or 1), formatted the way it is written in the code.
std::string format_number(double value, int decimals);

// A Python single-quoted string literal of `text`. (XML text: core/xml_escape.h.)
std::string python_string(const std::string& text);

}  // namespace visrl::trainer::datagen
