#include "core/text_file.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace visrl {

std::string read_text_file(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::io, "{}: cannot read {}", path.string(), what);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) fail(ErrorKind::io, "{}: read error", path.string());
  return text.str();
}

}  // namespace visrl
