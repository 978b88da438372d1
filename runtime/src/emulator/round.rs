//! What one round of the emulator observed, as the JVM side reports it.
//!
//! A round is one (re)start of the job in the session: in the plain mode the entry class in every
//! slot with a fresh user-code classloader (`slots`), in the Flink mode one job submitted to
//! Flink's own MiniCluster (`job`). Either way the round ends with full collections and the
//! agent's figures (`after`). What went wrong outside a slot's task or the job — an exit or halt
//! from a thread the job started, an attempt to remove the exit interceptor, a driver that could
//! not run or measure the round — is an `incident` of the round. The `--report` file reuses these
//! types unchanged.

use serde::{Deserialize, Serialize};

use crate::telemetry::Report;

/// Why a task, a job or a round did not complete as it should.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The entry class is not in the user jars nor on the parent class path.
    EntryClassNotFound,
    /// The entry class has neither `public static void main(String[])` nor implements
    /// `dev.tmrt.emulator.Task` with a public no-argument constructor.
    NoEntryMethod,
    /// The task threw (anything not classified below).
    TaskThrew,
    /// The task asked its slot's `MemoryManager` for more pages than the slot's budget
    /// (`MemoryAllocationException`).
    SlotBudgetExceeded,
    /// `OutOfMemoryError: Metaspace` (or `Compressed class space`).
    MetaspaceExhausted,
    /// The job called `System.exit` (intercepted as Flink's
    /// `cluster.intercept-user-system-exit: THROW` does), from any of its threads.
    SystemExit,
    /// The job called `Runtime.halt` (intercepted likewise).
    RuntimeHalt,
    /// The job tried to replace or remove the exit interceptor (`System.setSecurityManager`);
    /// refused.
    ExitInterceptorRemoved,
    /// The task (plain mode) or the job (Flink mode) was still running when `--task-timeout`
    /// ran out (it was interrupted, or the job cancelled).
    TaskTimedOut,
    /// The Flink job failed: its failure cause, as the JobMaster reports it.
    JobFailed,
    /// The job's `main` failed before it submitted a job (while Flink's client built the job graph).
    ProgramFailed,
    /// The emulator itself could not run or measure the round (the JVM is out of heap, say); the
    /// round has no verdict.
    DriverFailed,
    /// The agent did not see the round's user-code classloader, so whether it leaked cannot be
    /// judged.
    NotObserved,
}

impl FailureKind {
    /// Whether the failure is the input's fault (wrong entry class) rather than the job's.
    pub fn is_bad_input(self) -> bool {
        matches!(self, FailureKind::EntryClassNotFound | FailureKind::NoEntryMethod)
    }

    /// One-line human description.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::EntryClassNotFound => "entry class not found",
            FailureKind::NoEntryMethod => "no suitable entry method",
            FailureKind::TaskThrew => "task threw",
            FailureKind::SlotBudgetExceeded => "task exceeded its slot's managed-memory budget",
            FailureKind::MetaspaceExhausted => "metaspace exhausted",
            FailureKind::SystemExit => "the job called System.exit",
            FailureKind::RuntimeHalt => "the job called Runtime.halt",
            FailureKind::ExitInterceptorRemoved => {
                "the job tried to remove tmrt's exit interceptor (System.setSecurityManager); refused"
            }
            FailureKind::TaskTimedOut => "did not finish within --task-timeout",
            FailureKind::JobFailed => "the job failed",
            FailureKind::ProgramFailed => "the job's main failed before submitting a job",
            FailureKind::DriverFailed => "the emulator could not run or measure the round",
            FailureKind::NotObserved => "the agent did not see the job's user-code classloader",
        }
    }
}

/// One exception of a failure's cause chain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Cause {
    /// Binary name of the exception's class (for a Flink `SerializedThrowable`, the original's).
    pub exception: String,
    /// The exception's message (may be empty).
    pub message: String,
    /// Its stack trace, `Class.method(File:line)`, top frame first.
    pub stack: Vec<String>,
}

impl Cause {
    /// `exception: message`, or just the class when there is no message.
    pub fn headline(&self) -> String {
        match (self.exception.is_empty(), self.message.is_empty()) {
            (true, _) => self.message.clone(),
            (false, true) => self.exception.clone(),
            (false, false) => format!("{}: {}", self.exception, self.message),
        }
    }
}

/// A failure, with the Java exception that caused it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    pub kind: FailureKind,
    /// Binary name of the most telling exception (`java.lang.OutOfMemoryError`): the recognised
    /// cause for classified kinds, the root cause otherwise.
    pub exception: String,
    /// Its message (may be empty).
    #[serde(default)]
    pub message: String,
    /// Its top frames, `Class.method(File:line)`.
    #[serde(default)]
    pub stack: Vec<String>,
    /// The whole cause chain, outermost first, each with its stack.
    #[serde(default)]
    pub chain: Vec<Cause>,
    /// The thread it happened in, when that is not the slot's task thread or the driver.
    #[serde(default)]
    pub thread: Option<String>,
}

