#include "render/worker_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/error.h"
#include "render/sandbox/landlock.h"
#include "render/sandbox/seccomp_policy.h"
#include "render/worker/protocol.h"

namespace visrl::render {

extern const char* const kChartServerSource;  // chart/chart_server.py, embedded by CMake

namespace {

namespace fs = std::filesystem;
using Clock = protocol::Clock;

Clock::time_point after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

// The interpreter's installation prefix (/opt/py for /opt/py/bin/python3), which must be
// visible in the namespace root when it lies outside /usr.
std::string python_prefix(const std::string& python) {
  std::error_code ec;
  const fs::path real = fs::canonical(python, ec);
  if (ec) fail(ErrorKind::config, "render.chart.python: {} does not exist", python);
  return real.parent_path().parent_path().string();
}

std::vector<std::string> worker_env(WorkerType type, const std::string& tmp) {
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp, "LANG=C.UTF-8",
                               "XDG_CACHE_HOME=" + tmp + "/cache"};
  if (type == WorkerType::native) {
    // The native worker renders every job in one process: glibc overwrites each block it
    // frees (perturb), and the per-thread cache, which would keep small blocks unwiped, is
    // off, so no earlier answer or image stays readable in its heap.
    env.emplace_back("GLIBC_TUNABLES=glibc.malloc.perturb=165:glibc.malloc.tcache_count=0");
  }
  if (type == WorkerType::chart) {
    for (const char* var : {"MPLBACKEND=Agg", "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1",
                            "PYTHONHASHSEED=0", "PYTHONDONTWRITEBYTECODE=1", "SOURCE_DATE_EPOCH=0"}) {
      env.emplace_back(var);
    }
    env.push_back("MPLCONFIGDIR=" + tmp + "/matplotlib");
  }
  return env;
}

// The server's anonymous writable memory (heap, allocator arenas), from /proc/<pid>/maps,
// which the sandboxed server cannot read itself: its job children copy these pages ahead of
// their job (chart_server.py, Prefaulter). Empty when unreadable; at most 512 MiB.
nlohmann::json writable_private_ranges(pid_t pid) {
  nlohmann::json ranges = nlohmann::json::array();
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  uint64_t total = 0;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string span, perms, offset, device, inode, path;
    fields >> span >> perms >> offset >> device >> inode;
    std::getline(fields >> std::ws, path);
    if (perms.size() < 4 || perms[0] != 'r' || perms[1] != 'w' || perms[3] != 'p') continue;
    if (!(path.empty() || path == "[heap]")) continue;
    const auto dash = span.find('-');
    const uint64_t start = std::stoull(span.substr(0, dash), nullptr, 16);
    const uint64_t end = std::stoull(span.substr(dash + 1), nullptr, 16);
    if (total + (end - start) > (512ull << 20)) break;
    total += end - start;
    ranges.push_back({start, end});
  }
  return ranges;
}

}  // namespace

std::string render_worker_program() {
  if (const char* env = std::getenv("VISRL_RENDER_WORKER"); env && *env) return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec).parent_path();
  for (const fs::path& candidate : {self / "visrl-render-worker", self / ".." / "bin" / "visrl-render-worker"}) {
    if (fs::exists(candidate, ec)) return fs::canonical(candidate, ec).string();
  }
  return VISRL_RENDER_WORKER_BUILD_PATH;
}

WorkerProcess::WorkerProcess(WorkerType type, const WorkerSettings& settings) : type_(type) {
  try {
    start(settings);
  } catch (...) {
    kill_and_reap();  // the destructor does not run for a constructor that throws
    throw;
  }
}

