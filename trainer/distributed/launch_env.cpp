#include "trainer/distributed/launch_env.h"

#include <charconv>
#include <string_view>

#include "core/error.h"

namespace visrl::trainer {

namespace {

int int_var(const std::function<const char*(const char*)>& getenv, const char* name, int lo, int hi) {
  const char* raw = getenv(name);
  if (!raw) fail(ErrorKind::config, "environment variable {} is not set", name);
  const std::string_view text(raw);
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < lo || value > hi)
    fail(ErrorKind::config, "environment variable {}=\"{}\": expected an integer in [{}, {}]", name, text, lo, hi);
  return value;
}

}  // namespace

LaunchEnv launch_env(const std::function<const char*(const char*)>& getenv) {
  LaunchEnv env;
  const char* world_var = nullptr;
  const char* rank_var = nullptr;
  const char* local_var = nullptr;
  if (getenv("WORLD_SIZE") || getenv("RANK")) {
    env.launcher = "torchrun";
    world_var = "WORLD_SIZE", rank_var = "RANK", local_var = "LOCAL_RANK";
  } else if (getenv("SLURM_PROCID") && getenv("SLURM_NTASKS")) {
    env.launcher = "slurm";
    world_var = "SLURM_NTASKS", rank_var = "SLURM_PROCID", local_var = "SLURM_LOCALID";
  } else {
    return env;
  }
  env.world_size = int_var(getenv, world_var, 1, 1 << 20);
  env.rank = int_var(getenv, rank_var, 0, env.world_size - 1);
  env.local_rank = getenv(local_var) ? int_var(getenv, local_var, 0, env.world_size - 1) : 0;
  if (env.world_size > 1 || getenv("MASTER_ADDR")) {
    const char* addr = getenv("MASTER_ADDR");
    if (!addr || !*addr)
      fail(ErrorKind::config, "environment variable MASTER_ADDR is not set ({} launch of {} processes)", env.launcher,
           env.world_size);
    env.master_addr = addr;
    env.master_port = int_var(getenv, "MASTER_PORT", 1, 65535);
  }
  if (env.launcher == "torchrun") {
    const char* agent_store = getenv("TORCHELASTIC_USE_AGENT_STORE");
    env.store_served_by_launcher = agent_store && std::string_view(agent_store) == "True";
    if (getenv("TORCHELASTIC_RESTART_COUNT"))
      env.restart_count = int_var(getenv, "TORCHELASTIC_RESTART_COUNT", 0, 1 << 20);
  }
  return env;
}

}  // namespace visrl::trainer
