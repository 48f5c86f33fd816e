// Weights & Biases through its own client, never in the way of training: rank 0 turns each
// call into a JSON line for a Python sidecar (wandb_sidecar.py, running the wandb package)
// fed through SidecarChannel's bounded queue. The sidecar's files go to <run_dir>/wandb (offline
// runs: <run_dir>/wandb/offline-run-*, uploaded later with `wandb sync`), its log to
// <run_dir>/wandb/sidecar.log. The run id is kept in <run_dir>/wandb/visrl-run-id, so a resume
// (or a restarted sidecar) continues the same W&B run.
//
// W&B's history only grows: after a resume from step N, the steps up to the last one the run
// had logged keep their first values (the same values under visrl's exact resume); new steps
// follow. Secrets never travel: the config holds only the names of environment variables with
// keys, and the sidecar takes WANDB_API_KEY from the environment it inherits.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "trainer/report/metrics_backend.h"
#include "trainer/report/sidecar_channel.h"

namespace visrl::trainer {

// How long the end of a run waits for the sidecar to hand its run over (wandb.finish).
inline constexpr std::chrono::seconds kWandbFinishWait{60};

struct WandbOptions {  // from logging.wandb (config_options.cpp)
  std::string project, entity, name, group;
  std::vector<std::string> tags;
  std::string mode;    // auto | online | offline
  std::string python;  // resolved: an interpreter with the wandb package
  size_t queue_bytes = 0;
  int64_t max_restarts = 0;
  std::chrono::milliseconds finish_wait = kWandbFinishWait;
};

class WandbLogger final : public MetricsBackend {
 public:
  // config_yaml: the resolved config, the run's W&B config.
  WandbLogger(const WandbOptions& options, const std::filesystem::path& run_dir, const std::string& config_yaml);

  void scalars(int64_t step, const nlohmann::json& metrics) override;
  void histogram(int64_t step, const std::string& tag, const std::vector<double>& values) override;
  void image(int64_t step, const std::string& tag, const PngImage& image) override;
  void text(int64_t step, const std::string& tag, const std::string& markdown) override;

  const std::string& run_id() const { return run_id_; }
  SidecarStats stats() const { return channel_->stats(); }
  pid_t sidecar_pid() const { return channel_->pid(); }
  void finish() { channel_->finish(); }

 private:
  std::string run_id_;
  std::unique_ptr<SidecarChannel> channel_;
};

// The run id kept in `dir`/visrl-run-id, made (8 characters of [a-z0-9]) when there is none.
std::string wandb_run_id(const std::filesystem::path& dir);

}  // namespace visrl::trainer
