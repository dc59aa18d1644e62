#!/usr/bin/env bash
# Runs EtcdDifferentialTests against a real etcd 3.4 (apt: etcd-server etcd-client), one fresh
# etcd per seed: every Put/DeleteRange/Txn/Compact/Range response and the final HashKV must match.
# usage: tests/Mvcc.Tests/run-etcd-differential.sh [first-seed] [last-seed] [steps]
set -euo pipefail
first=${1:-1}; last=${2:-5}; steps=${3:-2000}
port=23790
dir=$(mktemp -d)
cd "$(dirname "$0")/../.."
dotnet build tests/Mvcc.Tests | grep -E "error|Warn|rror\(s\)" || true
pid=
stop() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; pid=; }
trap 'stop; rm -rf "$dir"' EXIT
for seed in $(seq "$first" "$last"); do
  stop
  rm -rf "$dir/data"
  etcd --data-dir "$dir/data" --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
       --listen-peer-urls "http://127.0.0.1:$((port + 10))" > "$dir/etcd.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$port/health" | grep -q true && break; sleep 0.1; done
  echo "seed $seed"
  ETCD_DIFF_ENDPOINT="http://127.0.0.1:$port" ETCD_DIFF_SEED=$seed ETCD_DIFF_STEPS=$steps \
    dotnet test tests/Mvcc.Tests --no-build --filter "FullyQualifiedName~EtcdDifferential" --logger "console;verbosity=detailed" \
    | grep -E "kv/|HashKV|watch from|Passed |Failed |etcd |mine |step |Assert"
done
