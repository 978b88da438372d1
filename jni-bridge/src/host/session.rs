//! A TaskManager session in the hosted JVM: start the JVM a [`TaskManagerPlan`] describes, then
//! run jobs in it round after round, as a session cluster restarts them.
//!
//! The JVM is started with the plan's JVM parameters, tmrt's agent (`-agentpath`, with
//! `leak-gc-cycles`), `-Dtmrt.library` pointing at the same `libtmrt.so`, and a class path of the
//! `--lib` jars followed by `tmrt.jar`, which is the parent of every job's user-code loader, as
//! Flink's `lib/` is. Several jobs may run one after another in the same JVM (`tmrt demo` does);
//! each job's verdict counts only the loaders that appeared while it ran.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use runtime::emulator::{assess, AgentReport, Assessment, JvmFigures, RoundRecord, TaskManagerPlan};
use serde::Serialize;

use super::artifacts::{find_jar, find_library, ArtifactNotFound};
use super::driver::{DriverSettings, RoundDriver};
use super::jvm::{HostedJvm, JvmSpec, StartError};
use super::libjvm::{find_libjvm, java_feature_version, JvmNotFound};
use super::throwable::JavaCallError;

/// Full collections the agent runs before calling a released loader leaked.
pub const LEAK_GC_CYCLES: u32 = 3;

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

/// The JVM options a plan starts with, class path excluded. From Java 12 on, the JVM must be
/// told up front that a security manager may be installed (`-Djava.security.manager=allow`),
/// which the driver does to intercept a job's `System.exit`; Java 11 allows it by default and
/// would read `allow` as a class name.
pub fn jvm_options(
    plan: &TaskManagerPlan,
    library: &std::path::Path,
    leak_gc_cycles: u32,
    java_version: Option<u32>,
) -> Vec<String> {
    let mut v = plan.jvm_options.clone();
    v.push(format!(
        "-agentpath:{}=leak-gc-cycles={leak_gc_cycles},log=off",
        library.display()
    ));
    v.push(format!("-Dtmrt.library={}", library.display()));
    if java_version.is_some_and(|j| j >= 12) {
        v.push("-Djava.security.manager=allow".to_string());
    }
    v
}

/// Starts the TaskManager's JVM in this process. Returns it with the time it took.
pub fn start_taskmanager(plan: &TaskManagerPlan, libs: &[PathBuf]) -> Result<(HostedJvm, Duration), HostError> {
    let libjvm = find_libjvm().map_err(HostError::NoJvm)?;
    let library = find_library().map_err(HostError::Artifact)?;
    let jar = find_jar().map_err(HostError::Artifact)?;
    let mut class_path = libs.to_vec();
    class_path.push(jar);
    let java_version = java_feature_version(&libjvm);
    let spec = JvmSpec {
        options: jvm_options(plan, &library, LEAK_GC_CYCLES, java_version),
        libjvm,
        class_path,
    };
    let t = Instant::now();
    let jvm = HostedJvm::start(spec).map_err(HostError::Start)?;
    Ok((jvm, t.elapsed()))
}

/// A job to run: the user-code class path, the entry and how many rounds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobSpec {
    pub jars: Vec<PathBuf>,
    pub entry_class: String,
    pub args: Vec<String>,
    pub rounds: u32,
    /// How long a slot's task may run, seconds; `None` for no limit.
    pub task_timeout_secs: Option<u64>,
}

/// What a job's run observed and concluded.
#[derive(Debug, Clone, Serialize)]
pub struct JobRun {
    /// Figures before round one, after a full GC.
    pub baseline: JvmFigures,
    pub rounds: Vec<RoundRecord>,
    /// The agent's final report, as it wrote it.
    pub agent: serde_json::Value,
    /// Rounds whose user-code loader was still reachable at the end.
    pub rounds_alive: Vec<u32>,
    /// The driver itself failed (the run stopped there).
    pub host_error: Option<String>,
    /// Whether a job's `System.exit` is intercepted (else it would end the process).
    pub exit_intercepted: bool,
    pub assessment: Assessment,
}

/// Runs `job` in the TaskManager: `rounds` rounds, stopping after the first round in which a
/// task failed; `on_round` sees each round as it completes, with the figures before it.
pub fn run_job(
    jvm: &HostedJvm,
    plan: &TaskManagerPlan,
    job: &JobSpec,
    mut on_round: impl FnMut(&RoundRecord, &JvmFigures),
) -> Result<JobRun, JavaCallError> {
    let settings = DriverSettings {
        resolve_order: plan.classloading.resolve_order.as_str().to_string(),
        parent_first_patterns: plan.classloading.parent_first_patterns.clone(),
        check_leaked_classloader: plan.classloading.check_leaked_classloader,
        jars: job.jars.clone(),
        entry_class: job.entry_class.clone(),
        args: job.args.clone(),
        slot_bytes: plan.slot_managed_bytes.clone(),
        page_size: u32::try_from(plan.page_size).unwrap_or(u32::MAX),
        task_timeout_millis: job.task_timeout_secs.map_or(0, |s| s.saturating_mul(1000)),
    };
    let driver = RoundDriver::create(jvm, &settings)?;
    let baseline_json = driver.baseline()?;
    let (baseline, known_before, exit_intercepted) = parse_baseline(&baseline_json)?;

    let mut rounds = Vec::new();
    let mut host_error = None;
    for round in 1..=job.rounds {
        match driver.run_round(round) {
            Ok(json) => {
                let record: RoundRecord = parse(&json, "RoundDriver.runRound")?;
                on_round(&record, rounds.last().map_or(&baseline, |r: &RoundRecord| &r.after));
                let failed = record.failures().next().is_some();
                rounds.push(record);
                if failed {
                    break;
                }
            }
            Err(e) => {
                host_error = Some(e.to_string());
                break;
            }
        }
    }
    let (agent, rounds_alive) = match driver.finish(LEAK_GC_CYCLES) {
        Ok(json) => parse_finish(&json)?,
        Err(e) => {
            host_error.get_or_insert(e.to_string());
            (serde_json::Value::Null, Vec::new())
        }
    };
    let mut report = agent_report(&agent)?;
    report.loaders.retain(|l| !known_before.contains(&l.id.to_string()));
    let assessment = assess(baseline.metaspace_used_bytes, &rounds, &report);
    Ok(JobRun {
        baseline,
        rounds,
        agent,
        rounds_alive,
        host_error,
        exit_intercepted,
        assessment,
    })
}

