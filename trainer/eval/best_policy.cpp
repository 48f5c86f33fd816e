#include "trainer/eval/best_policy.h"

#include "core/error.h"
#include "core/json_file.h"

namespace visrl::trainer {

nlohmann::json to_json(const BestValidation& best) {
  return {{"metric", best.metric}, {"mode", best.mode}, {"step", best.step}, {"value", best.value}};
}

std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& metric) {
  if (!metrics.is_object()) return std::nullopt;
  const auto it = metrics.find(metric);
  if (it == metrics.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

bool improves(const std::string& mode, double value, const std::optional<BestValidation>& best) {
  if (!best) return true;
  return mode == "min" ? value < best->value : value > best->value;
}

std::optional<BestValidation> read_best_validation(const std::filesystem::path& best_dir) {
  const auto path = best_dir / kBestValidationFile;
  if (!std::filesystem::exists(path)) return std::nullopt;
  return best_validation_from_json(read_json_file(path, "best validation record"), path.string());
}

BestValidation best_validation_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    BestValidation b;
    b.metric = j.at("metric").get<std::string>();
    b.mode = j.at("mode").get<std::string>();
    b.step = j.at("step").get<int64_t>();
    b.value = j.at("value").get<double>();
    return b;
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::format, "{}: expected {{metric, mode, step, value}}: {}", where, e.what());
  }
}

}  // namespace visrl::trainer
