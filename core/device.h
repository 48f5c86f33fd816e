// Turning a configured device name into a LibTorch device.
#pragma once

#include <cstdint>
#include <string>

#include <c10/core/Device.h>

namespace visrl {

// "auto" -> cuda:0 when a GPU is visible, else cpu; "cpu"; "cuda" / "cuda:N" -> that GPU.
// Throws Error(config) naming `key` when a GPU is asked for but absent, or N is out of range.
c10::Device resolve_device(const std::string& name, const std::string& key);

// One line about the accelerators this build and this machine have, for the start-up log.
std::string describe_accelerators();

// Total memory of a CUDA device in bytes (0 in a build without CUDA or for a CPU device).
int64_t cuda_total_memory(const c10::Device& device);

}  // namespace visrl
