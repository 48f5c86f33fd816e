// Internal to trainer/distributed: the seam between Communicator and LibTorch's c10d. Only
// c10d_group.cpp includes c10d headers (and, through ProcessGroupGloo.hpp, gloo's); this
// header names no c10d type, so the rest of the project never sees them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace visrl::trainer {

enum class ReduceOp { sum, max, min };

namespace detail {

// A connected c10d process group (TCPStore rendezvous + Gloo or NCCL). Tensors handed to it
// are contiguous and live on device(); Communicator stages them there. Every call blocks
// until the collective finished or the timeout passed, and throws std::runtime_error with a
// one-line message (no C++ backtrace) on any failure.
class ProcessGroupLink {
 public:
  virtual ~ProcessGroupLink() = default;

  virtual at::Device device() const = 0;

  // One collective over one tensor; the result replaces `tensor` (in place).
  virtual void all_reduce(at::Tensor& tensor, ReduceOp op) = 0;
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  // outputs[r] (world_size tensors shaped like `input`) receives rank r's `input`.
  virtual void all_gather(std::vector<at::Tensor>& outputs, at::Tensor& input) = 0;
  virtual void barrier() = 0;

  // The ranks a failed collective's error points at ("lost rank(s) 1 (at 10.0.0.2)"), or "".
  virtual std::string lost_ranks(const std::string& error) const = 0;
};

struct GroupConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr;
  int master_port = 0;
  std::string backend;  // gloo | nccl (already resolved)
  double timeout_s = 0;
  at::Device device = at::kCPU;  // the training device; nccl binds to it (cuda:<local_rank> if no index)
  bool store_served_by_launcher = false;  // torchrun's agent serves the store: rank 0 is a client too
  int restart_count = 0;                  // keys of this worker group live under visrl/attempt_<n>/
};

// Connects the TCPStore (rank 0 serves it, unless the launcher does) and the process group, and
// exchanges the ranks' addresses (LaunchEnv, peer_addresses.h). Throws Error(runtime)
// naming the rank and what could not be reached within the timeout.
std::unique_ptr<ProcessGroupLink> connect_process_group(const GroupConfig& config);

// Whether this build has the NCCL process group (LibTorch with CUDA).
bool nccl_compiled();

}  // namespace detail
}  // namespace visrl::trainer
