// build/bin/checkpoint_load_bench: the time and memory of load_pretrained (and optionally
// save_pretrained) on one checkpoint directory, in a fresh process.
//   checkpoint_load_bench --model DIR [--dtype auto|bfloat16|float32] [--device cpu|cuda]
//                         [--save OUT] [--save-dtype D] [--max-shard-mb N]
// Prints one JSON object: weight_bytes (of the loaded parameters), load_s, rss_before_mb
// (the process before loading: LibTorch and friends), peak_rss_mb (VmHWM, core/memory_info.h, after
// loading), peak_over_weights (peak_rss / weight_bytes); with --save also save_s and
// save_peak_extra_mb (the peak resident set during the save minus the resident set before it,
// via /proc/self/clear_refs, Linux only).

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/device.h"
#include "core/memory_info.h"
#include "policy/model/hf_checkpoint.h"

namespace {

double mb(int64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"load_pretrained (and save_pretrained) time and peak memory"};
  std::string model_dir, dtype = "auto", device = "cpu", save_dir, save_dtype = "auto";
  int64_t max_shard_mb = 5 * 1024;
  app.add_option("--model", model_dir, "checkpoint directory")->required();
  app.add_option("--dtype", dtype, "auto | bfloat16 | float32 | float16");
  app.add_option("--device", device, "cpu | cuda | auto");
  app.add_option("--save", save_dir, "also save_pretrained into this directory");
  app.add_option("--save-dtype", save_dtype, "auto (the model's) | bfloat16 | float32 | float16");
  app.add_option("--max-shard-mb", max_shard_mb, "shard size of the save");
  CLI11_PARSE(app, argc, argv);
  try {
    using namespace visrl::policy;
    LoadOptions load;
    load.device = visrl::resolve_device(device, "--device");
    if (dtype != "auto") load.dtype = dtype_from_name(dtype, "--dtype");
    const double rss_before = mb(visrl::current_rss_bytes());
    const auto start = std::chrono::steady_clock::now();
    auto model = load_pretrained(model_dir, load);
    const double load_s = seconds_since(start);
    const double peak = mb(visrl::peak_rss_bytes());
    uint64_t weight_bytes = 0;
    for (const auto& p : model->parameters()) weight_bytes += p.nbytes();
    nlohmann::ordered_json out = {
        {"model", model_dir},
        {"dtype", dtype_name(model->dtype())},
        {"device", model->device().str()},
        {"weight_bytes", weight_bytes},
        {"load_s", load_s},
        {"rss_before_mb", rss_before},
        {"peak_rss_mb", peak},
        {"peak_over_weights", peak * 1024.0 * 1024.0 / static_cast<double>(weight_bytes)},
    };
    if (!save_dir.empty()) {
      const double rss_at_save = mb(visrl::current_rss_bytes());
      // "5" resets the peak resident set (VmHWM) to the current one.
      const bool reset = static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
      SaveOptions save;
      save.max_shard_bytes = static_cast<uint64_t>(max_shard_mb) << 20;
      if (save_dtype != "auto") save.dtype = dtype_from_name(save_dtype, "--save-dtype");
      const auto save_start = std::chrono::steady_clock::now();
      save_pretrained(*model, save_dir, save);
      out["save_s"] = seconds_since(save_start);
      if (reset) out["save_peak_extra_mb"] = mb(visrl::peak_rss_bytes()) - rss_at_save;
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "checkpoint_load_bench: %s\n", e.what());
    return 1;
  }
}
