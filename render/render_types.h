// What a render is asked for and what it gives back. Shared by the in-process rasterisers,
// the sandboxed workers and the pool; no LibTorch here, so the worker program stays small.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"  // the defaults of the request sizes (header only: no link dependency)

namespace visrl::render {

enum class RenderKind { chart, table, svg };

// How one render ended. Everything but `ok` carries a short `reason`.
enum class RenderStatus {
  ok,
  no_code,        // the answer holds no code of the requested kind
  syntax_error,   // the code does not parse
  runtime_error,  // the code raised, crashed or was refused a system call
  timeout,        // wall-clock deadline or CPU-seconds limit reached
  memory_limit,   // address-space limit reached
  output_limit,   // too much stdout/stderr or too large a file
  blank_image,    // rendered, but every pixel has the same colour
  rejected,       // refused before running (too large, external resources, no isolation)
};

std::string_view to_string(RenderKind kind);
std::string_view to_string(RenderStatus status);
std::optional<RenderKind> parse_render_kind(std::string_view name);
std::optional<RenderStatus> parse_render_status(std::string_view name);

// 8-bit RGB pixels, row-major: rgb has height * width * 3 bytes, laid out [H, W, 3].
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;

  bool empty() const { return width == 0 || height == 0; }
  // True when every pixel equals the first one (an empty figure, an empty drawing).
  bool is_uniform() const;
};

// Milliseconds spent in each phase; zero where a phase did not run.
struct RenderTimings {
  double queue_ms = 0;    // waiting in the pool
  double execute_ms = 0;  // running the code / rasterising, inside the sandbox
  double total_ms = 0;    // submission to result
};

struct RenderRequest {
  RenderKind kind = RenderKind::chart;
  std::string text;  // the policy's raw answer; code is extracted from it (extract.h)
  // text is the code already, extracted from the answer by the caller: the pool renders it
  // as it is, without extracting again (make_request with an ExtractedCode).
  bool extracted = false;
  // Output size. Charts: width_in x height_in at dpi; SVG: width x height pixels (aspect
  // kept, white around); tables: cropped to content, so only the font settings apply.
  // Defaults: render.chart and render.svg (core/config.h).
  double width_in = ChartRenderConfig{}.width_in;
  double height_in = ChartRenderConfig{}.height_in;
  int dpi = static_cast<int>(ChartRenderConfig{}.dpi);
  int width_px = static_cast<int>(SvgRenderConfig{}.width);
  int height_px = static_cast<int>(SvgRenderConfig{}.height);
  double timeout_s = 0;  // 0 = the pool's default deadline
  std::string id;        // caller's sample id, echoed in log lines
};

struct RenderResult {
  RenderStatus status = RenderStatus::rejected;
  RgbImage image;      // set when status == ok (and for blank_image, the blank render)
  std::string reason;  // short: the stderr tail, the exception, the limit that was hit
  RenderTimings timings;

  bool ok() const { return status == RenderStatus::ok; }
};

RenderResult make_result(RenderStatus status, std::string reason);

// Keeps at most `max_bytes` of a message, cutting at the front (the end of a traceback is
// what explains it), and replaces invalid UTF-8 so the reason is always printable JSON.
std::string tail_of(std::string_view text, size_t max_bytes);

// The text with every invalid UTF-8 byte replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

}  // namespace visrl::render
