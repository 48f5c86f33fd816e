// Keeps the best policy of a run in <run_dir>/best/ (best_policy.h's format), as validations
// come in, and takes the record back on resume. Collective: every rank calls every method.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/run_dir.h"
#include "policy/model/qwen3vl.h"
#include "trainer/distributed/communicator.h"
#include "trainer/eval/best_policy.h"

namespace visrl::trainer {

class BestPolicyKeeper {
 public:
  BestPolicyKeeper(const Config& config, const RunDir& run_dir, Communicator& comm);

  // Saves `policy` to <run_dir>/best/ when `metrics` (a validation's) beat the best so far by
  // validation.best_metric; nothing when that is empty or the validation was skipped.
  void consider(int64_t step, const nlohmann::json& metrics, policy::Qwen3VLImpl& policy);
  // On resume at `step`: the run directory's record, set aside when it is newer than `step`.
  void restore(int64_t step);

 private:
  const Config& config_;
  const RunDir& run_dir_;
  Communicator& comm_;
  std::optional<BestValidation> best_;
  bool warned_missing_metric_ = false;
};

}  // namespace visrl::trainer
