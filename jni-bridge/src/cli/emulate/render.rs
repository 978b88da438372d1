//! Text rendering of an emulator run: the TaskManager's layout, a line per round, the verdict.
//! Everything here formats values computed elsewhere; nothing is derived.

use std::fmt::Write as _;

use runtime::emulator::{
    AgentLoader, Assessment, Cause, FailureKind, JvmFigures, LocatedFailure, RoundRecord, TaskFailure, TaskManagerPlan,
    Verdict,
};

use crate::host::session::{JobRun, JobSpec, LEAK_GC_CYCLES};

/// `1536` -> `1.5 KiB`; binary units, one decimal.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A signed size: `+1.5 KiB`, `-512 B`, `+0 B`.
pub fn signed_bytes(n: i64) -> String {
    let sign = if n < 0 { '-' } else { '+' };
    format!("{sign}{}", bytes(n.unsigned_abs()))
}

/// The TaskManager: memory layout, slots, JVM options, and how user code is loaded
/// (`user_code`: one line, the mode's).
pub fn layout(plan: &TaskManagerPlan, user_code: &str) -> String {
    let s = &plan.spec;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "TaskManager (Flink {}): total process {}, {} slot(s)",
        plan.version,
        bytes(s.total_process().bytes()),
        plan.slot_managed_bytes.len()
    );
    let _ = writeln!(
        out,
        "  JVM heap        {:>10}  (framework {} + task {})",
        bytes(s.jvm_heap().bytes()),
        bytes(s.framework_heap.bytes()),
        bytes(s.task_heap.bytes())
    );
    let _ = writeln!(
        out,
        "  direct memory   {:>10}  (framework off-heap {} + task off-heap {} + network {})",
        bytes(s.jvm_direct().bytes()),
        bytes(s.framework_off_heap.bytes()),
        bytes(s.task_off_heap.bytes()),
        bytes(s.network.bytes())
    );
    let per_slot: Vec<String> = plan.slot_managed_bytes.iter().map(|&b| bytes(b)).collect();
    let _ = writeln!(
        out,
        "  managed memory  {:>10}  (per slot {}; pages of {})",
        bytes(s.managed.bytes()),
        per_slot.join(", "),
        bytes(plan.page_size)
    );
    let _ = writeln!(out, "  JVM metaspace   {:>10}", bytes(s.jvm_metaspace.bytes()));
    let _ = writeln!(out, "  JVM overhead    {:>10}", bytes(s.jvm_overhead.bytes()));
    let _ = writeln!(out, "  JVM options: {}", plan.jvm_options.join(" "));
    let _ = writeln!(out, "  user code: {user_code}");
    out
}

/// The defaults the plan applied, as one line (`None` when the configuration set everything).
pub fn defaults(plan: &TaskManagerPlan) -> Option<String> {
    if plan.defaults_applied.is_empty() {
        return None;
    }
    let list: Vec<String> = plan.defaults_applied.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    Some(format!(
        "Not configured, so Flink's shipped defaults apply: {}",
        list.join(", ")
    ))
}

/// One round in one line (used for progress and for the table).
pub fn round_line(r: &RoundRecord, total: u32, prev: &JvmFigures) -> String {
    let leftover: u64 = r.slots.iter().flat_map(|s| s.leftover.iter()).map(|l| l.pages).sum();
    let work = match &r.job {
        Some(j) => format!(
            "job {} (graph {} ms, run {} ms)",
            j.status, j.graph_millis, j.run_millis
        ),
        None => {
            let ok = r.slots.iter().filter(|s| s.failure.is_none()).count();
            format!("{ok}/{} slots ok, {:>4} ms", r.slots.len(), r.millis)
        }
    };
    let mut line =
        format!(
        "round {:>2}/{total}: {work} | metaspace {:>9} ({:>10}) | classes +{} loaded, +{} unloaded | loaders alive {}",
        r.round,
        bytes(r.after.metaspace_used_bytes),
        signed_bytes(r.after.metaspace_used_bytes as i64 - prev.metaspace_used_bytes as i64),
        r.after.classes_loaded_total.saturating_sub(prev.classes_loaded_total),
        r.after.classes_unloaded_total.saturating_sub(prev.classes_unloaded_total),
        r.loaders_alive
    );
    if leftover > 0 {
        let _ = write!(line, " | {leftover} managed page(s) left behind");
    }
    line
}

