// The console view of a run on rank 0: on a terminal, one progress bar rewritten in place
// with the step's key numbers and the time left; otherwise (or progress_bar: off) one log
// line per step. metrics.jsonl has everything either way.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace visrl::trainer {

class Console {
 public:
  // mode: auto (a bar when stderr is a terminal) | on | off. Inactive unless `main`.
  Console(const std::string& mode, int64_t total_steps, bool main);
  void step(const nlohmann::json& metrics);
  void finish();  // ends the bar's line

 private:
  bool main_;
  bool bar_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_;
};

// "step 3/10 | reward 0.512 ± 0.20 | render 0.88 | kl 0.0012 | 12.3 s" from a metrics object.
std::string step_summary(const nlohmann::json& metrics, int64_t total_steps);

}  // namespace visrl::trainer
