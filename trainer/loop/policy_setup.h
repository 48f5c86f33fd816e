// What GRPO (trainer.h) and SFT (sft/sft_runner.h) set up the same way from a configuration:
// the rank's device and dtype, the trainable parameters, the LR schedule and
// each rank's share of a global batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "policy/generate/prompt.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/qwen3vl.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/sharded_adamw.h"
#include "trainer/optim/lr_schedule.h"

namespace visrl::trainer {

// The tokenizer, image processor and generation settings of model.path; Error(config) when
// model.path is empty or not a directory.
policy::PolicyAssets load_policy_assets(const Config& config);

// model.device; with several ranks a bare "cuda" / "auto" means this rank's local GPU
// (LOCAL_RANK or SLURM_LOCALID).
at::Device training_device(const Config& config, const Communicator& comm);
// model.dtype; "auto" = bf16 on CUDA, float32 on the CPU.
at::ScalarType training_dtype(const Config& config, const at::Device& device);

// The policy to train: model.path (a checkpoint, or a PEFT adapter directory on its base),
// with LoRA adapters when model.lora asks for them (model.lora.path's, else fresh ones drawn
// from `seed`). `resume_model`, a checkpoint's model/ directory, replaces what is trained: its
// weights, or its adapters on model.path's base. Throws Error(config) when model.lora and the
// checkpoint or model.path disagree.
policy::Qwen3VL load_policy(const Config& config, const policy::LoadOptions& load,
                            const std::optional<std::filesystem::path>& resume_model = std::nullopt);

struct TrainableParameters {
  std::vector<std::pair<std::string, at::Tensor>> named;  // by name, as the optimizer keys them
  int64_t frozen_numel = 0;
};
// A LoRA policy's adapters alone (the base is frozen). Otherwise every parameter, except the
// vision tower's with model.freeze_vision (its mergers stay trainable: they map vision
// features into the LM); frozen ones get requires_grad false.
TrainableParameters trainable_parameters(policy::Qwen3VLImpl& model, bool freeze_vision);

// [first, last) of n items for rank r of w: contiguous, sizes differing by at most one.
std::pair<int64_t, int64_t> rank_slice(int64_t n, int rank, int world);
// optim.*; total steps = optim.total_steps, else data.epochs x items / items_per_step (>= 1).
// Throws Error(config) for an invalid schedule.
LrSchedule lr_schedule(const Config& config, int64_t items, int64_t items_per_step);

}  // namespace visrl::trainer
