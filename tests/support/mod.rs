//! Shared helpers for the integration tests in `tests/`: where the build put tmrt's artifacts,
//! how to find and run a real JVM, how to compile small Java programs, and where real Flink is.
//!
//! The integration tests are targets of the `tmrt-jni` package (see its `Cargo.toml`), so
//! `cargo test` builds `libtmrt.so`, `tmrt.jar` and the `tmrt` binary before they run.
#![allow(dead_code)]

pub mod flink_cluster;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the directory holding the top `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The `tmrt` binary of this build.
pub fn tmrt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tmrt"))
}

/// `libtmrt.so` of this build. `cargo test` rebuilds the cdylib in `deps/` but only
/// `cargo build` copies it next to the `tmrt` binary, so the newer of the two is the one that
/// matches the code under test.
pub fn libtmrt() -> PathBuf {
    let dir = tmrt_bin().parent().unwrap().to_path_buf();
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let candidates = [dir.join("deps").join("libtmrt.so"), dir.join("libtmrt.so")];
    let newest = candidates
        .iter()
        .filter_map(|p| modified(p).map(|t| (t, p.clone())))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p);
    newest.unwrap_or_else(|| panic!("libtmrt.so not built in {} or its deps/", dir.display()))
}

/// A `tmrt` command that hosts its JVM with this build's `libtmrt.so` (see [`libtmrt`]: the copy
/// next to the binary may be stale after `cargo test`, or missing on a fresh clone).
pub fn tmrt_command() -> Command {
    let mut cmd = Command::new(tmrt_bin());
    cmd.env("TMRT_LIBRARY", libtmrt());
    cmd
}

/// `tmrt.jar` of this build.
pub fn tmrt_jar() -> PathBuf {
    PathBuf::from(tmrt::JAR_PATH)
}

/// A JDK tool (`java`, `javac`, `jar`): `$JAVA_HOME/bin/NAME`, else NAME on `PATH`.
pub fn jdk_tool(name: &str) -> PathBuf {
    if let Some(home) = std::env::var_os("JAVA_HOME") {
        let p = PathBuf::from(home).join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}

/// A fresh scratch directory for one test, under the target directory.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = tmrt_bin()
        .parent()
        .unwrap()
        .join("test-scratch")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles Java sources (`(relative path, text)` pairs) into `out/classes` against `classpath`,
/// and returns the classes directory. Panics with javac's output on a compile error.
pub fn compile_java(out: &Path, sources: &[(&str, &str)], classpath: &[PathBuf]) -> PathBuf {
    let src = out.join("src");
    let classes = out.join("classes");
    std::fs::create_dir_all(&classes).unwrap();
    let mut files = Vec::new();
    for (rel, text) in sources {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        files.push(p);
    }
    let mut cmd = Command::new(jdk_tool("javac"));
    cmd.args(["--release", "11", "-encoding", "UTF-8", "-d"]).arg(&classes);
    if !classpath.is_empty() {
        cmd.arg("-cp").arg(join_classpath(classpath));
    }
    cmd.args(&files);
    let out = cmd.output().expect("run javac");
    assert!(
        out.status.success(),
        "javac failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    classes
}

/// Packs a directory into a jar with the JDK's `jar` tool.
pub fn make_jar(classes: &Path, jar: &Path) {
    let status = Command::new(jdk_tool("jar"))
        .arg("--create")
        .arg("--file")
        .arg(jar)
        .arg("-C")
        .arg(classes)
        .arg(".")
        .status()
        .expect("run jar");
    assert!(status.success(), "jar failed for {}", jar.display());
}

pub fn join_classpath(parts: &[PathBuf]) -> String {
    parts
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Runs `java` with `args` and returns its output.
pub fn run_java(args: &[&str]) -> Output {
    Command::new(jdk_tool("java")).args(args).output().expect("run java")
}

/// The flink-dist jar in `home/lib`, whatever its Scala suffix (1.13's is
/// `flink-dist_2.12-1.13.6.jar`).
fn dist_in(home: &Path, version: &str) -> Option<PathBuf> {
    let entries = std::fs::read_dir(home.join("lib")).ok()?;
    entries.flatten().map(|e| e.path()).find(|p| {
        p.file_name().is_some_and(|n| {
            let n = n.to_string_lossy();
            n.starts_with("flink-dist") && n.ends_with(&format!("{version}.jar"))
        })
    })
}

/// The directory of real Flink `version` (`$TMRT_FLINK_HOME` when it holds that version's
/// flink-dist, else `.flink/VERSION` from `scripts/fetch-flink.sh`), or `None` with a message
/// on stderr saying the live comparison is skipped.
pub fn flink_home(version: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("TMRT_FLINK_HOME")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::iter::once(workspace_root().join(".flink").join(version)));
    for c in candidates {
        if dist_in(&c, version).is_some() {
            return Some(c);
        }
    }
    eprintln!(
        "SKIPPED live comparison against Flink {version}: no flink-dist jar \
         (run scripts/fetch-flink.sh {version} or set TMRT_FLINK_HOME)"
    );
    None
}

/// flink-dist of real Flink `version`, if present (see [`flink_home`]).
pub fn flink_dist(version: &str) -> Option<PathBuf> {
    flink_home(version).and_then(|h| dist_in(&h, version))
}
