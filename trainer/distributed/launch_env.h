// Who this process is in a data-parallel job, from the environment its launcher set:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or Slurm's srun
// (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, with MASTER_ADDR / MASTER_PORT exported by
// the batch script). Neither: a single process.
#pragma once

#include <functional>
#include <string>

namespace visrl::trainer {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  std::string launcher = "single";  // torchrun | slurm | single
  // torchrun (TORCHELASTIC_USE_AGENT_STORE=True): its agent already serves the rendezvous store
  // at MASTER_ADDR:MASTER_PORT, so rank 0 connects to it like every other rank; the store
  // outlives a restart of the workers, whose keys are kept apart by TORCHELASTIC_RESTART_COUNT.
  bool store_served_by_launcher = false;
  int restart_count = 0;
};

// `getenv` returns a variable's value or nullptr (std::getenv in programs, a map in tests).
// Throws Error(config) naming the variable that is missing or malformed (a non-number, a
// rank outside [0, world_size), a port outside 1..65535).
LaunchEnv launch_env(const std::function<const char*(const char*)>& getenv);

}  // namespace visrl::trainer
