// What every critic backend shares: the item it scores, the discrepancies it reports (the
// Visual-ERM schema of REFERENCE.md section 1) and the interface the trainer calls.
// No LibTorch here: the HTTP and pixel critics, the parser and the formulas stay torch-free.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "render/render_types.h"

namespace visrl::reward {

// The task decides the critic prompt and the allowed error categories.
using Task = render::RenderKind;

// One discrepancy between the reference image and the render.
struct CriticError {
  std::string category;  // one of task_categories(task), e.g. "data_error"
  int severity = 1;      // 1 minor, 2 medium, 3 severe
  std::string location;  // "" when the critic gives none (table critics never do)
  std::string description;

  bool operator==(const CriticError&) const = default;
};

// The error categories of a task, in the order of REFERENCE.md section 1. SVG includes
// the paper's other_error besides the four of the released prompt.
const std::vector<std::string>& task_categories(Task task);
bool is_category(Task task, std::string_view category);
// Every category of every task, deduplicated, sorted: the S_<category> formula variables.
const std::vector<std::string>& all_categories();

// How a critic's text turned into errors.
enum class ParseStatus {
  ok,        // well-formed JSON in the schema
  repaired,  // usable after safe repairs or after dropping invalid entries
  failed,    // nothing usable: no JSON, or JSON without an error list
};

struct ParseReport {
  ParseStatus status = ParseStatus::failed;
  int dropped = 0;      // entries thrown away (bad category, bad severity, not an object)
  int repairs = 0;      // fixes applied (severity "2" -> 2, "Data Error" -> data_error, ...)
  std::string message;  // what went wrong or what was repaired, for logs; "" when ok
};

// What came of asking the critic about one item.
enum class CriticStatus {
  scored,         // errors are valid (an empty list means a perfect render)
  parse_failure,  // every attempt gave output that could not be parsed
  unavailable,    // the critic could not be reached (openai backend, every endpoint down)
  not_scored,     // not sent to the critic: the answer did not render
};

// One item to score. The images are borrowed: they must outlive the score() call.
struct CriticItem {
  std::string id;  // sample id, used in log lines
  Task task = Task::chart;
  const render::RgbImage* reference = nullptr;  // never null
  const render::RgbImage* rendered = nullptr;   // null when the answer did not render
  std::string answer;                           // the policy's raw answer (for context; critics may ignore it)
};

struct CriticResult {
  CriticStatus status = CriticStatus::not_scored;
  std::vector<CriticError> errors;
  std::string raw_text;  // the critic's last raw output ("" for the pixel critic)
  ParseReport parse;
  int attempts = 0;         // critic calls made for this item (parse retries included)
  double latency_ms = 0.0;  // wall clock from the first call to the result
  std::string message;      // why not scored / unavailable; "" when scored
};

class Critic {
 public:
  virtual ~Critic() = default;
  virtual std::string name() const = 0;
  // One result per item, in order. Items without a render come back not_scored without a
  // critic call. Never throws for a bad critic answer; throws visrl::Error for setup
  // problems and CriticUnavailable when the configured policy is to skip the step.
  virtual std::vector<CriticResult> score(const std::vector<CriticItem>& items) = 0;
};

// Thrown by a backend whose every endpoint is down when `when_all_down: skip_step`.
class CriticUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string_view to_string(ParseStatus status);
std::string_view to_string(CriticStatus status);
std::optional<ParseStatus> parse_parse_status(std::string_view name);
std::optional<CriticStatus> parse_critic_status(std::string_view name);

// Sum of severities (the S of REFERENCE.md section 2).
int severity_sum(const std::vector<CriticError>& errors);

}  // namespace visrl::reward
