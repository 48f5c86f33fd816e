#include "trainer/datagen/vocabulary.h"

#include <cmath>

#include <fmt/format.h>

namespace visrl::trainer::datagen {
namespace {

const std::vector<std::string> kWords = {
    "Revenue", "Growth", "Sales",  "Profit",  "Users",  "Energy", "Output",  "Traffic", "Budget",   "Share",
    "Cost",    "Demand", "Supply", "Index",   "Rate",   "Volume", "Score",   "Yield",   "Margin",   "Orders",
    "Alpha",   "Beta",   "Gamma",  "Delta",   "North",  "South",  "East",    "West",    "Annual",   "Monthly",
    "Weekly",  "Total",  "Market", "Product", "Region", "Team",   "Project", "Survey",  "Rainfall", "Exports"};

const std::vector<std::vector<std::string>> kCategoryFamilies = {
    {"Q1", "Q2", "Q3", "Q4"},
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
    {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
    {"2018", "2019", "2020", "2021", "2022", "2023", "2024", "2025"},
    {"Apple", "Banana", "Cherry", "Grape", "Lemon", "Mango", "Peach", "Plum"},
    {"North", "South", "East", "West", "Central"},
    {"Team A", "Team B", "Team C", "Team D", "Team E", "Team F"},
    {"Oslo", "Paris", "Rome", "Lima", "Cairo", "Tokyo", "Delhi", "Quito"},
};

// Readable on white, distinct from each other (Tableau 10 plus a few).
const std::vector<std::string> kPalette = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#003f5c", "#ffa600"};

}  // namespace

std::string random_word(Random& rng) {
  return rng.pick(kWords);
}

std::string random_title(Random& rng) {
  const auto n = rng.integer(2, 4);
  std::string title;
  for (int64_t i = 0; i < n; ++i) title += fmt::format("{}{}", i ? " " : "", random_word(rng));
  return title;
}

std::vector<std::string> random_categories(Random& rng, int64_t n) {
  std::vector<const std::vector<std::string>*> fits;
  for (const auto& family : kCategoryFamilies) {
    if (static_cast<int64_t>(family.size()) >= n) fits.push_back(&family);
  }
  const auto& family = *fits[static_cast<size_t>(rng.integer(0, static_cast<int>(fits.size()) - 1))];
  // A contiguous run keeps ordered families (months, years) in order.
  const auto start = rng.integer(0, static_cast<int>(static_cast<int64_t>(family.size()) - n));
  return {family.begin() + start, family.begin() + start + n};
}

std::string random_colour(Random& rng) {
  return rng.pick(kPalette);
}

std::vector<std::string> distinct_colours(Random& rng, int64_t n) {
  auto colours = kPalette;
  rng.shuffle(colours);
  colours.resize(static_cast<size_t>(std::min<int64_t>(n, static_cast<int64_t>(colours.size()))));
  return colours;
}

std::string format_number(double value, int decimals) {
  return decimals == 0 ? fmt::format("{}", static_cast<int64_t>(std::llround(value))) : fmt::format("{:.1f}", value);
}

std::string python_string(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace visrl::trainer::datagen
