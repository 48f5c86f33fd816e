// The pass that reads an SVG document with libxml2 before librsvg sees it, and refuses what
// is dangerous (entity bombs, external files and URLs, hidden nested documents) or too large.
#pragma once

#include <optional>
#include <string_view>

#include "render/render_types.h"
#include "render/svg/svg_renderer.h"

namespace visrl::render {

// nullopt when the document may be rendered; otherwise the result to give back: no_code (no
// <svg> root), syntax_error (libxml2's first error) or rejected (the reason names the limit).
// Streams through the document with a SAX parser: time and memory are linear in its size, and
// nesting depth costs no stack.
std::optional<RenderResult> guard_svg(std::string_view svg, const SvgRenderOptions& options);

}  // namespace visrl::render
