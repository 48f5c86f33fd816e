// build/bin/train: resolves the configuration, prepares the run directory and trains.
//
//   train --config configs/chart2code.yaml [--set key.path=value ...] [--run-dir DIR]
//   train --config FILE --print-config     the resolved YAML, then exit 0
//   train --describe-config                every key with its default and meaning
//
// Multi-process: started by torchrun or srun (trainer/distributed/launch_env.h), one process
// per GPU, or per CPU slot with Gloo. Ctrl-C / SIGTERM: the current step completes, the
// trained policy is saved to <run_dir>/final, and the program exits 0. A second signal
// exits at once.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/device.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/program.h"
#include "core/run_dir.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/loop/trainer.h"

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  if (g_stop.exchange(true)) _exit(130);  // a second signal: leave now
  const char msg[] = "\nstop requested: finishing the current step (signal again to quit now)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
  (void)ignored;
}

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  bool print_config = false;
  bool describe_config = false;
};

int run(const Options& opt) {
  using namespace visrl;
  if (opt.describe_config) {
    std::cout << describe_config();
    return 0;
  }
  LoadedConfig loaded = load_config(opt.config, opt.overrides);
  if (opt.print_config) {
    std::cout << to_yaml(loaded.config);
    return 0;
  }

  logging::set_level(loaded.config.logging.level);
  const auto env = trainer::launch_env([](const char* name) { return std::getenv(name); });
  // Every rank must use the same directory: rank 0 chooses (a timestamped default would
  // differ between processes) and tells the others.
  auto comm = trainer::Communicator::create(env, loaded.config.distributed.backend, loaded.config.distributed.timeout_s,
                                            resolve_device(loaded.config.model.device, "model.device"));
  const auto chosen = comm->broadcast_string(comm->is_main() ? RunDir::choose(opt.run_dir, loaded).string() : "", 0);
  RunDir run_dir(chosen);
  if (comm->is_main()) {
    run_dir.write_config(to_yaml(loaded.config));
    logging::add_file_sink(run_dir.log_path());
    spdlog::info("run directory {}", run_dir.root().string());
    spdlog::info("{}", describe_accelerators());
  } else {
    spdlog::set_level(spdlog::level::warn);  // rank 0 speaks for the job
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  trainer::Trainer trainer(loaded.config, run_dir, *comm);
  const auto steps = trainer.run(g_stop);
  if (comm->is_main()) spdlog::info("done: {} steps; metrics in {}", steps, run_dir.metrics_path().string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl train: GRPO-style RL of vision-to-code models"};
  Options opt;
  app.add_option("--config", opt.config, "YAML config file (may start with `extends: base.yaml`)");
  app.add_option("--set", opt.overrides, "Override one key: --set algorithm.kl_coef=0.01 (repeatable)")
      ->allow_extra_args(false)  // one key=value per --set; repeat --set for more
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--run-dir", opt.run_dir, "Run directory (default: logging.run_dir, else runs/<config>-<time>)");
  app.add_flag("--print-config", opt.print_config, "Print the resolved configuration as YAML and exit");
  app.add_flag("--describe-config", opt.describe_config, "Print every key with its default and meaning, and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
