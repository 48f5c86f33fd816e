#include "trainer/report/sidecar_channel.h"

#include <signal.h>

#include <fstream>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace visrl::trainer {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kWriteSlice{200};

bool is_power_of_ten(int64_t n) {
  while (n >= 10 && n % 10 == 0) n /= 10;
  return n == 1;
}

}  // namespace

SidecarChannel::SidecarChannel(SidecarOptions options, std::function<std::string(bool)> hello)
    : options_(std::move(options)), hello_(std::move(hello)) {
  if (!start_process(false)) handle_death();
  writer_ = std::thread([this] { writer_loop(); });
}

SidecarChannel::~SidecarChannel() {
  finish();
}

bool SidecarChannel::send(std::string line) {
  line += '\n';
  std::lock_guard lock(mutex_);
  ++stats_.offered;
  const bool full = !queue_.empty() && queued_bytes_ + line.size() > options_.queue_bytes;
  if (closing_ || stats_.given_up || full) {
    ++stats_.dropped;
    if (full && is_power_of_ten(stats_.dropped)) {
      spdlog::warn(
          "{}: {} message(s) dropped so far: it is {:.1f} MiB behind (logging.wandb.queue_mib); "
          "metrics.jsonl and TensorBoard keep everything",
          options_.name, stats_.dropped, static_cast<double>(queued_bytes_) / (1 << 20));
    }
    return false;
  }
  queued_bytes_ += line.size();
  queue_.push_back(std::move(line));
  wake_.notify_one();
  return true;
}

SidecarStats SidecarChannel::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

pid_t SidecarChannel::pid() const {
  std::lock_guard lock(mutex_);
  return process_ ? process_->pid() : -1;
}

// Starts a process and hands it the hello line; false (and the reason in the log) on failure.
bool SidecarChannel::start_process(bool restarted) {
  std::unique_ptr<ChildProcess> process;
  try {
    process = std::make_unique<ChildProcess>(options_.argv, options_.log_path);
  } catch (const Error& e) {
    spdlog::warn("{}: {}", options_.name, e.what());
    return false;
  }
  spdlog::info("{}: pid {}, log {}", options_.name, process->pid(), options_.log_path.string());
  const std::string hello = hello_(restarted) + '\n';
  size_t done = 0;
  bool gone = false;
  while (done < hello.size() && !gone)
    done += process->write_some(std::string_view(hello).substr(done), kWriteSlice, gone);
  std::lock_guard lock(mutex_);
  process_ = std::move(process);
  return !gone;
}

// The process ended or closed its pipe: start another (up to max_restarts in all) or give up.
bool SidecarChannel::handle_death() {
  for (;;) {
    std::string reason = "could not be started";
    if (process_) {
      int status = 0;
      process_->close_pipe();
      if (!process_->wait_for_exit(std::chrono::seconds(2))) {
        kill(process_->pid(), SIGKILL);  // it closed its input: no use any more
        process_->wait_for_exit(std::chrono::seconds(2));
      }
      process_->ended(&status);
      reason = fmt::format("pid {} ended with {}", process_->pid(), describe_wait_status(status));
    }
    const std::string tail = log_tail();
    {
      std::lock_guard lock(mutex_);
      process_.reset();
      if (stats_.restarts >= options_.max_restarts) {
        stats_.given_up = true;
        stats_.dropped += static_cast<int64_t>(queue_.size());
        queue_.clear();
        queued_bytes_ = 0;
        spdlog::warn(
            "{}: {}{}; given up on after {} restart(s) (logging.wandb.max_restarts), see {}. "
            "Training goes on; metrics.jsonl and TensorBoard keep everything",
            options_.name, reason, tail.empty() ? "" : " (" + tail + ")", stats_.restarts, options_.log_path.string());
        return false;
      }
      ++stats_.restarts;
      spdlog::warn("{}: {}{}; starting it again (restart {} of {}); messages in flight are lost", options_.name, reason,
                   tail.empty() ? "" : " (" + tail + ")", stats_.restarts, options_.max_restarts);
    }
    if (start_process(true)) return true;
  }
}

// One line to the current process, resent whole to a restarted one. False when it could not be
// handed over (given up on, or the finish deadline passed).
bool SidecarChannel::write_line(const std::string& line) {
  size_t done = 0;
  for (;;) {
    if (!process_) return false;
    bool gone = false;
    done += process_->write_some(std::string_view(line).substr(done), kWriteSlice, gone);
    if (done == line.size()) return true;
    if (gone) {
      if (!handle_death()) return false;
      done = 0;
      continue;
    }
    std::lock_guard lock(mutex_);
    if (closing_ && Clock::now() >= finish_deadline_) return false;
  }
}

void SidecarChannel::writer_loop() {
  for (;;) {
    std::string line;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty() || (closing_ && Clock::now() >= finish_deadline_)) {
        stats_.dropped += static_cast<int64_t>(queue_.size());
        return;
      }
      line = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= line.size();
    }
    const bool written = write_line(line);
    std::lock_guard lock(mutex_);
    if (written) {
      ++stats_.written;
    } else {
      ++stats_.dropped;
    }
  }
}

void SidecarChannel::finish() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = closing_ = true;
    finish_deadline_ = Clock::now() + options_.finish_wait;
  }
  wake_.notify_one();
  writer_.join();
  const auto s = stats();
  if (s.dropped > 0 && !s.given_up) {
    spdlog::warn("{}: {} of {} message(s) dropped in this run", options_.name, s.dropped, s.offered);
  }
  if (!process_) return;
  process_->close_pipe();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(finish_deadline_ - Clock::now());
  if (!process_->wait_for_exit(std::max(left, std::chrono::milliseconds(0)))) {
    spdlog::warn("{}: pid {} is still busy {:.1f} s after the run ended (uploading?); it goes on by itself, see {}",
                 options_.name, process_->pid(), static_cast<double>(options_.finish_wait.count()) / 1000,
                 options_.log_path.string());
    return;
  }
  int status = 0;
  process_->ended(&status);
  if (status != 0) {
    const std::string tail = log_tail();
    spdlog::warn("{}: ended with {}{}, see {}", options_.name, describe_wait_status(status),
                 tail.empty() ? "" : " (" + tail + ")", options_.log_path.string());
  }
}

// The last non-empty line of the process's log (a Python traceback's last line says why).
std::string SidecarChannel::log_tail() const {
  std::ifstream in(options_.log_path, std::ios::binary | std::ios::ate);
  if (!in) return "";
  const std::streamoff size = in.tellg();
  const std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  in.seekg(from);
  std::string text(static_cast<size_t>(size - from), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  const auto nl = text.find_last_of('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

}  // namespace visrl::trainer