/// Every round, one line each.
pub fn rounds(job: &JobSpec, run: &JobRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "baseline: metaspace {}, {} classes loaded",
        bytes(run.baseline.metaspace_used_bytes),
        run.baseline.classes_loaded
    );
    let mut prev = run.baseline;
    for r in &run.rounds {
        let _ = writeln!(out, "{}", round_line(r, job.rounds, &prev));
        for s in &r.slots {
            for l in &s.leftover {
                let _ = writeln!(
                    out,
                    "    slot {}: {} page(s) left behind by {} (released by the host)",
                    s.slot, l.pages, l.owner
                );
            }
        }
        prev = r.after;
    }
    out
}

/// `kind: exception: message` of a failure (its telling exception).
pub fn failure(f: &TaskFailure) -> String {
    if f.exception.is_empty() {
        format!("{}: {}", f.kind.describe(), f.message)
    } else {
        format!("{}: {}: {}", f.kind.describe(), f.exception, f.message)
    }
}

/// Where a failure happened: `round 2 slot 1`, `round 3`, `round 1 (thread "x")`, `the end of the run`.
fn place(f: &LocatedFailure) -> String {
    let mut p = match (f.round, f.slot) {
        (Some(r), Some(s)) => format!("round {r} slot {s}"),
        (Some(r), None) => format!("round {r}"),
        (None, _) => "after the rounds".to_string(),
    };
    if let Some(t) = &f.failure.thread {
        let _ = write!(p, " (thread \"{t}\")");
    }
    p
}

/// The failure's headline for the verdict line: the root cause of a failed job (what actually
/// went wrong), the telling exception otherwise.
pub fn headline(f: &LocatedFailure) -> String {
    let cause = match f.failure.kind {
        FailureKind::JobFailed | FailureKind::ProgramFailed => f.failure.root_cause(),
        _ => Cause {
            exception: f.failure.exception.clone(),
            message: f.failure.message.clone(),
            stack: Vec::new(),
        },
    };
    format!("{} ({}: {})", cause.headline(), place(f), f.failure.kind.describe())
}

/// A located failure: where, what (the root cause first for a failed job), its top frames, and
/// the exceptions it was wrapped in.
fn located(out: &mut String, f: &LocatedFailure) {
    let chain = &f.failure.chain;
    let root_first = matches!(f.failure.kind, FailureKind::JobFailed | FailureKind::ProgramFailed) && !chain.is_empty();
    if root_first {
        let root = f.failure.root_cause();
        let _ = writeln!(
            out,
            "  {}: {}: {}",
            place(f),
            f.failure.kind.describe(),
            root.headline()
        );
        for frame in root.stack.iter().take(3) {
            let _ = writeln!(out, "      at {frame}");
        }
        for wrapper in chain.iter().rev().skip(1) {
            let _ = writeln!(out, "    wrapped in {}", wrapper.headline());
        }
    } else {
        let _ = writeln!(out, "  {}: {}", place(f), failure(&f.failure));
        for frame in f.failure.stack.iter().take(3) {
            let _ = writeln!(out, "      at {frame}");
        }
    }
}

