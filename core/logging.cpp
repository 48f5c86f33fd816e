#include "core/logging.h"

#include <spdlog/sinks/basic_file_sink.h>

#include "core/error.h"

namespace visrl::logging {

namespace {
int g_rank = -1;
}

std::string pattern_for_rank(int rank) {
  std::string rank_part = rank < 0 ? "" : fmt::format("[rank {}] ", rank);
  return "[%Y-%m-%d %H:%M:%S.%e] " + rank_part + "[%^%l%$] %v";
}

void set_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    fail(ErrorKind::config, "unknown log level \"{}\" (expected trace, debug, info, warn, error or off)", level);
  }
  spdlog::set_level(parsed);
}

void set_rank(int rank) {
  g_rank = rank;
  spdlog::set_pattern(pattern_for_rank(g_rank));
}

void add_file_sink(const std::filesystem::path& path) {
  try {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path.string(), /*truncate=*/false);
    sink->set_pattern(pattern_for_rank(g_rank));
    spdlog::default_logger()->sinks().push_back(std::move(sink));
  } catch (const spdlog::spdlog_ex& e) {
    fail(ErrorKind::io, "cannot open log file {}: {}", path.string(), e.what());
  }
}

}  // namespace visrl::logging
