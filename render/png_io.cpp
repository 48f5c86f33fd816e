#include "render/png_io.h"

#include <cairo.h>

#include <cstring>

#include "core/error.h"

namespace visrl::render {

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, image.width, image.height);
  cairo_surface_flush(surface);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    const uint8_t* in = &image.rgb[static_cast<size_t>(y) * image.width * 3];
    for (int x = 0; x < image.width; ++x, in += 3) row[x] = (uint32_t{in[0]} << 16) | (uint32_t{in[1]} << 8) | in[2];
  }
  cairo_surface_mark_dirty(surface);
  const cairo_status_t status = cairo_surface_write_to_png(surface, path.c_str());
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    fail(ErrorKind::io, "{}: cannot write PNG: {}", path.string(), cairo_status_to_string(status));
}

RgbImage read_png(const std::filesystem::path& path) {
  cairo_surface_t* surface = cairo_image_surface_create_from_png(path.c_str());
  const cairo_status_t status = cairo_surface_status(surface);
  if (status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    fail(ErrorKind::io, "{}: cannot read PNG: {}", path.string(), cairo_status_to_string(status));
  }
  cairo_surface_flush(surface);
  RgbImage image;
  image.width = cairo_image_surface_get_width(surface);
  image.height = cairo_image_surface_get_height(surface);
  image.rgb.resize(static_cast<size_t>(image.width) * image.height * 3);
  const bool has_alpha = cairo_image_surface_get_format(surface) == CAIRO_FORMAT_ARGB32;
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  uint8_t* out = image.rgb.data();
  for (int y = 0; y < image.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    for (int x = 0; x < image.width; ++x, out += 3) {
      const uint32_t p = row[x];
      // Premultiplied ARGB: over white, c + (255 - a).
      const uint32_t a = has_alpha ? p >> 24 : 255;
      out[0] = static_cast<uint8_t>(((p >> 16) & 0xFF) + 255 - a);
      out[1] = static_cast<uint8_t>(((p >> 8) & 0xFF) + 255 - a);
      out[2] = static_cast<uint8_t>((p & 0xFF) + 255 - a);
    }
  }
  cairo_surface_destroy(surface);
  return image;
}

}  // namespace visrl::render
