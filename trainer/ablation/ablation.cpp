#include "trainer/ablation/ablation.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/error.h"
#include "trainer/ablation/rank_stats.h"
#include "trainer/algorithms/registry.h"

namespace visrl::trainer {

namespace {

std::string where(const std::filesystem::path& file, const YAML::Node& node) {
  return fmt::format("{}:{}", file.string(), node.Mark().line + 1);
}

std::string scalar(const std::filesystem::path& file, const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(ErrorKind::config, "{}: {}: expected a single value", where(file, node), key);
  return node.Scalar();
}

double number(const std::filesystem::path& file, const YAML::Node& node, const std::string& key) {
  try {
    const double v = node.as<double>();
    if (std::isfinite(v)) return v;
  } catch (const YAML::Exception&) {
  }
  fail(ErrorKind::config, "{}: {}: expected a number", where(file, node), key);
}

void set_failure(FailureRewards& f, const std::string& key, const std::string& value, const std::string& at) {
  std::string* slot = key == "no_code"              ? &f.no_code
                      : key == "render_failure"     ? &f.render_failure
                      : key == "blank_image"        ? &f.blank_image
                      : key == "parse_failure"      ? &f.parse_failure
                      : key == "critic_unavailable" ? &f.critic_unavailable
                                                    : nullptr;
  if (!slot)
    fail(ErrorKind::config,
         "{}: on_failure.{}: unknown outcome (no_code, render_failure, blank_image, parse_failure, "
         "critic_unavailable)",
         at, key);
  *slot = value;
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

}  // namespace

std::vector<AblationFormula> load_ablation_formulas(const std::filesystem::path& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    fail(ErrorKind::io, "{}: cannot read the formulas file", path.string());
  } catch (const YAML::Exception& e) {
    fail(ErrorKind::config, "{}:{}: not valid YAML: {}", path.string(), e.mark.line + 1, e.msg);
  }
  if (!root.IsMap() || !root["formulas"] || !root["formulas"].IsSequence() || root["formulas"].size() == 0)
    fail(ErrorKind::config, "{}: expected a mapping with a non-empty list `formulas:`", path.string());
  AblationFormula defaults;
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key == "adv_estimator") {
      defaults.adv_estimator = parse_choice<AdvEstimator>(fmt::format("{}: adv_estimator", where(path, kv.second)),
                                                          scalar(path, kv.second, key));
    } else if (key == "adv_eps") {
      defaults.adv_eps = number(path, kv.second, key);
    } else if (key != "formulas") {
      fail(ErrorKind::config, "{}: unknown key `{}` (adv_estimator, adv_eps, formulas)", where(path, kv.first), key);
    }
  }
  std::vector<AblationFormula> formulas;
  for (const auto& item : root["formulas"]) {
    const std::string at = where(path, item);
    if (!item.IsMap()) fail(ErrorKind::config, "{}: each formula is a mapping with at least `formula:`", at);
    AblationFormula f = defaults;
    for (const auto& kv : item) {
      const std::string key = kv.first.Scalar();
      const std::string here = where(path, kv.second);
      if (key == "name") {
        f.spec.name = scalar(path, kv.second, key);
      } else if (key == "formula") {
        f.spec.formula = scalar(path, kv.second, key);
      } else if (key == "adv_estimator") {
        f.adv_estimator =
            parse_choice<AdvEstimator>(fmt::format("{}: adv_estimator", here), scalar(path, kv.second, key));
      } else if (key == "adv_eps") {
        f.adv_eps = number(path, kv.second, key);
      } else if (key == "on_failure") {
        if (!kv.second.IsMap()) fail(ErrorKind::config, "{}: on_failure: expected a mapping", here);
        for (const auto& o : kv.second)
          set_failure(f.spec.on_failure, o.first.Scalar(), scalar(path, o.second, "on_failure." + o.first.Scalar()),
                      here);
      } else if (key == "extra_terms") {
        if (!kv.second.IsMap()) fail(ErrorKind::config, "{}: extra_terms: expected a mapping", here);
        for (const auto& t : kv.second)
          f.spec.extra_terms[t.first.Scalar()] = number(path, t.second, "extra_terms." + t.first.Scalar());
      } else {
        fail(ErrorKind::config, "{}: unknown key `{}` (name, formula, on_failure, extra_terms, adv_estimator, adv_eps)",
             where(path, kv.first), key);
      }
    }
    if (f.spec.formula.empty()) fail(ErrorKind::config, "{}: formula: missing", at);
    try {
      reward::RewardFormula::compile(f.spec);  // report a bad formula with its place in the file
    } catch (const Error& e) {
      throw e.with_context(at);
    }
    formulas.push_back(std::move(f));
  }
  return formulas;
}

