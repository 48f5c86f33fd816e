#include "reward/pixel/pixel_critic.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/error.h"
#include "reward/image_ops.h"
#include "reward/pixel/findings.h"
#include "reward/pixel/pixel_image.h"
#include "reward/pixel/scene_compare.h"
#include "reward/pixel/table_compare.h"

namespace visrl::reward {

namespace {

bool well_formed(const render::RgbImage& image) {
  return !image.empty() && image.width > 0 && image.height > 0 &&
         image.rgb.size() == static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3;
}

double coverage(const render::RgbImage& image, const PixelCriticOptions& options) {
  const pixel::Mask fg = pixel::foreground_mask(image, pixel::background_colour(image), options.foreground_threshold);
  return static_cast<double>(fg.count()) / (static_cast<double>(image.width) * image.height);
}

// Whether the foreground covers at least `fraction` of the image (stops counting early).
bool covers(const render::RgbImage& image, const PixelCriticOptions& options, double fraction) {
  const pixel::Colour bg = pixel::background_colour(image);
  const double needed = fraction * image.width * static_cast<double>(image.height);
  int64_t count = 0;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (pixel::colour_distance(pixel::pixel_at(image, x, y), bg) > options.foreground_threshold && ++count >= needed)
        return true;
  return count >= needed;
}

CriticError blank_error(Task task, double reference_coverage, const std::string& why) {
  return pixel::make_error(
      task, pixel::Finding::blank, 3, "whole image",
      fmt::format("{}: foreground covers 0.0% vs {} in the reference", why, pixel::percent(reference_coverage)));
}

}  // namespace

std::vector<CriticError> pixel_compare(Task task, const render::RgbImage& reference_in,
                                       const render::RgbImage& rendered_in, const PixelCriticOptions& options) {
  if (!well_formed(reference_in))
    fail(ErrorKind::runtime, "pixel_compare: the reference image is empty or malformed ({}x{}, {} bytes)",
         reference_in.width, reference_in.height, reference_in.rgb.size());
  // Tables stay at full resolution up to 4x the grid (their glyphs are small); the rest is
  // analysed at most max_side on the longer side.
  if (well_formed(rendered_in) && rendered_in.width == reference_in.width &&
      rendered_in.height == reference_in.height && rendered_in.rgb == reference_in.rgb)
    return {};
  const int64_t max_side = std::max(64, options.max_side) * (task == Task::table ? 4 : 1);
  const render::RgbImage reference = downscale_to_max_side(reference_in, max_side);
  if (!well_formed(rendered_in)) {
    if (!covers(reference, options, options.blank_coverage)) return {};
    return {blank_error(task, coverage(reference, options), "the rendered image is empty")};
  }
  render::RgbImage rendered = downscale_to_max_side(rendered_in, max_side);
  if (rendered.is_uniform() || !covers(rendered, options, options.blank_coverage)) {
    if (!covers(reference, options, options.blank_coverage)) return {};
    return {blank_error(task, coverage(reference, options), "the render is blank")};
  }
  if (task == Task::table) {
    if (auto errors = pixel::compare_table(reference, rendered, options)) return *errors;
  }
  if (rendered.width != reference.width || rendered.height != reference.height)
    rendered = pixel::resize_image(rendered, reference.width, reference.height);
  return pixel::compare_scene(task, reference, rendered, options);
}

std::vector<CriticResult> PixelCritic::score(const std::vector<CriticItem>& items) {
  std::vector<CriticResult> results;
  results.reserve(items.size());
  for (const CriticItem& item : items) {
    CriticResult result;
    const auto start = std::chrono::steady_clock::now();
    if (item.reference == nullptr) {
      result.message = fmt::format("item {}: no reference image", item.id);
    } else if (item.rendered == nullptr) {
      result.message = fmt::format("item {}: the answer did not render", item.id);
    } else {
      try {
        result.errors = pixel_compare(item.task, *item.reference, *item.rendered, options_);
        result.status = CriticStatus::scored;
        result.parse.status = ParseStatus::ok;
        result.attempts = 1;
      } catch (const Error& e) {
        result.errors.clear();
        result.message = fmt::format("item {}: {}", item.id, e.what());
      }
    }
    result.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace visrl::reward
