#!/usr/bin/env bash
# Side-by-side benchmark: a real 3-member etcd 3.4 and a 3-member Cairn on this machine, the same
# workloads (bench/Cairn.Bench) run against each in alternation, then one table with ratios.
# The last workload, watch-resume, kills members with kill -9; scripts/bench-restart.sh brings them back.
#   scripts/bench.sh [--quick] [--rounds N]     results: docs/benchmarks.md, docs/bench/*.json
set -euo pipefail
cd "$(dirname "$0")/.."
quick="" rounds=1
while [ $# -gt 0 ]; do
  case $1 in --quick) quick=--quick ;; --rounds) rounds=$2; shift ;; *) echo "unknown option $1" >&2; exit 2 ;; esac
  shift
done
command -v etcd >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server etcd-client >/dev/null; }
dotnet build bench/Cairn.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build src/Node -c Release -nologo -clp:ErrorsOnly >/dev/null
bench=bench/Cairn.Bench/bin/Release/net10.0/Cairn.Bench.dll
out=docs/bench
mkdir -p "$out"
work=$(mktemp -d)
cleanup() {
  ../shared/tools/etcd-cluster.sh stop "$work/etcd" 2>/dev/null || true
  scripts/cluster.sh stop "$work/cairn" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$work"' EXIT

files=()
for r in $(seq "$rounds"); do
  echo "== round $r: etcd"
  rm -rf "$work/etcd"; ../shared/tools/etcd-cluster.sh start "$work/etcd"
  pids=$(cat "$work"/etcd/e1.pid "$work"/etcd/e2.pid "$work"/etcd/e3.pid | paste -sd,)
  dotnet "$bench" run --name etcd --endpoints 127.0.0.1:22379,127.0.0.1:22479,127.0.0.1:22579 --pids "$pids" --out "$out/etcd-$r.json" $quick \
    --restart "scripts/bench-restart.sh etcd {n} $work/etcd"
  ../shared/tools/etcd-cluster.sh stop "$work/etcd"; files+=("$out/etcd-$r.json")

  echo "== round $r: cairn"
  rm -rf "$work/cairn"; scripts/cluster.sh start "$work/cairn" >/dev/null
  pids=$(cat "$work"/cairn/c1.pid "$work"/cairn/c2.pid "$work"/cairn/c3.pid | paste -sd,)
  dotnet "$bench" run --name cairn --endpoints 127.0.0.1:32379,127.0.0.1:32479,127.0.0.1:32579 --pids "$pids" --out "$out/cairn-$r.json" $quick \
    --restart "scripts/bench-restart.sh cairn {n} $work/cairn"
  scripts/cluster.sh stop "$work/cairn"; files+=("$out/cairn-$r.json")
done
dotnet "$bench" report --out docs/benchmarks.md "${files[@]}"
