// Paths and loaders for tests/fixtures/image (written by its generate.py).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"

namespace visrl::policy::test {

inline std::filesystem::path image_fixtures() {
  return std::filesystem::path(VISRL_SOURCE_DIR) / "tests" / "fixtures" / "image";
}

inline nlohmann::json load_json(const std::string& name) {
  std::ifstream in(image_fixtures() / name);
  return nlohmann::json::parse(in);
}

inline at::Tensor fixture_tensor(const std::string& file, const std::string& name) {
  return safetensors::File::open(image_fixtures() / file)->tensor(name);
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// A scratch directory, removed with everything in it when the test ends.
class TempDir {
 public:
  explicit TempDir(const std::string& tag)
      : path_(std::filesystem::temp_directory_path() / fmt::format("visrl_{}_{}", tag, ::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path_ / name, std::ios::binary) << bytes;
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace visrl::policy::test
