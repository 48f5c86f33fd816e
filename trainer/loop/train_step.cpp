// Trainer::train_step and its stages (see trainer.h and step_batch.h for the index spaces).
#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "policy/model/lora.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/registry.h"
#include "trainer/algorithms/shaping.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/sample_exchange.h"
#include "trainer/loop/step_metrics.h"
#include "trainer/loop/trainer.h"
#include "trainer/plan/memory_stage.h"
#include "trainer/report/run_reports.h"
#include "trainer/report/step_samples.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Groups to train on, ascending: all, or (dynamic sampling) the first `want` whose rewards
// differ.
std::vector<int64_t> groups_to_keep(const BatchRewards& rewards, bool dynamic_sampling, int64_t want) {
  const auto groups = rewards.group_ids.numel() ? rewards.group_ids.max().item<int64_t>() + 1 : 0;
  std::vector<int64_t> kept;
  if (!dynamic_sampling) {
    for (int64_t g = 0; g < groups; ++g) kept.push_back(g);
    return kept;
  }
  const auto informative = informative_groups(rewards.rewards.to(at::kFloat), rewards.group_ids);  // [N]
  const auto per_group = at::zeros({groups}, at::kLong).index_add_(0, rewards.group_ids, informative.to(at::kLong));
  for (int64_t g = 0; g < groups && static_cast<int64_t>(kept.size()) < want; ++g) {
    if (per_group[g].item<int64_t>() > 0) kept.push_back(g);
  }
  return kept;
}

void add_rollout_stats(RolloutStats& total, const RolloutStats& round) {
  total.generate_s += round.generate_s;
  total.lora_merge_s += round.lora_merge_s;
  total.render_s += round.render_s;
  total.critic_s += round.critic_s;
  total.wall_s += round.wall_s;
}

// The slowest rank's times, and the throughput of the step.
void add_step_times(nlohmann::json& m, Communicator& comm, const StepBatch& batch, double update_s, double step_s) {
  m["time_generate_s"] = comm.all_reduce_max(batch.rollout.generate_s);
  m["time_lora_merge_s"] = comm.all_reduce_max(batch.rollout.lora_merge_s);
  m["time_render_s"] = comm.all_reduce_max(batch.rollout.render_s);
  m["time_critic_s"] = comm.all_reduce_max(batch.rollout.critic_s);
  m["time_rollout_s"] = comm.all_reduce_max(batch.rollout.wall_s);
  m["time_update_s"] = comm.all_reduce_max(update_s);
  m["time_step_s"] = comm.all_reduce_max(step_s);
  double response_tokens = 0;
  for (const auto& s : batch.samples) response_tokens += static_cast<double>(s.record.sample.response_len);
  m["tokens_per_s"] = response_tokens / std::max(m["time_step_s"].get<double>(), 1e-9);
}

}  // namespace

nlohmann::json Trainer::train_step(int64_t step) {
  const auto step_start = Clock::now();
  nlohmann::json m;
  m["step"] = step;
  prepared_.clear();
  std::optional<StepBatch> batch;
  {
    MemoryStage stage("generating, rendering and scoring rollouts");
    batch = collect_rollouts(step, m);
  }
  if (!batch) {
    m["time_step_s"] = seconds_since(step_start);
    return m;
  }
  const auto update_start = Clock::now();
  auto share = share_of_batch(*batch);
  {
    MemoryStage stage("computing the old and reference log-probs");
    fill_logprobs(share, m);
  }
  assign_advantages(*batch, share, m);
  {
    MemoryStage stage("the policy update (forward, backward, optimizer step)");
    update_policy(step, share, m);
  }
  add_step_times(m, comm_, *batch, seconds_since(update_start), seconds_since(step_start));
  // Render workers started again since the run began (dead or hung ones), summed over ranks.
  m["render_workers_replaced"] =
      static_cast<int64_t>(comm_.all_reduce_sum({static_cast<double>(pool_->stats().workers_replaced)})[0]);
  m["epoch"] = sampler_->state().epoch;
  if (comm_.is_main()) write_step_rollouts(run_dir_, config_.logging, step, batch->samples);
  if (backends_) {
    log_step_samples(*backends_, config_.logging, step, batch->samples, [&](const RolloutSample& s) {
      return items_[static_cast<size_t>(batch->slot_items[static_cast<size_t>(s.prompt_slot)])].image;
    });
  }
  return m;
}

