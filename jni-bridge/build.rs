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
    let classes = out.join("java-classes");
    compile_classes("java/src", &sources, &[], &classes);
    let dropins = build_dropins(&workspace, &out, &classes);
    let mut parts = vec![classes];
    parts.extend(dropins);
    pack_jar("java/src", &parts, &jar_path);
    println!("cargo:rustc-env=TMRT_JAR_PATH={}", jar_path.display());

    build_examples(&workspace, &out, &jar_dir, &jar_path);
}

/// The example jobs of `tmrt demo` (`java/examples/<name>/**.java`), compiled against tmrt.jar
/// into `target/java/examples/<name>.jar`: `demo-lib` (a jar for the TaskManager's own class
/// path), then `clean-job` and `leaky-job` (job jars; the leaky one uses demo-lib).
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
}

/// Compiles `sources` (named `what` in errors) against `classpath` with `javac --release 11`
/// into a fresh `classes` directory, and packs it as `jar_path` (written atomically).
fn compile_jar(what: &str, sources: &[PathBuf], classpath: &[PathBuf], classes: &Path, jar_path: &Path) {
    compile_classes(what, sources, classpath, classes);
    pack_jar(what, &[classes.to_path_buf()], jar_path);
}

/// Compiles `sources` (named `what` in errors) against `classpath` with `javac --release 11`
/// into a fresh `classes` directory.
fn compile_classes(what: &str, sources: &[PathBuf], classpath: &[PathBuf], classes: &Path) {
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
}

/// Packs the contents of the `parts` directories (in order) as `jar_path` (written atomically).
fn pack_jar(what: &str, parts: &[PathBuf], jar_path: &Path) {
    let tmp = jar_path.with_extension("jar.tmp");
    let _ = fs::remove_file(&tmp);
    let jar = jdk_tool("jar");
    let mut cmd = Command::new(&jar);
    cmd.arg("--create").arg("--file").arg(&tmp);
    // No META-INF/MANIFEST.MF: with runtime= the agent appends tmrt.jar to the application
    // class path, where a manifest would show up in getResources("META-INF/MANIFEST.MF").
    cmd.arg("--no-manifest");
    for part in parts {
        cmd.arg("-C").arg(part).arg(".");
    }
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", jar.display()));
    assert!(status.success(), "jar failed for {what}");
    fs::rename(&tmp, jar_path).unwrap();
}

/// The drop-in replacements of Flink classes (`java/dropin/<component>/`), compiled against the
/// stubs of Flink's types (`java/flink-stubs/`, never packaged) and tmrt's own classes. Returns
/// one directory per component laid out as tmrt.jar entries: the classes that `shape.txt` names
/// (`class a/b/C` lines: replacements of Flink's classes) and `shape.txt` itself under
/// `META-INF/tmrt/dropin/<component>/`, so that nothing loads them by accident; every other class
/// (helpers) at its ordinary place.
fn build_dropins(workspace: &Path, out: &Path, tmrt_classes: &Path) -> Vec<PathBuf> {
    let stubs_src = workspace.join("java").join("flink-stubs");
    let dropin_src = workspace.join("java").join("dropin");
    println!("cargo:rerun-if-changed={}", stubs_src.display());
    println!("cargo:rerun-if-changed={}", dropin_src.display());
    let stubs = out.join("flink-stubs");
    compile_classes("java/flink-stubs", &java_sources(&stubs_src), &[], &stubs);

    let mut components: Vec<PathBuf> = fs::read_dir(&dropin_src)
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    components.sort();
    let mut staged = Vec::new();
    for dir in components {
        let component = dir.file_name().unwrap().to_string_lossy().to_string();
        let what = format!("java/dropin/{component}");
        let shape_path = dir.join("shape.txt");
        println!("cargo:rerun-if-changed={}", shape_path.display());
        let shape = fs::read_to_string(&shape_path).unwrap_or_else(|e| panic!("{what}/shape.txt: {e}"));
        let replaced: Vec<&str> = shape
            .lines()
            .filter_map(|l| l.trim().strip_prefix("class "))
            .map(str::trim)
            .collect();
        let classes = out.join(format!("dropin-{component}-classes"));
        compile_classes(
            &what,
            &java_sources(&dir),
            &[stubs.clone(), tmrt_classes.to_path_buf()],
            &classes,
        );
        let stage = out.join(format!("dropin-{component}-jar"));
        let _ = fs::remove_dir_all(&stage);
        let meta = stage.join("META-INF").join("tmrt").join("dropin").join(&component);
        fs::create_dir_all(&meta).unwrap();
        fs::copy(&shape_path, meta.join("shape.txt")).unwrap();
        let mut files = Vec::new();
        collect_files(&classes, &mut files);
        for file in files {
            let rel = file.strip_prefix(&classes).unwrap();
            let name = rel.to_string_lossy().trim_end_matches(".class").to_string();
            let dest = if replaced.contains(&name.as_str()) {
                meta.join(rel)
            } else {
                stage.join(rel)
            };
            fs::create_dir_all(dest.parent().unwrap()).unwrap();
            fs::copy(&file, &dest).unwrap();
        }
        for name in &replaced {
            assert!(
                meta.join(format!("{name}.class")).exists(),
                "{what}/shape.txt names class {name}, which {what} does not define"
            );
        }
        staged.push(stage);
    }
    staged
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
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
