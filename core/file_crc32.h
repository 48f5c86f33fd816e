// CRC-32 (zlib's polynomial, as `crc32` in Python's zlib and gzip) of a whole file, read in
// chunks: checkpoints record it for every file so that a resume detects flipped bytes, not
// only truncation.
#pragma once

#include <cstdint>
#include <filesystem>

namespace visrl {

// Throws Error(io) naming the file when it cannot be read.
uint32_t file_crc32(const std::filesystem::path& path);

}  // namespace visrl
