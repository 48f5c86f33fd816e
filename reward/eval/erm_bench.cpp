#include "reward/eval/erm_bench.h"

#include <fstream>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "reward/eval/critic_eval.h"
#include "reward/parser/critic_parser.h"

namespace visrl::reward::eval {
namespace {

namespace fs = std::filesystem;

double ratio(double num, int64_t den) {
  return den > 0 ? num / static_cast<double>(den) : 0.0;
}

const nlohmann::json& key(const nlohmann::json& j, const char* name, const std::string& where) {
  const auto it = j.find(name);
  if (it == j.end()) fail(ErrorKind::format, "{}: missing key \"{}\"", where, name);
  return *it;
}

std::string string_key(const nlohmann::json& j, const char* name, const std::string& where) {
  const auto& v = key(j, name, where);
  if (!v.is_string()) fail(ErrorKind::format, "{}: \"{}\" must be a string, got {}", where, name, v.dump());
  return v.get<std::string>();
}

int severity_key(const nlohmann::json& e, const std::string& where) {
  const auto& v = key(e, "severity", where);
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 3)
    fail(ErrorKind::format, "{}: \"severity\" must be 1, 2 or 3, got {}", where, v.dump());
  return v.get<int>();
}

std::string optional_string(const nlohmann::json& e, const char* name) {
  const auto it = e.find(name);
  return it != e.end() && it->is_string() ? it->get<std::string>() : "";
}

template <typename F>
void for_each_line(const fs::path& path, const char* what, F&& per_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, "{}: cannot read the {}", path.string(), what);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("{}:{}", path.string(), number);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      fail(ErrorKind::format, "{}: not JSON: {}", where, e.what());
    }
    if (!j.is_object()) fail(ErrorKind::format, "{}: expected a JSON object", where);
    per_line(j, where);
  }
}

}  // namespace

std::vector<BenchItem> load_bench(const fs::path& path) {
  std::vector<BenchItem> items;
  std::set<std::string> ids;
  const fs::path base = path.parent_path();
  for_each_line(path, "VC-RewardBench file", [&](const nlohmann::json& j, const std::string& where) {
    BenchItem item;
    item.where = where;
    item.id = j.contains("id") ? string_key(j, "id", where) : where;
    if (!ids.insert(item.id).second) fail(ErrorKind::format, "{}: duplicate id \"{}\"", where, item.id);
    const std::string category = string_key(j, "category", where);
    const auto task = render::parse_render_kind(category);
    if (!task) fail(ErrorKind::format, "{}: \"category\" must be chart, table or svg, got \"{}\"", where, category);
    item.category = *task;
    for (const char* name : {"gt_img_path", "pred_img_path"}) {
      const fs::path p = string_key(j, name, where);
      (name[0] == 'g' ? item.gt_image : item.pred_image) = p.is_absolute() ? p : base / p;
    }
    const auto& errors = key(j, "human_errors", where);
    if (!errors.is_array()) fail(ErrorKind::format, "{}: \"human_errors\" must be a list", where);
    for (size_t k = 0; k < errors.size(); ++k) {
      const std::string at = fmt::format("{}: human_errors[{}]", where, k);
      const auto& e = errors[k];
      if (!e.is_object()) fail(ErrorKind::format, "{}: expected an object", at);
      HumanError h;
      h.type = normalize_type(string_key(e, "type", at));
      if (!is_category(item.category, h.type))
        fail(ErrorKind::format, "{}: \"{}\" is not an error type of {} items", at, h.type, category);
      h.severity = severity_key(e, at);
      h.description = optional_string(e, "description");
      h.location = optional_string(e, "location");
      item.human.push_back(std::move(h));
    }
    items.push_back(std::move(item));
  });
  if (items.empty()) fail(ErrorKind::format, "{}: no items", path.string());
  return items;
}

double MatchCounts::f1_hard() const {
  return ratio(2.0 * static_cast<double>(yes), predicted + human);
}

double MatchCounts::f1_soft() const {
  return ratio(2.0 * (static_cast<double>(yes) + 0.5 * static_cast<double>(partial)), predicted + human);
}

double MatchCounts::precision_hard() const {
  return ratio(static_cast<double>(yes), predicted);
}

double MatchCounts::recall_hard() const {
  return ratio(static_cast<double>(yes), human);
}

void MatchCounts::add(const MatchCounts& o) {
  yes += o.yes;
  partial += o.partial;
  predicted += o.predicted;
  human += o.human;
}

ItemScore score_item(const std::vector<CriticError>& predicted, const std::vector<HumanError>& human,
                     const std::vector<ErrorMatch>& matches) {
  ItemScore s;
  for (const auto& e : predicted) {
    ++s.per_type[normalize_type(e.category)].predicted;
    s.predicted_severity += e.severity;
  }
  for (const auto& e : human) {
    ++s.per_type[e.type].human;
    s.human_severity += e.severity;
  }
  for (const auto& m : matches) {
    auto& c = s.per_type[human.at(m.human).type];
    ++(m.level == MatchLevel::yes ? c.yes : c.partial);
  }
  for (const auto& [type, c] : s.per_type) s.counts.add(c);
  return s;
}

