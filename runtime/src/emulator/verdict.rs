//! The verdict of an emulator run: clean, leak found, task failure or bad input.
//!
//! Precedence follows what a user must fix first: a wrong entry class (bad input) hides
//! everything else; a task that failed comes next; only a run whose tasks all completed can be
//! judged clean or leaking. A leak is what the agent reports: a user-code classloader that was
//! released (closed) and survived the agent's `leak-gc-cycles` full collections. The metaspace
//! growth per round is the evidence shown with it, fitted over the rounds' post-GC figures.

use serde::{Deserialize, Serialize};

use super::fit::LinearFit;
use super::round::{FailureKind, RoundRecord, TaskFailure};

/// The agent's JSON report (`Telemetry.snapshot().toJson()`), read back with the agent's own
/// model: one definition of the format for the writer and the reader.
pub use crate::telemetry::{LoaderReport as AgentLoader, Report as AgentReport, Suspect as AgentSuspect};

/// The outcome class, and the exit status that says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every task completed and every user-code loader was collected.
    Clean,
    /// Every task completed, and at least one user-code loader leaked.
    LeakFound,
    /// A task threw, exceeded its slot budget, exhausted metaspace or called `System.exit`.
    TaskFailure,
    /// The entry class is missing or has no suitable entry method.
    BadInput,
}

impl Verdict {
    /// `tmrt emulate`'s exit status: 0 clean, 3 leak found, 4 task failure, 1 bad input.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Clean => 0,
            Verdict::LeakFound => 3,
            Verdict::TaskFailure => 4,
            Verdict::BadInput => 1,
        }
    }
}

/// A task failure located in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocatedFailure {
    pub round: u32,
    pub slot: u32,
    #[serde(flatten)]
    pub failure: TaskFailure,
}

/// Everything the verdict is drawn from, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    pub verdict: Verdict,
    pub exit_code: u8,
    pub failures: Vec<LocatedFailure>,
    /// Loaders the agent reports leaked (released, still alive after its GC cycles).
    pub leaked_loaders: Vec<AgentLoader>,
    /// Post-GC metaspace used per round, fitted over the rounds (bytes per round).
    pub metaspace_growth: Option<LinearFit>,
    /// Post-GC metaspace used after the last round minus the baseline before the first.
    pub metaspace_delta_bytes: i64,
    /// Classes loaded (currently, after the round's GC) per round, fitted over the rounds: a job
    /// whose classes are unloaded keeps this flat; a leaking one adds its classes every round.
    pub classes_growth: Option<LinearFit>,
}

/// Draws the verdict from the rounds, the baseline figures before round one, and the agent's
/// final report (taken after the last round and the agent's forced collections).
pub fn assess(baseline_metaspace_used: u64, rounds: &[RoundRecord], final_report: &AgentReport) -> Assessment {
    let failures: Vec<LocatedFailure> = rounds
        .iter()
        .flat_map(|r| {
            r.failures().map(move |(slot, f)| LocatedFailure {
                round: r.round,
                slot,
                failure: f.clone(),
            })
        })
        .collect();
    let leaked_loaders: Vec<AgentLoader> = final_report.loaders.iter().filter(|l| l.leaked).cloned().collect();
    let used: Vec<u64> = rounds.iter().map(|r| r.after.metaspace_used_bytes).collect();
    let metaspace_growth = rounds
        .first()
        .and_then(|first| LinearFit::over_rounds(first.round, &used));
    let metaspace_delta_bytes = used
        .last()
        .map_or(0, |&last| last as i64 - baseline_metaspace_used as i64);
    let classes: Vec<u64> = rounds.iter().map(|r| r.after.classes_loaded).collect();
    let classes_growth = rounds
        .first()
        .and_then(|first| LinearFit::over_rounds(first.round, &classes));

    let verdict = if failures.iter().any(|f| f.failure.kind.is_bad_input()) {
        Verdict::BadInput
    } else if !failures.is_empty() {
        Verdict::TaskFailure
    } else if !leaked_loaders.is_empty() {
        Verdict::LeakFound
    } else {
        Verdict::Clean
    };
    Assessment {
        verdict,
        exit_code: verdict.exit_code(),
        failures,
        leaked_loaders,
        metaspace_growth,
        metaspace_delta_bytes,
        classes_growth,
    }
}

