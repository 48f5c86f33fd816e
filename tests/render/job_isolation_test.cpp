// Chart jobs against each other: no job finds another job's code or pixels in its memory,
// holds another job's descriptors, keeps temporary files past its end, starves another
// worker of threads, leaves IPC objects behind, changes the server's scheduling or passes a
// result of the wrong size. Each hostile job is followed by a healthy pool.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "render/render_pool.h"
#include "tests/render/process_util.h"
#include "tests/render/sandbox_test_util.h"

namespace visrl::render {
namespace {

using test::chart;
using test::hostile_options;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string random_hex(size_t n) {
  std::random_device seed;
  std::mt19937_64 rng(seed());
  std::string out;
  while (out.size() < n) out += fmt::format("{:016x}", rng());
  return out.substr(0, n);
}

// Threads of the process with the most of them (from /proc/<pid>/status).
int most_threads_of_one_process() {
  int most = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Threads:", 0) == 0) most = std::max(most, std::atoi(line.c_str() + 8));
    }
  }
  return most;
}

class JobIsolation : public ::testing::TestWithParam<sandbox::IsolationLevel> {
 protected:
  void SetUp() override {
    if (GetParam() > sandbox::probe_isolation()) GTEST_SKIP() << "kernel does not allow this level";
  }

  void start(RenderPoolOptions options) {
    options.isolation = GetParam();
    pool_ = std::make_unique<RenderPool>(options);
  }

  // Every worker renders a good chart afterwards.
  void expect_healthy() {
    for (int i = 0; i < pool_->options().workers; ++i) {
      const RenderResult good = pool_->render(chart("plt.bar(['a', 'b'], [1, 2])"));
      EXPECT_STATUS(good, ok);
    }
  }

  bool namespaces() const { return GetParam() == sandbox::IsolationLevel::namespaces; }

  std::unique_ptr<RenderPool> pool_;
};

TEST_P(JobIsolation, NoJobFindsEarlierJobsCodeOrPixelsInItsMemory) {
  // One worker, so that all 50 jobs ran on the scanning job's server; room in the address
  // space for large probes.
  auto options = hostile_options();
  options.workers = 1;
  options.memory_mb = 8192;
  options.timeout_s = 60;
  options.cpu_s = 50;
  start(options);
  const std::string code_marker = "visrl-canary-" + random_hex(24);
  // Figures filled with #1337c3 put runs of the RGBA bytes 13 37 c3 ff in every result.
  for (int i = 0; i < 50; ++i) {
    const RenderResult r = pool_->render(
        chart(fmt::format("# {0}\nsecret = '{0}-{1}'\nfig = plt.figure(facecolor='#1337c3')\nplt.plot([{1}, 2])\n"
                          "plt.title(secret)",
                          code_marker, i)));
    ASSERT_EQ(r.status, RenderStatus::ok) << r.reason;
  }
  // The needles travel as halves; the control needle is joined by the job itself, so a
  // scan that misses the heap fails.
  const size_t half = code_marker.size() / 2;
  const std::string scan = read_text(VISRL_SOURCE_DIR "/tests/render/memory_scan.py") +
                           fmt::format(R"(
control = 'visrl-control-' + 'x7' * 9
needles = [(b'{}', b'{}'), (bytes.fromhex('1337c3ff') * 8, bytes.fromhex('1337c3ff') * 8),
           (b'visrl-control-', b'x7' * 9)]
hits, scanned = count_needles(needles)
assert hits[2] >= 1, 'the scan missed its own control needle (%d bytes scanned)' % scanned
assert scanned > 50 << 20, scanned
if hits[0] or hits[1]:
    raise RuntimeError('found %d copies of earlier code and %d of earlier pixels' % (hits[0], hits[1]))
plt.plot([1, 2])
)",
                                       code_marker.substr(0, half), code_marker.substr(half));
  const RenderResult r = pool_->render(chart(scan));
  EXPECT_STATUS(r, ok);
  expect_healthy();
}