void BenchSummary::add(Task category, const ItemScore& score, bool scored) {
  const std::string name(render::to_string(category));
  for (Group* g : {&categories_[name], &pooled_}) {
    ++g->items;
    g->unscored += !scored;
    g->counts.add(score.counts);
    g->predicted_severity.push_back(score.predicted_severity);
    g->human_severity.push_back(score.human_severity);
  }
  for (const auto& [type, c] : score.per_type) types_[name + "/" + type].add(c);
}

namespace {

nlohmann::json counts_json(const MatchCounts& c) {
  return {{"f1_hard", c.f1_hard()},         {"f1_soft", c.f1_soft()}, {"precision_hard", c.precision_hard()},
          {"recall_hard", c.recall_hard()}, {"yes", c.yes},           {"partial", c.partial},
          {"predicted", c.predicted},       {"human", c.human}};
}

}  // namespace

nlohmann::json BenchSummary::Group::to_json() const {
  auto j = counts_json(counts);
  j["items"] = items;
  j["unscored"] = unscored;
  const auto sc = pearson(predicted_severity, human_severity);
  j["sc"] = sc ? nlohmann::json(*sc) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json BenchSummary::to_json() const {
  nlohmann::json j = {
      {"pooled", pooled_.to_json()}, {"categories", nlohmann::json::object()}, {"types", nlohmann::json::object()}};
  for (const auto& [name, g] : categories_) j["categories"][name] = g.to_json();
  for (const auto& [name, c] : types_) j["types"][name] = counts_json(c);
  return j;
}

std::vector<std::string> BenchSummary::table() const {
  auto pct = [](double v) { return fmt::format("{:.1f}", 100.0 * v); };
  auto row = [&](const std::string& name, const Group& g) {
    const auto sc = pearson(g.predicted_severity, g.human_severity);
    return fmt::format("{:<8} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}", name, g.items, g.unscored,
                       pct(g.counts.f1_hard()), pct(g.counts.f1_soft()), sc ? pct(*sc) : std::string("n/a"),
                       g.counts.yes, g.counts.partial, g.counts.predicted, g.counts.human);
  };
  std::vector<std::string> lines = {fmt::format("{:<8} {:>6} {:>8} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}",
                                                "category", "items", "unscored", "F1h", "F1s", "Sc", "yes", "part.",
                                                "pred.", "human")};
  for (const auto& [name, g] : categories_) lines.push_back(row(name, g));
  lines.push_back(row("pooled", pooled_));
  lines.emplace_back("");
  lines.push_back(fmt::format("{:<26} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}", "type", "F1h", "F1s", "yes", "part.",
                              "pred.", "human"));
  for (const auto& [name, c] : types_)
    lines.push_back(fmt::format("{:<26} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}", name, pct(c.f1_hard()), pct(c.f1_soft()),
                                c.yes, c.partial, c.predicted, c.human));
  return lines;
}

std::map<std::string, CriticVerdict> load_predictions(const fs::path& path, const std::vector<BenchItem>& items) {
  std::map<std::string, Task> tasks;
  for (const auto& item : items) tasks[item.id] = item.category;
  std::map<std::string, CriticVerdict> out;
  for_each_line(path, "predictions", [&](const nlohmann::json& j, const std::string& where) {
    const std::string id = string_key(j, "id", where);
    const auto task = tasks.find(id);
    if (task == tasks.end()) return;  // a prediction for another data set's item
    CriticVerdict v;
    if (j.contains("raw")) {
      auto parsed = parse_critic_output(task->second, string_key(j, "raw", where));
      v.scored = parsed.report.status != ParseStatus::failed;
      v.errors = std::move(parsed.errors);
      v.message = parsed.report.message;
    } else {
      const auto& scored = key(j, "scored", where);
      if (!scored.is_boolean()) fail(ErrorKind::format, "{}: \"scored\" must be true or false", where);
      v.scored = scored.get<bool>();
      v.message = optional_string(j, "message");
      const auto& errors = key(j, "errors", where);
      if (!errors.is_array()) fail(ErrorKind::format, "{}: \"errors\" must be a list", where);
      for (size_t k = 0; k < errors.size(); ++k) {
        const std::string at = fmt::format("{}: errors[{}]", where, k);
        const auto& e = errors[k];
        if (!e.is_object()) fail(ErrorKind::format, "{}: expected an object", at);
        CriticError c;
        c.category = normalize_type(string_key(e, "category", at));
        c.severity = severity_key(e, at);
        c.location = optional_string(e, "location");
        c.description = optional_string(e, "description");
        v.errors.push_back(std::move(c));
      }
    }
    out[id] = std::move(v);
  });
  for (const auto& item : items) {
    if (!out.count(item.id))
      fail(ErrorKind::format, "{}: no prediction for item \"{}\" ({})", path.string(), item.id, item.where);
  }
  return out;
}

}  // namespace visrl::reward::eval
