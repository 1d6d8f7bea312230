#!/usr/bin/env bash
# Bring up / tear down a throw-away one-machine Slurm cluster (with slurmdbd
# accounting) for rnnatlas integration tests.
#
#   tests/slurm/cluster.sh up       install (if needed) + start; prints KEY=VALUE lines
#   tests/slurm/cluster.sh down     stop all daemons it started, remove state + config
#   tests/slurm/cluster.sh status   exit 0 if the cluster is up and usable
#
# Exit codes:  0 ok | 1 a daemon failed to start / not healthy | 2 usage error
#              3 prerequisites missing (not root and no sudo, no apt-get, apt
#                unreachable, packages absent with SKIP_INSTALL=1, foreign
#                Slurm config present) -> a test should *skip*.
# See tests/slurm/README.md for the environment variables.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

STATE=${RNNATLAS_SLURM_STATE:-/tmp/rnnatlas-slurm}
CONF_DIR=${RNNATLAS_SLURM_CONF_DIR:-/etc/slurm}
CLUSTER=${RNNATLAS_SLURM_CLUSTER:-rnnatlas}
ACCOUNT=${RNNATLAS_SLURM_ACCOUNT:-rnnatlas}
PARTITION=${RNNATLAS_SLURM_PARTITION:-cpu}         # default partition (CPU jobs)
GPU_PARTITION=${RNNATLAS_SLURM_GPU_PARTITION:-gpu} # partition of the count-only GPUs
GPUS=${RNNATLAS_SLURM_GPUS:-2}                     # count-only GPUs on the node
TIMEOUT=${RNNATLAS_SLURM_TIMEOUT:-90}          # seconds per daemon
APT_TIMEOUT=${RNNATLAS_SLURM_APT_TIMEOUT:-900} # seconds for apt-get update+install
SKIP_INSTALL=${RNNATLAS_SLURM_SKIP_INSTALL:-0}
DB_PORT=${RNNATLAS_SLURM_DB_PORT:-33061}
DBD_PORT=${RNNATLAS_SLURM_DBD_PORT:-6819}
CTLD_PORT=${RNNATLAS_SLURM_CTLD_PORT:-6817}
SLURMD_PORT=${RNNATLAS_SLURM_SLURMD_PORT:-6818}
DB_USER=slurm
DB_PASS=rnnatlas-test-only
MARKER="rnnatlas-slurm-test-cluster"
PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)

SLURM_CONF_FILE="$CONF_DIR/slurm.conf"
SLURMDBD_CONF_FILE="$CONF_DIR/slurmdbd.conf"
GRES_CONF_FILE="$CONF_DIR/gres.conf"
export SLURM_CONF="$SLURM_CONF_FILE"
MYCNF="$STATE/mariadb.cnf"
DB_SOCK="$STATE/run/mysqld.sock"
# Debian defaults for munged (slurm's auth/munge uses the default socket).
MUNGE_PID=/run/munge/munged.pid
MUNGE_LOG=/var/log/munge/munged.log

log() { printf '[cluster.sh +%ss] %s\n' "$SECONDS" "$*" >&2; }
die() { # die EXITCODE MESSAGE [LOGFILE...]
  local rc=$1 msg=$2; shift 2
  log "ERROR: $msg"
  local f
  for f in "$@"; do
    if [[ -f $f ]]; then
      log "---- last lines of $f ----"
      tail -n 25 "$f" | sed 's/^/    /' >&2 || true
    fi
  done
  if [[ ${UP_STARTED:-0} == 1 ]]; then
    UP_STARTED=0
    log "stopping the daemons started so far; logs kept in $STATE/log ('down' removes them)"
    stop_daemons || true
  fi
  exit "$rc"
}

