//! `--report-html` in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads the page from a real run with no network, the page reports that it rendered
//! without a script error, and every point of its charts carries the report's own number and sits
//! where that number puts it. Skipped with a message when Chromium is absent.

mod emulator_support;
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use emulator_support::{chart_points, run_with_deadline};
use serde_json::Value;
use support::*;

const LEAKY: &str = r#"
package html;
public final class Leaky {
    public static void main(String[] args) {
        Thread t = new Thread("html-test-lingering") {
            @Override public void run() { try { Thread.sleep(Long.MAX_VALUE); } catch (InterruptedException e) { } }
        };
        t.setDaemon(true);
        t.start();
    }
}
"#;

/// Chromium, if installed.
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::env::var_os("PATH")
            .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|c| c.is_file()));
        if found.is_some() {
            return found;
        }
    }
    eprintln!("SKIPPED: no chromium (apt-get install -y chromium; .ci/run installs it)");
    None
}

/// Chromium's DOM of `page` after its scripts ran, and its stderr.
fn dump_dom(chromium: &Path, page: &Path, profile: &Path) -> (String, String) {
    let mut cmd = Command::new(chromium);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .arg("--dump-dom")
    .arg(format!("file://{}", page.display()));
    let run = run_with_deadline(cmd, Duration::from_secs(120), None);
    assert_eq!(run.code, 0, "chromium failed: {}", run.stderr);
    (run.stdout, run.stderr)
}

#[test]
fn the_html_report_renders_its_numbers_in_a_real_browser() {
    let Some(chromium) = chromium() else { return };
    let dir = scratch_dir("emulate-html");
    let classes = compile_java(&dir.join("job"), &[("html/Leaky.java", LEAKY)], &[]);
    let jar = dir.join("leaky.jar");
    make_jar(&classes, &jar);
    let report = dir.join("run.json");
    let page = dir.join("run.html");
    let mut cmd = tmrt_command();
    cmd.env_remove("FLINK_HOME")
        .args(["emulate", "--jar"])
        .arg(&jar)
        .args(["--entry", "html.Leaky", "--restarts", "4", "--report"])
        .arg(&report)
        .arg("--report-html")
        .arg(&page);
    let run = run_with_deadline(cmd, Duration::from_secs(180), Some(&report));
    assert_eq!(run.code, 3, "{}", run.stderr);

    let (dom, log) = dump_dom(&chromium, &page, &dir.join("profile"));
    assert!(
        dom.contains("data-rendered=\"ok\""),
        "the page did not render cleanly:\n{dom}"
    );
    assert!(!log.contains("Uncaught"), "script errors:\n{log}");
    let job: &Value = &run.report["jobs"][0];

    // Both charts: every round and the baseline (drawn, or named under the chart when it is far
    // from the rounds), each point with the report's number.
    let points = chart_points(&dom);
    for (series, field) in [("metaspace", "metaspace_used_bytes"), ("classes", "classes_loaded")] {
        let baseline = job["baseline"][field].as_f64().unwrap();
        let drawn: Vec<(u64, f64, f64)> = points
            .iter()
            .filter(|p| p.0 == series)
            .map(|p| (p.1, p.2, p.3))
            .collect();
        let mut expected = Vec::new();
        if drawn.first().is_some_and(|p| p.0 == 0) {
            expected.push((0u64, baseline));
        } else {
            assert!(
                dom.contains(&format!("data-baseline=\"{baseline}\"")),
                "{series}: baseline {baseline} named"
            );
        }
        for r in job["rounds"].as_array().unwrap() {
            expected.push((r["round"].as_u64().unwrap(), r["after"][field].as_f64().unwrap()));
        }
        assert_eq!(
            drawn.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
            expected,
            "{series}: the points are the report's"
        );
        // Drawn where the numbers put them: a larger value is higher on the page (smaller y).
        for a in &drawn {
            for b in &drawn {
                if a.1 > b.1 {
                    assert!(a.2 < b.2, "{series}: {a:?} is above {b:?}");
                }
            }
        }
        // The fitted line carries the report's slope.
        let key = if series == "metaspace" {
            "metaspace_growth"
        } else {
            "classes_growth"
        };
        let slope = job["assessment"][key]["slope"].as_f64().unwrap();
        let fit = dom
            .split("class=\"fit\"")
            .skip(1)
            .map(|t| {
                t.split("data-slope=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("")
            })
            .map(|s| s.parse::<f64>().unwrap_or(f64::NAN))
            .collect::<Vec<_>>();
        assert!(
            fit.iter().any(|s| (s - slope).abs() <= 1e-9 * slope.abs().max(1.0)),
            "{series}: {fit:?} vs {slope}"
        );
    }

    // Every user-code loader's life, leaked ones marked, and the suspects with the thread.
    let loaders = job["loaders"].as_array().unwrap();
    assert_eq!(loaders.len(), 4, "{loaders:?}");
    let bars = dom.matches("class=\"life ").count();
    assert_eq!(bars, loaders.len(), "a bar per loader");
    assert_eq!(dom.matches("data-state=\"leaked\"").count(), 4);
    assert!(dom.contains("html-test-lingering"), "the suspect is shown");
    assert!(dom.contains("class=\"suspect\""), "suspects listed");
}
