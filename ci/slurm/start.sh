#!/usr/bin/env bash
# Start a throw-away, single-node SLURM cluster on this machine, bound to 127.0.0.1 only.
#
#   ci/slurm/start.sh            # install (if needed), configure, start; idempotent
#   source "$LENSPIPE_SLURM_DIR/env.sh"   # then sbatch/srun/squeue talk to it
#   ci/slurm/stop.sh             # stop exactly the daemons this script started
#
# Everything lives under $LENSPIPE_SLURM_DIR (default /tmp/lenspipe-slurm): munge key and
# socket, slurm.conf, controller state, spool, logs and the daemons' PID files.
# Outside it, and removed again by stop.sh:
#   /etc/slurm/slurm.conf  a symlink to $LENSPIPE_SLURM_DIR/etc/slurm.conf (created only
#                          if absent; start.sh refuses to run if another config is there)
#   /etc/hosts             one marked line, only if this host's name does not already
#                          resolve to a loopback address (it does on stock Debian images)
# Daemons started by hand (policy-rc.d forbids package scripts to start services, and
# there is no systemd); the packages' own /etc/munge/munge.key is not used.
#
# Environment:
#   LENSPIPE_SLURM_DIR        state directory                     [/tmp/lenspipe-slurm]
#   LENSPIPE_SLURM_CTLD_PORT  slurmctld port on 127.0.0.1         [6817]
#   LENSPIPE_SLURM_D_PORT     slurmd port on 127.0.0.1            [6818]
#   LENSPIPE_SLURM_PARTITION  name of the single partition        [debug]
#   LENSPIPE_SLURM_NO_INSTALL=1  never run apt-get (fail with exit 3 if SLURM is missing)
#
# Exit codes: 0 running; 3 cannot run here (not root / no apt-get / packages missing):
# callers such as the test-suite may skip on 3; anything else is a real failure.
set -euo pipefail

STATE=${LENSPIPE_SLURM_DIR:-/tmp/lenspipe-slurm}
CTLD_PORT=${LENSPIPE_SLURM_CTLD_PORT:-6817}
D_PORT=${LENSPIPE_SLURM_D_PORT:-6818}
PARTITION=${LENSPIPE_SLURM_PARTITION:-debug}
HOSTS_MARK="# lenspipe-slurm (ci/slurm/start.sh)"

log() { printf '[slurm-start] %s\n' "$*" >&2; }
cannot() { log "CANNOT RUN: $*"; exit 3; }

# ---------------------------------------------------------------- 1. packages
need_bins=(munged mungekey slurmctld slurmd sbatch srun squeue sinfo scontrol)
missing=()
for b in "${need_bins[@]}"; do
    command -v "$b" >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] || missing+=("$b")
