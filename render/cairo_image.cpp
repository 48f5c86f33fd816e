#include "render/cairo_image.h"

#include <cstring>

namespace visrl::render {

RgbImage rgb_from_surface(cairo_surface_t* surface) {
  cairo_surface_flush(surface);
  RgbImage image;
  image.width = cairo_image_surface_get_width(surface);
  image.height = cairo_image_surface_get_height(surface);
  image.rgb.resize(static_cast<size_t>(image.width) * static_cast<size_t>(image.height) * 3);
  const bool has_alpha = cairo_image_surface_get_format(surface) == CAIRO_FORMAT_ARGB32;
  const unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  uint8_t* out = image.rgb.data();
  for (int y = 0; y < image.height; ++y) {
    const unsigned char* row = data + static_cast<ptrdiff_t>(y) * stride;
    for (int x = 0; x < image.width; ++x) {
      uint32_t pixel;  // native-endian 0xAARRGGBB (0x00RRGGBB-ish for RGB24)
      std::memcpy(&pixel, row + 4 * x, 4);
      const uint32_t white = has_alpha ? 255 - (pixel >> 24) : 0;
      *out++ = static_cast<uint8_t>(((pixel >> 16) & 0xFF) + white);
      *out++ = static_cast<uint8_t>(((pixel >> 8) & 0xFF) + white);
      *out++ = static_cast<uint8_t>((pixel & 0xFF) + white);
    }
  }
  return image;
}

}  // namespace visrl::render
