#include "render/svg/svg_renderer.h"

#include <chrono>

#include <fmt/format.h>

#include "render/svg/svg_guard.h"
#include "render/svg/svg_raster.h"

namespace visrl::render {
namespace {

// Far above any model input size, far below cairo's 32767 and what a worker can hold.
constexpr int kMaxCanvasSide = 8192;

}  // namespace

RenderResult render_svg(std::string_view svg, const SvgRenderOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RenderResult result = [&] {
    if (options.width <= 0 || options.height <= 0 || options.width > kMaxCanvasSide ||
        options.height > kMaxCanvasSide) {
      return make_result(RenderStatus::rejected, fmt::format("canvas of {}x{} pixels is not in 1..{}", options.width,
                                                             options.height, kMaxCanvasSide));
    }
    if (auto refusal = guard_svg(svg, options)) return std::move(*refusal);
    return rasterise_svg(svg, options.width, options.height);
  }();
  result.timings.execute_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace visrl::render
