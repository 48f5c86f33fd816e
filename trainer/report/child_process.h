// A helper process that reads lines from a pipe on its fd 3 (stdin is /dev/null, stdout and
// stderr append to a log file, no other descriptor of the trainer's), in its own process group so that a Ctrl-C meant
// for the trainer does not cut it short: it ends when the pipe closes, also when the trainer dies. The write end is
// non-blocking and close-on-exec, so no other child (render workers) keeps the pipe open after this one is gone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::trainer {

class ChildProcess {
 public:
  // argv[0] is looked up on PATH. Throws Error(runtime) when it cannot be started.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log_path);
  ~ChildProcess();  // closes the pipe and reaps the child if it has ended; never kills it
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes what fits of `data` within `timeout`; the bytes written. `gone` is set when the
  // child closed the pipe or ended.
  size_t write_some(std::string_view data, std::chrono::milliseconds timeout, bool& gone);
  void close_pipe();
  // Whether it ended (reaped); its wait status in `status`.
  bool ended(int* status = nullptr);
  // Waits until it ends or `timeout` passes; whether it ended.
  bool wait_for_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int pipe_fd_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

// "exit status N" / "killed by signal SIGKILL" of a wait status.
std::string describe_wait_status(int status);

}  // namespace visrl::trainer
