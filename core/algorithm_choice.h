// The algorithm choices of the GRPO family, one table each: the name a config uses <-> the enum
// the trainer dispatches on. core/config_schema.cpp validates config values against these
// tables and trainer/algorithms/registry.h maps each enum to its function, so a choice is a
// string only in the YAML file.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace visrl {

// Group-relative advantages (trainer/algorithms/advantage.h).
enum class AdvEstimator { grpo, dr_grpo, rloo, reinforce_pp };
// Per-token policy-gradient losses (trainer/algorithms/policy_loss.h).
enum class PolicyLossKind { ppo_clip, gspo, cispo, sapo, gpg };
// From per-token losses to one number (trainer/algorithms/loss_agg.h).
enum class LossAgg { token_mean, seq_mean_token_sum, seq_mean_token_mean, seq_mean_token_sum_norm };
// KL to the reference policy (trainer/algorithms/kl.h).
enum class KlEstimator { k1, k2, k3 };
// Rollout correction: truncated importance weights between the sampler and the trainer.
enum class RolloutIs { off, token, sequence };
// Dtype gradients are accumulated and all-reduced in.
enum class GradDtype { fp32, param };

template <typename E>
struct Choice {
  E value;
  std::string_view name;
  std::string_view alias = {};  // a peer's name for the same choice (verl's "low_var_kl"), or empty
};

template <typename E>
std::span<const Choice<E>> choices();

// Every accepted name (aliases included), for validation messages and config descriptions.
template <typename E>
std::vector<std::string> choice_names();

// The value named `name`, or nullopt.
template <typename E>
std::optional<E> find_choice(std::string_view name);

// The value named `name`; Error(config) naming `key` and the accepted names otherwise.
template <typename E>
E parse_choice(std::string_view key, std::string_view name);

template <typename E>
std::string_view choice_name(E value);

// The aggregation a policy loss is defined with, which it always uses (GSPO's sequence
// objective: seq-mean-token-mean, as verl computes it), or nullopt when algorithm.loss_agg_mode
// decides.
std::optional<LossAgg> required_loss_agg(PolicyLossKind loss);

// What is wrong with algorithm.loss_agg_mode for `loss` ("" when nothing): an unknown mode, or an
// explicit mode that contradicts the loss's definition.
std::string loss_agg_problem(PolicyLossKind loss, std::string_view loss_agg_mode);

// The aggregation of the policy term: algorithm.loss_agg_mode, where "auto" means the loss's
// required aggregation, else token-mean. Error(config) naming algorithm.loss_agg_mode on a problem.
LossAgg policy_loss_agg(PolicyLossKind loss, std::string_view loss_agg_mode);
// The aggregation of the entropy and KL terms: algorithm.loss_agg_mode, "auto" meaning token-mean
// (verl aggregates them with the configured mode, also under GSPO).
LossAgg regularizer_loss_agg(std::string_view loss_agg_mode);

}  // namespace visrl
