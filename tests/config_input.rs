//! Hostile configuration directories through every command that reads one (`tmrt memory`,
//! `tmrt classpath`, `tmrt emulate` share the reader): alias bombs and oversized files end in one
//! line naming the file and the limit (exit 1), a byte-order mark is read as Flink reads it, and
//! a `flink-conf.yaml`/`config.yaml` that is a directory or a FIFO is named as what it is,
//! without hanging. Where real Flink is in `.flink/`, its own `GlobalConfiguration` reads the same
//! directories and must agree.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::*;

/// Runs tmrt; a run that has not ended after `limit` is killed and reported as a hang (a guard,
/// not a timing assertion: every case here ends in milliseconds).
fn tmrt_guarded(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(tmrt_bin())
        .args(args)
        .env_remove("FLINK_CONF_DIR")
        .env_remove("FLINK_TM_HEAP")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tmrt");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "tmrt {args:?} hung; stderr so far: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn tmrt(args: &[&str]) -> Output {
    tmrt_guarded(args, Duration::from_secs(120))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn conf_dir(test: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let dir = scratch_dir(test).join("conf");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir
}

/// The issue's 378-byte bomb: nine levels of anchored lists, each aliasing the previous ten times.
fn list_bomb() -> String {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (i, name) in "bcdefghi".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        text.push_str(&format!(
            "{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 10].join(", ")
        ));
    }
    text
}

/// The same with mappings, five aliases a level (45 in all: under Flink's 50), 5^9 copies.
fn map_bomb() -> String {
    let mut text = String::from("taskmanager.memory.process.size: 1728m\na: &a {x: 1, y: 2}\n");
    for (i, name) in "bcdefghij".chars().enumerate() {
        let prev = (b'a' + i as u8) as char;
        let fields: Vec<String> = (0..5).map(|j| format!("{name}{j}: *{prev}")).collect();
        text.push_str(&format!("{name}: &{name} {{{}}}\n", fields.join(", ")));
    }
    text
}

/// `(flags, what the run must say)` for each command reading `dir` as Flink `version`.
fn every_command<'a>(dir: &'a str, version: &'a str, jar: &'a str) -> Vec<Vec<&'a str>> {
    vec![
        vec!["memory", "--conf-dir", dir, "--flink-version", version],
        vec![
            "memory",
            "--format",
            "bash",
            "--conf-dir",
            dir,
            "--flink-version",
            version,
        ],
        vec![
            "classpath",
            "--lib",
            jar,
            "--user",
            jar,
            "--conf-dir",
            dir,
            "--flink-version",
            version,
        ],
        vec![
            "emulate",
            "--jar",
            jar,
            "--entry",
            "x.Y",
            "--conf-dir",
            dir,
            "--flink-version",
            version,
        ],
    ]
}

fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn alias_bombs_are_refused_by_every_command_naming_file_and_limit() {
    let lists = list_bomb();
    assert!(
        lists.len() < 500,
        "a few hundred bytes, as the issue's: {}",
        lists.len()
    );
    let tmrt_jar = s(&tmrt_jar());
    for (name, text, limit) in [
        ("lists", lists.clone(), "more than 50 aliases"),
        ("maps", map_bomb(), "expands to more than"),
    ] {
        let dir = conf_dir(&format!("cfg-bomb-{name}"), &[("config.yaml", text.as_bytes())]);
        let file = s(&dir.join("config.yaml"));
        for version in ["2.2", "1.20"] {
            for args in every_command(&s(&dir), version, &tmrt_jar) {
                let out = tmrt(&args);
                // Lists of lists are refused before any alias is counted; both name the file.
                let expected = if name == "lists" {
                    "lists may only hold scalars"
                } else {
                    limit
                };
                assert_one_line_error(&out, &[&file, expected]);
            }
        }
    }
    // Over Flink's 50 aliases of collections, counted before anything is expanded.
    let mut many = String::from("m: &m {x: 1}\n");
    for i in 0..51 {
        many.push_str(&format!("k{i}: *m\n"));
    }
    let dir = conf_dir("cfg-bomb-count", &[("config.yaml", many.as_bytes())]);
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "2.2"]);
    assert_one_line_error(&out, &[&s(&dir.join("config.yaml")), "more than 50 aliases", "line 52"]);
}

