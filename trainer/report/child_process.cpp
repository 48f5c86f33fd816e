#include "trainer/report/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace visrl::trainer {
namespace {

constexpr int kChildPipeFd = 3;

// An fd above the standard ones and fd 3, close-on-exec: dup2 onto fd 3 in the child then
// always makes a fresh, inheritable copy.
int high_cloexec(int fd) {
  if (fd > kChildPipeFd) return fd;
  const int high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
  close(fd);
  if (high < 0) fail(ErrorKind::runtime, "cannot duplicate a pipe descriptor: {}", std::strerror(errno));
  return high;
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_path) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) fail(ErrorKind::runtime, "cannot create a pipe: {}", std::strerror(errno));
  const int read_fd = high_cloexec(fds[0]);
  pipe_fd_ = high_cloexec(fds[1]);
  fcntl(pipe_fd_, F_SETFL, fcntl(pipe_fd_, F_GETFL) | O_NONBLOCK);
  // A write to a pipe whose reader is gone must give EPIPE, not kill the trainer.
  signal(SIGPIPE, SIG_IGN);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_adddup2(&actions, read_fd, kChildPipeFd);
  // Nothing else of the trainer's: a Gloo or store socket held by a sidecar still finishing its
  // upload would keep the other ranks from noticing that this one died.
  posix_spawn_file_actions_addclosefrom_np(&actions, kChildPipeFd + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);  // SIGPIPE and the rest back to their defaults
  posix_spawnattr_setsigmask(&attr, &none);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(read_fd);
  if (rc != 0) {
    close(pipe_fd_);
    pipe_fd_ = -1;
    fail(ErrorKind::runtime, "cannot start {} (log {}): {}", argv.front(), log_path.string(), std::strerror(rc));
  }
}

ChildProcess::~ChildProcess() {
  close_pipe();
  ended();
}

void ChildProcess::close_pipe() {
  if (pipe_fd_ >= 0) close(pipe_fd_);
  pipe_fd_ = -1;
}

bool ChildProcess::ended(int* status) {
  if (!reaped_ && pid_ > 0) {
    int s = 0;
    const pid_t r = waitpid(pid_, &s, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      reaped_ = true;
      status_ = s;
    }
  }
  if (reaped_ && status) *status = status_;
  return reaped_;
}

bool ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ended()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

size_t ChildProcess::write_some(std::string_view data, std::chrono::milliseconds timeout, bool& gone) {
  gone = false;
  if (pipe_fd_ < 0 || ended()) return gone = true, 0;
  size_t done = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (done < data.size()) {
    const ssize_t n = ::write(pipe_fd_, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return gone = true, done;  // EPIPE: the reader is gone
    // The pipe is full: wait for room, a little at a time, and notice a child that ended while
    // something else (a grandchild) still holds the pipe's read end.
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{pipe_fd_, POLLOUT, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    if (r > 0 && (p.revents & (POLLERR | POLLHUP))) return gone = true, done;
    if (ended()) return gone = true, done;
  }
  return done;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    return std::string("killed by signal ") + (name ? std::string("SIG") + name : std::to_string(WTERMSIG(status)));
  }
  return "wait status " + std::to_string(status);
}

}  // namespace visrl::trainer
