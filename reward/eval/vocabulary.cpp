#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "reward/eval/scenes.h"

namespace visrl::reward::eval {

namespace {

struct Rgb {
  int r, g, b;
};

Rgb parse(const std::string& hex) {
  const auto channel = [&](size_t at) { return static_cast<int>(std::strtol(hex.substr(at, 2).c_str(), nullptr, 16)); };
  return {channel(1), channel(3), channel(5)};
}

int distance(const std::string& a, const std::string& b) {
  const Rgb x = parse(a), y = parse(b);
  return std::max({std::abs(x.r - y.r), std::abs(x.g - y.g), std::abs(x.b - y.b)});
}

}  // namespace

const std::vector<std::string>& mark_colours() {
  // Saturated enough (max - min channel > 80) never to be read as grey text.
  static const std::vector<std::string> colours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                                   "#e377c2", "#bcbd22", "#17becf", "#2a9d8f", "#e76f51"};
  return colours;
}

const std::vector<std::string>& nouns() {
  static const std::vector<std::string> words = {
      "apple",  "bolt",   "cedar",  "delta", "ember",  "falcon", "garnet", "harbor", "iris",  "jade",  "kiwi",
      "lemon",  "maple",  "nickel", "onyx",  "pepper", "quartz", "raven",  "sable",  "tulip", "umber", "violet",
      "willow", "yarrow", "zinc",   "amber", "basil",  "coral",  "dune",   "fern",   "grove", "heron", "indigo"};
  return words;
}

std::string distant_colour(Random& random, const std::string& colour, int min_distance) {
  std::vector<std::string> far;
  for (const auto& c : mark_colours())
    if (distance(c, colour) >= min_distance) far.push_back(c);
  return far.empty() ? std::string("#000000") : random.pick(far);
}

std::string shade(const std::string& colour, double amount) {
  const Rgb c = parse(colour);
  const bool light = c.r + c.g + c.b > 3 * 170;
  auto mix = [&](int v) { return static_cast<int>(light ? v * (1.0 - amount) : v + (255 - v) * amount); };
  return fmt::format("#{:02x}{:02x}{:02x}", mix(c.r), mix(c.g), mix(c.b));
}

std::string typo(Random& random, const std::string& word) {
  std::string out = word;
  const size_t at = static_cast<size_t>(random.integer(0, static_cast<int>(word.size()) - 1));
  const bool upper = out[at] >= 'A' && out[at] <= 'Z';
  char c = out[at];
  while (c == out[at]) c = static_cast<char>((upper ? 'A' : 'a') + random.integer(0, 25));
  out[at] = c;
  return out;
}

std::string other_word(Random& random, const std::vector<std::string>& words, const std::string& word) {
  std::vector<std::string> others;
  for (const auto& w : words)
    if (!w.empty() && !word.empty() && w[0] != word[0]) others.push_back(w);
  return others.empty() ? word + "x" : random.pick(others);
}

}  // namespace visrl::reward::eval
