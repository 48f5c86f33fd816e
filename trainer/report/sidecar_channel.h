// Lines for a helper process that must never hold up training (the W&B sidecar): send()
// queues a line and returns at once; a writer thread feeds the queue to the process's pipe.
//   - The queue is bounded (in bytes): when the process falls behind, new lines are dropped,
//     counted and warned about (at the 1st, 10th, 100th, ... drop).
//   - A process that dies is started again, first given its hello line (e.g. W&B's init);
//     after max_restarts restarts it is given up on with a warning, and later lines are dropped.
//   - finish() (also the destructor) hands over what is queued, closes the pipe and waits up
//     to finish_wait for the process to end; one still busy then (uploading) is left running.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trainer/report/child_process.h"

namespace visrl::trainer {

struct SidecarOptions {
  std::string name;  // in messages: "W&B sidecar"
  std::vector<std::string> argv;
  std::filesystem::path log_path;  // its stdout and stderr, appended over restarts
  size_t queue_bytes = 0;
  int64_t max_restarts = 0;
  std::chrono::milliseconds finish_wait{0};
};

struct SidecarStats {
  int64_t offered = 0;   // lines given to send()
  int64_t written = 0;   // lines handed to a process
  int64_t dropped = 0;   // lines refused by send() (queue full, given up) or never handed over
  int64_t restarts = 0;  // processes started after the first
  bool given_up = false;
};

class SidecarChannel {
 public:
  // hello: the first line every process gets (its argument: whether this is a restart).
  SidecarChannel(SidecarOptions options, std::function<std::string(bool restarted)> hello);
  ~SidecarChannel();
  SidecarChannel(const SidecarChannel&) = delete;
  SidecarChannel& operator=(const SidecarChannel&) = delete;

  // Queues `line` (a newline is added); false when it was dropped.
  bool send(std::string line);
  void finish();
  SidecarStats stats() const;
  pid_t pid() const;  // the current process; -1 when none

 private:
  void writer_loop();
  bool start_process(bool restarted);  // false when it could not be started
  bool write_line(const std::string& line);
  bool handle_death();  // starts another process, or gives up; whether there is one again
  std::string log_tail() const;

  SidecarOptions options_;
  std::function<std::string(bool)> hello_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool closing_ = false;
  std::chrono::steady_clock::time_point finish_deadline_;
  SidecarStats stats_;
  std::unique_ptr<ChildProcess> process_;  // touched by the writer thread (and pid() under mutex_)
  std::thread writer_;
  bool finished_ = false;
};

}  // namespace visrl::trainer
