// The CUDA and NCCL code paths of LibTorch compile and link into visrl (built only when
// LibTorch has CUDA). On a machine without a GPU only the host-side parts run.
#include <gtest/gtest.h>

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/NCCLUtils.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

namespace {

TEST(CudaBuild, NcclLibraryIsLinkedAndReportsItsVersion) {
  // Asks libnccl itself (no GPU needed); the wheel's NCCL, not an older system copy.
  std::string version = c10d::getNcclVersion();
  ASSERT_FALSE(version.empty());
  EXPECT_NE(version, "Unknown NCCL version");
  std::printf("NCCL %s\n", version.c_str());
}

TEST(CudaBuild, ProcessGroupOptionsAreConstructible) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = std::chrono::milliseconds(1234);
  EXPECT_EQ(options->timeout.count(), 1234);
}

TEST(CudaBuild, CudaTensorsWhenAGpuIsVisible) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible";
  auto x = torch::ones({4}, torch::kCUDA) * 2;
  EXPECT_EQ(x.sum().item<float>(), 8.0f);
  EXPECT_GT(c10::cuda::device_count(), 0);
  EXPECT_NE(at::cuda::getCurrentCUDAStream().stream(), nullptr);
}

}  // namespace
