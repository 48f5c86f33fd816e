#include "trainer/checkpoint/export_model.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "policy/model/hf_checkpoint.h"
#include "policy/model/lora.h"
#include "policy/model/lora_checkpoint.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"

namespace visrl::trainer {
namespace fs = std::filesystem;

namespace {

bool has_chat_template(const fs::path& dir) {
  if (fs::exists(dir / "chat_template.jinja") || fs::exists(dir / "chat_template.json")) return true;
  std::ifstream in(dir / "tokenizer_config.json");
  if (!in) return false;
  auto j = nlohmann::json::parse(in, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("chat_template");
}

}  // namespace

ExportResult export_checkpoint(const fs::path& checkpoint, const fs::path& given_out, const ExportOptions& options) {
  std::error_code ec;
  const auto out = absolute_dir(given_out);
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec)) && !options.overwrite) {
    fail(ErrorKind::usage, "{}: exists and is not empty (pass --overwrite to replace it)", out.string());
  }
  ExportResult result;
  fs::path model_dir;
  if (policy::is_adapter_dir(checkpoint)) {  // an adapter directory on its own (a run's final/)
    result.checkpoint = checkpoint;
    result.step = -1;
    model_dir = checkpoint;
  } else {
    result.checkpoint = resolve_checkpoint(checkpoint);
    const auto ckpt = read_checkpoint(result.checkpoint);
    result.step = ckpt.state.step;
    model_dir = ckpt.model_dir();
  }

  policy::LoadOptions load;
  load.dtype = options.dtype;
  auto model = policy::load_pretrained(model_dir, load);  // an adapter directory loads its base too
  result.lora = policy::has_lora(*model);
  if (result.lora && options.merge_lora) {
    policy::merge_lora_into_base(*model);
    result.merged = true;
  }
  fs::create_directories(out.parent_path());
  policy::SaveOptions save;
  save.dtype = options.dtype;
  save.max_shard_bytes = options.max_shard_bytes;
  save.copy_assets_from = model_dir;
  save_policy_atomically(*model, out, save);

  result.tensors = static_cast<int64_t>(result.lora && !result.merged ? policy::lora_parameters(*model).size()
                                                                      : model->named_parameters().size());
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".safetensors") result.bytes += entry.file_size();
  }
  result.has_chat_template = has_chat_template(out);
  return result;
}

}  // namespace visrl::trainer
