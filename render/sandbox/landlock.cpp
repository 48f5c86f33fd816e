#include "render/sandbox/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "core/error.h"

namespace visrl::render::sandbox {
namespace {

// The kernel's uapi (linux/landlock.h), spelled out: Debian 12's headers stop at ABI 2.
struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};
struct PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;

constexpr uint64_t kExecute = 1ull << 0, kWriteFile = 1ull << 1, kReadFile = 1ull << 2, kReadDir = 1ull << 3,
                   kRemoveDir = 1ull << 4, kRemoveFile = 1ull << 5, kMakeChar = 1ull << 6, kMakeDir = 1ull << 7,
                   kMakeReg = 1ull << 8, kMakeSock = 1ull << 9, kMakeFifo = 1ull << 10, kMakeBlock = 1ull << 11,
                   kMakeSym = 1ull << 12, kRefer = 1ull << 13, kTruncate = 1ull << 14, kIoctlDev = 1ull << 15;
constexpr uint64_t kNetBindTcp = 1ull << 0, kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnixSocket = 1ull << 0, kScopeSignal = 1ull << 1;

// Every filesystem right the kernel's ABI knows: an unhandled right is allowed everywhere.
uint64_t handled_fs(int abi) {
  uint64_t rights = (kMakeSym << 1) - 1;  // ABI 1: execute .. make_sym
  if (abi >= 2) rights |= kRefer;
  if (abi >= 3) rights |= kTruncate;
  if (abi >= 5) rights |= kIoctlDev;
  return rights;
}

void add_rule(int ruleset, const std::string& path, uint64_t access) {
  const int fd = open(path.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail(ErrorKind::io, "render sandbox (landlock): cannot open {}: {}", path, std::strerror(errno));
  }
  struct stat info {};
  // A rule on a file may only hold file rights.
  if (fstat(fd, &info) == 0 && !S_ISDIR(info.st_mode)) access &= kExecute | kReadFile | kWriteFile | kTruncate;
  PathBeneathAttr rule{access, fd};
  const long rc = syscall(SYS_landlock_add_rule, ruleset, kRulePathBeneath, &rule, 0);
  const int error = errno;
  close(fd);
  if (rc != 0) fail(ErrorKind::runtime, "render sandbox (landlock): rule for {}: {}", path, std::strerror(error));
}

}  // namespace

int landlock_abi() {
  const long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return abi > 0 ? static_cast<int>(abi) : 0;
}

int make_landlock_ruleset(const LandlockPaths& paths) {
  const int abi = landlock_abi();
  if (abi == 0) fail(ErrorKind::runtime, "render sandbox: the kernel has no Landlock");
  const uint64_t fs = handled_fs(abi);
  RulesetAttr attr{fs, abi >= 4 ? kNetBindTcp | kNetConnectTcp : 0,
                   abi >= kLandlockScopesAbi ? kScopeAbstractUnixSocket | kScopeSignal : 0};
  // Older kernels take the struct only as far as they know it.
  const size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
  const long ruleset = syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) fail(ErrorKind::runtime, "render sandbox (landlock): create ruleset: {}", std::strerror(errno));
  const int fd = static_cast<int>(ruleset);
  try {
    for (const auto& path : paths.read_execute) add_rule(fd, path, kExecute | kReadFile | kReadDir);
    const uint64_t write = fs & (kWriteFile | kReadFile | kReadDir | kRemoveDir | kRemoveFile | kMakeDir | kMakeReg |
                                 kMakeFifo | kMakeSym | kRefer | kTruncate);
    for (const auto& path : paths.read_write) add_rule(fd, path, write);
    for (const auto& path : paths.devices) add_rule(fd, path, kReadFile | kWriteFile);
  } catch (...) {
    close(fd);
    throw;
  }
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
    close(fd);
    fail(ErrorKind::runtime, "render sandbox (landlock): fcntl: {}", std::strerror(errno));
  }
  return fd;
}

int landlock_restrict_self(int ruleset_fd) {
  return syscall(SYS_landlock_restrict_self, ruleset_fd, 0) == 0 ? 0 : errno;
}

}  // namespace visrl::render::sandbox