#[test]
fn oversized_files_are_refused_before_they_are_read() {
    let dir = conf_dir("cfg-size", &[]);
    // 13 MiB of config.yaml: more bytes than 3 Mi code points can take (sparse: no disk used).
    let f = std::fs::File::create(dir.join("config.yaml")).unwrap();
    f.set_len(13 << 20).unwrap();
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "2.2"]);
    assert_one_line_error(&out, &[&s(&dir.join("config.yaml")), "bytes tmrt reads"]);
    // 3.2 Mi code points of comments and one option: Flink's code point limit.
    let text = format!("{}\ntaskmanager.numberOfTaskSlots: 2\n", "#".repeat(3_300_000));
    std::fs::write(dir.join("config.yaml"), text).unwrap();
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "2.2"]);
    assert_one_line_error(&out, &[&s(&dir.join("config.yaml")), "more than 3145728 code points"]);
    let f = std::fs::File::create(dir.join("flink-conf.yaml")).unwrap();
    f.set_len(17 << 20).unwrap();
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "1.13"]);
    assert_one_line_error(&out, &[&s(&dir.join("flink-conf.yaml")), "bytes tmrt reads"]);
}

#[test]
fn a_byte_order_mark_is_read_as_flink_reads_it() {
    let p = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let yaml = b"\xef\xbb\xbftaskmanager.numberOfTaskSlots: 3\ntaskmanager.memory.process.size: 1728m\n";
    let dir = conf_dir("cfg-bom", &[("config.yaml", yaml)]);
    for version in ["2.2", "1.20"] {
        let out = tmrt(&[
            "memory",
            "--format",
            "json",
            "--conf-dir",
            &s(&dir),
            "--flink-version",
            version,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(p(&out)["num_slots"], 3, "the first key survives the BOM ({version})");
    }
    // flink-conf.yaml: Flink's line reader keeps the mark in the first key, which is then unknown.
    let dir = conf_dir("cfg-bom-legacy", &[("flink-conf.yaml", yaml)]);
    let out = tmrt(&[
        "memory",
        "--format",
        "json",
        "--conf-dir",
        &s(&dir),
        "--flink-version",
        "1.20",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        p(&out)["num_slots"],
        1,
        "as Flink: the first key is '\\u{{feff}}taskmanager...'"
    );
}

#[test]
fn a_config_file_that_is_a_directory_or_a_fifo_is_named_as_such() {
    let dir = conf_dir(
        "cfg-kinds",
        &[("config.yaml", b"taskmanager.memory.process.size: 1728m\n")],
    );
    let legacy = dir.join("flink-conf.yaml");
    std::fs::create_dir(&legacy).unwrap();
    for version in ["1.13", "1.20"] {
        let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", version]);
        assert_one_line_error(&out, &[&format!("{} is a directory", s(&legacy))]);
        assert!(!stderr(&out).contains("does not exist"));
    }
    std::fs::remove_dir(&legacy).unwrap();
    let status = Command::new("mkfifo").arg(&legacy).status().expect("mkfifo");
    assert!(status.success());
    let jar = s(&tmrt_jar());
    for version in ["1.13", "1.20"] {
        for args in every_command(&s(&dir), version, &jar) {
            let out = tmrt_guarded(&args, Duration::from_secs(60));
            assert_one_line_error(&out, &[&format!("{} is a FIFO (named pipe)", s(&legacy))]);
        }
    }
    // 2.2 reads config.yaml only: the FIFO next to it does not matter.
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "2.2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_file(&legacy).unwrap();
    std::fs::remove_file(dir.join("config.yaml")).unwrap();
    std::fs::create_dir(dir.join("config.yaml")).unwrap();
    let out = tmrt(&["memory", "--conf-dir", &s(&dir), "--flink-version", "2.2"]);
    assert_one_line_error(&out, &[&format!("{} is a directory", s(&dir.join("config.yaml")))]);
    let missing = dir.join("nowhere");
    let out = tmrt(&["memory", "--conf-dir", &s(&missing), "--flink-version", "2.2"]);
    assert_one_line_error(&out, &[&format!("{} does not exist", s(&missing))]);
}

/// As the probe prints: `\uXXXX` for UTF-16 units outside printable ASCII, and for `\`.
fn escape(s: &str) -> String {
    let mut out = String::new();
    for u in s.encode_utf16() {
        match char::from_u32(u32::from(u)) {
            Some(c) if (' '..='~').contains(&c) && c != '\\' => out.push(c),
            _ => out.push_str(&format!("\\u{u:04x}")),
        }
    }
    out
}

/// Flink's own `GlobalConfiguration.loadConfiguration(dir)` on the same directories: the keys and
/// values tmrt reads (lists aside, which Flink keeps as lists), or a refusal where Flink refuses.
#[test]
fn the_reader_agrees_with_flinks_global_configuration() {
    use runtime::config::{load_conf_dir, FlinkVersion};

    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("bom-std", "config.yaml", b"\xef\xbb\xbfa.first: 1\nb: 2\n".to_vec()),
        (
            "bom-legacy",
            "flink-conf.yaml",
            b"\xef\xbb\xbfa.first: 1\nb: 2\n".to_vec(),
        ),
        (
            "cr-legacy",
            "flink-conf.yaml",
            b"a: 1\rb: 2\r\nc: \x013\x01 \n# d: 4\ne: 5 # six\n\xc2\xa0f: 6\n".to_vec(),
        ),
        (
            "aliases",
            "config.yaml",
            b"m: &m\n  x: 1\n  y: two\nn: *m\ns: &s 7\nt: *s\nu: {v: *s}\n".to_vec(),
        ),
        ("alias-50", "config.yaml", {
            let mut t = String::from("m: &m {x: 1}\n");
            (0..50).for_each(|i| t.push_str(&format!("k{i}: *m\n")));
            t.into_bytes()
        }),
        ("alias-51", "config.yaml", {
            let mut t = String::from("m: &m {x: 1}\n");
            (0..51).for_each(|i| t.push_str(&format!("k{i}: *m\n")));
            t.into_bytes()
        }),
        ("utf16", "config.yaml", {
            let mut b = vec![0xFF, 0xFE];
            "a: 1\nb: zwei\n"
                .encode_utf16()
                .for_each(|u| b.extend_from_slice(&u.to_le_bytes()));
            b
        }),
        ("bad-utf8", "config.yaml", b"a: x\xffy\n".to_vec()),
        ("two-docs", "config.yaml", b"a: 1\n---\nb: 2\n".to_vec()),
        ("dup-key", "config.yaml", b"a: 1\na: 2\n".to_vec()),
        ("dir-legacy", "flink-conf.yaml/", Vec::new()),
        ("dir-std", "config.yaml/", Vec::new()),
    ];
    let probe_src = r#"
import java.util.*;
public class ConfProbe {
  static String esc(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      if (c < 0x20 || c > 0x7e || c == '\\') b.append(String.format("\\u%04x", (int) c)); else b.append(c);
    }
    return b.toString();
  }
  public static void main(String[] a) {
    for (String dir : a) {
      System.out.println("== " + dir);
      try {
        Map<String, String> m = new TreeMap<>(org.apache.flink.configuration.GlobalConfiguration.loadConfiguration(dir).toMap());
        for (Map.Entry<String, String> e : m.entrySet()) System.out.println("K " + esc(e.getKey()) + "\t" + esc(e.getValue()));
      } catch (Throwable t) {
        System.out.println("REFUSED " + t);
      }
    }
  }
}
"#;
    for release in ["1.13.6", "1.20.3", "2.2.0"] {
        let Some(home) = flink_home(release) else { continue };
        let version: FlinkVersion = release.parse().unwrap();
        let root = scratch_dir(&format!("cfg-flink-{release}"));
        let mut dirs = Vec::new();
        for (name, file, bytes) in &cases {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            match file.strip_suffix('/') {
                Some(d) => std::fs::create_dir_all(dir.join(d)).unwrap(),
                None => std::fs::write(dir.join(file), bytes).unwrap(),
            }
            dirs.push((name, dir));
        }
        let lib = format!("{}/lib/*", home.display());
        let classes = compile_java(
            &root.join("probe"),
            &[("ConfProbe.java", probe_src)],
            &[PathBuf::from(&lib)],
        );
        let cp = format!("{}:{lib}", classes.display());
        // tmrt reads flink-conf.yaml as UTF-8: Flink on JDK 18+, or on any JDK in a UTF-8 locale.
        let mut args = vec![
            "-Dfile.encoding=UTF-8".to_string(),
            "-cp".to_string(),
            cp,
            "ConfProbe".to_string(),
        ];
        args.extend(dirs.iter().map(|(_, d)| s(d)));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_java(&refs);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        for (name, dir) in &dirs {
            let block = stdout
                .split(&format!("== {}\n", s(dir)))
                .nth(1)
                .unwrap_or_else(|| panic!("no output for {name}: {stdout}"))
                .split("\n== ")
                .next()
                .unwrap();
            // (Flink may log an ERROR line of its own first.)
            let flink_refused = block.lines().any(|l| l.starts_with("REFUSED "));
            let flink: Vec<(String, String)> = block
                .lines()
                .filter_map(|l| l.strip_prefix("K "))
                .map(|l| {
                    let (k, v) = l.split_once('\t').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            match load_conf_dir(dir, version) {
                Ok(conf) => {
                    assert!(
                        !flink_refused,
                        "{release} {name}: Flink refused ({block}), tmrt read {conf:?}"
                    );
                    let ours: Vec<(String, String)> = conf.iter().map(|(k, v)| (escape(k), escape(v))).collect();
                    assert_eq!(ours, flink, "{release} {name}");
                }
                Err(e) => {
                    let missing = matches!(e, runtime::config::ConfigError::MissingFile { .. });
                    assert!(
                        flink_refused,
                        "{release} {name}: tmrt refused ({e}), Flink read {flink:?}"
                    );
                    if !missing {
                        assert!(!block.contains("does not exist"), "{release} {name}: {block} vs {e}");
                    }
                }
            }
        }
    }
}
