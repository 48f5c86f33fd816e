// A checkpoint's policy as a plain Hugging Face model directory for serving (transformers,
// vLLM): config.json, safetensors shards with their index, tokenizer files, chat template,
// processor and generation configs. build/bin/export is the command-line front end.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <c10/core/ScalarType.h>

namespace visrl::trainer {

struct ExportOptions {
  std::optional<at::ScalarType> dtype;  // unset: as trained
  uint64_t max_shard_bytes = 5ull << 30;
  bool overwrite = false;  // replace a non-empty `out`
  // A LoRA checkpoint: merge the adapters into the base and write a plain model (otherwise the
  // adapter directory is written as it is, pointing at its base).
  bool merge_lora = false;
};

struct ExportResult {
  std::filesystem::path checkpoint;  // the checkpoint exported (the newest complete of a run directory)
  int64_t step = 0;
  int64_t tensors = 0;
  uint64_t bytes = 0;              // of the safetensors files
  bool has_chat_template = false;  // chat_template.jinja / .json or tokenizer_config.json's
  bool lora = false;               // the checkpoint held LoRA adapters
  bool merged = false;             // ... and they were merged into the written model
};

// `checkpoint`: a step_<N> directory, a checkpoints directory, a run directory or a LoRA
// adapter directory (a run's final/, or PEFT's). The checkpoint
// is verified and its weights loaded (every name and shape checked) before anything is written;
// `out` appears complete or not at all (written as <out>.tmp, then renamed). Throws Error.
ExportResult export_checkpoint(const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                               const ExportOptions& options = {});

}  // namespace visrl::trainer
