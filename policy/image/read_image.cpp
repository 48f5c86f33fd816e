// read_image: file -> uint8 [H, W, 3], transparency composited onto white exactly as
// transformers' convert_to_rgb does it (PIL.Image.alpha_composite over opaque white).
#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "policy/image/image_decode.h"
#include "policy/image/image_processor.h"

namespace visrl::policy {
namespace {

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    fail(ErrorKind::io, "{}: cannot read image: no such file", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, "{}: cannot open image", path.string());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// PIL's AlphaComposite.c for a source pixel over opaque white (dst = 255, dst alpha = 255),
// 7 bits of fixed-point precision, then the alpha is dropped.
uint8_t over_white(uint32_t value, uint32_t alpha) {
  if (alpha == 0) return 255;
  constexpr uint32_t kBits = 7;
  const uint32_t out_a255 = alpha * 255 + 255 * (255 - alpha);
  const uint32_t coef1 = alpha * 255 * 255 * (1u << kBits) / out_a255;
  const uint32_t coef2 = 255 * (1u << kBits) - coef1;
  const uint32_t tmp = value * coef1 + 255 * coef2 + (0x80u << kBits);
  return static_cast<uint8_t>((((tmp >> 8) + tmp) >> 8) >> kBits);
}

}  // namespace

namespace detail {

ImageFormat image_format(const std::vector<uint8_t>& bytes) {
  static const uint8_t png[] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (bytes.size() >= 8 && std::equal(png, png + 8, bytes.begin())) return ImageFormat::png;
  if (bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return ImageFormat::jpeg;
  return ImageFormat::unknown;
}

}  // namespace detail

at::Tensor read_image(const std::filesystem::path& path) {
  const std::vector<uint8_t> bytes = read_bytes(path);
  const std::string name = path.string();
  detail::DecodedImage decoded;
  const auto format = detail::image_format(bytes);
  if (format == detail::ImageFormat::png) {
    decoded = detail::decode_png(bytes, name);
  } else if (format == detail::ImageFormat::jpeg) {
    decoded = detail::decode_jpeg(bytes, name);
  } else {
    fail(ErrorKind::format, "{}: not a PNG or JPEG file", name);
  }
  if (decoded.height <= 0 || decoded.width <= 0) fail(ErrorKind::format, "{}: the image is empty", name);

  at::Tensor image = at::empty({decoded.height, decoded.width, 3}, at::kByte);  // [H, W, 3]
  uint8_t* out = image.data_ptr<uint8_t>();
  const int64_t n = decoded.height * decoded.width;
  const uint8_t* in = decoded.pixels.data();
  if (decoded.channels == 3) {
    std::copy(in, in + n * 3, out);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* px = in + i * 4;
      for (int c = 0; c < 3; ++c) out[i * 3 + c] = over_white(px[c], px[3]);
    }
  }
  return image;
}

}  // namespace visrl::policy
