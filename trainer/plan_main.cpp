// build/bin/plan: what a run will hold in memory, per rank, before anything is loaded.
//
//   plan --config configs/chart2code.yaml [--set key=value ...] [--gpus 8x80GB | --memory 24GB]
//
// Without --gpus or --memory the budget is the device the config names (the GPU's total
// memory, or the host's available memory). Reads only config.json files, never weights. Prints
// the items, the peak, whether it fits and (when it does not) the cheapest changes that make it
// fit. Exit codes: 0 (whether or not it fits; `train` is the one that refuses), 2 for a usage or
// configuration error.
#include <iostream>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/program.h"
#include "trainer/plan/memory_plan.h"
#include "trainer/plan/plan_inputs.h"

int main(int argc, char** argv) {
  CLI::App app{"visrl plan: the memory a training run will need, per rank"};
  std::string config_path, gpus, memory;
  std::vector<std::string> overrides;
  app.add_option("--config", config_path, "YAML config file")->required();
  app.add_option("--set", overrides, "Override one key: --set model.gradient_checkpointing=true (repeatable)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  auto* gpus_opt = app.add_option("--gpus", gpus, "Ranks and memory of each GPU, e.g. 8x80GB");
  app.add_option("--memory", memory, "One CPU rank with this much host memory, e.g. 24GB")->excludes(gpus_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] {
    using namespace visrl;
    const auto loaded = load_config(config_path, overrides);
    const auto budget = !gpus.empty()     ? trainer::gpus_budget(gpus)
                        : !memory.empty() ? trainer::host_budget(memory)
                                          : trainer::detected_budget(loaded.config, 1, 1);
    const auto plan = trainer::plan_memory(loaded.config, trainer::plan_inputs_for(loaded.config, budget));
    std::cout << trainer::format_plan(plan);
    return 0;
  });
}
