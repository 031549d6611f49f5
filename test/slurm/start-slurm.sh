#!/usr/bin/env bash
# A private one-node Slurm for tests and CI: munged, slurmctld and slurmd started by hand (no
# systemd), every file under one folder, no cgroups, no accounting. Idempotent: when the
# daemons already answer, it only takes a lease. Needs root and Debian's slurm-wlm and munge.
#
#   start-slurm.sh [--lease <pid>]   start (or reuse) it; prints SLURM_CONF=<path>
#   stop-slurm.sh  [--lease <pid>]   drop the lease; stop the daemons when no live lease is left
#
# STRAND_SLURM_DIR (default /tmp/strand-slurm) holds the config, key, state, logs and leases.
# STRAND_SLURM_CPUS (default 8) CPUs declared on the node: more than the machine has, so that
# several runner jobs run at once on a 2-core machine (slurmd accepts it: config_overrides).
set -euo pipefail
dir=${STRAND_SLURM_DIR:-/tmp/strand-slurm}
cpus=${STRAND_SLURM_CPUS:-8}
ctld_port=${STRAND_SLURM_CTLD_PORT:-6817}
slurmd_port=${STRAND_SLURM_SLURMD_PORT:-6818}
lease=""
if [ "${1:-}" = "--lease" ]; then lease=${2:?--lease wants a pid}; fi

fail() { echo "start-slurm: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (slurmd runs jobs as their user)"
for b in munged slurmctld slurmd sinfo sbatch scontrol; do command -v "$b" >/dev/null || fail "$b not found: apt-get install slurm-wlm munge"; done

mkdir -p "$dir"
exec 9>"$dir/lock"
flock 9 # one starter at a time: test files start in parallel

conf=$dir/slurm.conf
export SLURM_CONF=$conf
# A pid file's process is alive unless gone or a zombie (where pid 1 reaps nobody, exited
# daemons stay zombies, and kill -0 still finds them).
alive() { [ -f "$1" ] && running "$(cat "$1")"; }
running() { local s; s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }

started=0
if ! { alive "$dir/munged.pid" && alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid"; }; then
  # Whatever is left of an earlier run goes (only processes this folder's pid files name).
  for p in slurmd slurmctld munged; do
    if alive "$dir/$p.pid"; then kill "$(cat "$dir/$p.pid")" 2>/dev/null || true; fi
  done
  rm -rf "$dir/state" "$dir/spool" "$dir/munge" "$dir"/*.pid "$dir"/*.log "$dir/leases"
  mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/leases"
  chmod 700 "$dir/munge"

  host=$(hostname -s)
  mem=$(awk '/^MemTotal:/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)
  cat >"$conf" <<CONF
ClusterName=strand-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroups (containers, gVisor): processes are tracked by their parent pids.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
# CPUs are shared out one by one, so several jobs run on the one node at once.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerType=sched/backfill
# Start batch jobs as they come (the default waits up to 3 s to batch submissions up).
SchedulerParameters=batch_sched_delay=0
# A cancelled job's processes get SIGTERM, then SIGKILL after KillWait seconds.
KillWait=30
MinJobAge=30
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

  key=$dir/munge/munge.key
  head -c 1024 /dev/urandom >"$key"
  chmod 400 "$key"
  munged --force --key-file="$key" --socket="$dir/munge/munge.socket" --pid-file="$dir/munged.pid" \
    --log-file="$dir/munged.log" --seed-file="$dir/munge/seed" 9>&-
  # Daemons detach from this script (and leave the lock behind): it returns once they answer.
  setsid slurmctld -D -i -f "$conf" >>"$dir/slurmctld.out" 2>&1 </dev/null 9>&- &
  setsid slurmd -D -f "$conf" >>"$dir/slurmd.out" 2>&1 </dev/null 9>&- &
  started=1
fi

if [ -n "$lease" ]; then
  touch "$dir/leases/$lease"
  # Daemons a lease started stop with the last lease; ones started by hand stay up.
  [ "$started" = 0 ] || touch "$dir/leased"
fi

# Ready when the node is idle (or mixed/allocated by jobs still there): jobs can start.
for _ in $(seq 1 600); do
  state=$(sinfo --noheader --format=%t 2>/dev/null | head -n1 || true)
  case "$state" in idle* | mix* | alloc*) break ;; esac
  alive "$dir/slurmctld.pid" || [ ! -f "$dir/slurmctld.pid" ] || fail "slurmctld exited: $(tail -n 5 "$dir/slurmctld.log" 2>/dev/null)"
  sleep 0.1 # polling sinfo: slurmctld has no readiness event to wait on
done
case "$state" in idle* | mix* | alloc*) ;; *) fail "the node did not become idle: sinfo says '${state:-nothing}'; see $dir/*.log" ;; esac
# A fresh slurmctld schedules nothing until its first pass: ready once a job has run.
if [ "$started" = 1 ]; then
  timeout 120 srun --quiet --ntasks=1 true || fail "a first job did not run; see $dir/*.log"
fi
echo "SLURM_CONF=$conf"
