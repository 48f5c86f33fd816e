#include "reward/formula/reward_formula.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include <fmt/format.h>
#include <muParser.h>

#include "core/error.h"
#include "reward/metrics/edit_distance.h"
#include "reward/metrics/ssim.h"
#include "reward/metrics/teds.h"

namespace visrl::reward {

namespace {

const std::vector<std::string> kTermNames = {"code_similarity", "teds", "teds_s", "ssim"};

double clip3(double x, double lo, double hi) {
  return std::min(std::max(x, lo), hi);
}

// muparser's message without its final period, with the position when it does not give one.
std::string parser_message(const mu::Parser::exception_type& e) {
  std::string msg = e.GetMsg();
  while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
  if (msg.find("position") == std::string::npos && e.GetPos() >= 0) msg += fmt::format(" at position {}", e.GetPos());
  return msg;
}

bool is_term(const std::string& name) {
  return std::find(kTermNames.begin(), kTermNames.end(), name) != kTermNames.end();
}

// Scored-sample statistics of S over a set of samples (a task's share of the batch, a group).
struct SStats {
  double max = 0, sum = 0, min = 0;
  int64_t count = 0;

  void add(double s) {
    max = count ? std::max(max, s) : s;
    min = count ? std::min(min, s) : s;
    sum += s;
    ++count;
  }
  double mean() const { return count ? sum / static_cast<double>(count) : 0.0; }
};

FailureReward resolve_failure_reward(const std::string& configured, const FailureReward& preset, std::string_view key) {
  if (configured.empty()) return preset;
  auto parsed = parse_failure_reward(configured);
  if (!parsed)
    fail(ErrorKind::config, "reward.on_failure.{}: expected a number, batch_mean or formula, got \"{}\"", key,
         configured);
  return *parsed;
}

}  // namespace

const std::vector<FormulaVariable>& formula_variables() {
  static const std::vector<FormulaVariable> vars = [] {
    std::vector<FormulaVariable> v = {
        {"S", "sum of the severities of the critic's errors"},
        {"n_errors", "number of errors"},
        {"n_sev1", "errors of severity 1"},
        {"n_sev2", "errors of severity 2"},
        {"n_sev3", "errors of severity 3"},
        {"render_ok", "1 when the answer rendered to a non-blank image, else 0"},
        {"code_found", "1 when code of the task's kind was found in the answer"},
        {"parse_ok", "1 when the critic's output was parsed (possibly after repairs)"},
        {"blank", "1 when the render is blank (one colour)"},
        {"response_len", "answer length in tokens"},
        {"max_len", "longest answer allowed in tokens"},
        {"batch_max_S", "largest S among the batch's scored samples of the same task"},
        {"batch_mean_S", "mean S of the batch's scored samples of the same task"},
        {"group_mean_S", "mean S of the scored samples of the same prompt group"},
        {"group_max_S", "largest S in the prompt group"},
        {"group_min_S", "smallest S in the prompt group"},
    };
    for (const auto& c : all_categories()) v.push_back({"S_" + c, "sum of the severities of " + c + " errors"});
    return v;
  }();
  return vars;
}

const std::vector<FormulaVariable>& formula_terms() {
  static const std::vector<FormulaVariable> terms = {
      {"code_similarity", "1 - normalised edit distance between the answer's code and the ground-truth code"},
      {"teds", "TEDS of the answer's table against the ground-truth table (tables; 0 for other tasks)"},
      {"teds_s", "TEDS-S (structure only) of the answer's table (tables; 0 for other tasks)"},
      {"ssim", "SSIM of the render against the reference image (0 without a render)"},
  };
  return terms;
}

FormulaSpec FormulaSpec::from_config(const RewardConfig& reward) {
  FormulaSpec spec;
  spec.name = reward.formula;
  spec.formula = reward.formula;
  spec.on_failure = reward.on_failure;
  spec.extra_terms = reward.extra_terms;
  return spec;
}

struct RewardFormula::Impl {
  std::string name;
  std::string expression;
  FailureRewardSet failure;
  std::map<std::string, double> extra_terms;
  // Variable storage: std::map nodes never move, so muparser may keep pointers into it.
  std::map<std::string, double> values;
  std::set<std::string> used;  // variables and terms the expression reads
  mu::Parser parser;

  const FailureReward& failure_for(Outcome o) const {
    switch (o) {
      case Outcome::no_code:
        return failure.no_code;
      case Outcome::render_failure:
        return failure.render_failure;
      case Outcome::blank_image:
        return failure.blank_image;
      case Outcome::critic_unavailable:
        return failure.critic_unavailable;
      case Outcome::parse_failure:
        return failure.parse_failure;
      case Outcome::scored:
        break;
    }
    return failure.no_code;  // unreachable: scored samples use the expression
  }

