#!/usr/bin/env bash
# `make demo`: a local cluster of separate claud processes on loopback — one master and two
# slaves, each with its own data dir and log under demo-cluster/ — running real jobs, then stopped.
set -euo pipefail

claud=${1:-build/claud}
claud=$(realpath "$claud")
root=$(pwd)/demo-cluster
base_port=${DEMO_PORT_BASE:-7410}
master_port=$base_port
master="127.0.0.1:$master_port"
export CLAUD_ADDR=$master

pids=()
stop_all() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT

for port in $base_port $((base_port + 1)) $((base_port + 2)); do
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
  "$claud" "$@" --data-dir "$root/$name/data" --log info >"$root/$name/log" 2>&1 &
  pids+=($!)
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "starting a master and two slaves (logs in $root/*/log)"
start master --role=master --listen "$master" --node-id master-1
start slave-1 --role=slave --listen "127.0.0.1:$((base_port + 1))" --join "$master" \
  --node-id slave-1 --cpus 2 --memory 2G
start slave-2 --role=slave --listen "127.0.0.1:$((base_port + 2))" --join "$master" \
  --node-id slave-2 --cpus 2 --memory 2G

for _ in $(seq 100); do
  alive=$("$claud" nodes --json 2>/dev/null | grep -o '"state":"alive"' | wc -l || true)
  [ "$alive" = 2 ] && break
  sleep 0.1
done
if [ "$alive" != 2 ]; then
  echo "demo: the cluster did not come up; see $root/*/log" >&2
  exit 1
fi
"$claud" nodes

step "a job that prints: claud submit --wait -- sh -c 'echo hello from \$(hostname)'"
hello=$("$claud" submit --wait --name hello -- sh -c 'echo hello from $(hostname); echo to stderr >&2')
echo "job $hello finished; its output (claud logs $hello):"
"$claud" logs "$hello"

step "a job that fails: claud submit --wait -- sh -c 'exit 3'"
set +e
failing=$("$claud" submit --wait --name fails -- sh -c 'exit 3')
echo "submit --wait exited with $? (the job's exit code)"
set -e

step "a job that sleeps, and a burst of 20 short ones"
sleeper=$("$claud" submit --name sleeper -- sleep 2)
burst=()
for i in $(seq 20); do
  burst+=("$("$claud" submit --name "burst-$i" --cpus 0.5 -- sh -c "echo burst $i; sleep 0.5")")
done
echo "submitted sleeper as job $sleeper and the burst as jobs ${burst[0]}..${burst[19]}"
"$claud" status "$sleeper"
# Wait for every job to end by polling `claud jobs`.
for _ in $(seq 200); do
  "$claud" jobs | grep -qE ' (pending|placed|running) ' || break
  sleep 0.1
done

step "every job, with its state, exit code and node (claud jobs)"
"$claud" jobs
step "the output of burst job ${burst[0]} (claud logs ${burst[0]})"
"$claud" logs "${burst[0]}"
step "the leader (claud leader) and the nodes (claud nodes)"
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
or start the processes above yourself (see README.md, "A tour").
MSG
