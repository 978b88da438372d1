//! A real Flink standalone session cluster with the tmrt agent in its TaskManagers: the smoke
//! test of the harness in `support::flink_cluster`, for Flink 1.20.3 and 2.2.0 (each skips with a
//! message when `scripts/fetch-flink.sh` has not assembled its FLINK_HOME).
//!
//! Two TaskManagers share one `env.java.opts.taskmanager` line that loads this build's
//! `libtmrt.so` with `report=…/tmrt-%p.json` and a `metrics=` port range; a clean DataStream job
//! (`tests/flink/CleanJob.java`, compiled against that version's `flink-dist`) runs twice over all
//! four slots. Then: both jobs FINISHED; each TaskManager runs with the agent line, serves the
//! agent's metrics on its own port of the range, answers Flink's REST metric and `jcmd GC.run`;
//! stopped with SIGTERM it exits and its agent report names Flink's user-code classloaders; no
//! Flink process is left — after `shutdown()` (1.20.3) and after a panic unwinds past the cluster
//! (2.2.0).

mod support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::flink_cluster::{cpu_seconds, free_port_range, processes_naming, FlinkCluster};
use support::*;

const JOB_TIMEOUT: Duration = Duration::from_secs(120);

// A cluster of 1.20.3 ended by `shutdown()` is what tests/flink_leaks.rs runs (asserting on its
// agents' reports and that nothing is left), so the suite skips this one to save CI minutes:
// `cargo test --release -p tmrt-jni --test flink_cluster -- --include-ignored` runs it.
#[test]
#[ignore = "covered by tests/flink_leaks.rs; run with --include-ignored"]
fn session_cluster_1_20_3_with_agent() {
    smoke("1.20.3", Ending::Shutdown);
}

#[test]
fn session_cluster_2_2_0_with_agent() {
    smoke("2.2.0", Ending::PanicUnwinds);
}

/// How the test lets go of the cluster at its end.
enum Ending {
    /// `shutdown()`, then drop.
    Shutdown,
    /// A panic unwinds past the cluster (its `Drop` must stop it).
    PanicUnwinds,
}

