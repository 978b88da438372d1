//! The verdict of an emulator run: clean, leak found, task failure or bad input.
//!
//! Precedence follows what a user must fix first: a wrong entry class (bad input) hides
//! everything else; a task or job that failed comes next, and so does a round the emulator could
//! not run or judge (a driver out of heap, a final report that could not be taken); only a run
//! whose every planned round completed can be judged clean or leaking. A leak is what the agent reports: a user-code classloader that was
//! released (closed) and survived the agent's `leak-gc-cycles` full collections. The metaspace
//! growth per round is the evidence shown with it, fitted over the rounds' post-GC figures.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::fit::LinearFit;
use super::round::{FailureKind, RoundRecord, TaskFailure};
use crate::telemetry::LoaderId;

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
    /// A task or the job failed (threw, exceeded its slot budget, exhausted metaspace, exited),
    /// or a round could not be run or judged.
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

/// A failure located in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocatedFailure {
    /// The round it happened in; `None`: after the rounds (the final report).
    pub round: Option<u32>,
    /// The slot whose task failed (plain mode); `None` for the job, an incident or the driver.
    pub slot: Option<u32>,
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

/// What a run observed, for [`assess`].
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// Post-GC metaspace used before round one.
    pub baseline_metaspace_used: u64,
    /// The rounds that ran.
    pub rounds: &'a [RoundRecord],
    /// The rounds asked for.
    pub planned_rounds: u32,
    /// The agent's final report (after its forced collections); `None` when it could not be taken.
    pub final_report: Option<&'a AgentReport>,
    /// Loaders that existed before the job: not the job's, never its leak.
    pub known_before: &'a BTreeSet<LoaderId>,
    /// Failures around the rounds' own records: a round the driver could not run or report
    /// (`round: Some`), the final report that could not be taken (`round: None`).
    pub driver_failures: &'a [LocatedFailure],
}

