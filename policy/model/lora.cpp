#include "policy/model/lora.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/error.h"
#include "core/safetensors.h"

namespace visrl::policy {
namespace {

bool ends_with_module(const std::string& path, const std::string& name) {
  return path == name ||
         (path.size() > name.size() && path.compare(path.size() - name.size(), name.size(), name) == 0 &&
          path[path.size() - name.size() - 1] == '.');
}

bool full_match(const std::string& pattern, const std::string& path) {
  try {
    return std::regex_match(path, std::regex(pattern));
  } catch (const std::regex_error& e) {
    fail(ErrorKind::config, "LoRA module pattern '{}' is not a regular expression: {}", pattern, e.what());
  }
}

bool matches(const std::vector<std::string>& names, const std::string& regex, const std::string& path) {
  if (!regex.empty()) return full_match(regex, path);
  for (const auto& name : names) {
    if (ends_with_module(path, name)) return true;
  }
  return false;
}

// Every Linear layer by module path, in module order.
std::vector<std::pair<std::string, LinearImpl*>> linear_layers(Qwen3VLImpl& model) {
  std::vector<std::pair<std::string, LinearImpl*>> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (auto* linear = dynamic_cast<LinearImpl*>(item.value().get())) out.emplace_back(item.key(), linear);
  }
  return out;
}

}  // namespace

bool lora_targets(const LoraSpec& spec, const std::string& path) {
  if (matches(spec.exclude_modules, spec.exclude_regex, path)) return false;
  if (spec.target_regex.empty() && spec.target_modules.size() == 1 && spec.target_modules[0] == "all-linear") {
    return path != "lm_head";  // PEFT leaves the output layer out of all-linear
  }
  return matches(spec.target_modules, spec.target_regex, path);
}

std::vector<std::string> add_lora(Qwen3VLImpl& model, const LoraSpec& spec, uint64_t seed) {
  if (model.lora) fail(ErrorKind::config, "the model already has LoRA adapters");
  if (spec.rank < 1) fail(ErrorKind::config, "model.lora.rank must be >= 1 to add adapters, got {}", spec.rank);
  if (spec.init != "default" && spec.init != "gaussian") {
    fail(ErrorKind::config, "model.lora.init: '{}' is not one of default, gaussian", spec.init);
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<std::string> adapted;
  torch::NoGradGuard no_grad;
  for (auto& [path, linear] : linear_layers(model)) {
    if (!lora_targets(spec, path)) continue;
    const int64_t out = linear->weight.size(0), in = linear->weight.size(1);
    auto a = at::empty({spec.rank, in}, at::kFloat);  // drawn on the CPU: the same on every device
    if (spec.init == "gaussian") {
      a.normal_(0.0, 1.0 / static_cast<double>(spec.rank), generator);
    } else {
      // kaiming_uniform_(a = sqrt(5)) as torch.nn.Linear and PEFT: U(-1/sqrt(in), 1/sqrt(in))
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));
      a.uniform_(-bound, bound, generator);
    }
    auto adapter = std::make_shared<LoraAdapter>();
    const auto device = linear->weight.device();
    adapter->A = a.to(device).requires_grad_(true);
    adapter->B = at::zeros({out, spec.rank}, at::TensorOptions(at::kFloat).device(device)).requires_grad_(true);
    adapter->scaling = spec.scaling();
    adapter->dropout = spec.dropout;
    linear->lora = std::move(adapter);
    adapted.push_back(path);
  }
  if (adapted.empty()) {
    fail(ErrorKind::config, "model.lora.target_modules: [{}]{} matches no Linear layer of the model",
         fmt::join(spec.target_modules, ", "), spec.target_regex.empty() ? "" : " / " + spec.target_regex);
  }
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  model.lora = std::make_shared<const LoraSpec>(spec);
  return adapted;
}

std::vector<std::pair<std::string, std::shared_ptr<LoraAdapter>>> lora_adapters(Qwen3VLImpl& model) {
  std::vector<std::pair<std::string, std::shared_ptr<LoraAdapter>>> out;
  for (auto& [path, linear] : linear_layers(model)) {
    if (linear->lora) out.emplace_back(path, linear->lora);
  }
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> lora_parameters(Qwen3VLImpl& model) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (auto& [path, adapter] : lora_adapters(model)) {
    out.emplace_back(path + ".lora_A.weight", adapter->A);
    out.emplace_back(path + ".lora_B.weight", adapter->B);
  }
  return out;
}

