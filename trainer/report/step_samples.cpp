#include "trainer/report/step_samples.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "render/png_io.h"

namespace visrl::trainer {
namespace {

// Markdown table cells may not hold '|' or line breaks.
std::string cell(std::string text) {
  for (char& c : text) {
    if (c == '|') c = '/';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text;
}

std::string or_dash(const std::optional<double>& v) {
  return v ? fmt::format("{:.3f}", *v) : "-";
}

// The PNG of `image`; none (warned about) when it is empty or cannot be encoded.
std::optional<PngImage> encode(const render::RgbImage& image, const std::string& tag, int64_t step) {
  if (image.empty()) return std::nullopt;
  try {
    return PngImage{image.width, image.height, render::encode_png(image)};
  } catch (const std::exception& e) {
    spdlog::warn("image {} at step {} not logged: {}", tag, step, e.what());
    return std::nullopt;
  }
}

}  // namespace

render::RgbImage side_by_side(const render::RgbImage& a, const render::RgbImage& b) {
  constexpr int kGap = 8;
  render::RgbImage out;
  out.width = a.width + kGap + b.width;
  out.height = std::max(a.height, b.height);
  out.rgb.assign(static_cast<size_t>(out.width) * out.height * 3, 255);
  auto paste = [&](const render::RgbImage& img, int x0) {
    for (int y = 0; y < img.height; ++y) {
      std::memcpy(&out.rgb[(static_cast<size_t>(y) * out.width + x0) * 3],
                  &img.rgb[static_cast<size_t>(y) * img.width * 3], static_cast<size_t>(img.width) * 3);
    }
  };
  paste(a, 0);
  paste(b, a.width + kGap);
  return out;
}

std::string rollout_markdown(const RolloutSample& s) {
  const auto& r = s.record;
  std::string md = fmt::format("**{}** ({}) · reward {} · advantage {} · render {} · critic {}\n\n", r.sample.id,
                               render::to_string(r.sample.task), or_dash(r.reward), or_dash(r.advantage),
                               render::to_string(r.sample.render_status), reward::to_string(r.sample.critic_status));
  md += fmt::format("```\n{}\n```\n\n", r.sample.answer_code.value_or(r.answer));
  if (r.sample.errors.empty()) {
    md += "No findings.\n";
  } else {
    md += "| category | severity | location | description |\n| --- | --- | --- | --- |\n";
    for (const auto& e : r.sample.errors) {
      md += fmt::format("| {} | {} | {} | {} |\n", cell(e.category), e.severity, cell(e.location), cell(e.description));
    }
  }
  return md;
}

void log_step_samples(MetricsBackend& backend, const LoggingConfig& logging, int64_t step,
                      const std::vector<RolloutSample>& samples,
                      const std::function<std::filesystem::path(const RolloutSample&)>& reference_of) {
  std::vector<double> rewards, advantages, lengths;
  for (const auto& s : samples) {
    if (s.record.reward) rewards.push_back(*s.record.reward);
    if (s.record.advantage) advantages.push_back(*s.record.advantage);
    lengths.push_back(static_cast<double>(s.record.sample.response_len));
  }
  backend.histogram(step, "rewards", rewards);
  backend.histogram(step, "advantages", advantages);
  backend.histogram(step, "response_lengths", lengths);
  if (logging.images_every <= 0 || step % logging.images_every != 0) return;
  int logged = 0;
  for (const auto& s : samples) {
    if (!s.rendered || logged == kLoggedRollouts) continue;
    render::RgbImage reference;
    if (const auto path = reference_of(s); !path.empty()) {
      try {
        reference = render::read_png(path);
      } catch (const std::exception&) {
        // an unreadable reference: the render alone
      }
    }
    // One tag per kind of data: TensorBoard keeps a tag to one plugin. Encoded once for every backend.
    const auto tag = fmt::format("rollouts/{}/image", logged);
    if (auto png = encode(reference.empty() ? *s.rendered : side_by_side(reference, *s.rendered), tag, step))
      backend.image(step, tag, *png);
    backend.text(step, fmt::format("rollouts/{}/answer", logged), rollout_markdown(s));
    ++logged;
  }
}

}  // namespace visrl::trainer