fn parse<T: serde::de::DeserializeOwned>(json: &str, call: &str) -> Result<T, JavaCallError> {
    serde_json::from_str(json).map_err(|e| JavaCallError {
        call: call.to_string(),
        detail: format!("unreadable JSON ({e}): {json}"),
    })
}

/// `baseline()` gives `{"figures": {...}, "agent": report, "exit_intercepted": bool}`; the ids
/// of the loaders the agent knew before the job are excluded from its verdict.
fn parse_baseline(json: &str) -> Result<(JvmFigures, BTreeSet<String>, bool), JavaCallError> {
    #[derive(serde::Deserialize)]
    struct Baseline {
        figures: JvmFigures,
        #[serde(default)]
        agent: AgentReport,
        #[serde(default)]
        exit_intercepted: bool,
    }
    let b: Baseline = parse(json, "RoundDriver.baseline")?;
    let ids = b.agent.loaders.iter().map(|l| l.id.to_string()).collect();
    Ok((b.figures, ids, b.exit_intercepted))
}

/// The agent's report from `finish`: none (JSON null) only when `finish` itself failed, which is
/// already the host error; a report that does not read is an error, never an empty report that
/// would make a leaking job look clean.
fn agent_report(agent: &serde_json::Value) -> Result<AgentReport, JavaCallError> {
    if agent.is_null() {
        return Ok(AgentReport::default());
    }
    serde_json::from_value(agent.clone()).map_err(|e| JavaCallError {
        call: "RoundDriver.finish".to_string(),
        detail: format!("unreadable agent report ({e}): {agent}"),
    })
}

fn parse_finish(json: &str) -> Result<(serde_json::Value, Vec<u32>), JavaCallError> {
    #[derive(serde::Deserialize)]
    struct Finish {
        agent: serde_json::Value,
        #[serde(default)]
        rounds_alive: Vec<u32>,
    }
    let f: Finish = parse(json, "RoundDriver.finish")?;
    Ok((f.agent, f.rounds_alive))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_gives_figures_known_loader_ids_and_exit_interception() {
        let json = r#"{"figures":{"metaspace_used_bytes":10,"classes_loaded_total":5,"classes_unloaded_total":0},
            "agent":{"loaders":[{"id":0},{"id":2}]},"exit_intercepted":true}"#;
        let (figures, ids, intercepted) = parse_baseline(json).unwrap();
        assert_eq!(figures.metaspace_used_bytes, 10);
        assert_eq!(ids, ["0".to_string(), "2".to_string()].into_iter().collect());
        assert!(intercepted);
    }

    #[test]
    fn finish_gives_the_agent_report_and_the_rounds_still_alive() {
        let (agent, alive) = parse_finish(r#"{"agent":{"loaders":[]},"rounds_alive":[2,3]}"#).unwrap();
        assert_eq!(agent["loaders"], serde_json::json!([]));
        assert_eq!(alive, vec![2, 3]);
        let err = parse_finish("not json").unwrap_err();
        assert_eq!(err.call, "RoundDriver.finish");
        assert!(err.detail.contains("unreadable JSON"), "{}", err.detail);
    }

    #[test]
    fn an_unreadable_agent_report_is_an_error_not_an_empty_one() {
        let ok = agent_report(&serde_json::json!({"loaders":[{"id":3,"leaked":true}]})).unwrap();
        assert!(ok.loaders[0].leaked);
        assert_eq!(agent_report(&serde_json::Value::Null).unwrap(), AgentReport::default());
        let err = agent_report(&serde_json::json!({"loaders":[{"id":"x"}]})).unwrap_err();
        assert_eq!(err.call, "RoundDriver.finish");
        assert!(err.detail.contains("unreadable agent report"), "{}", err.detail);
    }

    #[test]
    fn security_manager_is_allowed_only_from_java_12() {
        let conf = runtime::config::Configuration::from_pairs([("taskmanager.memory.process.size", "1728m")]);
        let plan = TaskManagerPlan::from_config(&conf, runtime::config::FlinkVersion::V1_20).unwrap();
        let lib = std::path::Path::new("/t/libtmrt.so");
        let allow = "-Djava.security.manager=allow".to_string();
        assert!(jvm_options(&plan, lib, 3, Some(17)).contains(&allow));
        assert!(!jvm_options(&plan, lib, 3, Some(11)).contains(&allow));
        assert!(!jvm_options(&plan, lib, 3, None).contains(&allow));
        let opts = jvm_options(&plan, lib, 3, Some(17));
        assert_eq!(opts[..plan.jvm_options.len()], plan.jvm_options[..]);
        assert!(opts.contains(&"-agentpath:/t/libtmrt.so=leak-gc-cycles=3,log=off".to_string()));
        assert!(opts.contains(&"-Dtmrt.library=/t/libtmrt.so".to_string()));
    }
}