void set_lora_dropout(Qwen3VLImpl& model, double dropout) {
  if (!model.lora) return;
  for (auto& [path, adapter] : lora_adapters(model)) adapter->dropout = dropout;
  auto spec = *model.lora;
  spec.dropout = dropout;
  model.lora = std::make_shared<const LoraSpec>(std::move(spec));
}

LoraDisabled::LoraDisabled(Qwen3VLImpl& model) {
  for (auto& [path, adapter] : lora_adapters(model)) {
    if (adapter->merged) fail(ErrorKind::runtime, "{}: LoRA adapters cannot be switched off while merged", path);
    if (!adapter->enabled) continue;
    adapter->enabled = false;
    adapters_.push_back(adapter);
  }
}

LoraDisabled::~LoraDisabled() {
  for (auto& adapter : adapters_) adapter->enabled = true;
}

namespace {

void add_delta(at::Tensor& weight, const LoraAdapter& adapter) {
  // One rounding: the sum is made in float32 and cast once to the base's dtype. A few MiB of
  // rows at a time: whole-layer float32 temporaries (up to 50 MiB at 2B) left the CPU heap
  // 1.7 GiB larger after merging a bf16 2B policy, a peak beyond the planned one.
  const int64_t out = weight.size(0), in = weight.size(1);
  const int64_t rows = std::max<int64_t>(1, kLoraMergeChunkBytes / (in * 4));
  for (int64_t first = 0; first < out; first += rows) {
    const int64_t n = std::min(rows, out - first);
    auto w = weight.narrow(0, first, n);                                                  // [n, in]
    auto delta = at::matmul(adapter.B.narrow(0, first, n), adapter.A) * adapter.scaling;  // [n, r] x [r, in]
    w.copy_(w.to(at::kFloat).add_(delta));
  }
}

}  // namespace

LoraMerged::LoraMerged(Qwen3VLImpl& model) : model_(model) {
  torch::NoGradGuard no_grad;
  for (auto& [path, linear] : linear_layers(model)) {
    if (!linear->lora || linear->lora->merged || !linear->lora->enabled) continue;
    if (model.loaded_from.empty()) copies_.push_back(linear->weight.clone());
    add_delta(linear->weight, *linear->lora);
    linear->lora->merged = true;
    merged_.emplace_back(path, linear);
  }
}

void LoraMerged::unmerge() {
  if (merged_.empty()) return;
  torch::NoGradGuard no_grad;
  if (model_.loaded_from.empty()) {
    for (size_t i = 0; i < merged_.size(); ++i) merged_[i].second->weight.copy_(copies_[i]);
  } else {
    // The same read, with the same cast, as load_pretrained's: the base comes back bit for bit.
    const auto checkpoint = safetensors::Checkpoint::open(model_.loaded_from);
    at::Tensor staging;
    safetensors::CopyOptions copy;
    copy.staging = &staging;
    for (auto& [path, linear] : merged_) checkpoint.copy_into(path + ".weight", linear->weight, copy);
  }
  for (auto& [path, linear] : merged_) linear->lora->merged = false;
  merged_.clear();
  copies_.clear();
}

LoraMerged::~LoraMerged() noexcept(false) {
  if (std::uncaught_exceptions() == 0) {
    unmerge();
    return;
  }
  try {  // already unwinding: a second exception would terminate
    unmerge();
  } catch (const std::exception& e) {
    spdlog::error("putting the LoRA base weights back failed: {}", e.what());
  }
}

void merge_lora_into_base(Qwen3VLImpl& model) {
  torch::NoGradGuard no_grad;
  for (auto& [path, linear] : linear_layers(model)) {
    if (!linear->lora) continue;
    if (!linear->lora->merged && linear->lora->enabled) add_delta(linear->weight, *linear->lora);
    linear->lora.reset();
  }
  model.lora.reset();
}

}  // namespace visrl::policy