void WorkerProcess::start(const WorkerSettings& settings) {
  const WorkerType type = type_;
  sandbox::JailSpec spec;
  spec.level = settings.level;
  spec.tmpfs_mb = settings.tmpfs_mb;
  if (settings.level != sandbox::IsolationLevel::namespaces) {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "visrl-render-XXXXXX").string();  // honours $TMPDIR
    if (ec || !mkdtemp(pattern.data()))
      fail(ErrorKind::io, "render worker: mkdtemp {}: {}", pattern, std::strerror(errno));
    work_dir_ = pattern;
    // The worker runs as its own uid when we are root.
    if (geteuid() == 0 && chown(pattern.c_str(), uid_.get(), uid_.get()) != 0) {
      fail(ErrorKind::io, "render worker: chown {}: {}", work_dir_, std::strerror(errno));
    }
    spec.host_work_dir = work_dir_;
  } else {
    spec.readonly_paths = sandbox::default_readonly_paths();
  }
  const std::string tmp = work_dir_.empty() ? "/tmp" : work_dir_;
  spec.env = worker_env(type, tmp);
  if (type == WorkerType::chart) {
    spec.program = settings.python;
    spec.argv = {settings.python, "-I", "-c", kChartServerSource};
    if (settings.level == sandbox::IsolationLevel::namespaces) {
      const std::string prefix = python_prefix(settings.python);
      if (prefix != "/usr" && prefix != "/") spec.readonly_paths.push_back(prefix);
    }
  } else {
    spec.program = settings.native_program.empty() ? render_worker_program() : settings.native_program;
    spec.argv = {"visrl-render-worker"};
    spec.address_space_mb = settings.native_memory_mb;
    spec.max_file_mb = 64;
  }
  if (settings.level != sandbox::IsolationLevel::rlimits) spec.worker_filter = sandbox::worker_filter_bpf();
  spec.uid = uid_.get();
  // Below the namespaces level nothing hides the host: Landlock confines the worker to what
  // the namespaces level would bind into its root, plus its private directory.
  struct RulesetCloser {
    int fd = -1;
    ~RulesetCloser() {
      if (fd >= 0) close(fd);
    }
  } ruleset;
  if (settings.level == sandbox::IsolationLevel::seccomp && sandbox::landlock_abi() > 0) {
    sandbox::LandlockPaths paths;
    paths.read_execute = sandbox::default_readonly_paths();
    paths.read_execute.push_back(spec.program);
    if (type == WorkerType::chart) paths.read_execute.push_back(python_prefix(settings.python));
    paths.read_write = {work_dir_};
    paths.devices = {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"};
    ruleset.fd = sandbox::make_landlock_ruleset(paths);
    spec.landlock_ruleset = ruleset.fd;
  }

  int request_pipe[2], response_pipe[2];
  if (pipe2(request_pipe, O_CLOEXEC) != 0 || pipe2(response_pipe, O_CLOEXEC) != 0)
    fail(ErrorKind::runtime, "render worker: pipe: {}", std::strerror(errno));
  stderr_fd_ = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  spec.request_fd = request_pipe[0];
  spec.response_fd = response_pipe[1];
  spec.stderr_fd = stderr_fd_;
  request_fd_ = request_pipe[1];
  response_fd_ = response_pipe[0];
  fcntl(response_fd_, F_SETPIPE_SZ, 1 << 20);  // images cross in one go; best effort
  fcntl(request_fd_, F_SETFL, O_NONBLOCK);     // writes get a deadline (protocol.h)
  try {
    pid_ = sandbox::spawn_jailed(spec);
  } catch (...) {
    close(request_pipe[0]);
    close(response_pipe[1]);
    kill_and_reap();
    throw;
  }
  close(request_pipe[0]);
  close(response_pipe[1]);

  if (type == WorkerType::chart) {
    try {
      protocol::write_frame(request_fd_, {{"job_filter_hex", settings.level == sandbox::IsolationLevel::rlimits
                                                                 ? std::string()
                                                                 : hex(sandbox::job_filter_template_bpf())},
                                          {"pid_slot", sandbox::kJobPidSlot}});
      const auto ready = protocol::read_frame(response_fd_, after(settings.startup_timeout_s));
      if (!ready) fail(ErrorKind::runtime, "no answer within {:g} s", settings.startup_timeout_s);
      if (auto ranges = settings.prefault ? writable_private_ranges(pid_) : nlohmann::json::array(); !ranges.empty()) {
        protocol::write_frame(request_fd_, {{"prefault_ranges", std::move(ranges)}});
      }
    } catch (const Error& e) {
      const std::string tail = stderr_tail();
      kill_and_reap();
      fail(ErrorKind::runtime, "chart server ({}) failed to start: {}{}{}", settings.python, e.what(),
           tail.empty() ? "" : "\n", tail);
    }
  }
}

WorkerProcess::~WorkerProcess() {
  kill_and_reap();
}

