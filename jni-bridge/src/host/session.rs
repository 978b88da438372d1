//! A TaskManager session in the hosted JVM: start the JVM a [`TaskManagerPlan`] describes, then
//! run jobs in it round after round, as a session cluster restarts them.
//!
//! The JVM is started with the plan's JVM parameters, tmrt's agent (`-agentpath`, with
//! `leak-gc-cycles`, and `runtime=` when tmrt's drop-in runtime is asked for), `-Dtmrt.library`
//! pointing at the same `libtmrt.so`, and a class path that ends with `tmrt.jar`: before it, the
//! `--lib` jars (plain mode) or the Flink distribution's `lib/` (Flink mode), the parent of every
//! job's user-code loader. Before the JVM exists, the host takes its own copies of stdout and
//! stderr (`super::stdio`), restores the default crash handlers and arms the JVM's exit and abort
//! hooks (`super::guard`). Several jobs may run one after another in the same JVM (`tmrt demo`
//! does); each job's verdict counts only the loaders that appeared while it ran.
//!
//! [`run_job`] drives one job: the baseline, the rounds (a Flink round's loaders are given up to
//! [`FLINK_SETTLE`] to be collected, asking the agent every [`SETTLE_STEP`]), the agent's final
//! report after its forced collections, and the assessment. A call into the JVM that fails is a
//! failure of its round (or of the end of the run), never a silent gap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use runtime::emulator::{
    assess, lifetimes, AgentSnapshot, Assessment, DuplicateClass, Evidence, FailureKind, JvmFigures, LoaderLifetime,
    LocatedFailure, RoundRecord, TaskFailure, TaskManagerPlan,
};
use runtime::telemetry::LoaderId;
use serde::Serialize;

use super::artifacts::{find_jar, find_library, ArtifactNotFound};
use super::driver::{DriverRound, FlinkJob, SessionDriver};
use super::jvm::{HostedJvm, JvmSpec, StartError};
use super::libjvm::{find_libjvm, java_feature_version, JvmNotFound};
use super::throwable::JavaCallError;

/// Full collections the agent runs before calling a released loader leaked.
pub const LEAK_GC_CYCLES: u32 = 3;
/// How long a Flink round's user-code loaders may take to be collected after the job's end.
pub const FLINK_SETTLE: Duration = Duration::from_millis(1_000);
/// How often the host collects while they settle.
pub const SETTLE_STEP: Duration = Duration::from_millis(25);