/// The failure kinds found, for callers that branch on them.
pub fn failure_kinds(a: &Assessment) -> Vec<FailureKind> {
    a.failures.iter().map(|f| f.failure.kind).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::round::{JvmFigures, SlotOutcome};
    use crate::telemetry::SuspectKind;

    fn round(n: u32, used: u64, failure: Option<FailureKind>) -> RoundRecord {
        RoundRecord {
            round: n,
            millis: 1,
            slots: vec![
                SlotOutcome {
                    slot: 0,
                    millis: 1,
                    failure: failure.map(|kind| TaskFailure {
                        kind,
                        exception: "java.lang.RuntimeException".into(),
                        message: "boom".into(),
                        stack: vec![],
                    }),
                    leftover: vec![],
                },
                SlotOutcome {
                    slot: 1,
                    millis: 1,
                    failure: None,
                    leftover: vec![],
                },
            ],
            after: JvmFigures {
                metaspace_used_bytes: used,
                classes_loaded: 900 + used % 7,
                ..JvmFigures::default()
            },
            loaders_alive: 0,
        }
    }

    fn leaked_loader() -> AgentLoader {
        AgentLoader {
            class: "dev.tmrt.classload.ChildFirstClassLoader".into(),
            released: true,
            alive: true,
            leaked: true,
            suspects: vec![AgentSuspect {
                kind: SuspectKind::Thread,
                description: "thread 'lingering'".into(),
            }],
            ..AgentLoader::default()
        }
    }

    #[test]
    fn clean_run_is_clean_with_flat_growth() {
        let rounds: Vec<_> = (1..=4).map(|n| round(n, 1_000_000, None)).collect();
        let released = AgentLoader {
            released: true,
            ..AgentLoader::default()
        };
        let a = assess(
            900_000,
            &rounds,
            &AgentReport {
                loaders: vec![released],
                ..AgentReport::default()
            },
        );
        assert_eq!(a.verdict, Verdict::Clean);
        assert_eq!(a.exit_code, 0);
        assert_eq!(a.metaspace_growth.unwrap().slope, 0.0);
        assert_eq!(a.metaspace_delta_bytes, 100_000);
        assert_eq!(a.classes_growth.unwrap().slope, 0.0);
    }

    #[test]
    fn leaked_loader_is_a_leak_with_growth() {
        let rounds: Vec<_> = (1..=3)
            .map(|n| round(n, 1_000_000 + 50_000 * u64::from(n), None))
            .collect();
        let a = assess(
            1_000_000,
            &rounds,
            &AgentReport {
                loaders: vec![leaked_loader(), AgentLoader::default()],
                ..AgentReport::default()
            },
        );
        assert_eq!(a.verdict, Verdict::LeakFound);
        assert_eq!(a.exit_code, 3);
        assert_eq!(a.leaked_loaders.len(), 1);
        assert!((a.metaspace_growth.unwrap().slope - 50_000.0).abs() < 1e-6);
    }

    #[test]
    fn task_failure_wins_over_leak_and_bad_input_over_both() {
        let failing = vec![round(1, 1, None), round(2, 2, Some(FailureKind::MetaspaceExhausted))];
        let report = AgentReport {
            loaders: vec![leaked_loader()],
            ..AgentReport::default()
        };
        let a = assess(0, &failing, &report);
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert_eq!(a.exit_code, 4);
        assert_eq!((a.failures[0].round, a.failures[0].slot), (2, 0));
        assert_eq!(failure_kinds(&a), vec![FailureKind::MetaspaceExhausted]);

        let bad = vec![round(1, 1, Some(FailureKind::EntryClassNotFound))];
        let a = assess(0, &bad, &report);
        assert_eq!(a.verdict, Verdict::BadInput);
        assert_eq!(a.exit_code, 1);
    }

    #[test]
    fn agent_report_parses_with_unknown_fields() {
        let json = r#"{"classes_loaded_total":10,"classes_unloaded_total":2,"metaspace_used_bytes":5,
            "metaspace_max_bytes":9,"gc_count":3,"compressed_class_space_used_bytes":1,
            "loaders":[{"id":7,"class":"X","name":null,"parent":1,"classes_defined":4,"classes_unloaded":0,
            "released":true,"alive":true,"leaked":true,
            "suspects":[{"kind":"reference-path","description":"static field Cache.MAP"}]}]}"#;
        let r: AgentReport = serde_json::from_str(json).unwrap();
        assert_eq!(r.loaders[0].suspects[0].kind.as_str(), "reference-path");
        assert!(r.loaders[0].leaked);
    }

    #[test]
    fn agent_report_with_unlimited_metaspace_parses() {
        // The agent reports -1 like MemoryPoolMXBean.getUsage().getMax() when no
        // -XX:MaxMetaspaceSize is set.
        let r: AgentReport = serde_json::from_str(r#"{"metaspace_max_bytes":-1,"loaders":[]}"#).unwrap();
        assert_eq!(r.metaspace_max_bytes, -1);
    }
}
