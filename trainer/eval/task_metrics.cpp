#include "trainer/eval/task_metrics.h"

#include <fmt/format.h>

#include "reward/metrics/chart_code.h"
#include "reward/metrics/edit_distance.h"
#include "reward/metrics/teds.h"

namespace visrl::trainer {
namespace {

// The metrics of the printed table, in column order.
constexpr const char* kColumns[] = {"reward_mean", "severity_mean", "ssim",       "mse",          "teds",
                                    "teds_s",      "edit_distance", "type_match", "series_match", "color_match"};

}  // namespace

TaskScores task_scores(const reward::RolloutRecord& record) {
  const auto& s = record.sample;
  TaskScores out;
  out.rendered = s.render_status == render::RenderStatus::ok;
  out.ssim = out.rendered ? s.ssim.value_or(0.0) : 0.0;
  if (s.task == render::RenderKind::svg) out.mse = out.rendered ? record.mse.value_or(1.0) : 1.0;
  if (s.task == render::RenderKind::table && s.reference_code) {
    const std::string answer = s.answer_code.value_or("");
    const auto t = reward::teds(answer, *s.reference_code);
    out.teds = t.teds;
    out.teds_s = t.teds_s;
    out.edit_distance = reward::normalized_edit_distance(answer, *s.reference_code);
  }
  if (s.task == render::RenderKind::chart && s.reference_code) {
    // An answer that did not render draws nothing: no kind, no series, no colour.
    const auto m = reward::match_charts(reward::summarize_chart_code(out.rendered ? s.answer_code.value_or("") : ""),
                                        reward::summarize_chart_code(*s.reference_code));
    out.type_match = m.type_match ? 1.0 : 0.0;
    out.series_match = m.series_match ? 1.0 : 0.0;
    out.color_match = m.color_match;
  }
  if (s.critic_status == reward::CriticStatus::scored) out.severity = reward::severity_sum(s.errors);
  out.reward = record.reward;
  return out;
}

nlohmann::json to_json(const TaskScores& s) {
  nlohmann::json j = {{"rendered", s.rendered}, {"ssim", s.ssim}};
  if (s.mse) j["mse"] = *s.mse;
  if (s.teds) j["teds"] = *s.teds;
  if (s.teds_s) j["teds_s"] = *s.teds_s;
  if (s.edit_distance) j["edit_distance"] = *s.edit_distance;
  if (s.type_match) j["type_match"] = *s.type_match;
  if (s.series_match) j["series_match"] = *s.series_match;
  if (s.color_match) j["color_match"] = *s.color_match;
  if (s.severity) j["severity"] = *s.severity;
  if (s.reward) j["reward"] = *s.reward;
  return j;
}

void TaskMetricsSummary::Means::add(const TaskScores& s) {
  ++items;
  rendered += s.rendered;
  auto put = [&](const char* key, std::optional<double> v) {
    if (!v) return;
    auto& [sum, n] = sums[key];
    sum += *v;
    ++n;
  };
  put("ssim", s.ssim);
  put("mse", s.mse);
  put("teds", s.teds);
  put("teds_s", s.teds_s);
  put("edit_distance", s.edit_distance);
  put("type_match", s.type_match);
  put("series_match", s.series_match);
  put("color_match", s.color_match);
  put("severity_mean", s.severity ? std::optional<double>(*s.severity) : std::nullopt);
  put("reward_mean", s.reward);
}

nlohmann::json TaskMetricsSummary::Means::to_json() const {
  nlohmann::json j = {{"items", items},
                      {"render_ok_rate", items > 0 ? static_cast<double>(rendered) / static_cast<double>(items) : 0.0}};
  for (const auto& [key, v] : sums) {
    j[key] = v.first / static_cast<double>(v.second);
    if (v.second != items) j[key + "_items"] = v.second;
  }
  return j;
}

void TaskMetricsSummary::add(render::RenderKind task, const TaskScores& scores) {
  tasks_[std::string(render::to_string(task))].add(scores);
  all_.add(scores);
}

nlohmann::json TaskMetricsSummary::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [task, means] : tasks_) j[task] = means.to_json();
  j["all"] = all_.to_json();
  return j;
}

nlohmann::json TaskMetricsSummary::flat() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [task, means] : tasks_) {
    const auto per_task = means.to_json();
    for (const auto& [key, value] : per_task.items()) j[task + "/" + key] = value;
  }
  const auto pooled = all_.to_json();
  for (const auto& [key, value] : pooled.items()) {
    // items, render_ok_rate, reward_mean and ssim (as ssim_mean) are validation's own keys.
    if (key != "items" && key != "render_ok_rate" && key != "reward_mean" && key != "ssim") j[key] = value;
  }
  return j;
}

std::vector<std::string> TaskMetricsSummary::table() const {
  std::string header = fmt::format("{:<6} {:>6} {:>7}", "task", "items", "render");
  for (const char* c : kColumns) header += fmt::format(" {:>13}", c);
  std::vector<std::string> lines = {header};
  auto row = [&](const std::string& name, const Means& m) {
    const auto j = m.to_json();
    std::string line = fmt::format("{:<6} {:>6} {:>7.3f}", name, m.items, j["render_ok_rate"].get<double>());
    for (const char* c : kColumns)
      line += j.contains(c) ? fmt::format(" {:>13.4f}", j[c].get<double>()) : fmt::format(" {:>13}", "-");
    lines.push_back(line);
  };
  for (const auto& [task, means] : tasks_) row(task, means);
  if (tasks_.size() != 1) row("all", all_);
  return lines;
}

}  // namespace visrl::trainer