done
if ((${#missing[@]})); then
    [[ ${LENSPIPE_SLURM_NO_INSTALL:-0} == 1 ]] && cannot "missing ${missing[*]} and LENSPIPE_SLURM_NO_INSTALL=1"
    [[ $(id -u) == 0 ]] || cannot "missing ${missing[*]}; installing them needs root"
    command -v apt-get >/dev/null 2>&1 || cannot "missing ${missing[*]} and no apt-get"
    log "installing slurmctld slurmd slurm-client munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2 || cannot "apt-get update failed"
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >&2 \
        || cannot "apt-get install failed"
fi
export PATH=$PATH:/usr/sbin:/sbin
[[ $(id -u) == 0 ]] || cannot "slurmd must run as root (it launches jobs as their users)"

# ---------------------------------------------------------------- helpers
# alive NAME PIDFILE: the PID in PIDFILE is a live process whose command is NAME
alive() {
    local pid
    [[ -s $2 ]] || return 1
    pid=$(<"$2")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]]
}

mkdir -p "$STATE"/{etc,munge,ctld,spool,log,run}
# munge's socket directory must be traversable by every user who submits jobs.
chmod 0755 "$STATE" "$STATE/etc" "$STATE/run" "$STATE/log" "$STATE/munge"
chmod 0700 "$STATE/ctld" "$STATE/spool"
CONF=$STATE/etc/slurm.conf
MUNGE_SOCKET=$STATE/munge/munge.socket

if alive munged "$STATE/run/munged.pid" && alive slurmctld "$STATE/run/slurmctld.pid" \
   && alive slurmd "$STATE/run/slurmd.pid"; then
    log "already running (PIDs $(cat "$STATE"/run/{munged,slurmctld,slurmd}.pid | tr '\n' ' '))"
    cat "$STATE/env.sh"
    exit 0
fi

# ---------------------------------------------------------------- 2. host name -> loopback
NODE=$(hostname -s)
addr=$(getent ahostsv4 "$NODE" 2>/dev/null | awk 'NR==1{print $1}')
if [[ $addr != 127.* ]]; then
    # srun binds to what the host name resolves to (NoInAddrAny); make that loopback.
    log "host name '$NODE' resolves to '${addr:-nothing}', not loopback: adding to /etc/hosts"
    printf '127.0.0.1 %s %s\n' "$NODE" "$HOSTS_MARK" >>/etc/hosts
    echo "$NODE" >"$STATE/run/hosts-entry"
fi

# ---------------------------------------------------------------- 3. configuration
# The node's real topology (slurmd -C), so slurmd does not complain; memory lowered.
HW=$(slurmd -C 2>/dev/null | head -n 1)
hw() { sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p" <<<"$HW"; }
CPUS=$(hw CPUs); CPUS=${CPUS:-$(nproc)}
TOPO=""
for k in Boards SocketsPerBoard CoresPerSocket ThreadsPerCore; do
    v=$(hw "$k"); [[ -n $v ]] && TOPO+=" $k=$v"
done
MEM_TOTAL_MB=$(awk '/^MemTotal:/{print int($2/1024)}' /proc/meminfo)
REAL_MEM=$((MEM_TOTAL_MB * 9 / 10))   # leave 10% to the OS / the driving snakemake

cat >"$CONF" <<EOF
# Generated by ci/slurm/start.sh -- single-node test cluster, loopback only.
ClusterName=lenspipe
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$D_PORT
# Bind every daemon and client to the resolved (loopback) address, never INADDR_ANY.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups (containers / gVisor): track processes by parent PID, bind CPUs by affinity.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Jobs that ask for no memory get a per-CPU share instead of the whole node.
DefMemPerCPU=$((REAL_MEM / CPUS))
# No slurmdbd: sacct has no database. The snakemake plugin must use squeue for job
# status, which sees finished jobs for MinJobAge seconds. Finished jobs are also
# appended to a text file (JobCompLoc) for tests and post-mortems.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
MinJobAge=300
# Enforce --time exactly: no grace minutes, SIGTERM then SIGKILL after KillWait seconds.
OverTimeLimit=0
KillWait=5
InactiveLimit=0
Waittime=0
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS$TOPO RealMemory=$REAL_MEM State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

# SLURM clients that do not see SLURM_CONF read /etc/slurm/slurm.conf, and failing that
# ask DNS (SRV records) for a controller. The slurm executor's job step strips SLURM_*
# variables before its nested `srun`, so SLURM_CONF alone is not enough: link the
# default path to this config (only if nothing else is there; stop.sh removes the link).
SYS_CONF=/etc/slurm/slurm.conf
if [[ -L $SYS_CONF && $(readlink "$SYS_CONF") == "$CONF" ]]; then
    :
elif [[ -e $SYS_CONF || -L $SYS_CONF ]]; then
    cannot "$SYS_CONF exists and is not ours: this machine already has a SLURM configuration"
else
    log "linking $SYS_CONF -> $CONF"
    mkdir -p /etc/slurm
    ln -s "$CONF" "$SYS_CONF"
fi
echo "$SYS_CONF" >"$STATE/run/conf-link"

cat >"$STATE/env.sh" <<EOF
# source this file to talk to the lenspipe test cluster
export SLURM_CONF=$CONF
export PATH=\$PATH:/usr/sbin:/sbin
EOF
export SLURM_CONF=$CONF

# ---------------------------------------------------------------- 4. daemons
# Package scripts cannot start services here (policy-rc.d), and there is no systemd:
# start every daemon directly, each writing its own PID file into $STATE/run.
if ! alive munged "$STATE/run/munged.pid"; then
    if [[ ! -s $STATE/munge/munge.key ]]; then
        mungekey --create --keyfile="$STATE/munge/munge.key" --bits=1024 >&2
    fi
    chmod 0600 "$STATE/munge/munge.key"
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    log "starting munged"
    munged --force --key-file="$STATE/munge/munge.key" --socket="$MUNGE_SOCKET" \
        --pid-file="$STATE/run/munged.pid" --log-file="$STATE/log/munged.log" \
        --seed-file="$STATE/munge/munged.seed" --num-threads=2
fi
for _ in $(seq 50); do [[ -S $MUNGE_SOCKET ]] && break; sleep 0.1; done
munge -n --socket="$MUNGE_SOCKET" | unmunge --socket="$MUNGE_SOCKET" >/dev/null \
    || { log "munge round-trip failed; see $STATE/log/munged.log"; exit 1; }

if ! alive slurmctld "$STATE/run/slurmctld.pid"; then
    log "starting slurmctld"
    slurmctld -f "$CONF" -i
fi
if ! alive slurmd "$STATE/run/slurmd.pid"; then
    log "starting slurmd"
    slurmd -f "$CONF" -N "$NODE"
fi

# ---------------------------------------------------------------- 5. wait until usable
t0=$SECONDS
until state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null) && [[ $state == idle* || $state == mixed* || $state == allocated* ]]; do
    if ((SECONDS - t0 > 60)); then
        log "node not ready after 60 s (state '${state:-?}'); logs in $STATE/log"
        tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
        exit 1
    fi
    # a node left DOWN by a previous run: bring it back
    [[ ${state:-} == down* || ${state:-} == drain* ]] \
        && scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
    sleep 0.5
done
log "cluster up: partition '$PARTITION', node '$NODE' ($CPUS CPUs, ${REAL_MEM} MB), state dir $STATE"
cat "$STATE/env.sh"
