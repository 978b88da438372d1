//! The `--report` document: the TaskManager, the session (Flink mode), and per job its spec,
//! rounds, each user-code loader's life, the agent's final report as it wrote it, and the
//! assessment. `--report-html` draws its page from this same document.

use std::path::Path;

use serde_json::json;

use super::Prepared;
use crate::host::session::{JobRun, JobSpec};

/// The report document.
pub fn document(p: &Prepared, jvm_options: &[String], jobs: &[(&JobSpec, &JobRun)]) -> serde_json::Value {
    let plan = &p.plan;
    let s = &plan.spec;
    let flink = p.flink.as_ref().map(|f| {
        json!({
            "home": f.dist.home,
            "version": f.dist.version,
            "runtime": f.runtime,
            "session_options": f.session.options.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "duplicate_classes": f.duplicates.as_ref().map(|d| &d.conflicts),
        })
    });
    json!({
        "tmrt_version": crate::VERSION,
        "mode": if p.flink.is_some() { "flink" } else { "plain" },
        "flink_version": plan.version.as_str(),
        "flink": flink,
        "defaults_applied": plan.defaults_applied.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "taskmanager": {
            "bytes": {
                "framework_heap": s.framework_heap.bytes(),
                "task_heap": s.task_heap.bytes(),
                "framework_off_heap": s.framework_off_heap.bytes(),
                "task_off_heap": s.task_off_heap.bytes(),
                "network": s.network.bytes(),
                "managed": s.managed.bytes(),
                "jvm_metaspace": s.jvm_metaspace.bytes(),
                "jvm_overhead": s.jvm_overhead.bytes(),
                "total_process": s.total_process().bytes(),
                "jvm_heap": s.jvm_heap().bytes(),
                "jvm_direct": s.jvm_direct().bytes(),
            },
            "slot_managed_bytes": plan.slot_managed_bytes,
            "page_size": plan.page_size,
            "resolve_order": plan.classloading.resolve_order.as_str(),
            "parent_first_patterns": plan.classloading.parent_first_patterns,
            "check_leaked_classloader": plan.classloading.check_leaked_classloader,
            "libs": p.libs,
            "jvm_options": jvm_options,
        },
        "jobs": jobs.iter().map(|(job, run)| job_document(job, run)).collect::<Vec<_>>(),
    })
}

/// One job of the report.
pub fn job_document(job: &JobSpec, run: &JobRun) -> serde_json::Value {
    json!({
        "job": job,
        "baseline": run.baseline,
        "rounds": run.rounds,
        "rounds_alive": run.rounds_alive,
        "loaders": run.loaders,
        "duplicate_classes": run.duplicate_classes,
        "agent_limits": run.agent_limits,
        "agent": run.agent,
        "exit_intercepted": run.exit_intercepted,
        "assessment": run.assessment,
        "exit_code": super::exit_code(run),
    })
}

/// Writes the report, pretty-printed.
pub fn write_json(path: &Path, doc: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}
