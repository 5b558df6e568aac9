#!/usr/bin/env bash
# Stop the test cluster started by ci/slurm/start.sh: cancel its jobs, then end slurmd,
# slurmctld and munged by the PIDs saved in $LENSPIPE_SLURM_DIR/run (nothing else is
# touched), and remove the /etc/slurm/slurm.conf symlink and /etc/hosts line start.sh
# may have added.
#   LENSPIPE_SLURM_DIR        state directory                 [/tmp/lenspipe-slurm]
#   LENSPIPE_SLURM_PURGE=1    also delete the state directory (logs, controller state)
set -uo pipefail

STATE=${LENSPIPE_SLURM_DIR:-/tmp/lenspipe-slurm}
HOSTS_MARK="# lenspipe-slurm (ci/slurm/start.sh)"
export PATH=$PATH:/usr/sbin:/sbin
log() { printf '[slurm-stop] %s\n' "$*" >&2; }

pid_of() {  # pid_of NAME: PID from NAME.pid if that process is alive and is NAME
    local f=$STATE/run/$1.pid pid
    [[ -s $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
        && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] && echo "$pid"
}

# Cancel this cluster's jobs first so that no slurmstepd is left behind.
if [[ -f $STATE/etc/slurm.conf ]] && pid_of slurmctld >/dev/null; then
    export SLURM_CONF=$STATE/etc/slurm.conf
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')
    if [[ -n ${jobs// } ]]; then
        log "cancelling jobs: $jobs"
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null
        for _ in $(seq 40); do
            [[ -z $(squeue -h -t PD,R,CG -o %i 2>/dev/null) ]] && break
            sleep 0.5
        done
    fi
fi

for name in slurmd slurmctld munged; do
    if pid=$(pid_of "$name"); then
        log "stopping $name (PID $pid)"
        kill -TERM "$pid"
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (PID $pid) ignored SIGTERM for 15 s: SIGKILL"
            kill -KILL "$pid"
        fi
    fi
    rm -f "$STATE/run/$name.pid"
done

if [[ -s $STATE/run/hosts-entry ]]; then
    log "removing the /etc/hosts line added by start.sh"
    grep -vF "$HOSTS_MARK" /etc/hosts >/etc/hosts.lenspipe-slurm.tmp \
        && cat /etc/hosts.lenspipe-slurm.tmp >/etc/hosts
    rm -f /etc/hosts.lenspipe-slurm.tmp "$STATE/run/hosts-entry"
fi

if [[ -s $STATE/run/conf-link ]]; then
    link=$(<"$STATE/run/conf-link")
    if [[ -L $link && $(readlink "$link") == "$STATE/etc/slurm.conf" ]]; then
        log "removing the symlink $link"
        rm -f -- "$link"
    fi
    rm -f "$STATE/run/conf-link"
fi

if [[ ${LENSPIPE_SLURM_PURGE:-0} == 1 ]]; then
    log "removing $STATE"
    rm -rf -- "$STATE"
fi
log "stopped"
