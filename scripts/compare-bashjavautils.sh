#!/usr/bin/env bash
# End-to-end cost of one TaskManager memory derivation as bin/config.sh pays it:
# one `tmrt memory --format bash` process against one `java ... BashJavaUtils GET_TM_RESOURCE_PARAMS`
# process (Flink 1.20.3), same configuration directory, same -D. First checks that both print the
# same two BASH_JAVA_UTILS_EXEC_RESULT lines, then times both with hyperfine (apt: hyperfine), or
# with a plain loop when hyperfine is absent.
#
#   scripts/compare-bashjavautils.sh [RUNS]      default 30 runs each
#
# Needs: cargo build --release (target/release/tmrt), scripts/fetch-flink.sh 1.20.3, java on PATH.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-30}
flink="${TMRT_FLINK_HOME:-$root/.flink/1.20.3}"
tmrt="$root/target/release/tmrt"
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
cp="$flink/bin/bash-java-utils.jar:$flink/lib/flink-dist-1.20.3.jar"
[ -x "$tmrt" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -f "$flink/lib/flink-dist-1.20.3.jar" ] || { echo "fetch Flink first: scripts/fetch-flink.sh 1.20.3" >&2; exit 1; }

conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT
cat > "$conf/flink-conf.yaml" <<'YAML'
taskmanager.memory.process.size: 1728m
taskmanager.numberOfTaskSlots: 2
YAML
# A log4j config as bin/config.sh passes one; BashJavaUtils logs the breakdown through it.
printf 'rootLogger.level = OFF\n' > "$conf/log4j-bash.properties"

flink_cmd="$java -Dlog4j.configurationFile=file:$conf/log4j-bash.properties -cp $cp org.apache.flink.runtime.util.bash.BashJavaUtils GET_TM_RESOURCE_PARAMS --configDir $conf -D taskmanager.memory.managed.fraction=0.3"
tmrt_cmd="$tmrt memory --format bash --flink-version 1.20 --conf-dir $conf -D taskmanager.memory.managed.fraction=0.3"

flink_out=$($flink_cmd | grep '^BASH_JAVA_UTILS_EXEC_RESULT:')
tmrt_out=$($tmrt_cmd)
if [ "$flink_out" != "$tmrt_out" ]; then
  echo "OUTPUTS DIFFER" >&2
  diff <(echo "$flink_out") <(echo "$tmrt_out") >&2 || true
  exit 1
fi
echo "identical output:"
echo "$tmrt_out"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(java -version 2>&1 | head -1)"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 3 --runs "$runs" -N \
    --command-name "tmrt memory --format bash" "$tmrt_cmd" \
    --command-name "BashJavaUtils GET_TM_RESOURCE_PARAMS" "$flink_cmd"
else
  for name in tmrt flink; do
    cmd=${name}_cmd
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do ${!cmd} >/dev/null 2>&1; done
    end=$(date +%s%N)
    echo "$name: $(( (end - start) / runs / 1000 )) µs per call (mean of $runs)"
  done
fi
