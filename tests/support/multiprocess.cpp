#include "tests/support/multiprocess.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

extern char** environ;

namespace visrl::test {

namespace {

constexpr const char* kScenarioVar = "VISRL_TEST_SCENARIO";

// Everything a child needs, prepared before fork: after fork only async-signal-safe calls.
struct ChildSpec {
  std::vector<std::string> argv;
  std::vector<std::string> env;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string read_all(int fd) {
  std::string text;
  if (lseek(fd, 0, SEEK_SET) < 0) return text;
  char buffer[65536];
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  return text;
}

std::string tail(const std::string& text, size_t max_chars) {
  if (text.size() <= max_chars) return text;
  return "..." + text.substr(text.size() - max_chars);
}

// The parent's environment with `overrides` applied (and gtest's XML output left out, which
// ranks would otherwise all write to the parent's file).
std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    std::string key(entry.substr(0, entry.find('=')));
    if (overrides.count(key) || key == "GTEST_OUTPUT") continue;
    env.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) env.push_back(key + "=" + value);
  return env;
}

MultiProcessResult run(int world, const std::vector<std::string>& argv, std::chrono::seconds timeout,
                       const std::map<std::string, std::string>& scenario_env,
                       const std::map<std::string, std::string>& extra_env, const KillWhen& kill_when) {
  if (world < 1) throw std::invalid_argument("run_ranks: world must be >= 1");
  const int port = free_tcp_port();
  const pid_t parent = getpid();
  std::vector<ChildSpec> specs(world);
  for (int r = 0; r < world; ++r) {
    std::map<std::string, std::string> vars = {
        {"RANK", std::to_string(r)},
        {"WORLD_SIZE", std::to_string(world)},
        {"LOCAL_RANK", std::to_string(r)},
        {"MASTER_ADDR", "127.0.0.1"},
        {"MASTER_PORT", std::to_string(port)},
        {"OMP_NUM_THREADS", "1"},
        {"LOCAL_WORLD_SIZE", std::to_string(world)},
    };
    for (const auto& [k, v] : scenario_env) vars[k] = v;
    for (const auto& [k, v] : extra_env) vars[k] = v;
    specs[r].argv = argv;
    specs[r].env = child_environment(vars);
  }

  MultiProcessResult result;
  result.ranks.resize(world);
  std::vector<pid_t> pids(world, -1);
  std::vector<int> out_fds(world, -1), err_fds(world, -1);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < world; ++r) {
    result.ranks[r].rank = r;
    out_fds[r] = memfd_create(fmt::format("rank{}-out", r).c_str(), MFD_CLOEXEC);
    err_fds[r] = memfd_create(fmt::format("rank{}-err", r).c_str(), MFD_CLOEXEC);
    if (out_fds[r] < 0 || err_fds[r] < 0) throw std::runtime_error(fmt::format("memfd_create: {}", strerror(errno)));
    std::vector<char*> child_argv = pointers(specs[r].argv);
    std::vector<char*> child_env = pointers(specs[r].env);
    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", strerror(errno)));
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(126);
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, 0);
      dup2(out_fds[r], 1);
      dup2(err_fds[r], 2);
      execve(child_argv[0], child_argv.data(), child_env.data());
      const char message[] = "multiprocess: execve failed\n";
      ssize_t ignored = write(2, message, sizeof message - 1);
      (void)ignored;
      _exit(127);
    }
    setpgid(pid, pid);  // also from the parent, so a kill of the group cannot race the child's call
    pids[r] = pid;
  }

  const auto deadline = start + timeout;
  int running = world;
  while (running > 0) {
    for (int r = 0; r < world; ++r) {
      if (pids[r] < 0) continue;
      int status = 0;
      pid_t done = waitpid(pids[r], &status, WNOHANG);
      if (done != pids[r]) continue;
      RankResult& rank = result.ranks[r];
      rank.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (WIFEXITED(status)) rank.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) rank.signal = WTERMSIG(status);
      kill(-pids[r], SIGKILL);  // whatever the rank started and left behind
      pids[r] = -1;
      --running;
    }
    if (running == 0) break;
    const bool kill_now = kill_when && kill_when();
    if (kill_now || std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = !kill_now;
      result.killed = kill_now;
      for (int r = 0; r < world; ++r) {
        if (pids[r] < 0) continue;
        kill(-pids[r], SIGKILL);
        kill(pids[r], SIGKILL);
        int status = 0;
        waitpid(pids[r], &status, 0);
        result.ranks[r].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        result.ranks[r].signal = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
        pids[r] = -1;
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < world; ++r) {
    result.ranks[r].out = read_all(out_fds[r]);
    result.ranks[r].err = read_all(err_fds[r]);
    close(out_fds[r]);
    close(err_fds[r]);
  }
  return result;
}

}  // namespace

bool MultiProcessResult::ok() const {
  if (timed_out) return false;
  for (const RankResult& r : ranks) {
    if (r.exit_code != 0) return false;
  }
  return true;
}

std::string MultiProcessResult::summary() const {
  std::string text = fmt::format("{} ranks, {:.1f} s{}\n", ranks.size(), seconds, timed_out ? ", TIMED OUT" : "");
  for (const RankResult& r : ranks) {
    if (r.signal != 0)
      text += fmt::format("--- rank {}: killed by signal {} ({}) after {:.1f} s\n", r.rank, r.signal,
                          strsignal(r.signal), r.seconds);
    else
      text += fmt::format("--- rank {}: exit {} after {:.1f} s\n", r.rank, r.exit_code, r.seconds);
    text += fmt::format("stderr:\n{}\nstdout:\n{}\n", tail(r.err, 3000), tail(r.out, 3000));
  }
  return text;
}

const char* current_scenario() {
  const char* s = std::getenv(kScenarioVar);
  return s && *s ? s : nullptr;
}

bool in_scenario(std::string_view scenario) {
  const char* s = current_scenario();
  return s && scenario == s;
}

MultiProcessResult run_ranks(int world, const std::string& scenario, std::chrono::seconds timeout,
                             const std::map<std::string, std::string>& extra_env, const KillWhen& kill_when) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) throw std::logic_error("run_ranks must be called from inside a running test");
  std::vector<std::string> argv = {"/proc/self/exe",
                                   fmt::format("--gtest_filter={}.{}", info->test_suite_name(), info->name()),
                                   "--gtest_color=no", "--gtest_brief=1"};
  // /proc/self/exe in the child's execve would name the child itself; resolve it here.
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) throw std::runtime_error(fmt::format("readlink /proc/self/exe: {}", strerror(errno)));
  argv[0].assign(path, static_cast<size_t>(n));
  return run(world, argv, timeout, {{kScenarioVar, scenario}}, extra_env, kill_when);
}

MultiProcessResult run_program_ranks(int world, const std::string& program, const std::vector<std::string>& args,
                                     std::chrono::seconds timeout, const std::map<std::string, std::string>& extra_env,
                                     const KillWhen& kill_when) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(world, argv, timeout, {}, extra_env, kill_when);
}

int free_tcp_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int saved = errno;
    close(fd);
    throw std::runtime_error(fmt::format("bind 127.0.0.1:0: {}", strerror(saved)));
  }
  close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace visrl::test
