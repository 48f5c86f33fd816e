// The pool's handle on one sandboxed worker process: the warm Python chart server or the
// native SVG/table worker. Owns its pipes, its private directory and the process; the
// destructor kills it (and, at the namespaces level, everything it started) and cleans up.
#pragma once

#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

#include "render/render_types.h"
#include "render/sandbox/jail.h"

namespace visrl::render {

enum class WorkerType { chart, native };

struct WorkerSettings {
  sandbox::IsolationLevel level = sandbox::IsolationLevel::namespaces;
  int native_memory_mb = 2048;  // address space of a native worker (it renders in-process)
  // Chart job children copy the server's memory ahead of their job on otherwise idle cores
  // (chart_server.py, Prefaulter): ~10 ms less per chart, at the price of CPU and memory, so
  // the pool turns it on only when it leaves cores free.
  bool prefault = false;
  std::string python = "/usr/bin/python3";  // chart workers
  std::string native_program;               // "" = render_worker_program()
  double startup_timeout_s = 120;
  int tmpfs_mb = 512;
};

// Where visrl-render-worker is: $VISRL_RENDER_WORKER, next to this program, ../bin/ from
// it, or the build tree it was compiled in.
std::string render_worker_program();

class WorkerProcess {
 public:
  // Starts the worker and waits until it is ready; throws visrl::Error with the worker's
  // stderr tail if it fails to start.
  WorkerProcess(WorkerType type, const WorkerSettings& settings);
  ~WorkerProcess();
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // Runs one job (request header as in render/worker/protocol.h) under its deadline
  // (request "timeout_s"). The chart server enforces the deadline on its job child and
  // answers; a native worker renders in-process, so here its deadline is enforced by
  // killing it. Either way, a worker silent past the deadline (plus a grace for the chart
  // server) is killed and the result is a timeout. If the worker dies, the result says so
  // and alive() turns false.
  RenderResult run(const nlohmann::json& request);

  // False once the worker has exited (it is reaped here), so that the pool restarts a
  // worker that died between jobs before giving it the next one.
  bool alive();
  pid_t pid() const { return pid_; }
  WorkerType type() const { return type_; }

 private:
  void start(const WorkerSettings& settings);
  void kill_and_reap();
  std::string stderr_tail() const;

  WorkerType type_;
  sandbox::WorkerUid uid_;  // the worker's identity when this process is root
  pid_t pid_ = -1;
  int request_fd_ = -1;   // we write requests
  int response_fd_ = -1;  // we read responses
  int stderr_fd_ = -1;    // the worker's stderr: an unlinked temporary file
  std::string work_dir_;  // below the namespaces level: the private directory on the host
};

}  // namespace visrl::render
