//! A real Apache Flink standalone session cluster for end-to-end tests, started with Flink's own
//! scripts (`bin/jobmanager.sh start`, `bin/taskmanager.sh start`) from a FLINK_HOME that
//! `scripts/fetch-flink.sh` assembled from PyPI.
//!
//! Each cluster lives in a directory the test gives (its scratch dir): its own configuration
//! (`FLINK_CONF_DIR`, one flat file written fresh: `config.yaml` where Flink ships one, else
//! `flink-conf.yaml`), logs (`FLINK_LOG_DIR`), pid files (`env.pid.dir`), `io.tmp.dirs` and web
//! uploads. Everything binds to loopback on free random ports (REST, JobManager RPC, blob server;
//! TaskManager ports are Flink's random ones). The TaskManagers share one
//! `env.java.opts.taskmanager` line, as every TaskManager a host starts does; each gets
//! `-D taskmanager.resource-id=tm-N` on its command line, which is its REST id, so the TM ↔ pid ↔
//! log mapping is read from the processes' command lines (`/proc/PID/cmdline`), not guessed from
//! start order. [`ClusterBuilder::start`] returns once every TaskManager is registered (REST
//! `/taskmanagers`), bounded in time, and fails fast with the logs when a daemon dies.
//!
//! Stopping is guaranteed: [`FlinkCluster::shutdown`] (also run by `Drop`, so also when a test
//! panics) sends SIGTERM to every daemon listed in the pid files — the same signal
//! `taskmanager.sh stop-all` sends, without the two JVM launches its `config.sh` costs — then
//! SIGKILL to whatever is left after a timeout. A watchdog shell in its own process group does the
//! same if the test process dies without unwinding (killed, aborted). A pid counts as this
//! cluster's only while its command line names this cluster's configuration directory, so a
//! recycled pid is never signalled. Clusters in one test binary run one at a time (a process-wide
//! lock held by each [`FlinkCluster`]): the machine has two cores.
//!
//! Caveat of Flink's scripts: `env.java.opts.*` values go through `eval echo`, so they are
//! word-split and glob-expanded; keep them free of spaces inside paths and of `*?[]$;&|()<>`.

mod conf;
mod jobs;
mod process;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

#[allow(unused_imports)] // not every test binary uses every helper
pub use jobs::{build_job_jar, JobOutcome};
#[allow(unused_imports)]
pub use process::{cpu_seconds, free_port_range, processes_naming};

use super::{flink_home, jdk_tool};
use conf::{write_conf, CLEARED_ENV};
use process::{alive, cmdline, free_ports, names_dir, output_within, signal, spawn_watchdog};

/// The main classes `flink-daemon.sh` runs for a TaskManager and a session JobManager.
const TASKMANAGER_CLASS: &str = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
const JOBMANAGER_CLASS: &str = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";

/// One test at a time per test binary runs clusters: a thread (a test) may hold any number of
/// clusters at once (a comparison keeps two up side by side), another thread's `start` waits
/// until that thread's clusters are all gone.
static CLUSTERS: Mutex<(Option<ThreadId>, usize)> = Mutex::new((None, 0));
static CLUSTERS_FREED: Condvar = Condvar::new();

/// This thread's share of [`CLUSTERS`], held by each of its clusters.
struct ClusterPermit;

