// Multi-process tests on one machine: start N ranks of a data-parallel job on loopback, the way
// torchrun would (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR=127.0.0.1, MASTER_PORT=<a free
// port>, OMP_NUM_THREADS=1), wait for them with a deadline, and collect their exit codes and
// output.
//
// Two ways to use it:
//
// 1. The test re-executes its own binary (/proc/self/exe) once per rank, filtered to the current
//    test, with VISRL_TEST_SCENARIO naming what the ranks should do. The same TEST body then
//    runs as parent and as ranks:
//
//      TEST(Distributed, AllReduce) {
//        if (visrl::test::in_scenario("all_reduce")) {
//          ... one rank's work, with EXPECTs; a failure makes that rank exit 1 ...
//          return;
//        }
//        auto result = visrl::test::run_ranks(2, "all_reduce", std::chrono::seconds(60));
//        EXPECT_TRUE(result.ok()) << result.summary();
//      }
//
// 2. Any program under the same environment, e.g. build/bin/train:
//      run_program_ranks(2, train_path, {"--config", path}, std::chrono::seconds(120));
//
// On timeout every rank (and everything it started: each rank leads its own process group) is
// killed with SIGKILL. So are they once an optional `kill_when()`, polled every few
// milliseconds, returns true (kill -9 at a chosen moment, for crash-safety tests). Ranks also die with the test process
// (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::test {

struct RankResult {
  int rank = 0;
  int exit_code = -1;  // the exit status, or -1 when a signal ended the rank
  int signal = 0;      // the signal that ended the rank (SIGKILL after a timeout), or 0
  double seconds = 0;  // from the start of all ranks to this rank's end
  std::string out;     // its stdout
  std::string err;     // its stderr
};

struct MultiProcessResult {
  std::vector<RankResult> ranks;  // index = rank
  bool timed_out = false;         // the deadline passed and the remaining ranks were killed
  bool killed = false;            // kill_when() returned true and the remaining ranks were killed
  double seconds = 0;             // wall time until the last rank ended

  // Every rank exited with status 0 before the deadline.
  bool ok() const;
  // Each rank's status and the tail of its stderr and stdout, for failure messages.
  std::string summary() const;
};

// The scenario this process runs as a rank (VISRL_TEST_SCENARIO), or nullptr in the parent.
const char* current_scenario();
// Whether this process is a rank running `scenario`.
bool in_scenario(std::string_view scenario);

// Runs the current test (--gtest_filter=<suite>.<name>) in `world` copies of this binary with
// VISRL_TEST_SCENARIO=scenario and the launcher environment. extra_env is added to every rank's
// environment (it may override the launcher variables).
using KillWhen = std::function<bool()>;

MultiProcessResult run_ranks(int world, const std::string& scenario, std::chrono::seconds timeout,
                             const std::map<std::string, std::string>& extra_env = {}, const KillWhen& kill_when = {});

// Runs `program args...` `world` times under the launcher environment.
MultiProcessResult run_program_ranks(int world, const std::string& program, const std::vector<std::string>& args,
                                     std::chrono::seconds timeout,
                                     const std::map<std::string, std::string>& extra_env = {},
                                     const KillWhen& kill_when = {});

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_tcp_port();

}  // namespace visrl::test
