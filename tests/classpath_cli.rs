//! `tmrt classpath` end to end on jars built here: the text and JSON reports, `--explain`, the
//! configuration input, and the exit statuses 0 (no conflict), 3 (conflicts) and 1 (unreadable
//! input or bad configuration).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::*;

/// A jar of `(entry, content)` files packed with the JDK's `jar` tool. The analysis never parses
/// class bytes, so "classes" here are plain files named `*.class`.
fn jar(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let root = dir.join(format!("{name}-files"));
    for (rel, text) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let out = dir.join(format!("{name}.jar"));
    make_jar(&root, &out);
    out
}

fn tmrt(args: &[&str]) -> Output {
    Command::new(tmrt_bin())
        .arg("classpath")
        .args(args)
        .env_remove("FLINK_CONF_DIR")
        .output()
        .unwrap()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

struct Jars {
    dir: PathBuf,
    parent: PathBuf,
    user: PathBuf,
    user2: PathBuf,
    clean: PathBuf,
}

fn jars(test: &str) -> Jars {
    let dir = scratch_dir(test);
    let parent = jar(
        &dir,
        "lib",
        &[
            ("com/acme/Dup.class", "parent version"),
            ("com/acme/Same.class", "same bytes"),
            ("org/apache/flink/Shared.class", "flink"),
            ("org/apache/flink/Skewed.class", "flink 1"),
        ],
    );
    let user = jar(
        &dir,
        "job",
        &[
            ("com/acme/Dup.class", "user version"),
            ("com/acme/Same.class", "same bytes"),
            ("org/apache/flink/Shared.class", "flink"),
            ("org/apache/flink/Skewed.class", "flink 2"),
            ("com/job/Main.class", "main"),
        ],
    );
    let user2 = jar(
        &dir,
        "dep",
        &[("com/job/Main.class", "another main"), ("com/dep/Util.class", "u")],
    );
    let clean = jar(&dir, "clean", &[("com/clean/Only.class", "only")]);
    Jars {
        dir,
        parent,
        user,
        user2,
        clean,
    }
}

#[test]
fn no_conflict_exits_0() {
    let j = jars("cp-clean");
    let out = tmrt(&["--lib", &s(&j.parent), "--user", &s(&j.clean)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("No conflicts."), "{text}");
    assert!(
        text.contains("classloader.resolve-order child-first, 16 always-parent-first patterns"),
        "{text}"
    );
}

#[test]
fn conflicts_exit_3_with_winner_bytes_and_symptom() {
    let j = jars("cp-text");
    let out = tmrt(&["--lib", &s(&j.parent), "--user", &s(&j.user), &s(&j.user2)]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    // com.acme: the user copy wins under child-first: two live copies.
    let acme = section(&text, "package com.acme (2 classes)");
    assert!(acme.contains(&format!("wins:   user copy in {}", s(&j.user))), "{acme}");
    assert!(acme.contains("child-first, no parent-first pattern matches"), "{acme}");
    assert!(acme.contains("bytes:  1 of 2 differ"), "{acme}");
    assert!(acme.contains("X cannot be cast to X"), "{acme}");
    // org.apache.flink: parent-first pattern; one copy differs: version skew.
    let flink = section(&text, "package org.apache.flink (2 classes)");
    assert!(flink.contains("parent-first pattern 'org.apache.flink.'"), "{flink}");
    assert!(flink.contains("NoSuchMethodError / IllegalAccessError"), "{flink}");
    // Duplicates inside the user jars.
    let dup = section(&text, "package com.job (1 class)");
    assert!(dup.contains(&format!("first:  {}", s(&j.user))), "{dup}");
    assert!(dup.contains(&format!("wins:   user copy in {}", s(&j.user))), "{dup}");
    assert!(dup.contains("earlier on the user classpath"), "{dup}");
    assert!(
        text.contains("4 conflicting class(es), 1 duplicated in user jars (exit status 3)"),
        "{text}"
    );
}

/// The lines of the group that starts with `header`.
fn section<'a>(text: &'a str, header: &str) -> &'a str {
    let start = text.find(header).unwrap_or_else(|| panic!("no '{header}' in:\n{text}"));
    let rest = &text[start..];
    let end = rest[1..].find("  package ").map(|e| e + 1).unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn json_report_and_configuration_input() {
    let j = jars("cp-json");
    let conf = j.dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("flink-conf.yaml"),
        "classloader.resolve-order: parent-first\n",
    )
    .unwrap();
    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.dir),
        "--conf-dir",
        &s(&conf),
        "--flink-version",
        "1.13",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resolve_order"], "parent-first");
    assert_eq!(v["flink_version"], "1.13");
    assert_eq!(v["parent_first_patterns"].as_array().unwrap().len(), 15);
    // The directory holds clean.jar, dep.jar, job.jar and lib.jar (sorted): lib.jar is a user jar too.
    assert_eq!(v["user_jars"].as_array().unwrap().len(), 4);
    let groups = v["conflicts"].as_array().unwrap();
    let acme = groups
        .iter()
        .find(|g| g["package"] == "com.acme" && g["second_jar"] == s(&j.user).as_str())
        .expect("com.acme group");
    assert_eq!(acme["winner"], "parent");
    assert_eq!(acme["reason"]["rule"], "parent-first-order");
    assert_eq!(acme["classes"], serde_json::json!(["com.acme.Dup", "com.acme.Same"]));
    assert_eq!(acme["differing"], serde_json::json!(["com.acme.Dup"]));
    assert_eq!(acme["symptom"], "no-such-method");
    assert_eq!(v["has_conflicts"], true);
}

