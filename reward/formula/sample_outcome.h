// What the formula engine knows about one sample: how its answer fared in extraction,
// rendering and the critic, and the inputs of the optional extra terms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reward/critic.h"

namespace visrl::reward {

// The one path a sample took; every path but `scored` is a failure whose reward can be
// overridden (reward.on_failure). Checked in this order: no code, render failure, blank
// image, critic unavailable, critic parse failure.
enum class Outcome { scored, no_code, render_failure, blank_image, critic_unavailable, parse_failure };

std::string_view to_string(Outcome outcome);

struct SampleOutcome {
  std::string id;     // sample id, named in errors
  std::string group;  // prompt id: the G answers to one prompt share it
  Task task = Task::chart;
  render::RenderStatus render_status = render::RenderStatus::ok;  // no_code: nothing extracted
  CriticStatus critic_status = CriticStatus::scored;
  std::vector<CriticError> errors;  // valid when critic_status == scored
  int64_t response_len = 0;         // answer length in tokens
  int64_t max_len = 0;              // the longest answer allowed (rollout.max_new_tokens)

  // Inputs of the extra terms, needed only when a formula uses them.
  std::optional<std::string> answer_code;             // the code extracted from the answer
  std::optional<std::string> reference_code;          // the ground-truth code of the prompt
  std::optional<double> ssim;                         // precomputed SSIM (logged rollouts)
  const render::RgbImage* reference_image = nullptr;  // borrowed; for ssim when not precomputed
  const render::RgbImage* rendered_image = nullptr;
};

Outcome classify(const SampleOutcome& sample);

}  // namespace visrl::reward
