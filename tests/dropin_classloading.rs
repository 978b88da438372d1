//! The drop-in runtime's classloading half (`-agentpath:libtmrt.so=runtime=classloading`)
//! against real Flink 1.13.6, 1.20.3 and 2.2.0 (each skipped with a message when its jars are
//! absent):
//! - a differential run: long seeded sequences through Flink's own `FlinkUserCodeClassLoaders`
//!   (`tests/dropin/Differential.java`) in a plain JVM and in one with the agent, over jars built
//!   here (manifests with package sections, a `Class-Path`, multi-release, odd resource names, a
//!   fat jar of real libraries, a missing jar, a directory), compared line by line — every answer,
//!   defining loader, code source, package, exception class and message, handler call — while
//!   `/metrics` must say `tmrt_runtime_active{component="classloading"} 1` and the class must
//!   really be tmrt's;
//! - fail-safe: an unexpected shape of Flink's class, a missing or unreadable tmrt.jar, Flink
//!   not on the class path: one line saying why, Flink's class untouched, the same answers.

mod support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

const VERSIONS: [&str; 3] = ["1.13.6", "1.20.3", "2.2.0"];

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn class(pkg: &str, name: &str, tag: &str) -> (String, String) {
    let path = if pkg.is_empty() {
        format!("{name}.java")
    } else {
        format!("{}/{name}.java", pkg.replace('.', "/"))
    };
    let decl = if pkg.is_empty() {
        String::new()
    } else {
        format!("package {pkg}; ")
    };
    (
        path,
        format!("{decl}public class {name} {{ public static String who() {{ return \"{tag}\"; }} }}"),
    )
}

/// Compiles `classes` into a fresh directory, adds `resources`, packs a jar (with `manifest`).
fn jar(
    dir: &Path,
    name: &str,
    classes: &[(String, String)],
    resources: &[(&str, &str)],
    manifest: Option<&str>,
) -> PathBuf {
    jar_with(dir, name, classes, &[], resources, manifest)
}

fn jar_with(
    dir: &Path,
    name: &str,
    classes: &[(String, String)],
    classpath: &[PathBuf],
    resources: &[(&str, &str)],
    manifest: Option<&str>,
) -> PathBuf {
    let work = dir.join(format!("{name}-build"));
    let out = if classes.is_empty() {
        let c = work.join("classes");
        std::fs::create_dir_all(&c).unwrap();
        c
    } else {
        let sources: Vec<(&str, &str)> = classes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        compile_java(&work, &sources, classpath)
    };
    for (rel, text) in resources {
        write(&out, rel, text);
    }
    let path = dir.join(format!("{name}.jar"));
    let mut cmd = Command::new(jdk_tool("jar"));
    cmd.arg("--create").arg("--file").arg(&path);
    if let Some(m) = manifest {
        let mf = work.join("manifest.txt");
        std::fs::write(&mf, m).unwrap();
        cmd.arg("--manifest").arg(mf);
    }
    assert!(
        cmd.arg("-C").arg(&out).arg(".").status().unwrap().success(),
        "jar {name}"
    );
    path
}

/// A fat jar of real libraries: the entries of a few jars of /usr/share/maven/lib merged (when
/// that directory exists), else of generated classes.
fn fat_jar(dir: &Path) -> (PathBuf, Vec<String>) {
    let merged = dir.join("fat-contents");
    std::fs::create_dir_all(&merged).unwrap();
    let libs = ["commons-lang3.jar", "commons-cli.jar", "commons-io.jar"];
    let mut any = false;
    for l in libs {
        let p = Path::new("/usr/share/maven/lib").join(l);
        if p.is_file() {
            let st = Command::new(jdk_tool("jar"))
                .arg("xf")
                .arg(std::fs::canonicalize(&p).unwrap())
                .current_dir(&merged)
                .status()
                .unwrap();
            assert!(st.success());
            any = true;
        }
    }
    if !any {
        let sources: Vec<(String, String)> = (0..300)
            .map(|i| class(&format!("fat.p{}", i % 7), &format!("C{i}"), "fat"))
            .collect();
        let s: Vec<(&str, &str)> = sources.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        let c = compile_java(&dir.join("fat-build"), &s, &[]);
        let st = Command::new("cp")
            .arg("-r")
            .arg(format!("{}/.", c.display()))
            .arg(&merged)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let _ = std::fs::remove_file(merged.join("META-INF/MANIFEST.MF"));
    let path = dir.join("fat.jar");
    let st = Command::new(jdk_tool("jar"))
        .arg("--create")
        .arg("--file")
        .arg(&path)
        .arg("-C")
        .arg(&merged)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let mut names = Vec::new();
    collect(&merged, &merged, &mut names);
    names.sort();
    (path, names)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else {
            out.push(p.strip_prefix(root).unwrap().to_string_lossy().to_string());
        }
    }
}

