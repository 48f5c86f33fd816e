#include "render/render_pool.h"

#include <signal.h>

#include <cmath>

#include <spdlog/spdlog.h>

#include "core/config.h"
#include "core/error.h"
#include "render/extract.h"
#include "render/sandbox/landlock.h"

namespace visrl::render {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

WorkerType worker_type(RenderKind kind) {
  return kind == RenderKind::chart ? WorkerType::chart : WorkerType::native;
}

std::future<RenderResult> ready_future(RenderResult result) {
  std::promise<RenderResult> promise;
  promise.set_value(std::move(result));
  return promise.get_future();
}

}  // namespace

std::string chart_code_refusal(sandbox::IsolationLevel level, int abi) {
  if (level == sandbox::IsolationLevel::namespaces) return {};
  if (level == sandbox::IsolationLevel::seccomp) {
    if (abi >= sandbox::kLandlockScopesAbi) return {};
    return fmt::format(
        "chart code is not run: this kernel refuses user/PID/mount namespaces, and its Landlock {} (ABI {}, needed "
        "ABI {}: Linux 6.12 with landlock in the lsm= boot list) cannot keep chart code away from host files, "
        "abstract UNIX sockets and other processes. Allow unprivileged user namespaces (sysctl "
        "kernel.unprivileged_userns_clone=1 or kernel.apparmor_restrict_unprivileged_userns=0; in a container, "
        "run it with a seccomp profile that allows clone/unshare), or set render.sandbox: unsafe to run chart code "
        "at the seccomp level anyway",
        abi == 0 ? "is missing" : "is too old", abi, sandbox::kLandlockScopesAbi);
  }
  return "no isolation is available for chart code (no namespaces, no seccomp); set render.sandbox: unsafe to run "
         "it anyway";
}

RenderPoolOptions pool_options_from(const RenderConfig& config) {
  RenderPoolOptions o;
  o.workers = static_cast<int>(config.workers);
  o.sandbox = config.sandbox;
  o.timeout_s = config.timeout_s;
  o.cpu_s = config.cpu_limit_s;
  o.memory_mb = config.memory_limit_mb;
  o.max_output_kb = config.max_output_kb;
  o.worker.python = config.chart.python;
  o.svg_max_elements = config.svg.max_elements;
  o.table_font = config.table.font;
  o.table_font_size = config.table.font_size;
  o.table_margin_px = config.table.margin_px;
  o.table_max_cells = config.table.max_cells;
  return o;
}

RenderRequest make_request(const RenderConfig& config, RenderKind kind, std::string text, std::string id) {
  RenderRequest r;
  r.kind = kind;
  r.text = std::move(text);
  r.id = std::move(id);
  r.width_in = config.chart.width_in;
  r.height_in = config.chart.height_in;
  r.dpi = static_cast<int>(config.chart.dpi);
  r.width_px = static_cast<int>(config.svg.width);
  r.height_px = static_cast<int>(config.svg.height);
  return r;
}

RenderRequest make_request(const RenderConfig& config, RenderKind kind, ExtractedCode code, std::string id) {
  RenderRequest r = make_request(config, kind, std::move(code.code), std::move(id));
  r.extracted = true;
  return r;
}

