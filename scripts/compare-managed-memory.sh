#!/usr/bin/env bash
# Times Flink 1.20.3's org.apache.flink.runtime.memory.MemoryManager against
# dev.tmrt.memory.MemoryManager in ONE JVM: same budget (2048 pages), same page size, batches of
# 1, 64 and 1024 pages allocated for an owner and released; warm-up of both, then alternating
# rounds. Prints ns per page (median over rounds) for both and the ratio Flink / tmrt.
#
# Usage: scripts/compare-managed-memory.sh [pageSize=32768] [rounds=10] [pagesPerRound=400000]
# Flink's jars come from PyPI (apache-flink-libraries==1.20.3) through scripts/fetch-flink.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

FLINK_VERSION=1.20.3
FLINK_HOME=${TMRT_FLINK_HOME:-.flink/$FLINK_VERSION}
if [ ! -f "$FLINK_HOME/lib/flink-dist-$FLINK_VERSION.jar" ]; then
    scripts/fetch-flink.sh "$FLINK_VERSION"
fi
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVAC=${JAVA_HOME:+$JAVA_HOME/bin/}javac

cargo build --release -p tmrt-jni >&2

OUT=target/compare-managed-memory
rm -rf "$OUT" && mkdir -p "$OUT/classes"
CP="target/java/tmrt.jar"
for jar in "$FLINK_HOME"/lib/*.jar; do CP="$CP:$jar"; done
"$JAVAC" --release 11 -encoding UTF-8 -d "$OUT/classes" -cp "$CP" \
    scripts/compare-managed-memory/CompareManagedMemory.java

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
exec "$JAVA" -Xms512m -Xmx512m -XX:+UseParallelGC \
    -Dlog4j2.StatusLogger.level=OFF \
    -Dtmrt.library="$PWD/target/release/libtmrt.so" \
    -cp "$OUT/classes:$CP" CompareManagedMemory "$@"
