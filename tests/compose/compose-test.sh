#!/usr/bin/env bash
# Brings the compose cluster up (building the image), checks it with etcdctl, kills a member and
# restarts it, checks it caught up, and tears everything down (volumes too), even on failure.
# Needs Docker: on a machine without a registry run ../shared/tools/docker-offline.sh first
# (scripts/test.sh does when CAIRN_TEST_COMPOSE=1). Works with `docker compose` or docker-compose 1.29.
set -euo pipefail
cd "$(dirname "$0")/../.."
if docker compose version >/dev/null 2>&1; then dc=(docker compose); else dc=(docker-compose); fi
export ETCDCTL_API=3
eps=127.0.0.1:2379,127.0.0.1:2479,127.0.0.1:2579
ctl() { etcdctl --endpoints "$eps" --command-timeout=5s "$@"; }
cleanup() { "${dc[@]}" down -v --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT
fail() { echo "compose-test: FAIL: $*" >&2; "${dc[@]}" logs --tail 50 >&2 || true; exit 1; }

cleanup
echo "compose-test: building and starting"
"${dc[@]}" up -d --build
for _ in $(seq 150); do ctl endpoint health >/dev/null 2>&1 && break; sleep 0.4; done
ctl endpoint health || fail "cluster not healthy"
for _ in $(seq 60); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' cairn_c1_1 2>/dev/null || docker inspect -f '{{.State.Health.Status}}' cairn-c1-1)" = healthy ] && break
  sleep 1
done
ctl member list -w table
for i in $(seq 100); do ctl put "k$i" "v$i" >/dev/null; done
count() { etcdctl --endpoints "$1" --command-timeout=5s get k --prefix --keys-only --consistency="$2" -w json 2>/dev/null | grep -o '"count":[0-9]*' | cut -d: -f2; }
[ "$(count 127.0.0.1:2379 l)" = 100 ] || fail "expected 100 keys"

echo "compose-test: killing c2"
"${dc[@]}" kill -s SIGKILL c2
for i in $(seq 101 150); do ctl put "k$i" "v$i" >/dev/null; done
"${dc[@]}" start c2
for _ in $(seq 100); do
  n=$(count 127.0.0.1:2479 s || true)
  [ "$n" = 150 ] && break
  sleep 0.3
done
[ "${n:-}" = 150 ] || fail "c2 did not catch up (has ${n:-?} of 150 keys)"
h1=$(etcdctl --endpoints 127.0.0.1:2379 endpoint hashkv -w fields | grep Hash | head -1)
h2=$(etcdctl --endpoints 127.0.0.1:2479 endpoint hashkv -w fields | grep Hash | head -1)
[ "$h1" = "$h2" ] || fail "hashes differ: $h1 vs $h2"
echo "compose-test: PASS"