impl ClusterPermit {
    fn acquire() -> ClusterPermit {
        let me = std::thread::current().id();
        let mut held = CLUSTERS.lock().unwrap_or_else(PoisonError::into_inner);
        while held.0.is_some_and(|owner| owner != me) {
            held = CLUSTERS_FREED.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        *held = (Some(me), held.1 + 1);
        ClusterPermit
    }
}

impl Drop for ClusterPermit {
    fn drop(&mut self) {
        let mut held = CLUSTERS.lock().unwrap_or_else(PoisonError::into_inner);
        held.1 -= 1;
        if held.1 == 0 {
            held.0 = None;
            CLUSTERS_FREED.notify_all();
        }
    }
}

/// The FLINK_HOME of `version` with Flink's start scripts (see [`flink_home`]), or `None` with a
/// SKIPPED message on stderr when it is absent or lib-only.
pub fn flink_cluster_home(version: &str) -> Option<PathBuf> {
    let home = flink_home(version)?;
    if home.join("bin").join("taskmanager.sh").is_file() {
        return Some(home);
    }
    eprintln!(
        "SKIPPED Flink {version} cluster: {} has no bin/taskmanager.sh (run scripts/fetch-flink.sh {version})",
        home.display()
    );
    None
}

/// What to start: built by [`FlinkCluster::builder`].
#[derive(Debug, Clone)]
pub struct ClusterBuilder {
    version: String,
    home: PathBuf,
    dir: PathBuf,
    taskmanagers: usize,
    slots: u32,
    tm_java_opts: String,
    config: BTreeMap<String, String>,
    start_timeout: Duration,
    extra_lib: Vec<PathBuf>,
    env: Vec<(String, String)>,
}

impl ClusterBuilder {
    /// Jars added to the cluster's `lib/` (as a user adds libraries there), without touching the
    /// cached FLINK_HOME: the cluster gets its own lib directory (`FLINK_LIB_DIR`) with links to
    /// the home's jars and these.
    pub fn lib_jars(mut self, jars: &[PathBuf]) -> Self {
        self.extra_lib.extend(jars.iter().cloned());
        self
    }

    /// An environment variable for the daemons (set on their start scripts, after the harness
    /// cleared the ones that would change Flink's behaviour), e.g. `TMRT_JAR` for the agent.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Number of TaskManagers (default 2).
    pub fn taskmanagers(mut self, n: usize) -> Self {
        assert!(n > 0, "a cluster needs a TaskManager");
        self.taskmanagers = n;
        self
    }

    /// Slots per TaskManager (default 2).
    pub fn slots(mut self, n: u32) -> Self {
        self.slots = n;
        self
    }

    /// The one `env.java.opts.taskmanager` line every TaskManager gets (default none), e.g.
    /// `-agentpath:/…/libtmrt.so=report=/…/tmrt-%p.json,metrics=127.0.0.1:P1-P2`.
    pub fn taskmanager_java_opts(mut self, opts: &str) -> Self {
        self.tm_java_opts = opts.to_string();
        self
    }

    /// Any other configuration entry; overrides the harness's own (ports, memory, …) of that key.
    pub fn config(mut self, key: &str, value: &str) -> Self {
        self.config.insert(key.to_string(), value.to_string());
        self
    }

    /// How long to wait for every TaskManager to register (default 180 s).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.start_timeout = timeout;
        self
    }

    /// Starts the JobManager and the TaskManagers (their scripts run concurrently) and waits until
    /// every TaskManager is registered. Panics with the daemons' logs when that fails; whatever
    /// was started is stopped first (by the returned value's `Drop`, which also runs then).
    pub fn start(self) -> FlinkCluster {
        let permit = ClusterPermit::acquire();
        let began = Instant::now();
        let dir = self.dir.clone();
        let (conf_dir, log_dir, pid_dir) = (dir.join("conf"), dir.join("log"), dir.join("pid"));
        for d in [&conf_dir, &log_dir, &pid_dir, &dir.join("tmp"), &dir.join("web-upload")] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
        let lib_dir = (!self.extra_lib.is_empty()).then(|| {
            let lib = dir.join("lib");
            let _ = std::fs::remove_dir_all(&lib);
            std::fs::create_dir_all(&lib).unwrap();
            let home_jars = std::fs::read_dir(self.home.join("lib"))
                .unwrap()
                .flatten()
                .map(|e| e.path());
            for jar in home_jars.chain(self.extra_lib.iter().cloned()) {
                let link = lib.join(jar.file_name().unwrap());
                std::os::unix::fs::symlink(&jar, &link)
                    .unwrap_or_else(|e| panic!("{} -> {}: {e}", link.display(), jar.display()));
            }
            lib
        });
        let ports = free_ports(3);
        let rest = SocketAddr::from(([127, 0, 0, 1], ports[0]));
        write_conf(&self, &conf_dir, ports[0], ports[1], ports[2]);
        let mut cluster = FlinkCluster {
            version: self.version.clone(),
            home: self.home.clone(),
            dir: dir.clone(),
            watchdog: spawn_watchdog(&pid_dir, &conf_dir),
            conf_dir,
            log_dir,
            pid_dir,
            rest,
            jobmanager: None,
            taskmanagers: Vec::new(),
            startup: Duration::ZERO,
            lib_dir,
            env: self.env.clone(),
            _permit: permit,
        };
        cluster.launch(self.taskmanagers);
        cluster.await_registration(self.taskmanagers, self.start_timeout);
        cluster.startup = began.elapsed();
        cluster
    }
}

