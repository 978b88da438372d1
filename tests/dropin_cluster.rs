//! Issue 10.4 end to end: tmrt as the TaskManager's runtime in a real Flink session cluster.
//!
//! For Flink 1.20.3 and 2.2.0 (each skipped with a message when its FLINK_HOME is absent), the
//! same session cluster (one TaskManager, two slots) is started twice with the agent, and both
//! stay up side by side: one only observing, one with `runtime=classloading+managed-memory`. The
//! two take turns job by job (which goes first alternates each round, so that the shared
//! machine's changing load falls on both alike). The same three jobs
//! (`tests/flink/job/dropin/ManagedJobs.java`) run on both, each leaning on managed memory: a
//! DataStream job in BATCH mode with `keyBy`/`reduce` over 3 million records (the sorter's pages),
//! a batch SQL job (`datagen` sequences → join, `GROUP BY`, `ORDER BY`; hash join, hash
//! aggregation and sort pages) and a streaming job on the RocksDB state backend bundled in
//! flink-dist (its managed memory is a reservation). The results must be identical (checksums of
//! the reduced records and of the emitted counts, the SQL job's CSV bytes), in each of two rounds.
//! A third cluster asks for the runtime with `TMRT_JAR` naming a missing file: the drop-in
//! refuses with one line per component, Flink's classes stay Flink's, and the jobs give the same
//! results (the fail-safe).
//!
//! On the runtime cluster, the agent's `/metrics` (scraped every 200 ms while a job runs, on both
//! clusters alike) must show the slot pools' pages in use during the page-based jobs and reserved
//! bytes during the RocksDB job, and after each job no page in use and nothing reserved; no
//! TaskManager log may report slot memory not freed. Each job's run time (Flink's own `duration`)
//! and the TaskManager's class-loading time during it (HotSpot's `sun.cls.time` through `jcmd
//! PerfCounter.print`) are printed side by side: figures, not assertions (a benchmark, not a timed
//! test; README shows them). `interleaved_rounds_with_and_without_the_runtime` (ignored; run by
//! `scripts/compare-dropin-cluster.sh`) is the same comparison over more rounds, with medians.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::flink_cluster::{
    build_job_jar, cpu_seconds, flink_cluster_home, free_port_range, sample, scrape_metrics, FlinkCluster, TaskManager,
};
use support::*;

const JOB_TIMEOUT: Duration = Duration::from_secs(900);
const ENTRY: &str = "dropin.ManagedJobs";
const PARALLELISM: u32 = 2;
/// (mode, records): see `ManagedJobs.java`.
const JOBS: &[(&str, u64)] = &[("sort", 3_000_000), ("sql", 2_000_000), ("rocksdb", 1_000_000)];
const RUNTIME: &str = "classloading+managed-memory";

/// The `runtime=` value of the runtime cluster: [`RUNTIME`], or `TMRT_DROPIN_RUNTIME` for the
/// benchmark.
fn runtime() -> String {
    std::env::var("TMRT_DROPIN_RUNTIME").unwrap_or_else(|_| RUNTIME.to_string())
}

/// Whether the runtime cluster's `runtime=` includes component `c`.
fn replaces(c: &str) -> bool {
    runtime().split('+').any(|x| x == c)
}
/// Each cluster runs the jobs this many times: the first round is the TaskManager's first job of
/// each kind (Flink's own classes still loading), the second the same job again.
const ROUNDS: usize = 2;
/// The version whose cluster also runs the jobs with the drop-in refusing.
const REFUSAL_VERSION: &str = "2.2.0";
const SLOTS: u32 = 2;

#[test]
fn flink_1_20_3_jobs_are_identical_with_tmrt_as_the_runtime() {
    compare("1.20.3", ROUNDS, JOBS, true);
}

#[test]
fn flink_2_2_0_jobs_are_identical_with_tmrt_as_the_runtime() {
    compare("2.2.0", ROUNDS, JOBS, true);
}