// Rollouts of the step's prompts, gathered on every rank and scored: one round, or (dynamic
// sampling) more rounds until enough groups carry signal. Nothing when the critic is down.
std::optional<StepBatch> Trainer::collect_rollouts(int64_t step, nlohmann::json& m) {
  const auto& c = config_;
  const int64_t P = c.rollout.prompts_per_step;
  const RolloutOptions ro = rollout_options(c, assets_, policy_->config);
  StepBatch batch;
  const int64_t rounds = c.algorithm.dynamic_sampling ? 1 + c.algorithm.max_resample_rounds : 1;
  for (int64_t round = 0; round < rounds; ++round) {
    ++batch.rounds;
    const int64_t want = round == 0 ? P : P - static_cast<int64_t>(batch.kept_groups.size());
    const auto items = sampler_->next(want);  // [want] item indices, the new slots
    const auto first_slot = static_cast<int64_t>(batch.slot_items.size());
    batch.slot_items.insert(batch.slot_items.end(), items.begin(), items.end());
    const auto [lo, hi] = rank_slice(want, comm_.rank(), comm_.world_size());
    std::vector<const PreparedPrompt*> mine;  // this rank's prompts of the round
    std::vector<int64_t> slots;               // and their slots
    for (int64_t i = lo; i < hi; ++i) {
      mine.push_back(&prepared(items[static_cast<size_t>(i)]));
      slots.push_back(first_slot + i);
    }
    RolloutStats stats;
    bool unavailable = false;
    std::vector<RolloutSample> local;
    try {
      local = run_rollouts(rollout_deps(), ro, mine, slots, step, &stats);
    } catch (const reward::CriticUnavailable& e) {
      spdlog::warn("step {}: critic unavailable ({}); the step is skipped", step, e.what());
      unavailable = true;
    }
    if (comm_.all_reduce_max(unavailable ? 1.0 : 0.0) > 0) {
      m["skipped"] = "critic_unavailable";
      return std::nullopt;
    }
    add_rollout_stats(batch.rollout, stats);
    for (auto& s : gather_samples(comm_, std::move(local))) batch.samples.push_back(std::move(s));
    batch.rewards = score_samples(*formula_, batch.samples, c.algorithm, c.rollout.max_new_tokens);
    batch.kept_groups = groups_to_keep(batch.rewards, c.algorithm.dynamic_sampling, P);
    if (static_cast<int64_t>(batch.kept_groups.size()) >= P) break;
  }
  batch.kept = samples_of_groups(batch.rewards.group_ids, batch.kept_groups);
  m["rollout_rounds"] = batch.rounds;
  add_sample_metrics(m, batch.samples, batch.rewards);
  m["trained_groups"] = batch.kept_groups.size();
  return batch;
}

// This rank's slice of every mini-batch: mini-batch j holds kept groups [jM, (j+1)M), split
// by group across ranks.
RankShare Trainer::share_of_batch(const StepBatch& batch) {
  const auto groups = static_cast<int64_t>(batch.kept_groups.size());
  const int64_t M = std::min<int64_t>(config_.algorithm.mini_batch_prompts, std::max<int64_t>(1, groups));
  RankShare share;
  share.minibatches = groups == 0 ? 0 : (groups + M - 1) / M;
  for (int64_t j = 0; j < share.minibatches; ++j) {
    const int64_t g0 = j * M, g1 = std::min<int64_t>(g0 + M, groups);
    const auto [lo, hi] = rank_slice(g1 - g0, comm_.rank(), comm_.world_size());
    for (int64_t k = g0 + lo; k < g0 + hi; ++k) {
      for (int64_t pos : samples_of_groups(batch.rewards.group_ids, {batch.kept_groups[static_cast<size_t>(k)]})) {
        const auto& s = batch.samples[static_cast<size_t>(pos)];
        UpdateSequence seq;
        seq.ref = {&prepared(batch.slot_items[static_cast<size_t>(s.prompt_slot)]).input, &s.response_ids};
        if (!s.response_logprobs.empty()) seq.rollout_logp = at::tensor(s.response_logprobs, at::kFloat);  // [L]
        share.sequences.push_back(seq);
        share.sample_of.push_back(pos);
        share.minibatch_of.push_back(j);
      }
    }
  }
  return share;
}

