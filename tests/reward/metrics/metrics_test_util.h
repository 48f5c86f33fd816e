// Fixture access for the metrics tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "render/render_types.h"
#include "tests/test_util.h"

namespace visrl::test {

inline std::filesystem::path metrics_fixtures() {
  return source_dir() / "tests/fixtures/metrics";
}

inline nlohmann::json metrics_fixture(const std::string& name) {
  const std::string text = read_file(metrics_fixtures() / name);
  EXPECT_FALSE(text.empty()) << "missing fixture " << name << ": run tests/fixtures/metrics/generate.py";
  return nlohmann::json::parse(text);
}

// A width x height image of one colour.
inline render::RgbImage solid(int width, int height, uint8_t r, uint8_t g, uint8_t b) {
  render::RgbImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (size_t i = 0; i < image.rgb.size(); i += 3) {
    image.rgb[i] = r;
    image.rgb[i + 1] = g;
    image.rgb[i + 2] = b;
  }
  return image;
}

template <typename F>
double milliseconds_of(F&& action) {
  const auto start = std::chrono::steady_clock::now();
  action();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace visrl::test