/// The benchmark behind README's figures (`scripts/compare-dropin-cluster.sh`): more rounds of
/// the same interleaved comparison, with medians. `TMRT_DROPIN_VERSION` (default 1.20.3),
/// `TMRT_DROPIN_ROUNDS` (default 5), `TMRT_DROPIN_JOBS` (comma-separated modes, default all),
/// `TMRT_DROPIN_RUNTIME` (the `runtime=` value, default [`RUNTIME`]: one component alone tells
/// which one a difference comes from).
#[test]
#[ignore = "a benchmark (minutes per round): scripts/compare-dropin-cluster.sh"]
fn interleaved_rounds_with_and_without_the_runtime() {
    let version = std::env::var("TMRT_DROPIN_VERSION").unwrap_or_else(|_| "1.20.3".into());
    let rounds = std::env::var("TMRT_DROPIN_ROUNDS")
        .ok()
        .map(|r| r.parse().expect("TMRT_DROPIN_ROUNDS: a number"))
        .unwrap_or(5);
    let wanted = std::env::var("TMRT_DROPIN_JOBS").unwrap_or_default();
    let jobs: Vec<(&str, u64)> = JOBS
        .iter()
        .copied()
        .filter(|(mode, _)| wanted.is_empty() || wanted.split(',').any(|w| w.trim() == *mode))
        .collect();
    assert!(!jobs.is_empty(), "TMRT_DROPIN_JOBS={wanted}: none of {JOBS:?}");
    compare(&version, rounds, &jobs, false);
}

/// One job on one cluster.
#[derive(Debug, Default, Clone)]
struct JobRun {
    mode: &'static str,
    checksum: String,
    /// Flink's `duration` of the job (REST `/jobs/:id`), from creation to its end.
    flink_ms: u64,
    /// CPU time of the TaskManager process during the job (user and system).
    tm_cpu_s: f64,
    /// HotSpot's class-loading time of the TaskManager during the job (`sun.cls.time`).
    class_loading_ms: f64,
    /// Classes the TaskManager loaded during the job.
    classes_loaded: i64,
    /// Highest `tmrt_managed_pages_in_use` over the slots in one scrape.
    peak_pages: u64,
    /// Highest `tmrt_managed_reserved_bytes` over the slots in one scrape.
    peak_reserved: u64,
    /// Highest `tmrt_managed_slots`.
    peak_slots: u32,
    scrapes: u32,
    /// Whether this run went first of its pair (the two clusters alternate).
    first: bool,
}

