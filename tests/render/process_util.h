// Process bookkeeping for the render tests: who is still running below this test, and waits
// on conditions (never a fixed sleep) whose only limit is a hang guard.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace visrl::test {

// Live processes (zombies excluded) by parent pid, from /proc/<pid>/stat.
inline std::map<pid_t, std::vector<pid_t>> live_children() {
  std::map<pid_t, std::vector<pid_t>> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (state != 'Z') children[ppid].push_back(std::stoi(name));
  }
  return children;
}

// Every live descendant of `root`.
inline std::set<pid_t> descendants(pid_t root = getpid()) {
  auto children = live_children();
  std::set<pid_t> out;
  std::vector<pid_t> todo{root};
  while (!todo.empty()) {
    const pid_t p = todo.back();
    todo.pop_back();
    for (pid_t c : children[p]) {
      if (out.insert(c).second) todo.push_back(c);
    }
  }
  return out;
}

// Live direct children of `parent`.
inline std::set<pid_t> children_of(pid_t parent = getpid()) {
  const auto children = live_children();
  const auto it = children.find(parent);
  return it == children.end() ? std::set<pid_t>{} : std::set<pid_t>(it->second.begin(), it->second.end());
}

// How long a wait on a condition lasts at most: a hang guard, far above what the condition
// takes on a loaded machine. A wait that runs out fails its test with the condition's name.
inline constexpr int kWaitLimitMs = 60000;

// Polls `condition` every 10 ms until it holds (true) or `timeout_ms` pass (its last value).
template <typename Condition>
bool wait_until(Condition condition, int timeout_ms = kWaitLimitMs) {
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    if (condition()) return true;
    usleep(10000);
  }
  return condition();
}

// Waits until none of `pids` is a live process: killed children have become zombies, so
// their parent's waitpid(WNOHANG) now reports them dead. A PID namespace takes a moment to
// tear down after SIGKILL. False when some are still alive after `timeout_ms`.
inline bool wait_until_dead(const std::set<pid_t>& pids, int timeout_ms = kWaitLimitMs) {
  return wait_until(
      [&] {
        for (const auto& [parent, kids] : live_children()) {
          for (pid_t k : kids) {
            if (pids.count(k) > 0) return false;
          }
        }
        return true;
      },
      timeout_ms);
}

// A process whose name (/proc/<pid>/comm) is `name`, or 0. Jobs name themselves
// (prctl(PR_SET_NAME)) to tell a test that they have reached a given point.
inline pid_t process_named(const std::string& name) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream comm(entry.path() / "comm");
    std::string line;
    if (std::getline(comm, line) && line == name) return static_cast<pid_t>(std::stoi(pid));
  }
  return 0;
}

// A private $TMPDIR for the life of the object (workers below the namespaces level make their
// directories there), open to the workers' user; restored and removed afterwards.
class ScopedTmpdir {
 public:
  ScopedTmpdir() : path_(std::filesystem::temp_directory_path() / ("visrl-test-tmpdir-" + std::to_string(getpid()))) {
    if (const char* old = std::getenv("TMPDIR")) saved_ = old;
    std::filesystem::create_directories(path_);
    std::filesystem::permissions(path_, std::filesystem::perms::all);
    setenv("TMPDIR", path_.c_str(), 1);
  }
  ~ScopedTmpdir() {
    if (saved_)
      setenv("TMPDIR", saved_->c_str(), 1);
    else
      unsetenv("TMPDIR");
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::optional<std::string> saved_;
};

}  // namespace visrl::test
