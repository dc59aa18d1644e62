#!/usr/bin/env bash
# A local three-member Cairn cluster on loopback, for development.
#   scripts/cluster.sh start [DIR]   build (Release) and start c1..c3; client URLs 127.0.0.1:32379, :32479, :32579
#   scripts/cluster.sh stop  [DIR]   stop them (SIGTERM, by the pids recorded in DIR)
#   scripts/cluster.sh kill  N [DIR] kill -9 member N (1..3);  scripts/cluster.sh restart N [DIR] start it again
# Logs: DIR/cN.log. Data: DIR/cN.etcd.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-start}
case $cmd in kill|restart) n=$2; dir=${3:-/tmp/cairn-cluster} ;; *) dir=${2:-/tmp/cairn-cluster} ;; esac
bin=${CAIRN_BIN:-src/Node/bin/Release/net10.0/cairn.dll}  # CAIRN_BIN: another build, for before/after runs
cluster="c1=http://127.0.0.1:32380,c2=http://127.0.0.1:32480,c3=http://127.0.0.1:32580"

start_member() {
  local i=$1 c=$((32279 + $1 * 100)) p=$((32280 + $1 * 100))
  nohup dotnet "$bin" --name "c$i" --data-dir "$dir/c$i.etcd" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token cairn-dev \
    >>"$dir/c$i.log" 2>&1 &
  echo $! >"$dir/c$i.pid"
}

case $cmd in
start)
  mkdir -p "$dir"
  [ -n "${CAIRN_BIN:-}" ] || dotnet build src/Node -c Release -nologo -clp:ErrorsOnly >/dev/null
  for i in 1 2 3; do start_member "$i"; done
  for _ in $(seq 100); do
    if ETCDCTL_API=3 etcdctl --endpoints=127.0.0.1:32379,127.0.0.1:32479,127.0.0.1:32579 endpoint health >/dev/null 2>&1; then
      echo "cluster up: 127.0.0.1:32379,127.0.0.1:32479,127.0.0.1:32579 (logs in $dir)"; exit 0
    fi
    sleep 0.2
  done
  echo "cluster did not become healthy; see $dir/c*.log" >&2; exit 1 ;;
stop)
  for f in "$dir"/c*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; done ;;
kill)
  kill -9 "$(cat "$dir/c$n.pid")"; rm -f "$dir/c$n.pid" ;;
restart)
  start_member "$n" ;;
*) echo "usage: $0 start|stop [DIR] | kill|restart N [DIR]" >&2; exit 2 ;;
esac
