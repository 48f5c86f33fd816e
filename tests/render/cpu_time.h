// The CPU time of this process, for the render tests that bound how much work a parser or a
// guard does (a hostile table rejected before layout, an SVG refused before librsvg, the
// median cost of a table). Unlike wall-clock time it does not grow while other processes
// load the machine: the bounds measure the renderer, not the scheduler.
#pragma once

#include <time.h>

namespace visrl::test {

// CPU seconds used by every thread of this process so far.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU time spent since construction.
class CpuTimer {
 public:
  CpuTimer() : start_(process_cpu_seconds()) {}
  double seconds() const { return process_cpu_seconds() - start_; }
  double ms() const { return seconds() * 1000.0; }

 private:
  double start_;
};

}  // namespace visrl::test
