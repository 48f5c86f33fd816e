// Internal: PNG and JPEG decoders behind read_image. Each returns interleaved 8-bit RGB or
// RGBA (alpha only when the file carries transparency) and throws visrl::Error naming `name`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace visrl::policy::detail {

struct DecodedImage {
  int64_t height = 0;
  int64_t width = 0;
  int channels = 0;             // 3 (RGB) or 4 (RGBA)
  std::vector<uint8_t> pixels;  // [height, width, channels]
};

// What the bytes are, by signature: PNG's eight bytes, JPEG's start-of-image marker.
enum class ImageFormat { unknown, png, jpeg };
ImageFormat image_format(const std::vector<uint8_t>& bytes);

DecodedImage decode_png(const std::vector<uint8_t>& bytes, const std::string& name);
DecodedImage decode_jpeg(const std::vector<uint8_t>& bytes, const std::string& name);

}  // namespace visrl::policy::detail
