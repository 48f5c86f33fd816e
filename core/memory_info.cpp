#include "core/memory_info.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>

#include "core/error.h"

namespace visrl {
namespace {

// "Key:   123 kB" of /proc/self/status or /proc/meminfo, in bytes; -1 when absent.
int64_t proc_kb_field(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t kb = 0;
    if (fields >> kb) return kb * 1024;
  }
  return -1;
}

// A cgroup limit file: a number of bytes, or "max" / an absurd value for none.
int64_t cgroup_limit(const char* file) {
  std::ifstream in(file);
  std::string value;
  if (!(in >> value) || value == "max") return -1;
  try {
    const long long bytes = std::stoll(value);
    return bytes <= 0 || bytes >= (1LL << 60) ? -1 : bytes;
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace

int64_t current_rss_bytes() {
  return std::max<int64_t>(proc_kb_field("/proc/self/status", "VmRSS"), 0);
}

int64_t peak_rss_bytes() {
  // VmHWM starts afresh with the program's image; ru_maxrss would carry a parent's peak over
  // fork + exec (a large Python driver, for instance).
  const int64_t hwm = proc_kb_field("/proc/self/status", "VmHWM");
  if (hwm > 0) return hwm;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

HostMemory host_memory() {
  HostMemory best{std::numeric_limits<int64_t>::max(), ""};
  auto consider = [&](int64_t bytes, std::string source) {
    if (bytes > 0 && bytes < best.bytes) best = {bytes, std::move(source)};
  };
  consider(proc_kb_field("/proc/meminfo", "MemAvailable"), "MemAvailable of /proc/meminfo");
  consider(cgroup_limit("/sys/fs/cgroup/memory.max"), "the cgroup's memory.max");
  consider(cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes"), "the cgroup's memory.limit_in_bytes");
  for (auto [resource, name] :
       {std::pair{RLIMIT_AS, "RLIMIT_AS (ulimit -v)"}, {RLIMIT_DATA, "RLIMIT_DATA (ulimit -d)"}}) {
    rlimit limit{};
    if (getrlimit(resource, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      consider(static_cast<int64_t>(limit.rlim_cur), name);
    }
  }
  if (best.source.empty()) best = {0, "unknown"};
  return best;
}

int64_t parse_memory_size(const std::string& text, const std::string& what) {
  size_t end = 0;
  double number = 0;
  try {
    number = std::stod(text, &end);
  } catch (const std::exception&) {
    fail(ErrorKind::usage, "{}: '{}' is not a memory size (e.g. 80GB, 24GiB, 512MB)", what, text);
  }
  std::string unit = text.substr(end);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char ch) { return std::toupper(ch); });
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else if (unit == "TB")
    scale = 1e12;
  else if (unit == "K" || unit == "KIB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MIB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GIB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TIB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  if (scale == 0 || !(number > 0)) {
    fail(ErrorKind::usage, "{}: '{}' is not a memory size (e.g. 80GB, 24GiB, 512MB)", what, text);
  }
  return static_cast<int64_t>(number * scale);
}

}  // namespace visrl
