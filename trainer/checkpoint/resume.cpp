#include "trainer/checkpoint/resume.h"

#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/run_dir.h"
#include "core/text_file.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::string describe(const LrSchedule& s) {
  return fmt::format("{} lr {} warmup {} total {} min_ratio {}", s.kind, s.lr, s.warmup_steps, s.total_steps,
                     s.min_lr_ratio);
}

}  // namespace

std::vector<std::string> resume_differences(const TrainerState& saved, const TrainerState& now,
                                            const std::string& saved_config_yaml, const std::string& config_yaml) {
  std::vector<std::string> out;
  if (saved.seed != now.seed) {
    out.push_back(
        fmt::format("seed {} -> {}: rollouts and data order follow other random streams", saved.seed, now.seed));
  }
  if (saved.num_items != now.num_items || saved.shuffle != now.shuffle) {
    out.push_back(fmt::format("training data {} items (shuffle {}) -> {} items (shuffle {}): the data order changes",
                              saved.num_items, saved.shuffle, now.num_items, now.shuffle));
  }
  const auto &a = saved.schedule, &b = now.schedule;
  if (a.kind != b.kind || a.lr != b.lr || a.warmup_steps != b.warmup_steps || a.total_steps != b.total_steps ||
      a.min_lr_ratio != b.min_lr_ratio) {
    out.push_back(fmt::format("LR schedule {} -> {}", describe(a), describe(b)));
  }
  if (saved.formula != now.formula) {
    out.push_back(fmt::format("reward formula {} -> {}", saved.formula.dump(), now.formula.dump()));
  }
  // Configuration lines present on one side only (YAML is emitted in a fixed key order).
  const auto old_lines = lines_of(saved_config_yaml), new_lines = lines_of(config_yaml);
  const std::multiset<std::string> old_set(old_lines.begin(), old_lines.end()),
      new_set(new_lines.begin(), new_lines.end());
  int shown = 0;
  for (const auto& line : new_lines) {
    if (old_set.count(line) > 0) continue;
    if (++shown > 12) break;
    out.push_back(fmt::format("config line now `{}`", line));
  }
  for (const auto& line : old_lines) {
    if (new_set.count(line) > 0 || shown > 12) continue;
    ++shown;
    out.push_back(fmt::format("config line was `{}`", line));
  }
  return out;
}

fs::path rewind_metrics(const fs::path& metrics, int64_t step) {
  std::error_code ec;
  if (!fs::exists(metrics, ec)) return {};
  const auto text = read_text_file(metrics, "metrics log");
  std::string kept, later;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    const bool whole = end != std::string::npos;
    if (!whole) end = text.size();
    const auto line = std::string_view(text).substr(start, end - start + (whole ? 1 : 0));
    const auto j = nlohmann::json::parse(line, nullptr, false);
    // Kept: whole lines of steps up to `step`. Moved out: later steps, and a line cut short
    // by a kill or that is not a step's object at all.
    const bool keep = whole && j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
                      j["step"].get<int64_t>() <= step;
    (keep ? kept : later) += line;
    if (!whole && !later.empty() && later.back() != '\n') later += '\n';
    start = end + 1;
  }
  if (later.empty()) return {};
  auto discarded =
      metrics.parent_path() / fmt::format("{}.discarded-{}.jsonl", metrics.stem().string(), RunDir::timestamp());
  for (int k = 2; fs::exists(discarded, ec); ++k) {
    discarded = metrics.parent_path() /
                fmt::format("{}.discarded-{}-{}.jsonl", metrics.stem().string(), RunDir::timestamp(), k);
  }
  write_file_atomically(discarded, later);  // first: a kill in between loses nothing
  write_file_atomically(metrics, kept);
  return discarded;
}

}  // namespace visrl::trainer
