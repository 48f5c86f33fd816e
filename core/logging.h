// Console (and optional file) logging through spdlog. Code logs with spdlog::info(...) etc.;
// this header only sets the sinks and the line prefix.
#pragma once

#include <filesystem>
#include <string_view>

#include <spdlog/spdlog.h>

namespace visrl::logging {

// Sets the global level: trace, debug, info, warn, error or off. Throws Error (config) else.
void set_level(std::string_view level);

// Prefixes every line with "[rank R]" once a process group exists; rank < 0 removes it.
void set_rank(int rank);

// Also appends every line to `path` (e.g. <run_dir>/train.log).
void add_file_sink(const std::filesystem::path& path);

// The pattern for a rank (rank < 0: none); exposed for tests.
std::string pattern_for_rank(int rank);

}  // namespace visrl::logging
