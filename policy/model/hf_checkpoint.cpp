#include "policy/model/hf_checkpoint.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "policy/model/lora_checkpoint.h"

namespace visrl::policy {
namespace fs = std::filesystem;

namespace {

// Parameters are created directly in the load dtype, so a bf16 8B model never exists in fp32.
class DefaultDtypeGuard {
 public:
  explicit DefaultDtypeGuard(at::ScalarType dtype) : saved_(at::get_default_dtype()) {
    at::set_default_dtype(c10::scalarTypeToTypeMeta(dtype));
  }
  ~DefaultDtypeGuard() { at::set_default_dtype(saved_); }
  DefaultDtypeGuard(const DefaultDtypeGuard&) = delete;
  DefaultDtypeGuard& operator=(const DefaultDtypeGuard&) = delete;

 private:
  caffe2::TypeMeta saved_;
};

std::string list(const std::vector<std::string>& names) {
  constexpr size_t kShown = 12;
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kShown));
  std::string text = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > kShown) text += fmt::format(", ... ({} in all)", names.size());
  return text;
}

// Files of a checkpoint directory that are not weights or the model config.
bool is_asset(const fs::path& file) {
  const auto name = file.filename().string();
  if (name == "config.json" || name == "model.safetensors.index.json") return false;
  if (file.extension() == ".safetensors" || file.extension() == ".bin") return false;
  static const std::set<std::string> kAssets = {
      "tokenizer.json",
      "tokenizer_config.json",
      "special_tokens_map.json",
      "vocab.json",
      "merges.txt",
      "chat_template.json",
      "chat_template.jinja",
      "preprocessor_config.json",
      "video_preprocessor_config.json",
      "processor_config.json",  // transformers 5 writes the image and video processors' configs here
      "generation_config.json",
      "added_tokens.json"};
  return kAssets.count(name) > 0;
}

}  // namespace

at::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  if (name == "bfloat16" || name == "bf16") return at::kBFloat16;
  if (name == "float32" || name == "fp32") return at::kFloat;
  if (name == "float16" || name == "fp16") return at::kHalf;
  fail(ErrorKind::config, "{}: unsupported dtype '{}' (bfloat16, float16 or float32)", where, name);
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    case at::kFloat:
      return "float32";
    default:
      fail(ErrorKind::runtime, "unsupported model dtype {}", c10::toString(dtype));
  }
}

Qwen3VL load_pretrained(const fs::path& dir, const LoadOptions& options) {
  if (!fs::is_directory(dir)) fail(ErrorKind::io, "{}: not a checkpoint directory", dir.string());
  if (is_adapter_dir(dir)) return load_with_adapter(dir, options);
  auto config = Qwen3VLConfig::from_file(dir / "config.json");
  at::ScalarType dtype = at::kFloat;
  if (options.dtype) {
    dtype = *options.dtype;
  } else {
    for (const auto* key : {"dtype", "torch_dtype"}) {
      if (auto it = config.raw.find(key); it != config.raw.end() && it->is_string()) {
        dtype = dtype_from_name(it->get<std::string>(), (dir / "config.json").string() + ": " + key);
        break;
      }
    }
  }
  auto checkpoint = safetensors::Checkpoint::open(dir);

  // The parameters are created uninitialised (linear.h): nothing is drawn from the global RNG
  // and no page is touched before each is filled once from the file, below.
  Qwen3VL model{nullptr};
  {
    DefaultDtypeGuard guard(dtype);
    model = Qwen3VL(config);
  }
  torch::NoGradGuard no_grad;
  auto params = model->named_parameters(/*recurse=*/true);
  std::vector<std::string> missing, wrong_shape, unexpected;
  std::set<std::string> expected;
  for (const auto& item : params) {
    expected.insert(item.key());
    if (!checkpoint.contains(item.key())) {
      missing.push_back(item.key());
      continue;
    }
    const auto& info = checkpoint.info(item.key());
    if (at::IntArrayRef(info.shape) != item.value().sizes()) {
      wrong_shape.push_back(
          fmt::format("{} is {} but the config needs {}", item.key(), info.shape, c10::str(item.value().sizes())));
    }
  }
  for (const auto& name : checkpoint.names()) {
    // transformers may keep a tied lm_head in the file; it is the embedding again.
    if (!expected.count(name) && !(config.tie_word_embeddings && name == "lm_head.weight")) unexpected.push_back(name);
  }
  if (!missing.empty() || !wrong_shape.empty() || !unexpected.empty()) {
    std::string message = fmt::format("{}: the checkpoint does not match its config.json", dir.string());
    if (!missing.empty()) message += fmt::format("; missing tensors: {}", list(missing));
    if (!unexpected.empty()) message += fmt::format("; unexpected tensors: {}", list(unexpected));
    if (!wrong_shape.empty()) message += fmt::format("; wrong shapes: {}", list(wrong_shape));
    throw Error(ErrorKind::format, message);
  }
  // Each parameter is read from the file into its own memory (on the target device), cast on
  // the way: no second copy of the weights and no mapped file pages stay resident.
  at::Tensor staging;  // one CPU slice, reused, for casts and device copies
  safetensors::CopyOptions copy;
  copy.staging = &staging;
  for (auto& item : params) {
    auto& param = item.value();
    if (param.device() != options.device) {
      param.set_data(at::empty(param.sizes(), param.options().device(options.device)));
    }
    checkpoint.copy_into(item.key(), param, copy);
  }
  staging = at::Tensor();
  model->to(options.device);  // anything not loaded from the file (none today)
  model->eval();
  model->loaded_from = fs::absolute(dir).lexically_normal();
  return model;
}

void save_pretrained(Qwen3VLImpl& model, const fs::path& dir, const SaveOptions& options) {
  fs::create_directories(dir);
  const at::ScalarType dtype = options.dtype.value_or(model.dtype());
  // The parameters themselves (no copies), sorted by name; each is brought to the CPU in the
  // file's dtype only when its turn to be written comes, and released after it: a save holds
  // at most one converted tensor beyond the model.
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& item : model.named_parameters(/*recurse=*/true)) params.emplace_back(item.key(), item.value());
  std::sort(params.begin(), params.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<safetensors::TensorSpec> specs;
  for (const auto& [name, param] : params) specs.push_back({name, dtype, param.sizes().vec()});
  safetensors::save_sharded_streamed(
      dir, specs, [&](size_t i) { return params[i].second.detach().to(at::kCPU, dtype).contiguous(); },
      options.max_shard_bytes, {{"format", "pt"}});
  write_file_atomically(dir / "config.json", model.config.to_json(dtype_name(dtype)).dump(2) + "\n");
  if (options.copy_assets_from) copy_model_assets(*options.copy_assets_from, dir);
}

void copy_model_assets(const fs::path& from, const fs::path& dir) {
  // (fs::equivalent throws a bare filesystem_error for a path that does not exist)
  if (!fs::is_directory(from))
    fail(ErrorKind::io, "{}: not a directory to copy the model's assets from", from.string());
  if (fs::equivalent(from, dir)) return;
  for (const auto& entry : fs::directory_iterator(from)) {
    if (entry.is_regular_file() && is_asset(entry.path())) {
      fs::copy_file(entry.path(), dir / entry.path().filename(), fs::copy_options::overwrite_existing);
    }
  }
}

}  // namespace visrl::policy
