// build/bin/train: resolves the configuration, prepares the run directory and trains.
//
//   train --config configs/chart2code.yaml [--set key.path=value ...] [--run-dir DIR]
//   train --config FILE --print-config     the resolved YAML, then exit 0
//   train --describe-config                every key with its default and meaning
//   train ... --resume auto                continue from the newest complete checkpoint of the
//                                          run directory (from scratch when there is none yet;
//                                          damaged ones are reported and skipped)
//   train [--config FILE] --resume PATH    continue from a checkpoint (step_<N>) or the newest
//                                          one of a run directory, in that run directory unless
//                                          --run-dir names another; without --config, with the
//                                          checkpoint's (or the run directory's) config.yaml
//   train ... --max-steps N                stop after step N (with a checkpoint); the LR
//                                          schedule still spans optim.total_steps
//   train ... --ignore-memory-plan         start even when the memory plan (build/bin/plan)
//                                          says the run does not fit its device
//
// Multi-process: started by torchrun or srun (trainer/distributed/launch_env.h), one process
// per GPU, or per CPU slot with Gloo; a resume may use another number of ranks. Ctrl-C,
// SIGTERM or SIGUSR1 (Slurm's warning before preemption or the time limit): the current step
// completes, a checkpoint and <run_dir>/final are saved, and the program exits 0. A second
// signal exits at once.
//
// Before any weight is read, rank 0 plans the memory of a rank (trainer/plan/memory_plan.h) on
// the device it gets, writes the plan to <run_dir>/memory_plan.txt and refuses (exit 2, the plan
// on stderr) a configuration that cannot fit. An allocation that fails anyway ends with "out of
// memory while <stage>" and the plan. At the end, the measured peak is logged beside the plan's.
//
// Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/config.h"
#include "core/device.h"
#include "core/error.h"
#include "core/logging.h"
#include "core/memory_info.h"
#include "core/program.h"
#include "core/run_dir.h"
#include "trainer/checkpoint/checkpoint_dir.h"
#include "trainer/distributed/communicator.h"
#include "trainer/distributed/launch_env.h"
#include "trainer/loop/trainer.h"
#include "trainer/plan/memory_plan.h"
#include "trainer/plan/memory_stage.h"
#include "trainer/plan/plan_inputs.h"
#include "trainer/stop_signal.h"

