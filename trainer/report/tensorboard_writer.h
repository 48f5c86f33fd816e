// TensorBoard event files of a run, written natively (tb_event_file.h): rank 0 writes
// <run_dir>/tensorboard/events.out.tfevents.<time>.<host>, one new file per start of the run.
// `tensorboard --logdir runs/` shows every run of the directory side by side.
//
// A write that fails (a full disk) is warned about once and ends the TensorBoard log, never
// the run: metrics.jsonl stays the record.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainer/report/metrics_backend.h"

namespace visrl::trainer {

class TensorBoardWriter final : public MetricsBackend {
 public:
  // resumed_after: the step a resumed run continues after. Each file starts with a SessionLog
  // START, at step 0 or resumed_after + 1: on a restart TensorBoard drops what earlier files
  // logged from that step on (the future the resume replaces), so no step appears twice.
  TensorBoardWriter(const std::filesystem::path& dir, std::optional<int64_t> resumed_after);

  // Every number of a metrics.jsonl line as a float32 scalar of that tag at `step`.
  void scalars(int64_t step, const nlohmann::json& metrics) override;
  void histogram(int64_t step, const std::string& tag, const std::vector<double>& values) override;
  void image(int64_t step, const std::string& tag, const PngImage& image) override;
  void text(int64_t step, const std::string& tag, const std::string& markdown) override;
  void flush() override;

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_event(const std::string& event);

  std::filesystem::path path_;
  std::ofstream out_;
  bool failed_ = false;
};

}  // namespace visrl::trainer
