// librsvg + cairo rasterisation of a document the guard has accepted.
#pragma once

#include <string_view>

#include "render/render_types.h"

namespace visrl::render {

// Renders `svg` onto a white width x height canvas. The document is fitted into the canvas
// and centred, keeping its aspect ratio, as `rsvg-convert -a -w W -h H` sizes it. ok with
// the image, blank_image (with the image) when every pixel has one colour, syntax_error with
// librsvg's message when it cannot load or render the document.
RenderResult rasterise_svg(std::string_view svg, int width, int height);

}  // namespace visrl::render
