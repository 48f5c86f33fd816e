// Tables in an answer (GitHub-flavoured markdown or HTML) drawn as an image: parsed with
// cmark-gfm's table extension or libxml2's HTML parser, laid out with Pango, drawn with cairo.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "render/render_types.h"

namespace visrl::render {

struct TableRenderOptions {
  std::string font = "DejaVu Sans, Noto Sans CJK SC";                 // Pango family list (fallback order)
  double font_size = 14.0;                                            // points at 96 DPI
  int margin_px = 12;                                                 // white border around the cropped table
  int max_cells = 10000;                                              // more cells: status rejected
  int max_side_px = 8192;                                             // a larger image: status rejected
  std::string code_font = "DejaVu Sans Mono, Noto Sans Mono CJK SC";  // inline code
  int cell_padding_px = 6;                                            // grid line to text
  int64_t max_input_bytes = int64_t{1} << 20;                         // a longer answer: status rejected, unparsed
};

// Renders the first table found in `answer` (text around it is ignored). Status ok with the
// image; no_code when there is no table; rejected when a limit is exceeded. Never throws
// on bad input (binary garbage and invalid UTF-8 included).
RenderResult render_table(std::string_view answer, const TableRenderOptions& options);

}  // namespace visrl::render
