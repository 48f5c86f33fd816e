// The native job runner (used by visrl-render-worker for SVG and tables): limits, deadline
// and output cap enforced on a forked child. This test program stays single-threaded, as
// the worker is.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "render/worker/job_runner.h"
#include "tests/render/process_util.h"

namespace visrl::render {
namespace {

JobLimits limits() {
  JobLimits l;
  l.timeout_s = 2;
  l.cpu_s = 1;
  l.memory_mb = 512;
  l.max_output_bytes = 64 << 10;
  return l;
}

RenderResult small_image() {
  RenderResult r = make_result(RenderStatus::ok, "");
  r.image.width = 3;
  r.image.height = 2;
  r.image.rgb.assign(18, 7);
  r.image.rgb[4] = 200;
  return r;
}

TEST(JobRunner, ReturnsTheChildsImage) {
  const RenderResult r = run_job(limits(), small_image);
  ASSERT_EQ(r.status, RenderStatus::ok) << r.reason;
  EXPECT_EQ(r.image.width, 3);
  EXPECT_EQ(r.image.height, 2);
  EXPECT_EQ(r.image.rgb, small_image().image.rgb);
  EXPECT_TRUE(test::descendants().empty());
}

TEST(JobRunner, SleepingPastTheDeadlineIsATimeout) {
  const auto start = std::chrono::steady_clock::now();
  const RenderResult r = run_job(limits(), [] {
    std::this_thread::sleep_for(std::chrono::seconds(30));
    return small_image();
  });
  EXPECT_EQ(r.status, RenderStatus::timeout) << r.reason;
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 3.0);
  EXPECT_TRUE(test::descendants().empty());
}

TEST(JobRunner, BusyLoopHitsTheCpuLimit) {
  JobLimits l = limits();
  l.timeout_s = 10;
  const RenderResult r = run_job(l, [] {
    volatile uint64_t x = 0;
    for (;;) x = x + 1;
    return small_image();
  });
  EXPECT_EQ(r.status, RenderStatus::timeout) << r.reason;
  EXPECT_NE(r.reason.find("CPU"), std::string::npos) << r.reason;
}

TEST(JobRunner, AllocationBeyondTheLimitIsAMemoryLimit) {
  const RenderResult r = run_job(limits(), [] {
    std::vector<std::vector<char>> blocks;
    for (;;) blocks.emplace_back(64 << 20, 'x');
    return small_image();
  });
  EXPECT_EQ(r.status, RenderStatus::memory_limit) << r.reason;
}

TEST(JobRunner, FloodingStdoutIsAnOutputLimit) {
  const RenderResult r = run_job(limits(), [] {
    std::string chunk(1 << 16, 'x');
    for (;;) fwrite(chunk.data(), 1, chunk.size(), stdout);
    return small_image();
  });
  EXPECT_EQ(r.status, RenderStatus::output_limit) << r.reason;
}

TEST(JobRunner, ACrashIsARuntimeErrorNamingTheSignal) {
  const RenderResult r = run_job(limits(), []() -> RenderResult {
    std::raise(SIGSEGV);
    return small_image();
  });
  EXPECT_EQ(r.status, RenderStatus::runtime_error);
  EXPECT_NE(r.reason.find("SIGSEGV"), std::string::npos) << r.reason;
}

TEST(JobRunner, TheJobFilterRefusesNetworkExecAndFork) {
  const RenderResult r = run_job(limits(), [] {
    const int tcp = socket(AF_INET, SOCK_STREAM, 0);
    const int tcp_errno = errno;
    const pid_t child = fork();
    if (child == 0) _exit(0);
    const int fork_errno = errno;
    execl("/bin/true", "true", nullptr);
    const int exec_errno = errno;
    return make_result(RenderStatus::runtime_error,
                       "socket " + std::to_string(tcp) + "/" + std::to_string(tcp_errno) + " fork " +
                           std::to_string(child) + "/" + std::to_string(fork_errno) + " exec " + std::to_string(exec_errno));
  });
  // The job filter blocks fork and exec; the network refusal belongs to the worker filter,
  // which is not installed in this test process, so the socket may succeed here.
  EXPECT_NE(r.reason.find("fork -1/1 "), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("exec 1"), std::string::npos) << r.reason;
}

TEST(JobRunner, AnExceptionIsARuntimeError) {
  const RenderResult r = run_job(limits(), []() -> RenderResult { throw std::runtime_error("boom"); });
  EXPECT_EQ(r.status, RenderStatus::runtime_error);
  EXPECT_EQ(r.reason, "boom");
}

}  // namespace
}  // namespace visrl::render
