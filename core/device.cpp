#include "core/device.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <charconv>
#include <optional>

#include "core/error.h"

#ifdef VISRL_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace visrl {

namespace {

int cuda_device_count() {
#ifdef VISRL_WITH_CUDA
  return at::hasCUDA() ? static_cast<int>(c10::cuda::device_count()) : 0;
#else
  return 0;
#endif
}

// The GPU index of "cuda" (0) or "cuda:N"; nothing for any other name.
std::optional<int> cuda_index(const std::string& name) {
  if (name == "cuda") return 0;
  if (name.rfind("cuda:", 0) != 0) return std::nullopt;
  const char* begin = name.data() + 5;
  const char* end = name.data() + name.size();
  int index = -1;
  auto [ptr, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || ptr != end || index < 0) return std::nullopt;
  return index;
}

}  // namespace

c10::Device resolve_device(const std::string& name, const std::string& key) {
  const int gpus = cuda_device_count();
  if (name == "auto") return gpus > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  if (name == "cpu") return c10::Device(c10::kCPU);
  std::optional<int> index = cuda_index(name);
  if (!index) fail(ErrorKind::config, "{}: unknown device \"{}\" (expected auto, cpu, cuda or cuda:N)", key, name);
  if (gpus == 0) {
    fail(ErrorKind::config, "{}: {} requested, but {}", key, name,
#ifdef VISRL_WITH_CUDA
         "no CUDA device is visible");
#else
         "this build's LibTorch has no CUDA support");
#endif
  }
  if (*index >= gpus)
    fail(ErrorKind::config, "{}: {} requested, but only {} CUDA device(s) are visible", key, name, gpus);
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(*index));
}

std::string describe_accelerators() {
#ifdef VISRL_WITH_CUDA
  const int gpus = cuda_device_count();
  if (gpus == 0) return "LibTorch built with CUDA; no CUDA device visible";
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  return fmt::format("LibTorch built with CUDA; {} device(s), cuda:0 = {} ({} GiB)", gpus, prop.name,
                     prop.totalGlobalMem >> 30);
#else
  return "LibTorch without CUDA; CPU only";
#endif
}

int64_t cuda_total_memory(const c10::Device& device) {
#ifdef VISRL_WITH_CUDA
  if (!device.is_cuda() || cuda_device_count() == 0) return 0;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device.has_index() ? device.index() : 0) != cudaSuccess) return 0;
  return static_cast<int64_t>(prop.totalGlobalMem);
#else
  (void)device;
  return 0;
#endif
}

}  // namespace visrl
