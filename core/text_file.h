// Reading a whole file into a string, with the errors every caller wants: the path and what
// the file was for. No LibTorch.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace visrl {

// Throws Error(io) "<path>: cannot read <what>", or "<path>: read error" when reading fails
// midway.
std::string read_text_file(const std::filesystem::path& path, std::string_view what);

}  // namespace visrl
