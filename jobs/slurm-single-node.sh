#!/usr/bin/env bash
# Start a real single-node Slurm cluster (slurmctld + slurmd + munged) on this host, as root.
#
# For tests and CI: installs Debian's slurm-wlm and munge with apt-get when they are missing,
# writes /etc/slurm/slurm.conf for this host (its real CPU count and memory, select/cons_tres,
# no accounting) and starts the daemons. Idempotent: running it again on a healthy cluster
# only checks it; daemons that died are restarted.
#
#   sudo jobs/slurm-single-node.sh        # then: sinfo; srun hostname
#
# Environment: SLURM_PARTITION (default "debug").
set -euo pipefail

PARTITION="${SLURM_PARTITION:-debug}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"

log() { echo "[slurm-single-node] $*"; }

if [[ "$(id -u)" -ne 0 ]]; then
    echo "[slurm-single-node] error: must run as root (starts slurmctld, slurmd and munged)" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
        || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends slurm-wlm munge
fi

# --- munge -------------------------------------------------------------------------------
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    log "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key --force
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 1 20); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.5
    done
fi
munge -n | unmunge >/dev/null || { echo "[slurm-single-node] error: munged is not working" >&2; exit 1; }

# --- slurm.conf for this host ------------------------------------------------------------
HOST="$(hostname -s)"
CPUS="$(nproc --all)"
MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)"
# Leave room for the OS; slurmd refuses a node whose RealMemory exceeds what it finds.
REAL_MEM=$(( MEM_MB * 9 / 10 ))
mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm
NEW_CONF="$(mktemp)"
cat > "$NEW_CONF" <<CONF
# Written by jobs/slurm-single-node.sh for a single-node test cluster on $HOST.
ClusterName=rankme
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
Waittime=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE OverSubscribe=NO State=UP
CONF
CHANGED=0
if ! cmp -s "$NEW_CONF" "$CONF"; then
    log "writing $CONF (node $HOST, $CPUS cpus, ${REAL_MEM} MB)"
    install -m 0644 "$NEW_CONF" "$CONF"
    CHANGED=1
fi
rm -f "$NEW_CONF"

running() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if [[ "$CHANGED" -eq 1 ]]; then
    # A new configuration: restart whatever runs so that both daemons read it.
    for pidfile in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid; do
        if running "$pidfile"; then kill "$(cat "$pidfile")"; sleep 1; fi
    done
fi
if ! running /run/slurm/slurmctld.pid; then
    log "starting slurmctld"
    slurmctld
fi
if ! running /run/slurm/slurmd.pid; then
    log "starting slurmd"
    slurmd
fi

for _ in $(seq 1 60); do
    if scontrol ping 2>/dev/null | grep -q "UP"; then
        STATE="$(sinfo -h -n "$HOST" -o '%t' 2>/dev/null | head -1)"
        case "$STATE" in
            idle*|mix*|alloc*) log "cluster up: partition $PARTITION, node $HOST ($STATE)"; exit 0 ;;
            down*|drain*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
        esac
    fi
    sleep 1
done
echo "[slurm-single-node] error: the node did not become idle; see /var/log/slurm/*.log" >&2
sinfo >&2 || true
exit 1