impl TaskFailure {
    /// A failure described by its kind and a message only (no Java exception).
    pub fn plain(kind: FailureKind, message: impl Into<String>) -> Self {
        TaskFailure {
            kind,
            exception: String::new(),
            message: message.into(),
            stack: Vec::new(),
            chain: Vec::new(),
            thread: None,
        }
    }

    /// The innermost cause of the chain (the telling exception when there is no chain).
    pub fn root_cause(&self) -> Cause {
        self.chain.last().cloned().unwrap_or_else(|| Cause {
            exception: self.exception.clone(),
            message: self.message.clone(),
            stack: self.stack.clone(),
        })
    }
}

/// Managed-memory pages an owner still held when its slot's task ended (released by the
/// host afterwards, as Flink's `MemoryManager.releaseAll` does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftoverPages {
    /// The owner's `toString()`.
    pub owner: String,
    pub pages: u64,
}

/// One slot in one round (plain mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotOutcome {
    pub slot: u32,
    /// Wall time of the task in the slot's thread, milliseconds.
    #[serde(default)]
    pub millis: u64,
    #[serde(default)]
    pub failure: Option<TaskFailure>,
    /// Pages left behind, per owner.
    #[serde(default)]
    pub leftover: Vec<LeftoverPages>,
}

/// The job of one round (Flink mode): submitted to the MiniCluster, run to its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOutcome {
    /// Flink's `JobID`, 32 hex digits (empty when no job graph could be built).
    pub job_id: String,
    /// The job's final status: `FINISHED`, `FAILED`, `CANCELED`, or `NOT-SUBMITTED` when its main
    /// failed before submitting.
    pub status: String,
    /// Building the job graph (the job's `main` under Flink's client), milliseconds.
    #[serde(default)]
    pub graph_millis: u64,
    /// From submission to the job's result, milliseconds.
    #[serde(default)]
    pub run_millis: u64,
    #[serde(default)]
    pub failure: Option<TaskFailure>,
}

/// JVM-wide figures after a round's clean-up and full collections: the agent's report's
/// figures (`Telemetry.snapshot()`), the only place the JVM's figures are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JvmFigures {
    pub metaspace_used_bytes: u64,
    #[serde(default)]
    pub metaspace_committed_bytes: u64,
    pub classes_loaded_total: u64,
    pub classes_unloaded_total: u64,
    /// Classes currently loaded (loaded minus unloaded).
    #[serde(default)]
    pub classes_loaded: u64,
    #[serde(default)]
    pub gc_count: u64,
    #[serde(default)]
    pub full_gc_count: u64,
}

impl JvmFigures {
    /// The figures of an agent report.
    pub fn of(report: &Report) -> Self {
        JvmFigures {
            metaspace_used_bytes: report.metaspace_used_bytes.max(0) as u64,
            metaspace_committed_bytes: report.metaspace_committed_bytes.max(0) as u64,
            classes_loaded_total: report.classes_loaded_total,
            classes_unloaded_total: report.classes_unloaded_total,
            classes_loaded: report
                .classes_loaded_total
                .saturating_sub(report.classes_unloaded_total),
            gc_count: report.gc_count,
            full_gc_count: report.full_gc_count,
        }
    }
}

/// One round: a fresh user-code classloader (or a fresh job), then clean-up and the figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Round number, from 1.
    pub round: u32,
    /// Wall time of the whole round, milliseconds.
    #[serde(default)]
    pub millis: u64,
    /// Plain mode: every slot's task.
    #[serde(default)]
    pub slots: Vec<SlotOutcome>,
    /// Flink mode: the job.
    #[serde(default)]
    pub job: Option<JobOutcome>,
    /// Failures outside a slot's task or the job (exits from the job's own threads, attempts to
    /// remove the exit interceptor, a driver that failed).
    #[serde(default)]
    pub incidents: Vec<TaskFailure>,
    /// Figures after the round's clean-up and full GC.
    pub after: JvmFigures,
    /// Rounds (this and earlier) whose user-code loaders were still reachable after this round's GC.
    #[serde(default)]
    pub loaders_alive: u32,
}

impl RoundRecord {
    /// The failures of this round: by slot (`Some`), then the job's and the incidents (`None`).
    pub fn failures(&self) -> impl Iterator<Item = (Option<u32>, &TaskFailure)> {
        self.slots
            .iter()
            .filter_map(|s| s.failure.as_ref().map(|f| (Some(s.slot), f)))
            .chain(self.job.iter().filter_map(|j| j.failure.as_ref().map(|f| (None, f))))
            .chain(self.incidents.iter().map(|f| (None, f)))
    }

