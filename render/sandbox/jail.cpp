#include "render/sandbox/jail.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bitset>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "core/error.h"
#include "render/sandbox/landlock.h"
#include "render/sandbox/seccomp_policy.h"

namespace visrl::render::sandbox {
namespace {

// The new root is assembled on a tmpfs mounted over /tmp: any directory would do, since
// the mount lives only in the child's private mount namespace, and /tmp always exists.
constexpr const char* kNewRoot = "/tmp";
constexpr uid_t kNobody = 65534;
constexpr int kWorkerUidSlots = static_cast<int>(kWorkerUidsPerProcess);

std::mutex worker_uid_mutex;
std::bitset<kWorkerUidSlots> worker_uid_taken;

// One filesystem step of the namespace setup, prepared in the parent. After clone() the
// child may not allocate (another thread of the parent may have held the malloc lock), so
// every string it needs is built here.
struct MountStep {
  enum Kind { make_dir, make_symlink, make_file, bind, remount_readonly, mount_tmpfs } kind;
  std::string target;       // path under the new root
  std::string source;       // bind source, symlink content, or tmpfs options
  unsigned long flags = 0;  // remount flags (the source's locked flags kept)
  const char* what = "";    // names the step in an error
};

struct ChildPlan {
  std::vector<MountStep> mounts;
  std::string uid_map, gid_map;  // "inside outside 1" when a user namespace is made
  bool make_user_namespace = false;
  bool drop_root = false;  // to spec.uid
  std::string work_dir;
};

// Writes "visrl sandbox: <step>: errno <n>" to the error pipe and exits; allocation-free.
[[noreturn]] void child_fail(int error_fd, const char* step, int error) {
  char buffer[256];
  size_t n = 0;
  for (const char* s = step; *s && n < 200; ++s) buffer[n++] = *s;
  buffer[n++] = ':';
  char digits[16];
  int d = 0;
  unsigned value = static_cast<unsigned>(error);
  do {
    digits[d++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value && d < 15);
  while (d) buffer[n++] = digits[--d];
  ssize_t ignored = write(error_fd, buffer, n);
  (void)ignored;
  _exit(127);
}

bool write_proc_file(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

unsigned long locked_mount_flags(const std::string& path) {
  struct statvfs info {};
  if (statvfs(path.c_str(), &info) != 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

// mkdir -p of `path`'s ancestors (and `path` itself when include_self) under the new root.
void add_dirs(std::vector<MountStep>& steps, const std::filesystem::path& path, bool include_self) {
  std::filesystem::path partial;
  std::vector<std::filesystem::path> parts(path.begin(), path.end());
  const size_t end = include_self ? parts.size() : parts.size() - 1;
  for (size_t i = 0; i < end; ++i) {
    partial /= parts[i];
    if (partial == "/") continue;
    steps.push_back({MountStep::make_dir, std::string(kNewRoot) + partial.string(), "", 0, "mkdir"});
  }
}

void add_readonly_bind(std::vector<MountStep>& steps, const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status link = fs::symlink_status(path, ec);
  if (ec || !fs::exists(link)) return;
  const std::string target = std::string(kNewRoot) + path;
  if (fs::is_symlink(link) && fs::is_directory(path, ec)) {
    // /bin -> usr/bin on merged-/usr systems: keep the link, its target is bound anyway.
    add_dirs(steps, path, false);
    steps.push_back({MountStep::make_symlink, target, fs::read_symlink(path, ec).string(), 0, "symlink"});
    return;
  }
  const std::string source = fs::canonical(path, ec).string();
  if (ec) return;
  const bool is_dir = fs::is_directory(source, ec);
  add_dirs(steps, path, is_dir);
  if (!is_dir) steps.push_back({MountStep::make_file, target, "", 0, "create bind target"});
  steps.push_back({MountStep::bind, target, source, 0, "bind mount"});
  steps.push_back({MountStep::remount_readonly, target, "",
                   MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | locked_mount_flags(source),
                   "read-only remount"});
}

ChildPlan make_plan(const JailSpec& spec) {
  ChildPlan plan;
  const bool root = geteuid() == 0;
  plan.drop_root = root;
  plan.work_dir = spec.level == IsolationLevel::namespaces ? "/tmp" : spec.host_work_dir;
  if (spec.level != IsolationLevel::namespaces) return plan;

  plan.make_user_namespace = !root;
  plan.uid_map = fmt::format("{} {} 1\n", kNobody, geteuid());
  plan.gid_map = fmt::format("{} {} 1\n", kNobody, getegid());
  auto& m = plan.mounts;
  m.push_back({MountStep::mount_tmpfs, kNewRoot, "size=1m,mode=0755", MS_NOSUID | MS_NODEV, "tmpfs for the root"});
  for (const auto& path : spec.readonly_paths) add_readonly_bind(m, path);
  // A minimal /dev: the four character devices programs expect.
  const std::string dev = std::string(kNewRoot) + "/dev";
  m.push_back({MountStep::make_dir, dev, "", 0, "mkdir /dev"});
  m.push_back({MountStep::mount_tmpfs, dev, "size=64k,mode=0755", MS_NOSUID, "tmpfs for /dev"});
  for (const char* node : {"null", "zero", "random", "urandom"}) {
    m.push_back({MountStep::make_file, dev + "/" + node, "", 0, "create device node target"});
    m.push_back({MountStep::bind, dev + "/" + node, std::string("/dev/") + node, 0, "bind device node"});
  }
  m.push_back({MountStep::remount_readonly, dev, "", MS_REMOUNT | MS_RDONLY | MS_NOSUID, "read-only /dev"});
  const std::string tmp = std::string(kNewRoot) + "/tmp";
  m.push_back({MountStep::make_dir, tmp, "", 0, "mkdir /tmp"});
  m.push_back({MountStep::mount_tmpfs, tmp, fmt::format("size={}m,nr_inodes=65536,mode=1777", spec.tmpfs_mb),
               MS_NOSUID | MS_NODEV, "tmpfs for /tmp"});
  m.push_back({MountStep::make_dir, std::string(kNewRoot) + "/.old", "", 0, "mkdir /.old"});
  return plan;
}

int run_mount_step(const MountStep& step) {
  switch (step.kind) {
    case MountStep::make_dir:
      return (mkdir(step.target.c_str(), 0755) == 0 || errno == EEXIST) ? 0 : errno;
    case MountStep::make_symlink:
      return (symlink(step.source.c_str(), step.target.c_str()) == 0 || errno == EEXIST) ? 0 : errno;
    case MountStep::make_file: {
      int fd = open(step.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (fd < 0) return errno;
      close(fd);
      return 0;
    }
    case MountStep::bind:
      return mount(step.source.c_str(), step.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0 ? 0 : errno;
    case MountStep::remount_readonly:
      return mount(nullptr, step.target.c_str(), nullptr, step.flags, nullptr) == 0 ? 0 : errno;
    case MountStep::mount_tmpfs:
      return mount("tmpfs", step.target.c_str(), "tmpfs", step.flags, step.source.c_str()) == 0 ? 0 : errno;
  }
  return EINVAL;
}

// Everything between clone() and exec; system calls only.
[[noreturn]] void child_main(const JailSpec& spec, const ChildPlan& plan, char* const* argv, char* const* envp,
                             int exec_fd, int null_fd, int error_fd) {
  // The parent blocked every signal around clone(): put back default handlers (the parent's
  // could take its locks) before anything can be delivered, then unblock for the program.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  if (plan.make_user_namespace) {
    if (!write_proc_file("/proc/self/setgroups", "deny")) child_fail(error_fd, "write setgroups", errno);
    if (!write_proc_file("/proc/self/uid_map", plan.uid_map)) child_fail(error_fd, "write uid_map", errno);
    if (!write_proc_file("/proc/self/gid_map", plan.gid_map)) child_fail(error_fd, "write gid_map", errno);
  }
  if (spec.level == IsolationLevel::namespaces) {
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(error_fd, "make / private", errno);
    for (const auto& step : plan.mounts) {
      if (int e = run_mount_step(step)) child_fail(error_fd, step.what, e);
    }
    if (syscall(SYS_pivot_root, kNewRoot, "/tmp/.old") != 0) child_fail(error_fd, "pivot_root", errno);
    if (chdir("/") != 0) child_fail(error_fd, "chdir /", errno);
    if (umount2("/.old", MNT_DETACH) != 0) child_fail(error_fd, "detach the old root", errno);
    rmdir("/.old");
    if (mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
      child_fail(error_fd, "read-only root", errno);
  }
  if (chdir(plan.work_dir.c_str()) != 0) child_fail(error_fd, "chdir to the work directory", errno);
  if (setsid() < 0) child_fail(error_fd, "setsid", errno);

  // fds: move every source above the targets first so that no dup2 clobbers another.
  const int high_request = fcntl(spec.request_fd, F_DUPFD, 100);
  const int high_response = fcntl(spec.response_fd, F_DUPFD, 100);
  const int high_stderr = fcntl(spec.stderr_fd >= 0 ? spec.stderr_fd : null_fd, F_DUPFD, 100);
  const int high_null = fcntl(null_fd, F_DUPFD, 100);
  const int high_exec = fcntl(exec_fd, F_DUPFD_CLOEXEC, 100);
  if (high_request < 0 || high_response < 0 || high_stderr < 0 || high_null < 0 || high_exec < 0)
    child_fail(error_fd, "dup", errno);
  const int high_ruleset = spec.landlock_ruleset >= 0 ? fcntl(spec.landlock_ruleset, F_DUPFD_CLOEXEC, 100) : -2;
  if (high_ruleset == -1) child_fail(error_fd, "dup", errno);
  const int high_error = fcntl(error_fd, F_DUPFD_CLOEXEC, 100);  // error_fd may be 5 already
  if (high_error < 0 || dup3(high_error, 5, O_CLOEXEC) < 0) child_fail(error_fd, "dup error pipe", errno);
  error_fd = 5;
  if (dup2(high_null, 0) < 0 || dup2(high_null, 1) < 0 || dup2(high_stderr, 2) < 0 || dup2(high_request, 3) < 0 ||
      dup2(high_response, 4) < 0 || dup3(high_exec, 6, O_CLOEXEC) < 0 ||
      (high_ruleset >= 0 && dup3(high_ruleset, 7, O_CLOEXEC) < 0))
    child_fail(error_fd, "dup2", errno);
  if (syscall(SYS_close_range, 8u, ~0u, 0u) != 0) child_fail(error_fd, "close_range", errno);
  if (high_ruleset < 0) close(7);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) child_fail(error_fd, "sigprocmask", errno);

  const rlimit no_core{0, 0};
  const rlimit files{static_cast<rlim_t>(spec.max_open_files), static_cast<rlim_t>(spec.max_open_files)};
  const rlimit processes{static_cast<rlim_t>(spec.max_processes), static_cast<rlim_t>(spec.max_processes)};
  if (setrlimit(RLIMIT_CORE, &no_core) != 0 || setrlimit(RLIMIT_NOFILE, &files) != 0 ||
      setrlimit(RLIMIT_NPROC, &processes) != 0)
    child_fail(error_fd, "setrlimit", errno);
  if (spec.address_space_mb > 0) {
    const rlimit memory{static_cast<rlim_t>(spec.address_space_mb) << 20, static_cast<rlim_t>(spec.address_space_mb)
                                                                              << 20};
    if (setrlimit(RLIMIT_AS, &memory) != 0) child_fail(error_fd, "setrlimit(RLIMIT_AS)", errno);
  }
  if (spec.max_file_mb > 0) {
    const rlimit size{static_cast<rlim_t>(spec.max_file_mb) << 20, static_cast<rlim_t>(spec.max_file_mb) << 20};
    if (setrlimit(RLIMIT_FSIZE, &size) != 0) child_fail(error_fd, "setrlimit(RLIMIT_FSIZE)", errno);
  }

  if (plan.drop_root) {
    // Raw system calls: glibc's wrappers would try to change the credentials of every
    // thread of the parent, which the child does not have, and wait for them forever.
    const uid_t id = spec.uid;
    if (syscall(SYS_setgroups, 0, nullptr) != 0) child_fail(error_fd, "setgroups", errno);
    if (syscall(SYS_setresgid, id, id, id) != 0) child_fail(error_fd, "setresgid", errno);
    if (syscall(SYS_setresuid, id, id, id) != 0) child_fail(error_fd, "setresuid", errno);
  }
  // After the credential change, which clears it.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(error_fd, "PR_SET_PDEATHSIG", errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(error_fd, "PR_SET_NO_NEW_PRIVS", errno);
  if (high_ruleset >= 0) {
    if (int e = landlock_restrict_self(7)) child_fail(error_fd, "landlock_restrict_self", e);
    close(7);
  }
  if (!spec.worker_filter.empty()) {
    if (int e = install_filter(spec.worker_filter.data(), spec.worker_filter.size()))
      child_fail(error_fd, "seccomp", e);
  }
  syscall(SYS_execveat, 6, "", argv, envp, AT_EMPTY_PATH);
  child_fail(error_fd, "execveat", errno);
}

}  // namespace

WorkerUid::WorkerUid() {
  std::lock_guard lock(worker_uid_mutex);
  slot_ = 0;
  while (slot_ < kWorkerUidSlots && worker_uid_taken[static_cast<size_t>(slot_)]) ++slot_;
  if (slot_ == kWorkerUidSlots)
    fail(ErrorKind::runtime, "render sandbox: more than {} workers alive in this process", kWorkerUidSlots);
  worker_uid_taken[static_cast<size_t>(slot_)] = true;
  uid_ = first_worker_uid(getpid()) + static_cast<uid_t>(slot_);
}

WorkerUid::~WorkerUid() {
  std::lock_guard lock(worker_uid_mutex);
  worker_uid_taken[static_cast<size_t>(slot_)] = false;
}

std::string_view to_string(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::namespaces:
      return "namespaces";
    case IsolationLevel::seccomp:
      return "seccomp";
    case IsolationLevel::rlimits:
      return "rlimits";
  }
  return "?";
}

std::string describe(IsolationLevel level) {
  switch (level) {
    case IsolationLevel::namespaces:
      return "namespaces (user/PID/network/mount/IPC namespaces, read-only minimal root, seccomp, rlimits)";
    case IsolationLevel::seccomp:
      return landlock_abi() >= kLandlockScopesAbi
                 ? fmt::format(
                       "seccomp (no namespaces: seccomp network, exec and signal filters, Landlock ABI {} "
                       "confining files, abstract UNIX sockets and signals, rlimits, a private work directory)",
                       landlock_abi())
                 : fmt::format(
                       "seccomp (no namespaces: seccomp network, exec and signal filters, rlimits, a private "
                       "work directory; Landlock ABI {} of the {} needed to confine files, abstract UNIX "
                       "sockets and signals, so chart code is refused unless render.sandbox is unsafe)",
                       landlock_abi(), kLandlockScopesAbi);
    case IsolationLevel::rlimits:
      return "rlimits only (no namespaces, no seccomp: untrusted code is NOT isolated)";
  }
  return "?";
}

IsolationLevel probe_isolation() {
  static std::once_flag once;
  static IsolationLevel level = IsolationLevel::rlimits;
  std::call_once(once, [] {
    unsigned long flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
    if (geteuid() != 0) flags |= CLONE_NEWUSER;
    const long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
    if (pid == 0) {
      const bool ok = mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                      mount("tmpfs", kNewRoot, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0;
      _exit(ok ? 0 : 1);
    }
    int status = 0;
    if (pid > 0 && waitpid(static_cast<pid_t>(pid), &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0 && seccomp_available()) {
      level = IsolationLevel::namespaces;
    } else if (seccomp_available()) {
      level = IsolationLevel::seccomp;
    }
  });
  return level;
}

std::vector<std::string> default_readonly_paths() {
  std::vector<std::string> paths;
  for (const char* path : {"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/fonts",
                           "/etc/matplotlibrc", "/etc/ld.so.cache", "/etc/alternatives", "/var/cache/fontconfig"}) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(path, ec))) paths.emplace_back(path);
  }
  return paths;
}

pid_t spawn_jailed(const JailSpec& spec) {
  const ChildPlan plan = make_plan(spec);

  std::vector<char*> argv, envp;
  for (const auto& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  for (const auto& var : spec.env) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);

  const int exec_fd = open(spec.program.c_str(), O_PATH | O_CLOEXEC);
  if (exec_fd < 0) fail(ErrorKind::io, "render sandbox: cannot open {}: {}", spec.program, std::strerror(errno));
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  int error_pipe[2];
  if (null_fd < 0 || pipe2(error_pipe, O_CLOEXEC) != 0) {
    close(exec_fd);
    fail(ErrorKind::runtime, "render sandbox: pipe: {}", std::strerror(errno));
  }

  unsigned long flags = SIGCHLD;
  if (spec.level == IsolationLevel::namespaces) {
    flags |= CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    if (plan.make_user_namespace) flags |= CLONE_NEWUSER;
  }
  // A raw clone, not fork(): the namespaces come with the new process (a multithreaded
  // parent could not unshare a user namespace), and the child runs only system calls.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  const long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) child_main(spec, plan, argv.data(), envp.data(), exec_fd, null_fd, error_pipe[1]);
  const int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  close(error_pipe[1]);
  close(exec_fd);
  close(null_fd);
  if (pid < 0) {
    close(error_pipe[0]);
    fail(ErrorKind::runtime, "render sandbox: clone: {}", std::strerror(clone_errno));
  }
  // The error pipe closes on exec: EOF means the program is running. The set-up is a few
  // dozen system calls; a child still silent after 30 s is stuck and is killed.
  char buffer[256];
  std::string message;
  for (;;) {
    pollfd p{error_pipe[0], POLLIN, 0};
    const int ready = poll(&p, 1, 30000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      message = "setup did not finish within 30 s:" + std::to_string(ETIMEDOUT);
      kill(static_cast<pid_t>(pid), SIGKILL);
      break;
    }
    const ssize_t n = read(error_pipe[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  close(error_pipe[0]);
  if (!message.empty()) {
    waitpid(static_cast<pid_t>(pid), nullptr, 0);
    const auto colon = message.rfind(':');
    const int error = std::atoi(message.c_str() + colon + 1);
    fail(ErrorKind::runtime, "render sandbox ({}): {} failed: {}", to_string(spec.level), message.substr(0, colon),
         std::strerror(error));
  }
  return static_cast<pid_t>(pid);
}

}  // namespace visrl::render::sandbox