RenderPool::RenderPool(RenderPoolOptions options) : options_(std::move(options)) {
  if (options_.workers < 1)
    fail(ErrorKind::config, "render.workers: expected an integer > 0, got {}", options_.workers);
  if (options_.sandbox != "auto" && options_.sandbox != "strict" && options_.sandbox != "unsafe")
    fail(ErrorKind::config, "render.sandbox: expected auto, strict or unsafe, got \"{}\"", options_.sandbox);
  // A worker that dies while we write to it must give EPIPE, not kill this process.
  signal(SIGPIPE, SIG_IGN);
  level_ = sandbox::probe_isolation();
  if (options_.isolation && *options_.isolation < level_) level_ = *options_.isolation;
  if (options_.sandbox == "strict" && level_ != sandbox::IsolationLevel::namespaces) {
    fail(ErrorKind::config,
         "render.sandbox: strict needs user/PID/network/mount namespaces, but this kernel allows only: {}",
         sandbox::describe(level_));
  }
  if (level_ == sandbox::IsolationLevel::namespaces) {
    spdlog::info("render sandbox: {}", sandbox::describe(level_));
  } else {
    spdlog::warn("render sandbox: {}", sandbox::describe(level_));
  }
  chart_refusal_ = options_.sandbox == "unsafe" ? std::string() : chart_code_refusal(level_, sandbox::landlock_abi());
  if (!chart_refusal_.empty()) spdlog::warn("render sandbox: {}", chart_refusal_);
  options_.worker.level = level_;
  options_.worker.native_memory_mb = static_cast<int>(options_.memory_mb);
  // Prefaulting runs on idle cores; with a worker per core there are none to spare.
  options_.worker.prefault =
      options_.prefault.value_or(static_cast<unsigned>(options_.workers) < std::thread::hardware_concurrency());
  if (options_.max_queued == 0) options_.max_queued = 64 * static_cast<size_t>(options_.workers);
  for (int i = 0; i < options_.workers; ++i) slots_.push_back(std::make_unique<Slot>());
  for (auto& slot : slots_) threads_.emplace_back([this, s = slot.get()] { slot_loop(*s); });
}

RenderPool::~RenderPool() {
  shutdown();
}

void RenderPool::shutdown() {
  std::lock_guard shutdown_lock(shutdown_mutex_);
  std::deque<std::unique_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (auto& queue : queues_) {
      for (auto& job : queue) abandoned.push_back(std::move(job));
      queue.clear();
    }
    queued_ = 0;
  }
  work_ready_.notify_all();
  space_ready_.notify_all();
  for (auto& job : abandoned) job->promise.set_value(make_result(RenderStatus::rejected, "render pool shut down"));
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  slots_.clear();  // kills the workers and removes their directories
}

std::future<RenderResult> RenderPool::submit(RenderRequest request) {
  const auto submitted = Clock::now();
  auto finish_now = [&](RenderStatus status, std::string reason) {
    RenderResult result = make_result(status, std::move(reason));
    result.timings.total_ms = ms_since(submitted);
    record(result);
    return ready_future(std::move(result));
  };
  // The code: the request's text when the caller extracted it already, else extracted here.
  std::string code;
  if (request.extracted) {
    code = std::move(request.text);
    request.text.clear();
  } else {
    auto extracted = extract_code(request.kind, request.text);
    if (!extracted) {
      return finish_now(RenderStatus::no_code, fmt::format("no {} code in the answer", to_string(request.kind)));
    }
    code = std::move(extracted->code);
  }
  if (code.size() > options_.max_code_bytes) {
    return finish_now(RenderStatus::rejected, fmt::format("code of {} bytes exceeds the limit of {} bytes", code.size(),
                                                          options_.max_code_bytes));
  }
  if (request.kind == RenderKind::chart && !chart_refusal_.empty()) {
    return finish_now(RenderStatus::rejected, chart_refusal_);
  }
  auto job = std::make_unique<Job>();
  job->request = std::move(request);
  job->code = std::move(code);
  job->submitted = submitted;
  auto future = job->promise.get_future();
  bool stopped = false;
  {
    std::unique_lock lock(mutex_);
    space_ready_.wait(lock, [&] { return stopping_ || queued_ < options_.max_queued; });
    stopped = stopping_;
    if (!stopped) {
      queues_[static_cast<size_t>(job->request.kind)].push_back(std::move(job));
      ++queued_;
    }
  }
  if (stopped) return finish_now(RenderStatus::rejected, "render pool shut down");  // record() locks
  work_ready_.notify_one();
  return future;
}