# ------------------------------------------------------------------ helpers --
pid_alive() { # pid_alive PIDFILE
  local p
  [[ -s $1 ]] || return 1
  p=$(tr -dc '0-9' <"$1")
  [[ -n $p ]] && kill -0 "$p" 2>/dev/null
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.5 s. If
# WAIT_PID is set, give up as soon as that process has exited.
wait_for() {
  local secs=$1 what=$2; shift 2
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n ${WAIT_PID:-} ]] && ! kill -0 "$WAIT_PID" 2>/dev/null; then
      log "process $WAIT_PID exited while waiting for: $what"
      return 1
    fi
    sleep 0.5
  done
  log "timed out after ${secs}s waiting for: $what"
  return 1
}

stop_pidfile() { # stop_pidfile NAME PIDFILE  (TERM, bounded wait, KILL)
  local name=$1 f=$2 p i
  [[ -s $f ]] || return 0
  p=$(tr -dc '0-9' <"$f")
  if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
    log "stopping $name (pid $p)"
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$p" 2>/dev/null; then
      log "$name (pid $p) did not exit after 20s, sending KILL"
      kill -KILL "$p" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$f"
}

ensure_root() {
  if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      exec sudo -n -E bash "$0" "$@"
    fi
    die 3 "must run as root (or with passwordless sudo): it installs packages and runs Slurm daemons as root"
  fi
}

our_file() { # the file is absent or was written by this script
  [[ ! -e $1 ]] || grep -q "$MARKER" "$1" 2>/dev/null
}

render() { # render TEMPLATE DEST MODE
  sed -e "s|@MARKER@|$MARKER|g" -e "s|@STATE@|$STATE|g" \
    -e "s|@CLUSTER@|$CLUSTER|g" -e "s|@PARTITION@|$PARTITION|g" \
    -e "s|@GPU_PARTITION@|$GPU_PARTITION|g" -e "s|@GPUS@|$GPUS|g" -e "s|@GPU_LAST@|$((GPUS - 1))|g" \
    -e "s|@HOST@|$NODE|g" -e "s|@CPUS@|$CPUS|g" -e "s|@MEM_MB@|$MEM_MB|g" \
    -e "s|@DEFMEM@|$DEFMEM|g" -e "s|@DB_PORT@|$DB_PORT|g" \
    -e "s|@DBD_PORT@|$DBD_PORT|g" -e "s|@CTLD_PORT@|$CTLD_PORT|g" \
    -e "s|@SLURMD_PORT@|$SLURMD_PORT|g" -e "s|@DB_USER@|$DB_USER|g" \
    -e "s|@DB_PASS@|$DB_PASS|g" "$SCRIPT_DIR/$1" >"$2.tmp"
  chmod "$3" "$2.tmp"
  mv -f "$2.tmp" "$2"
}

print_env() {
  cat <<EOF
SLURM_ACCOUNT=$ACCOUNT
SLURM_PARTITION=$PARTITION
SLURM_GPU_PARTITION=$GPU_PARTITION
SLURM_CLUSTER=$CLUSTER
SLURM_NODE=$(cat "$STATE/node" 2>/dev/null || hostname -s)
SLURM_CONF=$SLURM_CONF_FILE
SLURM_STATE_DIR=$STATE
EOF
}

# ------------------------------------------------------------------ install --
missing_packages() {
  local p missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]}"
}