/// The evidence line: loaded classes and metaspace over the rounds.
fn growth(a: &Assessment, rounds: &[RoundRecord], baseline: &JvmFigures) -> String {
    let classes = match (rounds.first(), rounds.last()) {
        (Some(first), Some(last)) => format!(
            "classes loaded after GC {} -> {}",
            first.after.classes_loaded, last.after.classes_loaded
        ),
        _ => format!("classes loaded {}", baseline.classes_loaded),
    };
    let classes = match &a.classes_growth {
        Some(f) => format!("{classes} ({:+.1}/round)", f.slope),
        None => classes,
    };
    let metaspace = match &a.metaspace_growth {
        Some(f) => format!(
            "metaspace used {}/round (least-squares over {} rounds, r² {:.2}), {} since the baseline",
            signed_bytes(f.slope.round() as i64),
            f.points,
            f.r2,
            signed_bytes(a.metaspace_delta_bytes)
        ),
        None => format!(
            "metaspace used {} since the baseline",
            signed_bytes(a.metaspace_delta_bytes)
        ),
    };
    format!("  {classes}; {metaspace}")
}

fn loader_title(l: &AgentLoader) -> String {
    let name = l.name.as_deref().map(|n| format!(" '{n}'")).unwrap_or_default();
    format!(
        "loader {} {}{name}: {} classes defined, {} unloaded",
        l.id, l.class, l.classes_defined, l.classes_unloaded
    )
}

/// Each leaked loader with its suspects.
fn leaked(out: &mut String, loaders: &[AgentLoader]) {
    for l in loaders {
        let _ = writeln!(out, "  {}", loader_title(l));
        if l.suspects.is_empty() {
            let _ = writeln!(out, "    (no suspect found)");
        }
        for s in &l.suspects {
            let _ = writeln!(out, "    suspect [{}] {}", s.kind.as_str(), s.description);
        }
    }
}

/// The user-code loaders' lives in one line.
fn loader_summary(run: &JobRun) -> Option<String> {
    let l = &run.loaders;
    if l.is_empty() {
        return None;
    }
    let released = l.iter().filter(|x| x.released_after_round.is_some()).count();
    let collected = l.iter().filter(|x| x.collected_after_round.is_some()).count();
    let leaked = l.iter().filter(|x| x.leaked).count();
    Some(format!(
        "  user-code classloaders: {} created, {released} released, {collected} collected, {leaked} leaked",
        l.len()
    ))
}