/// The scratch fixture: jars, and the lists of URLs, classes and resources the harness draws from.
fn fixture(test: &str) -> PathBuf {
    let dir = scratch_dir(test);
    jar(
        &dir,
        "parent",
        &[
            class("com.acme", "Dup", "parent"),
            class("com.acme", "ParentOnly", "parent"),
            class("org.apache.flink", "Shared", "parent"),
        ],
        &[("app.conf", "parent"), ("parent-only.txt", "p")],
        None,
    );
    // Broken extends a class that no loader has: it fails to link.
    let missing = compile_java(
        &dir.join("missing-build"),
        &[("com/acme/Missing.java", "package com.acme; public class Missing {}")],
        &[],
    );
    jar_with(
        &dir,
        "user1",
        &[
            class("com.acme", "Dup", "user1"),
            class("com.acme", "UserOnly", "user1"),
            class("org.apache.flink", "Shared", "user1"),
            class("org.apache.flink", "UserSide", "user1"),
            class("", "Toplevel", "user1"),
            ("com/acme/Broken.java".to_string(), "package com.acme; public class Broken extends com.acme.Missing {}".to_string()),
        ],
        &[missing],
        &[("app.conf", "user1"), ("dir with space/file name.txt", "s"), ("q/what?.txt", "q"), ("q/ünïcode.txt", "u"), ("q/semi;colon=x.txt", "s")],
        Some("Implementation-Title: acme-user\nImplementation-Version: 1.2.3\nSpecification-Title: acme-spec\n\nName: com/acme/\nImplementation-Title: acme-pkg\nSealed: true\n"),
    );
    jar(
        &dir,
        "extra",
        &[
            class("com.extra", "FromClassPath", "extra"),
            class("com.acme", "Dup", "extra"),
        ],
        &[("app.conf", "extra")],
        None,
    );
    jar(
        &dir,
        "user2",
        &[class("com.acme", "Dup", "user2"), class("com.plain", "Plain", "user2")],
        &[("app.conf", "user2")],
        Some("Class-Path: extra.jar does-not-exist.jar\n"),
    );
    let mr_work = dir.join("mr-build");
    write(&mr_work.join("base"), "mr.txt", "base");
    write(&mr_work.join("v11"), "mr.txt", "eleven");
    write(&mr_work, "manifest.txt", "Multi-Release: true\n");
    let st = Command::new(jdk_tool("jar"))
        .args(["--create", "--file"])
        .arg(dir.join("multi.jar"))
        .arg("--manifest")
        .arg(mr_work.join("manifest.txt"))
        .arg("-C")
        .arg(mr_work.join("base"))
        .arg(".")
        .args(["--release", "11", "-C"])
        .arg(mr_work.join("v11"))
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let classes_dir = compile_java(
        &dir.join("dir-build"),
        &[("com/dir/InDir.java", "package com.dir; public class InDir {}")],
        &[],
    );
    let (_, fat_entries) = fat_jar(&dir);

    let urls = [
        "$D/user1.jar".to_string(),
        "$D/user2.jar".to_string(),
        "$D/multi.jar".to_string(),
        "$D/fat.jar".to_string(),
        "$D/missing.jar".to_string(),
        format!("{}/", classes_dir.display()),
    ];
    let urls: Vec<String> = urls.iter().map(|u| format!("file:{u}")).collect();
    std::fs::write(dir.join("urls.txt"), urls.join("\n") + "\n").unwrap();
    let mut classes: Vec<String> = [
        "com.acme.Dup",
        "com.acme.UserOnly",
        "com.acme.ParentOnly",
        "com.acme.Broken",
        "com.acme.Missing",
        "org.apache.flink.Shared",
        "org.apache.flink.UserSide",
        "com.extra.FromClassPath",
        "com.plain.Plain",
        "Toplevel",
        "com.dir.InDir",
        "java.lang.String",
        "javax.naming.Context",
        "no.such.Clazz",
        "com/acme/Dup",
        "",
        "[Ljava.lang.String;",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let fat_classes: Vec<String> = fat_entries
        .iter()
        .filter(|n| n.ends_with(".class") && !n.starts_with("META-INF/"))
        .map(|n| n.trim_end_matches(".class").replace('/', "."))
        .collect();
    classes.extend(fat_classes.iter().step_by((fat_classes.len() / 60).max(1)).cloned());
    std::fs::write(dir.join("classes.txt"), classes.join("\n") + "\n").unwrap();
    let mut resources: Vec<String> = [
        "app.conf",
        "parent-only.txt",
        "mr.txt",
        "dir with space/file name.txt",
        "q/what?.txt",
        "q/ünïcode.txt",
        "q/semi;colon=x.txt",
        "com/acme/",
        "com/acme",
        "com/acme/Dup.class",
        "META-INF/MANIFEST.MF",
        "nothing.txt",
        "com/dir/InDir.class",
        "/app.conf",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    resources.extend(fat_entries.iter().step_by((fat_entries.len() / 40).max(1)).cloned());
    std::fs::write(dir.join("resources.txt"), resources.join("\n") + "\n").unwrap();
    dir
}

fn harness(dir: &Path) -> PathBuf {
    compile_java(
        &dir.join("harness"),
        &[("Differential.java", include_str!("dropin/Differential.java"))],
        &[],
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs the harness; returns (compared lines, '#' lines, stderr).
fn run(
    classpath: &str,
    agent: Option<&str>,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Vec<String>, Vec<String>, String) {
    let mut cmd = Command::new(jdk_tool("java"));
    cmd.arg("-Xss4m");
    if let Some(a) = agent {
        cmd.arg(format!("-agentpath:{}={a}", libtmrt().display()));
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .arg("-cp")
        .arg(classpath)
        .arg("Differential")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "harness failed ({:?}): {stderr}\n{}",
        out.status,
        stdout.lines().rev().take(5).collect::<Vec<_>>().join("\n")
    );
    let (hash, lines): (Vec<String>, Vec<String>) =
        stdout.lines().map(str::to_string).partition(|l| l.starts_with('#'));
    (lines, hash, stderr)
}

fn flink_classpath(version: &str, harness: &Path) -> Option<String> {
    let home = flink_home(version)?;
    let mut parts: Vec<PathBuf> = std::fs::read_dir(home.join("lib"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    parts.sort();
    parts.push(harness.to_path_buf());
    Some(join_classpath(&parts))
}

fn assert_same(version: &str, plain: &[String], tmrt: &[String]) {
    for (i, (a, b)) in plain.iter().zip(tmrt).enumerate() {
        assert_eq!(
            a, b,
            "Flink {version}: line {i} differs (plain JVM, then runtime=classloading)"
        );
    }
    assert_eq!(plain.len(), tmrt.len(), "Flink {version}: different number of answers");
}

#[test]
fn differential_against_flinks_own_loaders() {
    let dir = fixture("dropin-differential");
    let h = harness(&dir);
    let d = dir.display().to_string();
    for version in VERSIONS {
        let Some(cp) = flink_classpath(version, &h) else {
            continue;
        };
        let seeds = "1,2,3,4";
        let (plain, plain_meta, _) = run(&cp, None, &[], &[&d, seeds, "400"]);
        let port = free_port().to_string();
        let (tmrt, meta, stderr) = run(
            &cp,
            Some(&format!("runtime=classloading,metrics=127.0.0.1:{port},log=off")),
            &[],
            &[&d, seeds, "400", &port],
        );
        assert!(plain_meta.contains(&"#substituted false".to_string()), "{plain_meta:?}");
        assert!(
            meta.contains(&"#substituted true".to_string()),
            "Flink {version}: not substituted: {stderr}"
        );
        assert!(stderr.contains("tmrt agent: runtime classloading active"), "{stderr}");
        assert!(
            meta.contains(&"#metrics tmrt_runtime_active{component=\"classloading\"} 1".to_string()),
            "{meta:?}"
        );
        assert!(
            meta.contains(&"#metrics tmrt_runtime_active{component=\"managed-memory\"} 0".to_string()),
            "{meta:?}"
        );
        assert_same(version, &plain, &tmrt);
        let loads = plain.iter().filter(|l| l.contains(" loadClass ")).count();
        let errors = plain.iter().filter(|l| l.contains("threw ")).count();
        println!(
            "Flink {version}: {} answers identical ({loads} class loads, {errors} exceptions)",
            plain.len()
        );
    }
}

/// Flink 1.20's class as a future version might have it: one more public method.
fn fake_flink(dir: &Path, dist: &Path) -> PathBuf {
    let src = "package org.apache.flink.util; import java.net.URL; import java.util.function.Consumer; \
        public abstract class FlinkUserCodeClassLoader extends MutableURLClassLoader { \
        public static final Consumer<Throwable> NOOP_EXCEPTION_HANDLER = t -> {}; \
        protected final Consumer<Throwable> classLoadingExceptionHandler; \
        protected FlinkUserCodeClassLoader(URL[] u, ClassLoader p) { this(u, p, NOOP_EXCEPTION_HANDLER); } \
        protected FlinkUserCodeClassLoader(URL[] u, ClassLoader p, Consumer<Throwable> h) { super(u, p); classLoadingExceptionHandler = h; } \
        public final Class<?> loadClass(String n, boolean r) throws ClassNotFoundException { \
          try { synchronized (getClassLoadingLock(n)) { return loadClassWithoutExceptionHandling(n, r); } } \
          catch (Throwable t) { classLoadingExceptionHandler.accept(t); throw t; } } \
        protected Class<?> loadClassWithoutExceptionHandling(String n, boolean r) throws ClassNotFoundException { return super.loadClass(n, r); } \
        public void extra() {} \
        static { ClassLoader.registerAsParallelCapable(); } }";
    let classes = compile_java(
        &dir.join("fake"),
        &[("org/apache/flink/util/FlinkUserCodeClassLoader.java", src)],
        &[dist.to_path_buf()],
    );
    let jar = dir.join("fake-flink.jar");
    make_jar(&classes, &jar);
    jar
}

#[test]
fn fail_safe_leaves_flink_untouched_with_one_line() {
    let dir = fixture("dropin-failsafe");
    let h = harness(&dir);
    let d = dir.display().to_string();
    let Some(cp) = flink_classpath("1.20.3", &h) else {
        return;
    };
    let (plain, _, _) = run(&cp, None, &[], &[&d, "7", "150"]);
    let not_a_jar = dir.join("not-a-jar.jar");
    std::fs::write(&not_a_jar, b"not a zip").unwrap();
    let fake = fake_flink(&dir, &flink_dist("1.20.3").unwrap());
    let fake_cp = format!("{}:{cp}", fake.display());
    let (plain_fake, _, _) = run(&fake_cp, None, &[], &[&d, "7", "150"]);
    type Case<'a> = (&'a str, String, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "missing tmrt.jar",
            cp.clone(),
            vec![("TMRT_JAR", "/nonexistent/tmrt.jar".to_string())],
            "tmrt.jar not found",
        ),
        (
            "unreadable tmrt.jar",
            cp.clone(),
            vec![("TMRT_JAR", not_a_jar.display().to_string())],
            "cannot read jar",
        ),
        (
            "unexpected shape",
            fake_cp.clone(),
            vec![],
            "declares method extra ()V that tmrt does not know",
        ),
    ];
    for (what, classpath, env, reason) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (lines, meta, stderr) = run(
            &classpath,
            Some("runtime=classloading,log=off"),
            &env,
            &[&d, "7", "150"],
        );
        let notes: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("tmrt agent: runtime"))
            .collect();
        assert_eq!(notes.len(), 1, "{what}: {stderr}");
        assert!(
            notes[0].contains("not active, Flink's classes stay untouched") && notes[0].contains(reason),
            "{what}: {}",
            notes[0]
        );
        assert!(meta.contains(&"#substituted false".to_string()), "{what}");
        assert_same("1.20.3", if classpath == cp { &plain } else { &plain_fake }, &lines);
    }
    // Without Flink on the class path the component is off too, and the JVM runs.
    let out = Command::new(jdk_tool("java"))
        .arg(format!(
            "-agentpath:{}=runtime=classloading+managed-memory,log=off",
            libtmrt().display()
        ))
        .arg("-version")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success());
    assert!(
        stderr.contains("runtime classloading not active, Flink's classes stay untouched: ")
            && stderr.contains("is not on the class path"),
        "{stderr}"
    );
    assert!(stderr.contains("runtime managed-memory not active"), "{stderr}");
}
