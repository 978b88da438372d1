//! The JVMTI agent in real JVMs: `java -agentpath:libtmrt.so=...` on small programs compiled by
//! the test (sources in `tests/agent/`). Counts are compared with the JVM's own MXBeans, leak
//! verdicts and suspects with what the program did, the metrics endpoint is fetched over
//! loopback, and bad options must stop the JVM.

mod support;

use std::path::{Path, PathBuf};

use support::*;

const PROGRAMS: &[&str] = &[
    "Counts.java",
    "LeakCache.java",
    "LeakMain.java",
    "MetricsClient.java",
    "LateMain.java",
    "Hold.java",
];
const PLUGIN: &[&str] = &["Plugin.java", "Lingerer.java"];

fn source(name: &str) -> (String, String) {
    let p = workspace_root().join("tests").join("agent").join(name);
    (name.to_string(), std::fs::read_to_string(&p).unwrap())
}

/// Compiles the programs (on the class path) and the plugin classes (only for child loaders).
fn build(dir: &Path) -> (String, PathBuf) {
    let app: Vec<_> = PROGRAMS.iter().map(|n| source(n)).collect();
    let app_refs: Vec<(&str, &str)> = app.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let app_classes = compile_java(&dir.join("app"), &app_refs, &[tmrt_jar()]);
    let plugin: Vec<_> = PLUGIN.iter().map(|n| source(n)).collect();
    let plugin_refs: Vec<(&str, &str)> = plugin.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let plugin_classes = compile_java(&dir.join("plugin"), &plugin_refs, std::slice::from_ref(&app_classes));
    (join_classpath(&[tmrt_jar(), app_classes]), plugin_classes)
}

fn agent_arg(options: &str) -> String {
    if options.is_empty() {
        format!("-agentpath:{}", libtmrt().display())
    } else {
        format!("-agentpath:{}={options}", libtmrt().display())
    }
}

fn run_ok(args: &[&str]) -> (String, String) {
    let out = run_java(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "java {args:?} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

fn numbers(stdout: &str, key: &str) -> Vec<i64> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{key} ")))
        .unwrap_or_else(|| panic!("no {key} line in\n{stdout}"));
    line.split_whitespace().skip(1).map(|v| v.parse().unwrap()).collect()
}

#[test]
fn counts_equal_the_mxbeans_and_the_report_is_written_at_exit() {
    let dir = scratch_dir("agent-counts");
    let (cp, plugins) = build(&dir);
    let report = dir.join("report.json");
    let agent = agent_arg(&format!("report={},log=off", report.display()));
    let plugins = format!("{}/", plugins.display());
    let (stdout, stderr) = run_ok(&[&agent, "-cp", &cp, "Counts", &plugins]);
    assert!(stdout.contains("agent=true"), "{stdout}");
    assert_eq!(stderr, "", "log=off prints nothing");

    // Same instant (the MXBean count did not move around the snapshot): equal, and the
    // per-loader counts add up to the JVM-wide ones.
    let loaded = numbers(&stdout, "LOADED");
    assert_eq!(loaded[0], loaded[1], "ClassLoadingMXBean vs agent: {stdout}");
    assert_eq!(loaded[1], loaded[2], "sum over loaders: {stdout}");
    let unloaded = numbers(&stdout, "UNLOADED");
    assert!(
        unloaded[0] >= 4,
        "the released loaders' classes were unloaded: {stdout}"
    );
    assert_eq!(unloaded[0], unloaded[1], "unloaded, MXBean vs agent: {stdout}");
    assert_eq!(unloaded[1], unloaded[2], "unloaded, sum over loaders: {stdout}");
    // Metaspace: the agent's reading lies between two MXBean readings around it; max is equal.
    for key in ["METASPACE", "CCS"] {
        let m = numbers(&stdout, key);
        assert!(m[0] <= m[1] && m[1] <= m[2], "{key} used {m:?}");
        assert!(m[1] > 0, "{key} used {m:?}");
        assert_eq!(m[3], m[4], "{key} max {m:?}");
    }
    assert!(stdout.contains("JSON_IS_REPORT true"), "{stdout}");

    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    for key in [
        "classes_loaded_total",
        "classes_unloaded_total",
        "metaspace_used_bytes",
        "metaspace_max_bytes",
        "gc_count",
        "loaders",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}: {json}");
    }
    assert!(json["gc_count"].as_u64().unwrap() >= 2, "two System.gc(): {json}");
    let loaders = json["loaders"].as_array().unwrap();
    let counted: Vec<_> = loaders
        .iter()
        .filter(|l| l["name"].as_str().is_some_and(|n| n.starts_with("counted-")))
        .collect();
    assert_eq!(counted.len(), 4, "{json}");
    for l in counted {
        assert_eq!(l["class"], "java.net.URLClassLoader");
        assert_eq!(l["released"], true);
        assert_eq!(l["alive"], false, "collected: {l}");
        assert_eq!(l["leaked"], false);
        // Plugin plus the lambda's hidden class; all unloaded with the loader.
        assert_eq!(l["classes_defined"], l["classes_unloaded"], "{l}");
        assert!(l["classes_defined"].as_u64().unwrap() >= 1, "{l}");
        let app = loaders.iter().find(|x| x["id"] == l["parent"]).unwrap();
        assert_eq!(app["name"], "app", "parent is the application loader");
    }
    let sum: u64 = loaders.iter().map(|l| l["classes_defined"].as_u64().unwrap()).sum();
    assert_eq!(sum, json["classes_loaded_total"].as_u64().unwrap());
}