/// The verdict, with its evidence.
pub fn verdict(job: &JobSpec, run: &JobRun) -> String {
    let a = &run.assessment;
    let mut out = String::new();
    match a.verdict {
        Verdict::Clean => {
            let _ = writeln!(
                out,
                "verdict: NO LEAK: the user-code classloaders of all {} round(s) of {} were collected",
                run.rounds.len(),
                job.entry_class
            );
            let _ = writeln!(out, "{}", growth(a, &run.rounds, &run.baseline));
            out.extend(loader_summary(run).map(|l| l + "\n"));
        }
        Verdict::LeakFound => {
            let _ = writeln!(
                out,
                "verdict: LEAK: {} user-code classloader(s) of {} leaked (closed, still alive after {} full GCs)",
                a.leaked_loaders.len(),
                job.entry_class,
                LEAK_GC_CYCLES
            );
            let _ = writeln!(out, "{}", growth(a, &run.rounds, &run.baseline));
            out.extend(loader_summary(run).map(|l| l + "\n"));
            if !run.rounds_alive.is_empty() {
                let rounds: Vec<String> = run.rounds_alive.iter().map(u32::to_string).collect();
                let _ = writeln!(out, "  still reachable: the loaders of round(s) {}", rounds.join(", "));
            }
            leaked(&mut out, &a.leaked_loaders);
        }
        Verdict::TaskFailure | Verdict::BadInput => {
            let what = if a.verdict == Verdict::BadInput {
                "BAD INPUT"
            } else {
                "TASK FAILURE"
            };
            match a.failures.first() {
                Some(first) => {
                    let _ = writeln!(out, "verdict: {what}: {}", headline(first));
                }
                None => {
                    let _ = writeln!(out, "verdict: {what}");
                }
            }
            let _ = writeln!(out, "  {} failure(s):", a.failures.len());
            for f in &a.failures {
                located(&mut out, f);
            }
            let _ = writeln!(out, "{}", growth(a, &run.rounds, &run.baseline));
            if !a.leaked_loaders.is_empty() {
                let _ = writeln!(
                    out,
                    "  also {} leaked user-code classloader(s):",
                    a.leaked_loaders.len()
                );
                leaked(&mut out, &a.leaked_loaders);
            }
        }
    }
    if !run.duplicate_classes.is_empty() {
        let names: Vec<&str> = run.duplicate_classes.iter().take(5).map(|d| d.name.as_str()).collect();
        let more = run.duplicate_classes.len().saturating_sub(names.len());
        let _ = writeln!(
            out,
            "  classes defined by more than one loader (agent): {}{}",
            names.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    for limit in &run.agent_limits {
        let _ = writeln!(out, "  agent limit: {limit}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use runtime::emulator::{assess, AgentReport, AgentSuspect, Evidence, JobOutcome, SlotOutcome};

    fn record(n: u32, classes: u64, failure: Option<FailureKind>) -> RoundRecord {
        RoundRecord {
            round: n,
            millis: 5,
            slots: vec![SlotOutcome {
                slot: 0,
                millis: 4,
                failure: failure.map(|kind| TaskFailure {
                    exception: "java.lang.IllegalStateException".into(),
                    stack: vec!["jobs.X.run(X.java:3)".into()],
                    ..TaskFailure::plain(kind, "boom")
                }),
                leftover: vec![],
            }],
            job: None,
            incidents: vec![],
            after: JvmFigures {
                metaspace_used_bytes: 1 << 20,
                classes_loaded: classes,
                ..JvmFigures::default()
            },
            loaders_alive: 0,
        }
    }

    fn job_run(rounds: Vec<RoundRecord>, report: AgentReport) -> (JobSpec, JobRun) {
        let job = JobSpec {
            jars: vec![],
            entry_class: "jobs.X".into(),
            entry_from_manifest: false,
            args: vec![],
            rounds: rounds.len() as u32,
            task_timeout_secs: None,
        };
        let baseline = JvmFigures {
            metaspace_used_bytes: 1 << 20,
            classes_loaded: 900,
            ..JvmFigures::default()
        };
        let known = std::collections::BTreeSet::new();
        let assessment = assess(&Evidence {
            baseline_metaspace_used: baseline.metaspace_used_bytes,
            rounds: &rounds,
            planned_rounds: job.rounds,
            final_report: Some(&report),
            known_before: &known,
            driver_failures: &[],
        });
        let run = JobRun {
            baseline,
            rounds,
            agent: serde_json::Value::Null,
            rounds_alive: vec![],
            loaders: vec![],
            duplicate_classes: vec![],
            agent_limits: vec![],
            exit_intercepted: true,
            assessment,
        };
        (job, run)
    }

    #[test]
    fn clean_verdict_names_the_rounds_and_the_flat_class_count() {
        let (job, run) = job_run((1..=3).map(|n| record(n, 900, None)).collect(), AgentReport::default());
        let text = verdict(&job, &run);
        assert!(
            text.starts_with("verdict: NO LEAK: the user-code classloaders of all 3 round(s) of jobs.X were collected"),
            "{text}"
        );
        assert!(
            text.contains("classes loaded after GC 900 -> 900 (+0.0/round)"),
            "{text}"
        );
        assert!(text.contains("metaspace used +0 B/round"), "{text}");
    }

    #[test]
    fn leak_verdict_lists_each_loader_with_its_suspects() {
        let leaked = AgentLoader {
            id: 7,
            class: "L".into(),
            classes_defined: 3,
            released: true,
            alive: true,
            leaked: true,
            suspects: vec![AgentSuspect {
                kind: runtime::telemetry::SuspectKind::Thread,
                description: "thread \"t\"".into(),
            }],
            ..AgentLoader::default()
        };
        let report = AgentReport {
            loaders: vec![leaked],
            ..AgentReport::default()
        };
        let (job, run) = job_run(
            (1..=3).map(|n| record(n, 900 + 3 * u64::from(n), None)).collect(),
            report,
        );
        let text = verdict(&job, &run);
        assert!(
            text.starts_with("verdict: LEAK: 1 user-code classloader(s) of jobs.X leaked"),
            "{text}"
        );
        assert!(text.contains("(+3.0/round)"), "{text}");
        assert!(text.contains("  loader 7 L: 3 classes defined, 0 unloaded"), "{text}");
        assert!(text.contains("    suspect [thread] thread \"t\""), "{text}");
    }

    #[test]
    fn failure_verdict_names_round_slot_exception_and_frames() {
        let rounds = vec![record(1, 900, None), record(2, 900, Some(FailureKind::TaskThrew))];
        let (job, run) = job_run(rounds, AgentReport::default());
        let text = verdict(&job, &run);
        assert!(
            text.starts_with(
                "verdict: TASK FAILURE: java.lang.IllegalStateException: boom (round 2 slot 0: task threw)"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  round 2 slot 0: task threw: java.lang.IllegalStateException: boom\n      at jobs.X.run(X.java:3)"
            ),
            "{text}"
        );
        let mut bad = record(1, 900, Some(FailureKind::EntryClassNotFound));
        bad.slots[0].failure.as_mut().unwrap().exception.clear();
        let (job, bad_run) = job_run(vec![bad], AgentReport::default());
        assert!(verdict(&job, &bad_run).starts_with("verdict: BAD INPUT"));
    }

    #[test]
    fn a_failed_job_shows_its_root_cause_first_then_what_wrapped_it() {
        let mut r = record(1, 900, None);
        r.slots.clear();
        r.job = Some(JobOutcome {
            job_id: "ab".into(),
            status: "FAILED".into(),
            graph_millis: 10,
            run_millis: 20,
            failure: Some(TaskFailure {
                exception: "java.lang.IllegalStateException".into(),
                chain: vec![
                    Cause {
                        exception: "org.apache.flink.runtime.JobException".into(),
                        message: "Recovery is suppressed by NoRestartBackoffTimeStrategy".into(),
                        stack: vec![],
                    },
                    Cause {
                        exception: "java.lang.IllegalStateException".into(),
                        message: "boom".into(),
                        stack: vec!["e2e.Fails$Boom.map(Fails.java:12)".into()],
                    },
                ],
                ..TaskFailure::plain(FailureKind::JobFailed, "boom")
            }),
        });
        let (job, run) = job_run(vec![r], AgentReport::default());
        let text = verdict(&job, &run);
        let first = text.lines().next().unwrap();
        assert_eq!(
            first,
            "verdict: TASK FAILURE: java.lang.IllegalStateException: boom (round 1: the job failed)"
        );
        assert!(
            text.contains(
                "  round 1: the job failed: java.lang.IllegalStateException: boom\n      at e2e.Fails$Boom.map(Fails.java:12)\n    wrapped in org.apache.flink.runtime.JobException: Recovery is suppressed"
            ),
            "{text}"
        );
        assert!(round_line(&run.rounds[0], 1, &run.baseline).contains("job FAILED (graph 10 ms, run 20 ms)"));
    }

    #[test]
    fn round_line_shows_deltas_against_the_previous_round() {
        let prev = JvmFigures {
            metaspace_used_bytes: 1000,
            classes_loaded_total: 10,
            classes_unloaded_total: 2,
            ..JvmFigures::default()
        };
        let mut r = record(2, 900, None);
        r.after.metaspace_used_bytes = 3048;
        r.after.classes_loaded_total = 13;
        r.after.classes_unloaded_total = 5;
        let line = round_line(&r, 4, &prev);
        assert!(line.starts_with("round  2/4: 1/1 slots ok,"), "{line}");
        assert!(line.contains("(  +2.0 KiB)"), "{line}");
        assert!(line.contains("classes +3 loaded, +3 unloaded"), "{line}");
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1728 << 20), "1.7 GiB");
        assert_eq!(signed_bytes(-2048), "-2.0 KiB");
        assert_eq!(signed_bytes(0), "+0 B");
    }
}
