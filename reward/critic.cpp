#include "reward/critic.h"

#include <algorithm>
#include <set>

namespace visrl::reward {

const std::vector<std::string>& task_categories(Task task) {
  static const std::vector<std::string> chart = {"structure_error", "data_error", "text_error", "style_error"};
  static const std::vector<std::string> table = {"layout_error", "text_error", "numeric_error"};
  static const std::vector<std::string> svg = {"structure_error", "shape_error", "style_error", "text_symbol_error",
                                               "other_error"};
  switch (task) {
    case Task::chart:
      return chart;
    case Task::table:
      return table;
    case Task::svg:
      return svg;
  }
  return chart;
}

bool is_category(Task task, std::string_view category) {
  const auto& cats = task_categories(task);
  return std::find(cats.begin(), cats.end(), category) != cats.end();
}

const std::vector<std::string>& all_categories() {
  static const std::vector<std::string> all = [] {
    std::set<std::string> names;
    for (Task t : {Task::chart, Task::table, Task::svg})
      for (const auto& c : task_categories(t)) names.insert(c);
    return std::vector<std::string>(names.begin(), names.end());
  }();
  return all;
}

std::string_view to_string(ParseStatus status) {
  switch (status) {
    case ParseStatus::ok:
      return "ok";
    case ParseStatus::repaired:
      return "repaired";
    case ParseStatus::failed:
      return "failed";
  }
  return "failed";
}

std::string_view to_string(CriticStatus status) {
  switch (status) {
    case CriticStatus::scored:
      return "scored";
    case CriticStatus::parse_failure:
      return "parse_failure";
    case CriticStatus::unavailable:
      return "unavailable";
    case CriticStatus::not_scored:
      return "not_scored";
  }
  return "not_scored";
}

std::optional<ParseStatus> parse_parse_status(std::string_view name) {
  for (ParseStatus s : {ParseStatus::ok, ParseStatus::repaired, ParseStatus::failed})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

std::optional<CriticStatus> parse_critic_status(std::string_view name) {
  for (CriticStatus s :
       {CriticStatus::scored, CriticStatus::parse_failure, CriticStatus::unavailable, CriticStatus::not_scored})
    if (to_string(s) == name) return s;
  return std::nullopt;
}

int severity_sum(const std::vector<CriticError>& errors) {
  int s = 0;
  for (const auto& e : errors) s += e.severity;
  return s;
}

}  // namespace visrl::reward