install_packages() {
  local missing
  if [[ $SKIP_INSTALL == 1 || $SKIP_INSTALL == true ]]; then
    log "RNNATLAS_SLURM_SKIP_INSTALL set: not installing packages"
  else
    command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 ||
      die 3 "apt-get/dpkg not found: this script needs a Debian/Ubuntu host"
    missing=$(missing_packages)
    if [[ -n $missing ]]; then
      log "installing: $missing"
      local created_policy=0 aptlog="$STATE/log/apt.log"
      # Keep maintainer scripts from starting system services (we start our own).
      if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
      fi
      local ok=1
      export DEBIAN_FRONTEND=noninteractive
      if ! timeout "$APT_TIMEOUT" apt-get -q update >"$aptlog" 2>&1 </dev/null; then
        ok=0
      elif ! timeout "$APT_TIMEOUT" apt-get -q -y --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        install $missing >>"$aptlog" 2>&1 </dev/null; then
        ok=0
      fi
      [[ $created_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
      [[ $ok == 1 ]] || die 3 "apt-get could not install the Slurm packages ($missing)" "$aptlog"
    fi
  fi
  local b
  for b in munged munge unmunge mariadbd mariadb-install-db mariadb mariadb-admin \
    slurmdbd slurmctld slurmd sbatch sacct sacctmgr sinfo scontrol; do
    command -v "$b" >/dev/null 2>&1 || [[ -x /usr/sbin/$b ]] ||
      die 3 "required program '$b' not found (packages: ${PACKAGES[*]})"
  done
}

# ---------------------------------------------------------------- daemons ----
start_munge() {
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "munge: already running (reusing it)"
    return 0
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  install -d -o munge -g munge -m 0700 /etc/munge
  if [[ ! -s /etc/munge/munge.key ]]; then
    log "munge: creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null 2>&1; then
      runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key
    else
      dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 0400 /etc/munge/munge.key
  rm -f /run/munge/munge.socket.2 /run/munge/munge.socket.2.lock "$MUNGE_PID"
  log "munge: starting munged"
  runuser -u munge -- /usr/sbin/munged </dev/null >>"$STATE/log/munged.out" 2>&1 ||
    die 1 "munged failed to start" "$STATE/log/munged.out" "$MUNGE_LOG"
  : >"$STATE/munge.ours"
  wait_for "$TIMEOUT" "munge credential round-trip" \
    bash -c 'munge -n | unmunge' ||
    die 1 "munged is not answering" "$STATE/log/munged.out" "$MUNGE_LOG"
}

db() { mariadb --no-defaults --socket="$DB_SOCK" -u root "$@"; }

start_mariadb() {
  if [[ ! -d $STATE/mysql/mysql ]]; then
    log "mariadb: initialising private datadir $STATE/mysql"
    timeout "$TIMEOUT" mariadb-install-db --defaults-file="$MYCNF" \
      --auth-root-authentication-method=socket --skip-test-db \
      >"$STATE/log/mariadb-install.log" 2>&1 </dev/null ||
      die 1 "mariadb-install-db failed" "$STATE/log/mariadb-install.log"
  fi
  log "mariadb: starting mariadbd on 127.0.0.1:$DB_PORT"
  setsid mariadbd --defaults-file="$MYCNF" </dev/null >>"$STATE/log/mariadb.out" 2>&1 &
  WAIT_PID=$! wait_for "$TIMEOUT" "mariadbd to accept connections" \
    mariadb-admin --no-defaults --socket="$DB_SOCK" -u root ping ||
    die 1 "mariadbd did not come up" "$STATE/log/mariadb.out" "$STATE/log/mariadb.log"
  db -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
         CREATE USER IF NOT EXISTS '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
         CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
         GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'127.0.0.1';
         GRANT ALL ON slurm_acct_db.* TO '$DB_USER'@'localhost';
         FLUSH PRIVILEGES;" 2>>"$STATE/log/mariadb.out" ||
    die 1 "could not create the slurm database user" "$STATE/log/mariadb.out"
}

start_slurmdbd() {
  log "slurmdbd: starting"
  # -D + setsid instead of self-daemonising: we know the pid at once and can
  # fail fast if the daemon dies (it still writes its PidFile).
  setsid slurmdbd -D </dev/null >>"$STATE/log/slurmdbd.out" 2>&1 &
  WAIT_PID=$! wait_for "$TIMEOUT" "slurmdbd to answer sacctmgr" \
    timeout 10 sacctmgr -n -P show cluster format=cluster ||
    die 1 "slurmdbd is not answering" "$STATE/log/slurmdbd.out" "$STATE/log/slurmdbd.log"
}

ensure_associations() {
  local u users=(root)
  [[ -n ${SUDO_USER:-} && $SUDO_USER != root ]] && users+=("$SUDO_USER")
  for u in ${RNNATLAS_SLURM_USERS:-}; do users+=("$u"); done
  if [[ -z $(timeout 20 sacctmgr -n -P show cluster "$CLUSTER" format=cluster 2>/dev/null) ]]; then
    timeout 20 sacctmgr -i add cluster "$CLUSTER" >/dev/null ||
      die 1 "sacctmgr add cluster $CLUSTER failed" "$STATE/log/slurmdbd.log"
  fi
  if [[ -z $(timeout 20 sacctmgr -n -P show account "$ACCOUNT" format=account 2>/dev/null) ]]; then
    timeout 20 sacctmgr -i add account "$ACCOUNT" cluster="$CLUSTER" \
      description="rnnatlas test account" organization=rnnatlas >/dev/null ||
      die 1 "sacctmgr add account $ACCOUNT failed" "$STATE/log/slurmdbd.log"
  fi
  for u in "${users[@]}"; do
    if [[ -z $(timeout 20 sacctmgr -n -P show assoc cluster="$CLUSTER" account="$ACCOUNT" user="$u" format=user 2>/dev/null) ]]; then
      timeout 20 sacctmgr -i add user "$u" account="$ACCOUNT" cluster="$CLUSTER" \
        defaultaccount="$ACCOUNT" >/dev/null ||
        die 1 "sacctmgr add user $u failed" "$STATE/log/slurmdbd.log"
    fi
  done
}

node_state() { sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n1; }
node_idle() { [[ $(node_state) =~ ^(idle|mixed|allocated|completing) ]]; }

start_slurmctld() {
  log "slurmctld: starting"
  setsid slurmctld -D -i </dev/null >>"$STATE/log/slurmctld.out" 2>&1 &
  WAIT_PID=$! wait_for "$TIMEOUT" "slurmctld to answer" \
    bash -c 'timeout 10 scontrol ping | grep -q "is UP"' ||
    die 1 "slurmctld is not answering" "$STATE/log/slurmctld.out" "$STATE/log/slurmctld.log"
}

start_slurmd() {
  log "slurmd: starting (node $NODE, ${CPUS} CPUs, ${MEM_MB} MB)"
  setsid slurmd -D -N "$NODE" </dev/null >>"$STATE/log/slurmd.out" 2>&1 &
  WAIT_PID=$! wait_for "$TIMEOUT" "node $NODE to become idle" node_idle || {
    log "node state: '$(node_state)'; $(scontrol show node "$NODE" 2>/dev/null | grep -i reason || true)"
    die 1 "node $NODE did not become idle" "$STATE/log/slurmd.out" "$STATE/log/slurmd.log" "$STATE/log/slurmctld.log"
  }
}

# ------------------------------------------------------------------ status ---
healthy() {
  [[ -s $STATE/node ]] || return 1
  NODE=$(cat "$STATE/node")
  pid_alive "$STATE/run/mariadbd.pid" && pid_alive "$STATE/run/slurmdbd.pid" &&
    pid_alive "$STATE/run/slurmctld.pid" && pid_alive "$STATE/run/slurmd.pid" &&
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 &&
    timeout 10 scontrol ping 2>/dev/null | grep -q "is UP" &&
    timeout 10 sacctmgr -n -P show cluster format=cluster >/dev/null 2>&1 &&
    node_idle
}

cmd_status() {
  local n d
  for d in mariadbd slurmdbd slurmctld slurmd; do
    if pid_alive "$STATE/run/$d.pid"; then n="running (pid $(cat "$STATE/run/$d.pid"))"; else n="not running"; fi
    log "$d: $n"
  done
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then log "munged: running"; else log "munged: not running"; fi
  if healthy; then
    sinfo >&2 || true
    print_env
    return 0
  fi
  log "cluster is NOT up"
  return 1
}

# ---------------------------------------------------------------------- up ---
cmd_up() {
  local t0=$SECONDS
  mkdir -p "$STATE/log" "$STATE/run"
  if healthy; then
    log "cluster already up (state $STATE)"
    ensure_associations
    print_env
    return 0
  fi
  if [[ -e $STATE/node ]]; then
    log "found a partial/stale cluster in $STATE: restarting from scratch"
    cmd_down
    mkdir -p "$STATE/log" "$STATE/run"
  fi
  for f in "$SLURM_CONF_FILE" "$SLURMDBD_CONF_FILE" "$GRES_CONF_FILE"; do
    our_file "$f" || die 3 "$f exists and was not written by this script; refusing to overwrite a real Slurm config (set RNNATLAS_SLURM_CONF_DIR and SLURM_CONF to use another directory)"
  done

  install_packages

  NODE=$(hostname -s)
  CPUS=${RNNATLAS_SLURM_CPUS:-$(nproc)}
  local total
  total=$(free -m | awk '/^Mem:/ {print $2}')
  # leave ~5% (at least 256 MB) for the OS and the daemons themselves
  MEM_MB=${RNNATLAS_SLURM_MEM_MB:-$((total - (total / 20 > 256 ? total / 20 : 256)))}
  ((MEM_MB > 0)) || die 1 "could not determine usable memory (free -m total: $total)"
  DEFMEM=$((MEM_MB / CPUS < 1024 ? MEM_MB / CPUS : 1024))
  log "node $NODE: CPUs=$CPUS RealMemory=${MEM_MB}MB; state dir $STATE; config $SLURM_CONF_FILE"

  mkdir -p "$STATE/ctld" "$STATE/slurmd" "$CONF_DIR"
  render mariadb.cnf.template "$MYCNF" 0644
  render slurm.conf.template "$SLURM_CONF_FILE" 0644
  render slurmdbd.conf.template "$SLURMDBD_CONF_FILE" 0600
  render gres.conf.template "$GRES_CONF_FILE" 0644
  for ((i = 0; i < GPUS; i++)); do : >"$STATE/fakegpu$i"; done
  echo "$NODE" >"$STATE/node"

  UP_STARTED=1
  start_munge
  start_mariadb
  start_slurmdbd
  ensure_associations
  start_slurmctld
  start_slurmd
  UP_STARTED=0
  log "cluster up in $((SECONDS - t0))s"
  print_env
}

# -------------------------------------------------------------------- down ---
stop_daemons() {
  if [[ -s $STATE/node ]] && pid_alive "$STATE/run/slurmctld.pid"; then
    local jobs
    jobs=$(timeout 10 squeue -h -o %i 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      log "cancelling jobs: $(echo $jobs)"
      timeout 10 scancel $jobs 2>/dev/null || true
      wait_for 20 "jobs to finish" bash -c '[[ -z $(timeout 5 squeue -h -o %i 2>/dev/null) ]]' || true
    fi
  fi
  stop_pidfile slurmd "$STATE/run/slurmd.pid"
  stop_pidfile slurmctld "$STATE/run/slurmctld.pid"
  stop_pidfile slurmdbd "$STATE/run/slurmdbd.pid"
  stop_pidfile mariadbd "$STATE/run/mariadbd.pid"
  if [[ -e $STATE/munge.ours ]]; then
    stop_pidfile munged "$MUNGE_PID"
    rm -f "$STATE/munge.ours"
  fi
}

cmd_down() {
  stop_daemons
  local f
  for f in "$SLURM_CONF_FILE" "$SLURMDBD_CONF_FILE" "$GRES_CONF_FILE"; do
    if [[ -e $f ]] && our_file "$f"; then rm -f "$f"; fi
  done
  # safety: only ever delete a directory that looks like ours
  if [[ -d $STATE ]]; then
    if [[ -e $STATE/node || -e $STATE/mariadb.cnf || -d $STATE/log ]]; then
      rm -rf "$STATE"
    else
      log "not removing $STATE: does not look like a cluster.sh state dir"
    fi
  fi
  log "cluster down"
}

usage() { echo "usage: $0 up|down|status" >&2; exit 2; }

[[ $# -eq 1 ]] || usage
case $1 in
  up | down | status) ;;
  *) usage ;;
esac
ensure_root "$@"
case $1 in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
esac
