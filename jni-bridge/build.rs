//! Builds the Java library (`java/src`, package `dev.tmrt`) with the JDK's `javac` (target Java 11)
//! and packs it as `target/java/tmrt.jar`, so that `cargo build` alone yields both halves of tmrt.
//!
//! The JDK is found through `JAVA_HOME`, then the `javac` on `PATH`. Without a JDK the build
//! fails with a message saying so: the Java library is not optional.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let java_src = workspace.join("java").join("src");
    println!("cargo:rerun-if-changed={}", java_src.display());
    println!("cargo:rerun-if-env-changed=JAVA_HOME");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let sources = java_sources(&java_src);

    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { workspace.join(p) })
        .unwrap_or_else(|| workspace.join("target"));
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let jar_dir = target_dir.join("java");
    fs::create_dir_all(&jar_dir).unwrap();
    let jar_path = jar_dir.join("tmrt.jar");
    compile_jar("java/src", &sources, &[], &out.join("java-classes"), &jar_path);
    println!("cargo:rustc-env=TMRT_JAR_PATH={}", jar_path.display());

    build_examples(&workspace, &out, &jar_dir, &jar_path);
}

/// The example jobs of `tmrt demo` (`java/examples/<name>/**.java`), compiled against tmrt.jar
/// into `target/java/examples/<name>.jar`: `demo-lib` (a jar for the TaskManager's own class
/// path), then `clean-job` and `leaky-job` (job jars; the leaky one uses demo-lib). The real
/// Flink jobs `flink-clean-job` and `flink-leaky-job` compile against `flink-stubs`, a few
/// signatures of Flink's API that stay in OUT_DIR (never shipped: at run time the classes come
/// from a Flink distribution's lib/), so that building tmrt needs no Flink.
fn build_examples(workspace: &Path, out: &Path, jar_dir: &Path, tmrt_jar: &Path) {
    let examples = workspace.join("java").join("examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    let dest = jar_dir.join("examples");
    fs::create_dir_all(&dest).unwrap();
    let demo_lib = dest.join("demo-lib.jar");
    for (name, classpath) in [
        ("demo-lib", vec![tmrt_jar.to_path_buf()]),
        ("clean-job", vec![tmrt_jar.to_path_buf()]),
        ("leaky-job", vec![tmrt_jar.to_path_buf(), demo_lib.clone()]),
    ] {
        let sources = java_sources(&examples.join(name));
        let what = format!("java/examples/{name}");
        let classes = out.join(format!("example-{name}"));
        compile_jar(&what, &sources, &classpath, &classes, &dest.join(format!("{name}.jar")));
    }
    let stubs = out.join("flink-stubs.jar");
    compile_jar(
        "java/examples/flink-stubs",
        &java_sources(&examples.join("flink-stubs")),
        &[],
        &out.join("example-flink-stubs"),
        &stubs,
    );
    for name in ["flink-clean-job", "flink-leaky-job"] {
        let sources = java_sources(&examples.join(name));
        let what = format!("java/examples/{name}");
        let classes = out.join(format!("example-{name}"));
        compile_jar(
            &what,
            &sources,
            std::slice::from_ref(&stubs),
            &classes,
            &dest.join(format!("{name}.jar")),
        );
    }
}

/// Compiles `sources` (named `what` in errors) against `classpath` with `javac --release 11`
/// into a fresh `classes` directory, and packs it as `jar_path` (written atomically).
fn compile_jar(what: &str, sources: &[PathBuf], classpath: &[PathBuf], classes: &Path, jar_path: &Path) {
    let _ = fs::remove_dir_all(classes);
    fs::create_dir_all(classes).unwrap();
    let javac = jdk_tool("javac");
    let mut cmd = Command::new(&javac);
    cmd.args(["--release", "11", "-encoding", "UTF-8", "-Xlint:all", "-Xlint:-options"]);
    if !classpath.is_empty() {
        let cp: Vec<String> = classpath.iter().map(|p| p.display().to_string()).collect();
        cmd.arg("-cp").arg(cp.join(":"));
    }
    let status = cmd
        .arg("-d")
        .arg(classes)
        .args(sources)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e} (set JAVA_HOME to a JDK 11+)", javac.display()));
    assert!(status.success(), "javac failed on {what}");

    let tmp = jar_path.with_extension("jar.tmp");
    let _ = fs::remove_file(&tmp);
    let jar = jdk_tool("jar");
    let status = Command::new(&jar)
        .arg("--create")
        .arg("--file")
        .arg(&tmp)
        .arg("-C")
        .arg(classes)
        .arg(".")
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", jar.display()));
    assert!(status.success(), "jar failed for {what}");
    fs::rename(&tmp, jar_path).unwrap();
}

/// The `.java` files under `dir`, sorted, each registered with Cargo as a rebuild trigger.
fn java_sources(dir: &Path) -> Vec<PathBuf> {
    let mut sources = Vec::new();
    collect_java(dir, &mut sources);
    sources.sort();
    for s in &sources {
        println!("cargo:rerun-if-changed={}", s.display());
    }
    sources
}

fn collect_java(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_java(&p, out);
        } else if p.extension().is_some_and(|x| x == "java") {
            out.push(p);
        }
    }
}

fn jdk_tool(name: &str) -> PathBuf {
    if let Some(home) = env::var_os("JAVA_HOME") {
        let p = PathBuf::from(home).join("bin").join(name);
        if p.exists() {
            return p;
        }
    }
    PathBuf::from(name)
}
