#!/bin/bash
# A real Slurm cluster of one node on this machine, running a tiny study as a job array of 4 tasks through
# deploy/slurm-sweep.sbatch: one task is cancelled mid-run and resubmitted by its index alone; then every run
# must have exactly one result. Installs Debian's Slurm and MUNGE if missing (needs root), starts munged,
# slurmctld and slurmd directly (no systemd; proctrack/linuxproc and task/none need no cgroups; no
# accounting), and stops what it started, by pid, whatever happens.
#
# Usage: scripts/slurm_test.sh AIRBENCH_BINARY DATA_FOLDER      (run by CommandLineTests when AIRBENCH_SLURM_TEST=1)
set -euo pipefail
BINARY=$(realpath "${1:?usage: scripts/slurm_test.sh AIRBENCH_BINARY DATA_FOLDER}")
DATA=$(realpath "${2:?usage: scripts/slurm_test.sh AIRBENCH_BINARY DATA_FOLDER}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/airbench-slurm.XXXXXX)
chmod 755 "$WORK"
started=()
passed=no
cleanup() {
    # Reverse order: slurmd, slurmctld, then munged.
    for ((i=${#started[@]}-1; i>=0; i--)); do
        [ -f "${started[$i]}" ] && kill "$(cat "${started[$i]}")" 2>/dev/null || true
    done
    sleep 1
    for pidfile in "${started[@]}"; do
        [ -f "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    done
    # Job steps outlive slurmd: end ours (those working in this test's folder) and what they started.
    for pid in $(pgrep slurmstepd || true); do
        case "$(readlink "/proc/$pid/cwd" 2>/dev/null)" in
            "$WORK"*) pkill -9 -P "$pid" 2>/dev/null || true; kill -9 "$pid" 2>/dev/null || true ;;
        esac
    done
    if [ "$passed" = yes ]; then rm -rf "$WORK"; else echo "slurm_test: logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { echo "slurm_test: $*"; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurmctld slurmd slurm-client munge"
    if ! apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >"$WORK/apt.log" 2>&1; then
        apt-get update -qq >>"$WORK/apt.log" 2>&1
        apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >>"$WORK/apt.log" 2>&1 \
            || { cat "$WORK/apt.log"; exit 1; }
    fi
fi

# MUNGE: its own key and socket in the work folder.
mkdir -p "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 600 "$WORK/munge/munge.key"
munged --force --key-file="$WORK/munge/munge.key" --socket="$WORK/munge/socket" \
    --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/seed"
started+=("$WORK/munge/munged.pid")

HOST=$(hostname -s)
MEMORY=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
mkdir -p "$WORK/spool" "$WORK/state" "$WORK/logs"
cat > "$WORK/slurm.conf" <<CONF
ClusterName=airbench-test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge/socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmctldPort=16817
SlurmdPort=16818
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmdSpoolDir=$WORK/spool
StateSaveLocation=$WORK/state
SlurmctldLogFile=$WORK/logs/slurmctld.log
SlurmdLogFile=$WORK/logs/slurmd.log
SchedulerType=sched/builtin
# Four CPUs on a 2-core machine, so that all four array tasks run at once (each runs one thread).
SlurmdParameters=config_overrides
NodeName=$HOST CPUs=4 RealMemory=$MEMORY State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
# No cgroup.conf: with proctrack/linuxproc and task/none nothing needs cgroups (newer Slurm would also accept
# CgroupPlugin=disabled; Debian 12's 22.05 does not know it).
export SLURM_CONF="$WORK/slurm.conf"

logs() { tail -n 20 "$WORK"/logs/*.log; }
slurmctld -i -f "$SLURM_CONF" || { say "slurmctld did not start"; logs; exit 1; }
started+=("$WORK/slurmctld.pid")
slurmd -f "$SLURM_CONF" || { say "slurmd did not start"; logs; exit 1; }
started+=("$WORK/slurmd.pid")
for i in $(seq 1 30); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break
    sleep 1
done
sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)' || { say "the node did not come up"; logs; exit 1; }
say "cluster up: $(sinfo -h -o '%P %D %T %c')"

# The study: 2 configurations × 4 seeds = 8 tiny runs, over 4 shards.
cat > "$WORK/spec.yaml" <<SPEC
name: slurm-test
method: airbench94
seeds: 4
train_limit: 1024
shards: 4
set:
  trainEpochs: 2
  batchSize: 256
  whiteningImages: 512
  widths: {block1: 8, block2: 16, block3: 16}
grid:
  flip: [random, alternating]
SPEC
OUT="$WORK/results"
submit() {  # array indices; waits for the array to end
    AIRBENCH="$BINARY" AIRBENCH_DATA="$DATA" sbatch --parsable --wait --chdir="$WORK" --cpus-per-task=1 --mem=1G --array="$1" \
        --output="$WORK/logs/task-%A_%a.out" "$REPO/deploy/slurm-sweep.sbatch" "$WORK/spec.yaml" "$OUT"
}

say "submitting the array 0-3; task 2 is cancelled once it has started a run"
submit 0-3 > "$WORK/first.jobid" 2>"$WORK/first.err" &
waiter=$!
cancelled=no
for i in $(seq 1 1200); do
    job=$(head -1 "$WORK/first.jobid" 2>/dev/null || true)
    if [ -z "$job" ]; then job=$(squeue -h -o %F 2>/dev/null | head -1); fi
    log=$(ls "$WORK"/logs/task-*_2.out 2>/dev/null | head -1 || true)
    if [ -n "$job" ] && [ -n "$log" ] && grep -q '^\[1/' "$log"; then
        scancel "${job}_2" && cancelled=yes
        break
    fi
    sleep 0.25
done
wait $waiter || true   # sbatch --wait exits non-zero when a task was cancelled
[ "$cancelled" = yes ] || { say "task 2 never started a run to cancel"; cat "$WORK"/logs/*; exit 1; }
done_after_cancel=$(ls "$OUT"/*__seed*.json | wc -l)
say "after the cancel: $done_after_cancel of 8 results"
[ "$done_after_cancel" -lt 8 ] || { say "the cancelled task had finished all its runs: nothing was tested"; exit 1; }

say "resubmitting index 2 alone (it sees SLURM_ARRAY_TASK_COUNT=1; the spec gives the shard count)"
submit 2 > /dev/null
results=$(ls "$OUT"/*__seed*.json | wc -l)
unique=$(ls "$OUT"/*__seed*.json | xargs -n1 basename | sort -u | wc -l)
# The dry run lists one line per run, "done  FILE  {overrides}" or "todo  …", then a line of counts.
expected=$("$BINARY" sweep "$WORK/spec.yaml" --out "$OUT" --shard 0/1 --dry-run | grep -cE '^(done|todo)  ')
todo=$("$BINARY" sweep "$WORK/spec.yaml" --out "$OUT" --shard 0/1 --dry-run | grep -c '^todo  ' || true)
say "results: $results files, $unique distinct, $expected runs in the study, $todo still to do"
[ "$results" -eq "$expected" ] && [ "$unique" -eq "$expected" ] && [ "$todo" -eq 0 ] || { cat "$WORK"/logs/task-*; exit 1; }
for f in "$OUT"/*__seed*.json; do
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['schemaVersion']==1 and len(r['accuracy'])==3" "$f"
done
"$BINARY" collect "$OUT" > "$WORK/collect.txt"
grep -q "flip=alternating" "$WORK/collect.txt" && grep -q "flip=random" "$WORK/collect.txt"
passed=yes
say "PASS: 8 runs over 4 array tasks, one cancelled mid-run and resubmitted: every run exactly once"