std::vector<AblationRow> run_ablation(const std::vector<reward::RolloutRecord>& records,
                                      std::vector<AblationFormula>& formulas) {
  // Batches (steps) and groups ((step, prompt_id)), in order of first appearance.
  std::map<int64_t, std::vector<size_t>> steps;
  std::map<std::pair<int64_t, std::string>, int64_t> group_of;
  std::vector<int64_t> group_ids(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    steps[records[i].step].push_back(i);
    auto key = std::make_pair(records[i].step, records[i].sample.group);
    auto it = group_of.try_emplace(key, static_cast<int64_t>(group_of.size())).first;
    group_ids[i] = it->second;
  }
  const int64_t num_groups = static_cast<int64_t>(group_of.size());
  std::vector<std::vector<size_t>> members(static_cast<size_t>(num_groups));
  for (size_t i = 0; i < records.size(); ++i) members[static_cast<size_t>(group_ids[i])].push_back(i);
  const at::Tensor groups = at::tensor(group_ids, at::kLong);
  std::vector<int64_t> response_lengths;
  for (const auto& r : records) response_lengths.push_back(r.sample.response_len);
  const at::Tensor lengths = at::tensor(response_lengths, at::kLong);

  std::vector<AblationRow> rows;
  for (auto& f : formulas) {
    AblationRow row;
    reward::RewardFormula formula = reward::RewardFormula::compile(f.spec);
    row.name = formula.name();
    row.expression = formula.expression();
    row.samples = static_cast<int64_t>(records.size());
    row.groups = num_groups;
    row.rewards.assign(records.size(), 0.0);
    for (const auto& [step, indices] : steps) {
      std::vector<reward::SampleOutcome> batch;
      for (size_t i : indices) batch.push_back(records[i].sample);
      auto rewards = formula.evaluate(batch);
      for (size_t k = 0; k < indices.size(); ++k) row.rewards[indices[k]] = rewards[k].reward;
    }
    at::Tensor adv =
        group_advantages(f.adv_estimator, at::tensor(row.rewards, at::kDouble), groups, lengths, f.adv_eps);
    row.advantages.assign(adv.data_ptr<double>(), adv.data_ptr<double>() + adv.numel());

    row.reward_mean = mean_of(row.rewards);
    double var = 0;
    for (double r : row.rewards) var += (r - row.reward_mean) * (r - row.reward_mean);
    row.reward_std = row.rewards.empty() ? 0.0 : std::sqrt(var / static_cast<double>(row.rewards.size()));
    int64_t flat = 0;
    for (const auto& m : members) {
      auto [lo, hi] =
          std::minmax_element(m.begin(), m.end(), [&](size_t a, size_t b) { return row.rewards[a] < row.rewards[b]; });
      if (row.rewards[*hi] - row.rewards[*lo] <= 1e-12) ++flat;
    }
    row.zero_variance_groups = num_groups ? static_cast<double>(flat) / static_cast<double>(num_groups) : 0.0;

    if (!rows.empty()) {
      const AblationRow& first = rows.front();
      row.tau_all = kendall_tau_b(first.rewards, row.rewards);
      std::vector<double> taus;
      for (const auto& m : members) {
        std::vector<double> a, b;
        for (size_t i : m) a.push_back(first.rewards[i]), b.push_back(row.rewards[i]);
        if (auto t = kendall_tau_b(a, b)) taus.push_back(*t);
      }
      if (!taus.empty()) row.tau_groups = mean_of(taus);
      int64_t flips = 0;
      for (size_t i = 0; i < records.size(); ++i) flips += first.advantages[i] * row.advantages[i] < 0;
      row.sign_flips = records.empty() ? 0.0 : static_cast<double>(flips) / static_cast<double>(records.size());
    } else {
      row.tau_all = records.size() >= 2 ? kendall_tau_b(row.rewards, row.rewards) : std::nullopt;
      row.tau_groups = 1.0;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string format_ablation_table(const std::vector<AblationRow>& rows) {
  auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : std::string("n/a"); };
  size_t width = 7;
  for (const auto& r : rows) width = std::max(width, r.name.size());
  std::string out =
      fmt::format("{:<{}}  {:>11}  {:>10}  {:>14}  {:>9}  {:>12}  {:>10}\n", "formula", width, "reward mean",
                  "reward std", "zero-var groups", "tau (all)", "tau (groups)", "sign flips");
  for (const auto& r : rows)
    out += fmt::format("{:<{}}  {:>11.4f}  {:>10.4f}  {:>14.1f}%  {:>9}  {:>12}  {:>9.1f}%\n", r.name, width,
                       r.reward_mean, r.reward_std, 100 * r.zero_variance_groups, opt(r.tau_all), opt(r.tau_groups),
                       100 * r.sign_flips);
  if (!rows.empty())
    out += fmt::format("{} samples in {} groups; tau and sign flips compare with the first formula ({})\n",
                       rows.front().samples, rows.front().groups, rows.front().name);
  return out;
}

nlohmann::json ablation_json(const std::vector<AblationRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const auto& r : rows)
    out.push_back({{"name", r.name},
                   {"expression", r.expression},
                   {"samples", r.samples},
                   {"groups", r.groups},
                   {"reward_mean", r.reward_mean},
                   {"reward_std", r.reward_std},
                   {"zero_variance_groups", r.zero_variance_groups},
                   {"tau_all", opt(r.tau_all)},
                   {"tau_groups", opt(r.tau_groups)},
                   {"sign_flips", r.sign_flips}});
  return out;
}

}  // namespace visrl::trainer