/// Draws the verdict. Clean needs every planned round run and completed, the final report taken,
/// and no loader of the job leaked; a run cut short is never clean.
pub fn assess(e: &Evidence<'_>) -> Assessment {
    let mut failures: Vec<LocatedFailure> = e
        .rounds
        .iter()
        .flat_map(|r| {
            r.failures().map(move |(slot, f)| LocatedFailure {
                round: Some(r.round),
                slot,
                failure: f.clone(),
            })
        })
        .collect();
    failures.extend(e.driver_failures.iter().cloned());
    let ran = e.rounds.len();
    if ran < e.planned_rounds as usize && failures.is_empty() {
        failures.push(LocatedFailure {
            round: None,
            slot: None,
            failure: TaskFailure::plain(
                FailureKind::DriverFailed,
                format!("the run stopped after {ran} of {} round(s)", e.planned_rounds),
            ),
        });
    }
    if e.final_report.is_none() && failures.is_empty() {
        failures.push(LocatedFailure {
            round: None,
            slot: None,
            failure: TaskFailure::plain(FailureKind::DriverFailed, "the agent's final report could not be taken"),
        });
    }
    let leaked_loaders: Vec<AgentLoader> = e
        .final_report
        .map(|r| {
            r.loaders
                .iter()
                .filter(|l| l.leaked && !e.known_before.contains(&l.id))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let used: Vec<u64> = e.rounds.iter().map(|r| r.after.metaspace_used_bytes).collect();
    let metaspace_growth = e
        .rounds
        .first()
        .and_then(|first| LinearFit::over_rounds(first.round, &used));
    let metaspace_delta_bytes = used
        .last()
        .map_or(0, |&last| last as i64 - e.baseline_metaspace_used as i64);
    let classes: Vec<u64> = e.rounds.iter().map(|r| r.after.classes_loaded).collect();
    let classes_growth = e
        .rounds
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
                        exception: "java.lang.RuntimeException".into(),
                        ..TaskFailure::plain(kind, "boom")
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
            job: None,
            incidents: vec![],
            after: JvmFigures {
                metaspace_used_bytes: used,
                classes_loaded: 900 + used % 7,
                ..JvmFigures::default()
            },
            loaders_alive: 0,
        }
    }

    fn leaked_loader(id: LoaderId) -> AgentLoader {
        AgentLoader {
            id,
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

    fn evidence<'a>(
        rounds: &'a [RoundRecord],
        planned: u32,
        report: Option<&'a AgentReport>,
        known: &'a BTreeSet<LoaderId>,
    ) -> Evidence<'a> {
        Evidence {
            baseline_metaspace_used: 900_000,
            rounds,
            planned_rounds: planned,
            final_report: report,
            known_before: known,
            driver_failures: &[],
        }
    }

    #[test]
    fn clean_run_is_clean_with_flat_growth() {
        let rounds: Vec<_> = (1..=4).map(|n| round(n, 1_000_000, None)).collect();
        let released = AgentLoader {
            released: true,
            ..AgentLoader::default()
        };
        let report = AgentReport {
            loaders: vec![released],
            ..AgentReport::default()
        };
        let known = BTreeSet::new();
        let a = assess(&evidence(&rounds, 4, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::Clean);
        assert_eq!(a.exit_code, 0);
        assert_eq!(a.metaspace_growth.unwrap().slope, 0.0);
        assert_eq!(a.metaspace_delta_bytes, 100_000);
        assert_eq!(a.classes_growth.unwrap().slope, 0.0);
    }

    #[test]
    fn leaked_loader_is_a_leak_with_growth_unless_it_was_there_before() {
        let rounds: Vec<_> = (1..=3)
            .map(|n| round(n, 1_000_000 + 50_000 * u64::from(n), None))
            .collect();
        let report = AgentReport {
            loaders: vec![leaked_loader(7), AgentLoader::default()],
            ..AgentReport::default()
        };
        let known = BTreeSet::new();
        let a = assess(&evidence(&rounds, 3, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::LeakFound);
        assert_eq!(a.exit_code, 3);
        assert_eq!(a.leaked_loaders.len(), 1);
        assert!((a.metaspace_growth.unwrap().slope - 50_000.0).abs() < 1e-6);
        let before: BTreeSet<LoaderId> = [7].into_iter().collect();
        assert_eq!(
            assess(&evidence(&rounds, 3, Some(&report), &before)).verdict,
            Verdict::Clean
        );
    }

    #[test]
    fn task_failure_wins_over_leak_and_bad_input_over_both() {
        let failing = vec![round(1, 1, None), round(2, 2, Some(FailureKind::MetaspaceExhausted))];
        let report = AgentReport {
            loaders: vec![leaked_loader(3)],
            ..AgentReport::default()
        };
        let known = BTreeSet::new();
        let a = assess(&evidence(&failing, 5, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert_eq!(a.exit_code, 4);
        assert_eq!((a.failures[0].round, a.failures[0].slot), (Some(2), Some(0)));
        assert_eq!(failure_kinds(&a), vec![FailureKind::MetaspaceExhausted]);

        let bad = vec![round(1, 1, Some(FailureKind::EntryClassNotFound))];
        let a = assess(&evidence(&bad, 5, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::BadInput);
        assert_eq!(a.exit_code, 1);
    }

    #[test]
    fn a_run_cut_short_or_without_its_final_report_is_never_clean() {
        let known = BTreeSet::new();
        let report = AgentReport::default();
        let two: Vec<_> = (1..=2).map(|n| round(n, 1, None)).collect();
        let a = assess(&evidence(&two, 5, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert_eq!(a.failures[0].failure.kind, FailureKind::DriverFailed);
        assert!(
            a.failures[0].failure.message.contains("after 2 of 5"),
            "{:?}",
            a.failures
        );

        let none: Vec<RoundRecord> = Vec::new();
        assert_eq!(
            assess(&evidence(&none, 5, Some(&report), &known)).verdict,
            Verdict::TaskFailure
        );

        let all: Vec<_> = (1..=2).map(|n| round(n, 1, None)).collect();
        let a = assess(&evidence(&all, 2, None, &known));
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert!(a.failures[0].failure.message.contains("final report"));

        let failed = [LocatedFailure {
            round: Some(3),
            slot: None,
            failure: TaskFailure::plain(FailureKind::DriverFailed, "java.lang.OutOfMemoryError: Java heap space"),
        }];
        let mut e = evidence(&all, 3, Some(&report), &known);
        e.driver_failures = &failed;
        let a = assess(&e);
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert_eq!(
            a.failures.len(),
            1,
            "the driver's failure explains the short run: {:?}",
            a.failures
        );
        assert_eq!(a.failures[0].round, Some(3));
    }

    #[test]
    fn an_incident_outside_the_slots_is_a_failure() {
        let mut r = round(1, 1, None);
        r.incidents.push(TaskFailure {
            thread: Some("side-thread".into()),
            ..TaskFailure::plain(FailureKind::RuntimeHalt, "Runtime.halt(7)")
        });
        let rounds = [r];
        let known = BTreeSet::new();
        let report = AgentReport::default();
        let a = assess(&evidence(&rounds, 1, Some(&report), &known));
        assert_eq!(a.verdict, Verdict::TaskFailure);
        assert_eq!((a.failures[0].round, a.failures[0].slot), (Some(1), None));
        assert_eq!(a.failures[0].failure.thread.as_deref(), Some("side-thread"));
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
}
