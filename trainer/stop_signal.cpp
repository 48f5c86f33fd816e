#include "trainer/stop_signal.h"

#include <unistd.h>
#include <csignal>

namespace visrl::trainer {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
  if (g_stop.exchange(true)) _exit(130);  // a second signal: leave now
  const char msg[] = "\nstop requested: finishing the current step, then saving (signal again to quit now)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);  // async-signal-safe
  (void)ignored;
}

}  // namespace

const std::atomic<bool>& install_stop_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGUSR1, on_stop_signal);
  return g_stop;
}

}  // namespace visrl::trainer