/// Why the TaskManager's JVM did not start.
#[derive(Debug)]
pub enum HostError {
    NoJvm(JvmNotFound),
    Artifact(ArtifactNotFound),
    Start(StartError),
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::NoJvm(e) => write!(f, "{e}"),
            HostError::Artifact(e) => write!(f, "{e}"),
            HostError::Start(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for HostError {}

/// What the JVM is started with beyond the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JvmSetup {
    /// Class path before `tmrt.jar`: the `--lib` jars, or the Flink distribution's `lib/`.
    pub class_path: Vec<PathBuf>,
    /// More JVM options (Flink's log configuration, say).
    pub options: Vec<String>,
    /// The agent's `runtime=` option, when tmrt's drop-in runtime is asked for.
    pub agent_runtime: Option<String>,
    /// The command's name for the JVM hooks' messages (`tmrt emulate`).
    pub command: String,
}

/// The JVM options a plan starts with, class path excluded. From Java 12 on, the JVM must be
/// told up front that a security manager may be installed (`-Djava.security.manager=allow`),
/// which the driver does to intercept a job's `System.exit`; Java 11 allows it by default and
/// would read `allow` as a class name.
pub fn jvm_options(
    plan: &TaskManagerPlan,
    library: &std::path::Path,
    leak_gc_cycles: u32,
    java_version: Option<u32>,
    agent_runtime: Option<&str>,
) -> Vec<String> {
    let mut v = plan.jvm_options.clone();
    let runtime = agent_runtime.map(|r| format!(",runtime={r}")).unwrap_or_default();
    // `reference-paths=full`: the emulator's JVM serves no one, so a leak's reference path is
    // always walked to the end instead of being cut at the pause budget a TaskManager needs.
    v.push(format!(
        "-agentpath:{}=leak-gc-cycles={leak_gc_cycles},log=off,reference-paths=full{runtime}",
        library.display()
    ));
    v.push(format!("-Dtmrt.library={}", library.display()));
    if java_version.is_some_and(|j| j >= 12) {
        v.push("-Djava.security.manager=allow".to_string());
    }
    v
}

/// Starts the TaskManager's JVM in this process. Returns it with the time it took. Call
/// `super::stdio::HostStreams::init()` first (the commands do, before anything else).
pub fn start_taskmanager(plan: &TaskManagerPlan, setup: &JvmSetup) -> Result<(HostedJvm, Duration), HostError> {
    let libjvm = find_libjvm().map_err(HostError::NoJvm)?;
    let library = find_library().map_err(HostError::Artifact)?;
    let jar = find_jar().map_err(HostError::Artifact)?;
    let mut class_path = setup.class_path.clone();
    class_path.push(jar);
    let java_version = java_feature_version(&libjvm);
    let mut options = jvm_options(
        plan,
        &library,
        LEAK_GC_CYCLES,
        java_version,
        setup.agent_runtime.as_deref(),
    );
    options.extend(setup.options.iter().cloned());
    let spec = JvmSpec {
        options,
        libjvm,
        class_path,
        hooks: true,
    };
    let streams = super::stdio::HostStreams::init();
    super::guard::restore_default_crash_handlers().map_err(|e| {
        HostError::Start(StartError::Option(format!(
            "cannot restore the default crash handlers: {e}"
        )))
    })?;
    super::guard::arm(&setup.command, streams.err_fd(), 1, 4);
    let t = Instant::now();
    let jvm = match HostedJvm::start(spec) {
        Ok(jvm) => jvm,
        Err(e) => {
            super::guard::done();
            return Err(HostError::Start(e));
        }
    };
    super::guard::running();
    install_exit_interceptor(&jvm);
    Ok((jvm, t.elapsed()))
}

/// Installs the driver's exit interceptor first thing, with the JVM's stderr silenced for the
/// call (Java 17 warns there about every security manager); the drivers find it in place.
fn install_exit_interceptor(jvm: &HostedJvm) {
    let Ok(mut env) = jvm.vm().attach_current_thread_permanently() else {
        return;
    };
    super::stdio::with_jvm_stderr_silenced(|| {
        let installed = env.call_static_method("dev/tmrt/emulator/ExitInterceptor", "install", "()Z", &[]);
        if installed.is_err() {
            let _ = super::throwable::take_pending(&mut env);
        }
    });
}

/// A job to run: the user-code class path, the entry and how many rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSpec {
    pub jars: Vec<PathBuf>,
    /// The entry class (in the Flink mode without `--entry`: the manifest's, for display).
    pub entry_class: String,
    /// Flink mode: the entry comes from the jar's manifest (Flink reads it itself).
    #[serde(default)]
    pub entry_from_manifest: bool,
    pub args: Vec<String>,
    pub rounds: u32,
    /// How long a slot's task (plain mode) or a job (Flink mode) may run, seconds.
    pub task_timeout_secs: Option<u64>,
}

impl JobSpec {
    /// The job as the Flink mode submits it.
    pub fn flink_job(&self) -> FlinkJob {
        FlinkJob {
            jar: self.jars.first().cloned().unwrap_or_default(),
            entry_class: (!self.entry_from_manifest).then(|| self.entry_class.clone()),
            args: self.args.clone(),
        }
    }
}

/// What a job's run observed and concluded.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    /// Figures before round one, after a full GC.
    pub baseline: JvmFigures,
    pub rounds: Vec<RoundRecord>,
    /// The agent's final report, as it wrote it (null when it could not be taken).
    pub agent: serde_json::Value,
    /// Rounds whose user-code loader was still reachable at the end.
    pub rounds_alive: Vec<u32>,
    /// Each user-code loader's life over the run.
    pub loaders: Vec<LoaderLifetime>,
    /// Classes the agent saw defined by more than one loader, one of them the job's (its final
    /// report).
    pub duplicate_classes: Vec<DuplicateClass>,
    /// What the agent could not do (its final report).
    pub agent_limits: Vec<String>,
    /// Whether a job's `System.exit` is intercepted (else it would end the process).
    pub exit_intercepted: bool,
    pub assessment: Assessment,
}

