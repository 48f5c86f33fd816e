// PNG via libpng, expanded the way Pillow opens and converts it: palette and grey to RGB,
// 1/2/4-bit grey scaled to 8 bits, 16-bit samples truncated to their high byte (16-bit grey
// clipped at 255), tRNS turned
// into alpha, gamma chunks ignored.
#include <algorithm>
#include <csetjmp>
#include <cstring>

#include <png.h>

#include "core/error.h"
#include "policy/image/image_decode.h"

namespace visrl::policy::detail {
namespace {

struct ReadState {
  const std::vector<uint8_t>* bytes;
  size_t offset;
  char message[256];
};

void on_error(png_structp png, png_const_charp msg) {
  auto* state = static_cast<ReadState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof(state->message), "%s", msg);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}

void on_read(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<ReadState*>(png_get_io_ptr(png));
  if (state->offset + length > state->bytes->size()) png_error(png, "the file is truncated");
  std::memcpy(out, state->bytes->data() + state->offset, length);
  state->offset += length;
}

// Everything between setjmp and a longjmp lives in libpng's structs or in `out`, which is
// only resized before rows are read; no C++ object is created after setjmp.
bool decode(ReadState& state, DecodedImage& out, std::vector<png_bytep>& rows) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  if (png == nullptr) {
    std::snprintf(state.message, sizeof(state.message), "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &state, on_read);
  png_set_user_limits(png, 1u << 16, 1u << 16);
  png_read_info(png, info);
  const png_byte color_type = png_get_color_type(png, info);
  const png_byte bit_depth = png_get_bit_depth(png, info);
  // Pillow opens 16-bit grey as mode I;16, whose conversion to RGB clips at 255 instead of
  // taking the high byte: keep the 16 bits and clip below.
  const bool clip_16 = color_type == PNG_COLOR_TYPE_GRAY && bit_depth == 16 && !png_get_valid(png, info, PNG_INFO_tRNS);
  if (bit_depth == 16 && !clip_16) png_set_strip_16(png);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  out.height = png_get_image_height(png, info);
  out.width = png_get_image_width(png, info);
  out.channels = png_get_channels(png, info);
  const int bytes = clip_16 ? 2 : 1;
  if ((out.channels != 3 && out.channels != 4) || png_get_bit_depth(png, info) != 8 * bytes) {
    std::snprintf(state.message, sizeof(state.message), "unsupported PNG layout (%d channels)", out.channels);
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  const int64_t samples = out.height * out.width * out.channels;
  out.pixels.resize(static_cast<size_t>(samples * bytes));
  rows.resize(static_cast<size_t>(out.height));
  for (int64_t y = 0; y < out.height; ++y) rows[y] = out.pixels.data() + y * out.width * out.channels * bytes;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  if (clip_16) {  // big-endian 16-bit samples -> min(value, 255), in place
    uint8_t* p = out.pixels.data();
    for (int64_t i = 0; i < samples; ++i) p[i] = static_cast<uint8_t>(std::min(255, (p[2 * i] << 8) | p[2 * i + 1]));
    out.pixels.resize(static_cast<size_t>(samples));
  }
  return true;
}

}  // namespace

DecodedImage decode_png(const std::vector<uint8_t>& bytes, const std::string& name) {
  ReadState state{&bytes, 0, {}};
  DecodedImage out;
  std::vector<png_bytep> rows;
  if (!decode(state, out, rows)) fail(ErrorKind::format, "{}: cannot decode PNG: {}", name, state.message);
  return out;
}

}  // namespace visrl::policy::detail
