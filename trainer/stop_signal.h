// SIGINT, SIGTERM and SIGUSR1 (Slurm's warning before preemption or the time limit) ask a
// training program to stop after its current step and save; a second signal exits at once
// with status 130. The flag is read between steps (and all-reduced, so every rank stops at the
// same step).
#pragma once

#include <atomic>

namespace visrl::trainer {

const std::atomic<bool>& install_stop_signals();

}  // namespace visrl::trainer
