// build/bin/sft: supervised fine-tuning of a policy on (image, ground-truth code) pairs, the
// warm start before GRPO. It reads the same configuration as `train` (model, data, optim,
// distributed, logging; the GRPO keys are ignored) and runs on the same ranks (torchrun, srun).
//
//   sft --config FILE [--set k=v ...] [--run-dir DIR] [--batch-size 16] [--micro-batch-size 4]
//       [--max-answer-tokens 4096]
//
// Writes <run_dir>/metrics.jsonl ({"step", "loss", "tokens", "grad_norm", "lr", ...} per step)
// and the fine-tuned policy as a Hugging Face directory in <run_dir>/final/, which
// `train --set model.path=<run_dir>/final` starts from. Ctrl-C / SIGTERM stops after the
// current step and saves. Exit codes: 0 success, 1 runtime failure, 2 usage or config error.
#include <cstdlib>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/device.h"
#include "core/logging.h"
#include "core/program.h"
#include "core/run_dir.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/sft/sft_runner.h"
#include "trainer/stop_signal.h"

namespace {

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  visrl::trainer::SftOptions sft;
};

int run(const Options& opt) {
  using namespace visrl;
  LoadedConfig loaded = load_config(opt.config, opt.overrides);
  logging::set_level(loaded.config.logging.level);
  const auto env = trainer::launch_env([](const char* name) { return std::getenv(name); });
  auto comm = trainer::Communicator::create(env, loaded.config.distributed.backend, loaded.config.distributed.timeout_s,
                                            resolve_device(loaded.config.model.device, "model.device"));
  const auto chosen = comm->broadcast_string(comm->is_main() ? RunDir::choose(opt.run_dir, loaded).string() : "", 0);
  RunDir run_dir(chosen);
  if (comm->is_main()) {
    run_dir.write_config(to_yaml(loaded.config));
    logging::add_file_sink(run_dir.log_path());
    spdlog::info("run directory {}", run_dir.root().string());
  } else {
    spdlog::set_level(spdlog::level::warn);
  }
  const auto& stop = trainer::install_stop_signals();
  trainer::SftRunner sft(loaded.config, run_dir, *comm, opt.sft);
  const auto steps = sft.run(stop);
  if (comm->is_main()) spdlog::info("done: {} steps; the policy is in {}", steps, (run_dir.root() / "final").string());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl sft: supervised fine-tuning on (image, code) pairs"};
  Options opt;
  app.add_option("--config", opt.config, "YAML config (model, data, optim, distributed, logging)")->required();
  app.add_option("--set", opt.overrides, "Override one key: --set optim.lr=1e-5 (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--run-dir", opt.run_dir, "Run directory (default: logging.run_dir, else runs/<config>-<time>)");
  app.add_option("--batch-size", opt.sft.batch_size, "Items per optimizer step, across all ranks")
      ->check(CLI::PositiveNumber);
  app.add_option("--micro-batch-size", opt.sft.micro_batch_size, "Sequences per forward/backward on one rank")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-answer-tokens", opt.sft.max_answer_tokens, "Longest answer; a longer one is an error")
      ->check(CLI::PositiveNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
