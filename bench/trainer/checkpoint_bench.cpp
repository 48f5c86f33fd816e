// Checkpoint cost on a policy large enough for disk throughput to dominate (hidden 768, 8
// layers, float32: ~45M parameters): saving weights + AdamW state (write, fsync, CRC-32,
// rename), verifying it, loading it back, and the same with checkpoint.model_only.
//   build/bin/checkpoint_bench [--benchmark_filter=...]
// Counters: bytes per checkpoint; bytes_per_second is that size over the time.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "policy/model/hf_checkpoint.h"
#include "policy/model/tiny_model.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/checkpoint/checkpoint_io.h"

#ifndef VISRL_SOURCE_DIR
#error "VISRL_SOURCE_DIR must name the source tree (for the tiny tokenizer)"
#endif

namespace {
namespace fs = std::filesystem;
using namespace visrl;
using namespace visrl::trainer;

struct Fixture {
  fs::path root = fs::temp_directory_path() / "visrl-checkpoint-bench";
  std::unique_ptr<Communicator> comm = Communicator::create(LaunchEnv{}, "auto", 60, at::kCPU);
  policy::Qwen3VL model{nullptr};
  std::unique_ptr<ShardedAdamW> optimizer;

  Fixture() {
    fs::remove_all(root);
    policy::TinyModelOptions options;
    options.tokenizer_dir = fs::path(VISRL_SOURCE_DIR) / "tests/fixtures/tokenizer/tiny";
    options.hidden_size = 768;
    options.num_layers = 8;
    policy::save_tiny_model(root / "model", options);
    model = policy::load_pretrained(root / "model");
    std::vector<std::pair<std::string, at::Tensor>> named;
    for (auto& p : model->named_parameters()) {
      named.emplace_back(p.key(), p.value());
      p.value().mutable_grad() = at::randn_like(p.value());
    }
    optimizer = std::make_unique<ShardedAdamW>(named, AdamWOptions{}, *comm, /*shard=*/false);
    optimizer->step(1e-3);  // allocates and fills the moments
  }
  ~Fixture() { fs::remove_all(root); }

  CheckpointContents contents(bool model_only, int64_t step) {
    CheckpointContents c;
    c.policy = model.get();
    c.optimizer = model_only ? nullptr : optimizer.get();
    c.state.step = step;
    c.state.has_optimizer = !model_only;
    c.config_yaml = "seed: 1\n";
    c.assets_from = root / "model";
    return c;
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

int64_t bytes_of(const fs::path& dir) {
  int64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += static_cast<int64_t>(e.file_size());
  }
  return total;
}

void BM_Save(benchmark::State& state) {
  auto& f = fixture();
  const bool model_only = state.range(0) != 0;
  const auto dir = f.root / (model_only ? "model_only" : "full");
  int64_t step = 0, bytes = 0;
  for (auto _ : state) {
    const auto saved = save_checkpoint(dir, f.contents(model_only, ++step), *f.comm);
    state.PauseTiming();
    bytes = bytes_of(saved);
    prune_checkpoints(dir, 1, 0);
    state.ResumeTiming();
  }
  state.counters["checkpoint_MB"] = static_cast<double>(bytes) / (1 << 20);
  state.SetBytesProcessed(state.iterations() * bytes);
  state.SetLabel(model_only ? "model_only" : "weights + optimizer");
}
BENCHMARK(BM_Save)->Arg(0)->Arg(1)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_VerifyAndLoad(benchmark::State& state) {
  auto& f = fixture();
  const auto dir = f.root / "load";
  const auto saved = save_checkpoint(dir, f.contents(false, 1), *f.comm);
  const auto bytes = bytes_of(saved);
  for (auto _ : state) {
    const auto opened = open_checkpoint(saved);  // verifies every file's size and CRC-32
    auto model = policy::load_pretrained(opened.model_dir());
    load_optimizer_state(saved, *f.optimizer);
    benchmark::DoNotOptimize(model.get());
  }
  state.counters["checkpoint_MB"] = static_cast<double>(bytes) / (1 << 20);
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_VerifyAndLoad)->Iterations(3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
