// This process's and this host's memory, as the memory planner and the train program's
// end-of-run report read them (Linux /proc and cgroup files; no allocation is made to find out).
#pragma once

#include <cstdint>
#include <string>

namespace visrl {

// Resident set size now, and its peak since the program started (VmHWM), in bytes.
int64_t current_rss_bytes();
int64_t peak_rss_bytes();

struct HostMemory {
  int64_t bytes = 0;   // what a new process may use: the smallest of the limits below
  std::string source;  // which limit that was, e.g. "MemAvailable of /proc/meminfo"
};

// The smallest of MemAvailable, the cgroup's memory.max (v2) or memory.limit_in_bytes (v1),
// and RLIMIT_AS / RLIMIT_DATA.
HostMemory host_memory();

// "80GB" (10^9), "80GiB", "80G" (2^30), "512MB", "512MiB", "512M", or plain bytes. Throws
// Error(usage) naming `what` for anything else.
int64_t parse_memory_size(const std::string& text, const std::string& what);

}  // namespace visrl
