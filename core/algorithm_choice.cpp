#include "core/algorithm_choice.h"

#include <array>

#include <fmt/ranges.h>

#include "core/error.h"

namespace visrl {
namespace {

constexpr std::array<Choice<AdvEstimator>, 4> kAdvEstimators{{
    {AdvEstimator::grpo, "grpo"},
    {AdvEstimator::dr_grpo, "dr_grpo"},
    {AdvEstimator::rloo, "rloo"},
    {AdvEstimator::reinforce_pp, "reinforce_pp"},
}};
constexpr std::array<Choice<PolicyLossKind>, 5> kPolicyLosses{{
    {PolicyLossKind::ppo_clip, "ppo_clip", "vanilla"},
    {PolicyLossKind::gspo, "gspo"},
    {PolicyLossKind::cispo, "cispo"},
    {PolicyLossKind::sapo, "sapo"},
    {PolicyLossKind::gpg, "gpg"},
}};
constexpr std::array<Choice<LossAgg>, 4> kLossAggs{{
    {LossAgg::token_mean, "token-mean"},
    {LossAgg::seq_mean_token_sum, "seq-mean-token-sum"},
    {LossAgg::seq_mean_token_mean, "seq-mean-token-mean"},
    {LossAgg::seq_mean_token_sum_norm, "seq-mean-token-sum-norm"},
}};
constexpr std::array<Choice<KlEstimator>, 3> kKlEstimators{{
    {KlEstimator::k1, "k1", "kl"},
    {KlEstimator::k2, "k2", "mse"},
    {KlEstimator::k3, "k3", "low_var_kl"},
}};
constexpr std::array<Choice<RolloutIs>, 3> kRolloutIs{{
    {RolloutIs::off, "off"},
    {RolloutIs::token, "token"},
    {RolloutIs::sequence, "sequence"},
}};
constexpr std::array<Choice<GradDtype>, 2> kGradDtypes{{
    {GradDtype::fp32, "fp32"},
    {GradDtype::param, "param"},
}};

}  // namespace

template <>
std::span<const Choice<AdvEstimator>> choices() {
  return kAdvEstimators;
}
template <>
std::span<const Choice<PolicyLossKind>> choices() {
  return kPolicyLosses;
}
template <>
std::span<const Choice<LossAgg>> choices() {
  return kLossAggs;
}
template <>
std::span<const Choice<KlEstimator>> choices() {
  return kKlEstimators;
}
template <>
std::span<const Choice<RolloutIs>> choices() {
  return kRolloutIs;
}
template <>
std::span<const Choice<GradDtype>> choices() {
  return kGradDtypes;
}

template <typename E>
std::vector<std::string> choice_names() {
  std::vector<std::string> out;
  for (const auto& c : choices<E>()) out.emplace_back(c.name);
  for (const auto& c : choices<E>()) {
    if (!c.alias.empty()) out.emplace_back(c.alias);
  }
  return out;
}

template <typename E>
std::optional<E> find_choice(std::string_view name) {
  for (const auto& c : choices<E>()) {
    if (c.name == name || (!c.alias.empty() && c.alias == name)) return c.value;
  }
  return std::nullopt;
}

template <typename E>
E parse_choice(std::string_view key, std::string_view name) {
  if (auto v = find_choice<E>(name)) return *v;
  fail(ErrorKind::config, "{}: \"{}\" is not one of {}", key, name, fmt::join(choice_names<E>(), ", "));
}

template <typename E>
std::string_view choice_name(E value) {
  for (const auto& c : choices<E>()) {
    if (c.value == value) return c.name;
  }
  return "?";
}

#define VISRL_CHOICE(E)                                           \
  template std::vector<std::string> choice_names<E>();            \
  template std::optional<E> find_choice<E>(std::string_view);     \
  template E parse_choice<E>(std::string_view, std::string_view); \
  template std::string_view choice_name<E>(E);
VISRL_CHOICE(AdvEstimator)
VISRL_CHOICE(PolicyLossKind)
VISRL_CHOICE(LossAgg)
VISRL_CHOICE(KlEstimator)
VISRL_CHOICE(RolloutIs)
VISRL_CHOICE(GradDtype)
#undef VISRL_CHOICE

std::optional<LossAgg> required_loss_agg(PolicyLossKind loss) {
  // verl's compute_policy_loss_gspo and _sapo aggregate seq-mean-token-mean whatever the config says.
  if (loss == PolicyLossKind::gspo || loss == PolicyLossKind::sapo) return LossAgg::seq_mean_token_mean;
  return std::nullopt;
}

std::string loss_agg_problem(PolicyLossKind loss, std::string_view loss_agg_mode) {
  if (loss_agg_mode == "auto") return {};
  const auto mode = find_choice<LossAgg>(loss_agg_mode);
  if (!mode)
    return fmt::format("\"{}\" is not one of auto, {}", loss_agg_mode, fmt::join(choice_names<LossAgg>(), ", "));
  const auto required = required_loss_agg(loss);
  if (required && *mode != *required) {
    return fmt::format("policy loss {} is defined with {}, got {} (leave it at auto, or set {})", choice_name(loss),
                       choice_name(*required), loss_agg_mode, choice_name(*required));
  }
  return {};
}

LossAgg policy_loss_agg(PolicyLossKind loss, std::string_view loss_agg_mode) {
  if (const auto problem = loss_agg_problem(loss, loss_agg_mode); !problem.empty()) {
    fail(ErrorKind::config, "algorithm.loss_agg_mode: {}", problem);
  }
  if (loss_agg_mode == "auto") return required_loss_agg(loss).value_or(LossAgg::token_mean);
  return *find_choice<LossAgg>(loss_agg_mode);
}

LossAgg regularizer_loss_agg(std::string_view loss_agg_mode) {
  if (loss_agg_mode == "auto") return LossAgg::token_mean;
  return parse_choice<LossAgg>("algorithm.loss_agg_mode", loss_agg_mode);
}

}  // namespace visrl
