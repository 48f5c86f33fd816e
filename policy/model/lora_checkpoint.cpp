#include "policy/model/lora_checkpoint.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/json_file.h"
#include "core/safetensors.h"
#include "policy/model/lora.h"

namespace visrl::policy {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "base_model.model.";

// PEFT's target_modules / exclude_modules: a list of names or one regex string.
void read_modules(const nlohmann::json& config, const char* key, const fs::path& file, std::vector<std::string>& names,
                  std::string& regex) {
  const auto it = config.find(key);
  if (it == config.end() || it->is_null()) return;
  if (it->is_string()) {
    const auto value = it->get<std::string>();
    if (value == "all-linear") {
      names = {value};
    } else {
      regex = value;
    }
    return;
  }
  if (!it->is_array()) fail(ErrorKind::format, "{}: {} must be a list of module names or a string", file.string(), key);
  for (const auto& name : *it) {
    if (!name.is_string()) fail(ErrorKind::format, "{}: {} must hold module names (strings)", file.string(), key);
    names.push_back(name.get<std::string>());
  }
}

nlohmann::ordered_json modules_json(const std::vector<std::string>& names, const std::string& regex) {
  if (!regex.empty()) return regex;
  if (names.size() == 1 && names[0] == "all-linear") return names[0];
  if (names.empty()) return nullptr;
  return names;
}

// The keys of PEFT's LoraConfig whose non-default values change the model in ways visrl does
// not implement: each must be absent, null, false, "none" or empty.
void reject_unsupported(const nlohmann::json& config, const fs::path& file) {
  const auto unsupported = [&](const char* key, const char* what) {
    fail(ErrorKind::format, "{}: {} = {} ({}) is not supported by visrl's LoRA", file.string(), key,
         config.at(key).dump(), what);
  };
  for (const char* key : {"use_dora", "fan_in_fan_out", "lora_bias", "use_qalora"}) {
    if (config.contains(key) && config[key].is_boolean() && config[key].get<bool>()) unsupported(key, "a variant");
  }
  if (config.contains("bias") && config["bias"] != "none") unsupported("bias", "trained biases");
  for (const char* key :
       {"modules_to_save", "layers_to_transform", "layers_pattern", "target_parameters", "trainable_token_indices"}) {
    if (config.contains(key) && !config[key].is_null() && !config[key].empty())
      unsupported(key, "fully trained modules or a subset of layers");
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (config.contains(key) && !config[key].is_null() && !config[key].empty()) unsupported(key, "per-module ranks");
  }
}

safetensors::Checkpoint open_weights(const fs::path& dir) {
  const auto file = dir / kAdapterWeights;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    fail(ErrorKind::format, "{}: no {} (PEFT's adapter weights)", dir.string(), kAdapterWeights);
  }
  return safetensors::Checkpoint::open(file);
}

}  // namespace

bool is_adapter_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kAdapterConfig, ec);
}

nlohmann::ordered_json adapter_config_json(const LoraSpec& spec, const std::string& base_model) {
  nlohmann::ordered_json j;
  j["peft_type"] = "LORA";
  j["task_type"] = "CAUSAL_LM";
  j["base_model_name_or_path"] = base_model;
  j["r"] = spec.rank;
  j["lora_alpha"] = spec.alpha;
  j["lora_dropout"] = spec.dropout;
  j["use_rslora"] = spec.use_rslora;
  j["target_modules"] = modules_json(spec.target_modules, spec.target_regex);
  j["exclude_modules"] = modules_json(spec.exclude_modules, spec.exclude_regex);
  j["init_lora_weights"] = spec.init == "gaussian" ? nlohmann::ordered_json("gaussian") : nlohmann::ordered_json(true);
  j["bias"] = "none";
  j["fan_in_fan_out"] = false;
  j["use_dora"] = false;
  j["modules_to_save"] = nullptr;
  j["rank_pattern"] = nlohmann::ordered_json::object();
  j["alpha_pattern"] = nlohmann::ordered_json::object();
  j["inference_mode"] = true;
  return j;
}

LoraSpec read_adapter_spec(const fs::path& dir) {
  const auto file = dir / kAdapterConfig;
  const auto config = read_json_file(file, "LoRA adapter config");
  const auto get = [&](const char* key, auto fallback) {
    using T = decltype(fallback);
    const auto it = config.find(key);
    if (it == config.end() || it->is_null()) return fallback;
    try {
      return it->get<T>();
    } catch (const nlohmann::json::exception&) {
      fail(ErrorKind::format, "{}: {} has the wrong type ({})", file.string(), key, it->dump());
    }
  };
  if (get("peft_type", std::string("LORA")) != "LORA") {
    fail(ErrorKind::format, "{}: peft_type {} is not LORA", file.string(), config["peft_type"].dump());
  }
  reject_unsupported(config, file);
  LoraSpec spec;
  spec.rank = get("r", int64_t{8});
  spec.alpha = get("lora_alpha", 8.0);
  spec.dropout = get("lora_dropout", 0.0);
  spec.use_rslora = get("use_rslora", false);
  if (spec.rank < 1) fail(ErrorKind::format, "{}: r must be >= 1, got {}", file.string(), spec.rank);
  read_modules(config, "target_modules", file, spec.target_modules, spec.target_regex);
  read_modules(config, "exclude_modules", file, spec.exclude_modules, spec.exclude_regex);
  if (spec.target_modules.empty() && spec.target_regex.empty()) {
    fail(ErrorKind::format, "{}: target_modules is missing (PEFT writes the modules it adapted)", file.string());
  }
  const auto init = config.find("init_lora_weights");
  spec.init =
      init != config.end() && init->is_string() && init->get<std::string>() == "gaussian" ? "gaussian" : "default";
  return spec;
}