/// A call into the JVM that failed, as a failure of the run.
fn driver_failure(round: Option<u32>, e: &JavaCallError) -> LocatedFailure {
    LocatedFailure {
        round,
        slot: None,
        failure: TaskFailure::plain(FailureKind::DriverFailed, e.to_string()),
    }
}

fn read_report(text: &str, call: &str) -> Result<AgentSnapshot, JavaCallError> {
    AgentSnapshot::parse(text).map_err(|e| JavaCallError {
        call: call.to_string(),
        detail: format!("unreadable agent report ({e}): {text}"),
    })
}

/// Runs `job` in the TaskManager: `rounds` rounds, stopping after the first round with a
/// failure; `on_round` sees each round as it completes, with the figures before it. `flink`:
/// the Flink mode (the driver is a `FlinkSession`).
pub fn run_job(
    driver: &SessionDriver<'_>,
    job: &JobSpec,
    flink: bool,
    mut on_round: impl FnMut(&RoundRecord, &JvmFigures),
) -> JobRun {
    let mut driver_failures: Vec<LocatedFailure> = Vec::new();
    let (baseline, known_before, exit_intercepted) = match driver
        .baseline()
        .and_then(|b| read_report(&b.agent_report, "baseline()").map(|s| (s, b.exit_intercepted)))
    {
        Ok((s, intercepted)) => {
            let ids: BTreeSet<LoaderId> = s.report.loaders.iter().map(|l| l.id).collect();
            (JvmFigures::of(&s.report), ids, intercepted)
        }
        Err(e) => {
            driver_failures.push(driver_failure(Some(1), &e));
            (JvmFigures::default(), BTreeSet::new(), false)
        }
    };

    let mut rounds: Vec<RoundRecord> = Vec::new();
    let mut snapshots: Vec<(u32, AgentSnapshot)> = Vec::new();
    let mut job_rounds: BTreeMap<String, u32> = BTreeMap::new();
    if driver_failures.is_empty() {
        let flink_job = job.flink_job();
        for round in 1..=job.rounds {
            let result = if flink {
                driver.run_job(round, &flink_job)
            } else {
                driver.run_round(round)
            };
            let observed = result.and_then(|r| observe(driver, r, flink, &mut job_rounds));
            match observed {
                Ok((record, snapshot)) => {
                    on_round(&record, rounds.last().map_or(&baseline, |r: &RoundRecord| &r.after));
                    let failed = record.failures().next().is_some();
                    rounds.push(record);
                    snapshots.push((round, snapshot));
                    if failed {
                        break;
                    }
                }
                Err(e) => {
                    driver_failures.push(driver_failure(Some(round), &e));
                    break;
                }
            }
        }
    }

    let finish = driver
        .finish(LEAK_GC_CYCLES)
        .and_then(|f| read_report(&f.agent_report, "finish()").map(|s| (s, f)));
    let (last, agent, plain_alive) = match finish {
        Ok((s, f)) => {
            let value = serde_json::from_str(&f.agent_report).unwrap_or(serde_json::Value::Null);
            (Some(s), value, f.rounds_alive)
        }
        Err(e) => {
            if driver_failures.is_empty() {
                driver_failures.push(driver_failure(None, &e));
            }
            (None, serde_json::Value::Null, Vec::new())
        }
    };
    let rounds_alive = match (&last, flink) {
        (Some(s), true) => s.rounds_alive(&job_rounds),
        _ => plain_alive,
    };
    let per_round: Vec<(u32, &AgentSnapshot)> = snapshots.iter().map(|(r, s)| (*r, s)).collect();
    let loaders = last
        .as_ref()
        .map(|l| lifetimes(&known_before, &per_round, l, &job_rounds))
        .unwrap_or_default();
    let assessment = assess(&Evidence {
        baseline_metaspace_used: baseline.metaspace_used_bytes,
        rounds: &rounds,
        planned_rounds: job.rounds,
        final_report: last.as_ref().map(|s| &s.report),
        known_before: &known_before,
        driver_failures: &driver_failures,
    });
    JobRun {
        baseline,
        rounds,
        agent,
        rounds_alive,
        loaders,
        duplicate_classes: last
            .as_ref()
            .map(|s| s.report.duplicate_classes.clone())
            .unwrap_or_default(),
        agent_limits: last.as_ref().map(|s| s.report.limits.clone()).unwrap_or_default(),
        exit_intercepted,
        assessment,
    }
}

