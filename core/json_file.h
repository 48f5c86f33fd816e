// Reading a whole JSON file (model configs, processor configs, generation configs), with the
// errors every caller wants: the file and what it was for when it cannot be read, the file
// and the parser's position when it is not JSON.
#pragma once

#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

namespace visrl {

// Throws Error(io) "<path>: cannot read <what>" or Error(format) "<path>: not valid JSON: ...".
nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what);

}  // namespace visrl