fs::path adapter_base_dir(const fs::path& dir) {
  const auto file = dir / kAdapterConfig;
  const auto config = read_json_file(file, "LoRA adapter config");
  const auto it = config.find("base_model_name_or_path");
  if (it == config.end() || !it->is_string() || it->get<std::string>().empty()) {
    fail(ErrorKind::config,
         "{}: no base_model_name_or_path; give the base as model.path and this adapter as "
         "model.lora.path",
         file.string());
  }
  const fs::path base = it->get<std::string>();
  const auto resolved = (base.is_absolute() ? base : dir / base).lexically_normal();
  std::error_code ec;
  if (!fs::is_directory(resolved, ec)) {
    fail(ErrorKind::config,
         "{}: base_model_name_or_path '{}' is not a checkpoint directory here; give the base as model.path and this "
         "adapter as model.lora.path",
         file.string(), base.string());
  }
  return resolved;
}

void load_adapter_weights(Qwen3VLImpl& model, const fs::path& dir) {
  const auto weights = open_weights(dir);
  std::vector<std::string> missing, wrong_shape, unexpected;
  std::map<std::string, at::Tensor> expected;
  for (auto& [name, tensor] : lora_parameters(model)) expected.emplace(kPrefix + name, tensor);
  for (const auto& [name, tensor] : expected) {
    if (!weights.contains(name)) {
      missing.push_back(name);
    } else if (at::IntArrayRef(weights.info(name).shape) != tensor.sizes()) {
      wrong_shape.push_back(
          fmt::format("{} is {} but the model needs {}", name, weights.info(name).shape, c10::str(tensor.sizes())));
    }
  }
  for (const auto& name : weights.names()) {
    if (!expected.count(name)) unexpected.push_back(name);
  }
  if (!missing.empty() || !wrong_shape.empty() || !unexpected.empty()) {
    std::string message = fmt::format("{}: the adapter weights do not match its adapter_config.json", dir.string());
    const auto list = [](const std::vector<std::string>& v) {
      return v.size() <= 8 ? fmt::format("{}", fmt::join(v, ", "))
                           : fmt::format("{}, ... ({} in all)", fmt::join(v.begin(), v.begin() + 8, ", "), v.size());
    };
    if (!missing.empty()) message += "; missing tensors: " + list(missing);
    if (!unexpected.empty()) message += "; unexpected tensors: " + list(unexpected);
    if (!wrong_shape.empty()) message += "; wrong shapes: " + list(wrong_shape);
    throw Error(ErrorKind::format, message);
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : expected) weights.copy_into(name, tensor);
}

void load_adapter(Qwen3VLImpl& model, const fs::path& dir) {
  add_lora(model, read_adapter_spec(dir), /*seed=*/0);
  load_adapter_weights(model, dir);
}

Qwen3VL load_with_adapter(const fs::path& dir, const LoadOptions& options) {
  const auto base = adapter_base_dir(dir);
  if (is_adapter_dir(base)) fail(ErrorKind::config, "{}: its base {} is an adapter too", dir.string(), base.string());
  auto model = load_pretrained(base, options);
  try {
    load_adapter(*model, dir);
  } catch (const Error& e) {
    throw e.with_context(fmt::format("LoRA adapter {}", dir.string()));
  }
  return model;
}

void save_adapter(Qwen3VLImpl& model, const fs::path& dir, const AdapterSaveOptions& options) {
  if (!model.lora) fail(ErrorKind::runtime, "save_adapter: the model has no LoRA adapters");
  fs::create_directories(dir);
  safetensors::NamedTensors tensors;
  for (auto& [name, tensor] : lora_parameters(model)) {
    tensors.emplace_back(kPrefix + name, tensor.detach().to(at::kCPU, at::kFloat).contiguous());
  }
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  safetensors::save_file(dir / kAdapterWeights, tensors, {{"format", "pt"}});
  write_file_atomically(dir / kAdapterConfig, adapter_config_json(*model.lora, options.base_model).dump(2) + "\n");
  if (options.copy_assets_from) copy_model_assets(*options.copy_assets_from, dir);
}

}  // namespace visrl::policy
