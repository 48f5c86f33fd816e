#include "reward/formula/sample_outcome.h"

namespace visrl::reward {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::scored:
      return "scored";
    case Outcome::no_code:
      return "no_code";
    case Outcome::render_failure:
      return "render_failure";
    case Outcome::blank_image:
      return "blank_image";
    case Outcome::critic_unavailable:
      return "critic_unavailable";
    case Outcome::parse_failure:
      return "parse_failure";
  }
  return "scored";
}

Outcome classify(const SampleOutcome& s) {
  using render::RenderStatus;
  if (s.render_status == RenderStatus::no_code) return Outcome::no_code;
  if (s.render_status == RenderStatus::blank_image) return Outcome::blank_image;
  if (s.render_status != RenderStatus::ok) return Outcome::render_failure;
  switch (s.critic_status) {
    case CriticStatus::scored:
      return Outcome::scored;
    case CriticStatus::parse_failure:
      return Outcome::parse_failure;
    // A rendered sample the critic never saw had no critic to answer for it.
    case CriticStatus::unavailable:
    case CriticStatus::not_scored:
      return Outcome::critic_unavailable;
  }
  return Outcome::critic_unavailable;
}

}  // namespace visrl::reward