fn smoke(version: &str, ending: Ending) {
    let dir = scratch_dir(&format!("flink-cluster-{version}"));
    let Some(builder) = FlinkCluster::builder(version, &dir) else {
        return;
    };
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let (first, last) = free_port_range(8);
    let agent = format!(
        "-agentpath:{}=report={}/tmrt-%p.json,metrics=127.0.0.1:{first}-{last}",
        libtmrt().display(),
        reports.display()
    );
    let mut cluster = builder.taskmanagers(2).slots(2).taskmanager_java_opts(&agent).start();
    let clock = Instant::now();
    let phase = |what: &str| eprintln!("flink {version}: {what} at +{:.1} s", clock.elapsed().as_secs_f64());
    eprintln!(
        "flink {version}: cluster up in {:.1} s",
        cluster.startup_time().as_secs_f64()
    );
    let tms = cluster.taskmanagers().to_vec();
    assert_eq!(tms.len(), 2);
    assert_ne!(tms[0].pid, tms[1].pid);

    // The one line reached every TaskManager's JVM, as Flink passed it on.
    let agentpath = agent.split_whitespace().next().unwrap();
    for tm in &tms {
        let args = cluster.process_args(tm).expect("TaskManager running");
        assert!(
            args.iter().any(|a| a == agentpath),
            "{} argv lacks {agentpath}: {args:?}",
            tm.resource_id
        );
        assert!(args
            .iter()
            .any(|a| a == &format!("taskmanager.resource-id={}", tm.resource_id)));
        let vm_args = cluster.jvm_command_line(tm).unwrap();
        assert!(
            vm_args.contains(agentpath),
            "jcmd VM.command_line of {}:\n{vm_args}",
            tm.resource_id
        );
        assert!(tm.log.is_file() && tm.out.is_file(), "{tm:?}");
    }

    // A clean job, twice, over all four slots.
    let source = std::fs::read_to_string(workspace_root().join("tests/flink/CleanJob.java")).unwrap();
    let jar = cluster.job_jar("clean", &[("CleanJob.java", &source)]);
    phase("job jar built");
    let mut job_ids = Vec::new();
    for round in 0..2 {
        let outcome = cluster
            .run_job(&jar, "CleanJob", &["200000"], 4, JOB_TIMEOUT)
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{}", cluster.log_tails(40)));
        assert!(
            outcome.finished(),
            "round {round}: {outcome:?}\n{}",
            cluster.log_tails(40)
        );
        assert_eq!(outcome.job_id.len(), 32, "{outcome:?}");
        job_ids.push(outcome.job_id);
    }
    phase("two jobs finished");
    assert_ne!(job_ids[0], job_ids[1]);
    let failed = cluster.run_job(&jar, "NoSuchClass", &[], 1, JOB_TIMEOUT);
    assert!(failed.is_err(), "a missing entry class must not be a job: {failed:?}");

    // Each TaskManager's agent took its own port of the range; Flink's REST metric; full GCs.
    let mut ports = Vec::new();
    for tm in &tms {
        let port = tm.agent_metrics_port();
        assert!(
            (first..=last).contains(&port),
            "{}: port {port} outside {first}-{last}",
            tm.resource_id
        );
        let resp = http::get(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "/metrics",
            Duration::from_secs(30),
        )
        .unwrap();
        assert_eq!(resp.status, 200, "{}: {}", tm.resource_id, resp.text());
        assert!(resp.text().contains("tmrt_"), "{}: {}", tm.resource_id, resp.text());
        ports.push(port);
        let metaspace = cluster
            .taskmanager_metric(tm, "Status.JVM.Memory.Metaspace.Used", Duration::from_secs(30))
            .unwrap();
        assert!(metaspace > 1e6, "{}: metaspace {metaspace}", tm.resource_id);
        cluster.full_gc(tm).unwrap();
        cluster.full_gc(tm).unwrap();
    }
    assert_ne!(ports[0], ports[1], "two TaskManagers on one metrics port");

    phase("metrics read, GCs done");
    let cpu = |pid| cpu_seconds(pid).unwrap_or(f64::NAN);
    eprintln!(
        "flink {version}: CPU s so far: JobManager {:.1}, TaskManagers {:.1} and {:.1}",
        cpu(cluster.jobmanager().pid),
        cpu(tms[0].pid),
        cpu(tms[1].pid)
    );
    // Graceful stop: each TaskManager exits and its agent writes its report at VM death.
    for tm in &tms {
        assert!(
            cluster.stop_taskmanager(tm.index, Duration::from_secs(60)),
            "{} (pid {}) did not exit within 60 s of SIGTERM\n{}",
            tm.resource_id,
            tm.pid,
            cluster.log_tails(30)
        );
        assert!(!cluster.is_running(tm));
        let path = reports.join(format!("tmrt-{}.json", tm.pid));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), cluster.log_tails(30)));
        let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let flink_loaders = report["loaders"]
            .as_array()
            .unwrap_or_else(|| panic!("{}: no loaders", path.display()))
            .iter()
            .filter(|l| l["class"] == "org.apache.flink.util.ChildFirstClassLoader")
            .count();
        assert!(
            flink_loaders >= 2,
            "{}: {flink_loaders} ChildFirstClassLoaders for two jobs",
            path.display()
        );
    }

    phase("TaskManagers stopped");
    let conf = cluster.conf_dir().to_path_buf();
    match ending {
        Ending::Shutdown => {
            let down = cluster.shutdown();
            assert!(down.left.is_empty(), "{down:?}");
            assert_eq!(down.terminated, vec![cluster.jobmanager().pid], "{down:?}");
            assert_eq!(cluster.live_processes(), Vec::<u32>::new());
            drop(cluster);
        }
        Ending::PanicUnwinds => {
            assert!(
                !cluster.live_processes().is_empty(),
                "the JobManager runs until the panic"
            );
            // resume_unwind: a panic without the panic hook's message and backtrace.
            let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
                let _cluster = cluster;
                std::panic::resume_unwind(Box::new("deliberate: the cluster's Drop must stop it"));
            }));
            assert!(unwound.is_err());
        }
    }
    assert_eq!(
        processes_naming(&conf),
        Vec::<u32>::new(),
        "Flink processes left for {}",
        conf.display()
    );
    phase("cluster down");
}

#[test]
fn http_client_parses_content_length_chunked_and_eof_bodies() {
    let parse = http::parse;
    let r = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false)
        .unwrap()
        .unwrap();
    assert_eq!((r.status, r.text()), (200, "hello".to_string()));
    assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello", false)
        .unwrap()
        .is_none());
    assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello", true).is_err());
    let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=1\r\nlo\r\n0\r\n\r\n";
    assert_eq!(parse(c, false).unwrap().unwrap().text(), "hello");
    assert!(parse(&c[..c.len() - 7], false).unwrap().is_none());
    let e = b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nnope";
    assert!(parse(e, false).unwrap().is_none());
    let r = parse(e, true).unwrap().unwrap();
    assert_eq!(
        (r.status, r.text(), r.header("server")),
        (404, "nope".to_string(), Some("x"))
    );
    assert!(parse(b"garbage\r\n\r\n", true).is_err());
}

#[test]
fn http_multipart_boundary_avoids_the_data() {
    let data = b"abc----tmrt-boundary-7f3a9cdef";
    let (ct, body) = http::multipart_file("jarfile", "job.jar", "application/x-java-archive", data);
    let boundary = ct.split("boundary=").nth(1).unwrap();
    assert_ne!(boundary, "----tmrt-boundary-7f3a9c");
    assert!(!data.windows(boundary.len()).any(|w| w == boundary.as_bytes()));
    let text = String::from_utf8_lossy(&body);
    assert!(text.starts_with(&format!("--{boundary}\r\n")) && text.ends_with(&format!("--{boundary}--\r\n")));
    assert!(text.contains("name=\"jarfile\"; filename=\"job.jar\""));
}
