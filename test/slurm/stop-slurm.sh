#!/usr/bin/env bash
# Stops what start-slurm.sh started (see there). With --lease <pid>: drops that lease, and
# stops the daemons only when no lease of a live process is left and a lease was ever taken
# (daemons started by hand, without a lease, are left running for the next test run).
set -euo pipefail
# Alive unless gone or a zombie (where pid 1 reaps nobody, kill -0 still finds exited daemons).
running() { local s; s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }
dir=${STRAND_SLURM_DIR:-/tmp/strand-slurm}
[ -d "$dir" ] || exit 0
exec 9>"$dir/lock"
flock 9
if [ "${1:-}" = "--lease" ]; then
  rm -f "$dir/leases/${2:?--lease wants a pid}"
  shopt -s nullglob
  for f in "$dir"/leases/*; do
    if running "$(basename "$f")"; then exit 0; fi
    rm -f "$f" # its process died without stopping
  done
  [ -f "$dir/leased" ] || exit 0
fi
export SLURM_CONF=$dir/slurm.conf
# Jobs first (their processes would outlive slurmd otherwise), then the daemons.
scancel --full --signal=KILL --user="$(id -un)" 2>/dev/null || true
for p in slurmd slurmctld munged; do
  f=$dir/$p.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if running "$pid"; then kill "$pid" 2>/dev/null || true; fi
  # Waiting for each to exit, so a start right after finds its port free.
  while running "$pid"; do sleep 0.05; done
  rm -f "$f"
done
rm -f "$dir/leased"
