// Starting a worker process inside the render sandbox.
//
// Isolation levels, strongest first; `probe_isolation` finds what the kernel allows:
//   namespaces: new user (when not root), PID, network, mount, IPC and UTS namespaces; the
//     root is a fresh tmpfs holding read-only binds of the interpreter, libraries and fonts,
//     a private writable tmpfs at /tmp and a minimal /dev; no /proc, /home, /root or project
//     files. Dies as a whole: killing the worker (PID 1 of its namespace) kills every
//     process it started.
//   seccomp: no namespaces, but the seccomp filters (no network, no exec in jobs), Landlock
//     where the kernel has it (landlock.h: only the worker's libraries, fonts and private
//     directory are reachable; no /proc), rlimits, a cleared environment and a private
//     temporary directory as working directory.
//   rlimits: resource limits and a cleared environment only.
// Every level sets no_new_privs, drops root to a uid of the worker's own (WorkerUid), puts
// the worker in its own session and kills it when the spawning thread's process dies.
#pragma once

#include <sys/types.h>
#include <string>
#include <string_view>
#include <vector>

namespace visrl::render::sandbox {

enum class IsolationLevel { rlimits, seccomp, namespaces };

std::string_view to_string(IsolationLevel level);
std::string describe(IsolationLevel level);  // one line for the start-up log

// The strongest level this process can set up; cached after the first call.
IsolationLevel probe_isolation();

// When this process is root, each worker runs as a uid of its own, so that RLIMIT_NPROC (a
// per-uid count) caps each worker's processes and threads separately, and no worker may open
// another's /proc entries or files: 0x40000000 + this process's pid x 256 + a slot free in
// this process (pids are below 2^22). Unused outside root, where a user namespace gives each
// worker its identity (namespaces level) or the worker keeps the caller's.
class WorkerUid {
 public:
  WorkerUid();  // throws visrl::Error when all 256 slots of this process are taken
  ~WorkerUid();
  WorkerUid(const WorkerUid&) = delete;
  WorkerUid& operator=(const WorkerUid&) = delete;
  uid_t get() const { return uid_; }

 private:
  int slot_;
  uid_t uid_;
};

inline constexpr uid_t kWorkerUidBase = 0x40000000;
inline constexpr uid_t kWorkerUidEnd = 0x80000000;  // exclusive
inline constexpr uid_t kWorkerUidsPerProcess = 256;

// The first of the kWorkerUidsPerProcess uids the workers of process `pid` may run as.
inline uid_t first_worker_uid(pid_t pid) {
  return kWorkerUidBase +
         static_cast<uid_t>(pid) % ((kWorkerUidEnd - kWorkerUidBase) / kWorkerUidsPerProcess) * kWorkerUidsPerProcess;
}

struct JailSpec {
  IsolationLevel level = IsolationLevel::namespaces;
  std::string program;                      // absolute path of the program to exec
  std::vector<std::string> argv;            // argv[0] included
  std::vector<std::string> env;             // the complete environment, "KEY=value"
  std::vector<std::string> readonly_paths;  // bound read-only into the namespace root
  std::string host_work_dir;                // below the seccomp level: the private working directory
  int tmpfs_mb = 512;                       // size of the private /tmp at the namespaces level
  int request_fd = -1;                      // becomes fd 3 of the worker
  int response_fd = -1;                     // becomes fd 4
  int stderr_fd = -1;                       // becomes fd 2 (-1: /dev/null)
  int max_open_files = 256;
  int max_processes = 512;    // RLIMIT_NPROC, counted per uid: per worker (WorkerUid, user namespace)
  int address_space_mb = 0;   // RLIMIT_AS of the worker itself; 0 = none (limits per job)
  int max_file_mb = 0;        // RLIMIT_FSIZE of the worker itself; 0 = none
  std::string worker_filter;  // BPF bytes; empty below the seccomp level
  uid_t uid = 65534;          // uid and gid of the worker when this process is root
  int landlock_ruleset = -1;  // landlock.h; enforced on the worker when >= 0
};

// Forks and execs the worker. Returns its pid (in this process's PID namespace). Throws
// visrl::Error naming the step and errno if the child could not be set up.
pid_t spawn_jailed(const JailSpec& spec);

// The read-only paths a worker needs besides its program: libraries, fonts, fontconfig,
// matplotlib's system config. Paths missing on this machine are skipped.
std::vector<std::string> default_readonly_paths();

}  // namespace visrl::render::sandbox
