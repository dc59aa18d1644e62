#!/usr/bin/env bash
# Runs every test of Cairn. Installs what the tests need (etcd/etcdctl 3.4 and node/npm from
# Debian, the etcd3 npm package) when missing, builds the solution once, then runs each test
# project in turn and prints a summary line "N passed, N failed". Long soaks stay off unless asked for (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need_apt+=(etcd-client)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# The etcd3 npm client for tests/integration/NpmClient (pinned by its package-lock.json).
if [ ! -d tests/integration/NpmClient/node_modules/etcd3 ]; then
  echo "== installing the etcd3 npm package (tests/integration/NpmClient)"
  (cd tests/integration/NpmClient && npm ci --no-audit --no-fund --loglevel=error)
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
config=${CONFIGURATION:-Release}
echo "== building ($config)"
dotnet build cluster.sln -c "$config" -nologo -clp:ErrorsOnly

projects=(
  tests/Raft.Tests
  tests/Mvcc.Tests
  tests/Watch.Tests
  tests/Api.Tests
  tests/Client.Tests
  tests/Node.Tests
  tests/integration
  tests/jepsen-lite/Tests
  tests/Bench.Tests
)
passed=0 failed=0 skipped=0 status=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for p in "${projects[@]}"; do
  [ -d "$p" ] || continue
  echo "== $p"
  if ! dotnet test "$p" -c "$config" --no-build -nologo "$@" 2>&1 | tee "$log"; then
    status=1
  fi
  # VSTest's summary: "Passed!  - Failed:     0, Passed:    42, Skipped:     0, Total:    42, ..."
  line=$(grep -E "(Passed|Failed)! +- +Failed: " "$log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    echo "no test summary from $p"; status=1; continue
  fi
  f=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$line")
  ps=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$line")
  s=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + ps)) failed=$((failed + f)) skipped=$((skipped + s))
done
# The compose cluster test needs Docker (about 2 minutes the first time on a machine without a
# registry); it runs when CAIRN_TEST_COMPOSE=1.
if [ "${CAIRN_TEST_COMPOSE:-0}" = 1 ]; then
  echo "== tests/compose"
  bash ../shared/tools/docker-offline.sh
  if bash tests/compose/compose-test.sh; then passed=$((passed + 1)); else failed=$((failed + 1)); status=1; fi
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || status=1
exit $status
