// Which validation was best so far, by validation.best_metric and best_mode. The policy of
// that validation is kept in <run_dir>/best/ (a Hugging Face directory like final/), with
// best/best_validation.json saying which step it is and why:
//   {"metric": "reward_mean", "mode": "max", "step": 40, "value": 2.17}
// The record lives inside the directory, written before the directory is renamed into place,
// so the weights and the record always agree.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace visrl::trainer {

struct BestValidation {
  std::string metric;
  std::string mode;  // max | min
  int64_t step = 0;
  double value = 0;
};

constexpr const char* kBestValidationFile = "best_validation.json";

nlohmann::json to_json(const BestValidation& best);
// Error(format) naming `where` when a key is missing or mistyped.
BestValidation best_validation_from_json(const nlohmann::json& j, const std::string& where);

// The metric's value in a validation's metrics; nothing when it is absent or not a number
// (a table metric on chart-only data, a skipped validation).
std::optional<double> metric_value(const nlohmann::json& metrics, const std::string& metric);

// True when `value` beats `best` in `mode` ("max" or "min"); any value beats no best. Ties
// keep the earlier policy.
bool improves(const std::string& mode, double value, const std::optional<BestValidation>& best);

// best_dir/best_validation.json, if best_dir holds one; Error(format) naming the file when it
// is malformed.
std::optional<BestValidation> read_best_validation(const std::filesystem::path& best_dir);

}  // namespace visrl::trainer
