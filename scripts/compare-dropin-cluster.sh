#!/usr/bin/env bash
# tmrt as the TaskManager's runtime in a real Flink session cluster, against the same cluster
# without it: two clusters (one TaskManager, two slots each) up side by side, the one with
# -agentpath:libtmrt.so=runtime=classloading+managed-memory and the one with the agent only
# observing, taking turns job by job (which goes first alternates each round). Prints each job's
# run time (Flink's own `duration`), the TaskManager's CPU time and class-loading time per round,
# and the median ratios over rounds 2.. (round 1 also loads Flink's own classes). The jobs are
# tests/flink/job/dropin/ManagedJobs.java: sort (BATCH keyBy/reduce, 3M records), sql (batch
# join, GROUP BY, ORDER BY), rocksdb (streaming, RocksDB state backend). Results must be
# identical on both sides (the test fails otherwise).
#
#   scripts/compare-dropin-cluster.sh [VERSION] [ROUNDS] [JOBS] [RUNTIME]
#     default 1.20.3 5 sort,sql,rocksdb classloading+managed-memory (RUNTIME: the runtime= value;
#     one component alone tells which one a difference comes from)
#
# Needs scripts/fetch-flink.sh VERSION. About a minute per job and round on two cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export TMRT_DROPIN_VERSION="${1:-1.20.3}"
export TMRT_DROPIN_ROUNDS="${2:-5}"
export TMRT_DROPIN_JOBS="${3:-sort,sql,rocksdb}"
export TMRT_DROPIN_RUNTIME="${4:-classloading+managed-memory}"
[ -d "$root/.flink/$TMRT_DROPIN_VERSION/lib" ] || {
  echo "no .flink/$TMRT_DROPIN_VERSION: run scripts/fetch-flink.sh $TMRT_DROPIN_VERSION" >&2
  exit 1
}
cd "$root"
exec cargo test --release -p tmrt-jni --test dropin_cluster -- --ignored --nocapture --exact \
  interleaved_rounds_with_and_without_the_runtime
