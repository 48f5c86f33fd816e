#include "core/json_file.h"

#include <fstream>

#include "core/error.h"

namespace visrl {

nlohmann::json read_json_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::io, "{}: cannot read {}", path.string(), what);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    fail(ErrorKind::format, "{}: not valid JSON: {}", path.string(), e.what());
  }
}

}  // namespace visrl
