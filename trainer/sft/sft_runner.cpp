#include "trainer/sft/sft_runner.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "trainer/checkpoint/checkpoint_io.h"
#include "trainer/data/folder_dataset.h"
#include "trainer/data/reference_images.h"
#include "trainer/distributed/rank_errors.h"
#include "trainer/loop/config_options.h"
#include "trainer/loop/policy_setup.h"
#include "trainer/loop/step_metrics.h"
#include "trainer/sft/sft_data.h"
#include "trainer/sft/sft_step.h"

namespace visrl::trainer {
namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

SftRunner::SftRunner(const Config& config, const RunDir& run_dir, Communicator& comm, const SftOptions& options)
    : config_(config), run_dir_(run_dir), comm_(comm), options_(options), assets_(load_policy_assets(config)) {
  const auto& c = config_;
  if (options_.batch_size < 1) fail(ErrorKind::usage, "--batch-size must be >= 1");
  if (c.data.train.empty()) fail(ErrorKind::config, "data.train: at least one manifest or folder is required");
  items_ = load_data(c.data.train, parse_invalid_rows(c.data.invalid_rows), c.data.columns);
  for (const auto& item : items_) require_ground_truth(item);  // before any step, not at the item's turn
  prepare_references(items_, comm_, c.render, run_dir_.root() / "references", c.data.pdf_dpi);
  instructions_ = TaskInstructions::load(c.data.prompt_dir);
  sampler_ = std::make_unique<PromptSampler>(static_cast<int64_t>(items_.size()), c.seed, c.data.shuffle);

  const auto device = training_device(c, comm_);
  policy::LoadOptions load;
  load.device = device;
  load.dtype = training_dtype(c, device);
  policy_ = load_policy(c, load);
  policy_->language_model->gradient_checkpointing = c.model.gradient_checkpointing;
  auto trainable = trainable_parameters(*policy_, c.model.freeze_vision);
  std::vector<at::Tensor> params;
  for (const auto& [name, p] : trainable.named) params.push_back(p);
  optimizer_ = std::make_unique<ShardedAdamW>(trainable.named, adamw_options(c), comm_, c.distributed.shard_optimizer);
  gradients_ = make_gradient_buckets(c, params);
  schedule_ = lr_schedule(c, static_cast<int64_t>(items_.size()), options_.batch_size);
  spdlog::info("SFT of {} on {} ({}): {} items, {} steps of {} items, lr {}; rank {}/{}", c.model.path, device.str(),
               policy::dtype_name(*load.dtype), items_.size(), schedule_.total_steps, options_.batch_size, schedule_.lr,
               comm_.rank(), comm_.world_size());
}

nlohmann::json SftRunner::step(int64_t step) {
  const auto start = Clock::now();
  const auto items = sampler_->next(options_.batch_size);
  const auto [lo, hi] = rank_slice(options_.batch_size, comm_.rank(), comm_.world_size());
  std::vector<SftExample> examples;
  examples.reserve(static_cast<size_t>(hi - lo));
  for (int64_t i = lo; i < hi; ++i) {
    examples.push_back(make_sft_example(items_[static_cast<size_t>(items[static_cast<size_t>(i)])], assets_,
                                        instructions_, config_.data.max_prompt_tokens, options_.max_answer_tokens));
  }
  std::vector<SequenceRef> refs;
  for (const auto& ex : examples) refs.push_back({&ex.prompt.input, &ex.answer});
  SftStepOptions o;
  o.micro_batch_size = options_.micro_batch_size;
  o.grad_clip = config_.optim.grad_clip;
  o.pad_token_id = assets_.pad_token_id;
  o.logprob_chunk_tokens = config_.model.logprob_chunk_tokens;
  const double lr = lr_at(schedule_, step - 1);
  const auto stats = sft_step(*policy_, *optimizer_, *gradients_, comm_, refs, o, lr);
  const double step_s = comm_.all_reduce_max(std::chrono::duration<double>(Clock::now() - start).count());
  return {{"step", step},
          {"loss", stats.loss},
          {"tokens", stats.tokens},
          {"grad_norm", stats.grad_norm},
          {"lr", lr},
          {"epoch", sampler_->state().epoch},
          {"time_step_s", step_s},
          {"tokens_per_s", stats.tokens / std::max(step_s, 1e-9)}};
}

int64_t SftRunner::run(const std::atomic<bool>& stop) {
  int64_t done = 0;
  for (int64_t s = 1; s <= schedule_.total_steps; ++s) {
    const auto m = step(s);
    ++done;
    if (comm_.is_main()) {
      append_metrics_line(run_dir_.metrics_path(), m);
      if (s == 1 || s % config_.logging.log_every == 0 || s == schedule_.total_steps) {
        spdlog::info("step {}/{}: loss {:.4f}, grad norm {:.3f}, lr {:.3g}, {:.0f} tokens/s", s, schedule_.total_steps,
                     m["loss"].get<double>(), m["grad_norm"].get<double>(), m["lr"].get<double>(),
                     m["tokens_per_s"].get<double>());
      }
    }
    if (comm_.all_reduce_max(stop.load() ? 1.0 : 0.0) > 0) {
      spdlog::warn("stopped after step {} of {}", s, schedule_.total_steps);
      break;
    }
  }
  on_every_rank(
      comm_, "saving the fine-tuned policy",
      [&] {
        if (!comm_.is_main()) return;
        policy::SaveOptions save;
        save.copy_assets_from = config_.model.path;
        save_policy_atomically(*policy_, run_dir_.root() / "final", save);
        spdlog::info("fine-tuned policy saved to {}", (run_dir_.root() / "final").string());
      },
      ErrorKind::io);
  return done;
}

}  // namespace visrl::trainer