#[test]
fn released_loaders_kept_alive_are_reported_leaked_with_their_suspects() {
    let dir = scratch_dir("agent-leaks");
    let (cp, plugins) = build(&dir);
    let report = dir.join("leaks.json");
    // A full walk (whatever the pause budget), so that both reference paths are always there;
    // the pause budget has tests of its own.
    let agent = agent_arg(&format!(
        "report={},leak-gc-cycles=2,reference-paths=full",
        report.display()
    ));
    let plugins = format!("{}/", plugins.display());
    let on_request = dir.join("on-request.json");
    let on_request_arg = on_request.display().to_string();
    let (stdout, stderr) = run_ok(&[&agent, "-cp", &cp, "LeakMain", &plugins, "2", &on_request_arg]);
    assert!(stdout.contains("LEAKED leak-thread leak-cache\n"), "{stdout}");
    assert!(stderr.contains("leaked: alive after 2 full collections"), "{stderr}");
    let json_text = &stdout[stdout.find('{').unwrap()..];
    let at_snapshot: serde_json::Value = serde_json::from_str(json_text).unwrap();
    let at_exit: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let requested: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&on_request).unwrap()).unwrap();
    for json in [&at_snapshot, &requested, &at_exit] {
        let loaders = json["loaders"].as_array().unwrap();
        let by_name = |n: &str| {
            loaders
                .iter()
                .find(|l| l["name"] == n)
                .unwrap_or_else(|| panic!("no loader {n} in {json}"))
        };
        let leaked: Vec<_> = loaders
            .iter()
            .filter(|l| l["leaked"] == true)
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        assert_eq!(leaked, vec!["leak-thread", "leak-cache"], "exactly these two");
        for i in 0..3 {
            let l = by_name(&format!("clean-{i}"));
            assert_eq!(
                (&l["released"], &l["alive"], &l["leaked"]),
                (&true.into(), &false.into(), &false.into()),
                "{l}"
            );
            assert_eq!(l["suspects"].as_array().unwrap().len(), 0);
        }
        let thread = by_name("leak-thread");
        assert_eq!(thread["alive"], true);
        let suspects = thread["suspects"].as_array().unwrap();
        let t = suspects
            .iter()
            .find(|s| s["kind"] == "thread")
            .unwrap_or_else(|| panic!("{thread}"));
        let d = t["description"].as_str().unwrap();
        assert!(d.contains("\"lingering-worker\""), "{d}");
        assert!(d.contains("thread class Lingerer defined by this loader"), "{d}");
        assert!(
            d.contains(" at java.lang.Thread.sleep") || d.contains(" at Lingerer.run"),
            "stack top: {d}"
        );
        let path = suspects.iter().find(|s| s["kind"] == "reference-path").unwrap();
        let p = path["description"].as_str().unwrap();
        assert!(
            p.starts_with("GC root (") && p.ends_with("(java.net.URLClassLoader)"),
            "{p}"
        );
        assert!(p.contains("Lingerer"), "the path goes through the thread: {p}");

        let cache = by_name("leak-cache");
        let suspects = cache["suspects"].as_array().unwrap();
        assert!(
            suspects.iter().all(|s| s["kind"] != "thread"),
            "no thread holds it: {cache}"
        );
        let path = suspects.iter().find(|s| s["kind"] == "reference-path").unwrap();
        let p = path["description"].as_str().unwrap();
        assert!(
            p.contains("class LeakCache -> static field CACHE: java.util.HashMap"),
            "{p}"
        );
        assert!(
            p.contains("field value: Plugin -> class: class Plugin -> defining loader: loader #"),
            "{p}"
        );
    }
}