    /// Units of work that completed: slots whose task completed, or 1 for a job that finished.
    pub fn completed(&self) -> usize {
        let slots = self.slots.iter().filter(|s| s.failure.is_none()).count();
        let job = self.job.as_ref().map_or(0, |j| usize::from(j.failure.is_none()));
        slots + job
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_parses_with_slots_job_and_incidents() {
        let json = r#"{"round":2,"millis":31,"loaders_alive":1,
            "slots":[{"slot":0,"millis":12,"failure":null,"leftover":[]},
                     {"slot":1,"millis":9,"failure":{"kind":"slot-budget-exceeded",
                        "exception":"dev.tmrt.memory.MemoryAllocationException",
                        "message":"Could not allocate 99 pages","stack":["a.B.c(B.java:1)"]},
                      "leftover":[{"owner":"job","pages":3}]}],
            "incidents":[{"kind":"runtime-halt","exception":"dev.tmrt.emulator.UserSystemExitException",
                          "message":"Runtime.halt(7)","thread":"worker"}],
            "after":{"metaspace_used_bytes":100,"metaspace_committed_bytes":200,
                     "classes_loaded_total":10,"classes_unloaded_total":4,"classes_loaded":6,"gc_count":7}}"#;
        let r: RoundRecord = serde_json::from_str(json).unwrap();
        assert_eq!(r.round, 2);
        assert_eq!(r.after.metaspace_used_bytes, 100);
        let f: Vec<_> = r.failures().collect();
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].0, Some(1));
        assert_eq!(f[0].1.kind, FailureKind::SlotBudgetExceeded);
        assert_eq!(f[1].0, None);
        assert_eq!(f[1].1.thread.as_deref(), Some("worker"));
        assert_eq!(r.slots[1].leftover[0].pages, 3);
        assert_eq!(r.completed(), 1);
    }

    #[test]
    fn figures_come_from_the_agent_report() {
        let report = Report {
            classes_loaded_total: 1000,
            classes_unloaded_total: 40,
            metaspace_used_bytes: 5 << 20,
            metaspace_committed_bytes: 6 << 20,
            gc_count: 9,
            full_gc_count: 4,
            ..Report::default()
        };
        let f = JvmFigures::of(&report);
        assert_eq!(f.classes_loaded, 960);
        assert_eq!(f.metaspace_used_bytes, 5 << 20);
        assert_eq!((f.gc_count, f.full_gc_count), (9, 4));
        let negative = Report {
            metaspace_used_bytes: -1,
            ..Report::default()
        };
        assert_eq!(JvmFigures::of(&negative).metaspace_used_bytes, 0);
    }

    #[test]
    fn the_root_cause_is_the_innermost_of_the_chain() {
        let mut f = TaskFailure::plain(FailureKind::JobFailed, "outer");
        assert_eq!(f.root_cause().message, "outer");
        f.chain = vec![
            Cause {
                exception: "org.apache.flink.runtime.JobException".into(),
                message: "Recovery is suppressed".into(),
                stack: vec![],
            },
            Cause {
                exception: "java.lang.IllegalStateException".into(),
                message: "boom".into(),
                stack: vec!["e2e.Fails.map(Fails.java:9)".into()],
            },
        ];
        assert_eq!(f.root_cause().headline(), "java.lang.IllegalStateException: boom");
        let bare = Cause {
            exception: "java.lang.NullPointerException".into(),
            ..Cause::default()
        };
        assert_eq!(bare.headline(), "java.lang.NullPointerException");
    }

    #[test]
    fn failure_kinds_use_kebab_case_names() {
        for (k, s) in [
            (FailureKind::EntryClassNotFound, "\"entry-class-not-found\""),
            (FailureKind::NoEntryMethod, "\"no-entry-method\""),
            (FailureKind::TaskThrew, "\"task-threw\""),
            (FailureKind::SlotBudgetExceeded, "\"slot-budget-exceeded\""),
            (FailureKind::MetaspaceExhausted, "\"metaspace-exhausted\""),
            (FailureKind::SystemExit, "\"system-exit\""),
            (FailureKind::RuntimeHalt, "\"runtime-halt\""),
            (FailureKind::ExitInterceptorRemoved, "\"exit-interceptor-removed\""),
            (FailureKind::TaskTimedOut, "\"task-timed-out\""),
            (FailureKind::JobFailed, "\"job-failed\""),
            (FailureKind::ProgramFailed, "\"program-failed\""),
            (FailureKind::DriverFailed, "\"driver-failed\""),
            (FailureKind::NotObserved, "\"not-observed\""),
        ] {
            assert_eq!(serde_json::to_string(&k).unwrap(), s);
            assert_eq!(serde_json::from_str::<FailureKind>(s).unwrap(), k);
        }
        assert!(FailureKind::NoEntryMethod.is_bad_input());
        assert!(!FailureKind::MetaspaceExhausted.is_bad_input());
        assert!(!FailureKind::DriverFailed.is_bad_input());
    }
}
