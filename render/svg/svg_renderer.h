// SVG drawings rasterised with librsvg + cairo at a fixed size on white, after a guard pass
// that refuses documents which are dangerous or too large to render.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "render/render_types.h"

namespace visrl::render {

struct SvgRenderOptions {
  int width = 336;  // output size in pixels; the drawing keeps its aspect ratio inside it
  int height = 336;
  int64_t max_elements = 100000;
  int max_depth = 256;                   // element nesting (libxml2 refuses more than 256 anyway)
  int64_t max_attributes = 256;          // on one element (libxml2 2.9 is quadratic in them)
  size_t max_bytes = 8u << 20;           // document size
  size_t max_data_url_bytes = 1u << 20;  // one data: URL
  double max_intrinsic_side = 100000;    // declared width/height/viewBox side in pixels
};

// Status ok with the width x height image; no_code when the text is not an SVG document;
// syntax_error when it does not parse (libxml2's or librsvg's message); rejected for external
// resources (file:, http:, relative URLs, @import, oversized data: URLs or ones that hold a
// refused SVG or a format other than PNG, JPEG, GIF), entity declarations, or a limit above;
// blank_image, with the image, when every pixel has one colour. The drawing is fitted into
// the canvas, centred, as `rsvg-convert -a -w W -h H` sizes it. timings.execute_ms is set.
// Never throws on bad input; reads no file and opens no connection.
RenderResult render_svg(std::string_view svg, const SvgRenderOptions& options);

}  // namespace visrl::render