TEST_P(JobIsolation, AJobHoldsNoDescriptorOfAnotherJob) {
  start(hostile_options());
  // Output the server stops reading once the job is killed at its deadline.
  RenderRequest noisy = chart("import sys, time\nsys.stdout.write('unread-output ' * 1000)\ntime.sleep(30)");
  noisy.timeout_s = 0.5;
  EXPECT_STATUS(pool_->render(noisy), timeout);
  for (int i = 0; i < 2; ++i) {  // both workers
    const RenderResult r = pool_->render(chart(R"(import fcntl, os, stat
readable, pipes = [], 0
for fd in range(1024):
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        continue
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY:
            readable.append(fd)
        elif fd > 2:
            pipes += 1
assert not readable, 'readable pipes or sockets: %r' % readable
assert pipes == 1, 'write ends besides the result pipe: %d' % (pipes - 1)
plt.plot([1, 2]))"));
    EXPECT_STATUS(r, ok);
  }
}

TEST_P(JobIsolation, TemporaryFilesCannotOutliveTheJob) {
  auto options = hostile_options();
  options.cpu_s = 10;      // tens of thousands of files
  options.timeout_s = 60;  // a hang guard: the CPU limit is the one meant to bind
  start(options);
  // Directories without write or search bits, a tree deeper than any descriptor limit, the
  // tmpfs's inodes used up (a host directory below the namespaces level: 20000 files), and
  // the temporary directory itself made read-only where the job owns it.
  const RenderResult hostile = pool_->render(chart(fmt::format(R"(import errno, os, tempfile
tmp = tempfile.gettempdir()
os.makedirs(os.path.join(tmp, 'locked', 'inner'))
open(os.path.join(tmp, 'locked', 'inner', 'f'), 'w').write('x')
os.chmod(os.path.join(tmp, 'locked', 'inner'), 0)
os.chmod(os.path.join(tmp, 'locked'), 0)
os.mkdir(os.path.join(tmp, 'deep'))
os.chdir(os.path.join(tmp, 'deep'))
for _ in range(1000):
    os.mkdir('d')
    os.chdir('d')
os.chmod('.', 0o500)
os.mkdir(os.path.join(tmp, 'many'))
n = 0
try:
    while n < {}:
        os.close(os.open(os.path.join(tmp, 'many', str(n)), os.O_CREAT | os.O_WRONLY))
        n += 1
except OSError as e:
    assert e.errno == errno.ENOSPC, e
try:
    os.chmod(tmp, 0o500)
except OSError:
    pass
plt.plot([1, 2]))",
                                                               namespaces() ? 100000 : 20000)));
  EXPECT_STATUS(hostile, ok);
  for (int i = 0; i < 2; ++i) {  // both workers
    const RenderResult r = pool_->render(chart(R"(import os, tempfile
tmp = tempfile.gettempdir()
left = sorted(set(os.listdir(tmp)) - {os.path.basename(os.getcwd())})
assert not left, 'left behind: %r' % left[:5]
for n in range(2000):
    open(os.path.join(tmp, 'f%d' % n), 'w').close()
plt.plot([1, 2]))"));
    EXPECT_STATUS(r, ok);
  }
  EXPECT_EQ(pool_->stats().workers_replaced, 0) << "the clean-up after the hostile job failed";
  expect_healthy();
}

TEST_P(JobIsolation, AJobHoldingEveryThreadSlotDoesNotStarveAnotherWorker) {
  if (geteuid() != 0) GTEST_SKIP() << "as an ordinary user each worker has a user namespace of its own";
  auto options = hostile_options();
  options.cpu_s = 10;        // starting 500 Python threads takes seconds of CPU
  options.memory_mb = 4096;  // and a malloc arena each, 64 MiB of address space apiece
  start(options);
  pool_->warm_up(RenderKind::chart);
  // The hog starts threads until it may start no more, then says so in its process name and
  // holds them until the test kills it (its deadline, long after, is a hang guard).
  RenderRequest hog = chart(R"(import ctypes, threading, time
threading.stack_size(65536)
stop = threading.Event()
threads = []
try:
    while len(threads) < 5000:
        t = threading.Thread(target=stop.wait)
        t.start()
        threads.append(t)
except RuntimeError:
    pass
ctypes.CDLL(None).prctl(15, b'visrl-hog-full', 0, 0, 0)  # PR_SET_NAME
time.sleep(3600))");
  hog.timeout_s = 120;  // ended by the test below, once the other worker has been tried
  auto held = pool_->submit(hog);
  // Every thread the worker's uid may have (RLIMIT_NPROC 512) is held.
  pid_t hog_pid = 0;
  ASSERT_TRUE(test::wait_until([&] { return (hog_pid = test::process_named("visrl-hog-full")) != 0; }))
      << "the hog never filled up";
  ASSERT_GE(most_threads_of_one_process(), 400);
  const RenderResult other = pool_->render(chart(R"(import threading
threads = [threading.Thread(target=lambda: None) for _ in range(50)]
for t in threads:
    t.start()
for t in threads:
    t.join()
plt.plot([1, 2]))"));
  EXPECT_STATUS(other, ok);
  EXPECT_EQ(test::process_named("visrl-hog-full"), hog_pid) << "the hog let go before the other job ran";
  kill(hog_pid, SIGKILL);
  EXPECT_STATUS(held.get(), runtime_error);
  expect_healthy();
}

TEST_P(JobIsolation, IpcObjectsAreRefused) {
  start(hostile_options());
  // System V shared memory, message queues and semaphores and POSIX message queues would
  // outlive the job (and hold memory outside its limit).
  const RenderResult r = pool_->render(chart(R"(import ctypes, os
numbers = {'x86_64': dict(shmget=29, msgget=68, semget=64, mq_open=240),
           'aarch64': dict(shmget=194, msgget=186, semget=190, mq_open=180)}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
calls = dict(shmget=(0, 1 << 30, 0o1600), msgget=(0, 0o1600), semget=(0, 1, 0o1600),
             mq_open=(b'/visrl-queue', 0o102, 0o600, None))
made = {}
for name, args in calls.items():
    if libc.syscall(numbers[name], *args) != -1 or ctypes.get_errno() != 1:
        made[name] = ctypes.get_errno()
assert not made, 'not refused with EPERM: %r' % made
plt.plot([1, 2]))"));
  EXPECT_STATUS(r, ok);
  expect_healthy();
}

TEST_P(JobIsolation, TheServersSchedulingCannotBeChanged) {
  start(hostile_options());
  const RenderResult r = pool_->render(chart(R"(import ctypes, os, struct
number = {'x86_64': 314, 'aarch64': 274}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
attr = ctypes.create_string_buffer(struct.pack('<IIQiIQQQ', 48, 5, 0, 0, 0, 0, 0, 0))  # SCHED_IDLE
rc = libc.syscall(number, os.getppid(), attr, 0)
assert rc == -1 and ctypes.get_errno() == 1, (rc, ctypes.get_errno())
assert libc.syscall(number, 0, attr, 0) == 0, ctypes.get_errno()  # its own is fine
plt.plot([1, 2]))"));
  EXPECT_STATUS(r, ok);
  expect_healthy();
}

TEST_P(JobIsolation, AResultFrameOfAnotherSizeIsRejected) {
  start(hostile_options());
  // A well-formed frame with a 10 x 10 image of varied pixels, written into every pipe.
  const RenderResult r = pool_->render(chart(R"(import json, os, stat, struct
pixels = bytes(range(256)) + bytes(144)
header = json.dumps({'status': 'ok', 'reason': '', 'width': 10, 'height': 10, 'channels': 4,
                     'payload_bytes': len(pixels)}).encode()
for fd in range(3, 64):
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            os.write(fd, struct.pack('<I', len(header)) + header + pixels)
    except OSError:
        pass
os._exit(0))"));
  EXPECT_STATUS(r, runtime_error);
  expect_healthy();
}

INSTANTIATE_TEST_SUITE_P(Levels, JobIsolation,
                         ::testing::Values(sandbox::IsolationLevel::namespaces, sandbox::IsolationLevel::seccomp),
                         [](const auto& p) { return std::string(sandbox::to_string(p.param)); });

}  // namespace
}  // namespace visrl::render
