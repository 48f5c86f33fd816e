#include "reward/eval/error_matcher.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <tuple>

namespace visrl::reward::eval {
namespace {

const std::set<std::string, std::less<>>& stop_words() {
  static const std::set<std::string, std::less<>> words = {
      "a",    "an",   "the", "of",  "is",    "are",   "was",  "be",    "in",   "on",   "at",      "by",
      "to",   "for",  "and", "or",  "with",  "has",   "have", "its",   "it",   "this", "that",    "as",
      "from", "than", "but", "not", "where", "which", "vs",   "there", "into", "now",  "instead", "while"};
  return words;
}

std::string fold_spelling(std::string word) {
  if (word == "colour" || word == "colours" || word == "coloured") return "color" + word.substr(6);
  if (word == "centre") return "center";
  if (word == "grey") return "gray";
  return word;
}

bool word_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '#' || c == '%' ||
         static_cast<unsigned char>(c) >= 0x80;  // UTF-8 bytes of non-ASCII letters
}

}  // namespace

std::string_view to_string(MatchLevel level) {
  return level == MatchLevel::yes ? "yes" : "partial";
}

std::vector<std::string> content_words(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    // A '.' only joins digits (1.5); trailing punctuation goes.
    while (!word.empty() && word.back() == '.') word.pop_back();
    if (!word.empty() && !stop_words().count(word)) {
      word = fold_spelling(std::move(word));
      if (std::find(out.begin(), out.end(), word) == out.end()) out.push_back(word);
    }
    word.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool decimal_point = c == '.' && !word.empty() && std::isdigit(static_cast<unsigned char>(word.back())) &&
                               i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]));
    if (word_char(c) || decimal_point) {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

double text_similarity(std::string_view a, std::string_view b) {
  const auto wa = content_words(a), wb = content_words(b);
  if (wa.empty() || wb.empty()) return 0.0;
  size_t common = 0;
  for (const auto& w : wa) common += std::find(wb.begin(), wb.end(), w) != wb.end();
  return 2.0 * static_cast<double>(common) / static_cast<double>(wa.size() + wb.size());
}

double error_similarity(const CriticError& predicted, const HumanError& human, const MatcherOptions& options) {
  const double description = text_similarity(predicted.description, human.description);
  if (predicted.location.empty() || human.location.empty()) return description;
  const double w = options.location_weight;
  return (1.0 - w) * description + w * text_similarity(predicted.location, human.location);
}

std::string normalize_type(std::string_view type) {
  std::string out;
  for (char c : type) {
    if (c == ' ' || c == '-') {
      out += '_';
    } else {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::vector<ErrorMatch> builtin_match(const std::vector<CriticError>& predicted, const std::vector<HumanError>& human,
                                      const MatcherOptions& options) {
  std::vector<ErrorMatch> candidates;
  for (size_t p = 0; p < predicted.size(); ++p) {
    const std::string type = normalize_type(predicted[p].category);
    for (size_t h = 0; h < human.size(); ++h) {
      if (normalize_type(human[h].type) != type) continue;
      const double s = error_similarity(predicted[p], human[h], options);
      if (s < options.partial_threshold) continue;
      candidates.push_back({p, h, s >= options.yes_threshold ? MatchLevel::yes : MatchLevel::partial, s});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const ErrorMatch& a, const ErrorMatch& b) {
    return std::make_tuple(-a.score, a.predicted, a.human) < std::make_tuple(-b.score, b.predicted, b.human);
  });
  std::vector<bool> used_p(predicted.size()), used_h(human.size());
  std::vector<ErrorMatch> out;
  for (const auto& c : candidates) {
    if (used_p[c.predicted] || used_h[c.human]) continue;
    used_p[c.predicted] = used_h[c.human] = true;
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(), [](const ErrorMatch& a, const ErrorMatch& b) { return a.predicted < b.predicted; });
  return out;
}

}  // namespace visrl::reward::eval