// Old log-probs when the policy moves within the step (several mini-batches or epochs), for
// a KL penalty in the reward, or for rollout correction; otherwise the loss uses the current
// ones (verl's on-policy shortcut). Reference log-probs when there is a reference.
void Trainer::fill_logprobs(RankShare& share, nlohmann::json& m) {
  const auto& a = config_.algorithm;
  std::vector<SequenceRef> refs;  // [S]
  for (const auto& s : share.sequences) refs.push_back(s.ref);
  const bool need_old =
      a.ppo_epochs > 1 || share.minibatches > 1 || a.kl_in_reward || update_options_.loss.rollout_is != RolloutIs::off;
  const auto& o = update_options_;
  auto t = Clock::now();
  if (need_old && !refs.empty()) {
    auto old = response_logprobs(*policy_, refs, o.micro_batch_size, o.temperature, o.pad_token_id,
                                 o.logprob_chunk_tokens, o.max_tokens_per_micro_batch);  // [S] x [L]
    for (size_t i = 0; i < refs.size(); ++i) share.sequences[i].old_logp = old[i];
  }
  m["time_old_logprobs_s"] = seconds_since(t);
  t = Clock::now();
  if (has_reference_ && !refs.empty()) {
    std::optional<policy::LoraDisabled> base_only;  // a LoRA policy's reference is its base
    if (!reference_) base_only.emplace(*policy_);
    auto ref = response_logprobs(reference_ ? *reference_ : *policy_, refs, o.micro_batch_size, o.temperature,
                                 o.pad_token_id, o.logprob_chunk_tokens, o.max_tokens_per_micro_batch);  // [S] x [L]
    for (size_t i = 0; i < refs.size(); ++i) share.sequences[i].ref_logp = ref[i];
  }
  m["time_ref_logprobs_s"] = seconds_since(t);
}

// Rewards [N], with algorithm.kl_in_reward minus coef * sum_t KL(old || ref) of each trained
// sample (summed across ranks, each knowing its own sequences'); then advantages over the kept
// groups, the same numbers on every rank, written to the records and this rank's sequences.
void Trainer::assign_advantages(StepBatch& batch, RankShare& share, nlohmann::json& m) {
  const auto& a = config_.algorithm;
  auto rewards = batch.rewards.rewards.clone();  // [N] float64
  if (a.kl_in_reward && has_reference_) {
    std::vector<at::Tensor> kl_sums{at::zeros({static_cast<int64_t>(batch.samples.size())}, at::kDouble)};  // [N]
    for (size_t i = 0; i < share.sequences.size(); ++i) {
      const auto& s = share.sequences[i];
      kl_sums[0][share.sample_of[i]] =
          kl_penalty(s.old_logp, s.ref_logp, update_options_.loss.kl_estimator).sum().item<double>();
    }
    comm_.all_reduce(kl_sums, ReduceOp::sum);
    rewards -= a.kl_coef * kl_sums[0];
    for (int64_t pos : batch.kept) {
      auto& rec = batch.samples[static_cast<size_t>(pos)].record;
      rec.components["kl_penalty"] = -a.kl_coef * kl_sums[0][pos].item<double>();
      rec.reward = rewards[pos].item<double>();
    }
  }
  if (batch.kept.empty()) {
    spdlog::warn("step {}: no group with different rewards; no update", m["step"].get<int64_t>());
    return;
  }
  const auto index = at::tensor(batch.kept, at::kLong);             // [K] -> sample
  auto group_ids = batch.rewards.group_ids.index_select(0, index);  // [K]
  group_ids = std::get<1>(at::_unique2(group_ids, true, true));     // [K] dense 0..
  const auto advantages = group_advantages(parse_choice<AdvEstimator>("algorithm.adv_estimator", a.adv_estimator),
                                           rewards.index_select(0, index).to(at::kFloat), group_ids,
                                           batch.rewards.lengths.index_select(0, index), a.adv_eps);  // [K]
  for (size_t k = 0; k < batch.kept.size(); ++k) {
    batch.samples[static_cast<size_t>(batch.kept[k])].record.advantage =
        advantages[static_cast<int64_t>(k)].item<double>();
  }
  add_advantage_metrics(m, advantages);
  for (size_t i = 0; i < share.sequences.size(); ++i) {
    share.sequences[i].advantage = *batch.samples[static_cast<size_t>(share.sample_of[i])].record.advantage;
  }
}

// PPO epochs over this rank's mini-batch slices, and the update's metrics.
void Trainer::update_policy(int64_t step, const RankShare& share, nlohmann::json& m) {
  std::vector<std::vector<const UpdateSequence*>> minibatches(static_cast<size_t>(share.minibatches));  // [j] -> S_j
  for (size_t i = 0; i < share.sequences.size(); ++i)
    minibatches[static_cast<size_t>(share.minibatch_of[i])].push_back(&share.sequences[i]);
  const double lr = lr_at(schedule_, step - 1);
  UpdateOptions options = update_options_;
  options.inject_nan_loss = faults_.nan_loss_at(step, comm_.rank(), comm_.world_size());
  const auto local = ppo_update(*policy_, *optimizer_, *gradients_, comm_, minibatches, options, lr);
  add_update_metrics(m, reduce_update_stats(comm_, local), has_reference_);
  m["lr"] = lr;
  m["time_forward_backward_s"] = comm_.all_reduce_max(local.forward_backward_s);
  m["time_optimizer_s"] = comm_.all_reduce_max(local.optimizer_s);
}

}  // namespace visrl::trainer