/// A round's record from what the driver reported: the figures from the agent's report (for a
/// Flink job, after its loaders had [`FLINK_SETTLE`] to be collected), and in the Flink mode a
/// finished job whose loader the agent never saw marked as not judged.
fn observe(
    driver: &SessionDriver<'_>,
    r: DriverRound,
    flink: bool,
    job_rounds: &mut BTreeMap<String, u32>,
) -> Result<(RoundRecord, AgentSnapshot), JavaCallError> {
    let mut snapshot = read_report(&r.agent_report, "runRound()")?;
    let mut incidents = r.incidents;
    let mut loaders_alive = r.loaders_alive.unwrap_or(0);
    if flink {
        if let Some(job) = r.job.as_ref().filter(|j| !j.job_id.is_empty()) {
            let id = job.job_id.to_ascii_lowercase();
            job_rounds.insert(id.clone(), r.round);
            let start = Instant::now();
            while snapshot.job_loader_alive(&id) && start.elapsed() < FLINK_SETTLE {
                std::thread::sleep(SETTLE_STEP);
                snapshot = read_report(&driver.collect()?, "collect()")?;
            }
            if job.failure.is_none() && snapshot.job_loaders(&id).next().is_none() {
                incidents.push(TaskFailure::plain(
                    FailureKind::NotObserved,
                    format!(
                        "job {id} finished, but the agent reported no user-code classloader of it, so whether it leaks cannot be judged (an agent that does not recognise Flink's loaders?)"
                    ),
                ));
            }
        }
        loaders_alive = snapshot.rounds_alive(job_rounds).len() as u32;
    }
    let record = RoundRecord {
        round: r.round,
        millis: r.millis,
        slots: r.slots,
        job: r.job,
        incidents,
        after: JvmFigures::of(&snapshot.report),
        loaders_alive,
    };
    Ok((record, snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_manager_is_allowed_only_from_java_12_and_the_runtime_reaches_the_agent() {
        let conf = runtime::config::Configuration::from_pairs([("taskmanager.memory.process.size", "1728m")]);
        let plan = TaskManagerPlan::from_config(&conf, runtime::config::FlinkVersion::V1_20).unwrap();
        let lib = std::path::Path::new("/t/libtmrt.so");
        let allow = "-Djava.security.manager=allow".to_string();
        assert!(jvm_options(&plan, lib, 3, Some(17), None).contains(&allow));
        assert!(!jvm_options(&plan, lib, 3, Some(11), None).contains(&allow));
        assert!(!jvm_options(&plan, lib, 3, None, None).contains(&allow));
        let opts = jvm_options(&plan, lib, 3, Some(17), None);
        assert_eq!(opts[..plan.jvm_options.len()], plan.jvm_options[..]);
        assert!(opts.contains(&"-agentpath:/t/libtmrt.so=leak-gc-cycles=3,log=off,reference-paths=full".to_string()));
        assert!(opts.contains(&"-Dtmrt.library=/t/libtmrt.so".to_string()));
        let tmrt = jvm_options(&plan, lib, 3, Some(17), Some("classloading+managed-memory"));
        assert!(tmrt.contains(
            &"-agentpath:/t/libtmrt.so=leak-gc-cycles=3,log=off,reference-paths=full,runtime=classloading+managed-memory".to_string()
        ));
    }

    #[test]
    fn a_flink_job_runs_from_its_jar_and_the_manifest_entry_is_left_to_flink() {
        let job = JobSpec {
            jars: vec![PathBuf::from("/j/job.jar")],
            entry_class: "e2e.Main".into(),
            entry_from_manifest: true,
            args: vec!["--x".into()],
            rounds: 5,
            task_timeout_secs: None,
        };
        let f = job.flink_job();
        assert_eq!(
            (f.jar, f.entry_class, f.args),
            (PathBuf::from("/j/job.jar"), None, vec!["--x".to_string()])
        );
        let given = JobSpec {
            entry_from_manifest: false,
            ..job
        };
        assert_eq!(given.flink_job().entry_class.as_deref(), Some("e2e.Main"));
    }
}