/// Both clusters are up at once and take turns job by job, the first alternating each round, so
/// that a change of the machine's load (shared here) falls on both sides alike.
fn compare(version: &str, rounds: usize, jobs: &[(&'static str, u64)], refusal: bool) {
    let dir = scratch_dir(&format!("dropin-cluster-{version}"));
    if FlinkCluster::builder(version, &dir).is_none() {
        return;
    }
    let home = flink_cluster_home(version).unwrap();
    let job = std::fs::read_to_string(workspace_root().join("tests/flink/job/dropin/ManagedJobs.java")).unwrap();
    let jar = build_job_jar(&home, &dir.join("job"), &[("dropin/ManagedJobs.java", &job)]);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let started = Instant::now();
    let mut plain = ClusterUnderTest::start(version, &dir.join("plain"), Setup::Observing, &jar);
    let mut tmrt = ClusterUnderTest::start(version, &dir.join("tmrt"), Setup::Runtime, &jar);
    let (mut plain_runs, mut tmrt_runs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (mut p_round, mut t_round) = (Vec::new(), Vec::new());
        for (mode, n) in jobs {
            if round % 2 == 0 {
                p_round.push(plain.run(mode, *n, round, true));
                t_round.push(tmrt.run(mode, *n, round, false));
            } else {
                t_round.push(tmrt.run(mode, *n, round, true));
                p_round.push(plain.run(mode, *n, round, false));
            }
        }
        plain_runs.push(p_round);
        tmrt_runs.push(t_round);
    }
    tmrt.finish();
    plain.finish();
    // The fail-safe: the drop-in refuses (tmrt.jar missing) and the jobs run as Flink's. The
    // refusal does not depend on the version (the jar is missing before any class is looked at),
    // so one version proves it and the suite spends its minutes elsewhere.
    let refused = if refusal && version == REFUSAL_VERSION {
        let mut c = ClusterUnderTest::start(version, &dir.join("refused"), Setup::Refused, &jar);
        let runs: Vec<JobRun> = jobs.iter().map(|(mode, n)| c.run(mode, *n, 0, true)).collect();
        c.finish();
        vec![runs]
    } else {
        Vec::new()
    };
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{}",
        table(
            version,
            jobs,
            &plain_runs,
            &tmrt_runs,
            &load,
            &load_after,
            started.elapsed()
        )
    );

    for (runs, label) in [
        (&plain_runs, "observing"),
        (&tmrt_runs, "runtime"),
        (&refused, "refused"),
    ] {
        for (round, runs_of_round) in runs.iter().enumerate() {
            for (j, (mode, _)) in jobs.iter().enumerate() {
                assert_eq!(
                    runs_of_round[j].checksum,
                    plain_runs[0][j].checksum,
                    "{version} {mode}: round {} {label} differs from the first observing run",
                    round + 1
                );
            }
        }
    }
    for (p, t) in plain_runs.iter().flatten().zip(tmrt_runs.iter().flatten()) {
        let mode = t.mode;
        assert!(!p.checksum.is_empty(), "{version} {mode}: no result");
        assert_eq!(
            p.checksum,
            t.checksum,
            "{version} {mode}: results differ with runtime={}",
            runtime()
        );
        // Without the runtime (or when it refused), the agent shows no slot pool.
        assert_eq!((p.peak_pages, p.peak_reserved), (0, 0), "{version} {mode}: {p:?}");
        for r in refused.iter().flatten().filter(|r| r.mode == mode) {
            assert_eq!(
                (r.peak_pages, r.peak_reserved),
                (0, 0),
                "{version} {mode} refused: {r:?}"
            );
        }
        assert!(t.scrapes > 0, "{version} {mode}: no scrape during the job: {t:?}");
        // One pool per slot: a slot's memory manager retires its pool when Flink frees the slot.
        assert!(
            !replaces("managed-memory") || (1..=SLOTS).contains(&t.peak_slots),
            "{version} {mode}: {} slot pools for {SLOTS} slots: {t:?}",
            t.peak_slots
        );
        if !replaces("managed-memory") {
            assert_eq!((t.peak_pages, t.peak_reserved), (0, 0), "{version} {mode}: {t:?}");
        } else if mode == "rocksdb" {
            assert!(
                t.peak_reserved > 0,
                "{version} {mode}: RocksDB reserved nothing in tmrt's pool: {t:?}"
            );
        } else {
            assert!(
                t.peak_pages > 0,
                "{version} {mode}: no page in use during the job: {t:?}"
            );
        }
    }
}

/// The side-by-side figures: one line per job and round, then (from three rounds on) each job's
/// median ratios.
fn table(
    version: &str,
    jobs: &[(&'static str, u64)],
    plain: &[Vec<JobRun>],
    tmrt: &[Vec<JobRun>],
    load: &str,
    load_after: &str,
    took: Duration,
) -> String {
    let mut table = format!(
        "\nFlink {version}: the same jobs without and with runtime={} (1 TaskManager each, {SLOTS} slots, parallelism {PARALLELISM}; both clusters up, taking turns; load average before {} after {}; {:.0} s in all)\n",
        runtime(),
        load.trim(),
        load_after.trim(),
        took.as_secs_f64()
    );
    table.push_str(&format!(
        "{:<8} {:>5} {:>7}  {:>9} {:>9} {:>6}  {:>8} {:>8} {:>6}  {:>10} {:>10}  {:>7} {:>7}  {:>6} {:>10}  checksum\n",
        "job",
        "round",
        "first",
        "run ms",
        "run ms",
        "ratio",
        "TM CPU s",
        "TM CPU s",
        "ratio",
        "cls ms",
        "cls ms",
        "classes",
        "classes",
        "peak",
        "peak"
    ));
    table.push_str(&format!(
        "{:<8} {:>5} {:>7}  {:>9} {:>9} {:>6}  {:>8} {:>8} {:>6}  {:>10} {:>10}  {:>7} {:>7}  {:>6} {:>10}\n",
        "",
        "",
        "",
        "observe",
        "runtime",
        "",
        "observe",
        "runtime",
        "",
        "observe",
        "runtime",
        "observe",
        "runtime",
        "pages",
        "reserved"
    ));
    for (round, (p_round, t_round)) in plain.iter().zip(tmrt).enumerate() {
        for (p, t) in p_round.iter().zip(t_round) {
            table.push_str(&format!(
                "{:<8} {:>5} {:>7}  {:>9} {:>9} {:>6.2}  {:>8.1} {:>8.1} {:>6.2}  {:>10.1} {:>10.1}  {:>7} {:>7}  {:>6} {:>10}  {}\n",
                t.mode,
                round + 1,
                if p.first { "observe" } else { "runtime" },
                p.flink_ms,
                t.flink_ms,
                t.flink_ms as f64 / p.flink_ms.max(1) as f64,
                p.tm_cpu_s,
                t.tm_cpu_s,
                t.tm_cpu_s / p.tm_cpu_s.max(1e-3),
                p.class_loading_ms,
                t.class_loading_ms,
                p.classes_loaded,
                t.classes_loaded,
                t.peak_pages,
                t.peak_reserved,
                t.checksum
            ));
        }
    }
    if plain.len() >= 3 {
        table.push_str("median ratio runtime / observe over rounds 2.. (round 1 loads Flink's own classes):\n");
        for (j, (mode, _)) in jobs.iter().enumerate() {
            let ratios = |f: &dyn Fn(&JobRun) -> f64| {
                let mut r: Vec<f64> = plain[1..]
                    .iter()
                    .zip(&tmrt[1..])
                    .map(|(p, t)| f(&t[j]) / f(&p[j]).max(1e-3))
                    .collect();
                r.sort_by(f64::total_cmp);
                (r[r.len() / 2], r[0], r[r.len() - 1])
            };
            let (run, run_lo, run_hi) = ratios(&|r| r.flink_ms as f64);
            let (cpu, cpu_lo, cpu_hi) = ratios(&|r| r.tm_cpu_s);
            table.push_str(&format!(
                "{mode:<8} run time {run:.2} (range {run_lo:.2}–{run_hi:.2}), TaskManager CPU {cpu:.2} (range {cpu_lo:.2}–{cpu_hi:.2})\n"
            ));
        }
    }
    table
}

/// How the TaskManager's agent is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// No `runtime=`: the agent only observes.
    Observing,
    /// `runtime=`[`RUNTIME`].
    Runtime,
    /// `runtime=`[`RUNTIME`] but `TMRT_JAR` names a missing file: the drop-in refuses, one line
    /// each, and Flink's classes stay Flink's.
    Refused,
}

/// A running session cluster with the job jar uploaded, set up as [`Setup`] says.
struct ClusterUnderTest {
    version: String,
    setup: Setup,
    dir: PathBuf,
    reports: PathBuf,
    cluster: FlinkCluster,
    tm: TaskManager,
    port: u16,
    jar_id: String,
}

impl ClusterUnderTest {
    /// Starts the cluster, checks what the agent says about the runtime, uploads the jar.
    fn start(version: &str, dir: &Path, setup: Setup, jar: &Path) -> ClusterUnderTest {
        std::fs::create_dir_all(dir).unwrap();
        let reports = dir.join("reports");
        std::fs::create_dir_all(&reports).unwrap();
        let (first, last) = free_port_range(4);
        let runtime_opt = if setup == Setup::Observing {
            String::new()
        } else {
            format!("runtime={},", runtime())
        };
        let agent = format!(
            "-agentpath:{}={runtime_opt}report={}/tmrt-%p.json,metrics=127.0.0.1:{first}-{last}",
            libtmrt().display(),
            reports.display()
        );
        let mut builder = FlinkCluster::builder(version, dir).unwrap();
        if setup == Setup::Refused {
            builder = builder.env("TMRT_JAR", dir.join("missing/tmrt.jar").to_str().unwrap());
        }
        let cluster = builder
            .taskmanagers(1)
            .slots(SLOTS)
            .taskmanager_java_opts(&agent)
            .config("restart-strategy.type", "none")
            .start();
        let tm = cluster.taskmanagers()[0].clone();
        let out = std::fs::read_to_string(&tm.out).unwrap_or_default();
        let port = tm.agent_metrics_port();
        let text = scrape_metrics(port);
        let active = |c: &str| sample(&text, &format!("tmrt_runtime_active{{component=\"{c}\"}}"));
        if setup == Setup::Runtime {
            for c in ["classloading", "managed-memory"] {
                let expected = if replaces(c) { 1.0 } else { 0.0 };
                assert_eq!(
                    out.contains(&format!("tmrt agent: runtime {c} active:")),
                    replaces(c),
                    "{version}: {c}:\n{out}"
                );
                assert_eq!(active(c), Some(expected), "{version}: {c}:\n{text}");
            }
        } else {
            if setup == Setup::Refused {
                for c in ["classloading", "managed-memory"] {
                    let line = format!(
                        "tmrt agent: runtime {c} not active, Flink's classes stay untouched: tmrt.jar not found"
                    );
                    assert_eq!(out.matches(&line).count(), 1, "{version}: {c}:\n{out}");
                }
            } else {
                assert!(!out.contains("tmrt agent: runtime"), "{version}: {out}");
            }
            for c in ["classloading", "managed-memory"] {
                assert_eq!(active(c), Some(0.0), "{version}: {c}:\n{text}");
            }
            assert!(
                !text.contains("tmrt_managed_"),
                "{version}: slot gauges without the runtime:\n{text}"
            );
        }
        let jar_id = cluster.upload_jar(jar).unwrap();
        std::fs::create_dir_all(dir.join("out")).unwrap();
        ClusterUnderTest {
            version: version.to_string(),
            setup,
            dir: dir.to_path_buf(),
            reports,
            cluster,
            tm,
            port,
            jar_id,
        }
    }

    /// Runs job `mode` over `n` records and checks the agent's view after it.
    fn run(&mut self, mode: &'static str, n: u64, round: usize, first: bool) -> JobRun {
        let (version, port, tm) = (&self.version, self.port, &self.tm);
        let target = self.dir.join("out").join(format!("{mode}-{round}"));
        let before = perf_counters(&self.cluster, tm);
        let cpu_before = cpu_seconds(tm.pid).unwrap_or_default();
        let stop = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Mutex::new(JobRun::default()));
        let scraper = {
            let (stop, peaks) = (stop.clone(), peaks.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let text = scrape_metrics(port);
                    let mut p = peaks.lock().unwrap();
                    p.scrapes += 1;
                    p.peak_pages = p.peak_pages.max(sum_of(&text, "tmrt_managed_pages_in_use{") as u64);
                    p.peak_reserved = p
                        .peak_reserved
                        .max(sum_of(&text, "tmrt_managed_reserved_bytes{") as u64);
                    p.peak_slots = p
                        .peak_slots
                        .max(sample(&text, "tmrt_managed_slots").unwrap_or(0.0) as u32);
                    drop(p);
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        };
        let args = [mode, target.to_str().unwrap(), &n.to_string()];
        let outcome = self
            .cluster
            .run_jar(&self.jar_id, ENTRY, &args, PARALLELISM)
            .and_then(|id| self.cluster.wait_for_job(&id, JOB_TIMEOUT));
        stop.store(true, Ordering::Relaxed);
        scraper.join().unwrap();
        let outcome = outcome.unwrap_or_else(|e| panic!("{version} {mode}: {e}\n{}", self.cluster.log_tails(40)));
        assert!(
            outcome.finished(),
            "{version} {mode}: {outcome:?}\n{}",
            self.cluster.log_tails(60)
        );
        let cpu_after = cpu_seconds(tm.pid).unwrap_or_default();
        let after = perf_counters(&self.cluster, tm);
        let job = self.cluster.rest_get(&format!("/jobs/{}", outcome.job_id)).unwrap();
        let mut run = peaks.lock().unwrap().clone();
        run.mode = mode;
        run.first = first;
        run.tm_cpu_s = cpu_after - cpu_before;
        run.checksum = checksum(mode, &target);
        run.flink_ms = job["duration"].as_u64().unwrap_or_default();
        let freq = after.get("sun.os.hrt.frequency").copied().unwrap_or(1e9);
        let delta = |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
        run.class_loading_ms = delta("sun.cls.time") * 1000.0 / freq;
        run.classes_loaded = delta("java.cls.loadedClasses") as i64;
        if self.setup == Setup::Runtime && replaces("managed-memory") {
            assert_slots_empty_after(port, version, mode);
        }
        run
    }

    /// Stops the TaskManager gracefully, checks its report and log, stops the cluster.
    fn finish(mut self) {
        let version = &self.version;
        let runtime = self.setup == Setup::Runtime;
        assert!(
            self.cluster.stop_taskmanager(0, Duration::from_secs(60)),
            "{version}: TaskManager did not stop"
        );
        let report_path = self.reports.join(format!("tmrt-{}.json", self.tm.pid));
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&report_path).unwrap_or_else(|e| panic!("{}: {e}", report_path.display())),
        )
        .unwrap();
        let components = report["runtime"]["components"].as_array().unwrap();
        for c in components {
            let name = c["component"].as_str().unwrap_or_default();
            assert_eq!(c["active"], runtime && replaces(name), "{version}: {c}");
        }
        let log = std::fs::read_to_string(&self.tm.log).unwrap_or_default();
        assert!(
            !log.contains("Not all slot managed memory is freed"),
            "{version}: Flink saw managed memory not freed:\n{}",
            log.lines()
                .filter(|l| l.contains("managed memory"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        if runtime && replaces("managed-memory") {
            assert!(
                !log.contains("tmrt: managed memory from Flink's own allocator"),
                "{version}: the slot pool could not be made"
            );
        }
        let shutdown = self.cluster.shutdown();
        assert!(shutdown.left.is_empty(), "{shutdown:?}");
    }
}

/// After a job, every live slot pool has no page in use and nothing reserved (Flink releases an
/// operator's memory as its task ends; the state backend's reservation goes with the slot's
/// shared resource lease, so allow a moment).
fn assert_slots_empty_after(port: u16, version: &str, mode: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape_metrics(port);
        let pages = sum_of(&text, "tmrt_managed_pages_in_use{");
        let reserved = sum_of(&text, "tmrt_managed_reserved_bytes{");
        if text.contains("tmrt_managed_slots") && pages == 0.0 && reserved == 0.0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{version} {mode}: after the job, {pages} pages in use and {reserved} bytes reserved:\n{}",
            text.lines()
                .filter(|l| l.starts_with("tmrt_managed"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// The job's result: `COUNT SUM` from the checksum file, or for the SQL job, a hash of its CSV
/// files (each file's bytes, files ordered by their bytes: part files are named at random).
fn checksum(mode: &str, target: &Path) -> String {
    if mode != "sql" {
        return std::fs::read_to_string(target)
            .unwrap_or_else(|e| panic!("{}: {e}", target.display()))
            .trim()
            .to_string();
    }
    let mut files: Vec<Vec<u8>> = Vec::new();
    collect_files(target, &mut files);
    files.sort();
    let rows: usize = files.iter().map(|f| f.iter().filter(|b| **b == b'\n').count()).sum();
    assert!(rows > 0, "{}: no rows", target.display());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for f in &files {
        for b in f.iter().chain(b"\0") {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{rows} rows in {} files, fnv {h:016x}", files.len())
}

fn collect_files(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue; // staging and in-progress files
        }
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(std::fs::read(&p).unwrap());
        }
    }
}

/// HotSpot's performance counters of the TaskManager (`jcmd PID PerfCounter.print`), numeric ones.
fn perf_counters(cluster: &FlinkCluster, tm: &TaskManager) -> BTreeMap<String, f64> {
    let text = cluster.jcmd(tm, &["PerfCounter.print"]).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The sum of every sample whose line starts with `prefix` (a name and `{`: all its series).
fn sum_of(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
