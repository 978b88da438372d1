#!/usr/bin/env bash
# Loads every class of a large user classpath through Flink's ChildFirstClassLoader and through
# tmrt's (dev.tmrt.classload.UserCodeClassLoaders), in one JVM, alternating rounds with a fresh
# loader each, flink-dist on the parent (application) classpath. Both must resolve every class to
# the same jar; prints classes/second for both and the ratio.
#
#   scripts/compare-classloading.sh [ROUNDS]      default 6
#
# The user classpath is every jar of .flink/1.20.3 other than flink-dist (lib/, opt/,
# plugins/*/), split deterministically (sorted entries, contiguous chunks, the manifest copied
# into each part) into exactly 100 jars under target/classload-compare/jars. Needs
# scripts/fetch-flink.sh 1.20.3 and a release build (cargo build --release).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-6}
flink="$root/.flink/1.20.3"
dist="$flink/lib/flink-dist-1.20.3.jar"
[ -f "$dist" ] || { echo "no $dist: run scripts/fetch-flink.sh 1.20.3" >&2; exit 1; }
lib="$root/target/release/libtmrt.so"
jar="$root/target/java/tmrt.jar"
[ -f "$lib" ] && [ -f "$jar" ] || (cd "$root" && cargo build --release -p tmrt-jni)
out="$root/target/classload-compare"
mkdir -p "$out"

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
print(f"user classpath: {n} jars from {len(sources)} Flink jars in {dest}")
PY

classes="$out/classes"
rm -rf "$classes" && mkdir -p "$classes"
javac --release 11 -d "$classes" -cp "$dist:$jar" "$root/scripts/classload/ClassLoadComparison.java"
echo "machine: $(nproc) cores, $(java -version 2>&1 | head -1)"
exec java -Xmx4g -Dtmrt.library="$lib" -cp "$dist:$jar:$classes" ClassLoadComparison "$rounds" "$out"/jars/*.jar
