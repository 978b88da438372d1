#!/usr/bin/env bash
# The agent's pause budget on big heaps (issue 15): the same program with and without the agent,
# side by side, for each heap size. The program (scripts/pause-budget/PauseWorkload.java) holds
# LIVE small objects, leaves five leak causes behind in closed loaders, forces full collections,
# and a ticker thread records its longest gap. For each run this prints the ticker's worst gap,
# the JVM's own GC time, and, from -Xlog:safepoint, every safepoint the agent caused
# (HeapWalkOperation / HeapIterateOperation) with its "At safepoint" time, and whether every cause
# was named in the agent's report.
#
#   scripts/measure-pause-budget.sh [LIVE_OBJECTS...]     default: 3000000 30000000
#
# Needs a release build (cargo build --release). Environment: BUDGET (default 100ms), RUNS
# (default 1), JAVA (default java).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(3000000 30000000)
budget=${BUDGET:-100ms}
runs=${RUNS:-1}
java=${JAVA:-java}
lib="$root/target/release/libtmrt.so"
[ -f "$lib" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
javac --release 11 -d "$work/plugin" "$root"/tests/agent/causes/plugin/*.java
javac --release 11 -d "$work/app" "$root"/scripts/pause-budget/PauseWorkload.java

printf '%-11s %-6s %6s %12s %8s %s\n' objects agent run worst_gap_ms gc_ms "agent safepoints (At safepoint, ms) / causes named"
for live in "${sizes[@]}"; do
  heap=$(( live / 1000000 * 60 + 512 ))m
  for run in $(seq 1 "$runs"); do
    for mode in off on; do
      log="$work/sp-$live-$mode-$run.log"
      report="$work/r-$live-$run.json"
      args=(-Xmx"$heap" -Xms"$heap" -Xlog:safepoint:file="$log")
      if [ "$mode" = on ]; then
        args+=(-agentpath:"$lib"=report="$report",leak-gc-cycles=2,pause-budget="$budget",log=off)
      fi
      out=$("$java" "${args[@]}" -cp "$work/app" PauseWorkload "$work/plugin/" "$live" 4 4000)
      gap=$(echo "$out" | awk '/^worst_gap_ms/ {print $2}')
      gc=$(echo "$out" | awk '/^gc_ms/ {print $2}')
      agent="-"
      if [ "$mode" = on ]; then
        ops=$(grep -E 'Safepoint "(HeapWalkOperation|HeapIterateOperation)"' "$log" \
          | sed -E 's/.*At safepoint: ([0-9]+) ns.*/\1/' | awk '{printf "%s%.1f", (NR>1?",":""), $1/1e6}' || true)
        named=$(python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
leaked = [l for l in r["loaders"] if (l.get("name") or "").startswith("leak-")]
ok = sum(1 for l in leaked if l["leaked"] and any(s["kind"] != "reference-path" for s in l["suspects"]))
print(f"{ok}/{len(leaked)}")
PY
)
        agent="[${ops:-none}] / $named"
      fi
      printf '%-11s %-6s %6s %12s %8s %s\n' "$live" "$mode" "$run" "$gap" "$gc" "$agent"
    done
  done
done
