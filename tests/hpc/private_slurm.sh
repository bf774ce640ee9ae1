#!/usr/bin/env bash
# A private one-node Slurm cluster under a temporary folder, for tests: its own munge key and
# socket, its own slurm.conf and ports, slurmctld and slurmd in the foreground (-D) in the
# background of this shell, stopped by PID.
#
#   tests/hpc/private_slurm.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   tests/hpc/private_slurm.sh stop DIR
#
# Needs root (slurmd runs jobs as the submitting user) and Debian's slurm-wlm + munge.
set -euo pipefail

command=${1:?usage: private_slurm.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: private_slurm.sh start|stop DIR}")

fail() { echo "private_slurm: $*" >&2; exit 1; }

stop() {
  for name in slurmd slurmctld munged; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

if [ "$command" = stop ]; then stop; exit 0; fi
[ "$command" = start ] || fail "unknown command '$command' (expected start or stop)"

[ "$(id -u)" -eq 0 ] || fail "needs root: slurmd must be able to start jobs as the submitting user"
for tool in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
  command -v "$tool" >/dev/null || fail "'$tool' not found: install the Debian packages slurm-wlm and munge"
done

mkdir -p "$dir"/{munge,state,spool,log}
runuser -u munge -- test -x "$dir" ||
  fail "user munge cannot enter $dir: every folder above it must be world-searchable (chmod o+x)"
chown munge:munge "$dir/munge"
chmod 755 "$dir/munge"
key="$dir/munge/munge.key"
socket="$dir/munge/munge.socket"
if [ ! -f "$key" ]; then
  runuser -u munge -- mungekey --create --keyfile="$key" || fail "mungekey could not create $key"
fi
runuser -u munge -- munged --key-file="$key" --socket="$socket" --pid-file="$dir/munge/munged.pid" \
  --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" --foreground \
  > "$dir/log/munged.out" 2>&1 &
echo $! > "$dir/munged.pid"
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || fail "munged did not start: $(tail -3 "$dir/log/munged.log" 2>/dev/null)"

# Ports from this folder's name, so that two private clusters on one machine do not collide.
base=$(( 20000 + $(printf '%s' "$dir" | cksum | cut -d' ' -f1) % 20000 ))
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
cat > "$dir/slurm.conf" <<CONF
ClusterName=satsal-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$base
SlurmdPort=$((base + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/state/slurmctld.pid
SlurmdPidFile=$dir/spool/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF

export SLURM_CONF="$dir/slurm.conf"
slurmctld -D -i -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
echo $! > "$dir/slurmctld.pid"
sleep 1
slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
echo $! > "$dir/slurmd.pid"

for _ in $(seq 150); do
  state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
  case "$state" in idle|mix|alloc) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
  sleep 0.2
done
echo "private_slurm: the node did not become idle (state '${state:-none}')" >&2
tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 2>/dev/null || true
stop
exit 1
