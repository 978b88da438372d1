#!/usr/bin/env bash
# Measures the JVMTI agent's overhead: the same workloads with and without
# -agentpath:target/release/libtmrt.so, runs interleaved, medians reported.
#
#   scripts/measure-agent-overhead.sh [RUNS]        (default RUNS=7)
#
# Workloads (sources in scripts/agent-overhead/):
#   class-loading: 200 URLClassLoaders x 60 generated classes (12,000 class definitions,
#                  a System.gc() every 50 loaders, so classes are unloaded too);
#   steady state:  allocation-heavy HashMap work, no class loading, young GCs.
# Agent configurations: off; on with report=PATH (the default log=info is silenced with
# log=off); on with report and metrics=PORT, scraped every second while the workload runs.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-7}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JAVAC="${JAVA_HOME:+$JAVA_HOME/bin/}javac"

cargo build --release -p tmrt-jni --quiet
LIB="$PWD/target/release/libtmrt.so"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 60 generated classes, each with a static initialiser, fields and a few methods; C<i> uses
# C<i-1>, so loading resolves references across classes of the same loader.
mkdir -p "$WORK/gen-src/gen" "$WORK/gen" "$WORK/bin"
CLASSES=60
for i in $(seq 0 $((CLASSES - 1))); do
  prev=$(( i > 0 ? i - 1 : 0 ))
  cat > "$WORK/gen-src/gen/C$i.java" <<JAVA
package gen;
public class C$i {
    static final int[] TABLE = new int[16];
    static { for (int i = 0; i < TABLE.length; i++) TABLE[i] = i * $i; }
    private final long a; private final String b;
    public C$i(long a, String b) { this.a = a; this.b = b; }
    public long sum() { long s = a; for (int t : TABLE) s += t; return s + b.length(); }
    public int other() { return $( ((i > 0)) && echo "new C$prev(1, \"x\").hashCode()" || echo "0" ); }
    @Override public String toString() { return "C$i(" + a + "," + b + ")"; }
}
JAVA
done
"$JAVAC" --release 11 -d "$WORK/gen" "$WORK"/gen-src/gen/*.java
"$JAVAC" --release 11 -d "$WORK/bin" scripts/agent-overhead/*.java

scrape() { # port: GET /metrics once a second (bash /dev/tcp, no curl needed)
  while sleep 1; do
    { exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >&3 && cat <&3 >/dev/null; exec 3<&-; } 2>/dev/null || true
  done
}

run() { # workload config -> "elapsed_ms/cpu_ms"
  local workload=$1 config=$2 agent=() scraper=""
  case $config in
    off) ;;
    agent) agent=("-agentpath:$LIB=report=$WORK/report.json,log=off") ;;
    agent+metrics)
      local port=$((20000 + RANDOM % 20000))
      agent=("-agentpath:$LIB=report=$WORK/report.json,metrics=$port,log=off")
      scrape "$port" & scraper=$!
      ;;
  esac
  case $workload in
    class-loading) "$JAVA" -Xmx512m "${agent[@]}" -cp "$WORK/bin" ClassLoadingWorkload "$WORK/gen/" 200 "$CLASSES" ;;
    steady) "$JAVA" -Xmx256m "${agent[@]}" -cp "$WORK/bin" SteadyWorkload 10000 ;;
  esac | awk '/^elapsed_ms/ {print $2 "/" $4}'
  if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null; wait "$scraper" 2>/dev/null || true; fi
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $("$JAVA" -version 2>&1 | head -1)"
echo "runs per configuration: $RUNS (interleaved); figures: median wall ms and median process CPU ms (all threads) of the measured loop, JVM start-up excluded"
for workload in class-loading steady; do
  declare -A results=()
  for r in $(seq 1 "$RUNS"); do
    for config in off agent agent+metrics; do
      results[$config]+="$(run $workload $config) "
    done
  done
  base_wall=$(echo ${results[off]} | tr ' ' '\n' | cut -d/ -f1 | median)
  base_cpu=$(echo ${results[off]} | tr ' ' '\n' | cut -d/ -f2 | median)
  for config in off agent agent+metrics; do
    wall=$(echo ${results[$config]} | tr ' ' '\n' | cut -d/ -f1 | median)
    cpu=$(echo ${results[$config]} | tr ' ' '\n' | cut -d/ -f2 | median)
    awk -v w="$workload" -v c="$config" -v m="$wall" -v b="$base_wall" -v p="$cpu" -v q="$base_cpu" -v all="${results[$config]}" \
      'BEGIN {printf "%-14s %-14s wall %6.0f ms (%+6.2f%%)  cpu %6.0f ms (%+6.2f%%)  runs wall/cpu: %s\n", w, c, m, (m - b) * 100 / b, p, (p - q) * 100 / q, all}'
  done
  unset results
done

# The agent's own share of class-loading cost, from its log=debug accounting (time spent in
# tmrt's ClassLoad callback code, measured inside the agent, so immune to machine noise).
"$JAVA" -Xmx512m "-agentpath:$LIB=log=debug" -cp "$WORK/bin" ClassLoadingWorkload "$WORK/gen/" 200 "$CLASSES" 2>&1 \
  | grep -E "^elapsed_ms|ClassLoad callbacks" | sed 's/^/class-loading  log=debug      /'
