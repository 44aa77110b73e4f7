#!/usr/bin/env bash
# `make demo`: a local cluster of separate claud processes on loopback — three masters and two
# slaves, each with its own data dir and log under demo-cluster/ — running real jobs through a
# leader's death, then stopped.
set -euo pipefail

claud=${1:-build/claud}
claud=$(realpath "$claud")
root=$(pwd)/demo-cluster
base=${DEMO_PORT_BASE:-7410}
masters="127.0.0.1:$((base + 1)),127.0.0.1:$((base + 2)),127.0.0.1:$((base + 3))"
export CLAUD_ADDR=$masters

declare -A pid_of
stop_all() {
  for pid in "${pid_of[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pid_of[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT

for port in $((base + 1)) $((base + 2)) $((base + 3)) $((base + 11)) $((base + 12)); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is in use; stop what runs there or set DEMO_PORT_BASE" >&2
    exit 1
  fi
done

rm -rf "$root"
mkdir -p "$root"
start() { # name, then claud's arguments
  local name=$1
  shift
  mkdir -p "$root/$name"
  "$claud" "$@" --node-id "$name" --data-dir "$root/$name/data" --log info \
    >>"$root/$name/log" 2>&1 &
  pid_of[$name]=$!
  disown # the demo kills it by pid; bash need not report its death
}
start_master() { # n
  local self="127.0.0.1:$((base + $1))"
  start "m$1" --role=master --listen "$self" --join "$(echo "$masters" | tr ',' '\n' |
    grep -vx "$self" | paste -sd,)"
}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_for() { # description, command...: polls the command until it succeeds (10 s at most)
  local what=$1
  shift
  for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "demo: $what did not happen; see $root/*/log" >&2
  exit 1
}
two_slaves_alive() { [ "$("$claud" nodes --json | grep -o '"state":"alive"' | wc -l)" = 2 ]; }
no_job_unfinished() { ! "$claud" jobs | grep -qE ' (pending|placed|running) '; }

step "starting three masters and two slaves (logs in $root/*/log)"
for n in 1 2 3; do start_master $n; done
start s1 --role=slave --listen "127.0.0.1:$((base + 11))" --join "$masters" --cpus 2 --memory 2G
start s2 --role=slave --listen "127.0.0.1:$((base + 12))" --join "$masters" --cpus 2 --memory 2G
wait_for "two slaves registering" two_slaves_alive
"$claud" leader
"$claud" nodes

step "a job that prints: claud submit --wait -- sh -c 'echo hello from \$(hostname)'"
hello=$("$claud" submit --wait --name hello -- sh -c 'echo hello from $(hostname); echo oops >&2')
echo "job $hello finished; its output (claud logs $hello) and errors (--stderr):"
"$claud" logs "$hello"
"$claud" logs --stderr "$hello"

step "a job that fails: claud submit --wait -- sh -c 'exit 3'"
set +e
"$claud" submit --wait --name fails -- sh -c 'exit 3' >/dev/null
echo "submit --wait exited with $? (the job's exit code)"
set -e

step "a job that sleeps, and a burst of 20 short ones"
sleeper=$("$claud" submit --name sleeper -- sleep 3)
burst=()
for i in $(seq 20); do
  burst+=("$("$claud" submit --name "burst-$i" --cpus 0.5 -- sh -c "echo burst $i; sleep 0.5")")
done
echo "submitted the sleeper as job $sleeper and the burst as jobs ${burst[0]}..${burst[19]}"
"$claud" status "$sleeper"

leader=$("$claud" leader --json | sed 's/.*"leader":{"id":"\([^"]*\)".*/\1/')
step "SIGKILL the leader, $leader, while jobs run"
kill -KILL "${pid_of[$leader]}"
unset "pid_of[$leader]"
"$claud" leader
echo "(a new leader took over; the slaves follow it by themselves)"
wait_for "every job ending" no_job_unfinished

step "every job, with its state, exit code and node (claud jobs)"
"$claud" jobs
step "the output of burst job ${burst[0]} (claud logs ${burst[0]})"
"$claud" logs "${burst[0]}"

step "$leader comes back and follows"
n=${leader#m}
start_master "$n"
wait_for "$leader rejoining" sh -c "'$claud' leader --json | grep -q '\"id\":\"$leader\",\"address\":\"[^\"]*\",\"role\":\"follower\"'"
"$claud" leader
"$claud" nodes

step "stopping every process the demo started"
stop_all
trap - EXIT
cat <<MSG

The demo cluster is stopped; its data and logs stay in $root.
To keep a cluster running and use it by hand:
  build/claud --role=dev &                 # master and slave in one process on 127.0.0.1:7400
  build/claud submit --wait -- echo hi     # clients use 127.0.0.1:7400 unless --cluster or CLAUD_ADDR
  build/claud jobs; build/claud nodes
or start three masters and slaves yourself: README.md, "A tour".
MSG
