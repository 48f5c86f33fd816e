#include "trainer/data/cache_names.h"

#include <fmt/format.h>

namespace visrl::trainer {

std::string cache_file_stem(const std::string& id) {
  std::string name = id;
  for (auto& c : name) {
    if (c == '/' || c == '\\' || c == ' ' || c == ':') c = '_';
  }
  return name;
}

std::string file_identity(const std::filesystem::path& file) {
  std::error_code ec;  // a file that cannot be read is reported where it is read
  const auto size = std::filesystem::file_size(file, ec);
  const auto time = std::filesystem::last_write_time(file, ec).time_since_epoch().count();
  return fmt::format("{}|{}|{}", std::filesystem::absolute(file, ec).string(), size, time);
}

}  // namespace visrl::trainer
