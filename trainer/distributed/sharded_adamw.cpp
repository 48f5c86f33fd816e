#include "trainer/distributed/sharded_adamw.h"

#include <algorithm>
#include <cmath>

#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include "core/error.h"

namespace visrl::trainer {

namespace {

bool needs_master(const at::Tensor& param) {
  return param.scalar_type() == at::kBFloat16 || param.scalar_type() == at::kHalf;
}

at::ScalarType state_dtype(const at::Tensor& param) {
  return param.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
}

// FNV-1a over the names, dtypes and shapes: equal on every rank when the models agree.
uint64_t describe_hash(const std::string& text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace

ShardedAdamW::ShardedAdamW(std::vector<std::pair<std::string, at::Tensor>> named_params, AdamWOptions options,
                           Communicator& comm, bool shard)
    : options_(options), comm_(comm), shard_(shard) {
  if (!(options_.bucket_mb > 0))
    fail(ErrorKind::config, "optimizer bucket size {} MiB: expected > 0", options_.bucket_mb);
  for (auto& [name, param] : named_params) {
    if (!param.requires_grad()) continue;
    if (!param.is_floating_point())
      fail(ErrorKind::runtime, "ShardedAdamW: parameter {} has dtype {}, expected a floating-point type", name,
           c10::toString(param.scalar_type()));
    if (!param.is_contiguous()) fail(ErrorKind::runtime, "ShardedAdamW: parameter {} is not contiguous", name);
    Entry e;
    e.name = name;
    e.param = param;
    entries_.push_back(std::move(e));
  }
  std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (!index_.emplace(entries_[i].name, i).second)
      fail(ErrorKind::runtime, "ShardedAdamW: parameter name {} appears twice", entries_[i].name);
  }

  // Partition: name order, each parameter to the least-loaded rank (ties: lowest rank).
  const int world = shard_ ? comm_.world_size() : 1;
  std::vector<int64_t> load(world, 0);
  owned_.assign(world, {});
  for (size_t i = 0; i < entries_.size(); ++i) {
    const int owner = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    entries_[i].owner = owner;
    load[owner] += entries_[i].param.numel();
    owned_[owner].push_back(i);
  }

  c10::AutoGradMode no_grad(false);
  for (Entry& e : entries_) {
    if (!holds(e.name)) continue;
    const auto opts = e.param.options().dtype(state_dtype(e.param)).requires_grad(false);
    e.state.exp_avg = at::zeros(e.param.sizes(), opts);
    e.state.exp_avg_sq = at::zeros(e.param.sizes(), opts);
    if (needs_master(e.param)) e.state.master = e.param.detach().to(at::kFloat);
  }

  if (shard_ && comm_.world_size() > 1) {
    check_same_params_on_all_ranks();
    const auto cap = static_cast<int64_t>(std::llround(options_.bucket_mb * 1024 * 1024));
    for (int r = 0; r < world; ++r) {
      std::vector<at::Tensor> tensors;
      for (size_t i : owned_[r]) tensors.push_back(entries_[i].param);
      broadcast_.push_back(plan_flat_buckets(tensors, cap));
    }
  }
}

void ShardedAdamW::check_same_params_on_all_ranks() {
  std::string text;
  for (const Entry& e : entries_) {
    text += fmt::format("{}:{}:{};", e.name, c10::toString(e.param.scalar_type()), fmt::join(e.param.sizes(), ","));
  }
  const std::vector<std::string> all = comm_.gather_strings(fmt::format("{:016x}", describe_hash(text)));
  for (int r = 1; r < comm_.world_size(); ++r) {
    if (all[r] != all[0])
      fail(ErrorKind::runtime,
           "rank {}/{}: ShardedAdamW: rank {}'s parameters (names, dtypes or shapes) differ from rank 0's; every rank "
           "must build the same model",
           comm_.rank(), comm_.world_size(), r);
  }
}

const ShardedAdamW::Entry& ShardedAdamW::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail(ErrorKind::runtime, "ShardedAdamW: no trainable parameter named {}", name);
  return entries_[it->second];
}

int ShardedAdamW::owner_of(const std::string& name) const {
  return entry(name).owner;
}

bool ShardedAdamW::holds(const std::string& name) const {
  return !shard_ || entry(name).owner == comm_.rank();
}

std::vector<std::string> ShardedAdamW::held_names() const {
  std::vector<std::string> names;
  for (const Entry& e : entries_) {
    if (!shard_ || e.owner == comm_.rank()) names.push_back(e.name);
  }
  return names;
}

int64_t ShardedAdamW::held_numel() const {
  int64_t n = 0;
  for (const Entry& e : entries_) {
    if (!shard_ || e.owner == comm_.rank()) n += e.param.numel();
  }
  return n;
}

const AdamWState& ShardedAdamW::state(const std::string& name) const {
  const Entry& e = entry(name);
  if (!holds(name))
    fail(ErrorKind::runtime, "ShardedAdamW: rank {} does not hold the state of {} (rank {} does)", comm_.rank(), name,
         e.owner);
  return e.state;
}

std::map<std::string, AdamWState> ShardedAdamW::state_dict() const {
  std::map<std::string, AdamWState> out;
  for (const Entry& e : entries_) {
    if (!shard_ || e.owner == comm_.rank()) out.emplace(e.name, e.state);
  }
  return out;
}

void ShardedAdamW::load_state_dict(const std::map<std::string, AdamWState>& states) {
  c10::AutoGradMode no_grad(false);
  for (const auto& [name, loaded] : states) {
    auto it = index_.find(name);
    if (it == index_.end())
      fail(ErrorKind::runtime, "optimizer state for {}, which is not a trainable parameter", name);
    Entry& e = entries_[it->second];
    if (!holds(name)) continue;
    for (const at::Tensor* t : {&loaded.exp_avg, &loaded.exp_avg_sq}) {
      if (!t->defined() || t->sizes() != e.param.sizes())
        fail(ErrorKind::runtime, "optimizer state of {}: expected moments of shape [{}], got {}", name,
             fmt::join(e.param.sizes(), ", "),
             t->defined() ? fmt::format("[{}]", fmt::join(t->sizes(), ", ")) : std::string("none"));
    }
    if (loaded.step < 0) fail(ErrorKind::runtime, "optimizer state of {}: step {} < 0", name, loaded.step);
    e.state.step = loaded.step;
    e.state.exp_avg.copy_(loaded.exp_avg);
    e.state.exp_avg_sq.copy_(loaded.exp_avg_sq);
    if (e.state.master.defined()) {
      if (loaded.master.defined() && loaded.master.sizes() == e.param.sizes())
        e.state.master.copy_(loaded.master);
      else
        e.state.master.copy_(e.param);
    }
  }
}

std::vector<at::Tensor> ShardedAdamW::params() const {
  std::vector<at::Tensor> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.param);
  return out;
}

