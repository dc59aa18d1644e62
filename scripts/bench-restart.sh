#!/usr/bin/env bash
# Restarts one member of a bench cluster after the watch-resume workload has killed it, and prints
# the new pid (the bench reads it for the next kill).
#   scripts/bench-restart.sh etcd  N DIR   member eN of ../shared/tools/etcd-cluster.sh's cluster in DIR
#   scripts/bench-restart.sh cairn N DIR   member cN of scripts/cluster.sh's cluster in DIR
# The pid file is updated, so the cluster scripts' stop still stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 n=$2 dir=$3
case $target in
cairn)
  scripts/cluster.sh restart "$n" "$dir" >/dev/null
  cat "$dir/c$n.pid" ;;
etcd)
  # etcd-cluster.sh has no restart: the same flags as its start. With the member's data dir in
  # place etcd rejoins from its WAL and ignores the --initial-cluster* flags.
  c=$((22279 + n * 100)) p=$((22280 + n * 100))
  nohup etcd --name "e$n" --data-dir "$dir/e$n" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "e1=http://127.0.0.1:22380,e2=http://127.0.0.1:22480,e3=http://127.0.0.1:22580" \
    --initial-cluster-state new --initial-cluster-token bench \
    --logger zap --log-outputs "$dir/e$n.log" >/dev/null 2>&1 &
  echo $! >"$dir/e$n.pid"
  echo $! ;;
*) echo "usage: $0 etcd|cairn N DIR" >&2; exit 2 ;;
esac
