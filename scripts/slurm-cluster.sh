#!/usr/bin/env bash
# A real Slurm cluster on this machine, for tests and for trying `execution.type: slurm`:
# Debian's slurm-wlm (22.05) and munge, one slurmctld and N slurmd (each its own node, node1..nodeN)
# on 127.0.0.1, each on its own port, plus an optional SSH login node (Debian's openssh-server).
# Everything lives in one state directory (config, munge key and socket, spool, logs, pid files);
# nothing is written to /etc/slurm or /etc/munge.
#
# Usage: scripts/slurm-cluster.sh up [--nodes N] | env | status | down
#                                  | stop-node NAME | start-node NAME | ssh-up | ssh-down
# Then:  eval "$(scripts/slurm-cluster.sh env)"; sinfo; srun -N3 hostname
#
# Nodes node1..nodeN are in partitions batch (the default) and cpu; jobs share nodes (cores and
# memory are allocated, not whole nodes). The login node (ssh-up) is an sshd on 127.0.0.1 that
# accepts a key made in the state directory; its own config sets SLURM_CONF for every session
# (sshd_config SetEnv), so `ssh ... sbatch` reaches this cluster with nothing set on the client.
# `down` stops everything (jobs, slurmd, slurmctld, munged, sshd); `up` after it starts afresh.
#
# Settings (environment): NEL_SLURM_DIR (state directory, default /tmp/nel-slurm),
# NEL_SLURM_PORT_BASE (slurmctld port; node K listens on base+K; default 17800),
# NEL_SLURM_SSH_PORT (login node's sshd, default 17822), NEL_SLURM_CPUS and NEL_SLURM_MEM_MB (what
# each node declares, default 4 CPUs and 4096 MB), NEL_SLURM_TIMEOUT (seconds to wait for the
# cluster, default 90), NEL_SLURM_PREEMPT=1 (preemption by partition priority: a partition `high`
# over the same nodes whose jobs cancel running jobs of `batch` and `cpu`; PREEMPTED state).
set -euo pipefail

DIR=${NEL_SLURM_DIR:-/tmp/nel-slurm}
PORT_BASE=${NEL_SLURM_PORT_BASE:-17800}
SSH_PORT=${NEL_SLURM_SSH_PORT:-17822}
NODE_CPUS=${NEL_SLURM_CPUS:-4}
NODE_MEM_MB=${NEL_SLURM_MEM_MB:-4096}
WAIT_S=${NEL_SLURM_TIMEOUT:-90}
PREEMPT=${NEL_SLURM_PREEMPT:-0}
# SlurmdTimeout: the controller marks a stopped node not responding about this long after (plus
# a ping round), and DOWN a ping round or two later (measured here: ~15 s and ~28 s).
SLURMD_TIMEOUT_S=10
CONF=$DIR/etc/slurm.conf
MUNGE_SOCKET=$DIR/munge/munge.socket
SSH_DIR=$DIR/ssh
export SLURM_CONF=$CONF
# Slurm client commands block while the controller is down: every call gets a deadline.
CLIENT_TIMEOUT=10

say() { echo "slurm-cluster: $*" >&2; }
die() {
  echo "slurm-cluster: $*" >&2
  exit 1
}

# usage: the Usage lines (to stderr, exit 2); usage full: the whole header comment (exit 0).
usage() {
  if [ "${1:-}" = full ]; then
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
  fi
  sed -n '/^# Usage:/,/^# Then:/p' "$0" | sed '$d; s/^# //' >&2
  exit 2
}

# --- processes --------------------------------------------------------------------------------

