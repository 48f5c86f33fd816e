#include "trainer/distributed/communicator.h"

#include <chrono>
#include <cstring>

#include "core/error.h"

namespace visrl::trainer {

namespace {

std::string resolve_backend(const std::string& backend, at::Device device) {
  if (backend == "auto") return device.is_cuda() && detail::nccl_compiled() ? "nccl" : "gloo";
  if (backend == "gloo") return backend;
  if (backend == "nccl") {
    if (!device.is_cuda())
      fail(ErrorKind::config, "distributed backend nccl needs a CUDA device, but the device is {}; use gloo or auto",
           device.str());
    if (!detail::nccl_compiled())
      fail(ErrorKind::config, "distributed backend nccl: this LibTorch was built without CUDA/NCCL; use gloo or auto");
    return backend;
  }
  fail(ErrorKind::config, "distributed backend \"{}\": expected auto, gloo or nccl", backend);
}

// Runs `op` on one contiguous buffer per dtype on `device`, holding the flattened `tensors` of
// that dtype (in order), then writes the results back. A tensor that is alone of its dtype and
// already contiguous on `device` is used as its own buffer, without copies.
template <typename Op>
void coalesced(std::vector<at::Tensor>& tensors, at::Device device, Op&& op) {
  std::vector<bool> done(tensors.size(), false);
  for (size_t first = 0; first < tensors.size(); ++first) {
    if (done[first]) continue;
    const at::ScalarType dtype = tensors[first].scalar_type();
    std::vector<size_t> group;
    for (size_t i = first; i < tensors.size(); ++i) {
      if (!done[i] && tensors[i].scalar_type() == dtype) {
        group.push_back(i);
        done[i] = true;
      }
    }
    const at::Tensor& only = tensors[group[0]];
    if (group.size() == 1 && only.device() == device && only.is_contiguous()) {
      at::Tensor buffer = only;
      op(buffer);
      continue;
    }
    std::vector<at::Tensor> flat;
    flat.reserve(group.size());
    for (size_t i : group) flat.push_back(tensors[i].reshape({-1}).to(device));
    at::Tensor buffer = at::cat(flat);  // [sum of numels], dtype
    op(buffer);
    int64_t offset = 0;
    for (size_t i : group) {
      at::Tensor& t = tensors[i];
      const int64_t n = t.numel();
      t.copy_(buffer.slice(0, offset, offset + n).view(t.sizes()));
      offset += n;
    }
  }
}

}  // namespace

std::unique_ptr<Communicator> Communicator::create(const LaunchEnv& env, const std::string& backend, double timeout_s,
                                                   at::Device device) {
  const std::string resolved = resolve_backend(backend, device);
  if (!(timeout_s > 0)) fail(ErrorKind::config, "distributed timeout {} s: expected a number > 0", timeout_s);
  if (env.world_size <= 1) return std::unique_ptr<Communicator>(new Communicator(0, 1, "single", timeout_s, nullptr));
  if (env.master_port < 1 || env.master_port > 65535)
    fail(ErrorKind::config, "rank {}/{}: MASTER_PORT {}: expected a port in 1..65535", env.rank, env.world_size,
         env.master_port);
  detail::GroupConfig config;
  config.rank = env.rank;
  config.world_size = env.world_size;
  config.local_rank = env.local_rank;
  config.master_addr = env.master_addr;
  config.master_port = env.master_port;
  config.backend = resolved;
  config.timeout_s = timeout_s;
  config.device = device;
  config.store_served_by_launcher = env.store_served_by_launcher;
  config.restart_count = env.restart_count;
  auto link = detail::connect_process_group(config);
  return std::unique_ptr<Communicator>(
      new Communicator(env.rank, env.world_size, resolved, timeout_s, std::move(link)));
}

Communicator::Communicator(int rank, int world_size, std::string backend, double timeout_s,
                           std::unique_ptr<detail::ProcessGroupLink> link)
    : rank_(rank),
      world_size_(world_size),
      backend_(std::move(backend)),
      timeout_s_(timeout_s),
      link_(std::move(link)) {}

Communicator::~Communicator() = default;

template <typename Body>
void Communicator::guarded(const char* collective, Body&& body) {
  if (!failed_.empty())
    fail(ErrorKind::runtime, "rank {}/{}: {} refused: the communicator is unusable since {} failed", rank_, world_size_,
         collective, failed_);
  const auto start = std::chrono::steady_clock::now();
  try {
    body();
  } catch (const std::exception& e) {
    failed_ = collective;
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string lost = link_ ? link_->lost_ranks(e.what()) : "";
    fail(ErrorKind::runtime, "rank {}/{}: {} failed after {:.1f} s (timeout {:g} s): {}; {}", rank_, world_size_,
         collective, waited, timeout_s_, e.what(),
         lost.empty() ? "another rank probably died or is stuck" : lost + ": it died, is stuck or cannot be reached");
  }
}

void Communicator::check_root(const char* collective, int root) const {
  if (root < 0 || root >= world_size_)
    fail(ErrorKind::runtime, "rank {}/{}: {} from root {}: expected a rank in [0, {})", rank_, world_size_, collective,
         root, world_size_);
}

void Communicator::all_reduce(std::vector<at::Tensor>& tensors, ReduceOp op) {
  if (!link_ || tensors.empty()) return;
  guarded("all_reduce", [&] { coalesced(tensors, link_->device(), [&](at::Tensor& b) { link_->all_reduce(b, op); }); });
}

void Communicator::broadcast(std::vector<at::Tensor>& tensors, int root) {
  check_root("broadcast", root);
  if (!link_ || tensors.empty()) return;
  guarded("broadcast", [&] { coalesced(tensors, link_->device(), [&](at::Tensor& b) { link_->broadcast(b, root); }); });
}

at::Tensor Communicator::all_gather(const at::Tensor& in) {
  if (!link_) return in.unsqueeze(0).clone();
  std::vector<int64_t> shape{world_size_};
  shape.insert(shape.end(), in.sizes().begin(), in.sizes().end());
  at::Tensor out;
  guarded("all_gather", [&] {
    at::Tensor input = in.to(link_->device()).contiguous();
    out = at::empty(shape, input.options());  // [world, n...]
    std::vector<at::Tensor> rows = out.unbind(0);
    link_->all_gather(rows, input);
  });
  return out.to(in.device());
}

void Communicator::barrier() {
  if (!link_) return;
  guarded("barrier", [&] { link_->barrier(); });
}

std::vector<double> Communicator::all_reduce_sum(std::vector<double> values) {
  if (!link_ || values.empty()) return values;
  std::vector<at::Tensor> t{at::tensor(values, at::kDouble)};
  all_reduce(t, ReduceOp::sum);
  std::memcpy(values.data(), t[0].data_ptr<double>(), values.size() * sizeof(double));
  return values;
}

double Communicator::all_reduce_max(double value) {
  if (!link_) return value;
  std::vector<at::Tensor> t{at::full({1}, value, at::kDouble)};
  all_reduce(t, ReduceOp::max);
  return t[0].item<double>();
}

std::vector<std::string> Communicator::gather_strings(const std::string& mine) {
  if (!link_) return {mine};
  // Two collectives: the lengths [world, 1], then the bytes padded to the longest [world, max].
  at::Tensor lengths = all_gather(at::full({1}, static_cast<int64_t>(mine.size()), at::kLong));
  const int64_t longest = std::max<int64_t>(lengths.max().item<int64_t>(), 1);
  at::Tensor bytes = at::zeros({longest}, at::kByte);
  std::memcpy(bytes.data_ptr<uint8_t>(), mine.data(), mine.size());
  at::Tensor all = all_gather(bytes).contiguous();
  std::vector<std::string> out;
  out.reserve(world_size_);
  for (int r = 0; r < world_size_; ++r) {
    const auto* row = reinterpret_cast<const char*>(all[r].data_ptr<uint8_t>());
    out.emplace_back(row, static_cast<size_t>(lengths[r][0].item<int64_t>()));
  }
  return out;
}

std::string Communicator::broadcast_string(std::string value, int root) {
  check_root("broadcast", root);
  if (!link_) return value;
  std::vector<at::Tensor> length{at::full({1}, static_cast<int64_t>(value.size()), at::kLong)};
  broadcast(length, root);
  const int64_t n = length[0].item<int64_t>();
  std::vector<at::Tensor> bytes{at::zeros({std::max<int64_t>(n, 1)}, at::kByte)};
  if (rank_ == root) std::memcpy(bytes[0].data_ptr<uint8_t>(), value.data(), value.size());
  broadcast(bytes, root);
  return std::string(reinterpret_cast<const char*>(bytes[0].data_ptr<uint8_t>()), static_cast<size_t>(n));
}

}  // namespace visrl::trainer