  bool needs(const std::string& term) const { return used.count(term) || extra_terms.count(term); }
};

RewardFormula::RewardFormula(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RewardFormula::RewardFormula(RewardFormula&&) noexcept = default;
RewardFormula& RewardFormula::operator=(RewardFormula&&) noexcept = default;
RewardFormula::~RewardFormula() = default;

const std::string& RewardFormula::name() const {
  return impl_->name;
}
const std::string& RewardFormula::expression() const {
  return impl_->expression;
}
const FailureRewardSet& RewardFormula::failure_rewards() const {
  return impl_->failure;
}

RewardFormula RewardFormula::compile(const FormulaSpec& spec) {
  auto impl = std::make_unique<Impl>();
  impl->name = spec.name.empty() ? spec.formula : spec.name;
  FailureRewardSet base = default_failure_rewards();
  if (const FormulaPreset* preset = find_preset(spec.formula)) {
    impl->expression = preset->expression;
    base = preset->on_failure;
  } else {
    impl->expression = spec.formula;
  }
  if (impl->expression.find_first_not_of(" \t\r\n") == std::string::npos)
    fail(ErrorKind::config, "reward formula \"{}\": empty expression", impl->name);
  const FailureRewards& c = spec.on_failure;
  impl->failure = {resolve_failure_reward(c.no_code, base.no_code, "no_code"),
                   resolve_failure_reward(c.render_failure, base.render_failure, "render_failure"),
                   resolve_failure_reward(c.blank_image, base.blank_image, "blank_image"),
                   resolve_failure_reward(c.parse_failure, base.parse_failure, "parse_failure"),
                   resolve_failure_reward(c.critic_unavailable, base.critic_unavailable, "critic_unavailable")};
  for (const auto& [term, weight] : spec.extra_terms) {
    if (!is_term(term))
      fail(ErrorKind::config, "reward formula \"{}\": unknown extra term \"{}\" (known: {})", impl->name, term,
           fmt::join(kTermNames, ", "));
    if (!std::isfinite(weight))
      fail(ErrorKind::config, "reward formula \"{}\": extra term {} has a weight that is not finite", impl->name, term);
  }
  impl->extra_terms = spec.extra_terms;

  for (const auto& v : formula_variables()) impl->values[v.name] = 0.0;
  for (const auto& t : kTermNames) impl->values[t] = 0.0;
  try {
    for (auto& [name, value] : impl->values) impl->parser.DefineVar(name, &value);
    impl->parser.DefineFun("clip", clip3);
    impl->parser.SetExpr(impl->expression);
    impl->parser.Eval();  // parses now: unknown names and syntax errors throw here, not mid-run
    for (const auto& [name, ptr] : impl->parser.GetUsedVar()) impl->used.insert(name);
  } catch (const mu::Parser::exception_type& e) {
    std::vector<std::string> names;
    for (const auto& v : formula_variables()) names.push_back(v.name);
    for (const auto& t : kTermNames) names.push_back(t);
    fail(ErrorKind::config,
         "reward formula \"{}\": {}. Presets: paper, paper_no_rsr, released_chart_svg, released_table; "
         "variables: {}; functions: clip(x, lo, hi), min, max, abs, sqrt, exp, log, and a ? b : c",
         impl->name, parser_message(e), fmt::join(names, ", "));
  }
  return RewardFormula(std::move(impl));
}

std::vector<SampleReward> RewardFormula::evaluate(const std::vector<SampleOutcome>& batch) {
  Impl& m = *impl_;
  const size_t n = batch.size();
  std::vector<SampleReward> out(n);
  std::vector<double> s_value(n, 0.0);

  // Statistics of S over the scored samples, per task and per group.
  std::unordered_map<int, SStats> task_stats;
  std::unordered_map<std::string, SStats> group_stats;
  for (size_t i = 0; i < n; ++i) {
    out[i].outcome = classify(batch[i]);
    if (out[i].outcome != Outcome::scored) continue;
    s_value[i] = severity_sum(batch[i].errors);
    task_stats[static_cast<int>(batch[i].task)].add(s_value[i]);
    group_stats[batch[i].group].add(s_value[i]);
  }

  auto evaluate_expression = [&](size_t i) {
    const SampleOutcome& s = batch[i];
    SampleReward& r = out[i];
    const bool scored = r.outcome == Outcome::scored;
    std::map<std::string, double> local;
    local["S"] = s_value[i];
    local["n_errors"] = 0;
    local["n_sev1"] = local["n_sev2"] = local["n_sev3"] = 0;
    for (const auto& c : all_categories()) local["S_" + c] = 0;
    if (scored) {
      local["n_errors"] = static_cast<double>(s.errors.size());
      for (const auto& e : s.errors) {
        if (e.severity >= 1 && e.severity <= 3) local[fmt::format("n_sev{}", e.severity)] += 1;
        local["S_" + e.category] += e.severity;
      }
    }
    local["render_ok"] = s.render_status == render::RenderStatus::ok;
    local["code_found"] = s.render_status != render::RenderStatus::no_code;
    local["parse_ok"] = scored;
    local["blank"] = s.render_status == render::RenderStatus::blank_image;
    local["response_len"] = static_cast<double>(s.response_len);
    local["max_len"] = static_cast<double>(s.max_len);
    const SStats& ts = task_stats[static_cast<int>(s.task)];
    const SStats& gs = group_stats[s.group];
    local["batch_max_S"] = ts.max;
    local["batch_mean_S"] = ts.mean();
    local["group_mean_S"] = gs.mean();
    local["group_max_S"] = gs.max;
    local["group_min_S"] = gs.min;

    // Extra terms, computed only when the formula uses them.
    auto need_code = [&](const char* term) {
      if (!s.reference_code)
        fail(ErrorKind::runtime, "sample {}: term {} needs the prompt's ground-truth code, which this sample lacks",
             s.id, term);
    };
    if (m.needs("code_similarity")) {
      need_code("code_similarity");
      local["code_similarity"] = edit_similarity(s.answer_code.value_or(""), *s.reference_code);
    }
    if (m.needs("teds") || m.needs("teds_s")) {
      need_code("teds");
      TedsScore t;
      if (s.task == Task::table) t = teds(s.answer_code.value_or(""), *s.reference_code);
      local["teds"] = t.teds;
      local["teds_s"] = t.teds_s;
    }
    if (m.needs("ssim")) {
      double v = 0.0;
      if (s.ssim) {
        v = *s.ssim;
      } else if (s.rendered_image && s.reference_image) {
        v = ssim(*s.rendered_image, *s.reference_image);
      } else if (s.render_status == render::RenderStatus::ok) {
        fail(ErrorKind::runtime, "sample {}: term ssim needs the images or a logged ssim value", s.id);
      }
      local["ssim"] = v;
    }

    for (const auto& [name, value] : local) {
      auto it = m.values.find(name);
      if (it != m.values.end()) it->second = value;
    }
    double value = 0;
    try {
      value = m.parser.Eval();
    } catch (const mu::Parser::exception_type& e) {
      fail(ErrorKind::runtime, "sample {}: reward formula \"{}\": {}", s.id, m.name, e.GetMsg());
    }
    double terms = 0;
    for (const auto& [term, weight] : m.extra_terms) terms += weight * local[term];
    if (!std::isfinite(value) || !std::isfinite(terms))
      fail(ErrorKind::runtime, "sample {}: reward formula \"{}\" gave {} (S = {}, batch_max_S = {})", s.id, m.name,
           value + terms, local["S"], local["batch_max_S"]);

    // Log the per-sample variables, the task's categories, and whatever else was used.
    static const std::set<std::string> always = {"S",         "n_errors",   "n_sev1",   "n_sev2", "n_sev3",
                                                 "render_ok", "code_found", "parse_ok", "blank",  "response_len"};
    for (const auto& [name, v] : local) {
      bool own_category = false;
      for (const auto& c : task_categories(s.task)) own_category |= name == "S_" + c;
      if (always.count(name) || own_category || m.used.count(name) || m.extra_terms.count(name)) r.components[name] = v;
    }
    r.components["formula"] = value;
    r.components["terms"] = terms;
    r.reward = value + terms;
  };

  for (size_t i = 0; i < n; ++i) {
    if (out[i].outcome == Outcome::scored) {
      evaluate_expression(i);
      continue;
    }
    const FailureReward& f = m.failure_for(out[i].outcome);
    if (f.kind == FailureReward::Kind::formula) {
      evaluate_expression(i);
    } else if (f.kind == FailureReward::Kind::constant) {
      out[i].reward = f.value;
    }
    out[i].from_failure_reward = f.kind != FailureReward::Kind::formula;
  }

  // Batch means last: they average the expression's rewards of scored samples.
  std::unordered_map<int, SStats> scored_reward;
  for (size_t i = 0; i < n; ++i)
    if (out[i].outcome == Outcome::scored) scored_reward[static_cast<int>(batch[i].task)].add(out[i].reward);
  for (size_t i = 0; i < n; ++i) {
    if (out[i].outcome == Outcome::scored) continue;
    if (m.failure_for(out[i].outcome).kind == FailureReward::Kind::batch_mean)
      out[i].reward = scored_reward[static_cast<int>(batch[i].task)].mean();
  }
  for (auto& r : out) r.components["reward"] = r.reward;
  return out;
}

}  // namespace visrl::reward
