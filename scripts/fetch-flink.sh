#!/usr/bin/env bash
# Assembles real Apache Flink from PyPI as complete FLINK_HOMEs, so that tests and benchmarks can
# compare tmrt against Flink's own classes and run it inside a real Flink session cluster.
#
#   scripts/fetch-flink.sh [VERSION...]     default: 1.20.3
#
# Each VERSION becomes ${TMRT_CACHE_DIR:-$HOME/.cache/tmrt}/flink/VERSION (outside the clone, so
# that clones share it), and .flink/VERSION in the clone is a symlink to it. A FLINK_HOME holds
#   lib/ opt/ plugins/ bin/bash-java-utils.jar  the sdist of apache-flink-libraries==VERSION (deps/)
#   bin/ conf/                                  apache-flink==VERSION: pyflink/ of its wheel for
#                                               this Python, else deps/ of its sdist
#   log/                                        empty
# When apache-flink==VERSION yields no scripts, the home is lib-only: enough for the class-level
# comparisons, not for a cluster; the script says so and tries the scripts again on its next run.
#
# A home is built in a temporary directory beside its destination and renamed into place, so it
# is either complete (it has .tmrt-home) or absent; a complete one is kept (idempotent). A real
# .flink/VERSION directory left by an older version of this script lends its jars (hard links)
# when it holds flink-dist and bash-java-utils.jar, and is then replaced by the symlink.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache_root=${TMRT_CACHE_DIR:-${HOME:-/tmp}/.cache/tmrt}
mkdir -p "$cache_root/flink"
cache=$(cd "$cache_root/flink" && pwd)
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(1.20.3)
shopt -s nullglob
work_dirs=()
trap 'rm -rf "${work_dirs[@]}"' EXIT

pip_download() { # DIR ARGS...: pip download, quiet, into DIR
  local dir=$1
  shift
  python3 -m pip download --quiet --disable-pip-version-check --no-deps -d "$dir" "$@"
}

has_jars() { # DIR VERSION: flink-dist and bash-java-utils.jar are there
  compgen -G "$1/lib/flink-dist*$2.jar" >/dev/null && [ -f "$1/bin/bash-java-utils.jar" ]
}

# Puts lib/ opt/ plugins/ licenses/ bin/bash-java-utils.jar of VERSION into STAGE: hard links to
# an earlier complete copy when there is one, else the apache-flink-libraries sdist from PyPI.
stage_jars() { # VERSION STAGE WORK
  local v=$1 stage=$2 work=$3 from
  for from in "$cache/$v" "$root/.flink/$v"; do
    if [ -d "$from" ] && has_jars "$from" "$v"; then
      echo "flink $v: taking the jars of $from"
      for d in lib opt plugins licenses; do
        [ -d "$from/$d" ] && { cp -al "$from/$d" "$stage/$d" 2>/dev/null || cp -a "$from/$d" "$stage/$d"; }
      done
      mkdir -p "$stage/bin"
      cp -l "$from/bin/bash-java-utils.jar" "$stage/bin/" 2>/dev/null || cp "$from/bin/bash-java-utils.jar" "$stage/bin/"
      return 0
    fi
  done
  echo "flink $v: downloading apache-flink-libraries==$v (sdist) from PyPI"
  mkdir -p "$work/libs"
  # The sdist, not the wheel: only the sdist ships bin/bash-java-utils.jar (2.x's wheel has none).
  pip_download "$work/libs" --no-binary :all: "apache-flink-libraries==$v"
  local sdists=("$work"/libs/*.tar.gz)
  [ ${#sdists[@]} -gt 0 ] || { echo "flink $v: pip gave no sdist of apache-flink-libraries" >&2; return 1; }
  tar -xzf "${sdists[0]}" -C "$work/libs" --wildcards '*/deps/*'
  local deps=("$work"/libs/*/deps)
  cp -al "${deps[0]}"/. "$stage"/
  compgen -G "$stage/lib/flink-dist*$v.jar" >/dev/null \
    || { echo "flink $v: no flink-dist jar in apache-flink-libraries==$v" >&2; return 1; }
}

