// Landlock confinement of a worker at the seccomp level, where no mount, network or PID
// namespace hides the host: the worker and everything it starts may read and execute only
// the paths a worker needs (the same ones the namespaces level binds into its root), write
// only its private directory, and, from Landlock ABI 6 (Linux 6.12), neither connect to
// abstract UNIX sockets nor signal processes outside the worker. /proc, host files, /tmp,
// /dev/shm and /var/tmp are out of reach.
#pragma once

#include <string>
#include <vector>

namespace visrl::render::sandbox {

// The kernel's Landlock ABI version; 0 when it has none or it is disabled.
int landlock_abi();

// The ABI from which Landlock scopes abstract UNIX sockets and signals (Linux 6.12): below
// it, chart code is not run at the seccomp level unless render.sandbox is unsafe.
inline constexpr int kLandlockScopesAbi = 6;

struct LandlockPaths {
  std::vector<std::string> read_execute;  // directories or files: read, list, execute
  std::vector<std::string> read_write;    // directories: anything but devices and sockets
  std::vector<std::string> devices;       // character devices: read and write (/dev/null ...)
};

// A ruleset that allows exactly `paths` (missing ones skipped), handling every access right
// of the kernel's ABI. Returns its descriptor (close-on-exec); throws visrl::Error naming the
// step when the kernel refuses.
int make_landlock_ruleset(const LandlockPaths& paths);

// Confines the calling thread (and what it execs and forks) to the ruleset. Needs
// no_new_privs. System calls only, so it may run between clone() and exec. 0 or an errno.
int landlock_restrict_self(int ruleset_fd);

}  // namespace visrl::render::sandbox
