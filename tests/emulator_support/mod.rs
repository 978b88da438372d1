//! Helpers shared by the emulator's integration tests (`tests/emulate*.rs`): running `tmrt
//! emulate` with a deadline (a hang is a failure, never a stuck test), reading its report, and
//! building job jars with a manifest.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// What a `tmrt` run gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The `--report` document, or null.
    pub report: Value,
    pub wall: Duration,
}

impl Run {
    /// The first job of the report.
    pub fn job(&self) -> &Value {
        &self.report["jobs"][0]
    }

    /// The line of stdout that starts with `verdict:`.
    pub fn verdict_line(&self) -> &str {
        self.stdout.lines().find(|l| l.starts_with("verdict:")).unwrap_or("")
    }
}

/// Runs `cmd` with stdout and stderr captured, killing it (and failing) after `deadline`.
pub fn run_with_deadline(mut cmd: Command, deadline: Duration, report: Option<&Path>) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tmrt");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for tmrt") {
            break status;
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned();
            let stderr = String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned();
            panic!("tmrt did not end within {deadline:?} (killed)\n--- stdout\n{stdout}--- stderr\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = start.elapsed();
    let run = Run {
        code: status
            .code()
            .unwrap_or_else(|| panic!("tmrt ended by a signal: {status:?}")),
        stdout: String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().unwrap()).into_owned(),
        report: report
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null),
        wall,
    };
    eprintln!("--- stdout\n{}--- stderr\n{}--- {:?}", run.stdout, run.stderr, run.wall);
    run
}

/// A jar of `classes` with `Main-Class: main` in its manifest (when given).
pub fn make_jar_with_main(classes: &Path, jar: &Path, main: Option<&str>) {
    let mut cmd = Command::new(crate::support::jdk_tool("jar"));
    cmd.arg("--create").arg("--file").arg(jar);
    if let Some(m) = main {
        cmd.arg("--main-class").arg(m);
    }
    let status = cmd.arg("-C").arg(classes).arg(".").status().expect("run jar");
    assert!(status.success(), "jar failed for {}", jar.display());
}

/// Every `<circle class="pt…" data-series="S" data-round="R" data-value="V" cy="Y">` of a
/// dumped page: `(series, round, value, cy)`.
pub fn chart_points(dom: &str) -> Vec<(String, u64, f64, f64)> {
    let mut out = Vec::new();
    for tag in dom.split("<circle").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            tag.find(&key).map(|i| {
                let rest = &tag[i + key.len()..];
                rest[..rest.find('"').unwrap_or(rest.len())].to_string()
            })
        };
        if !attr("class").is_some_and(|c| c.starts_with("pt")) {
            continue;
        }
        out.push((
            attr("data-series").unwrap_or_default(),
            attr("data-round").and_then(|v| v.parse().ok()).unwrap_or(u64::MAX),
            attr("data-value").and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
            attr("cy").and_then(|v| v.parse().ok()).unwrap_or(f64::NAN),
        ));
    }
    out
}

/// A scratch working directory (crash logs land in the working directory).
pub fn scratch_cwd(name: &str) -> PathBuf {
    crate::support::scratch_dir(name)
}
