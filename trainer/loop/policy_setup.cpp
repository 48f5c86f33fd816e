#include "trainer/loop/policy_setup.h"

#include <cstdlib>

#include "core/device.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/model_dtype.h"

namespace visrl::trainer {

policy::PolicyAssets load_policy_assets(const Config& config) {
  if (config.model.path.empty()) fail(ErrorKind::config, "model.path: the policy checkpoint directory is required");
  if (!std::filesystem::is_directory(config.model.path)) {
    fail(ErrorKind::config, "model.path: {}: no such checkpoint directory", config.model.path);
  }
  auto assets = policy::PolicyAssets::load(config.model.path);
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

TrainableParameters trainable_parameters(policy::Qwen3VLImpl& model, bool freeze_vision) {
  TrainableParameters out;
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
