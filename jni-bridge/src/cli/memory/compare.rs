//! `--compare A,B` as text: one row per component, the two versions' sizes side by side, rows that
//! differ marked with `*`, then what each version adjusted (clamps, deprecated or removed keys):
//! what an upgrade does to a TaskManager's memory, and why.

use std::fmt::Write;

use runtime::config::{Configuration, FlinkVersion};
use runtime::memory::{double_to_string, MemorySize};

use super::Outcome;

/// The rows of one outcome: label and printed value.
fn rows(outcome: &Outcome) -> Vec<(&'static str, String)> {
    let hr = |s: MemorySize| s.to_human_readable();
    match outcome {
        Outcome::Cluster(s) => vec![
            ("Total Process Memory", hr(s.total_process())),
            ("Total Flink Memory", hr(s.total_flink())),
            ("JVM Heap", hr(s.jvm_heap())),
            ("  Framework Heap", hr(s.framework_heap)),
            ("  Task Heap", hr(s.task_heap)),
            ("Managed", hr(s.managed)),
            ("JVM Direct", hr(s.jvm_direct())),
            ("  Framework Off-Heap", hr(s.framework_off_heap)),
            ("  Task Off-Heap", hr(s.task_off_heap)),
            ("  Network", hr(s.network)),
            ("JVM Metaspace", hr(s.jvm_metaspace)),
            ("JVM Overhead", hr(s.jvm_overhead)),
            ("Slots", s.num_slots.to_string()),
            ("CPU cores", double_to_string(s.cpu_cores)),
        ],
        Outcome::Local(s) => vec![
            ("Task Heap", hr(s.task_heap)),
            ("Task Off-Heap", hr(s.task_off_heap)),
            ("Network", hr(s.network)),
            ("Managed", hr(s.managed)),
            ("CPU cores", double_to_string(s.cpu_cores)),
        ],
        Outcome::Failed(_) => Vec::new(),
    }
}

pub(super) fn render(
    a: FlinkVersion,
    left: &(Option<Configuration>, Outcome),
    b: FlinkVersion,
    right: &(Option<Configuration>, Outcome),
) -> String {
    let mut out = String::new();
    let (l, r) = (rows(&left.1), rows(&right.1));
    let labels: Vec<&str> = if l.len() >= r.len() { &l } else { &r }
        .iter()
        .map(|(k, _)| *k)
        .collect();
    let value = |rows: &[(&str, String)], label: &str| {
        rows.iter()
            .find(|(k, _)| *k == label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "-".into())
    };
    let mode = match (&left.1, &right.1) {
        (Outcome::Local(_), _) | (_, Outcome::Local(_)) => "local execution",
        _ => "standalone TaskManager",
    };
    let _ = writeln!(
        out,
        "TaskManager memory, Flink {a} vs Flink {b} ({mode}); * marks a difference:"
    );
    let (ha, hb) = (format!("Flink {a}"), format!("Flink {b}"));
    let _ = writeln!(out, "  {:<22} {ha:<38} {hb}", "");
    let mut differences = 0;
    for label in labels {
        let (x, y) = (value(&l, label), value(&r, label));
        let mark = if x != y {
            differences += 1;
            '*'
        } else {
            ' '
        };
        let _ = writeln!(out, "{mark} {label:<22} {x:<38} {y}");
    }
    for (version, outcome) in [(a, &left.1), (b, &right.1)] {
        if let Outcome::Failed(message) = outcome {
            let _ = writeln!(out, "Flink {version} refuses this configuration: {message}");
        }
    }
    if matches!((&left.1, &right.1), (Outcome::Failed(_), _) | (_, Outcome::Failed(_))) {
        return out;
    }
    let _ = writeln!(
        out,
        "\n{differences} of {} rows differ between Flink {a} and Flink {b}.",
        l.len()
    );
    // Why: what each version adjusted (a clamp to a default that changed shows up here).
    for (version, outcome) in [(a, &left.1), (b, &right.1)] {
        let adjustments = match outcome {
            Outcome::Cluster(s) => &s.adjustments,
            Outcome::Local(s) => &s.adjustments,
            Outcome::Failed(_) => continue,
        };
        if !adjustments.is_empty() {
            let _ = writeln!(out, "\nFlink {version} adjusted:");
            for adj in adjustments {
                let _ = writeln!(out, "  * {}", super::text::adjustment(adj));
            }
        }
    }
    out
}
