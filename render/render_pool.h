// A pool of sandboxed render workers: asynchronous submission with futures, one queue per
// kind, back-pressure (submit blocks while the queues are full), a deadline per job, and
// replacement of any worker that dies or hangs. After shutdown() (or destruction) no
// worker process or temporary directory is left.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/config.h"
#include "render/extract.h"
#include "render/render_types.h"
#include "render/sandbox/jail.h"
#include "render/worker_process.h"

namespace visrl::render {

// What the pool runs with. The defaults of everything the render config sets are its own
// (core/config.h, the one place defaults are written), so a default-constructed options
// struct is pool_options_from(RenderConfig{}).
struct RenderPoolOptions {
  int workers = static_cast<int>(RenderConfig{}.workers);  // jobs rendered at once
  std::string sandbox = RenderConfig{}.sandbox;            // auto | strict | unsafe (render.sandbox)
  double timeout_s = RenderConfig{}.timeout_s;             // default wall-clock deadline per job
  double cpu_s = RenderConfig{}.cpu_limit_s;
  int64_t memory_mb = RenderConfig{}.memory_limit_mb;
  int64_t max_output_kb = RenderConfig{}.max_output_kb;
  size_t max_code_bytes = 1u << 20;  // longer extracted code is rejected unrun (not a config key)
  size_t max_queued = 0;             // 0 = 64 per worker
  // Interpreter, worker program, tmpfs size. The pool sets native_memory_mb from memory_mb.
  WorkerSettings worker = [] {
    WorkerSettings settings;
    settings.python = ChartRenderConfig{}.python;
    return settings;
  }();
  // A weaker level than the kernel allows, to exercise the fallbacks (tests, debugging).
  std::optional<sandbox::IsolationLevel> isolation;
  // Chart prefaulting (WorkerSettings::prefault); unset = on when workers < cores.
  std::optional<bool> prefault;
  // Defaults for requests (RenderRequest carries its own sizes; these fill the kind options).
  int64_t svg_max_elements = SvgRenderConfig{}.max_elements;
  std::string table_font = TableRenderConfig{}.font;
  double table_font_size = TableRenderConfig{}.font_size;
  int64_t table_margin_px = TableRenderConfig{}.margin_px;
  int64_t table_max_cells = TableRenderConfig{}.max_cells;
};

RenderPoolOptions pool_options_from(const RenderConfig& config);

// Why chart code (untrusted code) must not run at `level` with this Landlock ABI, or "" when
// it may: below the namespaces level, only Landlock with scopes (ABI 6) keeps jobs from host
// files, abstract UNIX sockets and other processes. The reason says what is missing and how
// to opt in anyway (render.sandbox: unsafe).
std::string chart_code_refusal(sandbox::IsolationLevel level, int landlock_abi);

// A request with the sizes of render config filled in, for a raw answer: the pool extracts
// its code (extract_code).
RenderRequest make_request(const RenderConfig& config, RenderKind kind, std::string text, std::string id = {});
// The same for code already extracted from the answer (extract_code(kind, answer)): the pool
// renders code.code as it is, without extracting again (RenderRequest::extracted).
RenderRequest make_request(const RenderConfig& config, RenderKind kind, ExtractedCode code, std::string id = {});

struct RenderPoolStats {
  std::map<RenderStatus, int64_t> by_status;
  int64_t workers_started = 0;
  int64_t workers_replaced = 0;  // started again after a death or a hang
};

class RenderPool {
 public:
  // Probes the isolation level and logs it. Throws Error(config) for sandbox: strict when
  // namespaces are unavailable. Workers start lazily, on the first job of their type.
  explicit RenderPool(RenderPoolOptions options);
  ~RenderPool();
  RenderPool(const RenderPool&) = delete;
  RenderPool& operator=(const RenderPool&) = delete;

  // Queues a request; blocks while max_queued jobs wait. Never throws for bad input: the
  // future holds a result with a status.
  std::future<RenderResult> submit(RenderRequest request);
  std::vector<std::future<RenderResult>> submit_batch(std::vector<RenderRequest> requests);
  RenderResult render(RenderRequest request) { return submit(std::move(request)).get(); }

  // Starts every worker of this kind now, so that a benchmark or a first step does not pay
  // the start-up.
  void warm_up(RenderKind kind);

  // Lets running jobs finish, answers queued ones with `rejected`, stops every worker.
  void shutdown();

  sandbox::IsolationLevel isolation() const { return level_; }
  RenderPoolStats stats() const;
  const RenderPoolOptions& options() const { return options_; }

 private:
  struct Job {
    RenderRequest request;
    std::string code;
    std::promise<RenderResult> promise;
    std::chrono::steady_clock::time_point submitted;
  };
  struct Slot {
    std::mutex mutex;  // held while the slot's thread or warm_up() uses its workers
    std::unique_ptr<WorkerProcess> chart, native;
    int64_t chart_starts = 0, native_starts = 0;
  };

  void slot_loop(Slot& slot);
  RenderResult run_on(Slot& slot, Job& job);
  nlohmann::json request_header(const Job& job) const;
  WorkerProcess& worker_for(Slot& slot, WorkerType type);
  void record(const RenderResult& result);

  RenderPoolOptions options_;
  sandbox::IsolationLevel level_;
  std::string chart_refusal_;  // why chart jobs are rejected at this level; "" when they run
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<std::thread> threads_;

  std::mutex shutdown_mutex_;  // shutdown() may be called from several threads
  mutable std::mutex mutex_;
  std::condition_variable work_ready_, space_ready_;
  std::deque<std::unique_ptr<Job>> queues_[3];  // indexed by RenderKind
  size_t queued_ = 0;
  size_t next_kind_ = 0;  // round-robin over the kinds with work
  bool stopping_ = false;
  RenderPoolStats stats_;
};

}  // namespace visrl::render
