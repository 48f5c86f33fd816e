// Hostile chart answers against the sandboxed pool: each ends with the right status (the
// status says whether its deadline or a limit ended it), nothing it started is left running,
// and the pool renders correctly after. Waits are on conditions; the only time bounds are
// hang guards.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "render/render_pool.h"
#include "render/sandbox/landlock.h"
#include "tests/render/process_util.h"
#include "tests/render/sandbox_test_util.h"

namespace visrl::render {
namespace {

using Clock = std::chrono::steady_clock;
using test::chart;
using test::hostile_options;
using test::kTimeout;

constexpr const char* kGoodChart = "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [1, 2])\n";

// A hang guard on one render, worker start-up included: 10x the deadline. A job that outlives
// its deadline (the sleeping ones sleep 60 s) would exceed it; a slow machine does not.
constexpr double kHangGuardS = 10 * kTimeout;

class ChartSandbox : public ::testing::TestWithParam<sandbox::IsolationLevel> {
 protected:
  static void SetUpTestSuite() { setenv("VISRL_TEST_SECRET", "hunter2-secret", 1); }

  void SetUp() override {
    if (GetParam() > sandbox::probe_isolation()) GTEST_SKIP() << "kernel does not allow this level";
    pool_ = std::make_unique<RenderPool>(hostile_options(GetParam()));
  }

  // Renders, checks the render did not hang, that no job process outlived its job, and that
  // the pool still renders a good chart.
  RenderResult run(const std::string& code) {
    const auto start = Clock::now();
    RenderResult result = pool_->render(chart(code));
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_LT(seconds, kHangGuardS) << "status " << to_string(result.status);
    // Between jobs a chart server has two descendants: its zygote and the spare the zygote
    // forks for the next job (through a middle process that exits at once).
    EXPECT_TRUE(test::wait_until([] {
      for (pid_t worker : test::children_of()) {
        if (test::descendants(worker).size() > 2) return false;
      }
      return true;
    })) << "a job process outlived its job: a chart server still has more than 2 descendants after "
        << test::kWaitLimitMs / 1000 << " s";
    const RenderResult good = pool_->render(chart("plt.bar(['a', 'b'], [1, 2])"));
    EXPECT_EQ(good.status, RenderStatus::ok) << good.reason;
    return result;
  }