/// A daemon of the cluster: its pid and the files its script redirected it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub pid: u32,
    /// `-Dlog.file` (`flink-tmrt-<daemon>-<n>-<host>.log`).
    pub log: PathBuf,
    /// Its stdout and stderr (the `.out` file beside the log): where the agent writes its lines.
    pub out: PathBuf,
}

/// A TaskManager of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskManager {
    /// 0-based, in the order of their resource ids.
    pub index: usize,
    /// `tm-<index>`: its `taskmanager.resource-id`, which is its id in Flink's REST API.
    pub resource_id: String,
    pub pid: u32,
    /// Its shuffle data port (REST `dataPort`).
    pub data_port: u16,
    pub log: PathBuf,
    pub out: PathBuf,
}

impl TaskManager {
    /// The port of the agent's "metrics on http://HOST:PORT/metrics" line on its stdout.
    pub fn agent_metrics_port(&self) -> u16 {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .find_map(|l| l.split("metrics on http://").nth(1))
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no 'metrics on http://…' line in {}:\n{text}", self.out.display()))
    }

    /// The agent's `/metrics` text (empty when it does not answer within 10 s).
    pub fn scrape_agent(&self) -> String {
        scrape_metrics(self.agent_metrics_port())
    }
}

/// `/metrics` on a loopback port (empty when it does not answer within 10 s).
pub fn scrape_metrics(port: u16) -> String {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    super::http::get(addr, "/metrics", Duration::from_secs(10))
        .map(|r| r.text())
        .unwrap_or_default()
}

/// The value of the Prometheus sample line that starts with `series` exactly (name and labels).
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

/// What [`FlinkCluster::shutdown`] had to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shutdown {
    /// Daemons that exited after SIGTERM.
    pub terminated: Vec<u32>,
    /// Daemons that needed SIGKILL.
    pub killed: Vec<u32>,
    /// Daemons still there after SIGKILL (should never happen).
    pub left: Vec<u32>,
}

/// A running standalone session cluster; stopped on drop. See the module docs.
pub struct FlinkCluster {
    version: String,
    home: PathBuf,
    dir: PathBuf,
    conf_dir: PathBuf,
    log_dir: PathBuf,
    pid_dir: PathBuf,
    rest: SocketAddr,
    jobmanager: Option<Daemon>,
    taskmanagers: Vec<TaskManager>,
    startup: Duration,
    watchdog: Option<(Child, ChildStdin)>,
    /// The cluster's own lib directory when jars were added to it.
    lib_dir: Option<PathBuf>,
    /// The builder's extra environment for the daemons.
    env: Vec<(String, String)>,
    _permit: ClusterPermit,
}

