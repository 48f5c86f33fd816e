// The data-parallel communicator: collectives between the ranks of a training job, over
// LibTorch's c10d (a TCPStore rendezvous at MASTER_ADDR:MASTER_PORT, then Gloo on CPU or NCCL
// on CUDA). With one process there is no c10d at all and every collective is the identity.
//
// Every collective must be called by every rank in the same order with tensors of the same
// shapes and dtypes. Each one waits at most the timeout given to create(); any failure (a
// timeout, a peer that closed its connection) becomes Error(runtime) naming this rank, the
// collective and how long it waited, e.g.
//   rank 0/2: all_reduce failed after 0.0 s (timeout 5 s): Connection closed by peer
//   [10.0.0.2]:14741 ...; lost rank(s) 1 (at 10.0.0.2): it died, is stuck or cannot be reached
// (the ranks behind the peer address Gloo names; "another rank probably died or is stuck" when
// the error names none, as a timeout does)
// after which the communicator refuses further collectives.
//
// Tensors may live on any device: the communicator copies them to where the backend works
// (CPU for gloo, the rank's GPU for nccl) and back when they are elsewhere or not contiguous.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "trainer/distributed/c10d_group.h"  // ReduceOp; no c10d types
#include "trainer/distributed/launch_env.h"

namespace visrl::trainer {

class Communicator {
 public:
  // backend: "auto" (nccl when `device` is CUDA and this LibTorch has NCCL, else gloo), "gloo" or
  // "nccl". Throws Error(config) for an unknown backend, nccl on a non-CUDA device or without
  // CUDA in LibTorch, or timeout_s <= 0; Error(runtime) when the store or the peers cannot be
  // reached within timeout_s. world_size 1: no store, no process group.
  static std::unique_ptr<Communicator> create(const LaunchEnv& env, const std::string& backend, double timeout_s,
                                              at::Device device);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  // "gloo", "nccl", or "single" for a world of one.
  const std::string& backend_name() const { return backend_; }
  double timeout_s() const { return timeout_s_; }

  // Element-wise reduction across ranks, in place. Tensors of one dtype are flattened into one
  // buffer and reduced with one collective (not one per tensor).
  void all_reduce(std::vector<at::Tensor>& tensors, ReduceOp op);
  // Every rank's tensors become root's, in place (one collective per dtype).
  void broadcast(std::vector<at::Tensor>& tensors, int root);
  // in: [n...] with the same shape on every rank -> [world_size, n...], row r from rank r, on
  // in's device.
  at::Tensor all_gather(const at::Tensor& in);
  void barrier();

  // Conveniences for metrics and logs (CPU values; same length on every rank).
  std::vector<double> all_reduce_sum(std::vector<double> values);
  double all_reduce_max(double value);
  // Every rank receives every rank's string, in rank order. Lengths may differ; bytes may be
  // anything (embedded NULs, invalid UTF-8).
  std::vector<std::string> gather_strings(const std::string& mine);
  // Every rank receives root's `value` (the argument is ignored on other ranks).
  std::string broadcast_string(std::string value, int root);

 private:
  Communicator(int rank, int world_size, std::string backend, double timeout_s,
               std::unique_ptr<detail::ProcessGroupLink> link);

  // Runs `body` (one collective) with this rank's error reporting; see the header comment.
  template <typename Body>
  void guarded(const char* collective, Body&& body);
  void check_root(const char* collective, int root) const;

  int rank_;
  int world_size_;
  std::string backend_;
  double timeout_s_;
  std::unique_ptr<detail::ProcessGroupLink> link_;  // null for a world of one
  std::string failed_;                              // the collective that failed, if any
};

}  // namespace visrl::trainer