std::vector<std::future<RenderResult>> RenderPool::submit_batch(std::vector<RenderRequest> requests) {
  std::vector<std::future<RenderResult>> futures;
  futures.reserve(requests.size());
  for (auto& r : requests) futures.push_back(submit(std::move(r)));
  return futures;
}

void RenderPool::slot_loop(Slot& slot) {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || queued_ > 0; });
      if (stopping_) return;
      // Round-robin over the kinds, so that a flood of one kind does not starve the others.
      for (size_t k = 0; k < 3 && !job; ++k) {
        auto& queue = queues_[(next_kind_ + k) % 3];
        if (queue.empty()) continue;
        job = std::move(queue.front());
        queue.pop_front();
        next_kind_ = (next_kind_ + k + 1) % 3;
      }
      --queued_;
    }
    space_ready_.notify_one();
    RenderResult result;
    {
      std::lock_guard lock(slot.mutex);
      result = run_on(slot, *job);
    }
    result.timings.total_ms = ms_since(job->submitted);
    record(result);
    job->promise.set_value(std::move(result));
  }
}

nlohmann::json RenderPool::request_header(const Job& job) const {
  const RenderRequest& r = job.request;
  return {{"kind", to_string(r.kind)},
          {"code", job.code},
          {"width_in", r.width_in},
          {"height_in", r.height_in},
          {"dpi", r.dpi},
          {"width_px", r.width_px},
          {"height_px", r.height_px},
          {"timeout_s", r.timeout_s > 0 ? r.timeout_s : options_.timeout_s},
          {"cpu_s", options_.cpu_s},
          {"memory_mb", options_.memory_mb},
          {"max_output_bytes", options_.max_output_kb * 1024},
          // A chart is exactly this size; a job that enlarges it is refused, not buffered.
          {"max_pixels_bytes",
           static_cast<int64_t>(std::ceil(r.width_in * r.dpi + 1) * std::ceil(r.height_in * r.dpi + 1) * 4)},
          {"max_elements", options_.svg_max_elements},
          {"font", options_.table_font},
          {"font_size", options_.table_font_size},
          {"margin_px", options_.table_margin_px},
          {"max_cells", options_.table_max_cells}};
}

WorkerProcess& RenderPool::worker_for(Slot& slot, WorkerType type) {
  auto& worker = type == WorkerType::chart ? slot.chart : slot.native;
  auto& starts = type == WorkerType::chart ? slot.chart_starts : slot.native_starts;
  if (!worker || !worker->alive()) {
    worker.reset();
    worker = std::make_unique<WorkerProcess>(type, options_.worker);
    std::lock_guard lock(mutex_);
    ++stats_.workers_started;
    if (starts++ > 0) ++stats_.workers_replaced;
  }
  return *worker;
}

RenderResult RenderPool::run_on(Slot& slot, Job& job) {
  const double queue_ms = ms_since(job.submitted);
  RenderResult result;
  try {
    result = worker_for(slot, worker_type(job.request.kind)).run(request_header(job));
  } catch (const std::exception& e) {
    result = make_result(RenderStatus::runtime_error, fmt::format("render worker failed to start: {}", e.what()));
  }
  if (result.status == RenderStatus::ok && result.image.is_uniform()) {
    result.status = RenderStatus::blank_image;
    result.reason = "every pixel has the same colour";
  }
  if (!job.request.id.empty() && result.status != RenderStatus::ok) {
    spdlog::debug("render {} ({}): {}: {}", job.request.id, to_string(job.request.kind), to_string(result.status),
                  result.reason);
  }
  result.timings.queue_ms = queue_ms;
  return result;
}

void RenderPool::warm_up(RenderKind kind) {
  for (auto& slot : slots_) {
    std::lock_guard lock(slot->mutex);
    worker_for(*slot, worker_type(kind));
  }
}

void RenderPool::record(const RenderResult& result) {
  std::lock_guard lock(mutex_);
  ++stats_.by_status[result.status];
}

RenderPoolStats RenderPool::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace visrl::render
