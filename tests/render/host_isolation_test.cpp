// Jobs against the host: no host file, /proc entry, host socket or other process is within
// reach at any level; every sandboxed process is non-dumpable; nothing outlives the pool; a
// worker that cannot put itself back as it was is replaced; the native worker keeps no
// earlier answer in its memory; and auto refuses chart code at a level that cannot hold it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "render/render_pool.h"
#include "render/sandbox/landlock.h"
#include "tests/render/process_util.h"
#include "tests/render/sandbox_test_util.h"

namespace visrl::render {
namespace {

namespace fs = std::filesystem;
using test::chart;
using test::hostile_options;

// A listening AF_UNIX socket at `path`, or in the abstract namespace when `path` starts
// with '@'; closed with the object.
class ListeningSocket {
 public:
  explicit ListeningSocket(const std::string& path) : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), path.size());
    if (path[0] == '@') address.sun_path[0] = '\0';
    const auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), size), 0) << std::strerror(errno);
    EXPECT_EQ(listen(fd_, 4), 0);
    if (path[0] != '@') chmod(path.c_str(), 0777);
  }
  ~ListeningSocket() { close(fd_); }

 private:
  int fd_;
};

class HostIsolation : public ::testing::TestWithParam<sandbox::IsolationLevel> {
 protected:
  static void SetUpTestSuite() { setenv("VISRL_TEST_SECRET", "hunter2-secret", 1); }

  void SetUp() override {
    if (GetParam() > sandbox::probe_isolation()) GTEST_SKIP() << "kernel does not allow this level";
    if (GetParam() == sandbox::IsolationLevel::seccomp && sandbox::landlock_abi() < sandbox::kLandlockScopesAbi)
      GTEST_SKIP() << "no Landlock scopes: chart code is refused at the seccomp level";
    auto options = hostile_options(GetParam());
    pool_ = std::make_unique<RenderPool>(options);
  }

  std::unique_ptr<RenderPool> pool_;
};

TEST_P(HostIsolation, HostFilesProcSocketsAndOtherProcessesAreOutOfReach) {
  const test::ScopedTmpdir tmpdir;  // the workers' directories below the namespaces level
  const fs::path host = fs::path("/tmp") / fmt::format("visrl-host-{}", getpid());
  fs::create_directories(host);
  fs::permissions(host, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                            fs::perms::others_exec);
  std::ofstream(host / "secret.txt") << "host-secret";
  fs::permissions(host / "secret.txt", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const ListeningSocket path_socket((host / "socket").string());
  const ListeningSocket abstract_socket(fmt::format("@visrl-test-{}", getpid()));
  pool_->render(chart("plt.plot([1])"));  // both workers started
  std::string targets;
  for (pid_t p : test::descendants()) targets += fmt::format("{}, ", p);
  const RenderResult r = pool_->render(chart(fmt::format(R"(import os, socket
reached = []
def attempt(what, action):
    try:
        action()
        reached.append(what)
    except OSError:
        pass
attempt('a world-readable host file', lambda: open('{0}/secret.txt').read())
attempt('the listing of /proc', lambda: os.listdir('/proc'))
for pid in [{1}{2}]:
    attempt('/proc/%d/environ' % pid, lambda: open('/proc/%d/environ' % pid).read())
    attempt('/proc/%d/mem' % pid, lambda: open('/proc/%d/mem' % pid, 'r+b'))
for where in ('/tmp/visrl-escape-{2}', '/dev/shm/visrl-escape-{2}', '/var/tmp/visrl-escape-{2}'):
    try:
        open(where, 'w').write('x')
    except OSError:
        pass
attempt('a host socket', lambda: socket.socket(socket.AF_UNIX).connect('{0}/socket'))
attempt('an abstract socket', lambda: socket.socket(socket.AF_UNIX).connect('\0visrl-test-{2}'))
assert not reached, 'reached: %r' % reached
plt.plot([1, 2]))",
                                                         host.string(), targets, getpid())));
  EXPECT_STATUS(r, ok);
  for (const char* dir : {"/tmp", "/dev/shm", "/var/tmp"}) {
    const fs::path escaped = fs::path(dir) / fmt::format("visrl-escape-{}", getpid());
    EXPECT_FALSE(fs::exists(escaped)) << escaped;
    fs::remove(escaped);
  }
  fs::remove_all(host);
  EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);
}

