#include "core/run_dir.h"

#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_file.h"
#include "core/error.h"

namespace visrl {

namespace fs = std::filesystem;

namespace {

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string RunDir::timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &local);
  return buf;
}

RunDir::RunDir(fs::path root) : root_(std::move(root)) {
  for (const auto& dir : {root_, rollouts_dir(), checkpoints_dir()}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir)) {
      fail(ErrorKind::io, "run directory {}: cannot create {}: {}", root_.string(), dir.string(),
           ec ? ec.message() : "exists and is not a directory");
    }
  }
}

fs::path RunDir::choose(const std::string& cli_run_dir, const LoadedConfig& loaded) {
  if (!cli_run_dir.empty()) return cli_run_dir;
  if (!loaded.config.logging.run_dir.empty()) return loaded.config.logging.run_dir;
  std::string stem = loaded.source.empty() ? "defaults" : loaded.source.stem().string();
  return fs::path("runs") / fmt::format("{}-{}", stem, timestamp());
}

void RunDir::write_config(const std::string& yaml) const {
  const fs::path path = config_path();
  if (fs::exists(path) && read_all(path) != yaml) {
    fs::path kept = root_ / fmt::format("config.{}.yaml", timestamp());
    for (int n = 1; fs::exists(kept); ++n) kept = root_ / fmt::format("config.{}-{}.yaml", timestamp(), n);
    std::error_code ec;
    fs::rename(path, kept, ec);
    if (ec)
      fail(ErrorKind::io, "{}: cannot keep the earlier config as {}: {}", path.string(), kept.string(), ec.message());
  }
  write_file_atomically(path, yaml);
}

}  // namespace visrl
