// build/bin/train: resolves the configuration, prepares the run directory and trains.
//
//   train --config configs/chart2code.yaml [--set key.path=value ...] [--run-dir DIR]
//   train --config FILE --print-config     the resolved YAML, then exit 0
//   train --describe-config                every key with its default and meaning
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#include <cstdio>
#include <iostream>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/device.h"
#include "core/error.h"
#include "core/program.h"
#include "core/logging.h"
#include "core/run_dir.h"

namespace {

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
  RunDir run_dir(RunDir::choose(opt.run_dir, loaded));
  run_dir.write_config(to_yaml(loaded.config));
  logging::add_file_sink(run_dir.log_path());
  spdlog::info("run directory {}", run_dir.root().string());
  spdlog::info("{}", describe_accelerators());

  // The rollout/update loop is built by the trainer issue; until then, say so plainly.
  throw Error(ErrorKind::runtime,
              "this build has no training loop yet (it arrives with the trainer); "
              "the resolved config was written to " +
                  run_dir.config_path().string());
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
