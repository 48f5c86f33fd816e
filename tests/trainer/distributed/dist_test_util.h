// Shared by the distributed tests: a rank's communicator from the launcher environment that
// tests/support/multiprocess.h sets up, and deterministic test tensors.
#pragma once

#include <cstdlib>
#include <memory>

#include <ATen/ATen.h>

#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"

namespace visrl::trainer::testing {

// This rank's gloo communicator (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT from run_ranks).
inline std::unique_ptr<Communicator> rank_communicator(double timeout_s = 30) {
  return Communicator::create(launch_env([](const char* name) { return std::getenv(name); }), "gloo", timeout_s,
                              at::kCPU);
}

// A communicator for a world of one (no store, no process group).
inline std::unique_ptr<Communicator> single_communicator() {
  return Communicator::create(LaunchEnv{}, "auto", 30, at::kCPU);
}

// Deterministic values in [-1, 1] that differ per `seed`: sin(0.37 * i * (seed + 1) + seed).
inline at::Tensor wave(at::IntArrayRef shape, int seed, at::ScalarType dtype = at::kFloat) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  at::Tensor i = at::arange(n, at::kDouble);
  return at::sin(i * (0.37 * (seed + 1)) + seed).reshape(shape).to(dtype);
}

}  // namespace visrl::trainer::testing
