#include "trainer/report/metrics_backend.h"

namespace visrl::trainer {

std::vector<std::pair<std::string, double>> numeric_metrics(const nlohmann::json& metrics) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : metrics.items()) {
    if (key == "step") continue;
    if (value.is_number()) out.emplace_back(key, value.get<double>());
    if (value.is_boolean()) out.emplace_back(key, value.get<bool>() ? 1.0 : 0.0);
  }
  return out;
}

void BackendFanout::scalars(int64_t step, const nlohmann::json& metrics) {
  for (auto& b : backends_) b->scalars(step, metrics);
}

void BackendFanout::histogram(int64_t step, const std::string& tag, const std::vector<double>& values) {
  for (auto& b : backends_) b->histogram(step, tag, values);
}

void BackendFanout::image(int64_t step, const std::string& tag, const PngImage& image) {
  for (auto& b : backends_) b->image(step, tag, image);
}

void BackendFanout::text(int64_t step, const std::string& tag, const std::string& markdown) {
  for (auto& b : backends_) b->text(step, tag, markdown);
}

void BackendFanout::flush() {
  for (auto& b : backends_) b->flush();
}

}  // namespace visrl::trainer
