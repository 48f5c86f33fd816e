// Paths and loaders for tests/fixtures/image (written by its generate.py).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "tests/test_util.h"

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

// The shared scratch directory of tests/test_util.h.
using TempDir = visrl::test::TempDir;

}  // namespace visrl::policy::test