TEST_P(HostIsolation, EverySandboxedProcessIsNonDumpable) {
  // The files in /proc/<pid> of a non-dumpable process belong to root, whoever runs it.
  pool_->render(chart("plt.plot([1])"));
  RenderRequest svg;
  svg.kind = RenderKind::svg;
  svg.text = "<svg xmlns='http://www.w3.org/2000/svg'><rect width='5' height='5'/></svg>";
  EXPECT_STATUS(pool_->render(svg), ok);
  RenderRequest table;
  table.kind = RenderKind::table;
  table.text = "| a | b |\n|---|---|\n| 1 | 2 |\n";
  EXPECT_STATUS(pool_->render(table), ok);
  int checked = 0;
  for (pid_t pid : test::descendants()) {
    struct stat info {};
    if (stat(fmt::format("/proc/{}/status", pid).c_str(), &info) != 0) continue;  // a middle process, gone
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    uid_t uid = 0;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) == 0) uid = static_cast<uid_t>(std::stoul(line.substr(4)));
    }
    if (uid == 0) continue;  // cannot tell (and no sandboxed process runs as root)
    EXPECT_EQ(info.st_uid, 0u) << "process " << pid << " (uid " << uid << ") is dumpable";
    ++checked;
  }
  EXPECT_GE(checked, 4) << "servers, zygotes, spares and the native worker";
}

TEST_P(HostIsolation, NoProcessOutlivesThePool) {
  if (geteuid() != 0) GTEST_SKIP() << "workers have uids of their own only when the pool runs as root";
  pool_->render(chart("plt.plot([1])"));
  pool_->shutdown();
  // Whatever a job did, nothing runs as one of this process's worker uids any more.
  const uid_t first = sandbox::first_worker_uid(getpid());
  EXPECT_TRUE(test::wait_until([&] {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      struct stat info {};
      if (stat(entry.path().c_str(), &info) == 0 && info.st_uid >= first &&
          info.st_uid < first + sandbox::kWorkerUidsPerProcess)
        return false;
    }
    return true;
  }));
}

TEST_P(HostIsolation, AWorkerThatCannotEmptyItsDirectoryIsReplaced) {
  if (GetParam() != sandbox::IsolationLevel::seccomp || geteuid() != 0)
    GTEST_SKIP() << "needs the host directory of a worker that runs as another uid";
  const test::ScopedTmpdir tmpdir;
  auto options = hostile_options(GetParam());
  options.workers = 1;
  pool_ = std::make_unique<RenderPool>(options);
  EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);
  // Something the worker's uid cannot remove: a root-owned directory with a file in it.
  const auto dirs = std::vector<fs::path>(fs::directory_iterator(tmpdir.path()), fs::directory_iterator());
  ASSERT_EQ(dirs.size(), 1u);
  fs::create_directories(dirs[0] / "root-owned");
  std::ofstream(dirs[0] / "root-owned" / "f") << "x";
  fs::permissions(dirs[0] / "root-owned", fs::perms::owner_all);
  EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);  // the job itself is fine
  EXPECT_STATUS(pool_->render(chart("plt.plot([1])")), ok);
  EXPECT_EQ(pool_->stats().workers_replaced, 1);
}

INSTANTIATE_TEST_SUITE_P(Levels, HostIsolation,
                         ::testing::Values(sandbox::IsolationLevel::namespaces, sandbox::IsolationLevel::seccomp),
                         [](const auto& p) { return std::string(sandbox::to_string(p.param)); });

