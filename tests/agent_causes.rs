//! Every common cause of a classloader leak, named by the agent in a real JVM, with loaders the
//! program only *closes* (the agent must see the release itself), and the pause budget on a
//! heap of millions of live objects: the JVM's own safepoint log must show no agent safepoint
//! longer than the budget, and every cause must still be named. Sources in `tests/agent/causes`.

mod support;

use std::path::{Path, PathBuf};

use support::*;

fn sources(dir: &str) -> Vec<(String, String)> {
    let base = workspace_root().join("tests/agent/causes").join(dir);
    let mut out = Vec::new();
    for e in std::fs::read_dir(&base).unwrap() {
        let p = e.unwrap().path();
        out.push((
            p.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read_to_string(&p).unwrap(),
        ));
    }
    out
}

/// Compiles the program (class path) and the plugin (loaded only by the program's loaders).
fn build(dir: &Path) -> (String, PathBuf) {
    let app = sources("app");
    let app_refs: Vec<(&str, &str)> = app.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let app_classes = compile_java(&dir.join("app"), &app_refs, &[]);
    let plugin = sources("plugin");
    let plugin_refs: Vec<(&str, &str)> = plugin.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let plugin_classes = compile_java(&dir.join("plugin"), &plugin_refs, &[]);
    (app_classes.display().to_string(), plugin_classes)
}

struct Run {
    report: serde_json::Value,
    stderr: String,
    safepoints: String,
}

fn run(test: &str, live_objects: u32, options: &str, heap: &str) -> Run {
    let dir = scratch_dir(test);
    let (cp, plugins) = build(&dir);
    let report = dir.join("report.json");
    let safepoints = dir.join("safepoints.log");
    let agent = format!(
        "-agentpath:{}=report={},leak-gc-cycles=2{options}",
        libtmrt().display(),
        report.display()
    );
    let log = format!("-Xlog:safepoint:file={}", safepoints.display());
    let plugins = format!("{}/", plugins.display());
    let live = live_objects.to_string();
    let out = run_java(&[heap, &log, &agent, "-cp", &cp, "Causes", &plugins, &live, "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "Causes failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains(&format!("DONE {live_objects}")), "{stdout}");
    Run {
        report: serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap(),
        stderr,
        safepoints: std::fs::read_to_string(&safepoints).unwrap_or_default(),
    }
}

fn loader<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["loaders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == name)
        .unwrap_or_else(|| panic!("no loader {name} in {report:#}"))
}

/// The loader is leaked, released with a date, and has a suspect of `kind` saying all `words`.
fn assert_named(report: &serde_json::Value, name: &str, kind: &str, words: &[&str]) {
    let l = loader(report, name);
    assert_eq!(l["leaked"], true, "{name} not leaked: {l:#}");
    assert_eq!(l["kind"], "url", "{l:#}");
    assert_eq!(l["user_code"], true, "{l:#}");
    assert!(
        l["released_at"]["unix_ms"].as_u64().unwrap() > 0,
        "the close was seen: {l:#}"
    );
    let suspects = l["suspects"].as_array().unwrap();
    let found = suspects
        .iter()
        .any(|s| s["kind"] == kind && words.iter().all(|w| s["description"].as_str().unwrap().contains(w)));
    assert!(found, "{name}: no {kind} suspect saying {words:?} in {suspects:#?}");
}

fn assert_every_cause(report: &serde_json::Value) {
    for i in 0..2 {
        let l = loader(report, &format!("clean-{i}"));
        assert_eq!((&l["alive"], &l["leaked"]), (&false.into(), &false.into()), "{l:#}");
    }
    assert_named(
        report,
        "leak-lambda-thread",
        "thread",
        &["\"lingering-lambda\"", "stop the thread"],
    );
    assert_named(report, "leak-executor", "thread", &["\"job-pool-worker\""]);
    assert_named(report, "leak-timer", "thread", &["\"job-timer\"", "Timer.cancel()"]);
    assert_named(
        report,
        "leak-jdbc",
        "static-field",
        &["java.sql.DriverManager", "deregisterDriver"],
    );
    assert_named(
        report,
        "leak-shutdown-hook",
        "static-field",
        &["Runtime.removeShutdownHook"],
    );
    assert_named(
        report,
        "leak-thread-local",
        "thread-local",
        &["\"app-pool-worker\"", "ThreadLocal.remove()"],
    );
    assert_named(
        report,
        "leak-context-loader",
        "context-classloader",
        &["\"app-thread-with-job-context\""],
    );
    assert_named(
        report,
        "leak-static-cache",
        "static-field",
        &["static field LeakCache.CACHE"],
    );
    // The thread of the application with the job's context loader holds no other tie.
    let ctx = loader(report, "leak-context-loader");
    assert!(
        ctx["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["kind"] != "thread" || !s["description"].as_str().unwrap().contains("app-thread")),
        "{ctx:#}"
    );
}

#[test]
fn every_common_cause_is_named_from_the_loaders_close_alone() {
    let run = run("agent-causes", 0, "", "-Xmx256m");
    assert_every_cause(&run.report);
    assert!(
        run.stderr.contains("leaked: alive after 2 full collections"),
        "{}",
        run.stderr
    );
}

/// `At safepoint: N ns` of every safepoint the agent's heap walk caused.
fn agent_safepoints(log: &str) -> Vec<(String, u64)> {
    log.lines()
        .filter(|l| l.contains("Safepoint \"HeapWalkOperation\"") || l.contains("Safepoint \"HeapIterateOperation\""))
        .map(|l| {
            let name = l.split('"').nth(1).unwrap().to_string();
            let at = l
                .split("At safepoint: ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no duration in {l}"));
            (name, at)
        })
        .collect()
}

#[test]
fn the_pause_budget_holds_on_a_heap_of_millions_of_objects() {
    // 3,000,000 live objects (plus the JVM's own), a 100 ms budget (the default).
    let run = run("agent-causes-big-heap", 3_000_000, ",pause-budget=100ms", "-Xmx1g");
    assert_every_cause(&run.report);
    let walks = agent_safepoints(&run.safepoints);
    assert!(walks.len() <= 1, "at most one agent safepoint per analysis: {walks:?}");
    for (name, ns) in &walks {
        assert!(*ns <= 100_000_000, "{name} lasted {ns} ns, over the 100 ms budget");
    }
    // What the budget left undone is said per loader: every leaked loader has a reference path,
    // or says why not (and then lists it in its limits).
    for l in run.report["loaders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["leaked"] == true)
    {
        let path = l["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "reference-path")
            .unwrap_or_else(|| panic!("{l:#}"));
        let text = path["description"].as_str().unwrap();
        if walks.is_empty() || !text.starts_with("GC root") {
            assert!(text.starts_with("not computed: over the pause budget"), "{text}");
            assert!(
                l["limits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x.as_str().unwrap().contains("over the pause budget")),
                "{l:#}"
            );
        }
    }
}