bool WorkerProcess::alive() {
  if (pid_ <= 0) return false;
  if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
    pid_ = -1;
    kill_and_reap();  // closes the pipes, removes the directory
    return false;
  }
  return true;
}

void WorkerProcess::kill_and_reap() {
  if (pid_ > 0) {
    // The worker leads its own session: the group kill also reaches what it started
    // below the namespaces level, where no PID namespace takes them along.
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  for (int* fd : {&request_fd_, &response_fd_, &stderr_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (!work_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(work_dir_, ec);
    work_dir_.clear();
  }
}

std::string WorkerProcess::stderr_tail() const {
  if (stderr_fd_ < 0) return "";
  struct stat info {};
  if (fstat(stderr_fd_, &info) != 0) return "";
  const off_t size = info.st_size;
  const off_t start = size > 4000 ? size - 4000 : 0;
  std::string text(static_cast<size_t>(size - start), '\0');
  const ssize_t n = pread(stderr_fd_, text.data(), text.size(), start);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return tail_of(text, 4000);
}

RenderResult WorkerProcess::run(const nlohmann::json& request) {
  if (!alive()) return make_result(RenderStatus::runtime_error, "render worker is not running");
  const double timeout_s = request.value("timeout_s", 15.0);
  // The chart server answers a timeout itself; the grace covers its clean-up and the pixels.
  const double grace_s = type_ == WorkerType::chart ? 5.0 : 0.0;
  try {
    const auto deadline = after(timeout_s + grace_s);
    protocol::write_frame(request_fd_, request, {}, deadline);
    const auto frame = protocol::read_frame(response_fd_, deadline);
    if (!frame) {
      kill_and_reap();
      return make_result(
          RenderStatus::timeout,
          type_ == WorkerType::chart
              ? fmt::format("chart server gave no answer {:g} s after the deadline; restarted", grace_s)
              : fmt::format("wall-clock deadline of {:g} s exceeded; render worker restarted", timeout_s));
    }
    RenderResult result;
    const auto& h = frame->header;
    result.status = parse_render_status(h.value("status", "")).value_or(RenderStatus::runtime_error);
    result.reason = h.value("reason", "");
    result.timings.execute_ms = h.value("execute_ms", 0.0);
    const int width = h.value("width", 0), height = h.value("height", 0), channels = h.value("channels", 3);
    const bool sane = width > 0 && height > 0 && width <= 16384 && height <= 16384 && (channels == 3 || channels == 4);
    const size_t pixels = sane ? static_cast<size_t>(width) * static_cast<size_t>(height) : 0;
    if (sane && frame->payload.size() == pixels * static_cast<size_t>(channels)) {
      result.image.width = width;
      result.image.height = height;
      result.image.rgb.resize(pixels * 3);
      const auto* in = reinterpret_cast<const unsigned char*>(frame->payload.data());
      uint8_t* out = result.image.rgb.data();
      for (size_t i = 0; i < pixels; ++i, in += channels, out += 3) {
        // Straight (not premultiplied) alpha, composited over white.
        const unsigned a = channels == 4 ? in[3] : 255u;
        if (a == 255u) {  // nearly every pixel of a figure
          out[0] = in[0], out[1] = in[1], out[2] = in[2];
          continue;
        }
        for (int c = 0; c < 3; ++c) out[c] = static_cast<uint8_t>((in[c] * a + 255u * (255u - a) + 127u) / 255u);
      }
    } else if (result.status == RenderStatus::ok) {
      result = make_result(RenderStatus::runtime_error, fmt::format("worker sent {} bytes for a {}x{}x{} image",
                                                                    frame->payload.size(), width, height, channels));
    }
    // The worker could not put itself back as it was (a chart server whose temporary
    // directory a job left unremovable): it has exited, and the pool starts another.
    if (h.contains("retire")) {
      spdlog::warn("render worker replaced: {}", h.value("retire", ""));
      kill_and_reap();
    }
    return result;
  } catch (const std::exception& e) {
    // EOF, a malformed frame or fields of the wrong type: the worker is not trusted again.
    const std::string tail = stderr_tail();
    kill_and_reap();
    return make_result(RenderStatus::runtime_error, fmt::format("render worker died ({}){}{}", e.what(),
                                                                tail.empty() ? "" : ": ", tail_of(tail, 500)));
  }
}

}  // namespace visrl::render
