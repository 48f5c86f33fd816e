// Fixture access for the metrics tests.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

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

template <typename F>
double milliseconds_of(F&& action) {
  const auto start = std::chrono::steady_clock::now();
  action();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace visrl::test
