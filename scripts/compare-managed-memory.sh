#!/usr/bin/env bash
# Times Flink's org.apache.flink.runtime.memory.MemoryManager against tmrt in ONE JVM, on every
# entry point and Flink's call patterns (batches of 1, 4, 16, 64 and 1024 pages; sorter, hash
# table and spilling patterns; reservations; two threads on one slot): tmrt's own API
# (dev.tmrt.memory.MemoryManager) and Flink's API served by tmrt's drop-in MemoryManager (the
# class the agent substitutes with runtime=managed-memory, here shadowing Flink's on the class
# path; Flink's own class runs in a class loader over Flink's jars alone). Rounds rotate between
# the three; prints the median ns per page of each and the ratios, worst ratio first.
#
# Last line: the floor of any thread-safe reservation (each call changes shared memory with at
# least one atomic read-modify-write: Flink's budget CAS, or tmrt's per-owner lock), measured
# bare, and the bound it puts on the reservation row's ratio.
#
# Usage: scripts/compare-managed-memory.sh [pageSize=32768] [rounds=7] [pagesPerRound=200000]
# Flink's jars come from PyPI through scripts/fetch-flink.sh (FLINK_VERSION, default 1.20.3).
set -euo pipefail
cd "$(dirname "$0")/.."

FLINK_VERSION=${FLINK_VERSION:-1.20.3}
FLINK_HOME=${TMRT_FLINK_HOME:-.flink/$FLINK_VERSION}
if ! ls "$FLINK_HOME"/lib/flink-dist*"$FLINK_VERSION".jar >/dev/null 2>&1; then
    scripts/fetch-flink.sh "$FLINK_VERSION"
fi
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
JAVAC=${JAVA_HOME:+$JAVA_HOME/bin/}javac
JAR=${JAVA_HOME:+$JAVA_HOME/bin/}jar

cargo build --release -p tmrt-jni >&2

OUT=target/compare-managed-memory
rm -rf "$OUT" && mkdir -p "$OUT/classes" "$OUT/dropin"
FLINK_CP=""
for jar in "$FLINK_HOME"/lib/*.jar; do FLINK_CP="$FLINK_CP:$jar"; done
FLINK_CP=${FLINK_CP#:}
"$JAVAC" --release 11 -encoding UTF-8 -d "$OUT/classes" -cp "target/java/tmrt.jar:$FLINK_CP" \
    scripts/compare-managed-memory/*.java
# The drop-in's bytes, as tmrt.jar carries them for the agent.
(cd "$OUT/dropin" && "$JAR" --extract --file "$OLDPWD/target/java/tmrt.jar" META-INF/tmrt/dropin/managed-memory/)
DROPIN="$OUT/dropin/META-INF/tmrt/dropin/managed-memory"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
exec "$JAVA" -Xms1g -Xmx1g -XX:+UseParallelGC \
    --add-opens=java.base/java.nio=ALL-UNNAMED \
    -Dlog4j2.StatusLogger.level=OFF \
    -Dtmrt.library="$PWD/target/release/libtmrt.so" \
    -cp "$OUT/classes:$DROPIN:$FLINK_CP:target/java/tmrt.jar" CompareManagedMemory "$FLINK_HOME/lib" "$@"
