// build/bin/ablate: recompute rewards and GRPO advantages of logged rollouts under several
// reward formulas, without running the critic again, and compare them.
//
//   ablate --rollouts RUN_DIR/rollouts --formulas formulas.yaml [--json]
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#include <iostream>

#include <CLI/CLI.hpp>

#include "core/program.h"
#include "reward/formula/rollout_record.h"
#include "trainer/ablation/ablation.h"

namespace {

struct Options {
  std::string rollouts;
  std::string formulas;
  bool json = false;
};

int run(const Options& opt) {
  using namespace visrl;
  auto formulas = trainer::load_ablation_formulas(opt.formulas);
  auto records = reward::read_rollouts(opt.rollouts);
  auto rows = trainer::run_ablation(records, formulas);
  if (opt.json) {
    std::cout << trainer::ablation_json(rows).dump(2) << "\n";
  } else {
    std::cout << trainer::format_ablation_table(rows);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"visrl ablate: compare reward formulas on logged rollouts"};
  Options opt;
  app.add_option("--rollouts", opt.rollouts, "A run's rollouts directory (step_<N>.jsonl files) or one such file")
      ->required();
  app.add_option("--formulas", opt.formulas, "YAML file listing the formulas; the first is the baseline")->required();
  app.add_flag("--json", opt.json, "Print the table as JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