# True while PID exists and is not a zombie (an exited daemon may wait a while to be reaped).
# Builtins only (no fork per call): stop-node scans every process of the machine with it.
alive() {
  local stat state
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  state=${stat##*) }
  state=${state%% *}
  [ -n "$state" ] && [ "$state" != Z ]
}

# The pid in FILE when that process is alive and is the program NAME (guards against reused pids).
live_pid() {
  local file=$1 name=$2 pid
  [ -s "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] && alive "$pid" || return 1
  echo "$pid"
}

# Stop the process in pid FILE (program NAME): SIGTERM, then SIGKILL after 10 s; waits until gone.
stop_pidfile() {
  local file=$1 name=$2 pid
  pid=$(live_pid "$file" "$name") || {
    rm -f "$file"
    return 0
  }
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -f "$file"
}

# A process, then all its descendants: a job's whole process tree.
process_tree() {
  local pid=$1 child
  echo "$pid"
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do process_tree "$child"; done
}

# slurmstepd processes (one per job step) of this cluster whose open files match PATTERN: a step
# daemon keeps its node's log file ($DIR/log/NODE.log) open, which tells which node it serves.
step_daemons() {
  local pattern=$1 p fd comm
  for p in /proc/[0-9]*; do
    comm=""
    read -r comm 2>/dev/null <"$p/comm" || continue
    if [ "$comm" != slurmstepd ] || ! alive "${p#/proc/}"; then continue; fi
    for fd in "$p"/fd/*; do
      case $(readlink "$fd" 2>/dev/null) in
        *"$pattern"*)
          echo "${p#/proc/}"
          break
          ;;
      esac
    done
  done
}

# The step daemons matching PATTERN and everything they started (the jobs' processes), one per line.
step_trees() {
  local pattern=$1 pid
  for pid in $(step_daemons "$pattern"); do process_tree "$pid"; done
}

# Kill the step daemons matching PATTERN and everything they started.
kill_steps() {
  local pids=()
  mapfile -t pids < <(step_trees "$1")
  [ "${#pids[@]}" = 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
}

# --- packages ---------------------------------------------------------------------------------

missing_packages() {
  local missing=()
  [ -x /usr/sbin/slurmctld ] || missing+=(slurm-wlm)
  { [ -x /usr/sbin/slurmd ] && command -v sbatch >/dev/null; } || missing+=(slurm-wlm)
  [ -x /usr/sbin/munged ] || missing+=(munge)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v rsync >/dev/null || missing+=(rsync)
  [ "${#missing[@]}" = 0 ] || printf '%s\n' "${missing[@]}" | sort -u
}

# Daemons (and apt-get) need root; say which of the two is the problem.
require_root() {
  [ "$(id -u)" = 0 ] && return 0
  local missing
  missing=$(missing_packages | tr '\n' ' ')
  [ -z "$missing" ] || die "not root and packages missing (${missing% }): run '$1' as root"
  die "$1 needs root (slurmd runs jobs as their users); run it as root"
}

# apt-get install what is missing, quietly; services that the packages would start are held back
# (the cluster's daemons run with this script's own configuration, not the packages' defaults).
install_packages() {
  local pkgs added_policy=0
  mapfile -t pkgs < <(missing_packages)
  [ "${#pkgs[@]}" = 0 ] && return 0
  [ "$(id -u)" = 0 ] || die "packages missing (${pkgs[*]}) and only root can install them: run as root"
  say "installing ${pkgs[*]} with apt-get ..."
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  local status=0 log=$DIR/apt-get.log
  {
    apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 \
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
  } >"$log" 2>&1 || status=$?
  [ "$added_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  if [ "$status" != 0 ]; then
    tail -n 15 "$log" >&2
    die "apt-get install ${pkgs[*]} failed (exit $status; output in $log)"
  fi
  [ -z "$(missing_packages)" ] || die "still missing after apt-get: $(missing_packages | tr '\n' ' ')"
}

# --- configuration ----------------------------------------------------------------------------

# The node count of the written configuration (0 when there is none).
configured_nodes() {
  if [ -s "$CONF" ]; then grep -c '^NodeName=' "$CONF"; else echo 0; fi
}

node_names() {
  sed -n 's/^NodeName=\([^ ]*\).*/\1/p' "$CONF"
}

write_config() {
  local nodes=$1 host k
  host=$(hostname -s)
  mkdir -p "$DIR/etc" "$DIR/spool/ctld" "$DIR/log" "$DIR/run"
  rm -rf "$DIR"/spool/node* # a fresh cluster: no step state left from an earlier one
  for k in $(seq "$nodes"); do mkdir -p "$DIR/spool/node$k"; done
  {
    cat <<CONF
# Written by scripts/slurm-cluster.sh; rewritten on every \`up\`.
ClusterName=nel
# The controller refuses to start unless the name is this machine's short hostname.
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=${PORT_BASE}
SlurmUser=root
AuthType=auth/munge
CryptoType=crypto/munge
# This cluster's own munged (its own key and socket).
AuthInfo=socket=${MUNGE_SOCKET}
MpiDefault=none
# No cgroups: track job processes by parent pid, no task confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
# Jobs get cores and memory, not whole nodes, so several jobs share a node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
# Nodes declare the CPUs and memory given below, whatever this machine has.
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
# Schedule a submitted batch job at once instead of batching submissions for up to 3 s.
SchedulerParameters=batch_sched_delay=0
# Short timeouts: a stopped slurmd is noticed soon (SlurmdTimeout), and a node that registers
# again becomes usable by itself (ReturnToService=2).
SlurmdTimeout=${SLURMD_TIMEOUT_S}
SlurmctldTimeout=10
ReturnToService=2
MinJobAge=60
KillWait=2
InactiveLimit=0
StateSaveLocation=${DIR}/spool/ctld
SlurmdSpoolDir=${DIR}/spool/%n
SlurmctldPidFile=${DIR}/run/slurmctld.pid
SlurmdPidFile=${DIR}/run/%n.pid
SlurmctldLogFile=${DIR}/log/slurmctld.log
SlurmdLogFile=${DIR}/log/%n.log
MailProg=/bin/true
CONF
    if [ "$PREEMPT" = 1 ]; then
      # A job of the higher tier (partition high) cancels the running jobs it needs room from.
      echo "PreemptType=preempt/partition_prio"
      echo "PreemptMode=CANCEL"
    fi
    for k in $(seq "$nodes"); do
      echo "NodeName=node$k NodeHostname=${host} NodeAddr=127.0.0.1 Port=$((PORT_BASE + k))" \
        "CPUs=${NODE_CPUS} RealMemory=${NODE_MEM_MB} State=UNKNOWN"
    done
    echo "PartitionName=batch Nodes=ALL Default=YES MaxTime=UNLIMITED State=UP"
    echo "PartitionName=cpu Nodes=ALL Default=NO MaxTime=UNLIMITED State=UP"
    if [ "$PREEMPT" = 1 ]; then
      echo "PartitionName=high Nodes=ALL Default=NO MaxTime=UNLIMITED State=UP PriorityTier=10 PreemptMode=OFF"
    fi
  } >"$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Refuse early, with a clear message, when another program listens on one of the ports.
check_ports_free() {
  local nodes=$1 port
  for port in $(seq "$PORT_BASE" $((PORT_BASE + nodes))); do
    if port_in_use "$port"; then
      die "port $port on 127.0.0.1 is in use: set NEL_SLURM_PORT_BASE to a free range (now $PORT_BASE)"
    fi
  done
}

# --- munge ------------------------------------------------------------------------------------

munge_works() {
  timeout 5 munge -n -S "$MUNGE_SOCKET" 2>/dev/null | timeout 5 unmunge -S "$MUNGE_SOCKET" >/dev/null 2>&1
}

make_munge_key() {
  local key=$DIR/munge/munge.key
  mkdir -p "$DIR/munge"
  chmod 755 "$DIR/munge" # munged wants its socket's directory searchable by all
  [ -s "$key" ] && return 0
  (umask 077 && dd if=/dev/urandom of="$key.tmp" bs=1024 count=1 status=none)
  mv "$key.tmp" "$key"
  chmod 400 "$key"
}

start_munged() {
  if live_pid "$DIR/munge/munged.pid" munged >/dev/null && munge_works; then return 0; fi
  stop_pidfile "$DIR/munge/munged.pid" munged
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  /usr/sbin/munged --key-file="$DIR/munge/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" 9>&- ||
    die "munged did not start (see $DIR/munge/munged.log)"
  for _ in $(seq 50); do
    munge_works && return 0
    sleep 0.1
  done
  die "munged does not answer on $MUNGE_SOCKET (see $DIR/munge/munged.log)"
}

# --- slurm daemons ----------------------------------------------------------------------------

controller_answers() {
  [ -s "$CONF" ] && timeout "$CLIENT_TIMEOUT" scontrol ping 2>/dev/null | grep -q 'is UP'
}

start_slurmctld() {
  if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null && controller_answers; then return 0; fi
  stop_pidfile "$DIR/run/slurmctld.pid" slurmctld
  # -c: start from a clean state (no jobs or node states from an earlier run).
  /usr/sbin/slurmctld -c -f "$CONF" 9>&- || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
  wait_for "the controller to answer" controller_answers "$DIR/log/slurmctld.log" \
    "$DIR/run/slurmctld.pid" slurmctld
}

start_slurmd() {
  local node=$1
  live_pid "$DIR/run/$node.pid" slurmd >/dev/null && return 0
  /usr/sbin/slurmd -N "$node" -f "$CONF" 9>&- || die "slurmd for $node did not start (see $DIR/log/$node.log)"
}

# Each node's state as reported by the controller: "node1 idle", "node3 down*", ...
node_states() {
  timeout "$CLIENT_TIMEOUT" sinfo -h -N -p batch -o '%N %T' 2>/dev/null
}

# True when every configured node is up and responding (idle, or running jobs).
nodes_ready() {
  local states want
  states=$(node_states) || return 1
  want=$(configured_nodes)
  [ "$(echo "$states" | grep -cE ' (idle|mixed|allocated|completing)$')" = "$want" ]
}

# wait_for WHAT CHECK [LOG [PIDFILE NAME]]: run CHECK until it succeeds, for at most WAIT_S
# seconds; gives up early when the daemon in PIDFILE has died (a port in use, a bad config). A
# daemon writes its pid file after forking, so a missing one counts only after a few seconds.
wait_for() {
  local what=$1 check=$2 log=${3:-} pidfile=${4:-} name=${5:-} started=$SECONDS why
  local deadline=$((SECONDS + WAIT_S))
  until "$check"; do
    why=""
    if [ -n "$pidfile" ] && [ $((SECONDS - started)) -ge 3 ] && ! live_pid "$pidfile" "$name" >/dev/null; then
      why="$name exited"
    elif [ "$SECONDS" -ge "$deadline" ]; then
      why="timed out after ${WAIT_S} s"
    fi
    if [ -n "$why" ]; then
      echo "slurm-cluster: $why waiting for $what (logs in $DIR/log)" >&2
      if [ -n "$log" ] && [ -s "$log" ]; then tail -n 15 "$log" >&2; fi
      if [ "$check" = nodes_ready ]; then node_states | sed 's/^/  /' >&2 || true; fi
      exit 1
    fi
    sleep 0.3
  done
}

print_env() {
  echo "export SLURM_CONF=$CONF"
}

# Serialise up/down/ssh-up/ssh-down: test processes may call `up` at the same time. The lock is
# fd 9; daemons are started with it closed so that they do not hold it.
take_lock() {
  mkdir -p "$DIR"
  exec 9>"$DIR/lock"
  flock -w 600 9 || die "another slurm-cluster.sh holds $DIR/lock for more than 600 s"
}

# --- subcommands ------------------------------------------------------------------------------

cmd_up() {
  local nodes=3 nodes_given=0
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes)
        [ $# -ge 2 ] || die "--nodes needs a number"
        nodes=$2
        nodes_given=1
        shift 2
        ;;
      --nodes=*)
        nodes=${1#--nodes=}
        nodes_given=1
        shift
        ;;
      *) die "up: unknown option $1 (usage: up [--nodes N])" ;;
    esac
  done
  [[ $nodes =~ ^[1-9][0-9]?$ ]] || die "--nodes must be a number from 1 to 99, not '$nodes'"
  require_root "up"
  take_lock
  install_packages
  local started=$SECONDS
  if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null && controller_answers; then
    local have
    have=$(configured_nodes)
    if [ "$nodes_given" = 1 ] && [ "$have" != "$nodes" ]; then
      die "already running with $have nodes, not $nodes: run 'down' first to change --nodes"
    fi
    # Restart any node whose slurmd is gone, so that `up` always leaves every node usable.
    local node
    for node in $(node_names); do start_slurmd "$node"; done
    wait_for "all nodes to be up" nodes_ready
    say "already running: $have nodes ($(node_states | tr '\n' ',' | sed 's/,$//; s/,/, /g'))"
    print_env
    return 0
  fi
  stop_slurm_daemons # leftovers of a cluster whose controller no longer answers
  check_ports_free "$nodes"
  write_config "$nodes"
  make_munge_key
  start_munged
  start_slurmctld
  local k
  for k in $(seq "$nodes"); do start_slurmd "node$k"; done
  wait_for "$nodes nodes to be idle" nodes_ready "$DIR/log/slurmctld.log"
  say "up: $nodes nodes idle in $((SECONDS - started)) s; controller on 127.0.0.1:$PORT_BASE"
  say "use it with: eval \"\$($0 env)\""
  print_env
}

# Every slurmd and step daemon of this cluster (with the jobs' processes), then the controller.
stop_slurm_daemons() {
  local pidfile
  kill_steps "$DIR/log/"
  for pidfile in "$DIR"/run/node*.pid; do
    [ -e "$pidfile" ] && stop_pidfile "$pidfile" slurmd
  done
  kill_steps "$DIR/log/" # steps started while the slurmds were stopping
  stop_pidfile "$DIR/run/slurmctld.pid" slurmctld
}

cmd_down() {
  [ -d "$DIR" ] || {
    say "not running (no $DIR)"
    return 0
  }
  take_lock
  # Cancel jobs while the controller still answers, then kill any step left behind.
  if live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null && controller_answers; then
    local jobs
    mapfile -t jobs < <(timeout "$CLIENT_TIMEOUT" squeue -h -o %i 2>/dev/null || true)
    [ "${#jobs[@]}" = 0 ] || timeout "$CLIENT_TIMEOUT" scancel "${jobs[@]}" 2>/dev/null || true
  fi
  stop_slurm_daemons
  stop_pidfile "$DIR/munge/munged.pid" munged
  stop_pidfile "$SSH_DIR/sshd.pid" sshd
  say "down: stopped everything in $DIR"
}

cmd_status() {
  if ! live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    echo "slurm-cluster: not running (no slurmctld for $DIR; start it with: $0 up)" >&2
    return 1
  fi
  if ! controller_answers; then
    echo "slurm-cluster: controller not answering (config $CONF)" >&2
    return 1
  fi
  timeout "$CLIENT_TIMEOUT" sinfo -N -o '%N %P %T %c %m' || return 1
  if live_pid "$SSH_DIR/sshd.pid" sshd >/dev/null; then
    echo "login node: ssh on 127.0.0.1:$SSH_PORT (scripts/slurm-cluster.sh ssh-up prints how to connect)"
  fi
}

known_node() {
  local name=$1
  [ -s "$CONF" ] || die "no cluster configured in $DIR: run 'up' first"
  node_names | grep -qx -- "$name" || die "unknown node '$name' (nodes: $(node_names | paste -sd' '))"
}

# Stop one node like a machine failure: its slurmd and the job steps it runs (with their
# processes) are killed; the controller marks it not responding, then down (see SLURMD_TIMEOUT_S).
cmd_stop_node() {
  [ $# = 1 ] || die "usage: stop-node NAME"
  known_node "$1"
  require_root "stop-node"
  # As a machine failure: the node's slurmd, its step daemons and the jobs' processes all get
  # SIGKILL in one call, found first, so nothing of the node goes on answering or reporting while
  # the rest is being stopped.
  local pids=() pid
  mapfile -t pids < <(step_trees "$DIR/log/$1.log")
  if pid=$(live_pid "$DIR/run/$1.pid" slurmd); then pids+=("$pid"); fi
  [ "${#pids[@]}" = 0 ] || kill -KILL "${pids[@]}" 2>/dev/null || true
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      alive "$pid" || break
      sleep 0.1
    done
  done
  rm -f "$DIR/run/$1.pid"
  say "stopped $1 (the controller marks it not responding, then down, within ~$((3 * SLURMD_TIMEOUT_S)) s)"
}

cmd_start_node() {
  [ $# = 1 ] || die "usage: start-node NAME"
  known_node "$1"
  require_root "start-node"
  start_slurmd "$1"
  say "started $1 (it returns to service when it registers)"
}

# --- login node -------------------------------------------------------------------------------

ssh_command() {
  echo "ssh -p $SSH_PORT -i $SSH_DIR/id_ed25519 -o UserKnownHostsFile=$SSH_DIR/known_hosts" \
    "-o IdentitiesOnly=yes $(id -un)@127.0.0.1"
}

# sshd on 127.0.0.1 with its own host key, config and authorized key, all in $SSH_DIR. SetEnv in
# its config gives every session SLURM_CONF, as a real login node's configuration would, so that
# `ssh ... sbatch` reaches this cluster with no client-side set-up.
write_sshd_config() {
  local user
  user=$(id -un)
  mkdir -p "$SSH_DIR"
  chmod 700 "$SSH_DIR"
  [ -s "$SSH_DIR/host_ed25519_key" ] ||
    ssh-keygen -q -t ed25519 -N '' -C nel-slurm-login-host -f "$SSH_DIR/host_ed25519_key"
  [ -s "$SSH_DIR/id_ed25519" ] ||
    ssh-keygen -q -t ed25519 -N '' -C nel-slurm-login-user -f "$SSH_DIR/id_ed25519"
  cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
  chmod 600 "$SSH_DIR/authorized_keys"
  echo "[127.0.0.1]:$SSH_PORT $(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519_key.pub")" >"$SSH_DIR/known_hosts"
  cat >"$SSH_DIR/sshd_config" <<CONF
# Written by scripts/slurm-cluster.sh ssh-up: the cluster's login node.
ListenAddress 127.0.0.1
Port $SSH_PORT
HostKey $SSH_DIR/host_ed25519_key
PidFile $SSH_DIR/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
# The key files live under /tmp, which StrictModes would refuse (world-writable parent).
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
UsePAM no
X11Forwarding no
PrintMotd no
SetEnv SLURM_CONF=$CONF
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
  # A client config, for tools that take `ssh -F FILE HOST`.
  cat >"$SSH_DIR/ssh_config" <<CONF
Host nel-slurm-login
  HostName 127.0.0.1
  Port $SSH_PORT
  User $user
  IdentityFile $SSH_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $SSH_DIR/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CONF
}

ssh_answers() {
  timeout 10 ssh -F "$SSH_DIR/ssh_config" nel-slurm-login true </dev/null >/dev/null 2>&1
}

cmd_ssh_up() {
  require_root "ssh-up"
  take_lock
  install_packages
  if ! live_pid "$SSH_DIR/sshd.pid" sshd >/dev/null; then
    ! port_in_use "$SSH_PORT" ||
      die "port $SSH_PORT on 127.0.0.1 is in use: set NEL_SLURM_SSH_PORT to a free port"
    write_sshd_config
    mkdir -p /run/sshd # sshd's privilege-separation directory
    /usr/sbin/sshd -t -f "$SSH_DIR/sshd_config" || die "sshd refused its config $SSH_DIR/sshd_config"
    /usr/sbin/sshd -f "$SSH_DIR/sshd_config" -E "$SSH_DIR/sshd.log" 9>&- ||
      die "sshd did not start (see $SSH_DIR/sshd.log)"
  fi
  wait_for "the login node's sshd to accept the key" ssh_answers "$SSH_DIR/sshd.log" \
    "$SSH_DIR/sshd.pid" sshd
  say "login node up on 127.0.0.1:$SSH_PORT; sessions there have SLURM_CONF=$CONF"
  live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null ||
    say "note: the cluster itself is not running; start it with: $0 up"
  ssh_command
  echo "# or: ssh -F $SSH_DIR/ssh_config nel-slurm-login"
}

cmd_ssh_down() {
  [ -d "$SSH_DIR" ] || return 0
  take_lock
  stop_pidfile "$SSH_DIR/sshd.pid" sshd
  say "login node stopped"
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    env) print_env ;;
    status) cmd_status ;;
    down) cmd_down ;;
    stop-node) cmd_stop_node "$@" ;;
    start-node) cmd_start_node "$@" ;;
    ssh-up) cmd_ssh_up ;;
    ssh-down) cmd_ssh_down ;;
    -h | --help | help) usage full ;;
    *)
      echo "slurm-cluster: unknown command '$cmd'" >&2
      usage
      ;;
  esac
}

main "$@"
