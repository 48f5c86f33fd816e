#include "trainer/loop/policy_setup.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "core/device.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"
#include "policy/model/model_dtype.h"
#include "trainer/loop/config_options.h"

namespace visrl::trainer {

policy::PolicyAssets load_policy_assets(const Config& config) {
  if (config.model.path.empty()) fail(ErrorKind::config, "model.path: the policy checkpoint directory is required");
  if (!std::filesystem::is_directory(config.model.path)) {
    fail(ErrorKind::config, "model.path: {}: no such checkpoint directory", config.model.path);
  }
  auto assets = policy::PolicyAssets::load(config.model.path);  // an adapter directory: its base's if it has none
  if (config.model.min_pixels > 0) assets.image_processor.min_pixels = config.model.min_pixels;
  if (config.model.max_pixels > 0) assets.image_processor.max_pixels = config.model.max_pixels;
  return assets;
}

at::Device training_device(const Config& config, const Communicator& comm) {
  auto device = resolve_device(config.model.device, "model.device");
  if (device.is_cuda() && comm.world_size() > 1 && config.model.device.find(':') == std::string::npos) {
    const char* local = std::getenv("LOCAL_RANK");
    if (local == nullptr) local = std::getenv("SLURM_LOCALID");
    device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(local ? std::atoi(local) : 0));
  }
  return device;
}

at::ScalarType training_dtype(const Config& config, const at::Device& device) {
  return policy::model_dtype(config.model.dtype, device.is_cuda(), "model.dtype");
}

policy::Qwen3VL load_policy(const Config& c, const policy::LoadOptions& load,
                            const std::optional<std::filesystem::path>& resume_model) {
  const bool lora_wanted = c.model.lora.rank > 0 || !c.model.lora.path.empty();
  if (c.model.lora.dropout > 0 && c.model.gradient_checkpointing) {
    fail(ErrorKind::config,
         "model.lora.dropout {} with model.gradient_checkpointing: a recomputed layer would draw other dropout masks "
         "than its forward; set one of them off",
         c.model.lora.dropout);
  }
  if (resume_model && !policy::is_adapter_dir(*resume_model)) {
    if (lora_wanted) {
      fail(ErrorKind::config, "model.lora: the checkpoint {} holds full weights, not LoRA adapters",
           resume_model->parent_path().string());
    }
    return policy::load_pretrained(*resume_model, load);
  }
  auto model = policy::load_pretrained(c.model.path, load);  // with its adapters if it is an adapter directory
  if (!c.model.lora.path.empty()) {
    if (policy::has_lora(*model)) {
      fail(ErrorKind::config, "model.lora.path: model.path {} is itself a LoRA adapter; give one of the two",
           c.model.path);
    }
    try {
      policy::load_adapter(*model, c.model.lora.path);
    } catch (const Error& e) {
      throw e.with_context("model.lora.path");
    }
  } else if (c.model.lora.rank > 0 && !policy::has_lora(*model)) {
    policy::add_lora(*model, lora_spec(c), c.seed);
  }
  if (resume_model) {
    if (policy::has_lora(*model)) {
      policy::load_adapter_weights(*model, *resume_model);
    } else {
      policy::load_adapter(*model, *resume_model);  // a LoRA run resumed without model.lora set
    }
  }
  // An adapter read from a directory brings the dropout it was trained with (PEFT's adapters
  // often say 0.05 or 0.1); this run trains with model.lora.dropout, which was checked against
  // gradient checkpointing above.
  if (policy::has_lora(*model) && model->lora->dropout != c.model.lora.dropout) {
    spdlog::info("LoRA dropout {} (model.lora.dropout) instead of the adapter's {}", c.model.lora.dropout,
                 model->lora->dropout);
    policy::set_lora_dropout(*model, c.model.lora.dropout);
  }
  return model;
}

TrainableParameters trainable_parameters(policy::Qwen3VLImpl& model, bool freeze_vision) {
  TrainableParameters out;
  if (policy::has_lora(model)) {
    for (const auto& p : model.parameters()) out.frozen_numel += p.numel();
    out.named = policy::lora_parameters(model);
    return out;
  }
  for (auto& p : model.named_parameters()) {
    const bool vision = p.key().rfind("model.visual.", 0) == 0 && p.key().find("merger") == std::string::npos;
    if (freeze_vision && vision) {
      p.value().set_requires_grad(false);
      out.frozen_numel += p.value().numel();
    } else {
      out.named.emplace_back(p.key(), p.value());
    }
  }
  return out;
}

std::pair<int64_t, int64_t> rank_slice(int64_t n, int rank, int world) {
  return {n * rank / world, n * (rank + 1) / world};
}

LrSchedule lr_schedule(const Config& c, int64_t items, int64_t items_per_step) {
  LrSchedule s;
  s.lr = c.optim.lr;
  s.kind = c.optim.schedule;
  s.warmup_steps = c.optim.warmup_steps;
  s.min_lr_ratio = c.optim.min_lr_ratio;
  s.total_steps = c.optim.total_steps > 0
                      ? c.optim.total_steps
                      : std::max<int64_t>(1, c.data.epochs * items / std::max<int64_t>(1, items_per_step));
  validate(s);
  return s;
}

}  // namespace visrl::trainer
