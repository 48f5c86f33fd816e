// Where a run's step data goes besides metrics.jsonl (logging.backends): TensorBoard event files
// (tensorboard_writer.h) and Weights & Biases (wandb_logger.h). Rank 0 holds them. A backend
// never stops the run: a failed write is warned about and the backend goes quiet.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace visrl::trainer {

// An image as the backends store it: encoded once (step_samples.h) for all of them.
struct PngImage {
  int width = 0, height = 0;
  std::string png;  // the PNG file's bytes
};

class MetricsBackend {
 public:
  virtual ~MetricsBackend() = default;
  // Every number of a metrics.jsonl line (bools as 0/1) at `step`; strings, nulls and `step`
  // itself are left out (numeric_metrics).
  virtual void scalars(int64_t step, const nlohmann::json& metrics) = 0;
  virtual void histogram(int64_t step, const std::string& tag, const std::vector<double>& values) = 0;
  virtual void image(int64_t step, const std::string& tag, const PngImage& image) = 0;
  virtual void text(int64_t step, const std::string& tag, const std::string& markdown) = 0;
  virtual void flush() {}
};

// The scalars of a metrics line: numbers, and bools as 0/1, by key; `step` left out.
std::vector<std::pair<std::string, double>> numeric_metrics(const nlohmann::json& metrics);

// Several backends as one: every call goes to each, in order.
class BackendFanout final : public MetricsBackend {
 public:
  void add(std::unique_ptr<MetricsBackend> backend) { backends_.push_back(std::move(backend)); }
  bool empty() const { return backends_.empty(); }

  void scalars(int64_t step, const nlohmann::json& metrics) override;
  void histogram(int64_t step, const std::string& tag, const std::vector<double>& values) override;
  void image(int64_t step, const std::string& tag, const PngImage& image) override;
  void text(int64_t step, const std::string& tag, const std::string& markdown) override;
  void flush() override;

 private:
  std::vector<std::unique_ptr<MetricsBackend>> backends_;
};

}  // namespace visrl::trainer
