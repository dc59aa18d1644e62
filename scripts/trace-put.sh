#!/usr/bin/env bash
# Where the latency of one put goes: starts a 3-member Cairn with CAIRN_LATENCY_TRACE on, runs the
# bench's put-seq-1 (1 client, sequential), stops the members (they write their trace rings as they
# stop) and prints the median of each stage of a write (bench/Cairn.Bench/TraceReport.cs).
#   scripts/trace-put.sh [--quick] [--runs N]      traces kept in /tmp/cairn-trace.PID.N; CAIRN_BIN=DLL runs another build,
#   CAIRN_MEMBER_ENV="VAR=VALUE ..." sets variables for the members only
set -euo pipefail
cd "$(dirname "$0")/.."
quick="" runs=1
while [ $# -gt 0 ]; do
  case $1 in --quick) quick=--quick ;; --runs) runs=$2; shift ;; *) echo "unknown option $1" >&2; exit 2 ;; esac
  shift
done
dotnet build bench/Cairn.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
bench=bench/Cairn.Bench/bin/Release/net10.0/Cairn.Bench.dll
for r in $(seq "$runs"); do
  dir=/tmp/cairn-trace.$$.$r
  rm -rf "$dir"; mkdir -p "$dir"
  env CAIRN_LATENCY_TRACE="$dir" ${CAIRN_MEMBER_ENV:-} scripts/cluster.sh start "$dir/cluster" >/dev/null
  pids=$(cat "$dir"/cluster/c1.pid "$dir"/cluster/c2.pid "$dir"/cluster/c3.pid | paste -sd,)
  echo "== run $r (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  dotnet "$bench" run --name cairn --endpoints 127.0.0.1:32379,127.0.0.1:32479,127.0.0.1:32579 --pids "$pids" \
    --out "$dir/result.json" --only put-seq-1 --spans "$dir/client.spans" $quick
  scripts/cluster.sh stop "$dir/cluster"
  for p in ${pids//,/ }; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  dotnet "$bench" trace "$dir"
done
