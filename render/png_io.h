// PNG files of RgbImage, through cairo (no other image library needed).
#pragma once

#include <filesystem>

#include "render/render_types.h"

namespace visrl::render {

// Throws visrl::Error(io) naming the path when the file cannot be written.
void write_png(const std::filesystem::path& path, const RgbImage& image);
// Throws visrl::Error(io / format) naming the path when it cannot be read or decoded.
RgbImage read_png(const std::filesystem::path& path);

}  // namespace visrl::render