void ShardedAdamW::step(double lr) {
  c10::AutoGradMode no_grad(false);
  for (Entry& e : entries_) {
    if (shard_ && e.owner != comm_.rank()) continue;
    const at::Tensor& grad = e.param.grad();
    if (!grad.defined()) continue;
    AdamWState& s = e.state;
    ++s.step;
    if (s.master.defined()) {
      adamw_update(s.master, grad, s.exp_avg, s.exp_avg_sq, s.step, lr, options_.beta1, options_.beta2, options_.eps,
                   options_.weight_decay);
      e.param.copy_(s.master);
    } else {
      at::Tensor param = e.param;
      adamw_update(param, grad, s.exp_avg, s.exp_avg_sq, s.step, lr, options_.beta1, options_.beta2, options_.eps,
                   options_.weight_decay);
    }
  }
  if (shard_ && comm_.world_size() > 1) broadcast_params();
}

// Owner by owner, bucket by bucket, in the same order on every rank: the owner packs its
// updated parameters into the bucket's buffer [numel] and broadcasts it; the others unpack.
void ShardedAdamW::broadcast_params() {
  c10::AutoGradMode no_grad(false);
  for (int r = 0; r < comm_.world_size(); ++r) {
    std::vector<at::Tensor> tensors;
    for (size_t i : owned_[r]) tensors.push_back(entries_[i].param);
    for (const FlatBucket& bucket : broadcast_[r]) {
      std::vector<at::Tensor> buffer{
          r == comm_.rank() ? pack_bucket(bucket, tensors)
                            : at::empty({bucket.numel}, at::TensorOptions().dtype(bucket.dtype).device(bucket.device))};
      comm_.broadcast(buffer, r);
      if (r != comm_.rank()) unpack_bucket(bucket, buffer[0], tensors);
    }
  }
}

}  // namespace visrl::trainer
