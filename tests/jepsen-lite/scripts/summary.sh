#!/usr/bin/env bash
# One markdown row per scenario of a jepsen-lite run directory (the --out DIR of a profile run): scenario, seed,
# length, ops, faults, verdict, and the checkers that were not Valid with their first line.
#   tests/jepsen-lite/scripts/summary.sh DIR
set -euo pipefail
dir=${1:?usage: summary.sh RUN_DIR}
echo "| scenario | seed | length | ops ok / fail / info | txns | watch responses | faults | verdict | not Valid |"
echo "|---|---:|---:|---|---:|---:|---:|---|---|"
for report in "$dir"/*/report.txt; do
  head=$(sed -n 1p "$report")
  scenario=$(awk '{print $2}' <<<"$head"); seed=$(awk '{print $6}' <<<"$head"); length=$(awk '{print $8}' <<<"$head")
  verdict=$(sed -n 's/^verdict: //p' "$report")
  ops=$(sed -n 's/^ops: [0-9]* invoked, \([0-9]*\) ok, \([0-9]*\) fail, \([0-9]*\) info.*/\1 \/ \2 \/ \3/p' "$report")
  txns=$(sed -n 's/.*txns: \([0-9]*\) invoked.*/\1/p' "$report")
  watch=$(sed -n 's/.*watch: \([0-9]*\) event responses.*/\1/p' "$report")
  faults=$(sed -n 's/.*faults: \([0-9]*\).*/\1/p' "$report" | head -1)
  bad=$(grep -E '^[a-z-]+: (Invalid|Unknown)' "$report" | cut -c1-160 | paste -sd';' - | sed 's/|/\\|/g' || true)
  echo "| $scenario | $seed | $length | $ops | ${txns:-} | ${watch:-} | ${faults:-} | $verdict | ${bad:-} |"
done
