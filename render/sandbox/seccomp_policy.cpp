#include "render/sandbox/seccomp_policy.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstddef>
#include <vector>

namespace visrl::render::sandbox {
namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "render sandbox: add the AUDIT_ARCH of this architecture"
#endif

constexpr uint32_t kNrOffset = offsetof(struct seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(struct seccomp_data, arch);
// Low 32 bits of the first argument (little-endian). pid_t and socket domains are ints, and
// every clone flag we test lives in the low word.
constexpr uint32_t kArg0LowOffset = offsetof(struct seccomp_data, args);

constexpr uint32_t ret_errno(int e) {
  return SECCOMP_RET_ERRNO | (static_cast<uint32_t>(e) & SECCOMP_RET_DATA);
}

// A filter as a chain of per-syscall blocks. Each block starts with "nr == N ?" and ends in
// a return, so the accumulator still holds nr whenever the next test runs, and the jump
// over a block is always short.
class FilterBuilder {
 public:
  FilterBuilder() {
    emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset));
    emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArch, 1, 0));
    emit(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset));
#if defined(__x86_64__)
    // x32 syscalls carry the x86-64 arch token with bit 30 set in nr.
    emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
    emit(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
  }

  // nr -> fail with errno.
  void refuse(long nr, int error) {
    block(nr, {BPF_STMT(BPF_RET | BPF_K, ret_errno(error))});
  }

  // nr is allowed only when the low word of arg 0 is one of `allowed`.
  void refuse_unless_arg0_in(long nr, std::vector<uint32_t> allowed, int error) {
    std::vector<sock_filter> code{BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg0LowOffset)};
    for (size_t i = 0; i < allowed.size(); ++i) {
      // On a match jump to the final "allow", past the remaining tests and the refusal.
      const auto to_allow = static_cast<uint8_t>(allowed.size() - i);
      code.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, allowed[i], to_allow, 0));
    }
    code.push_back(BPF_STMT(BPF_RET | BPF_K, ret_errno(error)));
    code.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    block(nr, code);
  }

  // nr fails when arg 0 has any bit of `mask` set (want_set) or has none of them (!want_set).
  void refuse_if_arg0_bits(long nr, uint32_t mask, bool want_set, int error) {
    const uint8_t on_set = want_set ? 0 : 1, on_clear = want_set ? 1 : 0;
    block(nr, {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg0LowOffset),
               BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, mask, on_set, on_clear),
               BPF_STMT(BPF_RET | BPF_K, ret_errno(error)), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)});
  }

  std::string finish() {
    emit(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
    return std::string(reinterpret_cast<const char*>(code_.data()), code_.size() * sizeof(sock_filter));
  }

 private:
  void emit(sock_filter instruction) {
    code_.push_back(instruction);
  }
  void block(long nr, const std::vector<sock_filter>& body) {
    emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, static_cast<uint8_t>(body.size())));
    for (const auto& instruction : body) emit(instruction);
  }

  std::vector<sock_filter> code_;
};

constexpr uint32_t kNamespaceFlags =
    CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;

}  // namespace