TEST(NativeWorkerMemory, KeepsNoEarlierAnswerOrImage) {
  if (geteuid() != 0) GTEST_SKIP() << "reading a non-dumpable worker's memory needs root";
  RenderPoolOptions options;
  options.workers = 1;
  RenderPool pool(options);
  const std::string marker = fmt::format("visrl-canary-{}-{}", getpid(), std::hash<std::string>{}("native"));
  for (int i = 0; i < 50; ++i) {
    RenderRequest svg;
    svg.kind = RenderKind::svg;
    svg.text = fmt::format(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><!-- {0} --><desc>{0}</desc>"
        "<rect id='{0}-{1}' width='10' height='10' fill='#1337c3'/><text y='5'>{0}</text></svg>",
        marker, i);
    ASSERT_EQ(pool.render(svg).status, RenderStatus::ok);
    RenderRequest table;
    table.kind = RenderKind::table;
    table.text = fmt::format("| {0} | b |\n|---|---|\n| {1} | {0} |\n", marker, i);
    ASSERT_EQ(pool.render(table).status, RenderStatus::ok);
  }
  const auto workers = test::children_of();
  ASSERT_EQ(workers.size(), 1u);
  const pid_t worker = *workers.begin();
  // Every readable private mapping of the worker, through /proc/<pid>/mem.
  std::ifstream maps(fmt::format("/proc/{}/maps", worker));
  std::ifstream mem(fmt::format("/proc/{}/mem", worker), std::ios::binary);
  const std::string pixels = std::string("\x13\x37\xc3", 3) + "\x13\x37\xc3" + "\x13\x37\xc3" + "\x13\x37\xc3";
  int64_t marker_hits = 0, pixel_hits = 0, control_hits = 0, scanned = 0;
  std::string line;
  while (std::getline(maps, line)) {
    unsigned long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &start, &end, perms) != 3 || perms[0] != 'r') continue;
    if (line.find("[vvar") != std::string::npos || line.find("[vsyscall]") != std::string::npos) continue;
    std::string bytes(end - start, '\0');
    mem.clear();
    mem.seekg(static_cast<std::streamoff>(start));
    if (!mem.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) continue;
    scanned += static_cast<int64_t>(bytes.size());
    for (size_t at = bytes.find(marker); at != std::string::npos; at = bytes.find(marker, at + 1)) {
      ++marker_hits;
      ADD_FAILURE() << line << " +" << at << ": " << bytes.substr(at > 200 ? at - 200 : 0, 400);
    }
    for (size_t at = bytes.find(pixels); at != std::string::npos; at = bytes.find(pixels, at + 1)) ++pixel_hits;
    if (bytes.find("DejaVu") != std::string::npos) ++control_hits;  // fontconfig's heap
  }
  EXPECT_GT(control_hits, 0) << scanned << " bytes scanned";
  EXPECT_EQ(marker_hits, 0);
  EXPECT_EQ(pixel_hits, 0);
}

TEST(ChartCodeRefusal, AutoRunsChartsOnlyWhereEveryFindingIsClosed) {
  using sandbox::IsolationLevel;
  EXPECT_EQ(chart_code_refusal(IsolationLevel::namespaces, 0), "");
  EXPECT_EQ(chart_code_refusal(IsolationLevel::seccomp, sandbox::kLandlockScopesAbi), "");
  for (int abi : {0, 3, sandbox::kLandlockScopesAbi - 1}) {
    const std::string why = chart_code_refusal(IsolationLevel::seccomp, abi);
    EXPECT_NE(why.find(fmt::format("ABI {}", abi)), std::string::npos) << why;
    EXPECT_NE(why.find("render.sandbox: unsafe"), std::string::npos) << why;
    EXPECT_NE(why.find("namespaces"), std::string::npos) << why;
  }
  EXPECT_NE(chart_code_refusal(IsolationLevel::rlimits, 7).find("render.sandbox: unsafe"), std::string::npos);
}

}  // namespace
}  // namespace visrl::render
