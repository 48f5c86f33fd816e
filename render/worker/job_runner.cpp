#include "render/worker/job_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "render/sandbox/seccomp_policy.h"
#include "render/worker/protocol.h"

namespace visrl::render {
namespace {

using Clock = std::chrono::steady_clock;

void set_limit(int resource, rlim_t value) {
  const rlimit limit{value, value};
  setrlimit(resource, &limit);
}

[[noreturn]] void child(const JobLimits& limits, const std::function<RenderResult()>& body, int result_fd,
                        int output_fd) {
  setpgid(0, 0);
  dup2(output_fd, 1);
  dup2(output_fd, 2);
  const int keep = result_fd;
  for (int fd = 3; fd < 1024; ++fd) {
    if (fd != keep) close(fd);
  }
  // RLIMIT_CPU: SIGXCPU at the soft limit, SIGKILL a second later.
  const auto cpu = static_cast<rlim_t>(limits.cpu_s + 0.999);
  const rlimit cpu_limit{cpu, cpu + 1};
  setrlimit(RLIMIT_CPU, &cpu_limit);
  set_limit(RLIMIT_AS, static_cast<rlim_t>(limits.memory_mb) << 20);
  set_limit(RLIMIT_FSIZE, static_cast<rlim_t>(limits.max_file_mb) << 20);
  set_limit(RLIMIT_NOFILE, 64);
  const std::string filter = sandbox::job_filter_bpf(getpid());
  if (int e = sandbox::install_filter(filter.data(), filter.size()); e != 0 && e != EINVAL) {
    _exit(120);  // a job never runs without its filter when the kernel has seccomp
  }
  RenderResult result;
  try {
    result = body();
  } catch (const std::bad_alloc&) {
    result = make_result(RenderStatus::memory_limit, "out of memory (address-space limit)");
  } catch (const std::exception& e) {
    result = make_result(RenderStatus::runtime_error, e.what());
  }
  try {
    nlohmann::json header{{"status", to_string(result.status)},
                          {"reason", result.reason},
                          {"width", result.image.width},
                          {"height", result.image.height},
                          {"channels", 3}};
    const std::string_view pixels(reinterpret_cast<const char*>(result.image.rgb.data()), result.image.rgb.size());
    protocol::write_frame(result_fd, header, pixels);
  } catch (...) {
    _exit(121);
  }
  _exit(0);
}

std::string signal_name(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? fmt::format("SIG{}", name) : fmt::format("signal {}", sig);
}

}  // namespace

RenderResult run_job(const JobLimits& limits, const std::function<RenderResult()>& body) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits.timeout_s));
  int result_pipe[2], output_pipe[2];
  if (pipe2(result_pipe, O_CLOEXEC) != 0) return make_result(RenderStatus::runtime_error, "pipe failed");
  if (pipe2(output_pipe, O_CLOEXEC) != 0) {
    close(result_pipe[0]);
    close(result_pipe[1]);
    return make_result(RenderStatus::runtime_error, "pipe failed");
  }
  const pid_t pid = fork();
  if (pid == 0) child(limits, body, result_pipe[1], output_pipe[1]);
  close(result_pipe[1]);
  close(output_pipe[1]);
  if (pid < 0) {
    close(result_pipe[0]);
    close(output_pipe[0]);
    return make_result(RenderStatus::runtime_error, fmt::format("fork failed: {}", std::strerror(errno)));
  }
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));

  std::string result_bytes, output_tail;
  size_t output_total = 0;
  bool timed_out = false, output_exceeded = false, exited = false;
  bool result_open = true, output_open = true;
  const size_t max_result = protocol::kMaxPayloadBytes + protocol::kMaxHeaderBytes;
  while (result_open || output_open || !exited) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[3] = {{result_open ? result_pipe[0] : -1, POLLIN, 0},
                     {output_open ? output_pipe[0] : -1, POLLIN, 0},
                     {exited ? -1 : pidfd, POLLIN, 0}};
    if (poll(fds, 3, static_cast<int>(left)) < 0 && errno != EINTR) break;
    char buffer[65536];
    if (fds[0].revents) {
      const ssize_t n = read(result_pipe[0], buffer, sizeof buffer);
      if (n <= 0) result_open = false;
      else result_bytes.append(buffer, static_cast<size_t>(n));
      if (result_bytes.size() > max_result) {
        output_exceeded = true;
        break;
      }
    }
    if (fds[1].revents) {
      const ssize_t n = read(output_pipe[0], buffer, sizeof buffer);
      if (n <= 0) {
        output_open = false;
      } else {
        output_total += static_cast<size_t>(n);
        output_tail.append(buffer, static_cast<size_t>(n));
        if (output_tail.size() > 8192) output_tail.erase(0, output_tail.size() - 4096);
        if (output_total > limits.max_output_bytes) {
          output_exceeded = true;
          break;
        }
      }
    }
    if (fds[2].revents) exited = true;
    // Once the child is gone, what is left in the pipes is all there will be.
    if (exited && pidfd >= 0 && !result_open && !output_open) break;
  }
  kill(-pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(result_pipe[0]);
  close(output_pipe[0]);
  if (pidfd >= 0) close(pidfd);

  const double elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const std::string tail = tail_of(output_tail, 2000);
  RenderResult result;
  if (timed_out) {
    result = make_result(RenderStatus::timeout, fmt::format("wall-clock deadline of {:g} s exceeded", limits.timeout_s));
  } else if (output_exceeded) {
    result = make_result(RenderStatus::output_limit,
                         fmt::format("output exceeded {} bytes", limits.max_output_bytes));
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU) {
    result = make_result(RenderStatus::timeout, fmt::format("CPU limit of {:g} s exceeded", limits.cpu_s));
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ) {
    result = make_result(RenderStatus::output_limit, fmt::format("file size limit of {} MiB exceeded", limits.max_file_mb));
  } else if (WIFSIGNALED(status)) {
    result = make_result(RenderStatus::runtime_error, fmt::format("render crashed: {}", signal_name(WTERMSIG(status))));
  } else {
    try {
      const protocol::Frame frame = protocol::decode_frame(result_bytes);
      result.status =
          parse_render_status(frame.header.at("status").get<std::string>()).value_or(RenderStatus::runtime_error);
      result.reason = frame.header.value("reason", "");
      result.image.width = frame.header.value("width", 0);
      result.image.height = frame.header.value("height", 0);
      result.image.rgb.assign(frame.payload.begin(), frame.payload.end());
      if (result.image.rgb.size() != static_cast<size_t>(result.image.width) * result.image.height * 3)
        throw std::runtime_error("pixel count does not match the size");
    } catch (const std::exception&) {
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      result = make_result(RenderStatus::runtime_error,
                           code == 120 ? "seccomp filter could not be installed"
                                       : fmt::format("render exited with code {} without a result", code));
    }
  }
  if (result.status != RenderStatus::ok && !tail.empty() && result.reason.find(tail) == std::string::npos) {
    result.reason += result.reason.empty() ? tail : "; output: " + tail;
  }
  result.timings.execute_ms = elapsed_ms;
  return result;
}

}  // namespace visrl::render
