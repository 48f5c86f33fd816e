// The machine's measured float32 matmul peak through LibTorch: the best GFLOP/s of at::mm on
// square matrices, the yardstick for the GRPO update step's achieved GFLOP/s (scripts/bench).
//   gemm_peak_bench [--threads 2] [--sizes 256,512,1024,2048] [--seconds 1] [--dtype fp32|bf16]
// Prints one JSON object: {"threads", "dtype", "peak_gflops", "peak_size", "by_size": {N: GFLOP/s}}.
#include <algorithm>
#include <chrono>
#include <iostream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/program.h"

namespace {

struct Options {
  int threads = 2;
  std::vector<int64_t> sizes{256, 512, 1024, 2048};
  double seconds = 1.0;  // per size, after a warm-up call
  std::string dtype = "fp32";
};

int run(const Options& opt) {
  using Clock = std::chrono::steady_clock;
  at::set_num_threads(opt.threads);
  const auto dtype = opt.dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  nlohmann::json by_size = nlohmann::json::object();
  double peak = 0;
  int64_t peak_size = 0;
  for (const int64_t n : opt.sizes) {
    auto a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype), c = at::empty({n, n}, a.options());
    at::mm_out(c, a, b);  // warm-up: thread pool, page faults
    // Best of repeated single calls, so one descheduled call does not count against the peak.
    double best_s = 1e30;
    const auto start = Clock::now();
    do {
      const auto t = Clock::now();
      at::mm_out(c, a, b);
      best_s = std::min(best_s, std::chrono::duration<double>(Clock::now() - t).count());
    } while (std::chrono::duration<double>(Clock::now() - start).count() < opt.seconds);
    const double gflops = 2.0 * static_cast<double>(n) * n * n / best_s / 1e9;
    by_size[std::to_string(n)] = gflops;
    if (gflops > peak) peak = gflops, peak_size = n;
  }
  nlohmann::json out = {{"threads", opt.threads},
                        {"dtype", opt.dtype},
                        {"peak_gflops", peak},
                        {"peak_size", peak_size},
                        {"by_size", by_size}};
  std::cout << out.dump() << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"float32 matmul peak of this machine through LibTorch (at::mm)"};
  Options opt;
  app.add_option("--threads", opt.threads, "intra-op threads")->check(CLI::PositiveNumber);
  app.add_option("--sizes", opt.sizes, "square matrix sizes")->delimiter(',')->check(CLI::PositiveNumber);
  app.add_option("--seconds", opt.seconds, "time per size")->check(CLI::PositiveNumber);
  app.add_option("--dtype", opt.dtype, "fp32 or bf16")->check(CLI::IsMember({"fp32", "bf16"}));
  CLI11_PARSE(app, argc, argv);
  return visrl::run_program([&] { return run(opt); });
}
