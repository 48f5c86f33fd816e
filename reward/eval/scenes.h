// The three scene generators of the synthetic triples: each draws a random scene, corrupts
// copies of it and returns the sources with the injected errors. Internal to reward/eval.
#pragma once

#include <string>
#include <vector>

#include "reward/eval/random.h"
#include "reward/eval/synthetic.h"

namespace visrl::reward::eval {

struct SceneSources {
  std::string reference;
  std::string clean;  // equivalent code, formatted differently
  std::string light;
  std::string heavy;
  std::vector<InjectedError> light_errors;
  std::vector<InjectedError> heavy_errors;
};

SceneSources svg_triple(Random& random, const SyntheticOptions& options);
SceneSources chart_triple(Random& random, const SyntheticOptions& options);
SceneSources table_triple(Random& random);

// Shared vocabulary: saturated mark colours (pairwise far apart) and short words.
const std::vector<std::string>& mark_colours();
const std::vector<std::string>& nouns();
// Another mark colour at least `min_distance` (largest channel difference) from `colour`.
std::string distant_colour(Random& random, const std::string& colour, int min_distance = 100);
// `colour` mixed with white (or black when it is light) by `amount` in [0, 1].
std::string shade(const std::string& colour, double amount);
// `word` with one letter replaced by a different letter.
std::string typo(Random& random, const std::string& word);
// A word of the list other than `word`, starting with a different letter.
std::string other_word(Random& random, const std::vector<std::string>& words, const std::string& word);

}  // namespace visrl::reward::eval