std::string worker_filter_bpf() {
  FilterBuilder f;
  f.refuse_unless_arg0_in(SYS_socket, {AF_UNIX}, EACCES);
  f.refuse_unless_arg0_in(SYS_socketpair, {AF_UNIX}, EACCES);
  f.refuse_if_arg0_bits(SYS_clone, kNamespaceFlags, /*want_set=*/true, EPERM);
  // clone3 passes its flags in memory a filter cannot read; glibc falls back to clone.
  f.refuse(SYS_clone3, ENOSYS);
  for (long nr : {
         SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot,
             SYS_unshare, SYS_setns, SYS_bpf, SYS_perf_event_open, SYS_keyctl, SYS_add_key, SYS_request_key,
             SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_reboot,
             SYS_swapon, SYS_swapoff, SYS_userfaultfd, SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
             SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_acct, SYS_settimeofday, SYS_clock_settime,
             SYS_clock_adjtime, SYS_adjtimex, SYS_quotactl, SYS_syslog, SYS_fanotify_init, SYS_move_mount,
             SYS_open_tree, SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_mount_setattr,
             // System V and POSIX IPC objects outlive the process that made them, hold memory
             // outside its limits and would be a channel between jobs; nothing here needs them.
             SYS_shmget, SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_msgget, SYS_msgsnd, SYS_msgrcv, SYS_msgctl, SYS_semget,
             SYS_semop, SYS_semctl, SYS_semtimedop, SYS_mq_open, SYS_mq_unlink, SYS_mq_timedsend, SYS_mq_timedreceive,
             SYS_mq_notify, SYS_mq_getsetattr,
#if defined(__x86_64__)
             SYS_iopl, SYS_ioperm,
#endif
       }) {
    f.refuse(nr, EPERM);
  }
  return f.finish();
}

std::string job_filter_bpf(pid_t job_pid) {
  FilterBuilder f;
  const auto self = static_cast<uint32_t>(job_pid);
  f.refuse(SYS_execve, EPERM);
  f.refuse(SYS_execveat, EPERM);
#ifdef SYS_fork
  f.refuse(SYS_fork, EPERM);
  f.refuse(SYS_vfork, EPERM);
#endif
  f.refuse_if_arg0_bits(SYS_clone, CLONE_THREAD, /*want_set=*/false, EPERM);
  f.refuse(SYS_clone3, ENOSYS);
  // kill(0) is the job's own process group, which holds only the job: it cannot fork, and
  // it cannot change its group or session.
  f.refuse_unless_arg0_in(SYS_kill, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_tgkill, {self}, EPERM);
  f.refuse_unless_arg0_in(SYS_rt_sigqueueinfo, {self}, EPERM);
  f.refuse_unless_arg0_in(SYS_rt_tgsigqueueinfo, {self}, EPERM);
  f.refuse(SYS_tkill, EPERM);
  f.refuse(SYS_setpgid, EPERM);
  f.refuse(SYS_setsid, EPERM);
  // Everything else that reaches another process by pid: signals and descriptors through
  // pidfds, resource limits (lowering the server's RLIMIT_CPU would kill it), priorities.
  f.refuse(SYS_pidfd_open, EPERM);
  f.refuse(SYS_pidfd_send_signal, EPERM);
  f.refuse(SYS_pidfd_getfd, EPERM);
  f.refuse(SYS_process_madvise, EPERM);
  f.refuse(SYS_kcmp, EPERM);
  f.refuse_unless_arg0_in(SYS_prlimit64, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_sched_setaffinity, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_sched_setscheduler, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_sched_setparam, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_sched_setattr, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_migrate_pages, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_move_pages, {0u, self}, EPERM);
  f.refuse_unless_arg0_in(SYS_get_robust_list, {0u, self}, EPERM);
  f.refuse(SYS_setpriority, EPERM);
  f.refuse(SYS_ioprio_set, EPERM);
  // No sockets at all, not even AF_UNIX ones the worker filter lets the server use: a job
  // has nobody to talk to, and a path or abstract socket of the host is somebody.
  f.refuse(SYS_socket, EACCES);
  return f.finish();
}

std::string job_filter_template_bpf() {
  return job_filter_bpf(static_cast<pid_t>(kJobPidSlot));
}

int install_filter(const char* bpf, size_t bytes) {
  sock_fprog program{};
  program.len = static_cast<unsigned short>(bytes / sizeof(sock_filter));
  program.filter = reinterpret_cast<sock_filter*>(const_cast<char*>(bpf));
  // TSYNC: every thread of the process gets the filter, not just the caller (libraries may
  // have started threads already).
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program) == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return errno;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0) return errno;
  return 0;
}

bool seccomp_available() {
  return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 || errno != EINVAL;
}

}  // namespace visrl::render::sandbox