#[test]
fn additional_patterns_change_the_winner_and_misspellings_warn() {
    let j = jars("cp-patterns");
    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--format",
        "json",
        "-D",
        "classloader.parent-first-patterns-additional=com.acme.",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("use 'classloader.parent-first-patterns.additional'"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let acme = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["package"] == "com.acme")
        .unwrap();
    assert_eq!(acme["winner"], "parent");
    assert_eq!(acme["reason"]["pattern"], "com.acme.");
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
}

#[test]
fn explain_shows_the_resolution_path() {
    let j = jars("cp-explain");
    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--explain",
        "com.acme.Dup",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "com.acme.Dup (com/acme/Dup.class), Flink 1.20, classloader.resolve-order child-first"
    );
    assert_eq!(
        lines[1],
        "  1. no always-parent-first pattern matches 'com.acme.Dup': user jars first"
    );
    assert_eq!(lines[2], format!("  2. user jars: found in {}", s(&j.user)));
    assert_eq!(lines[3], format!("  => loaded from {} (user jars)", s(&j.user)));
    assert!(text.contains("2 copies:"), "{text}");

    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--explain",
        "org/apache/flink/Shared.class",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("starts with the always-parent-first pattern 'org.apache.flink.': parent first"),
        "{text}"
    );
    assert!(
        text.contains(&format!("=> loaded from {} (parent classpath)", s(&j.parent))),
        "{text}"
    );

    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--explain",
        "com.job.Main",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["winner"]["side"], "user");
    assert_eq!(v["steps"][1]["found"], s(&j.user).as_str());

    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--explain",
        "com.nowhere.X",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClassNotFoundException"));
}

#[test]
fn unreadable_input_exits_1_naming_it() {
    let j = jars("cp-bad");
    let bad = j.dir.join("broken.jar");
    std::fs::write(&bad, b"PK\x05\x06 truncated nonsense").unwrap();
    let out = tmrt(&["--lib", &s(&j.parent), "--user", &s(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&s(&bad)), "{err}");

    let missing = j.dir.join("missing.jar");
    let out = tmrt(&["--lib", &s(&missing), "--user", &s(&j.user)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&s(&missing)));

    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "-D",
        "classloader.resolve-order=sideways",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'classloader.resolve-order'") && err.contains("Unknown resolve order: sideways"),
        "{err}"
    );
}

