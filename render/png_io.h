// PNG files of RgbImage, through cairo (no other image library needed).
#pragma once

#include <filesystem>
#include <string>

#include "render/render_types.h"

namespace visrl::render {

// Throws visrl::Error(io) naming the path when the file cannot be written.
void write_png(const std::filesystem::path& path, const RgbImage& image);
// Throws visrl::Error(io / format) naming the path when it cannot be read or decoded.
RgbImage read_png(const std::filesystem::path& path);
// The PNG file bytes of `image`, in memory (for data URLs). Throws visrl::Error(runtime)
// when cairo cannot encode it (e.g. an empty image or one too large for a surface).
std::string encode_png(const RgbImage& image);

}  // namespace visrl::render