namespace {

struct Options {
  std::string config;
  std::vector<std::string> overrides;
  std::string run_dir;
  std::string resume;
  int64_t max_steps = 0;
  bool print_config = false;
  bool describe_config = false;
  bool ignore_memory_plan = false;
};

namespace fs = std::filesystem;

// The process's resident set when main() started: the measured peak is reported above it.
const int64_t g_start_rss = visrl::current_rss_bytes();

// Ranks sharing this host's memory: torchrun's LOCAL_WORLD_SIZE, Slurm's tasks per node.
int64_t ranks_on_host(int world_size) {
  for (const char* name : {"LOCAL_WORLD_SIZE", "SLURM_NTASKS_PER_NODE"}) {
    if (const char* value = std::getenv(name)) {
      const long n = std::strtol(value, nullptr, 10);
      if (n > 0) return n;
    }
  }
  return world_size > 1 && std::getenv("SLURM_PROCID") == nullptr ? world_size : 1;
}

// Rank 0 plans the memory of one rank and decides; every rank throws rank 0's refusal.
visrl::trainer::MemoryPlan check_memory_plan(const visrl::Config& config, const visrl::RunDir& run_dir,
                                             visrl::trainer::Communicator& comm, bool ignore) {
  using namespace visrl;
  trainer::MemoryPlan plan;
  std::string refusal;
  if (comm.is_main()) {
    try {
      const auto budget = trainer::detected_budget(config, comm.world_size(), ranks_on_host(comm.world_size()));
      plan = trainer::plan_memory(config, trainer::plan_inputs_for(config, budget));
    } catch (const Error& e) {
      refusal = e.what();  // (a missing model directory, say): every rank stops with it
    }
  }
  if (comm.is_main() && refusal.empty()) {
    const auto text = trainer::format_plan(plan);
    write_file_atomically(run_dir.root() / "memory_plan.txt", text);
    if (!plan.fits() && !ignore) {
      refusal = fmt::format(
          "this run does not fit its device: it needs {} per rank but has {} ({}); short by {}. Change the "
          "configuration (below), or start anyway with --ignore-memory-plan.\n{}",
          trainer::format_bytes(plan.needed()), trainer::format_bytes(plan.budget), plan.budget_source,
          trainer::format_bytes(plan.needed() - plan.budget), text);
    } else if (!plan.fits()) {
      spdlog::warn("--ignore-memory-plan: starting although the plan says it does not fit:\n{}", text);
    } else {
      spdlog::info("memory plan: peak {} per rank ({}) of {} ({}); details in {}", trainer::format_bytes(plan.peak),
                   plan.peak_phase, trainer::format_bytes(plan.budget), plan.budget_source,
                   (run_dir.root() / "memory_plan.txt").string());
    }
  }
  refusal = comm.broadcast_string(refusal, 0);
  if (!refusal.empty()) throw Error(ErrorKind::config, refusal);
  return plan;
}

// The run directory a checkpoint path belongs to: <run>/checkpoints/step_<N>, <run>/checkpoints
// or <run> itself.
fs::path run_dir_of(const fs::path& path) {
  const auto p = visrl::trainer::absolute_dir(path);
  if (visrl::trainer::checkpoint_step(p)) return p.parent_path().parent_path();
  if (p.filename() == "checkpoints") return p.parent_path();
  return p;
}

// Rank 0 picks the checkpoint to resume from (verifying it) and tells the others; every rank
// throws rank 0's error. Empty: start from scratch.
std::string choose_checkpoint(const std::string& resume, const visrl::RunDir& run_dir,
                              visrl::trainer::Communicator& comm) {
  using namespace visrl;
  nlohmann::json choice = {{"path", ""}, {"error", ""}};
  if (comm.is_main()) {
    try {
      if (resume == "auto") {
        std::vector<std::string> skipped;
        const auto found = trainer::newest_complete_checkpoint(run_dir.checkpoints_dir(), &skipped);
        for (const auto& why : skipped) spdlog::warn("skipping a damaged checkpoint: {}", why);
        if (found) {
          choice["path"] = found->string();
        } else {
          spdlog::info("--resume auto: no complete checkpoint in {}; starting from step 0",
                       run_dir.checkpoints_dir().string());
        }
      } else {
        choice["path"] = trainer::resolve_checkpoint(resume).string();
      }
    } catch (const std::exception& e) {
      choice["error"] = e.what();
    }
  }
  choice = nlohmann::json::parse(comm.broadcast_string(choice.dump(), 0));
  if (!choice["error"].get<std::string>().empty())
    fail(ErrorKind::format, "--resume {}: {}", resume, choice["error"].get<std::string>());
  return choice["path"].get<std::string>();
}

int run(const Options& opt) {
  using namespace visrl;
  if (opt.describe_config) {
    std::cout << describe_config();
    return 0;
  }
  std::string cli_run_dir = opt.run_dir;
  std::string config_path = opt.config;
  if (!opt.resume.empty() && opt.resume != "auto" && cli_run_dir.empty()) cli_run_dir = run_dir_of(opt.resume).string();
  if (config_path.empty()) {
    // Without --config: the checkpoint's own config.yaml, else the run directory's.
    if (opt.resume.empty())
      fail(ErrorKind::usage, "--config is required (or --resume, which reads the run's config.yaml)");
    if (opt.resume == "auto" && cli_run_dir.empty()) {
      fail(ErrorKind::usage, "--resume auto without --config needs --run-dir");
    }
    const auto from = trainer::absolute_dir(opt.resume == "auto" ? cli_run_dir : opt.resume);
    config_path = ((trainer::checkpoint_step(from) ? from : run_dir_of(from)) / "config.yaml").string();
  }
  LoadedConfig loaded = load_config(config_path, opt.overrides);
  if (opt.resume == "auto" && cli_run_dir.empty() && loaded.config.logging.run_dir.empty()) {
    fail(ErrorKind::usage,
         "--resume auto looks for checkpoints in the run directory: give --run-dir (or logging.run_dir)");
  }
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
  const auto chosen = comm->broadcast_string(comm->is_main() ? RunDir::choose(cli_run_dir, loaded).string() : "", 0);
  RunDir run_dir(chosen);
  if (comm->is_main()) {
    run_dir.write_config(to_yaml(loaded.config));
    logging::add_file_sink(run_dir.log_path());
    spdlog::info("run directory {}", run_dir.root().string());
    spdlog::info("{}", describe_accelerators());
  } else {
    spdlog::set_level(spdlog::level::warn);  // rank 0 speaks for the job
  }
  const auto& stop = trainer::install_stop_signals();
  std::optional<fs::path> resume_from;
  if (!opt.resume.empty()) {
    const auto path = choose_checkpoint(opt.resume, run_dir, *comm);
    if (!path.empty()) resume_from = path;
  }
  const auto plan = check_memory_plan(loaded.config, run_dir, *comm, opt.ignore_memory_plan);
  try {
    trainer::Trainer trainer(loaded.config, run_dir, *comm, resume_from);
    const auto steps = trainer.run(stop, opt.max_steps);
    if (comm->is_main()) {
      spdlog::info("done: {} steps; metrics in {}", steps, run_dir.metrics_path().string());
      const int64_t peak = peak_rss_bytes();
      spdlog::info("memory: peak RSS {} ({} above the {} at start); the plan's peak was {}",
                   trainer::format_bytes(peak), trainer::format_bytes(peak - g_start_rss),
                   trainer::format_bytes(g_start_rss), trainer::format_bytes(plan.peak));
    }
  } catch (const std::exception& e) {
    std::string what;
    if (!trainer::is_out_of_memory(e, &what)) throw;
    const auto stage = trainer::MemoryStage::current();
    fail(ErrorKind::runtime, "out of memory{}: {}\nThe memory plan of this run{}:\n{}",
         stage.empty() ? "" : " while " + stage, what, comm->is_main() ? "" : " (rank 0's)",
         comm->is_main() ? trainer::format_plan(plan) : std::string("  see memory_plan.txt in the run directory\n"));
  }
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
  app.add_option("--resume", opt.resume,
                 "auto (newest complete checkpoint of the run directory, if any) or a checkpoint / run directory");
  app.add_option("--max-steps", opt.max_steps, "Stop after this step, with a checkpoint (0 = optim.total_steps)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--print-config", opt.print_config, "Print the resolved configuration as YAML and exit");
  app.add_flag("--describe-config", opt.describe_config, "Print every key with its default and meaning, and exit");
  app.add_flag("--ignore-memory-plan", opt.ignore_memory_plan,
               "Start even when the memory plan says the run does not fit its device");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return visrl::run_program([&] { return run(opt); });
}
