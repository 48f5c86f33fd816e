#include "trainer/loop/trainer.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/device.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "render/png_io.h"
#include "reward/make_critic.h"
#include "trainer/algorithms/advantage.h"
#include "trainer/algorithms/kl.h"
#include "trainer/algorithms/shaping.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"
#include "trainer/checkpoint/resume.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/distributed/rank_errors.h"
#include "trainer/loop/batch_rewards.h"
#include "trainer/loop/console.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/ppo_update.h"
#include "trainer/loop/rollout_pipeline.h"
#include "trainer/loop/sample_exchange.h"
#include "trainer/loop/step_metrics.h"
#include "trainer/loop/validation.h"
#include "trainer/report/gallery.h"
#include "trainer/report/training_curves.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The reward formula as it decides rewards, to tell when a resume changes it.
nlohmann::json formula_json(const RewardConfig& reward) {
  const auto& f = reward.on_failure;
  return {{"formula", reward.formula},
          {"on_failure",
           {{"no_code", f.no_code},
            {"render_failure", f.render_failure},
            {"blank_image", f.blank_image},
            {"parse_failure", f.parse_failure},
            {"critic_unavailable", f.critic_unavailable}}},
          {"extra_terms", reward.extra_terms}};
}

}  // namespace

Trainer::Trainer(const Config& config, const RunDir& run_dir, Communicator& comm,
                 const std::optional<std::filesystem::path>& resume_from)
    : config_(config),
      run_dir_(run_dir),
      comm_(comm),
      device_(training_device(config, comm)),
      assets_(load_policy_assets(config)) {
  const auto& c = config_;
  if (c.data.train.empty()) fail(ErrorKind::config, "data.train: at least one JSONL manifest is required");
  if (c.algorithm.mini_batch_prompts < 1) fail(ErrorKind::config, "algorithm.mini_batch_prompts must be >= 1");
  if (c.rollout.prompts_per_step < 1) fail(ErrorKind::config, "rollout.prompts_per_step must be >= 1");

  items_ = load_data(c.data.train, parse_invalid_rows(c.data.invalid_rows));
  if (!c.data.val.empty()) {
    val_items_ = load_data(c.data.val, parse_invalid_rows(c.data.invalid_rows));
    val_items_.resize(validation_size(val_items_.size(), c.validation));
  }
  instructions_ = TaskInstructions::load(c.data.prompt_dir);
  sampler_ = std::make_unique<PromptSampler>(static_cast<int64_t>(items_.size()), c.seed, c.data.shuffle);

  policy::LoadOptions load;
  load.device = device_;
  load.dtype = training_dtype(c, device_);
  // A resumed run continues from the checkpoint's weights; the reference stays the initial policy.
  policy_ = policy::load_pretrained(resume_from ? *resume_from / "model" : std::filesystem::path(c.model.path), load);
  policy_->language_model->gradient_checkpointing = c.model.gradient_checkpointing;
  auto trainable = trainable_parameters(*policy_, c.model.freeze_vision);
  const int64_t frozen = trainable.frozen_numel;
  if (c.algorithm.kl_coef != 0) {
    reference_ = policy::load_pretrained(c.model.path, load);
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  std::vector<at::Tensor> params;
  for (const auto& [name, p] : trainable.named) params.push_back(p);
  optimizer_ = std::make_unique<ShardedAdamW>(trainable.named, adamw_options(c), comm_, c.distributed.shard_optimizer);
  gradients_ = std::make_unique<GradientBuckets>(params, static_cast<double>(c.distributed.bucket_mb));
  schedule_ = lr_schedule(c, static_cast<int64_t>(items_.size()), c.rollout.prompts_per_step);

  formula_.emplace(reward::RewardFormula::compile(reward::FormulaSpec::from_config(c.reward)));
  pool_ = std::make_unique<render::RenderPool>(render::pool_options_from(c.render));
  // Items without an image get one drawn from their ground truth: rank 0 renders into the run
  // directory, the others use the files.
  prepare_references(items_, comm_, c.render, run_dir_.root() / "references", pool_.get());
  if (!val_items_.empty()) prepare_references(val_items_, comm_, c.render, run_dir_.root() / "references", pool_.get());
  critic_ = reward::make_critic(c);
  if (resume_from) resume(*resume_from);
  int64_t trainable_numel = 0;
  for (const auto& p : params) trainable_numel += p.numel();
  spdlog::info("policy {} on {} ({}), {} trainable parameters{}; {} training items; {} steps; critic {}; rank {}/{}",
               c.model.path, device_.str(), policy::dtype_name(*load.dtype), trainable_numel,
               frozen > 0 ? fmt::format(" ({} frozen in the vision tower)", frozen) : "", items_.size(),
               schedule_.total_steps, critic_->name(), comm_.rank(), comm_.world_size());
}

Trainer::~Trainer() {
  if (pool_) pool_->shutdown();
}

const PreparedPrompt& Trainer::prepared(int64_t item) {
  auto it = prepared_.find(item);
  if (it == prepared_.end()) {
    it = prepared_
             .emplace(item, prepare_prompt(items_[static_cast<size_t>(item)], assets_, instructions_,
                                           config_.data.max_prompt_tokens))
             .first;
  }
  return it->second;
}

TrainerState Trainer::state_after(int64_t step) const {
  TrainerState s;
  s.step = step;
  s.seed = config_.seed;
  s.sampler = sampler_->state();
  s.num_items = static_cast<int64_t>(items_.size());
  s.shuffle = config_.data.shuffle;
  s.schedule = schedule_;
  std::error_code ec;
  const auto metrics_bytes = std::filesystem::file_size(run_dir_.metrics_path(), ec);
  s.metrics_offset = ec ? 0 : static_cast<int64_t>(metrics_bytes);  // rank 0's file, which is the one
  s.world_size = comm_.world_size();
  s.has_optimizer = !config_.checkpoint.model_only;
  s.formula = formula_json(config_.reward);
  return s;
}

void Trainer::resume(const std::filesystem::path& dir) {
  const auto ckpt = read_checkpoint(dir);
  const auto& saved = ckpt.state;
  const auto now = state_after(saved.step);
  if (comm_.is_main()) {
    for (const auto& d : resume_differences(saved, now, ckpt.config_yaml, to_yaml(config_))) {
      spdlog::warn("resuming with a change: {}", d);
    }
  }
  if (saved.step >= schedule_.total_steps) {
    spdlog::warn("the checkpoint is at step {}, the run has {} steps: nothing left to train", saved.step,
                 schedule_.total_steps);
  }
  SamplerState position = saved.sampler;
  if (saved.num_items != now.num_items) position.cursor = std::min(position.cursor, now.num_items);
  sampler_ = std::make_unique<PromptSampler>(static_cast<int64_t>(items_.size()), config_.seed, config_.data.shuffle,
                                             position);
  // Each rank loads the state of the parameters it holds; a missing one fails every rank.
  on_every_rank(
      comm_, "loading the optimizer state",
      [&] {
        if (saved.has_optimizer) {
          load_optimizer_state(dir, *optimizer_);
        } else if (comm_.is_main()) {
          spdlog::warn("{} holds weights only (checkpoint.model_only): AdamW's moments start from zero", dir.string());
        }
      },
      ErrorKind::format);
  start_step_ = saved.step;
  restore_best(saved.step);
  on_every_rank(
      comm_, "rewinding the run directory",
      [&] {
        if (!comm_.is_main()) return;
        // The run directory goes back to the checkpoint's step: its checkpoints and metrics lines
        // after that step belong to a future that is being replaced. Both are kept aside, not
        // deleted; checkpoints first, so that a kill in between cannot resume from that future.
        for (const auto& moved : set_aside_newer_checkpoints(run_dir_.checkpoints_dir(), saved.step)) {
          spdlog::warn("a checkpoint newer than the one resumed was moved to {}", moved.string());
        }
        const auto discarded = rewind_metrics(run_dir_.metrics_path(), saved.step);
        if (!discarded.empty()) spdlog::info("metrics after step {} moved to {}", saved.step, discarded.string());
      },
      ErrorKind::io);
  spdlog::info("resumed from {} (step {}, epoch {}, cursor {}, saved by {} rank(s)) on {} rank(s)", dir.string(),
               saved.step, saved.sampler.epoch, saved.sampler.cursor, saved.world_size, comm_.world_size());
}

void Trainer::save_checkpoint(int64_t step) {
  const auto start = Clock::now();
  CheckpointContents contents;
  contents.policy = policy_.get();
  contents.optimizer = config_.checkpoint.model_only ? nullptr : optimizer_.get();
  contents.state = state_after(step);
  contents.config_yaml = to_yaml(config_);
  contents.assets_from = config_.model.path;
  contents.max_shard_bytes = static_cast<uint64_t>(config_.checkpoint.max_shard_mb) << 20;
  const auto checkpoints = run_dir_.checkpoints_dir();
  const auto dir = trainer::save_checkpoint(checkpoints, contents, comm_);
  if (comm_.is_main()) {
    try {
      for (const auto& removed :
           prune_checkpoints(checkpoints, config_.checkpoint.keep_last, config_.checkpoint.milestone_every)) {
        spdlog::debug("removed {}", removed.string());
      }
    } catch (const std::exception& e) {
      spdlog::warn("removing old checkpoints failed (training goes on; they stay): {}", e.what());
    }
    spdlog::info("checkpoint {} saved in {:.1f} s", dir.string(), seconds_since(start));
  }
}

int64_t Trainer::run(const std::atomic<bool>& stop, int64_t stop_after_step) {
  Console console(config_.logging.progress_bar, schedule_.total_steps, comm_.is_main());
  const int64_t every = config_.checkpoint.every_steps;
  const int64_t last = stop_after_step > 0 ? std::min(stop_after_step, schedule_.total_steps) : schedule_.total_steps;
  int64_t done = 0;
  if (validates() && start_step_ == 0 && last > 0) run_validation(0);
  bool signalled = false;
  for (int64_t step = start_step_ + 1; step <= last; ++step) {
    auto metrics = train_step(step);
    ++done;
    if (validates_at(step)) {
      const auto validation = run_validation(step);
      for (const auto& [key, value] : validation.items()) metrics["val/" + key] = value;
    }
    if (comm_.is_main()) {
      append_metrics_line(run_dir_.metrics_path(), metrics);
      console.step(metrics);
    }
    // Every rank stops at the same step when any of them was asked to.
    signalled = comm_.all_reduce_max(stop.load() ? 1.0 : 0.0) > 0;
    if ((every > 0 && step % every == 0) || signalled || step == last) save_checkpoint(step);
    if (signalled || (step == last && last < schedule_.total_steps)) {
      spdlog::warn("stopped after step {} of {}; continue with --resume auto", step, schedule_.total_steps);
    }
    if (signalled) break;
  }
  console.finish();
  on_every_rank(
      comm_, "saving the final policy",
      [&] {
        if (!comm_.is_main()) return;
        // The trained weights as a plain Hugging Face directory, whatever the checkpoint settings.
        const auto final_dir = run_dir_.root() / "final";
        policy::SaveOptions save;
        save.copy_assets_from = config_.model.path;
        save_policy_atomically(*policy_, final_dir, save);
        if (std::filesystem::exists(run_dir_.metrics_path())) write_training_curves(run_dir_.root());
        if (config_.logging.log_rollouts) {
          std::map<std::string, std::filesystem::path> references;
          for (const auto& item : items_) references[item.id] = item.image;
          write_gallery(run_dir_.root(), references);
        }
        spdlog::info("policy after step {} saved to {}", start_step_ + done, final_dir.string());
      },
      ErrorKind::io);
  // The schedule is done: how the policy does now against how it did before the first step.
  const int64_t reached = start_step_ + done;
  if (validates() && !signalled && reached == schedule_.total_steps && done > 0) write_run_summary(reached);
  return done;
}

bool Trainer::validates() const {
  return config_.validation.before_and_after && !val_items_.empty();
}

bool Trainer::validates_at(int64_t step) const {
  const int64_t every = config_.validation.every_steps;
  return every > 0 && !val_items_.empty() && step % every == 0;
}

nlohmann::json Trainer::run_validation(int64_t step) {
  if (last_validation_ && last_validation_->first == step) return last_validation_->second;
  const auto start = Clock::now();
  if (val_prompts_.empty()) {
    for (const auto& item : val_items_) {
      val_prompts_.push_back(prepare_prompt(item, assets_, instructions_, config_.data.max_prompt_tokens));
    }
  }
  std::vector<const PreparedPrompt*> prompts;
  for (const auto& p : val_prompts_) prompts.push_back(&p);
  const RolloutDeps deps{*policy_, assets_.tokenizer, *pool_, *critic_, config_.render};
  const auto options = validation_options(rollout_options(config_, assets_, policy_->config), config_.validation);
  const auto outcome = validate(deps, options, prompts, comm_, *formula_, config_.algorithm);
  on_every_rank(
      comm_, "writing the validation results",
      [&] {
        if (comm_.is_main()) write_validation(run_dir_.root(), step, outcome);
      },
      ErrorKind::io);
  if (comm_.is_main() && !outcome.metrics.contains("skipped")) {
    spdlog::info("validation after step {}: reward {:.3f}, render {:.2f} on {} held-out items (greedy, {:.1f} s)", step,
                 outcome.metrics.value("reward_mean", 0.0), outcome.metrics.value("render_ok_rate", 0.0),
                 prompts.size(), seconds_since(start));
  }
  last_validation_.emplace(step, outcome.metrics);
  track_best(step, outcome.metrics);
  return outcome.metrics;
}

void Trainer::track_best(int64_t step, const nlohmann::json& metrics) {
  const auto& v = config_.validation;
  if (v.best_metric.empty() || metrics.contains("skipped")) return;
  const auto value = metric_value(metrics, v.best_metric);
  if (!value) {
    if (comm_.is_main() && !warned_missing_metric_) {
      spdlog::warn(
          "validation.best_metric \"{}\" is not among the validation metrics (validation/step_{}.json); "
          "no best policy is kept",
          v.best_metric, step);
    }
    warned_missing_metric_ = true;
    return;
  }
  if (!improves(v.best_mode, *value, best_)) return;
  const BestValidation best{v.best_metric, v.best_mode, step, *value};
  on_every_rank(
      comm_, "saving the best policy",
      [&] {
        if (!comm_.is_main()) return;
        policy::SaveOptions save;
        save.copy_assets_from = config_.model.path;
        save_policy_atomically(*policy_, run_dir_.root() / "best", save,
                               {{kBestValidationFile, to_json(best).dump(1) + "\n"}});
        spdlog::info("best policy so far ({} {:.4f} at step {}) saved to {}", best.metric, best.value, step,
                     (run_dir_.root() / "best").string());
      },
      ErrorKind::io);
  best_ = best;
}

void Trainer::restore_best(int64_t step) {
  const auto dir = run_dir_.root() / "best";
  // Rank 0 reads (and maybe moves) the record; every rank must then agree on it, because
  // whether a validation is the best decides whether the ranks enter track_best's collective.
  std::string record;
  on_every_rank(
      comm_, "reading the best validation record",
      [&] {
        if (!comm_.is_main()) return;
        const auto saved = read_best_validation(dir);
        if (!saved) return;
        if (saved->step <= step) {
          record = to_json(*saved).dump();
          return;
        }
        // Chosen in a future the resume replaces: kept aside, like newer checkpoints.
        auto aside = dir;
        aside += fmt::format(".abandoned-step_{}", saved->step);
        for (int n = 2; std::filesystem::exists(aside); ++n) {
          aside = dir;
          aside += fmt::format(".abandoned-step_{}-{}", saved->step, n);
        }
        std::filesystem::rename(dir, aside);
        spdlog::warn("the best policy (step {}) is newer than the resumed checkpoint; moved to {}", saved->step,
                     aside.string());
      },
      ErrorKind::io);
  record = comm_.broadcast_string(record, 0);
  if (record.empty()) return;
  const auto saved = best_validation_from_json(nlohmann::json::parse(record), (dir / kBestValidationFile).string());
  const auto& v = config_.validation;
  if (saved.metric != v.best_metric || saved.mode != v.best_mode) {
    if (comm_.is_main())
      spdlog::warn("{} was chosen by {} ({}); this run chooses by {} ({}): the next validation replaces it",
                   dir.string(), saved.metric, saved.mode, v.best_metric, v.best_mode);
    return;
  }
  best_ = saved;
  if (comm_.is_main())
    spdlog::info("best policy so far: {} {:.4f} at step {} ({})", saved.metric, saved.value, saved.step, dir.string());
}

void Trainer::write_run_summary(int64_t last_step) {
  const auto after = run_validation(last_step);
  if (!comm_.is_main()) return;
  // "before" was measured at step 0 of this run directory, possibly by an earlier process.
  std::optional<nlohmann::json> before;
  try {
    if (auto m = read_validation(run_dir_.root(), 0)) before = summary_entry(0, *m);
  } catch (const std::exception& e) {
    spdlog::warn("the validation before the first step cannot be read: {}", e.what());
  }
  if (!before)
    spdlog::warn("no validation before the first step in {}: summary.json has no \"before\"",
                 (run_dir_.root() / "validation").string());
  try {
    const auto summary = write_summary(run_dir_.root(), before, summary_entry(last_step, after));
    for (const auto& line : summary_table(summary)) spdlog::info("{}", line);
    spdlog::info("summary written to {}", (run_dir_.root() / "summary.json").string());
  } catch (const std::exception& e) {
    spdlog::error("writing summary.json failed: {}", e.what());
  }
}

nlohmann::json Trainer::train_step(int64_t step) {
  const auto& c = config_;
  const auto step_start = Clock::now();
  const int64_t P = c.rollout.prompts_per_step;
  nlohmann::json m;
  m["step"] = step;
  prepared_.clear();

  const RolloutOptions ro = rollout_options(c, assets_, policy_->config);
  const RolloutDeps deps{*policy_, assets_.tokenizer, *pool_, *critic_, c.render};

  // Rollouts: one round, or (dynamic sampling) more rounds until enough groups carry signal.
  std::vector<RolloutSample> samples;
  std::vector<int64_t> slot_items;  // global slot -> item index
  RolloutStats rollout_total;
  BatchRewards rewards;
  std::vector<int64_t> kept_groups;
  const int64_t rounds = c.algorithm.dynamic_sampling ? 1 + c.algorithm.max_resample_rounds : 1;
  int64_t rounds_done = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    ++rounds_done;
    const int64_t want = round == 0 ? P : P - static_cast<int64_t>(kept_groups.size());
    const auto items = sampler_->next(want);
    const auto first_slot = static_cast<int64_t>(slot_items.size());
    slot_items.insert(slot_items.end(), items.begin(), items.end());
    const auto [lo, hi] = rank_slice(want, comm_.rank(), comm_.world_size());
    std::vector<const PreparedPrompt*> mine;
    std::vector<int64_t> slots;
    for (int64_t i = lo; i < hi; ++i) {
      mine.push_back(&prepared(items[static_cast<size_t>(i)]));
      slots.push_back(first_slot + i);
    }
    RolloutStats stats;
    bool unavailable = false;
    std::vector<RolloutSample> local;
    try {
      local = run_rollouts(deps, ro, mine, slots, step, &stats);
    } catch (const reward::CriticUnavailable& e) {
      spdlog::warn("step {}: critic unavailable ({}); the step is skipped", step, e.what());
      unavailable = true;
    }
    if (comm_.all_reduce_max(unavailable ? 1.0 : 0.0) > 0) {
      m["skipped"] = "critic_unavailable";
      m["time_step_s"] = seconds_since(step_start);
      return m;
    }
    rollout_total.generate_s += stats.generate_s;
    rollout_total.render_s += stats.render_s;
    rollout_total.critic_s += stats.critic_s;
    rollout_total.wall_s += stats.wall_s;
    auto gathered = gather_samples(comm_, std::move(local));
    for (auto& s : gathered) samples.push_back(std::move(s));
    rewards = score_samples(*formula_, samples, c.algorithm, c.rollout.max_new_tokens);
    const auto groups = rewards.group_ids.max().item<int64_t>() + 1;
    kept_groups.clear();
    if (c.algorithm.dynamic_sampling) {
      auto informative = informative_groups(rewards.rewards.to(at::kFloat), rewards.group_ids);
      auto per_group = at::zeros({groups}, at::kLong).index_add_(0, rewards.group_ids, informative.to(at::kLong));
      for (int64_t g = 0; g < groups && static_cast<int64_t>(kept_groups.size()) < P; ++g) {
        if (per_group[g].item<int64_t>() > 0) kept_groups.push_back(g);
      }
      if (static_cast<int64_t>(kept_groups.size()) >= P) break;
    } else {
      for (int64_t g = 0; g < groups; ++g) kept_groups.push_back(g);
    }
  }
  m["rollout_rounds"] = rounds_done;
  add_sample_metrics(m, samples, rewards);
  m["trained_groups"] = kept_groups.size();

  // This rank's share of every mini-batch of kept groups.
  const auto update_start = Clock::now();
  const auto kept = samples_of_groups(rewards.group_ids, kept_groups);  // positions into samples
  const int64_t M = std::min<int64_t>(c.algorithm.mini_batch_prompts, std::max<int64_t>(1, kept_groups.size()));
  const int64_t num_mb = (static_cast<int64_t>(kept_groups.size()) + M - 1) / M;
  std::vector<UpdateSequence> sequences;
  std::vector<int64_t> sequence_sample;  // sequences[i] is samples[sequence_sample[i]]
  std::vector<int64_t> sequence_mb;
  sequences.reserve(kept.size());
  for (int64_t j = 0; j < num_mb; ++j) {
    const int64_t g0 = j * M, g1 = std::min<int64_t>(g0 + M, static_cast<int64_t>(kept_groups.size()));
    const auto [lo, hi] = rank_slice(g1 - g0, comm_.rank(), comm_.world_size());
    for (int64_t k = g0 + lo; k < g0 + hi; ++k) {
      for (int64_t pos : samples_of_groups(rewards.group_ids, {kept_groups[static_cast<size_t>(k)]})) {
        const auto& s = samples[static_cast<size_t>(pos)];
        UpdateSequence seq;
        seq.ref = {&prepared(slot_items[static_cast<size_t>(s.prompt_slot)]).input, &s.response_ids};
        sequences.push_back(seq);
        sequence_sample.push_back(pos);
        sequence_mb.push_back(j);
      }
    }
  }
  std::vector<SequenceRef> refs;
  for (const auto& s : sequences) refs.push_back(s.ref);

  // Old log-probs are needed once the policy has moved within the step (several mini-batches
  // or epochs) and for a KL penalty in the reward; otherwise the loss uses the current ones.
  const bool need_old = c.algorithm.ppo_epochs > 1 || num_mb > 1 || c.algorithm.kl_in_reward;
  auto t = Clock::now();
  if (need_old && !refs.empty()) {
    auto old =
        response_logprobs(*policy_, refs, c.algorithm.micro_batch_size, c.rollout.temperature, assets_.pad_token_id);
    for (size_t i = 0; i < sequences.size(); ++i) sequences[i].old_logp = old[i];
  }
  m["time_old_logprobs_s"] = seconds_since(t);
  t = Clock::now();
  if (reference_ && !refs.empty()) {
    auto ref =
        response_logprobs(*reference_, refs, c.algorithm.micro_batch_size, c.rollout.temperature, assets_.pad_token_id);
    for (size_t i = 0; i < sequences.size(); ++i) sequences[i].ref_logp = ref[i];
  }
  m["time_ref_logprobs_s"] = seconds_since(t);

  // KL in the reward: r -= coef * sum_t kl_t (old policy vs reference), summed across ranks.
  auto rewards_all = rewards.rewards.clone();
  if (c.algorithm.kl_in_reward && reference_) {
    auto kl_sums = at::zeros({static_cast<int64_t>(samples.size())}, at::kDouble);
    const auto estimator = parse_kl_estimator(c.algorithm.kl_estimator);
    for (size_t i = 0; i < sequences.size(); ++i) {
      kl_sums[sequence_sample[i]] =
          kl_penalty(sequences[i].old_logp, sequences[i].ref_logp, estimator).sum().item<double>();
    }
    std::vector<at::Tensor> reduce{kl_sums};
    comm_.all_reduce(reduce, ReduceOp::sum);
    rewards_all -= c.algorithm.kl_coef * reduce[0];
    for (int64_t pos : kept) {
      auto& rec = samples[static_cast<size_t>(pos)].record;
      rec.components["kl_penalty"] = -c.algorithm.kl_coef * reduce[0][pos].item<double>();
      rec.reward = rewards_all[pos].item<double>();
    }
  }

  // Advantages over the kept groups (the same numbers on every rank).
  at::Tensor advantages;
  if (!kept.empty()) {
    auto index = at::tensor(kept, at::kLong);
    auto group_ids = rewards.group_ids.index_select(0, index);
    group_ids = std::get<1>(at::_unique2(group_ids, true, true));  // inverse: dense 0..k-1
    advantages = group_advantages(c.algorithm.adv_estimator, rewards_all.index_select(0, index).to(at::kFloat),
                                  group_ids, c.algorithm.adv_eps, rewards.lengths.index_select(0, index));
    for (size_t k = 0; k < kept.size(); ++k) {
      samples[static_cast<size_t>(kept[k])].record.advantage = advantages[static_cast<int64_t>(k)].item<double>();
    }
    add_advantage_metrics(m, advantages);
    for (size_t i = 0; i < sequences.size(); ++i) {
      sequences[i].advantage = *samples[static_cast<size_t>(sequence_sample[i])].record.advantage;
    }
  } else {
    spdlog::warn("step {}: no group with different rewards; no update", step);
  }

  UpdateOptions uo;
  uo.micro_batch_size = c.algorithm.micro_batch_size;
  uo.ppo_epochs = c.algorithm.ppo_epochs;
  uo.policy_loss = c.algorithm.policy_loss;
  uo.clip = {c.algorithm.clip_ratio_low, c.algorithm.clip_ratio_high, c.algorithm.dual_clip_c};
  uo.loss_agg = parse_loss_agg(c.algorithm.loss_agg_mode);
  uo.norm_constant = static_cast<double>(c.rollout.max_new_tokens);
  uo.kl_coef = c.algorithm.kl_in_reward ? 0.0 : c.algorithm.kl_coef;
  uo.kl_estimator = parse_kl_estimator(c.algorithm.kl_estimator);
  uo.entropy_coef = c.algorithm.entropy_coef;
  uo.temperature = c.rollout.temperature;
  uo.grad_clip = c.optim.grad_clip;
  uo.pad_token_id = assets_.pad_token_id;
  std::vector<std::vector<const UpdateSequence*>> minibatches(static_cast<size_t>(kept.empty() ? 0 : num_mb));
  for (size_t i = 0; i < sequences.size(); ++i)
    minibatches[static_cast<size_t>(sequence_mb[i])].push_back(&sequences[i]);
  const double lr = lr_at(schedule_, step - 1);
  const auto local_stats = ppo_update(*policy_, *optimizer_, *gradients_, comm_, minibatches, uo, lr);
  add_update_metrics(m, reduce_update_stats(comm_, local_stats), static_cast<bool>(reference_));
  m["lr"] = lr;

  // Times: the slowest rank's.
  const double step_s = seconds_since(step_start);
  m["time_generate_s"] = comm_.all_reduce_max(rollout_total.generate_s);
  m["time_render_s"] = comm_.all_reduce_max(rollout_total.render_s);
  m["time_critic_s"] = comm_.all_reduce_max(rollout_total.critic_s);
  m["time_rollout_s"] = comm_.all_reduce_max(rollout_total.wall_s);
  m["time_update_s"] = comm_.all_reduce_max(seconds_since(update_start));
  m["time_forward_backward_s"] = comm_.all_reduce_max(local_stats.forward_backward_s);
  m["time_optimizer_s"] = comm_.all_reduce_max(local_stats.optimizer_s);
  m["time_step_s"] = comm_.all_reduce_max(step_s);
  double response_tokens = 0;
  for (const auto& s : samples) response_tokens += static_cast<double>(s.record.sample.response_len);
  m["tokens_per_s"] = response_tokens / std::max(m["time_step_s"].get<double>(), 1e-9);
  m["epoch"] = sampler_->state().epoch;

  if (comm_.is_main()) write_rollouts(step, samples);
  return m;
}

void Trainer::write_rollouts(int64_t step, const std::vector<RolloutSample>& samples) const {
  const auto& log = config_.logging;
  if (log.log_rollouts) write_rollout_log(run_dir_.rollouts_dir() / fmt::format("step_{}.jsonl", step), samples);
  if (log.images_every > 0 && step % log.images_every == 0) {
    for (const auto& s : samples) {
      if (!s.rendered) continue;
      const auto path = rollout_image_path(run_dir_.rollouts_dir(), step, s.record.sample.id);
      std::filesystem::create_directories(path.parent_path());
      render::write_png(path, *s.rendered);
    }
  }
}

}  // namespace visrl::trainer
