#include "render/png_io.h"

#include <cairo.h>

#include <cstring>

#include "core/error.h"
#include "render/cairo_image.h"

namespace visrl::render {

namespace {

// An RGB24 cairo surface holding `image`; `what` names the caller in errors. The caller
// destroys it.
cairo_surface_t* surface_from_rgb(const RgbImage& image, std::string_view what) {
  if (image.empty() || image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3)
    fail(ErrorKind::runtime, "{}: image {}x{} with {} bytes is not a non-empty RGB image", what, image.width,
         image.height, image.rgb.size());
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, image.width, image.height);
  if (const cairo_status_t status = cairo_surface_status(surface); status != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    fail(ErrorKind::runtime, "{}: cannot create a {}x{} surface: {}", what, image.width, image.height,
         cairo_status_to_string(status));
  }
  cairo_surface_flush(surface);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  for (int y = 0; y < image.height; ++y) {
    auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
    const uint8_t* in = &image.rgb[static_cast<size_t>(y) * image.width * 3];
    for (int x = 0; x < image.width; ++x, in += 3) row[x] = (uint32_t{in[0]} << 16) | (uint32_t{in[1]} << 8) | in[2];
  }
  cairo_surface_mark_dirty(surface);
  return surface;
}

cairo_status_t append_png_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  cairo_surface_t* surface = surface_from_rgb(image, path.string());
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
  RgbImage image = rgb_from_surface(surface);
  cairo_surface_destroy(surface);
  return image;
}

std::string encode_png(const RgbImage& image) {
  cairo_surface_t* surface = surface_from_rgb(image, "encode_png");
  std::string bytes;
  const cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_png_bytes, &bytes);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS)
    fail(ErrorKind::runtime, "encode_png: cannot encode a {}x{} image: {}", image.width, image.height,
         cairo_status_to_string(status));
  return bytes;
}

}  // namespace visrl::render
