//! Issue 9's end-to-end test: a real Flink session cluster (1.20.3 and 2.2.0, from PyPI through
//! `scripts/fetch-flink.sh`) whose two TaskManagers share one `env.java.opts.taskmanager` line
//! with the tmrt agent, a library in the cluster's `lib/` (`tests/flink/lib`), and one DataStream
//! job per common leak cause (`tests/flink/job/e2e/LeakJob.java`), submitted over REST like any
//! job. After full collections (`jcmd GC.run`) and a graceful stop of the TaskManagers, each
//! TaskManager's report must show: clean jobs not leaked, every leaking job leaked with its cause
//! named — no change to Flink, the loaders are Flink's own and their release is seen by the agent
//! —, the agent's metaspace figure within 2% of Flink's REST metric, the JVM options Flink derived,
//! no agent safepoint over the pause budget and no heartbeat timeout.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::flink_cluster::{free_port_range, sample, FlinkCluster};
use support::*;

const JOB_TIMEOUT: Duration = Duration::from_secs(180);

/// The suspect a cause must produce: (kind, words its description holds).
type Suspect = (&'static str, &'static [&'static str]);

/// The causes, in submission order, with the suspect each must produce.
const CAUSES: &[(&str, Option<Suspect>)] = &[
    ("clean", None),
    ("clean", None),
    (
        "thread",
        Some(("thread", &["\"job-lingering-thread\"", "stop the thread"])),
    ),
    (
        "executor",
        Some(("thread", &["\"job-executor-worker\"", "shutdownNow()"])),
    ),
    ("timer", Some(("thread", &["\"job-timer\"", "Timer.cancel()"]))),
    (
        "jdbc",
        Some(("static-field", &["java.sql.DriverManager", "deregisterDriver"])),
    ),
    ("shutdown-hook", Some(("static-field", &["Runtime.removeShutdownHook"]))),
    (
        "thread-local",
        Some(("thread-local", &["\"lib-pool-worker\"", "ThreadLocal.remove()"])),
    ),
    ("static-cache", Some(("static-field", &["e2e.lib.SharedLib.CACHE"]))),
    (
        "context-classloader",
        Some(("context-classloader", &["\"lib-thread-with-job-context\""])),
    ),
];

#[test]
fn flink_1_20_3_session_cluster_leaks_are_named() {
    leaks("1.20.3");
}

#[test]
fn flink_2_2_0_session_cluster_leaks_are_named() {
    leaks("2.2.0");
}

fn source(rel: &str) -> (String, String) {
    let p = workspace_root().join("tests/flink").join(rel);
    (
        rel.rsplit('/').next().unwrap().to_string(),
        std::fs::read_to_string(p).unwrap(),
    )
}

/// The lib/ jar and the job jar (compiled against the version's lib/ and the lib/ jar).
fn build(home: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let (name, text) = source("lib/e2e/lib/SharedLib.java");
    let lib_classes = compile_java(&dir.join("lib"), &[(&format!("e2e/lib/{name}"), &text)], &[]);
    let lib_jar = dir.join("tmrt-e2e-lib.jar");
    make_jar(&lib_classes, &lib_jar);
    let mut cp: Vec<PathBuf> = std::fs::read_dir(home.join("lib"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    cp.push(lib_classes);
    let (name, text) = source("job/e2e/LeakJob.java");
    let job_classes = compile_java(&dir.join("job"), &[(&format!("e2e/{name}"), &text)], &cp);
    let job_jar = dir.join("tmrt-e2e-job.jar");
    make_jar(&job_classes, &job_jar);
    (lib_jar, job_jar)
}

/// No line of a Flink log says a heartbeat timed out (a TaskManager stopped too long).
fn assert_no_heartbeat_timeout(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let timeouts: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("heartbeat") && l.contains("timed out")
        })
        .collect();
    assert!(timeouts.is_empty(), "{}: {timeouts:#?}", log.display());
}

fn leaks(version: &str) {
    let dir = scratch_dir(&format!("flink-leaks-{version}"));
    let Some(builder) = FlinkCluster::builder(version, &dir) else {
        return;
    };
    let home = support::flink_cluster::flink_cluster_home(version).unwrap();
    let (lib_jar, job_jar) = build(&home, &dir);
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let (first, last) = free_port_range(8);
    let agent = format!(
        "-agentpath:{}=report={}/tmrt-%p.json,metrics=127.0.0.1:{first}-{last},leak-gc-cycles=2 -Xlog:safepoint:file={}/safepoints-%p.log",
        libtmrt().display(),
        reports.display(),
        reports.display()
    );
    let mut cluster = builder
        .taskmanagers(2)
        .slots(2)
        .taskmanager_java_opts(&agent)
        .lib_jars(&[lib_jar])
        .start();
    let tms = cluster.taskmanagers().to_vec();

    // The JVM options are Flink's own derivation (tmrt changes none): -Xmx, -Xms,
    // MaxDirectMemorySize and MaxMetaspaceSize as `tmrt memory` computes them for this config.
    let expected = tmrt_command()
        .args(["memory", "--flink-version", version, "--format", "json"])
        .args(["-D", "taskmanager.memory.process.size=1728m"])
        .output()
        .unwrap();
    let expected: Value = serde_json::from_slice(&expected.stdout).unwrap();
    let jvm_params = expected["jvm_params"].as_str().unwrap().to_string();
    for tm in &tms {
        let args = cluster.process_args(tm).unwrap();
        for p in jvm_params.split_whitespace() {
            assert!(
                args.iter().any(|a| a == p),
                "{}: {p} missing from {args:?}",
                tm.resource_id
            );
        }
    }

    // A warm-up job: the first job of a fresh TaskManager lets Flink start its lazy threads;
    // whatever retains its loader must be named as Flink's (checked below), not the job's.
    let jar_id = cluster.upload_jar(&job_jar).unwrap();
    let mut jobs: BTreeMap<String, &str> = BTreeMap::new();
    let mut warm_up = None;
    for cause in std::iter::once("clean").chain(CAUSES.iter().map(|(c, _)| *c)) {
        let job_id = cluster.run_jar(&jar_id, "e2e.LeakJob", &[cause], 1).unwrap();
        let outcome = cluster.wait_for_job(&job_id, JOB_TIMEOUT).unwrap();
        assert!(outcome.finished(), "{cause}: {outcome:?}\n{}", cluster.log_tails(40));
        warm_up.get_or_insert_with(|| job_id.clone());
        jobs.insert(job_id, cause);
    }
    let warm_up = warm_up.unwrap();
    std::thread::sleep(Duration::from_millis(2500)); // the agent sees every close (1 s polls)
    for _ in 0..4 {
        for tm in &tms {
            cluster.full_gc(tm).unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    std::thread::sleep(Duration::from_secs(3)); // the agents judge after the collections

    // Metaspace: the agent's figure and Flink's REST metric for the same TaskManager, read
    // around each other in a quiet moment.
    for tm in &tms {
        let text = tm.scrape_agent();
        // Kept with the reports: what an operator's Prometheus reads after the leaking jobs.
        std::fs::write(reports.join(format!("metrics-{}.txt", tm.pid)), &text).unwrap();
        let ours = sample(&text, "jvm_memory_pool_bytes_used{pool=\"Metaspace\"}").unwrap();
        std::thread::sleep(Duration::from_millis(1500)); // Flink's metric fetcher: every 1 s
        let flink = cluster
            .taskmanager_metric(tm, "Status.JVM.Memory.Metaspace.Used", Duration::from_secs(30))
            .unwrap();
        let ours_after = sample(&tm.scrape_agent(), "jvm_memory_pool_bytes_used{pool=\"Metaspace\"}").unwrap();
        let close = |a: f64| (a - flink).abs() <= 0.02 * flink;
        assert!(
            close(ours) || close(ours_after),
            "{}: agent metaspace {ours} / {ours_after} vs Flink's {flink}",
            tm.resource_id
        );
    }

    for (i, tm) in tms.iter().enumerate() {
        assert!(
            cluster.stop_taskmanager(i, Duration::from_secs(60)),
            "{} did not stop",
            tm.resource_id
        );
    }
    let mut loaders: BTreeMap<String, Value> = BTreeMap::new();
    for tm in &tms {
        let path = reports.join(format!("tmrt-{}.json", tm.pid));
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for l in report["loaders"].as_array().unwrap() {
            if let Some(id) = l["flink_job_id"].as_str() {
                loaders.insert(id.to_string(), l.clone());
            }
        }
        // No agent safepoint over the budget (100 ms) in the TaskManager's own safepoint log.
        let log = std::fs::read_to_string(reports.join(format!("safepoints-{}.log", tm.pid))).unwrap_or_default();
        for line in log
            .lines()
            .filter(|l| l.contains("\"HeapWalkOperation\"") || l.contains("\"HeapIterateOperation\""))
        {
            let ns: u64 = line
                .split("At safepoint: ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            assert!(
                ns <= 100_000_000,
                "{}: agent safepoint of {ns} ns: {line}",
                tm.resource_id
            );
        }
        assert_no_heartbeat_timeout(&tm.log);
    }
    assert_no_heartbeat_timeout(&cluster.jobmanager().log);

    for (job_id, cause) in &jobs {
        let l = loaders
            .get(job_id)
            .unwrap_or_else(|| panic!("{cause}: no loader with job {job_id} in the reports"));
        assert_eq!(l["kind"], "flink", "{l:#}");
        assert_eq!(l["user_code"], true);
        assert!(
            l["urls"][0]
                .as_str()
                .unwrap()
                .contains(&format!("job_{job_id}/blob_p-")),
            "{l:#}"
        );
        let expected = CAUSES.iter().find(|(c, _)| c == cause).and_then(|(_, e)| *e);
        if *job_id == warm_up {
            // Retained or not, never blamed on the job: any suspect names a thread of Flink or
            // the JDK (whose code it is) or a path.
            if l["leaked"] == true {
                for s in l["suspects"].as_array().unwrap() {
                    let d = s["description"].as_str().unwrap();
                    assert!(!d.contains(": the job's code"), "the warm-up job is blamed: {d}");
                }
            }
            continue;
        }
        match expected {
            None => assert_eq!(l["leaked"], false, "clean job {job_id} leaked: {l:#}"),
            Some((kind, words)) => {
                assert_eq!(l["released"], true, "{cause}: release not seen: {l:#}");
                assert_eq!(l["leaked"], true, "{cause}: not leaked: {l:#}");
                let suspects = l["suspects"].as_array().unwrap();
                assert!(
                    suspects
                        .iter()
                        .any(|s| s["kind"] == kind
                            && words.iter().all(|w| s["description"].as_str().unwrap().contains(w))),
                    "{cause}: no {kind} suspect saying {words:?}: {suspects:#?}"
                );
            }
        }
    }
    let shutdown = cluster.shutdown();
    assert!(shutdown.left.is_empty(), "{shutdown:?}");
}
