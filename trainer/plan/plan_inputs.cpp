#include "trainer/plan/plan_inputs.h"

#include <algorithm>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/device.h"
#include "core/error.h"
#include "core/memory_info.h"
#include "policy/image/image_processor.h"
#include "policy/model/lora_checkpoint.h"
#include "trainer/loop/config_options.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

constexpr int64_t kPromptTextTokens = 256;  // the task instruction and the chat template around the image
constexpr int64_t kCriticTextTokens = 512;  // the critic's instruction and template around its two images

policy::Qwen3VLConfig model_config(const std::string& dir, const std::string& key) {
  if (dir.empty()) fail(ErrorKind::config, "{}: the checkpoint directory is required to plan memory", key);
  if (!fs::is_directory(dir)) fail(ErrorKind::config, "{}: {}: no such checkpoint directory", key, dir);
  const fs::path file = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(file)) fail(ErrorKind::config, "{}: {}: no config.json to plan memory from", key, dir);
  return policy::Qwen3VLConfig::from_file(file);
}

// The pixel budget of images for a model directory: the override, else its preprocessor config,
// else the image processor's default.
int64_t max_pixels_of(const std::string& dir, int64_t override_pixels) {
  if (override_pixels > 0) return override_pixels;
  const fs::path file = fs::path(dir) / "preprocessor_config.json";
  if (fs::is_regular_file(file)) return policy::ImageProcessorConfig::from_file(file).max_pixels;
  return policy::ImageProcessorConfig{}.max_pixels;
}

// Patches of an image of `pixels` pixels on a model's patch grid (one temporal patch: a still image).
int64_t patches_for(const policy::VisionConfig& v, int64_t pixels) {
  const int64_t merge = v.patch_size * v.spatial_merge_size;
  const int64_t blocks = std::max<int64_t>(pixels / (merge * merge), 1);  // 2x2 merge blocks
  return blocks * v.spatial_merge_size * v.spatial_merge_size;
}

}  // namespace

MemoryBudget gpus_budget(const std::string& spec) {
  static const std::regex form(R"((\d+)\s*[xX]\s*(\S+))");
  std::smatch m;
  if (!std::regex_match(spec, m, form)) {
    fail(ErrorKind::usage, "--gpus: '{}' is not COUNTxSIZE, e.g. 8x80GB", spec);
  }
  MemoryBudget budget;
  budget.cuda = true;
  budget.ranks = std::stoll(m[1].str());
  if (budget.ranks < 1) fail(ErrorKind::usage, "--gpus: '{}': the GPU count must be at least 1", spec);
  budget.bytes_per_rank = parse_memory_size(m[2].str(), "--gpus");
  budget.source = fmt::format("--gpus {}", spec);
  return budget;
}

MemoryBudget host_budget(const std::string& spec) {
  MemoryBudget budget;
  budget.bytes_per_rank = parse_memory_size(spec, "--memory");
  budget.source = fmt::format("--memory {}", spec);
  return budget;
}

MemoryBudget detected_budget(const Config& config, int64_t ranks, int64_t ranks_on_host) {
  MemoryBudget budget;
  budget.ranks = std::max<int64_t>(ranks, 1);
  const auto device = resolve_device(config.model.device, "model.device");
  if (device.is_cuda()) {
    budget.cuda = true;
    budget.bytes_per_rank = cuda_total_memory(device);
    budget.source = fmt::format("{}'s total memory", device.str());
    return budget;
  }
  const auto host = host_memory();
  const int64_t sharing = std::max<int64_t>(ranks_on_host, 1);
  budget.bytes_per_rank = host.bytes / sharing;
  budget.source = sharing > 1 ? fmt::format("{} / {} ranks on this host", host.source, sharing) : host.source;
  return budget;
}

PlanInputs plan_inputs_for(const Config& c, const MemoryBudget& budget) {
  PlanInputs in;
  // A PEFT adapter directory as model.path: the shapes and files are its base's.
  std::string base = c.model.path;
  if (!base.empty() && policy::is_adapter_dir(base)) {
    in.lora = policy::read_adapter_spec(base);
    base = policy::adapter_base_dir(base).string();
  } else if (!c.model.lora.path.empty()) {
    in.lora = policy::read_adapter_spec(c.model.lora.path);
  } else if (c.model.lora.rank > 0) {
    in.lora = lora_spec(c);
  }
  in.policy = model_config(base, "model.path");
  in.cuda = budget.cuda;
  in.world_size = budget.ranks;
  in.budget_bytes = budget.bytes_per_rank;
  in.budget_source = budget.source;
  std::error_code ec;
  const auto tokenizer_bytes = fs::file_size(fs::path(base) / "tokenizer.json", ec);
  in.tokenizer_json_bytes = ec ? 0 : static_cast<int64_t>(tokenizer_bytes);
  // An image at the pixel budget, but no more of it than data.max_prompt_tokens lets through.
  const int64_t merge = in.policy.vision.spatial_merge_size * in.policy.vision.spatial_merge_size;
  const int64_t image_tokens = std::min(patches_for(in.policy.vision, max_pixels_of(base, c.model.max_pixels)) / merge,
                                        std::max<int64_t>(c.data.max_prompt_tokens - kPromptTextTokens, 1));
  in.image_patches = image_tokens * merge;
  in.prompt_tokens = std::min(c.data.max_prompt_tokens, image_tokens + kPromptTextTokens);
  if (c.reward.critic == "visual_erm") {
    in.critic = model_config(c.reward.visual_erm.model_path, "reward.visual_erm.model_path");
    const int64_t side = c.reward.max_image_side;
    const int64_t pixels = side > 0 ? side * side : max_pixels_of(c.reward.visual_erm.model_path, 0);
    const auto& v = in.critic->vision;
    in.critic_prompt_tokens =
        2 * patches_for(v, pixels) / (v.spatial_merge_size * v.spatial_merge_size) + kCriticTextTokens;
  }
  return in;
}

}  // namespace visrl::trainer
