#!/usr/bin/env bash
# A one-host Slurm cluster living entirely in a scratch directory, for tests/cluster/slurm_test.sh
# (Debian's slurm-wlm and munge, installed by scripts/setup; run as root; no cgroups, no
# slurmdbd: `sacct -c` reads the job-completion file, one record per attempt).
#   slurm_cluster.sh start SCRATCH_DIR   -> munged + slurmctld + slurmd, waits until the node is idle
#   slurm_cluster.sh stop  SCRATCH_DIR   -> kills the daemons and this cluster's job steps
# Clients: export SLURM_CONF=SCRATCH_DIR/slurm.conf
# Env knobs: SLURM_PORT_BASE (default: 20000 + hash(SCRATCH_DIR) % 20000, uses BASE and BASE+1)
#            SLURM_NODE_NAME (default: localhost - always resolvable, used as MASTER_ADDR)
#            SLURM_CRED_EXPIRE (default 10, min 5; a requeued job waits cred_expire+1 s before restarting)
#            SLURM_KILLWAIT  (SIGTERM -> SIGKILL grace, default 30)
#            START_TIMEOUT   (seconds, default 60)
set -euo pipefail

cmd=${1:?usage: $0 start|stop SCRATCH_DIR}
S=$(realpath -m "${2:?usage: $0 start|stop SCRATCH_DIR}")

pidfiles=("$S/run/slurmd.pid" "$S/run/slurmctld.pid" "$S/munge/munged.pid")

stop() {
  # job steps of THIS cluster: slurmstepd inherits SLURM_CONF from slurmd (exported in start)
  local steps=() p
  for p in $(pgrep -x slurmstepd || true); do
    grep -qzx "SLURM_CONF=$S/slurm.conf" "/proc/$p/environ" 2>/dev/null && steps+=("$p")
  done
  # whole process trees under those slurmstepds (srun, tasks), collected before anything dies
  local victims=("${steps[@]}") frontier=("${steps[@]}") next
  while ((${#frontier[@]})); do
    next=()
    for p in "${frontier[@]}"; do next+=($(pgrep -P "$p" || true)); done
    victims+=("${next[@]}"); frontier=("${next[@]}")
  done
  for pf in "${pidfiles[@]}"; do
    [[ -s $pf ]] || continue
    p=$(<"$pf")
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
    rm -f "$pf"
  done
  ((${#victims[@]})) && kill -KILL "${victims[@]}" 2>/dev/null || true
  return 0
}

start() {
  mkdir -p "$S"/{munge,run,log,spool/ctld,spool/d}
  chmod 0755 "$S" "$S/munge"   # munged refuses group/world-writable dirs (except sticky)
  local host; host=$(hostname -s)
  local node=${SLURM_NODE_NAME:-localhost}
  local base=${SLURM_PORT_BASE:-$(( 20000 + $(cksum <<<"$S" | cut -d' ' -f1) % 20000 ))}
  local cpus; cpus=$(nproc)

  # --- munge -------------------------------------------------------------
  if [[ ! -s $S/munge/munge.key ]]; then
    dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
  fi
  chmod 0400 "$S/munge/munge.key"
  munged --force \
    --socket="$S/munge/munge.socket" \
    --key-file="$S/munge/munge.key" \
    --pid-file="$S/munge/munged.pid" \
    --log-file="$S/munge/munged.log" \
    --seed-file="$S/munge/munged.seed"
  for _ in $(seq 50); do [[ -S $S/munge/munge.socket ]] && break; sleep 0.1; done

  # --- slurm.conf --------------------------------------------------------
  cat >"$S/slurm.conf" <<EOF
ClusterName=visrltest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also is the delay before a requeued job may start again (default 120s)
AuthInfo=socket=$S/munge/munge.socket,cred_expire=${SLURM_CRED_EXPIRE:-10}
StateSaveLocation=$S/spool/ctld
SlurmdSpoolDir=$S/spool/d
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
KillWait=${SLURM_KILLWAIT:-30}
MinJobAge=600
MailProg=/bin/true
# sched_interval: main loop period (default 60s) - a requeued job only restarts when this loop runs
SchedulerParameters=sched_interval=1,batch_sched_delay=0
NodeName=$node NodeHostname=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$S/slurm.conf

  # --- daemons -----------------------------------------------------------
  slurmctld -f "$S/slurm.conf"          # -i would ignore old state; we keep state in scratch
  slurmd -f "$S/slurm.conf" -N "$node"

  local t0=$SECONDS
  until [[ $(sinfo -h -n "$node" -o %t 2>/dev/null) == idle ]]; do
    if (( SECONDS - t0 > ${START_TIMEOUT:-60} )); then
      echo "cluster did not become idle; see $S/log" >&2
      tail -n 20 "$S"/log/*.log >&2
      stop; return 1
    fi
    sleep 0.2
  done
  echo "slurm up in $((SECONDS - t0))s: export SLURM_CONF=$S/slurm.conf"
}

case $cmd in
  start) start ;;
  stop) stop ;;
  *) echo "usage: slurm_cluster.sh start|stop SCRATCH_DIR" >&2; exit 2 ;;
esac