#[test]
fn flink_2_reads_list_valued_patterns_from_config_yaml() {
    let j = jars("cp-yaml");
    let conf = j.dir.join("conf2");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("config.yaml"),
        "classloader:\n  parent-first-patterns:\n    additional:\n      - com.acme.\n      - com.job.\n",
    )
    .unwrap();
    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--conf-dir",
        &s(&conf),
        "--flink-version",
        "2.2",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let patterns: Vec<&str> = v["parent_first_patterns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(patterns.len(), 18);
    assert_eq!(&patterns[16..], ["com.acme.", "com.job."]);
    let acme = v["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["package"] == "com.acme")
        .unwrap();
    assert_eq!(acme["winner"], "parent");
    // Flink 2.2 reads config.yaml only: a flink-conf.yaml next to it is ignored.
    std::fs::write(
        conf.join("flink-conf.yaml"),
        "classloader.resolve-order: parent-first\n",
    )
    .unwrap();
    let out = tmrt(&[
        "--lib",
        &s(&j.parent),
        "--user",
        &s(&j.user),
        "--conf-dir",
        &s(&conf),
        "--flink-version",
        "2.2.0",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["resolve_order"], "child-first");
}

#[test]
fn a_reader_that_goes_away_is_not_a_panic() {
    // `tmrt classpath ... | head -0`: the pipe's read end is closed before tmrt writes (it is
    // closed right after spawning, while tmrt is still reading jars), so the write fails with
    // EPIPE. `print!` panics there (exit 101); tmrt ends quietly with its usual status.
    let j = jars("cp-pipe");
    let mut child = Command::new(tmrt_bin())
        .args(["classpath", "--lib", &s(&j.parent), "--user", &s(&j.user)])
        .env_remove("FLINK_CONF_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(3), "{err}");
}

#[test]
fn a_bad_explain_class_is_bad_input() {
    let j = jars("cp-explain-bad");
    for class in ["", " ", "a..b", ".a", "a.", "a b", "/a/B.class", ".class", "a/\nB"] {
        let out = tmrt(&["--lib", &s(&j.parent), "--user", &s(&j.user), "--explain", class]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{class:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{class:?}: {err}");
        assert!(err.starts_with("tmrt classpath: bad --explain '"), "{class:?}: {err}");
        assert!(out.stdout.is_empty(), "{class:?}");
    }
    for class in ["com.acme.Dup", "com/acme/Dup.class", "com.acme.Dup$Inner", "Top"] {
        let out = tmrt(&["--lib", &s(&j.parent), "--user", &s(&j.user), "--explain", class]);
        assert_ne!(
            out.status.code(),
            Some(1),
            "{class:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn non_jar_inputs_are_named_with_their_flag_and_a_fifo_does_not_hang() {
    let j = jars("cp-non-jar");
    let text = j.dir.join("notes.txt");
    std::fs::write(&text, "not a zip\n").unwrap();
    for (flag, args) in [
        (
            "--lib",
            vec!["--lib".to_string(), s(&text), "--user".to_string(), s(&j.user)],
        ),
        (
            "--user",
            vec!["--lib".to_string(), s(&j.parent), "--user".to_string(), s(&text)],
        ),
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tmrt(&refs);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{flag}: cannot read jar {}", s(&text))), "{err}");
        assert!(err.contains("not a valid jar (zip)"), "{err}");
    }
    let fifo = j.dir.join("pipe.jar");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A FIFO would block a plain open until a writer comes: run with a guard, and end it.
    let mut child = Command::new(tmrt_bin())
        .args(["classpath", "--lib", &s(&j.parent), "--user", &s(&fifo)])
        .env_remove("FLINK_CONF_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        child.kill().unwrap();
        panic!("tmrt classpath hung on a FIFO as --user");
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("--user: {} is a FIFO (named pipe), not a jar", s(&fifo))),
        "{err}"
    );
}

/// A minimal stored (uncompressed) zip holding one entry, written by hand: 2,000 jars through the
/// `jar` tool would take minutes.
fn tiny_jar(path: &Path, entry: &str, data: &[u8]) {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let crc = crc32(data);
    let (name, size) = (entry.as_bytes(), data.len() as u32);
    let mut z = Vec::new();
    let common = |z: &mut Vec<u8>| {
        z.extend_from_slice(&10u16.to_le_bytes()); // version needed
        z.extend_from_slice(&0u16.to_le_bytes()); // flags
        z.extend_from_slice(&0u16.to_le_bytes()); // stored
        z.extend_from_slice(&0u32.to_le_bytes()); // time, date
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&size.to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes()); // extra
    };
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    common(&mut z);
    z.extend_from_slice(name);
    z.extend_from_slice(data);
    let central = z.len() as u32;
    z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    z.extend_from_slice(&20u16.to_le_bytes()); // version made by
    common(&mut z);
    z.extend_from_slice(&[0; 10]); // comment length, disk, internal and external attributes
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.extend_from_slice(name);
    let central_len = z.len() as u32 - central;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&1u16.to_le_bytes());
    z.extend_from_slice(&1u16.to_le_bytes());
    z.extend_from_slice(&central_len.to_le_bytes());
    z.extend_from_slice(&central.to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(path, z).unwrap();
}

/// 2,000 jars under a soft limit of 1,024 open files: tmrt raises its soft limit to the hard one
/// (as the JVM does), so the index opens every jar; when even the hard limit is too low, it says
/// so in one line instead of failing half-way with "Too many open files".
#[test]
fn two_thousand_jars_under_a_soft_limit_of_1024_open_files() {
    let dir = scratch_dir("cp-many-jars");
    let user = dir.join("user");
    std::fs::create_dir_all(&user).unwrap();
    for i in 0..2_000 {
        tiny_jar(
            &user.join(format!("j{i:04}.jar")),
            &format!("com/many/C{i}.class"),
            b"bytes",
        );
    }
    let lib = dir.join("lib.jar");
    tiny_jar(&lib, "org/apache/flink/Flink.class", b"flink");
    let run = |ulimits: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("{ulimits}; exec \"$0\" classpath --lib \"$1\" --user \"$2\""))
            .arg(tmrt_bin())
            .arg(&lib)
            .arg(&user)
            .env_remove("FLINK_CONF_DIR")
            .output()
            .unwrap()
    };
    let hard: u64 = {
        let out = Command::new("sh").arg("-c").arg("ulimit -H -n").output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(u64::MAX)
    };
    if hard >= 2_100 {
        let out = run("ulimit -S -n 1024");
        let (stdout, err) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(stdout.contains("user classpath: 2000 jar(s)"), "{stdout}");
        assert!(stdout.contains("No conflicts."), "{stdout}");
    } else {
        eprintln!("SKIPPED the raised-limit case: the hard open-file limit here is {hard}");
    }
    // Hard limit below what 2,000 jars need: one clear line.
    let out = run("ulimit -n 1024");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("2001 jars need about 2065 open files") && err.contains("(1024;"),
        "{err}"
    );
}
