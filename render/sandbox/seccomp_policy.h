// The two seccomp filters of the render sandbox, written as classic BPF (a few dozen
// instructions each; libseccomp could not express "signal only yourself" without the pid).
//
// worker filter: installed before the worker (Python server or native worker) is exec'd, so
//   it binds the worker and every job it forks. Refuses sockets other than AF_UNIX (no
//   network even where no network namespace could be made), namespace and mount changes,
//   ptrace and cross-process memory access, kernel keyrings, io_uring (which could reach
//   sockets around the filter), System V and POSIX IPC objects (they would outlive the job),
//   module loading and the like.
// job filter: installed by the forked job child on top of the worker filter, just before
//   the untrusted code runs. Refuses execve (no subprocess / os.system), new processes
//   (clone without CLONE_THREAD: no fork bombs; threads stay allowed for BLAS), leaving its
//   process group or session, every call that acts on another process by pid (signals,
//   pidfds, prlimit, scheduling incl. sched_setattr, priority, memory policy), and socket().
// Refused calls fail with an errno (EACCES / EPERM / ENOSYS), so Python raises an
// exception that names them instead of the process dying; a foreign-architecture syscall
// (the 32-bit ABI) kills the process.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <string>

namespace visrl::render::sandbox {

// BPF programs as the raw bytes of a `struct sock_filter[]`.
std::string worker_filter_bpf();
std::string job_filter_bpf(pid_t job_pid);

// A job filter for a process that only learns its pid after fork (the Python server):
// every 32-bit constant equal to kJobPidSlot stands for the pid and must be replaced.
inline constexpr uint32_t kJobPidSlot = 0x5EC0DE01;
std::string job_filter_template_bpf();

// Installs a BPF program (bytes of sock_filter[]) on every thread of the process and its
// future children. Needs no_new_privs. Async-signal-safe (system calls only).
// Returns 0 or an errno.
int install_filter(const char* bpf, size_t bytes);

// True when the kernel accepts seccomp filters.
bool seccomp_available();

}  // namespace visrl::render::sandbox
