// AdamW over data-parallel ranks, optionally with the optimizer state sharded (ZeRO stage 1).
//
// shard = true: parameters are assigned whole to ranks, in name order, each to the rank with
// the fewest elements so far (deterministic, balanced by numel). A rank keeps exp_avg and
// exp_avg_sq only for the parameters it owns, updates only those in step(), and then every
// owner broadcasts its updated parameters to the other ranks in flattened buckets (one
// collective per bucket, not per parameter). The state costs 8 bytes per parameter element
// (12 with a master copy) divided by the world size; see README.md for the 8B arithmetic.
// shard = false: every rank keeps all state and updates every parameter; no collective.
//
// State is float32 (float64 for a float64 parameter). A bf16 or fp16 parameter additionally
// gets a float32 master copy on its owner: the update runs on the master and the parameter
// receives its rounding, so that small updates are not lost to bf16's 8-bit mantissa.
//
// Gradients must already be identical on every rank (GradientBuckets::all_reduce, then
// clip_grad_norm). A parameter without a grad is skipped, as torch.optim.AdamW does.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "core/config.h"
#include "trainer/distributed/adamw.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/flat_buckets.h"

namespace visrl::trainer {

// Built from Config by adamw_options (trainer/loop/config_options.h); defaults from core/config.h.
struct AdamWOptions {
  double beta1 = OptimConfig{}.beta1;
  double beta2 = OptimConfig{}.beta2;
  double eps = OptimConfig{}.eps;
  double weight_decay = OptimConfig{}.weight_decay;
  double bucket_mb = static_cast<double>(DistributedConfig{}.bucket_mb);  // parameter broadcast buckets
};

// The optimizer state of one parameter, which checkpoints store under the parameter's name.
struct AdamWState {
  int64_t step = 0;       // updates applied so far
  at::Tensor exp_avg;     // param's shape, float32 (float64 for a float64 param), param's device
  at::Tensor exp_avg_sq;  // same
  at::Tensor master;      // float32 master weights of a bf16/fp16 param; undefined otherwise
};

class ShardedAdamW {
 public:
  // named_params: the trainable parameters (entries that do not require grad are left out),
  // same names, shapes and dtypes on every rank (checked with one collective when sharded).
  // `comm` must outlive the optimizer.
  ShardedAdamW(std::vector<std::pair<std::string, at::Tensor>> named_params, AdamWOptions options, Communicator& comm,
               bool shard);

  // One AdamW step with learning rate lr on the parameters this rank owns, then (sharded) the
  // parameters are brought back to every rank.
  void step(double lr);

  // The rank whose state of `name` is canonical (the one a checkpoint takes it from): its owner
  // when sharded, 0 otherwise. Throws Error(runtime) for an unknown name.
  int owner_of(const std::string& name) const;
  // Whether this rank holds (and updates) the state of `name`: owner_of(name) == rank when
  // sharded, always when not.
  bool holds(const std::string& name) const;
  // Names of the parameters whose state this rank holds, in name order.
  std::vector<std::string> held_names() const;
  // Elements of the parameters whose state this rank holds.
  int64_t held_numel() const;

  // The state of a parameter this rank holds (Error(runtime) otherwise).
  const AdamWState& state(const std::string& name) const;
  // All states this rank holds, by name (tensor handles, not copies).
  std::map<std::string, AdamWState> state_dict() const;
  // Copies the entries of `states` for parameters this rank holds into its state (values are
  // converted to the state's dtype and device); entries held by other ranks are ignored, so a
  // checkpoint written at any world size can be loaded at any other. A missing master is
  // re-derived from the parameter. Throws Error(runtime) for an unknown name or a shape mismatch.
  void load_state_dict(const std::map<std::string, AdamWState>& states);

  // All parameters, in name order (for clip_grad_norm).
  std::vector<at::Tensor> params() const;
  bool sharded() const { return shard_; }
  const AdamWOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string name;
    at::Tensor param;
    int owner = 0;
    AdamWState state;  // allocated only where held
  };

  const Entry& entry(const std::string& name) const;
  void check_same_params_on_all_ranks();
  void broadcast_params();

  AdamWOptions options_;
  Communicator& comm_;
  bool shard_;
  std::vector<Entry> entries_;  // sorted by name
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::vector<size_t>> owned_;          // per rank: entry indices, name order
  std::vector<std::vector<FlatBucket>> broadcast_;  // per rank: buckets over its owned params
};

}  // namespace visrl::trainer