#[test]
fn bad_options_stop_the_jvm_with_a_one_line_message() {
    for (option, expected) in [
        ("repot=/tmp/x", "tmrt agent: unknown option 'repot' (accepted: report=PATH, metrics=HOST:PORT[-PORT], leak-gc-cycles=N, log=off|info|debug, pause-budget=DURATION, reference-paths=budget|full|off, runtime=off|classloading|managed-memory|classloading+managed-memory)"),
        ("leak-gc-cycles=0", "tmrt agent: bad value '0' for option 'leak-gc-cycles' (expected leak-gc-cycles=N with N a whole number from 1 to 1000)"),
        ("log=loud", "tmrt agent: bad value 'loud' for option 'log' (expected log=off|info|debug)"),
        ("metrics=localhost:http", "tmrt agent: bad value 'localhost:http' for option 'metrics'"),
        ("report", "tmrt agent: option 'report' has no value"),
        ("report=/nonexistent-dir/r.json", "tmrt agent: bad value '/nonexistent-dir/r.json' for option 'report': directory /nonexistent-dir"),
        ("report=/tmp/r-%q.json", "tmrt agent: bad value '/tmp/r-%q.json' for option 'report' (expected report=PATH"),
        ("pause-budget=0ms", "tmrt agent: bad value '0ms' for option 'pause-budget'"),
        ("metrics=9410-9404", "tmrt agent: bad value '9410-9404' for option 'metrics'"),
    ] {
        let out = run_java(&[&agent_arg(option), "-version"]);
        assert!(!out.status.success(), "JVM started with {option}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ours: Vec<_> = stderr.lines().filter(|l| l.starts_with("tmrt agent:")).collect();
        assert_eq!(ours.len(), 1, "one line: {stderr}");
        assert!(ours[0].starts_with(expected), "{option}: {stderr}");
        assert!(!stderr.contains("OpenJDK"), "the JVM did not start (no version banner): {stderr}");
    }
}

#[test]
fn metrics_endpoint_serves_prometheus_text_over_loopback() {
    let dir = scratch_dir("agent-metrics");
    let (cp, _) = build(&dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = agent_arg(&format!("metrics={port}"));
    let (stdout, stderr) = run_ok(&[&agent, "-cp", &cp, "MetricsClient", &port.to_string()]);
    assert!(
        stderr.contains(&format!("tmrt agent: metrics on http://127.0.0.1:{port}/metrics")),
        "{stderr}"
    );
    let metrics = stdout
        .split("=== metrics\n")
        .nth(1)
        .unwrap()
        .split("=== too big")
        .next()
        .unwrap();
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("Content-Type: text/plain; version=0.0.4"), "{metrics}");
    for name in [
        "\njvm_classes_loaded_total ",
        "\njvm_classes_unloaded_total ",
        "\njvm_memory_pool_bytes_used{pool=\"Metaspace\"} ",
        "\njvm_memory_pool_bytes_committed{pool=\"Compressed Class Space\"} ",
        "\ntmrt_classloaders_leaked 0\n",
        "\ntmrt_classloader_classes{loader=\"2\",class=\"jdk.internal.loader.ClassLoaders$AppClassLoader\",name=\"app\",job=\"\"} ",
        "# TYPE jvm_classes_loaded_total counter",
    ] {
        assert!(metrics.contains(name), "missing {name:?} in\n{metrics}");
    }
    let loaded: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("jvm_classes_loaded_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(loaded > 400, "a JVM loads hundreds of classes before main: {loaded}");
    assert!(stdout.contains("=== too big\nHTTP/1.1 431"), "{stdout}");
    assert!(stdout.contains("=== post\nHTTP/1.1 405"), "{stdout}");
}

#[test]
fn without_the_agent_the_java_api_gives_jvm_wide_figures_only() {
    let dir = scratch_dir("agent-none");
    let (cp, plugins) = build(&dir);
    let plugins = format!("{}/", plugins.display());
    let lib = format!("-Dtmrt.library={}", libtmrt().display());
    // Library loaded as a plain JNI library, not as an agent: same behaviour as no library.
    let (stdout, _) = run_ok(&[&lib, "-cp", &cp, "Counts", &plugins]);
    assert!(stdout.contains("agent=false"), "{stdout}");
    let loaded = numbers(&stdout, "LOADED");
    assert_eq!(loaded[0], loaded[1], "{stdout}");
    assert_eq!(loaded[2], 0, "no loaders without the agent: {stdout}");
    assert!(stdout.contains("JSON_IS_REPORT true"), "{stdout}");
}

#[test]
fn late_attach_works_with_the_live_phase_capabilities() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = scratch_dir("agent-late");
    let (cp, plugins) = build(&dir);
    let go = dir.join("go");
    let plugins = format!("{}/", plugins.display());
    let mut child = Command::new(jdk_tool("java"))
        .args(["-cp", &cp, "LateMain", &plugins])
        .arg(&go)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let pid = line
        .trim()
        .strip_prefix("PID ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let attach = Command::new(jdk_tool("jcmd"))
        .args([
            &pid,
            "JVMTI.agent_load",
            &libtmrt().display().to_string(),
            // jcmd splits unquoted key=value arguments: the agent options go in quotes.
            "\"leak-gc-cycles=3,log=info\"",
        ])
        .output()
        .unwrap();
    std::fs::write(&go, "").unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        attach.status.success(),
        "jcmd: {}",
        String::from_utf8_lossy(&attach.stdout)
    );
    assert!(out.status.success(), "{rest}\n{stderr}");
    assert!(rest.contains("agent=true"), "{rest}");
    assert!(
        stderr.contains("tmrt agent: attached late: classes loaded before attach are enumerated"),
        "{stderr}"
    );
    // JVM-wide counts still equal the MXBean's (what came before attach is taken from it once).
    let loaded = numbers(&rest, "LOADED");
    assert_eq!(loaded[0], loaded[1], "{rest}");
    let unloaded = numbers(&rest, "UNLOADED");
    assert!(unloaded[0] >= 2, "{rest}");
    assert_eq!(unloaded[0], unloaded[1], "{rest}");
    assert!(rest.contains("LEAKED late-leak\n"), "{rest}");
    assert!(rest.contains("SUSPECT thread: thread \"late-lingerer\""), "{rest}");
}

/// One option line for every JVM of a host (a TaskManager `workers` file listing a host twice):
/// `%p` gives each JVM its own report, and a port range gives each its own metrics port.
#[test]
fn one_option_line_serves_several_jvms() {
    let dir = scratch_dir("agent-shared-line");
    let (cp, _) = build(&dir);
    // A range of free ports: bind two listeners to find them, then free them.
    let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = first.local_addr().unwrap().port();
    drop(first);
    let (lo, hi) = if base > 65000 {
        (base - 20, base)
    } else {
        (base, base + 20)
    };
    let agent = agent_arg(&format!(
        "report={}/r-%p.json,metrics=127.0.0.1:{lo}-{hi}",
        dir.display()
    ));
    // The first JVM holds its port while the second starts: Hold waits for a line on stdin.
    let spawn = || {
        std::process::Command::new(jdk_tool("java"))
            .args([&agent, "-cp", &cp, "Hold"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut a = spawn();
    let read_port = |child: &mut std::process::Child| -> u16 {
        use std::io::BufRead;
        let stderr = child.stderr.as_mut().unwrap();
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "no metrics line");
            if let Some(rest) = line.trim().strip_prefix("tmrt agent: metrics on http://127.0.0.1:") {
                return rest.trim_end_matches("/metrics").parse().unwrap();
            }
        }
    };
    let pa = read_port(&mut a);
    let mut b = spawn();
    let pb = read_port(&mut b);
    assert!(
        (lo..=hi).contains(&pa) && (lo..=hi).contains(&pb),
        "{pa} {pb} in {lo}-{hi}"
    );
    assert_ne!(pa, pb, "the second JVM takes the next free port");
    let (ida, idb) = (a.id(), b.id());
    for c in [&mut a, &mut b] {
        use std::io::Write;
        c.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        assert!(c.wait().unwrap().success());
    }
    for pid in [ida, idb] {
        let report = dir.join(format!("r-{pid}.json"));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
        assert!(json["classes_loaded_total"].as_u64().unwrap() > 0, "{report:?}");
    }
}
