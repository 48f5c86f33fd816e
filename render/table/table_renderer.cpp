// Glue: limits on the raw answer, UTF-8 clean-up, parsing (markdown_table / html_table),
// measuring (limits on the image), drawing (table_layout).
#include "render/table/table_renderer.h"

#include <chrono>
#include <cmath>
#include <exception>
#include <string>

#include <fmt/format.h>

#include "render/table/markdown_table.h"
#include "render/table/table_layout.h"

namespace visrl::render {
namespace {

constexpr size_t kMaxReasonBytes = 400;

// Options come from configuration, not from the policy, but a bad value must still give a
// reason instead of a crash or a 0 x 0 surface. cairo's image surfaces stop at 32767 px a
// side; that cap also keeps text that passes text_size_reason far from overflowing Pango's
// extents (about 2 million px).
std::string invalid_option(const TableRenderOptions& options) {
  if (!std::isfinite(options.font_size) || options.font_size <= 0 || options.font_size > 200) {
    return fmt::format("invalid font_size {}", options.font_size);
  }
  if (options.margin_px < 0 || options.margin_px > 10000) return fmt::format("invalid margin_px {}", options.margin_px);
  if (options.cell_padding_px < 0 || options.cell_padding_px > 10000) {
    return fmt::format("invalid cell_padding_px {}", options.cell_padding_px);
  }
  if (options.max_cells < 1) return fmt::format("invalid max_cells {}", options.max_cells);
  if (options.max_side_px < 1 || options.max_side_px > 32767) {
    return fmt::format("invalid max_side_px {}", options.max_side_px);
  }
  if (options.max_input_bytes < 0) return fmt::format("invalid max_input_bytes {}", options.max_input_bytes);
  return {};
}

RenderResult render(std::string_view answer, const TableRenderOptions& options) {
  if (std::string bad = invalid_option(options); !bad.empty()) return make_result(RenderStatus::rejected, bad);
  if (static_cast<int64_t>(answer.size()) > options.max_input_bytes) {
    return make_result(RenderStatus::rejected, fmt::format("the answer has {} bytes, more than max_input_bytes ({})",
                                                           answer.size(), options.max_input_bytes));
  }

  const std::string text = sanitize_utf8(answer);
  TableLimits limits;
  limits.max_cells = options.max_cells;
  limits.max_side_px = options.max_side_px;
  limits.min_column_px = 2 * options.cell_padding_px + 1;
  limits.min_row_px = 2 * options.cell_padding_px + 1;
  const TableParse parse = find_table(text, limits);
  if (parse.status == TableParse::Status::none) {
    return make_result(RenderStatus::no_code, "no markdown or HTML table in the answer");
  }
  if (parse.status == TableParse::Status::rejected) {
    return make_result(RenderStatus::rejected, tail_of(parse.reason, kMaxReasonBytes));
  }

  TableStyle style;
  style.font = options.font;
  style.code_font = options.code_font;
  style.font_size = options.font_size;
  style.margin_px = options.margin_px;
  style.padding_px = options.cell_padding_px;
  if (std::string reason = text_size_reason(parse.table, style, options.max_side_px); !reason.empty()) {
    return make_result(RenderStatus::rejected, reason);
  }
  const TableGeometry geometry = measure_table(parse.table, style);
  if (geometry.width > options.max_side_px || geometry.height > options.max_side_px) {
    return make_result(RenderStatus::rejected,
                       fmt::format("the table image would be {} x {} px, more than max_side_px ({})", geometry.width,
                                   geometry.height, options.max_side_px));
  }
  RenderResult result = make_result(RenderStatus::ok, "");
  result.image = draw_table(parse.table, geometry, style);
  return result;
}

}  // namespace

RenderResult render_table(std::string_view answer, const TableRenderOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RenderResult result;
  try {
    result = render(answer, options);
  } catch (const std::exception& e) {
    // Allocation failures and cairo errors: reported, never thrown at the caller.
    result =
        make_result(RenderStatus::runtime_error, tail_of(fmt::format("table renderer: {}", e.what()), kMaxReasonBytes));
  } catch (...) {
    result = make_result(RenderStatus::runtime_error, "table renderer: unknown exception");
  }
  result.timings.execute_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace visrl::render
