// visrl-render-worker: the sandboxed process that renders SVG and tables for the pool.
// Started by the pool inside the sandbox (see render/sandbox/jail.h) with requests on fd 3
// and responses on fd 4; every request is rendered in a forked child with per-job limits
// (job_runner.h), so a crash or a runaway render never takes the worker down.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "render/svg/svg_renderer.h"
#include "render/table/table_renderer.h"
#include "render/worker/job_runner.h"
#include "render/worker/protocol.h"

namespace {

using namespace visrl::render;

constexpr int kRequestFd = 3;
constexpr int kResponseFd = 4;

RenderResult render(const nlohmann::json& request) {
  const auto kind = parse_render_kind(request.value("kind", ""));
  const std::string code = request.value("code", "");
  if (kind == RenderKind::svg) {
    SvgRenderOptions options;
    options.width = request.value("width_px", options.width);
    options.height = request.value("height_px", options.height);
    options.max_elements = request.value("max_elements", options.max_elements);
    return render_svg(code, options);
  }
  if (kind == RenderKind::table) {
    TableRenderOptions options;
    options.font = request.value("font", options.font);
    options.font_size = request.value("font_size", options.font_size);
    options.margin_px = request.value("margin_px", options.margin_px);
    options.max_cells = request.value("max_cells", options.max_cells);
    return render_table(code, options);
  }
  return make_result(RenderStatus::rejected, "this worker renders svg and table jobs only");
}

// Loads fontconfig, fonts, Pango and librsvg's image loaders once, before any job forks, so
// that every job starts warm (a cold first render costs 6-15 ms).
void warm_up() {
  render_svg(
      "<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20'><rect width='10' height='10' fill='red'/>"
      "<text x='12' y='15' font-size='12'>Ag \xe4\xb8\xad</text></svg>",
      SvgRenderOptions{});
  render_table("| a | `b` |\n|---|:-:|\n| **1** | \xe4\xb8\xad |\n", TableRenderOptions{});
}

}  // namespace

int main() {
  signal(SIGPIPE, SIG_IGN);
  warm_up();
  const auto forever = std::chrono::steady_clock::time_point::max();
  for (;;) {
    nlohmann::json request;
    try {
      auto frame = visrl::render::protocol::read_frame(kRequestFd, forever);
      if (!frame) continue;
      request = std::move(frame->header);
    } catch (const std::exception&) {
      return 0;  // the pool closed the pipe: shut down
    }
    JobLimits limits;
    limits.timeout_s = request.value("timeout_s", limits.timeout_s);
    limits.cpu_s = request.value("cpu_s", limits.cpu_s);
    limits.memory_mb = request.value("memory_mb", limits.memory_mb);
    limits.max_output_bytes = request.value("max_output_bytes", limits.max_output_bytes);
    const RenderResult result = run_job(limits, [&] { return render(request); });
    const nlohmann::json header{{"status", to_string(result.status)}, {"reason", result.reason},
                                {"width", result.image.width},      {"height", result.image.height},
                                {"channels", 3},                    {"execute_ms", result.timings.execute_ms}};
    try {
      visrl::render::protocol::write_frame(
          kResponseFd, header,
          std::string_view(reinterpret_cast<const char*>(result.image.rgb.data()), result.image.rgb.size()));
    } catch (const std::exception&) {
      return 0;
    }
  }
}
