#!/usr/bin/env bash
# Loads every class of a user classpath with a fresh loader of each kind, in one JVM, alternating
# the order every round, and prints Flink's ChildFirstClassLoader, tmrt's loader (cold: jars it
# has not indexed before; restart: the same jars again, whose index is reused) and the limit (a
# loader that only defines bytes already in memory) side by side: medians of wall-clock time and
# of the loading thread's CPU time, each as a multiple of the limit. Every side must resolve every
# class and resource the same way (exit 2 otherwise). See scripts/classload/ClassLoadComparison.java.
#
#   scripts/compare-classloading.sh [ROUNDS] [WORKLOAD...]     default 7, both workloads
#
# Workloads:
#   fatjar   the 42 jars of /usr/share/maven/lib (Debian's maven package: 6,235 classes of
#            third-party libraries), the platform loader as parent, Flink's default patterns
#   flink100 every jar of .flink/1.20.3 other than flink-dist (lib/, opt/, plugins/*/), split
#            deterministically into exactly 100 jars, flink-dist on the parent (application) class
#            path
# Needs scripts/fetch-flink.sh 1.20.3 (Flink's loader and options) and a release build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-7}
shift || true
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(fatjar flink100)
flink="$root/.flink/1.20.3"
dist="$flink/lib/flink-dist-1.20.3.jar"
[ -f "$dist" ] || { echo "no $dist: run scripts/fetch-flink.sh 1.20.3" >&2; exit 1; }
lib="$root/target/release/libtmrt.so"
jar="$root/target/java/tmrt.jar"
[ -f "$lib" ] && [ -f "$jar" ] || (cd "$root" && cargo build --release -p tmrt-jni)
out="$root/target/classload-compare"
mkdir -p "$out"
classes="$out/classes"
rm -rf "$classes" && mkdir -p "$classes"
javac --release 11 -d "$classes" -cp "$dist:$jar" "$root/scripts/classload/ClassLoadComparison.java"
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(java -version 2>&1 | head -1)"

for w in "${workloads[@]}"; do
  case "$w" in
    fatjar)
      if ! ls /usr/share/maven/lib/*.jar >/dev/null 2>&1; then
        echo "SKIPPED fatjar: no /usr/share/maven/lib (apt-get install maven)"; continue
      fi
      echo "== fatjar: /usr/share/maven/lib"
      java -Xmx4g -Dtmrt.library="$lib" -Dcopies="$out" -cp "$dist:$jar:$classes" ClassLoadComparison "$rounds" platform /usr/share/maven/lib/*.jar
      ;;
    flink100)
      python3 - "$flink" "$out/jars" 100 <<'PY'
import glob, os, shutil, sys, zipfile
flink, dest, target = sys.argv[1], sys.argv[2], int(sys.argv[3])
sources = sorted(p for p in glob.glob(f"{flink}/lib/*.jar") if "flink-dist" not in p)
sources += sorted(glob.glob(f"{flink}/opt/*.jar")) + sorted(glob.glob(f"{flink}/plugins/*/*.jar"))
shutil.rmtree(dest, ignore_errors=True)
os.makedirs(dest)
counts = {s: len(zipfile.ZipFile(s).namelist()) for s in sources}
parts = {s: 1 for s in sources}
# Give extra parts to the jars with the most entries per part until there are `target` jars.
while sum(parts.values()) < target:
    s = max(sources, key=lambda s: counts[s] / parts[s])
    parts[s] += 1
n = 0
for s in sources:
    z = zipfile.ZipFile(s)
    infos = sorted(z.infolist(), key=lambda i: i.filename)
    manifest = next((i for i in infos if i.filename == "META-INF/MANIFEST.MF"), None)
    body = [i for i in infos if i is not manifest]
    k = parts[s]
    size = -(-len(body) // k)
    base = os.path.splitext(os.path.basename(s))[0]
    for p in range(k):
        chunk = body[p * size:(p + 1) * size]
        with zipfile.ZipFile(f"{dest}/{n:03d}-{base}-part{p}.jar", "w", zipfile.ZIP_DEFLATED) as w:
            for i in ([manifest] if manifest is not None else []) + chunk:
                # A fresh ZipInfo: writestr updates the one it is given (offsets, sizes).
                info = zipfile.ZipInfo(i.filename, date_time=i.date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = i.external_attr
                w.writestr(info, z.read(i.filename))
        n += 1
PY
      echo "== flink100: .flink/1.20.3 split into 100 jars"
      java -Xmx4g -Dtmrt.library="$lib" -Dcopies="$out" -cp "$dist:$jar:$classes" ClassLoadComparison "$rounds" app "$out"/jars/*.jar
      ;;
    *) echo "unknown workload $w (fatjar, flink100)" >&2; exit 2 ;;
  esac
done
