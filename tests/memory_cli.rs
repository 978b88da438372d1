//! `tmrt memory` end to end: every conformance vector through the real binary
//! (`--format json -D … --flink-version V [--local]`), the text, bash and compare renderings,
//! configuration directories (`flink-conf.yaml`, `config.yaml`, `FLINK_CONF_DIR`), exit statuses
//! and usage errors. The bash format is also compared with real Flink's `BashJavaUtils` when
//! Flink 1.20.3 is present in `.flink/`.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::*;

fn tmrt(args: &[&str]) -> Output {
    Command::new(tmrt_bin())
        .args(args)
        .env_remove("FLINK_CONF_DIR")
        .env_remove("FLINK_TM_HEAP")
        .output()
        .expect("run tmrt")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn vectors_dir() -> PathBuf {
    workspace_root().join("fixtures/conformance/tm-memory")
}

fn dynamic_set(s: &str) -> BTreeSet<&str> {
    s.split("-D ").map(str::trim).filter(|p| !p.is_empty()).collect()
}

/// Runs one vector through the binary; `Err` says how tmrt and Flink disagree.
fn check_vector(v: &Value, release: &str, local: bool) -> Result<(), String> {
    let mut args: Vec<String> = vec!["memory".into(), "--format".into(), "json".into()];
    args.extend(["--flink-version".into(), release.into()]);
    if local {
        args.push("--local".into());
    }
    for (k, val) in v["config"].as_object().unwrap() {
        args.push("-D".into());
        args.push(format!("{k}={}", val.as_str().unwrap()));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tmrt(&refs);
    let got: Value = serde_json::from_str(stdout(&out).trim())
        .map_err(|e| format!("stdout is not one JSON object ({e}): {}{}", stdout(&out), stderr(&out)))?;
    let flink_ok = v["ok"].as_bool() == Some(true);
    if got["ok"].as_bool() != Some(flink_ok) {
        return Err(format!("ok: tmrt {} flink {flink_ok}: {}", got["ok"], got["error"]));
    }
    let expected_status = if flink_ok { 0 } else { 1 };
    if out.status.code() != Some(expected_status) {
        return Err(format!(
            "exit status {:?}, expected {expected_status}",
            out.status.code()
        ));
    }
    if !flink_ok {
        let root = v["root_error"].as_str().unwrap();
        let error = got["error"].as_str().unwrap_or("");
        // The message names what Flink's root cause names.
        if !error.contains(root) {
            return Err(format!("error {error:?} does not carry Flink's root message {root:?}"));
        }
        return Ok(());
    }
    for (name, expected) in v["bytes"].as_object().unwrap() {
        if &got["bytes"][name] != expected {
            return Err(format!("{name}: tmrt {} flink {expected}", got["bytes"][name]));
        }
    }
    if got["cpu_cores"].as_f64() != v["cpu_cores"].as_f64() {
        return Err(format!("cpu_cores: tmrt {} flink {}", got["cpu_cores"], v["cpu_cores"]));
    }
    if !local {
        if got["num_slots"] != v["num_slots"] {
            return Err(format!("num_slots: tmrt {} flink {}", got["num_slots"], v["num_slots"]));
        }
        if got["jvm_params"] != v["jvm_params"] {
            return Err(format!(
                "jvm_params: tmrt {} flink {}",
                got["jvm_params"], v["jvm_params"]
            ));
        }
        let (a, b) = (
            got["dynamic_configs"].as_str().unwrap_or(""),
            v["dynamic_configs"].as_str().unwrap(),
        );
        if dynamic_set(a) != dynamic_set(b) {
            return Err(format!("dynamic_configs:\n  tmrt:  {a}\n  flink: {b}"));
        }
    }
    Ok(())
}

#[test]
fn every_vector_through_the_json_command() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6);
    let mut all_failures = Vec::new();
    println!("tmrt memory --format json over fixtures/conformance/tm-memory:");
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let (mode, release) = name.trim_end_matches(".jsonl").split_once('-').unwrap();
        let local = mode == "local";
        let vectors: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let threads = 4;
        let name_ref = name.as_str();
        let chunk = vectors.len().div_ceil(threads);
        let failures: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = vectors
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .filter_map(|v| {
                                check_vector(v, release, local)
                                    .err()
                                    .map(|e| format!("{name_ref} {}: {e}", v["id"]))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let passed = vectors.len() - failures.len();
        println!(
            "  {name:<24} {passed:>5}/{:<5} {:>6.2}%",
            vectors.len(),
            100.0 * passed as f64 / vectors.len() as f64
        );
        all_failures.extend(failures);
    }
    for f in all_failures.iter().take(10) {
        println!("FAIL {f}");
    }
    assert!(all_failures.is_empty(), "{} vectors disagree", all_failures.len());
}

const BASH_1728M: [&str; 2] = [
    "BASH_JAVA_UTILS_EXEC_RESULT:-Xmx536870902 -Xms536870902 -XX:MaxDirectMemorySize=268435458 -XX:MaxMetaspaceSize=268435456",
    "BASH_JAVA_UTILS_EXEC_RESULT:-D taskmanager.memory.network.min=134217730b -D taskmanager.cpu.cores=1.0 -D taskmanager.memory.task.off-heap.size=0b -D taskmanager.memory.jvm-metaspace.size=268435456b -D external-resources=none -D taskmanager.memory.jvm-overhead.min=201326592b -D taskmanager.memory.framework.off-heap.size=134217728b -D taskmanager.memory.network.max=134217730b -D taskmanager.memory.framework.heap.size=134217728b -D taskmanager.memory.managed.size=536870920b -D taskmanager.memory.task.heap.size=402653174b -D taskmanager.numberOfTaskSlots=1 -D taskmanager.memory.jvm-overhead.max=201326592b",
];

#[test]
fn bash_format_is_exactly_the_two_lines_config_sh_reads() {
    let out = tmrt(&[
        "memory",
        "--format",
        "bash",
        "-D",
        "taskmanager.memory.process.size=1728m",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, BASH_1728M);
}

#[test]
fn bash_format_matches_real_bash_java_utils() {
    let Some(flink) = flink_home("1.20.3") else {
        println!("SKIPPED: Flink 1.20.3 not in .flink/ (scripts/fetch-flink.sh 1.20.3)");
        return;
    };
    let dir = scratch_dir("memory-bash-live");
    std::fs::write(
        dir.join("flink-conf.yaml"),
        "taskmanager.memory.flink.size: 3g\ntaskmanager.memory.managed.fraction: 0.25\ntaskmanager.numberOfTaskSlots: 4\n",
    )
    .unwrap();
    let cp = join_classpath(&[
        flink.join("bin/bash-java-utils.jar"),
        flink.join("lib/flink-dist-1.20.3.jar"),
    ]);
    let dir_s = dir.to_string_lossy().to_string();
    let java = run_java(&[
        "-cp",
        &cp,
        "org.apache.flink.runtime.util.bash.BashJavaUtils",
        "GET_TM_RESOURCE_PARAMS",
        "--configDir",
        &dir_s,
        "-D",
        "taskmanager.memory.network.max=300m",
    ]);
    assert!(java.status.success(), "{}", stderr(&java));
    let java_lines: Vec<String> = stdout(&java)
        .lines()
        .filter(|l| l.starts_with("BASH_JAVA_UTILS_EXEC_RESULT:"))
        .map(String::from)
        .collect();
    let ours = tmrt(&[
        "memory",
        "--format",
        "bash",
        "--conf-dir",
        &dir_s,
        "-D",
        "taskmanager.memory.network.max=300m",
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", stderr(&ours));
    let our_lines: Vec<String> = stdout(&ours).lines().map(String::from).collect();
    assert_eq!(our_lines, java_lines);
}

#[test]
fn text_format_shows_flinks_tree_and_the_notes() {
    let out = tmrt(&["memory", "-D", "taskmanager.memory.process.size=1728m"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for line in [
        "  Total Process Memory:          1.688gb (1811939328 bytes)",
        "    Total Flink Memory:          1.250gb (1342177280 bytes)",
        "        Task:                    384.000mb (402653174 bytes)",
        "          Network:               128.000mb (134217730 bytes)",
        "    JVM Overhead:                192.000mb (201326592 bytes)",
        "  Total Process Memory   configured, taskmanager.memory.process.size: 1728m",
        "  Task Heap              the rest of Total Flink Memory",
        "  * JVM Overhead: the fraction gives 172.800mb (181193935 bytes), below the minimum taskmanager.memory.jvm-overhead.min; 192.000mb (201326592 bytes) is used",
    ] {
        assert!(text.lines().any(|l| l == line), "missing line {line:?} in:\n{text}");
    }
}

#[test]
fn text_format_notes_deprecated_keys_and_legacy_heap() {
    let out = tmrt(&[
        "memory",
        "--flink-version",
        "1.13",
        "-D",
        "taskmanager.heap.size=2g",
        "-D",
        "taskmanager.network.memory.fraction=0.2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("legacy heap size taskmanager.heap.size (2.000gb (2147483648 bytes)) is used as taskmanager.memory.flink.size"), "{text}");
    assert!(text.contains("deprecated key taskmanager.network.memory.fraction is read because taskmanager.memory.network.fraction is not set"), "{text}");
    // 2.2 no longer reads the legacy heap option: the configuration is refused, and says so.
    let out = tmrt(&["memory", "--flink-version", "2.2", "-D", "taskmanager.heap.size=2g"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Either required fine-grained memory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn local_mode_text_and_json() {
    let out = tmrt(&["memory", "--local", "-D", "taskmanager.memory.network.max=100m"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.contains("  Network:         100.000mb (104857600 bytes)"),
        "{text}"
    );
    assert!(
        text.contains("  Task Heap:       1024.000gb (1099511627776 bytes)"),
        "{text}"
    );
    let out = tmrt(&["memory", "--local", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["mode"], "local");
    assert_eq!(v["bytes"]["managed"], 134217728);
    assert_eq!(v["cpu_cores"].as_f64(), Some(1_000_000.0));
}

#[test]
fn compare_marks_what_an_upgrade_changes() {
    let out = tmrt(&[
        "memory",
        "--compare",
        "1.13,2.2",
        "-D",
        "taskmanager.memory.process.size=64g",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let network = text.lines().find(|l| l.contains("  Network ")).expect("network row");
    assert!(network.starts_with('*'), "{network}");
    assert!(network.contains("1024.000mb (1073741824 bytes)") && network.contains("6.275gb (6737730046 bytes)"));
    let metaspace = text.lines().find(|l| l.contains("JVM Metaspace")).unwrap();
    assert!(metaspace.starts_with(' '), "{metaspace}");
    // Why: 1.13 clamped network memory to its (then 1 GiB) default maximum, 2.2 did not.
    let why_113 = text.split("Flink 1.13 adjusted:").nth(1).expect("1.13 adjustments");
    let (why_113, why_22) = why_113.split_once("Flink 2.2 adjusted:").expect("2.2 adjustments");
    assert!(why_113.contains("Network Memory: the fraction gives 6.275gb (6737730046 bytes), above the maximum taskmanager.memory.network.max"), "{text}");
    assert!(!why_22.contains("Network Memory"), "{text}");

    let out = tmrt(&[
        "memory",
        "--compare",
        "1.13,2.2",
        "--format",
        "json",
        "-D",
        "taskmanager.memory.process.size=64g",
    ]);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["ok"], true);
    let differ: Vec<&str> = v["differ"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert_eq!(differ, ["jvm_direct", "jvm_heap", "network", "task_heap"]);

    // One side refuses: exit 1, and the text says which.
    let out = tmrt(&["memory", "--compare", "1.20,2.2", "-D", "taskmanager.heap.size=2g"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("Flink 2.2 refuses this configuration"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn configuration_errors_exit_1_with_flinks_message() {
    let out = tmrt(&["memory", "-D", "taskmanager.memory.process.size=300m"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Sum of configured JVM Metaspace (256.000mb (268435456 bytes)) and JVM Overhead (192.000mb (201326592 bytes)) exceed configured Total Process Memory (300.000mb (314572800 bytes))."));
    let out = tmrt(&[
        "memory",
        "--format",
        "json",
        "-D",
        "taskmanager.memory.managed.fraction=abc",
        "-D",
        "taskmanager.memory.process.size=2g",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["ok"], false);
    let error = v["error"].as_str().unwrap();
    assert!(
        error.contains("'abc'") && error.contains("taskmanager.memory.managed.fraction"),
        "{error}"
    );
    // Nothing configured: Flink's refusal.
    let out = tmrt(&["memory", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("need to be configured explicitly"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["memory", "--format", "xml"][..],
        &["memory", "--flink-version", "1.14"],
        &["memory", "--compare", "1.13"],
        &["memory", "--compare", "1.13,3.0"],
        &["memory", "--compare", "1.13,2.2", "--flink-version", "1.20"],
        &["memory", "--local", "--format", "bash"],
        &["memory", "--compare", "1.13,2.2", "--format", "bash"],
        &["memory", "--no-such-flag"],
    ] {
        let out = tmrt(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        assert!(!stderr(&out).is_empty(), "{args:?}");
    }
}

fn conf_dir(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch_dir(name);
    for (file, text) in files {
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

fn json_for(dir: &Path, version: &str, extra: &[&str]) -> Value {
    let d = dir.to_string_lossy().to_string();
    let mut args = vec![
        "memory",
        "--format",
        "json",
        "--conf-dir",
        &d,
        "--flink-version",
        version,
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&stdout(&tmrt(&args))).unwrap()
}

#[test]
fn conf_dir_reads_the_file_each_version_reads() {
    let dir = conf_dir(
        "memory-confdir",
        &[
            (
                "flink-conf.yaml",
                "taskmanager.memory.process.size: 2g # legacy file\ntaskmanager.numberOfTaskSlots: 3\n",
            ),
            (
                "config.yaml",
                "taskmanager:\n  memory:\n    process.size: 4g\n  numberOfTaskSlots: 5\n",
            ),
        ],
    );
    let v113 = json_for(&dir, "1.13", &[]);
    assert_eq!(v113["bytes"]["total_process"], 2u64 << 30);
    assert_eq!(v113["num_slots"], 3);
    // 1.20 prefers flink-conf.yaml when it exists.
    assert_eq!(json_for(&dir, "1.20", &[])["bytes"]["total_process"], 2u64 << 30);
    let v22 = json_for(&dir, "2.2.0", &[]);
    assert_eq!(v22["bytes"]["total_process"], 4u64 << 30);
    assert_eq!(v22["num_slots"], 5);
    // -D overrides the file.
    let over = json_for(&dir, "2.2", &["-D", "taskmanager.numberOfTaskSlots=7"]);
    assert_eq!(over["num_slots"], 7);

    // Only config.yaml: 1.20 reads it, 1.13 finds no file (a configuration error).
    let only_yaml = conf_dir(
        "memory-confdir-yaml",
        &[("config.yaml", "taskmanager.memory.flink.size: 1g\n")],
    );
    assert_eq!(json_for(&only_yaml, "1.20", &[])["bytes"]["total_flink"], 1u64 << 30);
    let v = json_for(&only_yaml, "1.13", &[]);
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("flink-conf.yaml"));

    // FLINK_CONF_DIR is the default directory.
    let out = Command::new(tmrt_bin())
        .args(["memory", "--format", "json", "--flink-version", "2.2"])
        .env("FLINK_CONF_DIR", &dir)
        .env_remove("FLINK_TM_HEAP")
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["bytes"]["total_process"], 4u64 << 30);

    // Invalid YAML is a configuration error naming the file.
    let bad = conf_dir("memory-confdir-bad", &[("config.yaml", "taskmanager: [1, 2\n")]);
    let v = json_for(&bad, "2.2", &[]);
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("config.yaml"));
}

#[test]
fn flink_tm_heap_environment_variable_is_the_legacy_heap_in_1x() {
    let out = Command::new(tmrt_bin())
        .args(["memory", "--format", "json", "--flink-version", "1.20"])
        .env_remove("FLINK_CONF_DIR")
        .env("FLINK_TM_HEAP", "1g")
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["bytes"]["total_flink"], 1u64 << 30, "{v}");
}

/// `--format bash` is what Flink's `config.sh` reads: output that could not be written is a
/// failure with one line, never a silent success; a reader that went away is a quiet end.
#[test]
fn output_that_cannot_be_written_is_a_failure_and_a_closed_pipe_is_quiet() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    let Ok(full) = full else {
        eprintln!("SKIPPED /dev/full case: no /dev/full on this system");
        return;
    };
    for format in ["bash", "json", "text"] {
        let out = Command::new(tmrt_bin())
            .args([
                "memory",
                "--format",
                format,
                "-D",
                "taskmanager.memory.process.size=1728m",
            ])
            .env_remove("FLINK_CONF_DIR")
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{format}: {err}");
        assert_eq!(err.lines().count(), 1, "{format}: {err}");
        assert!(
            err.starts_with("tmrt memory: cannot write the output to stdout: No space left on device"),
            "{format}: {err}"
        );
    }
    let out = Command::new(tmrt_bin())
        .args([
            "memory",
            "--compare",
            "1.13,2.2",
            "-D",
            "taskmanager.memory.process.size=1728m",
        ])
        .env_remove("FLINK_CONF_DIR")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // `tmrt memory | head -0`: the read end is closed before tmrt writes.
    let mut child = Command::new(tmrt_bin())
        .args([
            "memory",
            "--format",
            "bash",
            "-D",
            "taskmanager.memory.process.size=1728m",
        ])
        .env_remove("FLINK_CONF_DIR")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "a closed pipe is not an error to report");
}
