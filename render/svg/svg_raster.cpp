#include "render/svg/svg_raster.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <cairo.h>
#include <fmt/format.h>
#include <gio/gio.h>
#include <librsvg/rsvg.h>

#include "render/cairo_image.h"

namespace visrl::render {
namespace {

constexpr size_t kMaxReasonBytes = 240;

struct GObjectUnref {
  void operator()(void* object) const { g_object_unref(object); }
};
struct GErrorFree {
  void operator()(GError* error) const { g_error_free(error); }
};
struct SurfaceDestroy {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct CairoDestroy {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};

RenderResult librsvg_error(std::string_view what, GError* raw) {
  const std::unique_ptr<GError, GErrorFree> error(raw);
  std::string reason = fmt::format("{}: {}", what, error && error->message ? error->message : "unknown error");
  if (reason.size() > kMaxReasonBytes) reason.resize(kMaxReasonBytes);
  return make_result(RenderStatus::syntax_error, sanitize_utf8(reason));
}

// The document's own size, as rsvg-convert takes it: width and height when both are in
// absolute units, else the viewBox. nullopt when it has neither (then user units are pixels).
std::optional<std::pair<double, double>> natural_size(RsvgHandle* handle) {
  double width = 0;
  double height = 0;
  if (rsvg_handle_get_intrinsic_size_in_pixels(handle, &width, &height) && width > 0 && height > 0) {
    return std::pair(width, height);
  }
  gboolean has_width = FALSE;
  gboolean has_height = FALSE;
  gboolean has_viewbox = FALSE;
  RsvgLength unused_width;
  RsvgLength unused_height;
  RsvgRectangle viewbox{};
  rsvg_handle_get_intrinsic_dimensions(handle, &has_width, &unused_width, &has_height, &unused_height, &has_viewbox,
                                       &viewbox);
  if (has_viewbox && viewbox.width > 0 && viewbox.height > 0) return std::pair(viewbox.width, viewbox.height);
  return std::nullopt;
}

// The document is scaled to fit the canvas and centred, keeping its aspect ratio, and clipped
// to that rectangle: what `rsvg-convert -a -w W -h H` draws (its PNG is the rectangle), so
// strokes spilling out of the viewBox are cut the same way.
RsvgRectangle place_document(RsvgHandle* handle, cairo_t* cr, int width, int height) {
  RsvgRectangle viewport{0, 0, static_cast<double>(width), static_cast<double>(height)};
  if (const auto size = natural_size(handle)) {
    const double scale = std::min(width / size->first, height / size->second);
    viewport.width = size->first * scale;
    viewport.height = size->second * scale;
    viewport.x = (width - viewport.width) / 2;
    viewport.y = (height - viewport.height) / 2;
    cairo_rectangle(cr, viewport.x, viewport.y, viewport.width, viewport.height);
    cairo_clip(cr);
  }
  return viewport;
}

}  // namespace

RenderResult rasterise_svg(std::string_view svg, int width, int height) {
  GError* error = nullptr;
  const std::unique_ptr<GInputStream, GObjectUnref> stream(
      g_memory_input_stream_new_from_data(svg.data(), static_cast<gssize>(svg.size()), nullptr));
  // No base file: librsvg then refuses every URL but data: (the guard already did). No
  // RSVG_HANDLE_FLAG_UNLIMITED: libxml2 keeps its size and depth limits.
  const std::unique_ptr<RsvgHandle, GObjectUnref> handle(
      rsvg_handle_new_from_stream_sync(stream.get(), nullptr, RSVG_HANDLE_FLAGS_NONE, nullptr, &error));
  if (!handle) return librsvg_error("librsvg could not load the document", error);
  rsvg_handle_set_dpi(handle.get(), 96.0);  // what rsvg-convert assumes, whatever the global default

  const std::unique_ptr<cairo_surface_t, SurfaceDestroy> surface(
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return make_result(RenderStatus::rejected, fmt::format("cairo cannot make a {}x{} canvas", width, height));
  }
  const std::unique_ptr<cairo_t, CairoDestroy> cr(cairo_create(surface.get()));
  cairo_set_source_rgb(cr.get(), 1, 1, 1);
  cairo_paint(cr.get());

  const RsvgRectangle viewport = place_document(handle.get(), cr.get(), width, height);
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error)) {
    return librsvg_error("librsvg could not render the document", error);
  }

  RenderResult result = make_result(RenderStatus::ok, "");
  result.image = rgb_from_surface(surface.get());
  if (result.image.is_uniform()) {
    const uint8_t* p = result.image.rgb.data();
    result.status = RenderStatus::blank_image;
    result.reason = fmt::format("every pixel is #{:02x}{:02x}{:02x}", p[0], p[1], p[2]);
  }
  return result;
}

}  // namespace visrl::render
