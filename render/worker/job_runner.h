// Runs one render job in a forked child of a worker: the child gets its own process group,
// per-job rlimits (CPU seconds, address space, file size, open files) and the job seccomp
// filter, renders, and sends its result back over a pipe; the worker enforces the
// wall-clock deadline and the output cap and SIGKILLs the job's process group when one is
// exceeded. The Python chart server (chart/chart_server.py) does the same for charts.
#pragma once

#include <cstddef>
#include <functional>

#include "render/render_types.h"

namespace visrl::render {

struct JobLimits {
  double timeout_s = 15;
  double cpu_s = 10;
  size_t memory_mb = 2048;
  size_t max_output_bytes = 256 << 10;  // the job's stdout + stderr
  size_t max_file_mb = 64;
};

// `body` runs in the child. Must be called from a single-threaded process (the worker).
// Returns the child's result, or the limit that stopped it.
RenderResult run_job(const JobLimits& limits, const std::function<RenderResult()>& body);

}  // namespace visrl::render
