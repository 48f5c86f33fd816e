// The run directory every program that writes a run uses:
//   <run_dir>/config.yaml     the resolved configuration
//   <run_dir>/metrics.jsonl   one JSON object per step
//   <run_dir>/train.log       the console log
//   <run_dir>/rollouts/       step_<N>.jsonl: every sample of a step
//   <run_dir>/checkpoints/    step_<N>/ checkpoints and the `latest` pointer
#pragma once

#include <filesystem>
#include <string>

#include "core/config.h"

namespace visrl {

class RunDir {
 public:
  // Creates the directory tree (parents included). Throws Error(io) when it cannot.
  explicit RunDir(std::filesystem::path root);

  // The directory a run uses: `--run-dir` if given, else logging.run_dir, else
  // runs/<config file stem>-<YYYYmmdd-HHMMSS> (local time).
  static std::filesystem::path choose(const std::string& cli_run_dir, const LoadedConfig& loaded);

  // Writes config.yaml atomically. A different config.yaml already there (an earlier run in
  // the same directory) is kept as config.<YYYYmmdd-HHMMSS>.yaml first, never overwritten.
  void write_config(const std::string& yaml) const;

  // Local time as YYYYmmdd-HHMMSS: the stamp of default run directories and of files kept aside.
  static std::string timestamp();

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "config.yaml"; }
  std::filesystem::path metrics_path() const { return root_ / "metrics.jsonl"; }
  std::filesystem::path log_path() const { return root_ / "train.log"; }
  std::filesystem::path rollouts_dir() const { return root_ / "rollouts"; }
  std::filesystem::path checkpoints_dir() const { return root_ / "checkpoints"; }

 private:
  std::filesystem::path root_;
};

}  // namespace visrl
