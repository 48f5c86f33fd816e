// The tools virtualenv's Python (scripts/setup: tensorboard, wandb, ...), or $VISRL_TOOLS_PYTHON.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace visrl::test {

inline std::string tools_python() {
  if (const char* p = std::getenv("VISRL_TOOLS_PYTHON")) return p;
  const char* cache = std::getenv("VISRL_CACHE");
  const char* home = std::getenv("HOME");
  const std::filesystem::path root =
      cache && *cache ? std::filesystem::path(cache) : std::filesystem::path(home ? home : "/root") / ".cache/visrl";
  return (root / "venv/bin/python").string();
}

}  // namespace visrl::test