  std::unique_ptr<RenderPool> pool_;
};

TEST_P(ChartSandbox, RendersAGoodChart) {
  const RenderResult r = run("plt.plot([1, 2, 3], [3, 1, 2])");
  EXPECT_STATUS(r, ok);
  EXPECT_EQ(r.image.width, 640);
  EXPECT_EQ(r.image.height, 480);
}

TEST_P(ChartSandbox, TcpToLoopbackIsRefused) {
  const RenderResult r = run("import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=1)");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("Permission denied"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, TcpToAnOutsideAddressIsRefused) {
  const RenderResult r = run("import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=1)");
  EXPECT_STATUS(r, runtime_error);
}

TEST_P(ChartSandbox, DnsLookupFails) {
  const RenderResult r = run("import socket\nsocket.getaddrinfo('example.com', 80)");
  EXPECT_STATUS(r, runtime_error);
}

TEST_P(ChartSandbox, UdpAndRawSyscallSocketsAreRefused) {
  const RenderResult r =
      run("import ctypes, socket\n"
          "libc = ctypes.CDLL(None, use_errno=True)\n"
          "fd = libc.syscall(41, 2, 2, 0)  # socket(AF_INET, SOCK_DGRAM) by number\n"
          "raise RuntimeError('raw socket syscall gave %d errno %d' % (fd, ctypes.get_errno()))");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("gave -1 errno 13"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, ExecveBySyscallIsRefused) {
  const RenderResult r =
      run("import ctypes\n"
          "libc = ctypes.CDLL(None, use_errno=True)\n"
          "rc = libc.syscall(59, b'/bin/sh', None, None)  # execve by number\n"
          "raise RuntimeError('execve gave %d errno %d' % (rc, ctypes.get_errno()))");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("gave -1 errno 1"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, SubprocessIsRefused) {
  const RenderResult r = run("import subprocess\nsubprocess.run(['/bin/echo', 'pwned'])");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_EQ(r.reason.find("pwned\n"), std::string::npos);
}

TEST_P(ChartSandbox, OsSystemRunsNothing) {
  const RenderResult r = run("import os\nrc = os.system('echo pwned')\nassert rc != 0, rc\nplt.plot([1, 2])");
  EXPECT_STATUS(r, ok);
}

TEST_P(ChartSandbox, EtcShadowIsUnreadable) {
  const RenderResult r = run("print(open('/etc/shadow').read()[:50])");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_EQ(r.reason.find("root:"), std::string::npos) << r.reason;
}

// Below the namespaces level, Landlock hides the host filesystem.
bool hides_the_host(sandbox::IsolationLevel level) {
  return level == sandbox::IsolationLevel::namespaces || sandbox::landlock_abi() > 0;
}

TEST_P(ChartSandbox, HomeAndProjectFilesAreInvisible) {
  if (!hides_the_host(GetParam())) GTEST_SKIP() << "no namespaces and no Landlock";
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "/root";
  // Landlock lets a job see that a path exists, but neither list nor read it.
  const RenderResult r = run("import os\nfor p in ['" + home +
                             "', '/root', '/home', '" VISRL_SOURCE_DIR "', '" VISRL_SOURCE_DIR
                             "/CMakeLists.txt']:\n"
                             R"(    try:
        os.listdir(p) if os.path.isdir(p) else open(p).read(1)
        raise AssertionError(p)
    except (FileNotFoundError, PermissionError):
        pass
plt.plot([1, 2]))");
  EXPECT_STATUS(r, ok);
}

TEST_P(ChartSandbox, ProcIsInvisible) {
  if (!hides_the_host(GetParam())) GTEST_SKIP() << "no namespaces and no Landlock";
  const RenderResult r = run("print(open('/proc/1/environ').read())");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_EQ(r.reason.find("hunter2"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, ParentEnvironmentIsNotPassedOn) {
  const RenderResult r =
      run("import os\n"
          "assert 'VISRL_TEST_SECRET' not in os.environ\n"
          "assert not any('hunter2' in v for v in os.environ.values())\n"
          "plt.plot([1, 2])");
  EXPECT_STATUS(r, ok);
}

TEST_P(ChartSandbox, WritesOutsideTheJobDirectoryFail) {
  const std::string target = "/usr/visrl-sandbox-escape-" + std::to_string(getpid());
  const RenderResult r = run("open('" + target + "', 'w').write('x')");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_P(ChartSandbox, ForkBombEndsQuickly) {
  const RenderResult r = run("import os\nwhile True:\n    os.fork()");
  EXPECT_TRUE(r.status == RenderStatus::runtime_error || r.status == RenderStatus::timeout)
      << to_string(r.status) << ": " << r.reason;
}

TEST_P(ChartSandbox, MemoryBombHitsTheLimit) {
  const RenderResult r = run("blocks = []\nwhile True:\n    blocks.append(bytearray(2**28))");
  EXPECT_STATUS(r, memory_limit);
}

TEST_P(ChartSandbox, HugeNumpyAllocationHitsTheLimit) {
  const RenderResult r = run("import numpy as np\nx = np.ones((2**17, 2**15))\nplt.plot(x[0])");
  EXPECT_STATUS(r, memory_limit);
}

TEST_P(ChartSandbox, InfiniteLoopTimesOut) {
  const RenderResult r = run("while True:\n    pass");
  EXPECT_STATUS(r, timeout);
}

TEST_P(ChartSandbox, SleepingPastTheDeadlineTimesOut) {
  const RenderResult r = run("import time\ntime.sleep(60)");
  EXPECT_STATUS(r, timeout);
}

TEST_P(ChartSandbox, GigabytesOfStdoutHitTheOutputLimit) {
  const RenderResult r = run("import sys\nwhile True:\n    sys.stdout.write('x' * 1000000)");
  EXPECT_STATUS(r, output_limit);
}

TEST_P(ChartSandbox, KillingTheParentIsRefused) {
  const RenderResult r = run("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("PermissionError"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, ProcessGroupAndSessionCannotBeLeft) {
  EXPECT_STATUS(run("import os\nos.setpgid(0, os.getppid())"), runtime_error);
  EXPECT_STATUS(run("import os\nos.setsid()"), runtime_error);
}

TEST_P(ChartSandbox, OtherProcessesCannotBeReachedByPid) {
  for (const char* code : {"import os, resource\nresource.prlimit(os.getppid(), resource.RLIMIT_CPU, (1, 1))",
                           "import os\nos.pidfd_open(os.getppid())",
                           "import os, signal\nsignal.pthread_kill(os.getppid(), signal.SIGKILL)",
                           "import os\nos.sched_setaffinity(os.getppid(), {0})"}) {
    const RenderResult r = run(code);
    EXPECT_STATUS(r, runtime_error);
  }
}

TEST_P(ChartSandbox, AnUnnamedSignalDoesNotUpsetTheServer) {
  const RenderResult r = run("import os\nos.kill(os.getpid(), 40)");
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("killed by"), std::string::npos) << r.reason;
}

TEST_P(ChartSandbox, AForgedResultFrameIsRejected) {
  // The job writes a frame of its own into every pipe it holds, then exits quietly.
  const RenderResult r =
      run("import os, stat, struct\n"
          "forged = b'{\"status\": \"ok\", \"width\": -1, \"height\": 3, \"reason\": 7, \"payload_bytes\": 0}'\n"
          "for fd in range(3, 64):\n"
          "    try:\n"
          "        if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
          "            os.write(fd, struct.pack('<I', len(forged)) + forged)\n"
          "    except OSError:\n"
          "        pass\n"
          "os._exit(0)");
  EXPECT_STATUS(r, runtime_error);
}

TEST_P(ChartSandbox, TemporaryFilesDoNotReachTheNextJob) {
  EXPECT_STATUS(run("import os, tempfile\nopen(os.path.join(tempfile.gettempdir(), 'leak'), 'w').write('x')\n"
                    "plt.plot([1])"),
                ok);
  for (int i = 0; i < 2; ++i) {  // both workers
    EXPECT_STATUS(pool_->render(chart("import os, tempfile\n"
                                      "assert not os.path.exists(os.path.join(tempfile.gettempdir(), 'leak'))\n"
                                      "plt.plot([1])")),
                  ok);
  }
}

TEST_P(ChartSandbox, SignallingEveryProcessIsRefused) {
  const RenderResult r = run("import os, signal\nos.kill(-1, signal.SIGKILL)");
  EXPECT_STATUS(r, runtime_error);
}

TEST_P(ChartSandbox, TenMillionPointsFinishWithinTheDeadline) {
  const RenderResult r = run("import numpy as np\nx = np.random.rand(10**7)\nplt.plot(x, x, ',')");
  EXPECT_TRUE(r.status == RenderStatus::ok || r.status == RenderStatus::timeout ||
              r.status == RenderStatus::memory_limit)
      << to_string(r.status) << ": " << r.reason;
}

TEST_P(ChartSandbox, SyntaxErrorIsReportedWithItsLine) {
  const RenderResult r = pool_->render(chart("plt.plot([1, 2]\nx = = 3"));
  EXPECT_STATUS(r, syntax_error);
}

TEST_P(ChartSandbox, NoFigureIsBlank) {
  const RenderResult r = run("x = 1");
  EXPECT_STATUS(r, blank_image);
}

TEST_P(ChartSandbox, StateDoesNotLeakBetweenJobs) {
  // A job that changes global matplotlib state; the next job must not see it.
  EXPECT_STATUS(pool_->render(chart("import matplotlib\nmatplotlib.rcParams['lines.linewidth'] = 42\nplt.plot([1])")),
                ok);
  for (int i = 0; i < 2; ++i) {  // both workers
    const RenderResult r =
        pool_->render(chart("import matplotlib\nassert matplotlib.rcParams['lines.linewidth'] != 42\n"
                            "assert not plt.get_fignums()\nplt.plot([1])"));
    EXPECT_STATUS(r, ok);
  }
}

TEST_P(ChartSandbox, DeadWorkersAreReplaced) {
  pool_->warm_up(RenderKind::chart);
  const auto workers = test::children_of();
  ASSERT_EQ(workers.size(), 2u);
  for (pid_t worker : workers) kill(worker, SIGKILL);
  ASSERT_TRUE(test::wait_until_dead(workers)) << "the killed workers are still alive";
  // Workers that died between jobs are replaced before the next job reaches them.
  for (int i = 0; i < 4; ++i) EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);
  EXPECT_GE(pool_->stats().workers_replaced, 1);
}

TEST_P(ChartSandbox, AWorkerKilledDuringAJobIsReplaced) {
  // Started workers first: a kill while a worker is still starting is a failed start, not a
  // death during the job.
  pool_->warm_up(RenderKind::chart);
  // The job names itself once it runs, then sleeps until its worker is killed (its deadline,
  // long after, is a hang guard).
  const std::string name = "visrl-job-" + std::string(sandbox::to_string(GetParam()).substr(0, 5));
  RenderRequest sleeper = chart("import ctypes, time\nctypes.CDLL(None).prctl(15, b'" + name +
                                "', 0, 0, 0)  # PR_SET_NAME\ntime.sleep(3600)\nplt.plot([1])");
  sleeper.timeout_s = kHangGuardS;
  auto slow = pool_->submit(sleeper);
  ASSERT_TRUE(test::wait_until([&] { return test::process_named(name) != 0; }))
      << "the job never started (no process named " << name << ")";
  const auto workers = test::children_of();
  for (pid_t worker : workers) kill(worker, SIGKILL);
  const RenderResult r = slow.get();
  EXPECT_STATUS(r, runtime_error);
  EXPECT_NE(r.reason.find("render worker died"), std::string::npos) << r.reason;
  EXPECT_TRUE(test::wait_until([&] { return test::process_named(name) == 0; })) << "the job outlived its worker";
  // The other slot's worker was killed idle: once it is dead the pool replaces it.
  ASSERT_TRUE(test::wait_until_dead(workers)) << "the killed workers are still alive";
  EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);
}

INSTANTIATE_TEST_SUITE_P(Levels, ChartSandbox,
                         ::testing::Values(sandbox::IsolationLevel::namespaces, sandbox::IsolationLevel::seccomp),
                         [](const auto& p) { return std::string(sandbox::to_string(p.param)); });

TEST(RenderPoolShutdown, LeavesNoProcessOrTemporaryDirectory) {
  const test::ScopedTmpdir tmp;
  for (auto level : {sandbox::IsolationLevel::namespaces, sandbox::IsolationLevel::seccomp}) {
    if (level > sandbox::probe_isolation()) continue;
    {
      RenderPool pool(hostile_options(level));
      auto a = pool.submit(chart("import time\ntime.sleep(30)"));
      auto b = pool.submit(chart("plt.plot([1])"));
      EXPECT_EQ(b.get().status, RenderStatus::ok);
      EXPECT_FALSE(test::descendants().empty());
      pool.shutdown();
      EXPECT_EQ(a.get().status, RenderStatus::timeout);
    }
    EXPECT_TRUE(test::descendants().empty()) << sandbox::to_string(level);
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << sandbox::to_string(level);
  }
}

TEST(RenderPoolStart, AMissingInterpreterFailsTheJobAndLeavesNothing) {
  const test::ScopedTmpdir tmp;
  for (auto level : {sandbox::IsolationLevel::namespaces, sandbox::IsolationLevel::seccomp}) {
    if (level > sandbox::probe_isolation()) continue;
    auto options = hostile_options(level);
    options.worker.python = "/nonexistent/python3";
    RenderPool pool(options);
    const RenderResult r = pool.render(chart("plt.plot([1])"));
    EXPECT_EQ(r.status, RenderStatus::runtime_error);
    EXPECT_NE(r.reason.find("/nonexistent/python3"), std::string::npos) << r.reason;
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << sandbox::to_string(level);
  }
}

TEST(RenderPoolShutdown, SubmittingAfterShutdownIsRejectedAtOnce) {
  RenderPool pool(hostile_options());
  pool.shutdown();
  RenderRequest svg;
  svg.kind = RenderKind::svg;
  svg.text = "<svg xmlns='http://www.w3.org/2000/svg'><rect width='1' height='1'/></svg>";
  auto future = pool.submit(svg);
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().status, RenderStatus::rejected);
  EXPECT_EQ(pool.stats().by_status.at(RenderStatus::rejected), 1);
}

TEST(RenderPoolIsolation, ChartCodeIsRefusedWithoutIsolationUnlessUnsafe) {
  auto options = hostile_options(sandbox::IsolationLevel::rlimits);
  {
    RenderPool pool(options);
    const RenderResult r = pool.render(chart("plt.plot([1])"));
    EXPECT_EQ(r.status, RenderStatus::rejected);
    EXPECT_NE(r.reason.find("render.sandbox: unsafe"), std::string::npos) << r.reason;
  }
  options.sandbox = "unsafe";
  RenderPool pool(options);
  EXPECT_EQ(pool.render(chart("plt.plot([1])")).status, RenderStatus::ok);
}

}  // namespace
}  // namespace visrl::render
