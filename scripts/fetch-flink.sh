#!/usr/bin/env bash
# Fetches real Apache Flink (the jars the PyPI package apache-flink-libraries ships) into
# .flink/<version>/ so that tests and benchmarks can compare tmrt against Flink's own classes.
#
#   scripts/fetch-flink.sh [VERSION...]     default: 1.20.3
#
# Layout after a run: .flink/<version>/lib/flink-dist-<version>.jar (and the other lib/ jars),
# .flink/<version>/bin/bash-java-utils.jar (1.x), .flink/<version>/opt, .flink/<version>/plugins.
# Idempotent: a version already present is skipped. Tests find it through TMRT_FLINK_HOME or
# this default location, and skip with a message when it is absent.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.20.3)
for v in "${versions[@]}"; do
  dest="$root/.flink/$v"
  if compgen -G "$dest/lib/flink-dist*$v.jar" >/dev/null; then
    echo "flink $v: already in $dest"
    continue
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "flink $v: downloading apache-flink-libraries==$v from PyPI"
  python3 -m pip download --quiet --no-deps -d "$tmp" "apache-flink-libraries==$v"
  mkdir -p "$dest"
  shopt -s nullglob
  sdists=("$tmp"/*.tar.gz)
  wheels=("$tmp"/*.whl)
  if [ ${#sdists[@]} -gt 0 ]; then
    tar -xzf "${sdists[0]}" -C "$tmp"
    src=$(echo "$tmp"/apache-flink-libraries-*/deps)
    cp -r "$src"/. "$dest"/
  elif [ ${#wheels[@]} -gt 0 ]; then
    (cd "$tmp" && python3 -m zipfile -e "${wheels[0]}" wheel)
    cp -r "$tmp"/wheel/pyflink/lib "$dest"/lib
    [ -d "$tmp"/wheel/pyflink/opt ] && cp -r "$tmp"/wheel/pyflink/opt "$dest"/opt
    [ -d "$tmp"/wheel/pyflink/plugins ] && cp -r "$tmp"/wheel/pyflink/plugins "$dest"/plugins
  else
    echo "flink $v: pip gave neither an sdist nor a wheel" >&2
    exit 1
  fi
  rm -rf "$tmp"
  trap - EXIT
  echo "flink $v: $(ls "$dest"/lib | wc -l) jars in $dest/lib"
done