impl FlinkCluster {
    /// A builder for a cluster of Flink `version` in `dir` (the test's scratch directory), or
    /// `None` with a SKIPPED message when that version's FLINK_HOME with scripts is absent.
    pub fn builder(version: &str, dir: &Path) -> Option<ClusterBuilder> {
        let home = flink_cluster_home(version)?;
        let home = home.canonicalize().unwrap_or(home);
        Some(ClusterBuilder {
            version: version.to_string(),
            home,
            dir: dir.join(format!("flink-{version}")),
            taskmanagers: 2,
            slots: 2,
            tm_java_opts: String::new(),
            config: BTreeMap::new(),
            start_timeout: Duration::from_secs(180),
            extra_lib: Vec::new(),
            env: Vec::new(),
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The FLINK_HOME the daemons run from.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The cluster's directory (`conf/`, `log/`, `pid/`, `tmp/`, `web-upload/`, `jobs/`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn conf_dir(&self) -> &Path {
        &self.conf_dir
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The REST endpoint (`127.0.0.1:PORT`).
    pub fn rest_addr(&self) -> SocketAddr {
        self.rest
    }

    pub fn jobmanager(&self) -> &Daemon {
        self.jobmanager.as_ref().expect("the JobManager was started")
    }

    /// From running the start scripts to every TaskManager registered (not counting the wait for
    /// another cluster of this test binary to stop).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The TaskManagers started, by index (including ones stopped since).
    pub fn taskmanagers(&self) -> &[TaskManager] {
        &self.taskmanagers
    }

    /// `jcmd PID ARGS...` on a TaskManager; its stdout, or an error with its output.
    pub fn jcmd(&self, tm: &TaskManager, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(jdk_tool("jcmd"));
        cmd.arg(tm.pid.to_string()).args(args);
        let out = output_within(cmd, Duration::from_secs(60))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "jcmd {} {args:?}: {}\n{stdout}{}",
                tm.pid,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A full collection on a TaskManager (`jcmd PID GC.run`).
    pub fn full_gc(&self, tm: &TaskManager) -> Result<(), String> {
        self.jcmd(tm, &["GC.run"]).map(drop)
    }

    /// The TaskManager JVM's flags as HotSpot settled them (`jcmd PID VM.flags`).
    pub fn jvm_flags(&self, tm: &TaskManager) -> Result<String, String> {
        self.jcmd(tm, &["VM.flags"])
    }

    /// The TaskManager JVM's arguments as the JVM saw them (`jcmd PID VM.command_line`).
    pub fn jvm_command_line(&self, tm: &TaskManager) -> Result<String, String> {
        self.jcmd(tm, &["VM.command_line"])
    }

    /// The TaskManager process's exact argv (`/proc/PID/cmdline`), or `None` once it is gone.
    pub fn process_args(&self, tm: &TaskManager) -> Option<Vec<String>> {
        self.ours(tm.pid)
    }

    /// Whether the TaskManager's process is still running.
    pub fn is_running(&self, tm: &TaskManager) -> bool {
        self.ours(tm.pid).is_some()
    }

    /// Stops one TaskManager gracefully: SIGTERM (as `taskmanager.sh stop` does), then waits for
    /// the process to exit, so that JVM shutdown (and an agent's VM-death work) happens. Returns
    /// whether it exited within `timeout`; one still running is left to [`Self::shutdown`].
    pub fn stop_taskmanager(&self, index: usize, timeout: Duration) -> bool {
        let pid = self.taskmanagers[index].pid;
        if self.ours(pid).is_none() {
            return true;
        }
        signal(pid, "TERM");
        self.wait_gone(&[pid], timeout).is_empty()
    }

    /// Every process whose command line names this cluster's configuration directory (daemons,
    /// and the short-lived JVMs of running scripts): empty once the cluster is down.
    pub fn live_processes(&self) -> Vec<u32> {
        processes_naming(&self.conf_dir)
    }

    /// The last `lines` lines of every file in the log directory, for assertion messages.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.log_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        let mut text = String::new();
        for f in files {
            let content = std::fs::read_to_string(&f).unwrap_or_default();
            let all: Vec<&str> = content.lines().collect();
            let tail = all[all.len().saturating_sub(lines)..].join("\n");
            text.push_str(&format!("==> {} <==\n{tail}\n", f.display()));
        }
        text
    }

    /// Stops every daemon: SIGTERM to the TaskManagers, then to the JobManager (each group waited
    /// for up to 15 s), then SIGKILL to any left, by the pids in the pid files. Idempotent.
    pub fn shutdown(&mut self) -> Shutdown {
        let (mut tms, mut jms) = (Vec::new(), Vec::new());
        for pid in self.listed_pids() {
            match self.ours(pid) {
                Some(args) if args.iter().any(|a| a == TASKMANAGER_CLASS) => tms.push(pid),
                Some(_) => jms.push(pid),
                None => {}
            }
        }
        let mut report = Shutdown::default();
        let mut stubborn = Vec::new();
        for group in [tms, jms] {
            for &p in &group {
                signal(p, "TERM");
            }
            let left = self.wait_gone(&group, Duration::from_secs(15));
            report.terminated.extend(group.iter().filter(|p| !left.contains(p)));
            stubborn.extend(left);
        }
        for &p in &stubborn {
            signal(p, "KILL");
        }
        report.left = self.wait_gone(&stubborn, Duration::from_secs(5));
        report.killed = stubborn.into_iter().filter(|p| !report.left.contains(p)).collect();
        report
    }

    /// The argv of `pid` if it is a live process of this cluster (names the configuration
    /// directory); `None` for other, gone or zombie processes.
    fn ours(&self, pid: u32) -> Option<Vec<String>> {
        cmdline(pid).filter(|args| names_dir(args, &self.conf_dir))
    }

    fn wait_gone(&self, pids: &[u32], timeout: Duration) -> Vec<u32> {
        let deadline = Instant::now() + timeout;
        loop {
            let left: Vec<u32> = pids.iter().copied().filter(|&p| self.ours(p).is_some()).collect();
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every pid in the pid directory's files, plus the daemons already known.
    fn listed_pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = std::fs::read_dir(&self.pid_dir)
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .iter()
            .filter(|p| p.extension().is_some_and(|x| x == "pid"))
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter_map(|l| l.trim().parse().ok())
            .chain(self.jobmanager.iter().map(|d| d.pid))
            .chain(self.taskmanagers.iter().map(|t| t.pid))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// A Flink script of this home with this cluster's environment.
    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.home.join("bin").join(name));
        for v in CLEARED_ENV {
            cmd.env_remove(v);
        }
        cmd.env("FLINK_CONF_DIR", &self.conf_dir)
            .env("FLINK_LOG_DIR", &self.log_dir)
            .env("FLINK_PID_DIR", &self.pid_dir)
            .env("FLINK_IDENT_STRING", "tmrt")
            .stdin(Stdio::null());
        if let Some(lib) = &self.lib_dir {
            cmd.env("FLINK_LIB_DIR", lib);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `jobmanager.sh start` and one `taskmanager.sh start` per TaskManager concurrently,
    /// then finds the daemons' pids (pid files) and files (command lines).
    fn launch(&mut self, taskmanagers: usize) {
        let mut scripts = vec![("jobmanager.sh".to_string(), vec!["start".to_string()])];
        for i in 0..taskmanagers {
            let args = vec!["start".into(), "-D".into(), format!("taskmanager.resource-id=tm-{i}")];
            scripts.push(("taskmanager.sh".to_string(), args));
        }
        let results: Vec<(String, Result<Output, String>)> = std::thread::scope(|s| {
            let handles: Vec<_> = scripts
                .iter()
                .map(|(name, args)| {
                    let mut cmd = self.script(name);
                    cmd.args(args);
                    let what = format!("{name} {}", args.join(" "));
                    s.spawn(move || (what, output_within(cmd, Duration::from_secs(180))))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("script thread")).collect()
        });
        for (what, result) in results {
            match result {
                Ok(out) if out.status.success() => {}
                Ok(out) => panic!(
                    "{what} failed ({}):\n{}{}\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr),
                    self.log_tails(40)
                ),
                Err(e) => panic!("{what}: {e}\n{}", self.log_tails(40)),
            }
        }
        for pid in self.listed_pids() {
            let args = self.daemon_args(pid);
            let log = args
                .iter()
                .find_map(|a| a.strip_prefix("-Dlog.file="))
                .map(PathBuf::from)
                .unwrap_or_default();
            let daemon = Daemon {
                pid,
                out: log.with_extension("out"),
                log,
            };
            if args.iter().any(|a| a == TASKMANAGER_CLASS) {
                let id = args
                    .iter()
                    .find_map(|a| a.strip_prefix("taskmanager.resource-id="))
                    .unwrap_or_else(|| panic!("TaskManager {pid} without a resource id: {args:?}"));
                let index = id.trim_start_matches("tm-").parse().expect("resource id tm-N");
                let Daemon { pid, log, out } = daemon;
                self.taskmanagers.push(TaskManager {
                    index,
                    resource_id: id.to_string(),
                    pid,
                    data_port: 0,
                    log,
                    out,
                });
            } else {
                self.jobmanager = Some(daemon);
            }
        }
        self.taskmanagers.sort_by_key(|t| t.index);
        let indices: Vec<usize> = self.taskmanagers.iter().map(|t| t.index).collect();
        assert_eq!(
            indices,
            (0..taskmanagers).collect::<Vec<_>>(),
            "TaskManagers found in the pid files"
        );
        assert!(self.jobmanager.is_some(), "no JobManager in the pid files");
    }

    /// The argv of a daemon the scripts started, once it is the JVM: `flink-daemon.sh` writes the
    /// pid of its background subshell, which `exec`s java only a moment later (and during the
    /// `exec` the process's cmdline reads empty for an instant). Dead means gone or a zombie.
    fn daemon_args(&self, pid: u32) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let args = self.ours(pid);
            if let Some(args) = &args {
                if args.iter().any(|a| a == TASKMANAGER_CLASS || a == JOBMANAGER_CLASS) {
                    return args.clone();
                }
            }
            if !alive(pid) {
                panic!(
                    "Flink {} daemon {pid} died at start:\n{}",
                    self.version,
                    self.log_tails(60)
                );
            }
            if Instant::now() > deadline {
                panic!("daemon {pid} did not become a Flink JVM within 60 s: {args:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until REST `/taskmanagers` lists every TaskManager; fails fast when a daemon dies.
    fn await_registration(&mut self, n: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            let daemons = self
                .taskmanagers
                .iter()
                .map(|t| t.pid)
                .chain(self.jobmanager.iter().map(|d| d.pid));
            if let Some(dead) = daemons.into_iter().find(|&p| self.ours(p).is_none()) {
                panic!(
                    "Flink {} daemon {dead} exited during start-up:\n{}",
                    self.version,
                    self.log_tails(60)
                );
            }
            match self.rest_get("/taskmanagers") {
                Ok(v) => {
                    let listed = v["taskmanagers"].as_array().cloned().unwrap_or_default();
                    for tm in &mut self.taskmanagers {
                        let entry = listed.iter().find(|e| e["id"] == tm.resource_id.as_str());
                        if let Some(port) = entry.and_then(|e| e["dataPort"].as_u64()) {
                            tm.data_port = u16::try_from(port).unwrap_or_default();
                        }
                    }
                    if listed.len() >= n && self.taskmanagers.iter().all(|t| t.data_port != 0) {
                        return;
                    }
                    last = v.to_string();
                }
                Err(e) => last = e,
            }
            if Instant::now() > deadline {
                panic!(
                    "Flink {}: {n} TaskManagers not registered within {timeout:?}; last /taskmanagers: {last}\n{}",
                    self.version,
                    self.log_tails(60)
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for FlinkCluster {
    fn drop(&mut self) {
        let report = self.shutdown();
        if !report.killed.is_empty() || !report.left.is_empty() {
            eprintln!("flink cluster {}: {report:?}", self.dir.display());
        }
        if let Some((mut child, stdin)) = self.watchdog.take() {
            let _ = child.kill();
            drop(stdin);
            let _ = child.wait();
        }
    }
}
