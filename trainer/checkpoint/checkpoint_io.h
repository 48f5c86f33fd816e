// Writing and reading training checkpoints (layout: checkpoint_dir.h).
//
// Weights: rank 0 writes the policy as a Hugging Face directory (the replicas are identical);
// a LoRA policy as a PEFT adapter directory instead (its adapters, pointing at its base).
// Optimizer: each rank writes the AdamW state of the parameters it owns, keyed by parameter
// name ("<param>.exp_avg", ".exp_avg_sq", ".master" for bf16 parameters, ".step"), into
// optimizer/optimizer-<r>-of-<W>.safetensors, and rank 0 writes
// optimizer/optimizer.safetensors.index.json mapping every key to its file. Readers go through
// the index by name, so any number of ranks can load what any other number wrote, and no rank
// ever holds more than its own share (the 8B state is never gathered onto one GPU).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "policy/model/hf_checkpoint.h"
#include "policy/model/qwen3vl.h"
#include "trainer/checkpoint/trainer_state.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/sharded_adamw.h"

namespace visrl::trainer {

struct CheckpointContents {
  policy::Qwen3VLImpl* policy = nullptr;
  const ShardedAdamW* optimizer = nullptr;  // nullptr: weights only (checkpoint.model_only)
  TrainerState state;
  std::string config_yaml;                // the resolved configuration of the run
  std::filesystem::path assets_from;      // tokenizer, chat template, ... copied into model/
  uint64_t max_shard_bytes = 5ull << 30;  // safetensors shard size of the weights
};

// Collective: every rank calls it with its own optimizer. Writes step_<N>.tmp, renames it to
// step_<N> once everything is on disk, then updates `latest`. Throws Error on every rank when
// any rank failed (the previous checkpoints are untouched). Returns the checkpoint directory.
std::filesystem::path save_checkpoint(const std::filesystem::path& checkpoints_dir, const CheckpointContents& contents,
                                      Communicator& comm);

// The policy as `dir`: save_pretrained, or for a LoRA policy save_adapter with
// base_model_name_or_path = the directory its base was loaded from (options.dtype and
// max_shard_bytes then do not apply: adapters are float32, in one file).
void save_policy(policy::Qwen3VLImpl& policy, const std::filesystem::path& dir, const policy::SaveOptions& options);

// save_policy into <dir>.tmp, plus `extra_files` (name -> content), fsynced, then renamed
// onto `dir` (replacing it): a kill never leaves a `dir` that looks whole and is not.
void save_policy_atomically(policy::Qwen3VLImpl& policy, const std::filesystem::path& dir,
                            const policy::SaveOptions& options,
                            const std::map<std::string, std::string>& extra_files = {});

struct OpenedCheckpoint {
  std::filesystem::path dir;
  TrainerState state;
  std::string config_yaml;
  std::filesystem::path model_dir() const { return dir / "model"; }
};

// Reads the trainer state and config of a checkpoint; tensors are read later, by
// load_pretrained(model_dir()) and load_optimizer_state. read_checkpoint trusts `dir` (verified
// once by whoever chose it, e.g. resolve_checkpoint on rank 0); open_checkpoint verifies first.
OpenedCheckpoint read_checkpoint(const std::filesystem::path& dir);
OpenedCheckpoint open_checkpoint(const std::filesystem::path& dir);

// Fills the state of the parameters this rank holds from dir/optimizer. Throws Error(format)
// naming the checkpoint and a trainable parameter it has no state for.
void load_optimizer_state(const std::filesystem::path& dir, ShardedAdamW& optimizer);

}  // namespace visrl::trainer
