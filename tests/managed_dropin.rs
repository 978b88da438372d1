//! tmrt's drop-in `org.apache.flink.runtime.memory.MemoryManager` against real Flink 1.13.6,
//! 1.20.3 and 2.2.0, in real JVMs. The replacement's bytes are taken from tmrt.jar
//! (`META-INF/tmrt/dropin/managed-memory/`, where the agent substitutes them from) and put before
//! flink-dist on the class path ("shadowing": the same class the agent's substitution defines).
//!
//! - Flink's own tests of `MemoryManager` (ported, `tests/java/managed/dropin/FlinkTests.java`)
//!   pass against Flink's class and against the replacement.
//! - Long seeded sequences of operations (`FlinkOps.java`: every method of the memory manager
//!   and of its segments, failures included) give the same transcript, line by line: every
//!   answer, exception class and message.
//! - `shape.txt` names members that every version's original has.
//!
//! Each test skips, with a message, the Flink versions whose jars are absent.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

const VERSIONS: [&str; 3] = ["1.13.6", "1.20.3", "2.2.0"];
const COMPONENT: &str = "managed-memory";

/// The class path of Flink `version`'s `lib/` (flink-dist and the logging jars).
fn flink_lib(home: &Path) -> Vec<PathBuf> {
    let mut jars: Vec<PathBuf> = std::fs::read_dir(home.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    jars.sort();
    jars
}

/// The drop-in classes of tmrt.jar, extracted once per test into `dir`: the class path entry
/// that shadows Flink's class (`META-INF/tmrt/dropin/managed-memory`).
fn shadow(dir: &Path) -> PathBuf {
    let status = Command::new(jdk_tool("jar"))
        .current_dir(dir)
        .arg("--extract")
        .arg("--file")
        .arg(tmrt_jar())
        .arg(format!("META-INF/tmrt/dropin/{COMPONENT}/"))
        .status()
        .expect("run jar");
    assert!(status.success());
    let root = dir.join("META-INF/tmrt/dropin").join(COMPONENT);
    assert!(
        root.join("org/apache/flink/runtime/memory/MemoryManager.class")
            .exists(),
        "tmrt.jar has no drop-in MemoryManager"
    );
    root
}

/// Compiles `tests/java/managed/dropin/{class}.java` against Flink `home`'s jars.
fn program(dir: &Path, class: &str, lib: &[PathBuf]) -> PathBuf {
    let file = format!("{class}.java");
    let text = std::fs::read_to_string(workspace_root().join("tests/java/managed/dropin").join(&file)).unwrap();
    compile_java(dir, &[(&file, &text)], lib)
}

/// A compiled program and the two class paths to run it with: Flink's own MemoryManager, and
/// tmrt's replacement shadowing it.
struct Sides {
    version: &'static str,
    class: &'static str,
    flink_cp: String,
    tmrt_cp: String,
}

impl Sides {
    /// `tests/java/managed/dropin/{class}.java` compiled against Flink `version`, or `None`
    /// (with a message) when that version is absent.
    fn new(test: &str, version: &'static str, class: &'static str) -> Option<Sides> {
        let home = flink_home(version)?;
        let dir = scratch_dir(&format!("{test}-{version}"));
        let lib = flink_lib(&home);
        let classes = program(&dir, class, &lib);
        let dropin = shadow(&dir);
        Some(Sides {
            version,
            class,
            flink_cp: join_classpath(&[vec![classes.clone()], lib.clone()].concat()),
            tmrt_cp: join_classpath(&[vec![classes, dropin], lib, vec![tmrt_jar()]].concat()),
        })
    }

    /// Runs the program with `args` on both sides: (exit success, stdout, stderr) for each.
    fn run(&self, args: &[&str]) -> [(bool, String, String); 2] {
        let library = format!("-Dtmrt.library={}", libtmrt().display());
        let run = |cp: &str, extra: &[&str]| {
            let mut a: Vec<&str> = vec![
                // What Flink's own MemorySegment needs on JDK 17 (Flink's scripts pass it too).
                "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "-Dlog4j2.StatusLogger.level=OFF",
                "-Xmx512m",
            ];
            a.extend_from_slice(extra);
            a.extend(["-cp", cp, self.class]);
            a.extend_from_slice(args);
            let out = run_java(&a);
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        };
        [run(&self.flink_cp, &[]), run(&self.tmrt_cp, &[&library])]
    }
}

#[test]
fn flinks_own_memory_manager_tests_pass_on_flink_and_on_the_dropin() {
    for version in VERSIONS {
        let Some(sides) = Sides::new("dropin-tests", version, "FlinkTests") else {
            continue;
        };
        let [flink, tmrt] = sides.run(&[]);
        for (who, (ok, stdout, stderr)) in [("Flink", &flink), ("tmrt", &tmrt)] {
            assert!(
                *ok && stdout.contains(" passed, 0 failed"),
                "Flink {version}, {who}'s MemoryManager:\n{stdout}\n{stderr}"
            );
        }
        // The same tests ran on both sides.
        let names = |s: &str| s.lines().filter(|l| l.starts_with("PASS ")).count();
        assert_eq!(names(&flink.1), names(&tmrt.1), "{version}");
        assert!(names(&tmrt.1) >= 25, "{}", tmrt.1);
        eprintln!(
            "Flink {version}: {} of Flink's MemoryManager tests pass on both",
            names(&tmrt.1)
        );
    }
}

#[test]
fn the_dropin_answers_as_flink_does_op_for_op() {
    for version in VERSIONS {
        let Some(sides) = Sides::new("dropin-ops", version, "FlinkOps") else {
            continue;
        };
        for seed in ["1", "2", "3"] {
            let [flink, tmrt] = sides.run(&[seed, "3000"]);
            let version = sides.version;
            assert!(flink.0, "Flink {version}'s run failed:\n{}", flink.2);
            assert!(tmrt.0, "tmrt's run failed (Flink {version}):\n{}", tmrt.2);
            assert!(
                tmrt.2.contains("MemoryManager from file:") && tmrt.2.contains("dropin"),
                "the replacement was not the class in use:\n{}",
                tmrt.2
            );
            let (f, t): (Vec<&str>, Vec<&str>) = (flink.1.lines().collect(), tmrt.1.lines().collect());
            for (a, b) in f.iter().zip(&t) {
                assert_eq!(
                    a, b,
                    "Flink {version}, seed {seed}: first difference (Flink, then tmrt)"
                );
            }
            assert_eq!(
                f.len(),
                t.len(),
                "Flink {version}, seed {seed}: transcripts of different length"
            );
            let failures = f.iter().filter(|l| l.contains(" !! ")).count();
            assert!(
                f.len() > 3000 && failures > 100,
                "too little covered: {} lines",
                f.len()
            );
            eprintln!(
                "Flink {version}, seed {seed}: {} operations, {failures} of them exceptions, identical",
                f.len()
            );
        }
    }
}

#[test]
fn the_shape_file_names_members_every_flink_version_has() {
    let shape =
        std::fs::read_to_string(workspace_root().join("java/dropin").join(COMPONENT).join("shape.txt")).unwrap();
    let items: Vec<&str> = shape
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(items[0], "class org/apache/flink/runtime/memory/MemoryManager");
    for version in VERSIONS {
        let Some(dist) = flink_dist(version) else { continue };
        let out = Command::new(jdk_tool("javap"))
            .args(["-s", "-p", "-cp"])
            .arg(&dist)
            .arg("org.apache.flink.runtime.memory.MemoryManager")
            .output()
            .expect("run javap");
        let javap = String::from_utf8_lossy(&out.stdout);
        // (name, descriptor) pairs of the original, from javap's declaration and descriptor lines.
        let lines: Vec<&str> = javap.lines().collect();
        let mut members = Vec::new();
        for w in lines.windows(2) {
            if let Some(desc) = w[1].trim().strip_prefix("descriptor: ") {
                let decl = w[0].trim();
                let name = match decl.split_once('(') {
                    Some((head, _)) => {
                        let n = head.split_whitespace().last().unwrap_or("");
                        let n = n.rsplit('.').next().unwrap_or(n);
                        if n == "MemoryManager" {
                            "<init>".to_string()
                        } else {
                            n.to_string()
                        }
                    }
                    None => decl
                        .trim_end_matches(';')
                        .split_whitespace()
                        .last()
                        .unwrap_or("")
                        .to_string(),
                };
                members.push(format!("{name} {desc}"));
            }
        }
        for item in &items[1..] {
            let (_, member) = item.split_once(' ').unwrap();
            assert!(
                members.iter().any(|m| m == member),
                "Flink {version}'s MemoryManager lacks {item}"
            );
        }
        eprintln!("Flink {version}: all {} members of shape.txt present", items.len() - 1);
    }
}

/// The agent's report names each owner's pages and reserved bytes: the drop-in books
/// reservations per owner in Java (the slot pool knows only their total), and the agent asks it.
/// An owner that only reserves (a state backend) is listed too; after the releases, nobody is.
#[test]
fn the_agents_report_shows_each_owners_pages_and_reservations() {
    for version in VERSIONS {
        let Some(home) = flink_home(version) else {
            continue;
        };
        let dir = scratch_dir(&format!("dropin-owner-report-{version}"));
        let lib = flink_lib(&home);
        let classes = program(&dir, "OwnerReport", &[lib.clone(), vec![tmrt_jar()]].concat());
        let cp = join_classpath(&[vec![classes, shadow(&dir)], lib, vec![tmrt_jar()]].concat());
        let agent = format!("-agentpath:{}=log=off", libtmrt().display());
        let out = run_java(&[
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "-Dlog4j2.StatusLogger.level=OFF",
            &agent,
            "-cp",
            &cp,
            "OwnerReport",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{version}:\n{stdout}\n{stderr}");
        let slots = |key: &str| {
            let line = stdout
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} ")))
                .unwrap_or_else(|| panic!("{version}: no {key} line:\n{stdout}\n{stderr}"));
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            v["runtime"]["slots"].as_array().unwrap().clone()
        };
        let held = slots("HELD");
        assert_eq!(held.len(), 1, "{version}: {held:?}");
        let owners: Vec<(u64, u64, u64)> = held[0]["owners"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                (
                    o["owner"].as_u64().unwrap(),
                    o["pages"].as_u64().unwrap(),
                    o["reserved_bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(owners, vec![(1, 3, 5), (2, 0, 100_000)], "{version}: {}", held[0]);
        assert_eq!(held[0]["reserved_bytes"], 100_005, "{version}: {}", held[0]);
        let released = slots("RELEASED");
        assert_eq!(released[0]["owners"], serde_json::json!([]), "{version}: {released:?}");
    }
}
