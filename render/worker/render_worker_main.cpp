// visrl-render-worker: the sandboxed process that renders SVG and tables for the pool.
// Started by the pool inside the sandbox (render/sandbox/jail.h) with requests on fd 3 and
// responses on fd 4. It renders in-process: the input is untrusted data for trusted C code
// (no untrusted code runs here), so no per-job fork is needed, and a fork would cost more
// than the render itself. Instead, once warm, the worker installs the job seccomp filter
// on itself for the rest of its life (no exec, no fork, no signals to others); its address
// space and file sizes are capped by the jail; the pool enforces each job's deadline by
// killing the worker and starting another; a crash ends only this worker. It is
// non-dumpable, and glibc wipes every block it frees (worker_process.cpp sets the tunables),
// so no earlier answer or image stays in its heap.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <new>

#include "render/sandbox/seccomp_policy.h"
#include "render/svg/svg_renderer.h"
#include "render/table/table_renderer.h"
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

// Loads fontconfig, fonts, Pango and librsvg's image loaders once, before the filter is in
// place and before the first job (a cold first render costs 6-15 ms).
void warm_up() {
  render_svg(
      "<svg xmlns='http://www.w3.org/2000/svg' width='40' height='20'><rect width='10' height='10' fill='red'/>"
      "<text x='12' y='15' font-size='12'>Ag \xe4\xb8\xad</text></svg>",
      SvgRenderOptions{});
  render_table("| a | `b` |\n|---|:-:|\n| **1** | \xe4\xb8\xad |\n", TableRenderOptions{});
}

}  // namespace

int main() {
  // First: nothing reads or writes this process through /proc or ptrace, and it dumps no core.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  warm_up();
  const std::string filter = sandbox::job_filter_bpf(getpid());
  if (int e = sandbox::install_filter(filter.data(), filter.size()); e != 0 && sandbox::seccomp_available()) {
    return 120;  // never render without the filter where the kernel has seccomp
  }
  const auto forever = std::chrono::steady_clock::time_point::max();
  for (;;) {
    std::chrono::steady_clock::time_point start;
    RenderResult result;
    {
      // The request (the answer's code) is freed, and so wiped, before the result goes out:
      // once the pool has the result, no copy of this job's code is left in the heap.
      nlohmann::json request;
      try {
        auto frame = protocol::read_frame(kRequestFd, forever);
        if (!frame) continue;
        request = std::move(frame->header);
      } catch (const std::exception&) {
        return 0;  // the pool closed the pipe: shut down
      }
      start = std::chrono::steady_clock::now();
      try {
        result = render(request);
      } catch (const std::bad_alloc&) {
        result = make_result(RenderStatus::memory_limit, "out of memory (the worker's address-space limit)");
      } catch (const std::exception& e) {
        result = make_result(RenderStatus::runtime_error, e.what());
      }
    }
    const double execute_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const nlohmann::json header{
        {"status", to_string(result.status)}, {"reason", result.reason}, {"width", result.image.width},
        {"height", result.image.height},      {"channels", 3},           {"execute_ms", execute_ms}};
    try {
      protocol::write_frame(
          kResponseFd, header,
          std::string_view(reinterpret_cast<const char*>(result.image.rgb.data()), result.image.rgb.size()));
    } catch (const std::exception&) {
      return 0;
    }
  }
}