# Puts Flink's start scripts (bin/) and shipped configuration (conf/) of VERSION into STAGE, from
# the apache-flink package. Returns 1, saying why, when there are none for this Python.
stage_scripts() { # VERSION STAGE WORK
  local v=$1 stage=$2 work=$3 src=""
  mkdir -p "$work/py"
  if ! pip_download "$work/py" "apache-flink==$v" 2>"$work/py.err"; then
    echo "flink $v: no apache-flink==$v for $(python3 -V) from PyPI ($(tail -n 1 "$work/py.err"))"
    return 1
  fi
  local wheels=("$work"/py/*.whl) sdists=("$work"/py/*.tar.gz)
  if [ ${#wheels[@]} -gt 0 ]; then
    (cd "$work/py" && python3 -m zipfile -e "${wheels[0]}" x)
    src="$work/py/x/pyflink"
  elif [ ${#sdists[@]} -gt 0 ]; then
    tar -xzf "${sdists[0]}" -C "$work/py"
    local deps=("$work"/py/*/deps)
    [ ${#deps[@]} -gt 0 ] && src="${deps[0]}"
  fi
  if [ -z "$src" ] || [ ! -f "$src/bin/taskmanager.sh" ] || [ ! -d "$src/conf" ]; then
    echo "flink $v: apache-flink==$v holds no bin/taskmanager.sh and conf/"
    return 1
  fi
  mkdir -p "$stage/bin"
  cp -r "$src/bin"/. "$stage/bin/"
  cp -r "$src/conf" "$stage/conf"
  chmod +x "$stage"/bin/*.sh "$stage/bin/flink"
}

# Builds the home of VERSION in a temporary directory and renames it into place.
assemble() { # VERSION
  local v=$1 home="$cache/$1" work stage what
  work=$(mktemp -d "$cache/.build-$v.XXXXXX")
  work_dirs+=("$work")
  stage="$work/home"
  mkdir -p "$stage"
  stage_jars "$v" "$stage" "$work"
  if stage_scripts "$v" "$stage" "$work"; then
    what="jars+scripts"
  else
    what="jars"
    echo "flink $v: lib-only (class-level comparisons only, no cluster)"
  fi
  mkdir -p "$stage/log"
  echo "$what" >"$stage/.tmrt-home"
  if [ -e "$home" ]; then
    mv -T "$home" "$work/old"
  fi
  if ! mv -T "$stage" "$home" 2>/dev/null; then
    # Another run put a home there first; keep it when it is complete.
    [ -f "$home/.tmrt-home" ] || { echo "flink $v: cannot move $stage to $home" >&2; return 1; }
  fi
  rm -rf "$work"
  echo "flink $v: $(ls "$home"/lib | wc -l) jars, $what, in $home"
}

# Points .flink/VERSION at the home; a real directory there (older runs) is replaced.
link() { # VERSION
  local v=$1 home="$cache/$1" dest="$root/.flink/$1" tmp
  mkdir -p "$root/.flink"
  [ -L "$dest" ] && [ "$(readlink "$dest")" = "$home" ] && return 0
  tmp="$root/.flink/.link-$v.$$"
  ln -sfn "$home" "$tmp"
  if [ -d "$dest" ] && [ ! -L "$dest" ]; then
    mv -T "$dest" "$root/.flink/.old-$v.$$"
    mv -T "$tmp" "$dest"
    rm -rf "$root/.flink/.old-$v.$$"
    echo "flink $v: replaced the directory .flink/$v by a link to $home"
  else
    mv -T "$tmp" "$dest"
  fi
}

for v in "${versions[@]}"; do
  state=$(cat "$cache/$v/.tmrt-home" 2>/dev/null || true)
  case "$state" in
    jars+scripts) echo "flink $v: already in $cache/$v" ;;
    jars) echo "flink $v: $cache/$v is lib-only; trying for its scripts again" && assemble "$v" ;;
    *) assemble "$v" ;;
  esac
  link "$v"
done
