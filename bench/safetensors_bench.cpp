// Loading checkpoint tensors: memory-mapped zero-copy views vs reading the file into memory.
//   build/bin/safetensors_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <torch/torch.h>

#include "core/safetensors.h"

namespace {

namespace fs = std::filesystem;
using namespace visrl::safetensors;

// Removes the benchmark's checkpoints when the program ends.
struct MadeCheckpoints : std::map<int, fs::path> {
  ~MadeCheckpoints() {
    std::error_code ec;
    for (const auto& [layers, path] : *this) fs::remove(path, ec);
  }
};

// A checkpoint of `layers` x 4 bf16 matrices of 1024 x 1024 (2 MiB each).
const fs::path& checkpoint(int layers) {
  static MadeCheckpoints made;
  auto it = made.find(layers);
  if (it != made.end()) return it->second;
  fs::path path = fs::temp_directory_path() / fmt::format("visrl-bench-{}.safetensors", layers);
  NamedTensors tensors;
  for (int l = 0; l < layers; ++l)
    for (const char* w : {"q", "k", "v", "o"})
      tensors.push_back({fmt::format("layers.{}.{}", l, w), torch::randn({1024, 1024}).to(torch::kBFloat16)});
  save_file(path, tensors);
  return made.emplace(layers, path).first->second;
}

void BM_OpenAndViewAll(benchmark::State& state) {
  const fs::path& path = checkpoint(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Checkpoint ckpt = Checkpoint::open(path);
    for (const auto& name : ckpt.names()) benchmark::DoNotOptimize(ckpt.tensor(name).data_ptr());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
}
BENCHMARK(BM_OpenAndViewAll)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond);

// Reference: read the whole file into memory (what a non-mapping loader does at least).
void BM_ReadWholeFile(benchmark::State& state) {
  const fs::path& path = checkpoint(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buffer(fs::file_size(path));
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
}
BENCHMARK(BM_ReadWholeFile)->Arg(4)->Arg(16)->Unit(benchmark::kMillisecond);

void BM_SaveFile(benchmark::State& state) {
  NamedTensors tensors;
  for (int i = 0; i < 16; ++i)
    tensors.push_back({fmt::format("w{}", i), torch::randn({1024, 1024}).to(torch::kBFloat16)});
  fs::path path = fs::temp_directory_path() / "visrl-bench-save.safetensors";
  for (auto _ : state) save_file(path, tensors);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(fs::file_size(path)));
  fs::remove(path);
}
BENCHMARK(BM_SaveFile)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
