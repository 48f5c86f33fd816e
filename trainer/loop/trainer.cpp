#include "trainer/loop/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/device.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "reward/make_critic.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"
#include "trainer/checkpoint/resume.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/distributed/rank_errors.h"
#include "trainer/loop/config_options.h"
#include "trainer/loop/console.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/step_metrics.h"
#include "trainer/loop/validation.h"
#include "trainer/plan/memory_stage.h"
#include "trainer/report/run_reports.h"
#include "trainer/report/tensorboard_writer.h"
#include "trainer/report/wandb_logger.h"

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

// "step_M (12.3 MiB) stays the newest checkpoint", for a failed save's message.
std::string newest_checkpoint_description(const std::filesystem::path& checkpoints) {
  const auto all = list_checkpoints(checkpoints);
  if (all.empty()) return "there is no earlier checkpoint";
  const auto& [step, dir] = all.back();
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != decltype(it)();
       it.increment(ec)) {
    if (it->is_regular_file(ec)) bytes += it->file_size(ec);
  }
  return fmt::format("step_{} ({:.1f} MiB) stays the newest checkpoint", step, static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

Trainer::Trainer(const Config& config, const RunDir& run_dir, Communicator& comm,
                 const std::optional<std::filesystem::path>& resume_from)
    : config_(config),
      run_dir_(run_dir),
      comm_(comm),
      device_(training_device(config, comm)),
      assets_(load_policy_assets(config)),
      faults_(injected_faults([](const char* name) { return std::getenv(name); })) {
  const auto& c = config_;
  if (c.data.train.empty()) fail(ErrorKind::config, "data.train: at least one JSONL manifest is required");
  if (c.algorithm.mini_batch_prompts < 1) fail(ErrorKind::config, "algorithm.mini_batch_prompts must be >= 1");
  if (c.rollout.prompts_per_step < 1) fail(ErrorKind::config, "rollout.prompts_per_step must be >= 1");

  items_ = load_data(c.data.train, parse_invalid_rows(c.data.invalid_rows), c.data.columns);
  std::vector<DataItem> val_items;
  if (!c.data.val.empty()) {
    val_items = load_data(c.data.val, parse_invalid_rows(c.data.invalid_rows), c.data.columns);
    val_items.resize(validation_size(val_items.size(), c.validation));
  }
  instructions_ = TaskInstructions::load(c.data.prompt_dir);
  sampler_ = std::make_unique<PromptSampler>(static_cast<int64_t>(items_.size()), c.seed, c.data.shuffle);

  policy::LoadOptions load;
  load.device = device_;
  load.dtype = training_dtype(c, device_);
  // A resumed run continues from the checkpoint's weights (or adapters); the reference stays
  // the initial policy.
  {
    MemoryStage stage("loading the policy weights");
    policy_ = load_policy(c, load, resume_from ? std::optional(*resume_from / "model") : std::nullopt);
  }
  policy_->language_model->gradient_checkpointing = c.model.gradient_checkpointing;
  auto trainable = trainable_parameters(*policy_, c.model.freeze_vision);
  const int64_t frozen = trainable.frozen_numel;
  has_reference_ = c.algorithm.kl_coef != 0;
  if (has_reference_ && !policy::has_lora(*policy_)) {
    MemoryStage stage("loading the reference model (algorithm.kl_coef != 0)");
    reference_ = policy::load_pretrained(c.model.path, load);
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  std::vector<at::Tensor> params;
  for (const auto& [name, p] : trainable.named) params.push_back(p);
  {
    MemoryStage stage("allocating the AdamW state and the gradient accumulators");
    optimizer_ =
        std::make_unique<ShardedAdamW>(trainable.named, adamw_options(c), comm_, c.distributed.shard_optimizer);
    gradients_ = make_gradient_buckets(c, params);
  }
  update_options_ = update_options(c, assets_.pad_token_id);
  schedule_ = lr_schedule(c, static_cast<int64_t>(items_.size()), c.rollout.prompts_per_step);

  formula_.emplace(reward::RewardFormula::compile(reward::FormulaSpec::from_config(c.reward)));
  pool_ = std::make_unique<render::RenderPool>(render::pool_options_from(c.render));
  // Items without an image get one drawn from their ground truth: rank 0 renders into the run
  // directory, the others use the files.
  prepare_references(items_, comm_, c.render, run_dir_.root() / "references", c.data.pdf_dpi, pool_.get());
  if (!val_items.empty())
    prepare_references(val_items, comm_, c.render, run_dir_.root() / "references", c.data.pdf_dpi, pool_.get());
  {
    MemoryStage stage("loading the critic");
    critic_ = reward::make_critic(c);
  }
  validator_ = std::make_unique<Validator>(config_, run_dir_, comm_, std::move(val_items),
                                           ValidationDeps{rollout_deps(), assets_, instructions_, *formula_});
  if (resume_from) resume(*resume_from);
  open_backends(resume_from.has_value());
  int64_t trainable_numel = 0;
  for (const auto& p : params) trainable_numel += p.numel();
  spdlog::info("policy {} on {} ({}), {} trainable parameters{}; {} training items; {} steps; critic {}; rank {}/{}",
               c.model.path, device_.str(), policy::dtype_name(*load.dtype), trainable_numel,
               frozen == 0                  ? ""
               : policy::has_lora(*policy_) ? fmt::format(" (LoRA adapters; {} frozen in the base)", frozen)
                                            : fmt::format(" ({} frozen in the vision tower)", frozen),
               items_.size(), schedule_.total_steps, critic_->name(), comm_.rank(), comm_.world_size());
}

// Rank 0's metrics backends. TensorBoard: a new event file per start, the config as text on a
// fresh start. W&B: the sidecar, continuing the run of the run directory's id.
void Trainer::open_backends(bool resumed) {
  const auto& backends = config_.logging.backends;
  const auto wants = [&](const char* name) {
    return std::find(backends.begin(), backends.end(), name) != backends.end();
  };
  if (!comm_.is_main()) return;
  auto fanout = std::make_unique<BackendFanout>();
  if (wants("tensorboard")) {
    auto tensorboard = std::make_unique<TensorBoardWriter>(run_dir_.root() / "tensorboard",
                                                           resumed ? std::optional(start_step_) : std::nullopt);
    if (!resumed) tensorboard->text(0, "config", "```yaml\n" + to_yaml(config_) + "```\n");
    tensorboard->flush();
    fanout->add(std::move(tensorboard));
  }
  if (wants("wandb"))
    fanout->add(std::make_unique<WandbLogger>(wandb_options(config_), run_dir_.root(), to_yaml(config_)));
  if (!fanout->empty()) backends_ = std::move(fanout);
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

RolloutDeps Trainer::rollout_deps() {
  return {*policy_, assets_.tokenizer, *pool_, *critic_, config_.render};
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
  last_good_step_ = saved.step;
  validator_->best().restore(saved.step);
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

bool Trainer::save_checkpoint(int64_t step) {
  MemoryStage stage("saving a checkpoint");
  const auto start = Clock::now();
  CheckpointContents contents;
  contents.policy = policy_.get();
  contents.optimizer = config_.checkpoint.model_only ? nullptr : optimizer_.get();
  contents.state = state_after(step);
  contents.config_yaml = to_yaml(config_);
  contents.assets_from = config_.model.path;
  contents.max_shard_bytes = static_cast<uint64_t>(config_.checkpoint.max_shard_mb) << 20;
  const auto checkpoints = run_dir_.checkpoints_dir();
  std::filesystem::path dir;
  try {
    dir = trainer::save_checkpoint(checkpoints, contents, comm_);
  } catch (const Error& e) {
    // Every rank has the same Error(io) (on_every_rank); a lost rank is Error(runtime).
    if (e.kind() != ErrorKind::io) throw;
    report_failed_save(step, e);
    return false;
  }
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
  return true;
}

// A save that failed part-way (a full disk, a lost mount): its half-written directory goes, so
// that it frees what it took; `latest` and the previous checkpoints were never touched.
void Trainer::report_failed_save(int64_t step, const Error& error) {
  const auto checkpoints = run_dir_.checkpoints_dir();
  auto partial = checkpoint_path(checkpoints, step);
  partial += ".tmp";
  std::error_code ec;
  if (comm_.is_main()) std::filesystem::remove_all(partial, ec);
  const auto space = std::filesystem::space(checkpoints, ec);
  const std::string free_space =
      ec ? "unknown free space" : fmt::format("{:.1f} MiB free", static_cast<double>(space.available) / (1 << 20));
  const std::string message =
      fmt::format("checkpoint step_{} could not be saved in {} ({} there; {}): {}", step, checkpoints.string(),
                  free_space, newest_checkpoint_description(checkpoints), error.what());
  if (config_.checkpoint.on_save_error == "stop")
    fail(ErrorKind::io, "{}; stopping (checkpoint.on_save_error: stop): make room, then continue with --resume auto",
         message);
  if (comm_.is_main()) spdlog::error("{}; training goes on (checkpoint.on_save_error: continue)", message);
}

void Trainer::check_bad_steps(int64_t step, const nlohmann::json& metrics) {
  if (metrics.value("bad_step", 0) == 1) {
    ++bad_steps_in_a_row_;
  } else if (metrics.contains("optimizer_steps")) {
    bad_steps_in_a_row_ = 0;
    last_good_step_ = step;
  }
  const int64_t limit = config_.optim.max_bad_steps;
  if (bad_steps_in_a_row_ < limit) return;
  const bool saved = save_checkpoint(step);
  fail(
      ErrorKind::runtime,
      "{} steps in a row had a NaN/inf loss or gradient (the last at step {}; optim.max_bad_steps: {}), so none "
      "was applied: stopping. The weights are those after step {}{}. Check those steps' rollouts "
      "(rollouts/step_N.jsonl), lower optim.lr or raise optim.max_bad_steps, then continue with --resume auto",
      bad_steps_in_a_row_, step, limit, last_good_step_,
      saved ? fmt::format(", saved as checkpoint step_{}", step) : std::string(" (the checkpoint could not be saved)"));
}

int64_t Trainer::run(const std::atomic<bool>& stop, int64_t stop_after_step) {
  Console console(config_.logging.progress_bar, schedule_.total_steps, comm_.is_main());
  const int64_t every = config_.checkpoint.every_steps;
  const int64_t last = stop_after_step > 0 ? std::min(stop_after_step, schedule_.total_steps) : schedule_.total_steps;
  int64_t done = 0;
  if (validator_->before_and_after() && start_step_ == 0 && last > 0) validator_->run(0);
  bool signalled = false;
  for (int64_t step = start_step_ + 1; step <= last; ++step) {
    auto metrics = train_step(step);
    ++done;
    if (validator_->due_at(step)) {
      const auto validation = validator_->run(step);
      for (const auto& [key, value] : validation.items()) metrics["val/" + key] = value;
    }
    if (comm_.is_main()) {
      append_metrics_line(run_dir_.metrics_path(), metrics);
      console.step(metrics);
      if (backends_) {
        backends_->scalars(step, metrics);
        backends_->flush();
      }
    }
    check_bad_steps(step, metrics);  // the same metrics on every rank: all stop together
    // Every rank stops at the same step when any of them was asked to.
    signalled = comm_.all_reduce_max(stop.load() ? 1.0 : 0.0) > 0;
    if ((every > 0 && step % every == 0) || signalled || step == last) save_checkpoint(step);
    if (signalled || (step == last && last < schedule_.total_steps)) {
      spdlog::warn("stopped after step {} of {}; continue with --resume auto", step, schedule_.total_steps);
    }
    if (signalled) break;
  }
  console.finish();
  save_final_policy(start_step_ + done);
  // The schedule is done: how the policy does now against how it did before the first step.
  const int64_t reached = start_step_ + done;
  if (validator_->before_and_after() && !signalled && reached == schedule_.total_steps && done > 0)
    validator_->write_summary(reached);
  backends_.reset();  // W&B hands its run over (wandb.finish)
  return done;
}

void Trainer::save_final_policy(int64_t step) {
  on_every_rank(
      comm_, "saving the final policy",
      [&] {
        if (!comm_.is_main()) return;
        // The trained weights as a plain Hugging Face directory, whatever the checkpoint settings.
        const auto final_dir = run_dir_.root() / "final";
        policy::SaveOptions save;
        save.copy_assets_from = config_.model.path;
        save_policy_atomically(*policy_, final_dir, save);
        std::map<std::string, std::filesystem::path> references;
        for (const auto& item : items_) references[item.id] = item.image;
        write_final_reports(run_dir_, config_.logging, references);
        spdlog::info("policy after step {} saved to {}", step, final_dir.string());
      },
      ErrorKind::io);
}

}  // namespace visrl::trainer
